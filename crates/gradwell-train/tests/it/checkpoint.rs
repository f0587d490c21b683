//! Checkpoints: exact resume in one process, corruption detected, old files pruned,
//! another run's checkpoint refused.

use std::ops::ControlFlow;

use gradwell_train::checkpoint::{self, Checkpoint, HEADER_LEN};
use gradwell_train::{Observer, StepView, TrainConfig, TrainError, Trainer};

use crate::{digits_config, digits_trainer, scratch_dir, weights};

/// Stops the run after a given step (as a crash would, but without a checkpoint).
struct StopAt(u64);

impl Observer for StopAt {
    fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
        if step.step == self.0 {
            ControlFlow::Break(format!("stopped at {}", self.0))
        } else {
            ControlFlow::Continue(())
        }
    }
}

fn with_checkpoints(test: &str, epochs: u64, every: Option<u64>) -> TrainConfig {
    let mut c = digits_config(epochs);
    c.checkpoint.dir = Some(scratch_dir(test));
    c.checkpoint.every_steps = every;
    c.checkpoint.keep = 3;
    c
}

fn uninterrupted(epochs: u64) -> (Vec<u8>, gradwell_train::TrainReport) {
    let mut t = digits_trainer(digits_config(epochs));
    let report = t.run(&mut []).unwrap();
    (weights(&t), report)
}

#[test]
fn a_run_resumed_mid_epoch_ends_bit_identical() {
    let (reference, ref_report) = uninterrupted(4);
    let config = with_checkpoints("resume_mid_epoch", 4, Some(7));
    let mut first = digits_trainer(config.clone());
    let report = first.run(&mut [&mut StopAt(100)]).unwrap();
    assert_eq!(report.stopped.as_deref(), Some("stopped at 100"));
    // Not finished: the weights differ from the reference so far.
    assert_ne!(weights(&first), reference);

    let mut second = digits_trainer(config);
    let outcome = second.resume().unwrap();
    let loaded = outcome.loaded.expect("a checkpoint to resume from");
    assert!(
        loaded.ends_with(checkpoint::file_name(98)),
        "{}",
        loaded.display()
    );
    assert!(outcome.skipped.is_empty());
    assert_eq!(second.step(), 98);
    let report = second.run(&mut []).unwrap();
    assert_eq!(weights(&second), reference);
    assert_eq!(report.steps, ref_report.steps);
    assert_eq!(report.resumed_from, Some(loaded));
    // The metrics of every epoch agree too (timings aside).
    for (a, b) in report.epochs.iter().zip(&ref_report.epochs) {
        assert_eq!(
            (a.train_loss, a.train_accuracy, a.test),
            (b.train_loss, b.train_accuracy, b.test)
        );
    }
    assert_eq!(report.test, ref_report.test);
}

#[test]
fn a_finished_run_extended_by_more_epochs_matches_a_longer_run() {
    let (reference, _) = uninterrupted(4);
    let mut short = digits_trainer(with_checkpoints("extend", 2, None));
    short.run(&mut []).unwrap();
    let mut long = digits_trainer(with_checkpoints("extend_again", 4, None));
    // Point the longer run at the shorter run's directory.
    let mut config = long.config().clone();
    config.checkpoint.dir = short.config().checkpoint.dir.clone();
    long = digits_trainer(config);
    assert!(long.resume().unwrap().loaded.is_some());
    assert_eq!(long.epoch(), 2);
    long.run(&mut []).unwrap();
    assert_eq!(weights(&long), reference);
}

#[test]
fn only_the_newest_checkpoints_are_kept() {
    let config = with_checkpoints("keep", 2, Some(10));
    let dir = config.checkpoint.dir.clone().unwrap();
    digits_trainer(config).run(&mut []).unwrap();
    let steps: Vec<u64> = checkpoint::list(&dir)
        .unwrap()
        .iter()
        .map(|c| c.0)
        .collect();
    // 90 steps: checkpoints at 10, 20, …, 90 and at the epoch ends 45 and 90.
    assert_eq!(steps, [90, 80, 70]);
}

fn corrupt_copies(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for cut in [0, 10, HEADER_LEN, bytes.len() / 2, bytes.len() - 1] {
        out.push((format!("truncated to {cut}"), bytes[..cut].to_vec()));
    }
    for at in [
        0,
        9,
        13,
        37,
        HEADER_LEN + 5,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        for bit in [0, 7] {
            let mut b = bytes.to_vec();
            b[at] ^= 1 << bit;
            out.push((format!("bit {bit} of byte {at} flipped"), b));
        }
    }
    let mut extended = bytes.to_vec();
    extended.push(0);
    out.push(("one byte appended".into(), extended));
    out
}

