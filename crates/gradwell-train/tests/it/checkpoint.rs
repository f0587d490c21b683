//! Checkpoints: exact resume in one process, corruption detected, old files pruned,
//! another run's checkpoint refused.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use gradwell_optim::{AdamConfig, OptimizerKind};
use gradwell_train::checkpoint::{self, Checkpoint, HEADER_LEN};
use gradwell_train::fuzzing::{check_checkpoint_bytes, sealed};
use gradwell_train::{Observer, StepView, TrainConfig, TrainError, Trainer};

use crate::corpus::{len_at, rewrite_meta, set_optimizer_value};
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

/// A schedule that spans the run (`cosine` advanced per step, its length left to the run)
/// resumes mid-epoch bit for bit; resumed with another number of epochs it would follow
/// another curve, so that is refused naming the schedule, while a schedule whose length is
/// given may be extended.
#[test]
fn a_schedule_over_the_run_resumes_exactly_and_refuses_other_epochs() {
    let over_run = |test: &str, epochs: u64| {
        let mut c = with_checkpoints(test, epochs, Some(7));
        c.schedule = "cosine:per=step".parse().unwrap();
        c
    };
    let mut straight_config = over_run("over_run_straight", 2);
    straight_config.checkpoint = Default::default();
    let mut straight = digits_trainer(straight_config);
    straight.run(&mut []).unwrap();

    let config = over_run("over_run", 2);
    let mut first = digits_trainer(config.clone());
    first.run(&mut [&mut StopAt(60)]).unwrap();
    let mut second = digits_trainer(config.clone());
    assert!(second.resume().unwrap().loaded.is_some());
    second.run(&mut []).unwrap();
    assert_eq!(weights(&second), weights(&straight));

    let mut longer = config.clone();
    longer.epochs = 3;
    let e = digits_trainer(longer).resume().unwrap_err().to_string();
    assert!(
        e.contains("cosine:per=step") && e.contains("spans the run") && e.contains("t_max"),
        "{e}"
    );
    let mut fixed = over_run("over_run_fixed", 2);
    fixed.schedule = "cosine:t_max=90,per=step".parse().unwrap();
    digits_trainer(fixed.clone()).run(&mut []).unwrap();
    fixed.epochs = 3;
    assert!(digits_trainer(fixed).resume().unwrap().loaded.is_some());
}

/// `config` with a step budget of `steps`.
fn with_budget(mut config: TrainConfig, steps: u64) -> TrainConfig {
    config.steps = Some(steps);
    config
}

/// A step budget stops the run after exactly that many steps, in the middle of an epoch
/// (45 batches an epoch here: 100 steps end 10 steps into the third), without recording
/// that epoch as finished; the final evaluation runs.
#[test]
fn a_step_budget_stops_the_run_in_the_middle_of_an_epoch() {
    let mut budget = digits_trainer(with_budget(digits_config(4), 100));
    assert_eq!(budget.total_steps(), 100);
    let report = budget.run(&mut []).unwrap();
    assert_eq!((report.steps, budget.step()), (100, 100));
    assert_eq!(report.epochs.len(), 2);
    assert_eq!(budget.epoch(), 2);
    assert!(budget.is_finished());
    assert!(report.stopped.is_none());
    assert!(report.test.is_some());
    // The weights of 100 updates: those of an unbudgeted run stopped before its 101st.
    let mut stopped = digits_trainer(digits_config(4));
    stopped.run(&mut [&mut StopAt(101)]).unwrap();
    assert_eq!(weights(&budget), weights(&stopped));
    assert_eq!(report.test, Some(stopped.evaluate(&split_test()).unwrap()));

    // Epochs first: a budget beyond 2 epochs of 45 steps does not bind.
    let mut epochs_first = digits_trainer(with_budget(digits_config(2), 1000));
    assert_eq!(epochs_first.total_steps(), 90);
    let report = epochs_first.run(&mut []).unwrap();
    assert_eq!(report.steps, 90);
    assert_eq!(report.epochs.len(), 2);
}

