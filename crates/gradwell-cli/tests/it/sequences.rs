//! Sequence data and recurrent models from the command line: the built-in tasks
//! (`adding:T`, `copy:T`), CSV sequences, `--model lstm:W` and friends, and the errors.

use std::path::Path;

use crate::{gradwell, temp_dir, text};

fn ok(args: &[&str]) -> (String, String) {
    let o = gradwell(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{args:?} failed: {err}");
    (out, err)
}

/// The error of a refused run: one line, or clap's whole message for a flag clap refuses.
fn fails(args: &[&str]) -> String {
    let o = gradwell(args);
    crate::errors::refuses_output(args, &o, &[]);
    text(&o).1
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Regression runs report the mean squared error wherever a classifier reports accuracy.
#[test]
fn the_adding_problem_trains_on_the_mse_and_reports_it() {
    let out = temp_dir("adding-mlp");
    let dir = out.to_str().unwrap();
    let (stdout, stderr) = ok(&[
        "train",
        "--data",
        "adding:6,300",
        "--hidden",
        "16",
        "--epochs",
        "2",
        "--out",
        dir,
    ]);
    let mse: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("test mse: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no test mse in {stdout:?}"));
    assert!(mse.is_finite() && mse > 0.0);
    assert!(
        stderr.contains("train mse ") && stderr.contains("test mse "),
        "{stderr}"
    );
    assert!(!stderr.contains(" acc "), "{stderr}");
    let run = read(&out.join("run.json"));
    assert!(run.contains("\"test_accuracy\": null"), "{run}");
    assert!(read(&out.join("metrics.json")).contains("\"accuracy\": null"));
    let csv = read(&out.join("epochs.csv"));
    let last = csv.lines().last().unwrap();
    assert!(last.ends_with(','), "no accuracy cell: {last}");
    // No accuracy plot for a run that has no accuracy.
    assert!(!out.join("accuracy.svg").exists());
    assert!(out.join("loss.svg").exists());
}

#[test]
fn recurrent_models_on_data_that_are_not_sequences_are_refused() {
    let err = fails(&["train", "--model", "lstm:16", "--epochs", "1"]);
    assert!(
        err.contains("--model") && err.contains("lstm:16") && err.contains("not sequences"),
        "{err}"
    );
    let err = fails(&["probe", "--model", "gru:8"]);
    assert!(
        err.contains("gru:8") && err.contains("not sequences"),
        "{err}"
    );
}

#[test]
fn feed_forward_flags_that_cannot_apply_to_recurrent_layers_are_refused_naming_the_flag() {
    let err = fails(&[
        "train",
        "--data",
        "adding:6,50",
        "--model",
        "rnn:8",
        "--batch-norm",
    ]);
    assert!(
        err.contains("--batch-norm") && err.contains("rnn:8"),
        "{err}"
    );
    for flag in ["--lsuv", "--jacobian"] {
        let err = fails(&["probe", "--data", "adding:6,50", "--model", "lstm:8", flag]);
        assert!(err.contains(flag) && err.contains("recurrent"), "{err}");
    }
    let err = fails(&["train", "--model", "lstm:x"]);
    assert!(err.contains("hidden width `x`"), "{err}");
    let err = fails(&["train", "--model", "transformer:8"]);
    assert!(err.contains("rnn:W, rnn-relu:W, lstm:W, gru:W"), "{err}");
}

#[test]
fn a_class_per_step_needs_a_read_out_at_every_step() {
    let err = fails(&["train", "--data", "copy:5,50", "--hidden", "8"]);
    assert!(
        err.contains("copy:5,50") && err.contains("a class of 10 at each of 25 steps"),
        "{err}"
    );
}

#[test]
fn bad_sequence_sources_and_lengths_are_refused_naming_them() {
    let err = fails(&["train", "--data", "adding:1"]);
    assert!(err.contains("a length of 1 steps"), "{err}");
    let err = fails(&["train", "--data", "copy:5,x"]);
    assert!(err.contains("`x` is not a whole number"), "{err}");
    let err = fails(&["train", "--sequence-length", "4"]);
    assert!(
        err.contains("--sequence-length") && err.contains("applies to a .csv"),
        "{err}"
    );
    let dir = temp_dir("csv-seq-bad");
    let csv = dir.join("seq.csv");
    std::fs::write(&csv, "1,2,3,4,5,6,0\n6,5,4,3,2,1,1\n").unwrap();
    let err = fails(&[
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--sequence-length",
        "4",
    ]);
    assert!(
        err.contains("--sequence-length 4")
            && err.contains("6 features per sample do not make sequences of 4 steps"),
        "{err}"
    );
}

/// `--model lstm:W` on the adding problem: the progress, the run folder and the
/// checkpoints of a feed-forward run; a run resumed mid-way ends on the same weights.
#[test]
fn an_lstm_trains_on_the_adding_problem_checkpoints_and_resumes_exactly() {
    let dir = temp_dir("lstm-adding");
    let (ck, straight, resumed) = (dir.join("ck"), dir.join("straight"), dir.join("resumed"));
    let base = [
        "train",
        "--data",
        "adding:8,200",
        "--model",
        "lstm:8",
        "--batch-size",
        "32",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        ok(&args)
    };
    let (stdout, stderr) = run(&["--epochs", "3", "--out", straight.to_str().unwrap()]);
    assert!(stdout.contains("test mse: "), "{stdout}");
    assert!(
        stderr.contains("epoch 3/3") && stderr.contains("train mse"),
        "{stderr}"
    );
    let summary = read(&straight.join("run.json"));
    assert!(
        summary.contains("lstm:8, linear read-out of the last step"),
        "{summary}"
    );
    assert!(read(&straight.join("config.toml")).contains("recurrent = \"lstm:8\""));
    let layers = read(&straight.join("monitor").join("layers.csv"));
    assert!(layers.contains("LSTM"), "{layers}");

    let ck = ck.to_str().unwrap();
    run(&["--epochs", "2", "--checkpoint-dir", ck]);
    let (_, stderr) = run(&[
        "--epochs",
        "3",
        "--checkpoint-dir",
        ck,
        "--resume",
        "--out",
        resumed.to_str().unwrap(),
    ]);
    assert!(stderr.contains("resumed from"), "{stderr}");
    let weights = |d: &Path| std::fs::read(d.join("model.safetensors")).unwrap();
    assert_eq!(
        weights(&resumed),
        weights(&straight),
        "resume continues exactly"
    );
}

/// A class per step: `--model gru:W` reads out every step; the accuracy is on the recall
/// steps. The same model from a config file's `[model]`.
#[test]
fn a_gru_reads_out_every_step_of_the_copy_task_from_flags_or_a_config_file() {
    let dir = temp_dir("gru-copy");
    let (stdout, stderr) = ok(&[
        "train",
        "--data",
        "copy:4,100",
        "--model",
        "gru:8",
        "--epochs",
        "1",
    ]);
    assert!(stdout.contains("test accuracy: "), "{stdout}");
    assert!(
        stderr.contains("train loss") && stderr.contains(" acc "),
        "{stderr}"
    );
    let config = dir.join("copy.toml");
    std::fs::write(
        &config,
        "[data]\nsource = \"copy:4,100\"\n[model]\nrecurrent = \"gru:8\"\n[train]\nepochs = 1\n",
    )
    .unwrap();
    let (from_file, _) = ok(&["train", "--config", config.to_str().unwrap()]);
    assert_eq!(
        from_file, stdout,
        "the file and the flags give the same run"
    );
    let (probe, _) = ok(&["probe", "--data", "copy:4,100", "--model", "gru:8"]);
    assert!(
        probe.contains("gru:8, linear read-out of every step"),
        "{probe}"
    );
    assert!(probe.contains("GRU"), "{probe}");
}

/// A `.csv` file read as sequences: each line is T steps of features, then the label.
#[test]
fn csv_lines_are_read_as_sequences_with_a_sequence_length() {
    let dir = temp_dir("csv-seq");
    let csv = dir.join("seq.csv");
    let mut text = String::new();
    for i in 0..40 {
        let label = i % 2;
        let v = if label == 1 { 1.0 } else { -1.0 };
        text += &format!("{v},0.5,{v},0.25,{v},0,{label}\n");
    }
    std::fs::write(&csv, text).unwrap();
    let csv = csv.to_str().unwrap();
    let (stdout, _) = ok(&[
        "train",
        "--data",
        csv,
        "--sequence-length",
        "3",
        "--model",
        "rnn-relu:4",
        "--epochs",
        "1",
    ]);
    assert!(stdout.contains("test accuracy: "), "{stdout}");
    let err = fails(&["train", "--data", csv, "--model", "rnn:4"]);
    assert!(
        err.contains("not sequences") && err.contains("--sequence-length"),
        "{err}"
    );
}
