//! Crash safety: a training process killed with SIGKILL at several points, resumed each
//! time, ends with weights bit-identical to an uninterrupted run.
//!
//! The child is this test binary itself, running the ignored test [`crash_child`] with
//! [`CHILD_DIR`] set: nothing to build besides the tests, and the child trains with
//! exactly the code under test.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gradwell_train::checkpoint;
use gradwell_train::{Observer, StepView, TrainConfig};

use crate::{digits_config, digits_trainer, scratch_dir, weights};

/// Set (to the checkpoint directory) in the child's environment.
const CHILD_DIR: &str = "GRADWELL_TRAIN_CRASH_CHILD_DIR";
/// Where the child puts the final weights.
const FINAL: &str = "final.safetensors";
const EPOCHS: u64 = 8;

fn config(dir: Option<PathBuf>) -> TrainConfig {
    let mut c = digits_config(EPOCHS);
    c.checkpoint.every_steps = dir.is_some().then_some(5);
    c.checkpoint.dir = dir;
    c.checkpoint.keep = 2;
    c
}

/// Slows the child down so that it can be killed mid-run.
struct Slow;

impl Observer for Slow {
    fn on_step(&mut self, _: &StepView<'_>) -> ControlFlow<String> {
        std::thread::sleep(Duration::from_millis(3));
        ControlFlow::Continue(())
    }
}

#[test]
#[ignore = "the child process of `killed_runs_resume_to_identical_weights`"]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR).map(PathBuf::from) else {
        return;
    };
    let mut t = digits_trainer(config(Some(dir.clone())));
    t.resume().unwrap();
    t.run(&mut [&mut Slow]).unwrap();
    std::fs::write(dir.join(FINAL), weights(&t)).unwrap();
}

fn spawn(dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::crash_child",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn newest_step(dir: &Path) -> u64 {
    checkpoint::list(dir).unwrap().first().map_or(0, |c| c.0)
}

#[test]
fn killed_runs_resume_to_identical_weights() {
    let mut reference = digits_trainer(config(None));
    reference.run(&mut []).unwrap();
    let reference = weights(&reference);
    let total = EPOCHS * crate::digits_split().train.len().div_ceil(32) as u64;

    let dir = scratch_dir("crash");
    let mut kills = Vec::new();
    // Kill once the newest checkpoint reaches each target, after a delay that varies so
    // that the kill lands at different points of a step or of a checkpoint write.
    for (target, delay_ms) in [(15, 0), (100, 7), (180, 2), (260, 11), (330, 4)] {
        let mut child = spawn(&dir);
        let started = Instant::now();
        while newest_step(&dir) < target && child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the child hangs"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        let running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            running,
            "the child finished before it could be killed ({status})"
        );
        kills.push(newest_step(&dir));
    }
    assert!(
        kills.windows(2).all(|w| w[0] < w[1]) && *kills.last().unwrap() < total,
        "each resumed run made progress and none finished: {kills:?} of {total}"
    );
    let status = spawn(&dir).wait().unwrap();
    assert!(status.success(), "the last run failed: {status}");
    let final_weights = std::fs::read(dir.join(FINAL)).unwrap();
    assert!(
        final_weights == reference,
        "resumed weights differ from the uninterrupted run's"
    );
}