/// The scaled test set of the digits trainers.
fn split_test() -> gradwell_data::Dataset {
    digits_trainer(digits_config(1)).test_set().unwrap().clone()
}

/// A budget spent on an epoch's last batch ends that epoch as a finished one: the run is
/// the run of that many epochs, metrics included.
#[test]
fn a_step_budget_at_an_epoch_end_finishes_that_epoch() {
    let (reference, ref_report) = uninterrupted(2);
    let mut t = digits_trainer(with_budget(digits_config(4), 90));
    let report = t.run(&mut []).unwrap();
    assert_eq!(weights(&t), reference);
    assert_eq!(report.epochs.len(), 2);
    for (a, b) in report.epochs.iter().zip(&ref_report.epochs) {
        assert_eq!(
            (a.steps, a.train_loss, a.test),
            (b.steps, b.train_loss, b.test)
        );
    }
    assert_eq!(report.test, ref_report.test);
    assert!(t.is_finished());
}

/// A run with a step budget (and a schedule over the run, which spans the budget), killed
/// and resumed, ends bit-identical to the uninterrupted one; the checkpoint written where
/// the budget ran out continues exactly under a larger budget, which the schedule may not
/// span; resumed with the same budget it is finished (no step is taken), and a smaller
/// budget than its step is refused.
#[test]
fn a_run_with_a_step_budget_resumes_bit_identical() {
    let over_budget = |test: &str, steps: u64| {
        let mut c = with_budget(with_checkpoints(test, 4, Some(7)), steps);
        c.schedule = "cosine:per=step".parse().unwrap();
        c
    };
    let mut straight_config = over_budget("budget_straight", 100);
    straight_config.checkpoint = Default::default();
    let mut straight = digits_trainer(straight_config.clone());
    let straight_report = straight.run(&mut []).unwrap();
    // The cosine spans the 100 steps of the budget, not the 180 of 4 epochs.
    let mut spelled = straight_config.clone();
    spelled.steps = None;
    spelled.schedule = "cosine:t_max=100,per=step".parse().unwrap();
    let mut spelled = digits_trainer(spelled);
    spelled.run(&mut [&mut StopAt(101)]).unwrap();
    assert_eq!(weights(&straight), weights(&spelled));

    let config = over_budget("budget", 100);
    let mut first = digits_trainer(config.clone());
    first.run(&mut [&mut StopAt(60)]).unwrap();
    let mut second = digits_trainer(config.clone());
    assert!(
        second
            .resume()
            .unwrap()
            .loaded
            .unwrap()
            .ends_with(checkpoint::file_name(56))
    );
    let report = second.run(&mut []).unwrap();
    assert_eq!(weights(&second), weights(&straight));
    assert_eq!(report.steps, 100);
    assert_eq!(report.test, straight_report.test);
    // The budget's end was saved (100 is not a multiple of 7).
    let newest = checkpoint::list(config.checkpoint.dir.as_ref().unwrap()).unwrap();
    assert_eq!(newest[0].0, 100);

    // Resumed with the same budget: finished, nothing trained.
    let mut again = digits_trainer(config.clone());
    assert!(again.resume().unwrap().loaded.is_some());
    assert!(again.is_finished());
    let report = again.run(&mut []).unwrap();
    assert_eq!((report.steps, report.samples), (100, 0));
    assert_eq!(weights(&again), weights(&straight));

    // A smaller budget than the checkpoint's step is refused, saying what to do.
    let err = digits_trainer(with_budget(config.clone(), 80))
        .resume()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("at step 100") && err.contains("step 80") && err.contains("raise `steps`"),
        "{err}"
    );
    // The schedule spans the budget: another budget would bend its curve.
    let err = digits_trainer(with_budget(config, 150))
        .resume()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("spans the run") && err.contains("had 100 steps and now has 150"),
        "{err}"
    );

    // With a constant rate, the budget's end continues under a larger budget exactly.
    let constant = |test: &str, steps: u64| with_budget(with_checkpoints(test, 4, Some(7)), steps);
    let mut long = constant("budget_long", 150);
    long.checkpoint = Default::default();
    let mut long = digits_trainer(long);
    long.run(&mut []).unwrap();
    let short_config = constant("budget_extend", 100);
    let mut short = digits_trainer(short_config.clone());
    short.run(&mut []).unwrap();
    drop(short);
    let mut extended = digits_trainer(with_budget(short_config, 150));
    assert!(
        extended
            .resume()
            .unwrap()
            .loaded
            .unwrap()
            .ends_with(checkpoint::file_name(100))
    );
    assert!(!extended.is_finished());
    extended.run(&mut []).unwrap();
    assert_eq!(weights(&extended), weights(&long));
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

    let mut t = digits_trainer(config.clone());
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

    // With every checkpoint corrupt, resuming is an error that lists each file and why,
    // and leaves every file as it was.
    let mut b = std::fs::read(older).unwrap();
    b.truncate(b.len() - 3);
    std::fs::write(older, &b).unwrap();
    let before = dir_contents(&dir);
    let mut again = digits_trainer(config);
    let err = again.resume().unwrap_err();
    let TrainError::NoValidCheckpoint { refused, .. } = &err else {
        panic!("{err:?}");
    };
    let refused: Vec<&PathBuf> = refused.iter().map(|r| &r.0).collect();
    assert_eq!(refused, [newest, older]);
    let message = err.to_string();
    for needle in [
        &newest.display().to_string(),
        "checksum mismatch",
        &older.display().to_string(),
        "truncated",
        "every file is left in place",
    ] {
        assert!(
            message.contains(needle),
            "`{needle}` missing from {message}"
        );
    }
    assert_eq!(again.step(), 0);
    assert_eq!(dir_contents(&dir), before, "resuming changed the directory");
}