#[test]
fn truncated_or_flipped_checkpoints_are_detected() {
    let config = with_checkpoints("corrupt", 1, None);
    let dir = config.checkpoint.dir.clone().unwrap();
    digits_trainer(config).run(&mut []).unwrap();
    let (_, path) = checkpoint::list(&dir).unwrap().remove(0);
    let bytes = std::fs::read(&path).unwrap();
    assert!(Checkpoint::decode(&bytes, "intact").is_ok());
    for (what, b) in corrupt_copies(&bytes) {
        match Checkpoint::decode(&b, "copy") {
            Err(TrainError::Checkpoint { origin, why }) => {
                assert_eq!(origin, "copy");
                assert!(!why.is_empty());
            }
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn resume_skips_a_corrupt_newest_checkpoint_with_a_warning() {
    let config = with_checkpoints("skip_corrupt", 2, None);
    let dir = config.checkpoint.dir.clone().unwrap();
    digits_trainer(config.clone()).run(&mut []).unwrap();
    let found = checkpoint::list(&dir).unwrap();
    assert_eq!(found.len(), 2);
    let (newest, older) = (&found[0].1, &found[1].1);
    // A flipped byte in the newest, and a partial write (a temporary file) beside it.
    let mut bytes = std::fs::read(newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(newest, &bytes).unwrap();
    std::fs::write(
        dir.join(".checkpoint-000000000999.gwck.tmp1"),
        &bytes[..100],
    )
    .unwrap();

    let mut t = digits_trainer(config);
    let outcome = t.resume().unwrap();
    assert_eq!(outcome.loaded.as_ref(), Some(older));
    assert_eq!(outcome.skipped.len(), 1);
    assert_eq!(&outcome.skipped[0].0, newest);
    assert!(
        outcome.skipped[0].1.contains("checksum"),
        "{}",
        outcome.skipped[0].1
    );
    assert_eq!(t.epoch(), 1);

    // With every checkpoint corrupt, the run starts afresh.
    let mut b = std::fs::read(older).unwrap();
    b.truncate(b.len() - 3);
    std::fs::write(older, &b).unwrap();
    let mut fresh = digits_trainer(with_checkpoints("skip_corrupt_fresh", 2, None));
    let mut c = fresh.config().clone();
    c.checkpoint.dir = Some(dir);
    fresh = digits_trainer(c);
    let outcome = fresh.resume().unwrap();
    assert_eq!(
        (outcome.loaded, outcome.skipped.len(), fresh.step()),
        (None, 2, 0)
    );
}

#[test]
fn a_checkpoint_of_another_run_is_refused() {
    let config = with_checkpoints("other_run", 1, None);
    digits_trainer(config.clone()).run(&mut []).unwrap();
    // Another batch size: the same data and model, but not the same run.
    let mut other = config.clone();
    other.batch_size = 16;
    let err = digits_trainer(other).resume().unwrap_err();
    assert!(err.to_string().contains("`batch_size`"), "{err}");
    // Another model.
    let split = crate::digits_split();
    let mut t = Trainer::new(
        config,
        crate::seed_model(64, 99),
        split.train,
        Some(split.test),
    )
    .unwrap();
    assert!(
        t.resume().is_ok(),
        "the same architecture with other initial weights resumes"
    );
    let net = gradwell_nn::Network::build(
        &gradwell_nn::MlpSpec::new(&[64, 32, 10], "relu".parse().unwrap())
            .to_spec()
            .unwrap(),
        0,
    )
    .unwrap();
    let split = crate::digits_split();
    let mut t = Trainer::new(
        with_checkpoints("other_run_model", 1, None),
        net,
        split.train,
        Some(split.test),
    )
    .unwrap();
    let src = crate::digits_trainer(with_checkpoints("other_run_model_src", 1, None));
    let ck = src.checkpoint().unwrap();
    let err = t.restore(ck, "src").unwrap_err();
    assert!(err.to_string().contains("another model"), "{err}");
}

#[test]
fn the_report_serializes_to_json_and_back() {
    let mut t = digits_trainer(digits_config(1));
    let report = t.run(&mut []).unwrap();
    let json = report.to_json();
    let back: gradwell_train::TrainReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    assert!(json.contains("\"samples_per_second\""));
}
