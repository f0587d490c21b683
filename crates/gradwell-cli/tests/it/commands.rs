//! The commands as users type them.

use std::path::{Path, PathBuf};

use gradwell_train::checkpoint;

use crate::{gradwell, temp_dir, text};

fn ok(args: &[&str]) -> (String, String) {
    let o = gradwell(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{args:?} failed: {err}");
    (out, err)
}

fn accuracy(stdout: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy: "))
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {stdout:?}"))
}

/// `--init`'s help lists every registered initializer: it is generated from the registry,
/// so a new initializer is listed without the command line changing.
#[test]
fn init_help_lists_every_registered_initializer() {
    for command in ["train", "probe"] {
        let (stdout, _) = ok(&[command, "--help"]);
        for name in gradwell_init::INIT_NAMES {
            assert!(
                stdout.contains(name),
                "{command} --help lacks {name}:\n{stdout}"
            );
        }
    }
}

/// `--activation`'s help lists every activation of the registry (each name as its text
/// form begins, before any parameters), so a new activation is listed without the command
/// line changing.
#[test]
fn activation_help_lists_every_registered_activation() {
    for command in ["train", "probe", "summary"] {
        let (stdout, _) = ok(&[command, "--help"]);
        let words: Vec<&str> = stdout
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[')
            .collect();
        for kind in gradwell_activations::ActivationKind::defaults() {
            let text = kind.to_string();
            let name = text.split(':').next().unwrap_or(&text);
            assert!(
                words.contains(&name),
                "{command} --help lacks {name}:\n{stdout}"
            );
        }
    }
}

#[test]
fn probe_as_the_issue_writes_it() {
    let (out, _) = ok(&[
        "probe",
        "--depth",
        "20",
        "--width",
        "128",
        "--activation",
        "sigmoid",
        "--init",
        "xavier-normal",
    ]);
    // The table has a row per layer (21 linear, 20 sigmoid), the theory column, and the
    // vanishing-gradient finding.
    assert!(out.contains("|dL/dW|"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains(" Linear ")).count(),
        21,
        "{out}"
    );
    assert!(out.contains("q theory"), "{out}");
    assert!(out.contains("vanishing gradients"), "{out}");
}

/// The diagnosis part of a probe's report.
fn diagnosis(out: &str) -> &str {
    out.split_once("\ndiagnosis:\n")
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no diagnosis in {out}"))
}

/// `probe --help`'s own example: the activations' std falls ~2000-fold over 20 ReLU layers
/// with Xavier weights, which is a finding; He's keeps it, which is not.
#[test]
fn probe_finds_the_forward_signal_collapse_of_relu_with_xavier_and_not_with_he() {
    let args = |init| {
        [
            "probe",
            "--depth",
            "20",
            "--activation",
            "relu",
            "--init",
            init,
            "--bias-init",
            "zeros",
        ]
    };
    let (out, _) = ok(&args("xavier-normal"));
    let d = diagnosis(&out);
    assert!(
        d.contains("forward signal collapse — the activations' std falls from"),
        "{d}"
    );
    assert!(
        d.contains("cure: initialize rectifier layers with He"),
        "{d}"
    );
    assert!(!d.contains("Xavier"), "{d}");
    let (out, _) = ok(&args("he-normal"));
    let d = diagnosis(&out);
    assert!(!d.contains("forward signal"), "{d}");
    assert!(d.contains("healthy: no finding"), "{d}");
}

/// A constant initialization: every unit of a layer computes the same function, said in
/// words, instead of the vanishing and exploding gradients it causes.
#[test]
fn probe_says_a_constant_initialization_keeps_the_units_identical() {
    let (out, _) = ok(&["probe", "--init", "constant:0.1"]);
    let d = diagnosis(&out);
    assert!(
        d.contains("symmetric units — all 128 units of layer 0 compute the same function")
            && d.contains("a constant initialization never breaks symmetry")
            && d.contains("cure: initialize the weights randomly"),
        "{d}"
    );
    assert!(
        !d.contains("vanishing gradients") && !d.contains("exploding gradients"),
        "{d}"
    );
}

/// The cures fit the network: a sigmoid network with Xavier weights is not told to use
/// Xavier; a deep ReLU network with He weights and batch norm whose gradients grow is told
/// residual connections first, not He nor batch norm; a cure is printed once.
#[test]
fn probe_fits_the_cures_to_the_network_and_prints_each_once() {
    let (out, _) = ok(&[
        "probe",
        "--depth",
        "20",
        "--width",
        "128",
        "--activation",
        "sigmoid",
        "--init",
        "xavier-normal",
    ]);
    let d = diagnosis(&out);
    assert!(d.contains("cure: use a non-saturating activation"), "{d}");
    assert!(!d.contains("Xavier"), "{d}");
    let (out, _) = ok(&["probe", "--depth", "50", "--batch-norm"]);
    let d = diagnosis(&out);
    let cures: Vec<&str> = d.lines().filter(|l| l.starts_with("  cure: ")).collect();
    assert!(d.starts_with("warning: exploding gradients"), "{d}");
    assert!(cures[0].contains("residual"), "{d}");
    assert!(
        !d.contains("He (Kaiming)") && !d.contains("batch normalization"),
        "{d}"
    );
    for c in &cures {
        assert_eq!(cures.iter().filter(|x| *x == c).count(), 1, "{d}");
    }
}

#[test]
fn probe_says_why_there_is_no_theory_and_draws_plots() {
    let dir = temp_dir("probe");
    let plot = dir.join("p.svg");
    let (out, _) = ok(&[
        "probe",
        "--depth",
        "6",
        "--width",
        "32",
        "--activation",
        "sigmoid",
        "--batch-norm",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(
        out.contains("not shown:") && out.contains("batch norm"),
        "{out}"
    );
    for f in ["p.svg", "p-activations.svg"] {
        let svg = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("<polyline"),
            "{f} has no line"
        );
    }
    let (json, _) = ok(&["probe", "--depth", "3", "--width", "16", "--json", "--lsuv"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["lsuv"].as_array().map(Vec::len),
        Some(4),
        "LSUV rescales every linear layer"
    );
}

/// `probe --jacobian`: a deep sigmoid network's input-output Jacobian is far from
/// isometry and shrinks every direction; orthogonal linear layers as wide as the data's 64
/// features keep every singular value at 1; the JSON carries the figures only when asked.
#[test]
fn probe_jacobian_states_the_singular_value_spread() {
    let (out, _) = ok(&[
        "probe",
        "--depth",
        "10",
        "--width",
        "32",
        "--activation",
        "sigmoid",
        "--jacobian",
    ]);
    assert!(
        out.contains("input-output Jacobian's 10 singular values span"),
        "{out}"
    );
    assert!(out.contains("far from dynamical isometry"), "{out}");
    assert!(out.contains("signals and gradients vanish"), "{out}");
    let (out, _) = ok(&[
        "probe",
        "--depth",
        "4",
        "--width",
        "64",
        "--activation",
        "identity",
        "--init",
        "orthogonal",
        "--jacobian",
    ]);
    assert!(out.contains("span 1.0 … 1.0 (condition 1.0"), "{out}");
    assert!(out.contains("near dynamical isometry"), "{out}");
    let (json, _) = ok(&[
        "probe",
        "--depth",
        "2",
        "--width",
        "16",
        "--json",
        "--jacobian",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["jacobian"]["count"].as_u64(), Some(10), "{json}");
    assert!(
        v["jacobian"]["condition"]
            .as_f64()
            .is_some_and(|c| c >= 1.0),
        "{json}"
    );
    let (json, _) = ok(&["probe", "--depth", "2", "--width", "16", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v.get("jacobian").is_none(), "{json}");
}

/// The acceptance criterion of the issue: `gradwell train` with its defaults reaches at
/// least 0.95 test accuracy on the embedded digits. Measured at seeds 0–9: 0.967–0.989 on
/// 359 test samples (standard error ≈ 0.009), so 0.95 is nearly two standard errors
/// below the worst seed.
#[test]
fn default_train_reaches_095_on_digits() {
    let dir = temp_dir("train-default");
    let out_dir = dir.join("run");
    let (out, err) = ok(&["train", "--out", out_dir.to_str().unwrap()]);
    assert!(accuracy(&out) >= 0.95, "{out}{err}");
    assert!(err.contains("epoch 20/20"), "{err}");
    for f in [
        "config.toml",
        "run.json",
        "metrics.json",
        "monitor.json",
        "monitor/steps.csv",
        "monitor/layers.csv",
        "epochs.csv",
        "loss.svg",
        "grad_norm_by_layer.svg",
        "model.safetensors",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    // The written config runs again as it is.
    let (again, _) = ok(&[
        "train",
        "--quiet",
        "--config",
        out_dir.join("config.toml").to_str().unwrap(),
    ]);
    assert_eq!(
        accuracy(&again),
        accuracy(&out),
        "same config, same seed, same result"
    );
}

#[test]
fn example_config_trains_and_resumes() {
    let dir = temp_dir("resume");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/digits.toml");
    let ck = dir.join("ck");
    let ck = ck.to_str().unwrap();
    let (_, err) = ok(&[
        "train",
        "--config",
        config,
        "--epochs",
        "2",
        "--checkpoint-dir",
        ck,
    ]);
    assert!(err.contains("epoch 2/2"), "{err}");
    let (resumed, err) = ok(&[
        "train",
        "--config",
        config,
        "--epochs",
        "3",
        "--checkpoint-dir",
        ck,
        "--resume",
    ]);
    // Two epochs are done: the resume message numbers the next one as the progress lines
    // do, from 1.
    let line = err
        .lines()
        .find(|l| l.starts_with("resumed from"))
        .unwrap_or_else(|| panic!("no resume message: {err}"));
    assert!(line.ends_with(", epoch 3/3"), "{line}");
    assert!(err.contains("\nepoch 3/3  step "), "{err}");
    let (straight, _) = ok(&["train", "--quiet", "--config", config, "--epochs", "3"]);
    assert_eq!(
        accuracy(&resumed),
        accuracy(&straight),
        "resume continues exactly"
    );
}

/// `--steps` stops the run after that many steps, in the middle of an epoch (23 batches
/// an epoch on the digits), counting epochs toward the steps' end; `--eval-every` records
/// test rows at its steps (in run.json and evaluations.csv) without changing the run; a
/// budget the epochs make unreachable is pointed out.
#[test]
fn a_step_budget_and_evaluations_between_steps() {
    let dir = temp_dir("steps-eval");
    let (with, without) = (dir.join("with"), dir.join("without"));
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "train", "--steps", "30", "--epochs", "100", "--hidden", "32",
        ];
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        args.extend_from_slice(extra);
        ok(&args)
    };
    let (_, err) = run(&with, &["--eval-every", "10"]);
    assert!(err.contains("epoch 1/2 "), "{err}");
    assert!(
        !err.contains("epoch 2/2 "),
        "the second epoch is not finished: {err}"
    );
    for step in [10, 20, 30] {
        assert!(
            err.contains(&format!("step {step}: evaluation  test loss ")),
            "{err}"
        );
    }
    run(&without, &[]);
    let weights = |d: &Path| std::fs::read(d.join("model.safetensors")).unwrap();
    assert!(
        weights(&with) == weights(&without),
        "evaluations changed the run"
    );
    let summary = gradwell_cli::RunSummary::read(&with).unwrap();
    assert_eq!(summary.steps, 30);
    assert_eq!(summary.epochs.len(), 1);
    let last = summary.evaluations.last().unwrap();
    assert_eq!((last.step, last.epoch), (30, 1));
    // The evaluation after the last step is the run's final one.
    assert_eq!(last.test.and_then(|t| t.accuracy), summary.test_accuracy);
    let csv = std::fs::read_to_string(with.join("evaluations.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "run,step,epoch,test_loss,test_accuracy,validation_loss,validation_accuracy"
    );
    assert_eq!(lines.len(), 4);
    assert!(lines[3].starts_with("with,30,2,"), "{csv}");
    assert!(!without.join("evaluations.csv").exists());

    let (_, err) = ok(&[
        "train", "--steps", "100000", "--epochs", "1", "--hidden", "8",
    ]);
    assert!(
        err.contains("note: --steps 100000 is more than the 23 steps of 1 epochs"),
        "{err}"
    );
}

/// A run stopped by its step budget resumes under a larger budget to the weights of the
/// longer run; resumed with its own budget it says it is finished and exits cleanly;
/// resumed with a smaller budget than its step it is refused.
#[test]
fn a_step_budget_resumes_and_a_finished_budget_says_so() {
    let dir = temp_dir("steps-resume");
    let ck = dir.join("ck");
    let ck = ck.to_str().unwrap();
    let train = |steps: &str, extra: &[&str]| {
        let mut args = vec![
            "train", "--steps", steps, "--epochs", "100", "--hidden", "32",
        ];
        args.extend_from_slice(extra);
        gradwell(&args)
    };
    let weights = |d: &Path| std::fs::read(d.join("model.safetensors")).unwrap();
    let o = train("30", &["--checkpoint-dir", ck]);
    assert!(o.status.success(), "{}", text(&o).1);
    let finished = dir.join("finished");
    let o = train(
        "30",
        &[
            "--checkpoint-dir",
            ck,
            "--resume",
            "--out",
            finished.to_str().unwrap(),
        ],
    );
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("nothing is left to train") && err.contains("100 epochs or 30 steps"),
        "{err}"
    );
    // 23 batches an epoch: step 30 is in the second, the last one the budget enters.
    assert!(err.contains("at step 30, epoch 2/2\n"), "{err}");
    assert_eq!(gradwell_cli::RunSummary::read(&finished).unwrap().steps, 30);

    let o = train("20", &["--checkpoint-dir", ck, "--resume"]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("at step 30, past this run's end at step 20"),
        "{err}"
    );

    let (resumed, straight) = (dir.join("resumed"), dir.join("straight"));
    let o = train(
        "50",
        &[
            "--checkpoint-dir",
            ck,
            "--resume",
            "--out",
            resumed.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let o = train("50", &["--out", straight.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(
        weights(&resumed) == weights(&straight),
        "the resumed run differs"
    );
}

/// The run folder's per-layer records (monitor.json, monitor/layers.csv, run.json's
/// step 1) name each activation in gradwell's spelling, a learnt-slope PReLU and the
/// layers inside a residual block included.
#[test]
fn per_layer_output_names_the_activations() {
    let dir = temp_dir("layer-names");
    let config = dir.join("net.toml");
    std::fs::write(
        &config,
        r#"
[network]
input_shape = [64]
layers = [
    { type = "linear", out_features = 16 },
    { type = "prelu" },
    { type = "residual", layers = [
        { type = "linear", out_features = 16 },
        { type = "activation", activation = "leaky-relu:0.2" },
    ] },
    { type = "linear", out_features = 10 },
]

[train]
steps = 3
"#,
    )
    .unwrap();
    let out = dir.join("run");
    ok(&[
        "train",
        "--quiet",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(out.join("monitor/layers.csv")).unwrap();
    for row in [
        ",1,PReLU,prelu,",
        ",2.body.1,LeakyReLU,leaky-relu:0.2,",
        ",2,Residual,,",
    ] {
        assert!(csv.contains(row), "`{row}` missing from {csv}");
    }
    let summary = gradwell_cli::RunSummary::read(&out).unwrap();
    let init = summary.init.expect("step 1 has layer statistics");
    let named: Vec<(&str, Option<&str>)> = init
        .layers
        .iter()
        .map(|l| (l.path.as_str(), l.activation.as_deref()))
        .collect();
    assert_eq!(
        named,
        [
            ("0", None),
            ("1", Some("prelu")),
            ("2.body.0", None),
            ("2.body.1", Some("leaky-relu:0.2")),
            ("2", None),
            ("3", None),
        ]
    );
}

/// The checkpoint files of `dir` with their bytes, oldest (lowest step) first.
fn checkpoints(dir: &Path) -> Vec<(u64, PathBuf, Vec<u8>)> {
    let mut found: Vec<(u64, PathBuf, Vec<u8>)> = checkpoint::list(dir)
        .unwrap()
        .into_iter()
        .map(|(step, path)| {
            let bytes = std::fs::read(&path).unwrap();
            (step, path, bytes)
        })
        .collect();
    found.reverse();
    found
}

/// The issue's reproduction: train with a checkpoint every 5 steps, flip one byte in each
/// file, rerun with `--resume`. That used to start afresh with exit 0, and the corrupt
/// files (with the highest steps) then pushed out every new checkpoint. Now the rerun is
/// refused, naming every file, and nothing is touched; a run without `--resume` keeps its
/// own valid checkpoints beside the corrupt ones; and `--resume` then skips the corrupt
/// files, with a warning, for the newest valid checkpoint.
#[test]
fn resume_with_only_corrupt_checkpoints_is_refused_and_nothing_is_lost() {
    let dir = temp_dir("corrupt-checkpoints");
    let ck = dir.join("ck");
    let train = |epochs: &str, resume: bool| {
        let mut args = vec![
            "train",
            "--epochs",
            epochs,
            "--checkpoint-every",
            "5",
            "--checkpoint-dir",
            ck.to_str().unwrap(),
        ];
        if resume {
            args.push("--resume");
        }
        let o = gradwell(&args);
        let (_, err) = text(&o);
        (o.status, err)
    };
    let (status, err) = train("2", false);
    assert!(status.success(), "{err}");
    let mut corrupt = checkpoints(&ck);
    assert_eq!(corrupt.len(), 3);
    for (_, path, bytes) in &mut corrupt {
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        std::fs::write(path, &bytes).unwrap();
    }

    let (status, err) = train("2", true);
    assert!(!status.success(), "{err}");
    assert_ne!(status.code(), Some(101), "panicked: {err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    for (_, path, _) in &corrupt {
        assert!(errors[0].contains(&path.display().to_string()), "{err}");
    }
    assert_eq!(errors[0].matches("checksum mismatch").count(), 3, "{err}");
    assert_eq!(
        checkpoints(&ck),
        corrupt,
        "refusing to resume changed the files"
    );

    // A shorter run without `--resume`: its checkpoints have lower steps than the corrupt
    // ones, and the three newest are kept beside them.
    let (status, err) = train("1", false);
    assert!(status.success(), "{err}");
    let now = checkpoints(&ck);
    assert_eq!(
        now.len(),
        6,
        "{:?}",
        now.iter().map(|c| c.0).collect::<Vec<_>>()
    );
    assert_eq!(now[3..], corrupt[..], "the corrupt files were touched");
    for (step, path, _) in &now[..3] {
        assert!(*step < corrupt[0].0);
        checkpoint::read(path).unwrap();
    }

    let (status, err) = train("1", true);
    assert!(status.success(), "{err}");
    assert_eq!(err.matches("warning: skipped").count(), 3, "{err}");
    assert!(
        err.contains(&format!("resumed from {}", now[2].1.display())),
        "{err}"
    );
}

#[test]
fn csv_data_with_a_named_label_column() {
    let dir = temp_dir("csv");
    let path = dir.join("blobs.csv");
    // Two well-separated blobs in 3 features; the label is the first column.
    let mut s = String::from("kind,a,b,c\n");
    for i in 0..200 {
        let k = i % 2;
        let x = |j: usize| (k as f64) * 4.0 + ((i * 7 + j * 13) % 10) as f64 / 10.0;
        s.push_str(&format!("{k},{},{},{}\n", x(0), x(1), x(2)));
    }
    std::fs::write(&path, s).unwrap();
    let (out, err) = ok(&[
        "train",
        "--data",
        path.to_str().unwrap(),
        "--label-column",
        "kind",
        "--hidden",
        "8",
        "--epochs",
        "40",
    ]);
    assert!(accuracy(&out) > 0.9, "{out}{err}");
    assert!(err.contains("3 features, 2 classes"), "{err}");
}

#[test]
fn a_diverging_run_names_where_the_first_nan_appeared() {
    // SGD at a rate of 90 on a linear network (identity activations, which cannot die as
    // ReLU units can) grows the weights geometrically and overflows within a few steps,
    // whatever the initial draw.
    let o = gradwell(&[
        "train",
        "--optimizer",
        "sgd",
        "--lr",
        "90",
        "--activation",
        "identity",
        "--hidden",
        "64,64,64",
        "--epochs",
        "3",
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("first non-finite value"), "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("error: training stopped"),
        "{err}"
    );
}

#[test]
fn summary_keras_and_pytorch() {
    let (out, _) = ok(&["summary", "--model", "784-128-10", "--activation", "relu"]);
    // 784·128 + 128 + 128·10 + 10 = 101,770 parameters.
    assert!(out.contains("101,770") || out.contains("101770"), "{out}");
    let (out, _) = ok(&[
        "summary",
        "--model",
        "784-128-10",
        "--activation",
        "relu",
        "--pytorch",
    ]);
    assert!(
        out.contains("(0): Linear(in_features=784, out_features=128, bias=True)"),
        "{out}"
    );
    assert!(out.contains("(1): ReLU()"), "{out}");
    let (out, _) = ok(&["summary", "--hidden", "32,32", "--batch-norm", "--residual"]);
    assert!(
        out.contains("(BatchNormalization)") && out.contains("residual (Residual)"),
        "{out}"
    );
}

/// `summary --keras` prints the table Keras 3 prints for the same model, written
/// `Dense(32)`, `BatchNormalization()`, `Activation("relu")`, `Dropout(0.2)`, twice, then
/// `Dense(10, activation="softmax")`: Keras's names (`dense`, `dense_1`, … from the second
/// of a class on), the name wrapped as Keras wraps a long one, the classifier's softmax
/// written into its last Dense.
#[test]
fn summary_keras_names_layers_as_keras_does() {
    let (out, _) = ok(&[
        "summary",
        "--keras",
        "--model",
        "64-32-32-10",
        "--batch-norm",
        "--dropout",
        "0.2",
    ]);
    let expected = "\
Model: \"sequential\"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 32)             │         2,080 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ batch_normalization             │ (None, 32)             │           128 │
│ (BatchNormalization)            │                        │               │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ activation (Activation)         │ (None, 32)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout (Dropout)               │ (None, 32)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 32)             │         1,056 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ batch_normalization_1           │ (None, 32)             │           128 │
│ (BatchNormalization)            │                        │               │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ activation_1 (Activation)       │ (None, 32)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout_1 (Dropout)             │ (None, 32)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_2 (Dense)                 │ (None, 10)             │           330 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 3,722 (14.54 KB)
 Trainable params: 3,594 (14.04 KB)
 Non-trainable params: 128 (512.00 B)
";
    assert_eq!(out, expected);
    // Keras's `Dense(128, activation="relu")`: one row, no ReLU row.
    let (out, _) = ok(&["summary", "--keras", "--model", "784-128-10"]);
    assert!(
        out.contains(concat!(
            "│ dense (Dense)                   │ (None, 128)            │       100,480 │\n",
            "├─────────────────────────────────┼────────────────────────┼───────────────┤\n",
            "│ dense_1 (Dense)                 │ (None, 10)             │         1,290 │\n",
            "└─",
        )),
        "{out}"
    );
}

#[test]
fn lab_list_prints_runnable_commands_and_report_merges_them() {
    let dir = temp_dir("list");
    let (out, _) = ok(&["lab", "--quick", "--list", "--out", dir.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    let quick = gradwell_cli::lab::runs(&gradwell_cli::lab::Scale::QUICK);
    assert_eq!(lines.len(), quick.len(), "{out}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("gradwell train --name "))
    );
    // Run the two of claim 7 as the scheduler would, then merge them.
    for l in lines
        .iter()
        .filter(|l| l.contains("constant-init") || l.contains("random-init"))
    {
        let args: Vec<&str> = l.split_whitespace().skip(1).collect();
        ok(&args);
    }
    let report = dir.join("report");
    let (table, _) = ok(&[
        "report",
        dir.join("runs").to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(
        table.contains("7. A constant initialization never breaks symmetry")
            && table.contains("PASS"),
        "{table}"
    );
    // Only the claims with a run present: the others are named as not shown.
    assert!(!table.contains("1. A deep plain sigmoid"), "{table}");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("<h2>Claims</h2>"), "the claims table");
    assert!(
        html.contains("Not shown: claims 1, 2, 3, 4, 5, 6,"),
        "the claims not shown"
    );
    assert!(
        html.contains("id=\"chart-accuracy-symmetry\""),
        "claim 7's chart"
    );
    assert!(report.join("results.json").is_file() && report.join("csv/random-init.csv").is_file());
    #[cfg(feature = "plots")]
    assert!(
        report.join("plots/accuracy_symmetry.svg").is_file(),
        "the SVG for papers"
    );
}

/// `--monitor-detail full` writes the whole history (every step's per-parameter figures)
/// to monitor.json; the default writes its summary, and the CSVs keep every step's loss
/// and gradient norm either way.
#[test]
fn monitor_detail_full_writes_every_record_and_the_default_a_summary() {
    let dir = temp_dir("monitor-detail");
    let run = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec![
            "train",
            "--quiet",
            "--steps",
            "30",
            "--hidden",
            "8,8",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        ok(&args);
        out
    };
    let full = run("full", &["--monitor-detail", "full"]);
    let json = std::fs::read_to_string(full.join("monitor.json")).unwrap();
    let h = gradwell_monitor::History::from_json(&json).unwrap();
    assert_eq!(h.steps.len(), 30);
    assert!(h.steps.iter().all(|s| s.params.len() == 6), "{json}");
    let rows = |out: &std::path::Path, f: &str| {
        std::fs::read_to_string(out.join("monitor").join(f))
            .unwrap()
            .lines()
            .count()
            - 1
    };
    assert_eq!(rows(&full, "params.csv"), 30 * 6);
    let summary = run("summary", &[]);
    let json = std::fs::read_to_string(summary.join("monitor.json")).unwrap();
    let s: gradwell_monitor::HistorySummary = serde_json::from_str(&json).unwrap();
    assert_eq!(s.steps, 30);
    assert_eq!(s.detail, gradwell_monitor::Detail::Summary);
    assert_eq!(s.detailed_steps, [1, 10, 20, 30]);
    assert_eq!(s.tables_at, [1, 10, 20, 30]);
    assert_eq!(rows(&summary, "steps.csv"), 30);
    assert_eq!(rows(&summary, "params.csv"), 4 * 6);
    // An unknown detail is refused, naming the flag and the valid names.
    let o = gradwell(&["train", "--monitor-detail", "most"]);
    assert!(!o.status.success());
    let err = text(&o).1;
    assert!(
        err.contains("--monitor-detail") && err.contains("summary, full"),
        "{err}"
    );
}
