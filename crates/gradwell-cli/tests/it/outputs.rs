//! Where a run writes: the run folder and the checkpoint directory are checked, created and
//! locked before training, every file is written atomically (the weights first), a second
//! run on a folder in use is refused with the holder's pid, and a non-finite value is
//! placed in its layer at the first step of a run or of a resumed run. Output to a pipe
//! closed early (`| head -1`) ends the command quietly.

use std::path::Path;
use std::process::{Command, Stdio};

use gradwell_nn::io::TEMP_PREFIX;
use gradwell_train::lock::{DirLock, LOCK_FILE};

use crate::{gradwell, temp_dir, text};

/// The names in `dir` that are temporary files of interrupted writes.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for d in [dir.to_path_buf(), dir.join("monitor")] {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with(TEMP_PREFIX) {
                found.push(name);
            }
        }
    }
    found
}

/// Runs `args`, expects exit code 1 and returns standard error.
fn fails(args: &[&str]) -> String {
    let o = gradwell(args);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

#[test]
fn a_non_finite_value_at_step_1_is_placed_in_its_layer() {
    // Pixels in [0, 1] times first-layer weights of 3e38 overflow in layer 0's product.
    let err = fails(&[
        "train",
        "--init",
        "constant:3e38",
        "--epochs",
        "1",
        "--quiet",
    ]);
    assert!(
        err.contains("step 1: first non-finite value: output of op `matmul`")
            && err.contains("in layer 0 (Linear)"),
        "{err}"
    );
    assert!(!err.contains("outside the layers"), "{err}");
}

#[test]
fn a_non_finite_value_right_after_a_resume_is_placed_in_its_layer() {
    let dir = temp_dir("non-finite-resume");
    let ck = dir.join("ck");
    let ck = ck.to_str().unwrap();
    // SGD at a rate of 90 on a linear network (identity activations, which cannot die as
    // ReLU units can) overflows after a few steps, whatever the initial draw; a checkpoint
    // after every step leaves the last one before the overflow, so the resumed run
    // overflows at its first step (resuming is bit-exact).
    let args = [
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
        "--checkpoint-dir",
        ck,
        "--checkpoint-every",
        "1",
    ];
    let first = fails(&args);
    let newest = gradwell_train::checkpoint::list(Path::new(ck)).unwrap()[0].0;
    assert!(newest >= 1, "the run diverged at step 1: {first}");
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    let err = fails(&resumed);
    assert!(
        err.contains("resumed from") && err.contains(&format!("at step {newest}")),
        "{err}"
    );
    let line = err
        .lines()
        .find(|l| l.starts_with(&format!("step {}: first non-finite", newest + 1)))
        .unwrap_or_else(|| panic!("no provenance of step {}: {err}", newest + 1));
    assert!(line.contains(" in layer "), "{line}");
    assert!(!line.contains("outside the layers"), "{line}");
}

#[test]
fn bad_output_paths_are_refused_before_training() {
    let dir = temp_dir("bad-paths");
    let file = dir.join("a-file");
    std::fs::write(&file, b"").unwrap();
    let below = file.join("run");
    for (flag, path, why) in [
        ("--out", &file, "exists and is not a directory"),
        ("--out", &below, "cannot be created or written"),
        ("--checkpoint-dir", &file, "exists and is not a directory"),
        ("--checkpoint-dir", &below, "cannot be created or written"),
    ] {
        let path = path.to_str().unwrap();
        let err = fails(&["train", flag, path, "--epochs", "5"]);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("error: {flag} {path}: {why}")),
            "{err}"
        );
        assert!(
            !err.contains("epoch 1/5"),
            "refused only after training: {err}"
        );
    }
    // A run refused for its data makes no folder.
    let out = dir.join("never");
    let missing = dir.join("missing.csv");
    fails(&[
        "train",
        "--data",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!out.exists());
}

#[test]
fn a_failed_write_names_the_file_and_keeps_the_weights_written_before_it() {
    let dir = temp_dir("failed-write");
    let out = dir.join("run");
    // `monitor.json` is a non-empty directory: writing it fails at the rename.
    std::fs::create_dir_all(out.join("monitor.json").join("inside")).unwrap();
    let err = fails(&["train", "--epochs", "2", "--out", out.to_str().unwrap()]);
    assert!(
        err.lines().last().unwrap().starts_with("error: ")
            && err.lines().last().unwrap().contains("monitor.json"),
        "{err}"
    );
    // The weights came first and are whole.
    let spec = gradwell_nn::MlpSpec::new(&[64, 256, 10], "relu".parse().unwrap())
        .to_spec()
        .unwrap();
    let mut net = gradwell_nn::Network::<f32>::build(&spec, 1).unwrap();
    net.load_safetensors(&out.join("model.safetensors"))
        .expect("the weights load");
    assert!(out.join("monitor.json").join("inside").is_dir());
    assert_eq!(temp_files(&out), Vec::<String>::new());
}