/// Every file of `dir` with its bytes, sorted by name.
fn dir_contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn resume_with_no_checkpoint_file_starts_afresh() {
    // A missing directory, and one holding only a temporary file of an interrupted write.
    let config = with_checkpoints("no_checkpoint", 1, None);
    let dir = config.checkpoint.dir.clone().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let mut t = digits_trainer(config.clone());
    assert_eq!(t.resume().unwrap(), Default::default());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".checkpoint-000000000005.gwck.tmp1"), b"partial").unwrap();
    let mut t = digits_trainer(config);
    assert_eq!(t.resume().unwrap(), Default::default());
    assert_eq!(t.step(), 0);
}

/// Stops a run once it has written a checkpoint at or after a step.
fn run_until(config: TrainConfig, stop: u64) {
    digits_trainer(config)
        .run(&mut [&mut StopAt(stop)])
        .unwrap();
}

/// Flips one byte in the middle of a file.
fn flip_a_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// The reproduction: train with a checkpoint every 5 steps, flip one byte in each
/// file, train again in the same directory. The corrupt files used to push out every new
/// valid checkpoint (they had the higher steps), leaving only corrupt files.
#[test]
fn corrupt_checkpoints_never_push_out_valid_ones() {
    let config = with_checkpoints("corrupt_pruning", 2, Some(5));
    let dir = config.checkpoint.dir.clone().unwrap();
    digits_trainer(config.clone()).run(&mut []).unwrap();
    let corrupt: Vec<PathBuf> = checkpoint::list(&dir)
        .unwrap()
        .into_iter()
        .map(|c| c.1)
        .collect();
    assert_eq!(corrupt.len(), 3);
    for path in &corrupt {
        flip_a_byte(path);
    }
    let corrupt_bytes: Vec<Vec<u8>> = corrupt.iter().map(|p| std::fs::read(p).unwrap()).collect();

    // A new run in the same directory, stopped at step 23: checkpoints at 5, 10, 15, 20.
    run_until(config.clone(), 23);
    let steps: Vec<(u64, bool)> = checkpoint::list(&dir)
        .unwrap()
        .iter()
        .map(|(step, path)| (*step, checkpoint::read(path).is_ok()))
        .collect();
    // The three newest valid ones are kept; the corrupt ones are left alone, not counted.
    assert_eq!(
        steps,
        [
            (90, false),
            (85, false),
            (80, false),
            (20, true),
            (15, true),
            (10, true)
        ]
    );
    for (path, bytes) in corrupt.iter().zip(&corrupt_bytes) {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    // And resuming skips the corrupt ones for the newest valid one.
    let mut t = digits_trainer(config);
    let outcome = t.resume().unwrap();
    assert_eq!(outcome.skipped.len(), 3);
    assert!(outcome.loaded.unwrap().ends_with(checkpoint::file_name(20)));
}

#[test]
fn the_checkpoint_just_written_is_kept_whatever_its_step() {
    // Valid checkpoints of a longer run, with higher steps, are already in the directory.
    let config = with_checkpoints("keep_written", 2, Some(5));
    let dir = config.checkpoint.dir.clone().unwrap();
    let mut one = config.clone();
    one.checkpoint.keep = 1;
    digits_trainer(one.clone()).run(&mut []).unwrap();
    let listed =
        |dir: &Path| -> Vec<u64> { checkpoint::list(dir).unwrap().iter().map(|c| c.0).collect() };
    assert_eq!(listed(&dir), [90]);
    run_until(one, 12);
    // The newest valid checkpoint (90) and the one just written (10) are both kept.
    assert_eq!(listed(&dir), [90, 10]);
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

/// A checkpoint of the digits run stopped mid-epoch at step 20 (SGD with momentum), and
/// one at the end of its second epoch with AMSGrad, as file bytes.
fn crafting_bases() -> (Vec<u8>, Vec<u8>) {
    let mut sgd = digits_trainer(digits_config(1));
    sgd.run(&mut [&mut StopAt(20)]).unwrap();
    let mut adam = digits_config(2);
    adam.optimizer = OptimizerKind::Adam(AdamConfig::default().amsgrad(true));
    let mut adam = digits_trainer(adam);
    adam.run(&mut []).unwrap();
    (
        sgd.checkpoint().unwrap().encode(),
        adam.checkpoint().unwrap().encode(),
    )
}

/// Writes `bytes` as the only checkpoint of a fresh directory and resumes from it with
/// `config` (its directory replaced).
fn resume_from(test: &str, mut config: TrainConfig, bytes: &[u8]) -> gradwell_train::Result<()> {
    let dir = scratch_dir(test);
    std::fs::write(dir.join(checkpoint::file_name(20)), bytes).unwrap();
    config.checkpoint.dir = Some(dir);
    digits_trainer(config).resume().map(|_| ())
}

/// Checkpoints with a valid checksum but a field no run can be in: each is refused when
/// decoded and when resumed from, with an error naming the file and the field, before
/// anything is allocated from it (a batcher of 10^15 samples used to allocate 8 PB) and
/// without a panic in the fuzz check.
#[test]
fn sealed_checkpoints_with_impossible_fields_are_refused_naming_the_field() {
    use serde_json::{Value, json};
    let (sgd, adam) = crafting_bases();
    let meta = |edit: fn(&mut Value)| rewrite_meta(&sgd, edit);
    let adam_meta = |edit: fn(&mut Value)| rewrite_meta(&adam, edit);
    let weights_at = HEADER_LEN + len_at(&sgd, 12);
    let header = u64::from_le_bytes(sgd[weights_at..weights_at + 8].try_into().unwrap());
    let mut nan_weight = sgd.clone();
    let first = weights_at + 8 + header as usize;
    nan_weight[first..first + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let adam_len = 64 * 128; // `0.weight`, the first parameter
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "huge batcher",
            meta(|m| m["batcher"]["len"] = json!(1_000_000_000_000_000u64)),
            "`batcher.len` is 1000000000000000 but `data.train` is 1438",
        ),
        (
            "position",
            meta(|m| m["batcher"]["position"] = json!(1_000_000_000_000_000u64)),
            "`batcher.position` 1000000000000000 is past the epoch's end 1438",
        ),
        (
            "epoch",
            meta(|m| m["batcher"]["epoch"] = json!(1_000_000_000_000_000_000u64)),
            "`batcher.epoch` is 1000000000000000000 but `history` holds 0 finished epochs",
        ),
        (
            "batch size",
            meta(|m| m["batcher"]["batch_size"] = json!(1)),
            "`batcher.batch_size` is 1 but `config.batch_size` is 32",
        ),
        (
            "shuffle",
            meta(|m| m["batcher"]["shuffle"] = json!(false)),
            "`batcher.shuffle` is false",
        ),
        (
            "step past the budget",
            meta(|m| m["config"]["steps"] = json!(10)),
            "`step` 20 is past the run's step budget `config.steps` 10",
        ),
        (
            "step",
            meta(|m| m["step"] = json!(u64::MAX)),
            "`step` 18446744073709551615 is more than the batches handed out",
        ),
        (
            "samples",
            meta(|m| m["running"]["samples"] = json!(u64::MAX)),
            "`running.samples` 18446744073709551615 is more than the 640 samples",
        ),
        (
            "correct",
            meta(|m| m["running"]["correct"] = json!(641)),
            "`running.correct` 641 is more than `running.scored` 640",
        ),
        (
            "correct, in a checkpoint that predates `scored`",
            meta(|m| {
                m["running"]["correct"] = json!(641);
                m["running"].as_object_mut().unwrap().remove("scored");
            }),
            "`running.correct` 641 is more than `running.samples` 640",
        ),
        (
            "loss",
            meta(|m| m["running"]["loss_sum"] = json!(-1.0)),
            "`running.loss_sum` -1 is not a finite sum of losses",
        ),
        (
            "optimizer steps",
            meta(|m| m["optimizer"]["steps"] = json!(21)),
            "`optimizer.steps` 21 is more than `step` 20",
        ),
        (
            "parameter steps",
            meta(|m| m["optimizer"]["params"][0]["step"] = json!(u64::MAX)),
            "parameter `0.weight` has taken 18446744073709551615 steps, more than the optimizer's 19",
        ),
        (
            "schedule steps",
            meta(|m| m["schedule"]["steps"] = json!(u64::MAX)),
            "`schedule.steps` 18446744073709551615 is more than the 0 epochs taken",
        ),
        (
            "nan init",
            meta(|m| m["model"]["layers"][0]["init"] = json!("constant:nan")),
            "`model.layers[0]` does not survive re-encoding",
        ),
        (
            "history epoch",
            adam_meta(|m| m["history"][1]["epoch"] = json!(7)),
            "`history[1].epoch` is 7",
        ),
        (
            "history steps",
            adam_meta(|m| m["history"][0]["steps"] = json!(1_000_000)),
            "`history[0].steps` 1000000 is not between",
        ),
        (
            "buffers out of order",
            adam_meta(|m| {
                m["optimizer"]["params"][0]["buffers"] =
                    json!(["exp_avg", "max_exp_avg_sq", "exp_avg_sq"])
            }),
            "this format lists them in name order",
        ),
        (
            "buffer length",
            meta(|m| m["optimizer"]["params"][0]["len"] = json!(1_000_000_000_000_000u64)),
            "optimizer buffers: the metadata describes",
        ),
        (
            "nan weight",
            sealed(&nan_weight),
            "weights: `0.bias` holds NaN at element 0, which is not finite",
        ),
        (
            "infinite momentum",
            set_optimizer_value(&sgd, 3, f32::INFINITY),
            "parameter `0.weight`: buffer `momentum_buffer` holds inf at element 3, which is not finite",
        ),
        (
            "negative second moment",
            set_optimizer_value(&adam, adam_len + 5, -0.5),
            "buffer `exp_avg_sq` holds -0.5 at element 5, but it accumulates squares",
        ),
        (
            "nan maximum",
            set_optimizer_value(&adam, 2 * adam_len + 7, f32::NAN),
            "buffer `max_exp_avg_sq` holds NaN at element 7, which is not finite",
        ),
    ];
    for (what, bytes, needle) in &cases {
        check_checkpoint_bytes(bytes);
        match Checkpoint::decode(bytes, "crafted") {
            Err(TrainError::Checkpoint { origin, why }) => {
                assert_eq!(origin, "crafted");
                assert!(
                    why.contains(needle),
                    "{what}: `{needle}` missing from {why}"
                );
            }
            other => panic!("{what}: decoded: {other:?}"),
        }
        let test = format!("crafted_{}", what.replace(' ', "_"));
        let err = resume_from(&test, digits_config(2), bytes).unwrap_err();
        assert!(
            matches!(err, TrainError::NoValidCheckpoint { .. }),
            "{what}: {err}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&checkpoint::file_name(20)) && message.contains(needle),
            "{what}: {message}"
        );
    }
}

/// A consistent checkpoint of a run on 10^15 samples is compared with this run before
/// anything is allocated from it; so is a checkpoint built in memory and restored.
#[test]
fn a_checkpoint_is_compared_with_the_run_before_anything_is_allocated() {
    let (sgd, _) = crafting_bases();
    let huge = rewrite_meta(&sgd, |m| {
        m["batcher"]["len"] = 1_000_000_000_000_000u64.into();
        m["data"]["train"] = 1_000_000_000_000_000u64.into();
    });
    assert!(Checkpoint::decode(&huge, "huge").is_ok());
    let err = resume_from("huge_run", digits_config(2), &huge).unwrap_err();
    assert!(
        matches!(err, TrainError::CheckpointMismatch { .. }) && err.to_string().contains("data"),
        "{err}"
    );

    let mut source = digits_trainer(digits_config(1));
    source.run(&mut [&mut StopAt(20)]).unwrap();
    let mut target = digits_trainer(digits_config(1));
    let mut ck = source.checkpoint().unwrap();
    ck.meta.batcher.len = 1_000_000_000_000_000;
    let err = target.restore(ck, "in memory").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("in memory: not a valid checkpoint: metadata: `batcher.len`"),
        "{err}"
    );
    // Optimizer state of parameters this model does not have.
    let mut ck = source.checkpoint().unwrap();
    ck.optimizer.params[0].name = "9.weight".into();
    ck.meta.optimizer.params[0].name = "9.weight".into();
    let err = target.restore(ck, "in memory").unwrap_err();
    assert!(
        matches!(err, TrainError::CheckpointMismatch { .. })
            && err
                .to_string()
                .contains("`9.weight`, which is not a trainable parameter"),
        "{err}"
    );
    assert_eq!(target.step(), 0);
    target
        .restore(source.checkpoint().unwrap(), "in memory")
        .unwrap();
    assert_eq!(target.step(), 20);
}

