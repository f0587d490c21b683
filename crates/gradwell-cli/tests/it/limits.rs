//! Sizes read from outside: a gzip bomb, a stray label, a model larger than the machine,
//! a byte order mark. Each too-large size is refused with one line naming the file, flag
//! or layer before the memory is taken, and nothing aborts: the commands run under a
//! 1 GiB address-space limit (on Linux), so one that tried to allocate gigabytes would
//! fail here instead of passing slowly.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use crate::errors::refuses_output;
use crate::{temp_dir, text};

/// The variable that sets the memory budget (gradwell-nn's `MAX_MEMORY_ENV`).
const MEMORY_ENV: &str = gradwell_nn::MAX_MEMORY_ENV;

/// Runs the binary with `args` and the environment `env` (and without any memory budget
/// inherited from the caller's environment), under a 1 GiB address-space limit where the
/// shell can set one.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let bin = env!("CARGO_BIN_EXE_gradwell");
    let mut cmd = if cfg!(target_os = "linux") {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("ulimit -v 1048576 && exec \"$0\" \"$@\"")
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args).env_remove(MEMORY_ENV);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the gradwell binary runs")
}

/// Expects `args` to be refused with one `error:` line holding every needle.
fn refused(args: &[&str], env: &[(&str, &str)], needles: &[&str]) {
    refuses_output(args, &run(args, env), needles);
}

/// Expects `args` to succeed; returns standard output and standard error.
fn succeeds(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let o = run(args, env);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{args:?} failed: {err}");
    (out, err)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// A gzip "bomb" of CSV rows: `mib` copies of one gzip member holding 1 MiB of `0,0,0`
/// rows (several members in a row are valid gzip and decompress to their concatenation),
/// about a thousandth of its decompressed size.
fn csv_bomb(path: &Path, mib: usize) {
    let block: Vec<u8> = b"0,0,0\n".iter().copied().cycle().take(1 << 20).collect();
    std::fs::write(path, gzip(&block).repeat(mib)).expect("writing the bomb");
}

#[test]
fn a_gzip_bomb_stops_at_the_limit_naming_the_file_the_limit_and_the_flag() {
    let dir = temp_dir("bomb");
    // The issue's file: about 1 MB that decompresses to 1 GiB. The default limit (256 MiB)
    // stops it; decompressing it whole would pass the 1 GiB address-space limit.
    let big = dir.join("big.csv.gz");
    csv_bomb(&big, 1024);
    let size = std::fs::metadata(&big).unwrap().len();
    assert!(size < 2 << 20, "the bomb is {size} bytes");
    let p = big.to_str().unwrap();
    refused(
        &["train", "--data", p],
        &[],
        &[p, "more than 256 MiB", "--max-decompressed-mb"],
    );

    // A smaller bomb under a smaller limit, by flag and by config file.
    let small = dir.join("small.csv.gz");
    csv_bomb(&small, 8);
    let s = small.to_str().unwrap();
    refused(
        &[
            "summary",
            "--hidden",
            "4",
            "--data",
            s,
            "--max-decompressed-mb",
            "1",
        ],
        &[],
        &[
            s,
            "decompresses to more than 1 MiB, the limit on decompressed gzip input",
            "raise the limit with --max-decompressed-mb MB",
        ],
    );
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        format!("[data]\nsource = {s:?}\nmax_decompressed_mb = 1\n"),
    )
    .unwrap();
    refused(
        &["train", "--config", config.to_str().unwrap()],
        &[],
        &[s, "1 MiB", "--max-decompressed-mb"],
    );
    refused(
        &["train", "--max-decompressed-mb", "0"],
        &[],
        &["--max-decompressed-mb 0"],
    );

    // A genuine file just over a limit is read once the limit is raised.
    let rows: String = (0..150_000)
        .map(|i| format!("{}.5,{},{}\n", i % 7, i % 3, i % 2))
        .collect();
    assert!(rows.len() > 1 << 20 && rows.len() < 2 << 20);
    let genuine = dir.join("genuine.csv.gz");
    std::fs::write(&genuine, gzip(rows.as_bytes())).unwrap();
    let g = genuine.to_str().unwrap();
    refused(
        &[
            "summary",
            "--hidden",
            "4",
            "--data",
            g,
            "--max-decompressed-mb",
            "1",
        ],
        &[],
        &[g, "1 MiB"],
    );
    let (out, _) = succeeds(
        &[
            "summary",
            "--hidden",
            "4",
            "--data",
            g,
            "--max-decompressed-mb",
            "2",
        ],
        &[],
    );
    assert!(out.contains("Total params: 22 (88.00 B)"), "{out}");
}