#[test]
fn a_folder_in_use_is_refused_naming_the_holder() {
    let dir = temp_dir("in-use");
    let ck = dir.join("ck");
    let ck_s = ck.to_str().unwrap();
    let out = dir.join("run");
    let out_s = out.to_str().unwrap();
    let o = gradwell(&[
        "train",
        "--epochs",
        "2",
        "--checkpoint-dir",
        ck_s,
        "--out",
        out_s,
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let before: Vec<_> = gradwell_train::checkpoint::list(&ck).unwrap();
    let model = std::fs::read(out.join("model.safetensors")).unwrap();
    let me = std::process::id();
    for (flag, held) in [("--checkpoint-dir", &ck), ("--out", &out)] {
        let lock = DirLock::acquire(held).unwrap();
        let err = fails(&[
            "train",
            "--epochs",
            "3",
            "--seed",
            "5",
            "--checkpoint-dir",
            ck_s,
            "--out",
            out_s,
        ]);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!(
                "error: {flag} {}: is in use by another gradwell run (pid {me})",
                held.display()
            )),
            "{err}"
        );
        drop(lock);
    }
    // Nothing of the first run was touched.
    assert_eq!(gradwell_train::checkpoint::list(&ck).unwrap(), before);
    assert_eq!(std::fs::read(out.join("model.safetensors")).unwrap(), model);
    // The same folder as run folder and checkpoint directory is one run's, not two.
    let both = dir.join("both");
    let both = both.to_str().unwrap();
    let o = gradwell(&[
        "train",
        "--epochs",
        "1",
        "--checkpoint-dir",
        both,
        "--out",
        both,
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
}

#[test]
fn a_dead_runs_lock_and_temporary_files_are_cleared() {
    let dir = temp_dir("dead-run");
    let out = dir.join("run");
    std::fs::create_dir_all(out.join("monitor")).unwrap();
    // What a run killed while writing leaves: its lock file, unheld, and temporary files.
    std::fs::write(out.join(LOCK_FILE), "4000000001\n").unwrap();
    let stale = [
        out.join(format!("{TEMP_PREFIX}4000000001-0.model.safetensors")),
        out.join("monitor")
            .join(format!("{TEMP_PREFIX}4000000001-5.steps.csv")),
    ];
    for s in &stale {
        std::fs::write(s, b"half").unwrap();
    }
    let child = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args([
            "train",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(stale.iter().all(|s| !s.exists()));
    assert_eq!(temp_files(&out), Vec::<String>::new());
    assert!(out.join("model.safetensors").is_file());
    assert_eq!(
        std::fs::read_to_string(out.join(LOCK_FILE)).unwrap().trim(),
        pid.to_string()
    );
}

/// `gradwell summary ... | head -1`: the reader takes one line and closes the pipe while the
/// command still has about a megabyte to write (far more than a pipe buffers, so the write
/// that meets the closed pipe is certain). The command ends quietly, killed by SIGPIPE as
/// Unix tools are; without that, `print!` panicked ("failed printing to stdout: Broken
/// pipe", exit 101).
#[cfg(unix)]
#[test]
fn output_to_a_pipe_closed_early_ends_quietly() {
    use std::io::{BufRead, BufReader, Read};
    use std::os::unix::process::ExitStatusExt;

    let model = vec!["4"; 2000].join("-");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(["summary", "--model", &model])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader (and with it the pipe's only read end) is dropped here.
    assert!(first.starts_with("Model: "), "{first}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(
        status.signal(),
        Some(13),
        "not ended by SIGPIPE: {status}, {err}"
    );
}

/// `gradwell report ... | head -0`: the pipe is closed before the command prints its table;
/// the report is written all the same (it is written before the table is printed).
#[cfg(unix)]
#[test]
fn a_pipe_closed_early_loses_no_report() {
    use std::os::unix::process::ExitStatusExt;

    let dir = temp_dir("closed-pipe-report");
    let run = dir.join("runs").join("one");
    let o = gradwell(&[
        "train",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let report = dir.join("report");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(["report", dir.join("runs").to_str().unwrap(), "--out"])
        .arg(&report)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The pipe's only read end, closed before the command has read the run folder.
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(13), "{status}");
    for file in ["index.html", "results.json"] {
        assert!(report.join(file).is_file(), "{file} not written");
    }
}
