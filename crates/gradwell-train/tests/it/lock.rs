//! One run per directory: the checkpoint directory is created and locked before the first
//! step, a second process is refused with the holder's pid, a lock left by a killed process
//! blocks nothing, and temporary files of interrupted writes are removed.
//!
//! The second process is this test binary itself, running the ignored test [`lock_child`]
//! with [`CHILD_DIR`] set: it takes the lock, says so, and waits to be killed.

use std::io::{BufRead, BufReader, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gradwell_train::lock::{DirError, DirLock, LOCK_FILE};
use gradwell_train::{Observer, StepView, TrainConfig, TrainError, checkpoint};

use crate::{digits_config, digits_trainer, scratch_dir};

/// Set (to the directory to lock) in the child's environment.
const CHILD_DIR: &str = "GRADWELL_TRAIN_LOCK_CHILD_DIR";
/// What the child prints once it holds the lock (at the end of a line: the test harness
/// may have printed the test's name before it).
const LOCKED: &str = "lock-child: locked";

fn config(dir: &Path) -> TrainConfig {
    let mut c = digits_config(1);
    c.checkpoint.dir = Some(dir.to_path_buf());
    c
}

#[test]
#[ignore = "the child process of `a_second_process_is_refused_and_a_killed_holder_blocks_nothing`"]
fn lock_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR).map(PathBuf::from) else {
        return;
    };
    let _lock = DirLock::acquire(&dir).unwrap();
    let mut out = std::io::stdout();
    writeln!(out, "{LOCKED}").unwrap();
    out.flush().unwrap();
    // Hold the lock until killed (or until the parent closes standard input).
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

fn lock_file_pid(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(LOCK_FILE))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn a_second_process_is_refused_and_a_killed_holder_blocks_nothing() {
    let dir = scratch_dir("lock-held");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "lock::lock_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.ends_with(LOCKED))),
        "the child did not take the lock"
    );

    // A trainer of this process on the child's directory is refused before its first
    // step, naming the child.
    let mut t = digits_trainer(config(&dir));
    let err = t.run(&mut []).unwrap_err();
    assert!(
        matches!(
            &err,
            TrainError::Directory { why: DirError::InUse { holder: Some(p) }, .. } if *p == pid
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("pid {pid}")) && text.contains("checkpoint.dir"),
        "{text}"
    );
    assert_eq!(t.step(), 0);
    assert!(checkpoint::list(&dir).unwrap().is_empty());

    // Killed, the child leaves its lock file (with its pid) but no lock.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(lock_file_pid(&dir), pid.to_string());
    let report = t.run(&mut []).unwrap();
    assert_eq!(report.epochs.len(), 1);
    assert_eq!(checkpoint::list(&dir).unwrap().len(), 1);
    assert_eq!(lock_file_pid(&dir), std::process::id().to_string());
}

#[test]
fn a_lock_file_nobody_holds_blocks_nothing() {
    let dir = scratch_dir("lock-stale");
    std::fs::write(dir.join(LOCK_FILE), "4000000001\n").unwrap();
    let report = digits_trainer(config(&dir)).run(&mut []).unwrap();
    assert_eq!(report.epochs.len(), 1);
    assert_eq!(lock_file_pid(&dir), std::process::id().to_string());
}

/// Asserts at the first step that the stale temporary file is gone already.
struct GoneAtFirstStep(PathBuf, Vec<u64>);

impl Observer for GoneAtFirstStep {
    fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
        assert!(!self.0.exists(), "{} still there", self.0.display());
        self.1.push(step.step);
        ControlFlow::Continue(())
    }
}

#[test]
fn temporary_files_of_killed_writes_are_removed_before_the_first_step() {
    let dir = scratch_dir("lock-temp");
    let stale = dir.join(format!(
        "{}4000000001-7.checkpoint-000000000005.gwck",
        gradwell_nn::io::TEMP_PREFIX
    ));
    std::fs::write(&stale, b"half a checkpoint").unwrap();
    let other = dir.join("notes.txt");
    std::fs::write(&other, b"not ours").unwrap();
    let mut watch = GoneAtFirstStep(stale.clone(), Vec::new());
    digits_trainer(config(&dir)).run(&mut [&mut watch]).unwrap();
    assert!(!watch.1.is_empty());
    assert!(!stale.exists());
    assert!(other.exists(), "other files are left alone");
}

#[test]
fn a_checkpoint_dir_that_cannot_be_used_is_refused_before_the_first_step() {
    let dir = scratch_dir("lock-file");
    let file = dir.join("a-file");
    std::fs::write(&file, b"").unwrap();
    for (path, why) in [
        (file.clone(), "exists and is not a directory"),
        (file.join("below"), "cannot be created or written"),
    ] {
        let mut watch = GoneAtFirstStep(dir.join("never"), Vec::new());
        let err = digits_trainer(config(&path))
            .run(&mut [&mut watch])
            .unwrap_err();
        assert!(watch.1.is_empty(), "{err}: refused after training");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("`checkpoint.dir` {}: {why}", path.display())),
            "{text}"
        );
    }
}

#[test]
fn one_process_shares_its_lock() {
    // Two trainers of one process on one directory, one after the other (or the same
    // directory as run folder and checkpoint directory), share the lock.
    let dir = scratch_dir("lock-shared");
    let held = DirLock::acquire(&dir).unwrap();
    let report = digits_trainer(config(&dir)).run(&mut []).unwrap();
    assert_eq!(report.epochs.len(), 1);
    assert_eq!(held.dir(), dir.canonicalize().unwrap());
}