/// Writes a CSV of two features and the labels given, one row per label.
fn labelled_csv(path: &Path, labels: &[u64]) {
    let mut text = String::from("a,b,label\n");
    for (i, l) in labels.iter().enumerate() {
        text.push_str(&format!("{},{},{l}\n", i % 5, i % 3));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_stray_label_is_refused_naming_the_line_and_the_label() {
    let dir = temp_dir("labels");
    // The issue's file: one label of 1000000 among a few classes, which built a
    // 1,000,001-class model (gigabytes for its output layer).
    let mut labels: Vec<u64> = (0..30).map(|i| i % 4).collect();
    labels[10] = 1_000_000;
    let stray = dir.join("stray.csv");
    labelled_csv(&stray, &labels);
    let p = stray.to_str().unwrap();
    refused(
        &["train", "--data", p],
        &[],
        &[
            p,
            "line 12, column 3: label 1000000 leaves classes 4 to 999999 with no sample",
            "renumber the labels from 0, or declare the number of classes with --classes N",
        ],
    );

    // A file holding only some of its classes: accepted with --classes, which makes the
    // output layer that wide.
    let some = dir.join("some.csv");
    labelled_csv(&some, &[0, 1, 3, 0, 1, 3, 0, 1, 3, 0]);
    let s = some.to_str().unwrap();
    refused(
        &["summary", "--hidden", "4", "--data", s],
        &[],
        &[s, "label 3 leaves class 2 with no sample", "--classes N"],
    );
    let (out, _) = succeeds(
        &["summary", "--hidden", "4", "--data", s, "--classes", "5"],
        &[],
    );
    assert!(
        out.contains("│ dense_1 (Dense)                 │ (None, 5)"),
        "{out}"
    );
    refused(
        &["summary", "--hidden", "4", "--data", s, "--classes", "3"],
        &[],
        &[s, "label 3 is not below the number of classes 3"],
    );
    refused(
        &["train", "--classes", "3"],
        &[],
        &["--classes 3", "applies to a .csv file", "digits"],
    );
    refused(&["train", "--classes", "0"], &[], &["--classes 0"]);
}

#[test]
fn a_byte_order_mark_does_not_turn_the_first_row_into_a_header() {
    let dir = temp_dir("bom");
    let mut text = String::from("\u{FEFF}");
    for i in 0..20 {
        text.push_str(&format!("{}.5,{},{}\n", i % 7, i % 3, i % 2));
    }
    for (name, bytes) in [
        ("bom.csv", text.clone().into_bytes()),
        ("bom.csv.gz", gzip(text.as_bytes())),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (_, err) = succeeds(
            &["train", "--data", path.to_str().unwrap(), "--epochs", "1"],
            &[],
        );
        // All 20 rows are data: a stratified fifth (2 of each class) is held out.
        assert!(
            err.contains("(16 training, 4 test samples, 2 features"),
            "{err}"
        );
    }
}

#[test]
fn the_issues_models_are_refused_or_summarized_without_allocating() {
    // `summary` prints Keras's table from the plan, allocating no weight, and notes that
    // the model cannot be built here.
    let (out, err) = succeeds(&["summary", "--model", "784-1000000000000-10"], &[]);
    assert!(
        out.contains(" Total params: 795,000,000,000,010 (2.82 PB)"),
        "{out}"
    );
    assert!(
        err.starts_with("note: model too large for this machine: to build it needs 5.65 PB"),
        "{err}"
    );
    assert!(
        err.contains("layer 0 (Linear(→1000000000000)) alone needs 5.58 PB"),
        "{err}"
    );
    // PyTorch's form needs the built layers: refused, with what the machine has.
    let budget = if cfg!(target_os = "linux") {
        "(MemAvailable in /proc/meminfo)"
    } else {
        "(the fallback cap"
    };
    refused(
        &["summary", "--model", "784-1000000000000-10", "--pytorch"],
        &[],
        &[
            "model too large for this machine: to build it needs 5.65 PB",
            budget,
            "layer 0 (Linear(→1000000000000)) alone needs",
            MEMORY_ENV,
        ],
    );

    // `--hidden 20000000` on the digits: 1.5 billion parameters. Training needs about
    // 181 GB (Adam's buffers and the outputs of 1000-sample evaluation batches); under a
    // 16 GiB budget it is refused, as a summary notes.
    let sixteen = [(MEMORY_ENV, "16384")];
    refused(
        &["train", "--hidden", "20000000"],
        &sixteen,
        &[
            "to train it needs 180.90 GB",
            "2 optimizer buffer(s)",
            "evaluation batches of 1000",
            "more than the 16.00 GB available (GRADWELL_MAX_MEMORY_MB)",
            "layer 0 (Linear(→20000000)) alone needs",
        ],
    );
    let (out, err) = succeeds(
        &["summary", "--hidden", "20000000"],
        &[(MEMORY_ENV, "1024")],
    );
    assert!(
        out.contains(" Total params: 1,500,000,010 (5.59 GB)"),
        "{out}"
    );
    assert!(
        err.contains("to build it needs 11.18 GB") && err.contains("layer 0 (Linear(→20000000))"),
        "{err}"
    );

    // `probe --depth 100000`: 200,001 layers, about 61 GB with a batch of 256.
    refused(
        &["probe", "--depth", "100000"],
        &sixteen,
        &[
            "to run a batch through it needs 61.13 GB",
            "the running total passes it at layer",
            "(of 200001 layers)",
            "the largest layer, 2 (Linear(→128))",
        ],
    );
}

#[test]
fn the_memory_budget_is_a_threshold_both_ways() {
    // The default run (64-256-10 on the digits, Adam, batches of 64 and evaluation
    // batches of 1000) needs about 2.5 MB: refused under 1 MiB, trained under 64 MiB.
    refused(
        &["train", "--epochs", "1"],
        &[(MEMORY_ENV, "1")],
        &["to train it needs 2.", "more than the 1.00 MB available"],
    );
    let (out, _) = succeeds(&["train", "--epochs", "1", "-q"], &[(MEMORY_ENV, "64")]);
    assert!(out.contains("test accuracy"), "{out}");
    refused(
        &["train", "--epochs", "1"],
        &[(MEMORY_ENV, "lots")],
        &[MEMORY_ENV, "lots", "whole number of MiB"],
    );
}
