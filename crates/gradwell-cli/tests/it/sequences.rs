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

fn fails(args: &[&str]) -> String {
    let o = gradwell(args);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    err
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