/// A checkpoint that would not read back is an error, not a file: here a config whose
/// directory is not UTF-8 (which JSON cannot carry, so the metadata came out empty), and
/// which the config's validation now refuses too.
#[cfg(unix)]
#[test]
fn a_checkpoint_that_would_not_read_back_is_not_written() {
    use std::os::unix::ffi::OsStrExt;
    let dir = scratch_dir("unreadable");
    let mut source = digits_trainer(digits_config(1));
    source.run(&mut [&mut StopAt(3)]).unwrap();
    let mut ck = source.checkpoint().unwrap();
    let bad = PathBuf::from(std::ffi::OsStr::from_bytes(b"ck-\xff"));
    ck.meta.config.checkpoint.dir = Some(bad.clone());
    let err = checkpoint::write(&dir, &ck, 3).unwrap_err();
    assert!(
        matches!(err, TrainError::Checkpoint { .. }) && err.to_string().contains("metadata"),
        "{err}"
    );
    assert_eq!(checkpoint::list(&dir).unwrap(), []);
    let mut config = digits_config(1);
    config.checkpoint.dir = Some(bad);
    let err = config.validate().unwrap_err();
    assert!(
        err.to_string().contains("`checkpoint.dir`") && err.to_string().contains("UTF-8"),
        "{err}"
    );
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
