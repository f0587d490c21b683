//! Every value that can be wrong gives one line, `error: ...`, naming the value and what
//! is valid, and a non-zero exit; never a panic. A command line clap refuses gets clap's
//! whole message (its first line `error: ...`, then its tips and the usage) and exit code 2.

use clap::Parser as _;
use gradwell_cli::cli::Cli;

use crate::{gradwell, temp_dir, text};

/// clap's whole message refusing the command line `args`, as clap renders it.
fn clap_message(args: &[&str]) -> String {
    let argv = std::iter::once("gradwell").chain(args.iter().copied());
    match Cli::try_parse_from(argv) {
        Ok(_) => panic!("clap accepts {args:?}"),
        Err(e) => e.render().to_string(),
    }
}

/// A mistyped subcommand gets clap's whole message: the tip naming the subcommand meant,
/// the usage, and clap's exit code.
#[test]
fn a_mistyped_subcommand_gets_clap_s_tip_whole() {
    let o = gradwell(&["trian"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err, clap_message(&["trian"]));
    for part in [
        "error: unrecognized subcommand 'trian'",
        "tip: a similar subcommand exists: 'train'",
        "Usage: gradwell <COMMAND>",
    ] {
        assert!(err.contains(part), "`{part}` missing from {err:?}");
    }
}

/// Runs `args`, expects a failure whose first line on standard error starts with
/// `error: ` and contains every string of `needles`: the only line, or, for a command line
/// clap refuses (exit code 2), clap's whole message.
pub fn refuses(args: &[&str], needles: &[&str]) {
    refuses_output(args, &gradwell(args), needles);
}

/// As [`refuses`], for the output `o` of a run of `args`.
pub fn refuses_output(args: &[&str], o: &std::process::Output, needles: &[&str]) {
    let (_, err) = text(o);
    assert!(!o.status.success(), "{args:?} succeeded: {err}");
    assert_ne!(o.status.code(), Some(101), "{args:?} panicked: {err}");
    let lines: Vec<&str> = err.lines().collect();
    if o.status.code() == Some(2) {
        assert_eq!(err, clap_message(args), "{args:?}: not clap's message");
    } else {
        assert_eq!(lines.len(), 1, "{args:?}: not one line: {err:?}");
    }
    assert!(lines[0].starts_with("error: "), "{args:?}: {err}");
    for n in needles {
        assert!(lines[0].contains(n), "{args:?}: `{n}` missing from {err:?}");
    }
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn unknown_names_list_the_valid_ones() {
    refuses(
        &["train", "--activation", "relux"],
        &["relux", "relu", "sigmoid"],
    );
    refuses(&["probe", "--activation", "sigmod"], &["sigmod", "sigmoid"]);
    refuses(
        &["train", "--init", "he-norml"],
        &["he-norml", "he-normal", "xavier-uniform"],
    );
    refuses(&["train", "--bias-init", "bogus"], &["bogus", "zeros"]);
    refuses(&["probe", "--init", "bogus"], &["bogus", "he-normal"]);
    refuses(
        &["train", "--optimizer", "adamax"],
        &["--optimizer", "adamax", "sgd", "rmsprop"],
    );
    refuses(
        &["train", "--schedule", "zigzag"],
        &["--schedule", "zigzag", "cosine"],
    );
    refuses(
        &["train", "--preprocess", "whiten"],
        &["whiten", "standardize"],
    );
    refuses(
        &["train", "--data", "cifar"],
        &["cifar", "digits", "fashion-mnist"],
    );
}

#[test]
fn zero_or_negative_widths_and_sizes() {
    refuses(
        &["train", "--model", "64-0-10"],
        &["--model", "64-0-10", ">= 1"],
    );
    refuses(&["train", "--model", "64--128-10"], &["--model", "-128"]);
    refuses(&["train", "--hidden", "-5"], &["--hidden", "-5"]);
    refuses(&["train", "--hidden", "abc"], &["--hidden", "abc"]);
    refuses(&["probe", "--width", "0"], &["--width", ">= 1"]);
    refuses(&["probe", "--depth", "-3"], &["--depth", "-3"]);
    refuses(&["train", "--epochs", "0"], &["--epochs", "at least 1"]);
    refuses(&["train", "--steps", "0"], &["--steps", "at least 1"]);
    refuses(&["train", "--steps", "-4"], &["--steps", "-4"]);
    refuses(
        &["train", "--eval-every", "0"],
        &["--eval-every", "at least 1"],
    );
    refuses(
        &["train", "--batch-size", "0"],
        &["--batch-size", "at least 1"],
    );
}

#[test]
fn out_of_range_numbers() {
    refuses(&["train", "--lr", "0"], &["--lr", "0"]);
    refuses(&["train", "--lr", "-0.1"], &["--lr", "-0.1"]);
    refuses(&["train", "--lr", "1e9"], &["--lr"]);
    refuses(&["train", "--lr", "fast"], &["fast", "--lr"]);
    refuses(
        &["train", "--optimizer", "sgd", "--momentum", "1.5"],
        &["--momentum", "1.5"],
    );
    refuses(&["train", "--momentum", "0.9"], &["--momentum", "sgd"]);
    refuses(
        &["train", "--weight-decay", "-1"],
        &["--weight-decay", "-1"],
    );
    refuses(&["train", "--clip-norm", "0"], &["--clip-norm"]);
    refuses(
        &["train", "--dropout", "1.5"],
        &["--dropout", "1.5", "[0, 1]"],
    );
    refuses(
        &["train", "--alpha-dropout", "1.5"],
        &["--alpha-dropout", "1.5", "[0, 1]"],
    );
    refuses(
        &["train", "--dropout", "0.1", "--alpha-dropout", "0.1"],
        &["--alpha-dropout", "one of them"],
    );
    refuses(&["train", "--label-smoothing", "2"], &["--label-smoothing"]);
    refuses(&["train", "--test-fraction", "0"], &["--test-fraction"]);
}

#[test]
fn model_and_data_widths_must_agree() {
    // The digits have 64 features and 10 classes.
    refuses(
        &["train", "--model", "784-128-10"],
        &["784", "64", "digits"],
    );
    refuses(&["train", "--model", "64-128-7"], &["7", "10 classes"]);
}

#[test]
fn missing_and_invalid_files() {
    let dir = temp_dir("files");
    let missing = dir.join("nope.toml");
    refuses(
        &["train", "--config", missing.to_str().unwrap()],
        &["nope.toml"],
    );
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[train]\nepochs = \"many\"\n").unwrap();
    refuses(
        &["train", "--config", bad.to_str().unwrap()],
        &["bad.toml", "epochs"],
    );
    let unknown = dir.join("unknown.toml");
    std::fs::write(&unknown, "[model]\nhiden = [3]\n").unwrap();
    refuses(
        &["train", "--config", unknown.to_str().unwrap()],
        &["unknown.toml", "hiden"],
    );
    let invalid = dir.join("invalid.toml");
    std::fs::write(&invalid, "[train]\nbatch_size = 0\n").unwrap();
    refuses(
        &["train", "--config", invalid.to_str().unwrap()],
        &["invalid.toml", "batch_size"],
    );
    let garbage = dir.join("garbage.toml");
    std::fs::write(&garbage, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    refuses(
        &["train", "--config", garbage.to_str().unwrap()],
        &["garbage.toml"],
    );
    let csv = dir.join("missing.csv");
    refuses(
        &["train", "--data", csv.to_str().unwrap()],
        &["missing.csv"],
    );
    let empty_dir = dir.join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    refuses(
        &["train", "--data", empty_dir.to_str().unwrap()],
        &["empty"],
    );
    refuses(&["train", "--data", "mnist"], &["mnist", "--data-dir"]);
    refuses(&["report", dir.to_str().unwrap()], &["run.json"]);
    refuses(
        &["probe", "--plot", dir.join("x.pdf").to_str().unwrap()],
        &["--plot", ".svg"],
    );
}

/// A bad value in a config file is reported with the file, the line and the field
/// (`model.activation`), not as the flag that would set it.
#[test]
fn a_config_file_error_names_the_field_not_the_flag() {
    let dir = temp_dir("config-field");
    for (name, toml, needles) in [
        (
            "activation.toml",
            "[model]\nhidden = [8]\nactivation = \"rellu\"\n",
            &[
                "activation.toml",
                "line 3",
                "model.activation",
                "rellu",
                "leaky-relu",
            ][..],
        ),
        (
            "init.toml",
            "[model]\ninit = \"he-norml\"\n",
            &["init.toml", "line 2", "model.init", "he-norml", "he-normal"],
        ),
        (
            "preprocess.toml",
            "[train]\nepochs = 1\npreprocess = \"whiten\"\n",
            &["line 3", "train.preprocess", "whiten", "unit-range"],
        ),
        (
            "last_batch.toml",
            "[train]\nlast_batch = \"skip\"\n",
            &["train.last_batch", "skip", "keep, drop"],
        ),
        (
            "widths.toml",
            "[model]\nwidths = [64, 0, 10]\n",
            &["widths.toml", "model", "[64, 0, 10]"],
        ),
        (
            "steps.toml",
            "[train]\nsteps = 0\n",
            &["steps.toml", "`steps`", "at least 1"],
        ),
        (
            "eval.toml",
            "[eval]\nevery = 0\n",
            &["eval.toml", "eval.every", "at least 1"],
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, toml).unwrap();
        let args = ["train", "--config", path.to_str().unwrap()];
        let o = gradwell(&args);
        refuses_output(&args, &o, needles);
        let (_, err) = text(&o);
        assert!(!err.contains("--"), "{name}: a flag is named: {err}");
    }
}

/// clap's messages, whole: the first line names the flag.
#[test]
fn unknown_flags_and_subcommands_are_named() {
    refuses(&["train", "--epoch", "3"], &["--epoch"]);
    refuses(&["trian"], &["trian"]);
    refuses(
        &["train", "--checkpoint-every", "5"],
        &["--checkpoint-every", "--checkpoint-dir"],
    );
}
