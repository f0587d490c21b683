//! Flags and a config file are one thing: the same run written either way trains to the
//! same weights, and a config file speaks the flags' names.

use std::path::Path;

use crate::{gradwell, temp_dir, text};

/// Trains `args` with the run folder `out`; returns the weights file's bytes.
fn train(args: &[&str], out: &Path) -> Vec<u8> {
    let mut all = vec!["train", "--quiet", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = gradwell(&all);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{all:?} failed: {err}");
    std::fs::read(out.join("model.safetensors")).expect("the weights are written")
}

/// The run of the flags below, as a config file: every setting that does not depend on
/// the optimizer, each away from its default, in the names the flags use.
const CONFIG: &str = r#"
[data]
source = "digits"
test_fraction = 0.25

[model]
hidden = [32, 16]
activation = "leaky-relu:0.2"
init = "he-uniform"
bias_init = "zeros"
batch_norm = true
dropout = 0.1

[eval]
every = 10

[train]
epochs = 2
steps = 40
batch_size = 50
seed = 7
preprocess = "standardize"
last_batch = "drop"
validation_fraction = 0.1
label_smoothing = 0.1
"#;

const FLAGS: &[&str] = &[
    "--data",
    "digits",
    "--test-fraction",
    "0.25",
    "--hidden",
    "32,16",
    "--activation",
    "leaky-relu:0.2",
    "--init",
    "he-uniform",
    "--bias-init",
    "zeros",
    "--batch-norm",
    "--dropout",
    "0.1",
    "--epochs",
    "2",
    "--steps",
    "40",
    "--eval-every",
    "10",
    "--batch-size",
    "50",
    "--seed",
    "7",
    "--preprocess",
    "standardize",
    "--last-batch",
    "drop",
    "--validation-fraction",
    "0.1",
    "--label-smoothing",
    "0.1",
];

/// The same run from flags and from the equivalent TOML gives bit-identical weights, and
/// the same `config.toml` in its folder; the comparison can tell runs apart (another seed
/// gives other weights).
#[test]
fn flags_and_the_equivalent_config_train_bit_identical_weights() {
    let dir = temp_dir("flags-and-config");
    let config = dir.join("run.toml");
    std::fs::write(&config, CONFIG).unwrap();
    // Both folders are named `run`, so that both runs take the name `run`.
    let (from_flags, from_file) = (dir.join("flags/run"), dir.join("file/run"));
    let a = train(FLAGS, &from_flags);
    let b = train(&["--config", config.to_str().unwrap()], &from_file);
    assert!(a == b, "the weights differ");
    let written = |d: &Path| std::fs::read_to_string(d.join("config.toml")).unwrap();
    let (ca, cb) = (written(&from_flags), written(&from_file));
    assert_eq!(ca, cb);
    // The settings were applied, written in the flags' spelling.
    for setting in [
        "hidden = [\n    32,\n    16,\n]",
        "activation = \"leaky-relu:0.2\"",
        "bias_init = \"zeros\"",
        "preprocess = \"standardize\"",
        "last_batch = \"drop\"",
        "seed = 7",
        "steps = 40",
        "[eval]\nevery = 10",
    ] {
        assert!(ca.contains(setting), "`{setting}` missing from {ca}");
    }
    // Both ran 40 of the 48 steps of 2 epochs, evaluating every 10.
    for d in [&from_flags, &from_file] {
        let run = gradwell_cli::RunSummary::read(d).unwrap();
        assert_eq!(run.steps, 40);
        let at: Vec<u64> = run.evaluations.iter().map(|e| e.step).collect();
        assert_eq!(at, [10, 20, 30, 40]);
    }
    let other = train(
        &["--config", config.to_str().unwrap(), "--seed", "8"],
        &dir.join("seed8/run"),
    );
    assert!(other != a, "another seed trains other weights");
}

/// `--alpha-dropout` is `alpha_dropout` of `[model]`: the same SELU run from the flag and
/// from the file trains to the same weights, and another probability to others.
#[test]
fn alpha_dropout_from_the_flag_and_the_file_is_one_run() {
    let dir = temp_dir("alpha-dropout");
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        "[model]\nhidden = [16]\nactivation = \"selu\"\nalpha_dropout = 0.2\n\
         [train]\nepochs = 1\nseed = 3\n",
    )
    .unwrap();
    let base = [
        "--hidden",
        "16",
        "--activation",
        "selu",
        "--epochs",
        "1",
        "--seed",
        "3",
    ];
    fn with<'a>(base: &[&'a str], p: &'a str) -> Vec<&'a str> {
        let mut a = base.to_vec();
        a.extend(["--alpha-dropout", p]);
        a
    }
    let a = train(&with(&base, "0.2"), &dir.join("flags/run"));
    let b = train(
        &["--config", config.to_str().unwrap()],
        &dir.join("file/run"),
    );
    assert!(a == b, "the weights differ");
    let written = std::fs::read_to_string(dir.join("flags/run/config.toml")).unwrap();
    assert!(written.contains("alpha_dropout = 0.2"), "{written}");
    let other = train(&with(&base, "0.4"), &dir.join("other/run"));
    assert!(other != a, "another probability trains other weights");
}

/// `--bias-init pytorch-default-bias` and `bias_init = "pytorch-default-bias"` name PyTorch's
/// default bias, each layer's fan-in read from its weight: the run trains the same weights
/// as one without a bias initializer, and the config written in its folder names it.
#[test]
fn the_pytorch_default_bias_is_the_default_by_name() {
    let dir = temp_dir("pytorch-default-bias");
    let run = ["--hidden", "16", "--epochs", "1", "--seed", "3"];
    let default = train(&run, &dir.join("default/run"));
    let mut named_flags = run.to_vec();
    named_flags.extend(["--bias-init", "pytorch-default-bias"]);
    let named = train(&named_flags, &dir.join("flag/run"));
    assert!(named == default, "the weights differ");
    let written = std::fs::read_to_string(dir.join("flag/run/config.toml")).unwrap();
    assert!(
        written.contains("bias_init = \"pytorch-default-bias\""),
        "{written}"
    );
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        "[model]\nhidden = [16]\nbias_init = \"pytorch-default-bias\"\n[train]\nepochs = 1\nseed = 3\n",
    )
    .unwrap();
    let from_file = train(
        &["--config", config.to_str().unwrap()],
        &dir.join("file/run"),
    );
    assert!(from_file == default, "the weights differ");
}
