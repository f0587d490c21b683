//! The learning-rate range test ([`Trainer::lr_find`]) on the digits.

use gradwell_data::digits;
use gradwell_nn::{MlpSpec, Network};
use gradwell_optim::OptimizerKind;
use gradwell_train::{LrRangeTest, TrainConfig, Trainer};

use crate::{digits_config, digits_trainer, weights};

fn with_optimizer(optimizer: &str, seed: u64) -> TrainConfig {
    TrainConfig {
        optimizer: optimizer.parse::<OptimizerKind>().unwrap(),
        seed,
        ..digits_config(3)
    }
}

/// On the digits with Adam, a tenth of the minimum lay between 0.011 and 0.061 over the
/// shuffling seeds 0 to 7 (Adam's default is 1e-3; at 0.35, 3 epochs reached 0.42): the
/// bounds below leave a factor of 5 on either side of what was measured, and the
/// suggestion must train (3 epochs at it reached 0.92 to 0.97 over those seeds; chance
/// is 0.1).
#[test]
fn the_suggestion_on_the_digits_with_adam_is_a_rate_that_trains() {
    let mut t = digits_trainer(with_optimizer("adam", 0));
    let r = t.lr_find(&LrRangeTest::default()).unwrap();
    let lr = r.suggestion().expect("a suggestion").lr;
    assert!((2e-3..=0.3).contains(&lr), "suggested {lr}");
    assert!(
        r.points.len() <= 100 && r.points.len() >= 50,
        "{}",
        r.points.len()
    );
    let mut optimizer: OptimizerKind = "adam".parse().unwrap();
    optimizer.set("lr", lr).unwrap();
    let config = TrainConfig {
        optimizer,
        ..with_optimizer("adam", 0)
    };
    let accuracy = digits_trainer(config)
        .run(&mut [])
        .unwrap()
        .test
        .unwrap()
        .accuracy
        .expect("class labels have an accuracy");
    assert!(accuracy > 0.9, "3 epochs at {lr}: test accuracy {accuracy}");
}

#[test]
fn the_test_stops_when_the_smoothed_loss_passes_four_times_the_best() {
    let settings = LrRangeTest {
        start_lr: 1e-3,
        end_lr: 100.0,
        steps: 60,
        ..LrRangeTest::default()
    };
    let mut t = digits_trainer(with_optimizer("sgd:lr=0.1,momentum=0.9", 0));
    let r = t.lr_find(&settings).unwrap();
    let last = r.points.last().unwrap();
    assert!(r.points.len() < 60, "{} steps", r.points.len());
    let best = r
        .points
        .iter()
        .map(|p| p.smoothed)
        .fold(f64::INFINITY, f64::min);
    assert!(last.smoothed > 4.0 * best, "{last:?}, best {best}");
    // Every earlier step was within the bound.
    let mut best_so_far = f64::INFINITY;
    for p in &r.points[..r.points.len() - 1] {
        best_so_far = best_so_far.min(p.smoothed);
        assert!(p.smoothed <= 4.0 * best_so_far, "{p:?}");
    }
    let why = r.stopped.unwrap();
    assert!(why.contains("exceeds 4 × the best"), "{why}");
}

#[test]
fn a_non_finite_loss_stops_the_test_and_is_recorded() {
    // A deep linear network (identity activations) under plain SGD at rates up to 100:
    // the weights' product grows without bound until a value overflows. With the
    // divergence rule out of the way, only a non-finite value can stop the test.
    let mlp = MlpSpec::new(&[64, 64, 64, 64, 10], "identity".parse().unwrap());
    let net = Network::<f32>::build(&mlp.to_spec().unwrap(), 0).unwrap();
    let split = digits().unwrap().split(0.2, 42, true).unwrap();
    let config = with_optimizer("sgd:lr=0.1", 0);
    let mut t = Trainer::new(config, net, split.train, Some(split.test)).unwrap();
    let before = t.checkpoint().unwrap();
    let settings = LrRangeTest {
        start_lr: 1e-2,
        end_lr: 100.0,
        steps: 60,
        divergence: 1e300,
        ..LrRangeTest::default()
    };
    let r = t.lr_find(&settings).unwrap();
    assert!(r.points.len() < 60, "{} steps", r.points.len());
    // Measured: the loss goes NaN at step 31 (lr 1.08).
    let why = r.stopped.clone().unwrap();
    assert!(why.contains("the loss is not finite"), "{why}");
    let last = r.points.last().unwrap();
    assert_eq!(last.step as usize, r.points.len());
    assert!(last.loss.is_nan() && last.smoothed.is_nan(), "{last:?}");
    // The suggestions read finite points only, and the trainer is as it was.
    for s in [r.suggestion(), r.steepest.as_ref()].into_iter().flatten() {
        assert!(s.at.smoothed.is_finite());
    }
    assert_eq!(t.checkpoint().unwrap(), before);
}

/// A 64-32-10 ReLU MLP with batch norm and dropout: running statistics and a dropout RNG
/// for the test to disturb and put back.
fn disturbable_trainer(seed: u64) -> Trainer {
    let mut mlp = MlpSpec::new(&[64, 32, 10], "relu".parse().unwrap());
    mlp.batch_norm = true;
    mlp.dropout = 0.1;
    let net = Network::<f32>::build(&mlp.to_spec().unwrap(), seed).unwrap();
    let split = digits().unwrap().split(0.2, 42, true).unwrap();
    let config = TrainConfig {
        schedule: "step:1,0.5".parse().unwrap(),
        ..with_optimizer("adam", seed)
    };
    Trainer::new(config, net, split.train, Some(split.test)).unwrap()
}

#[test]
fn the_trainer_is_left_exactly_as_it_was_and_trains_as_if_no_test_had_run() {
    // In the middle of a run: an optimizer state, a schedule and a batcher part-way.
    let budget = TrainConfig {
        steps: Some(20),
        ..disturbable_trainer(3).config().clone()
    };
    let fresh = |config: TrainConfig| {
        let t = disturbable_trainer(3);
        let net = t.into_network();
        let split = digits().unwrap().split(0.2, 42, true).unwrap();
        Trainer::new(config, net, split.train, Some(split.test)).unwrap()
    };
    let mut tested = fresh(budget.clone());
    let mut untouched = fresh(budget);
    tested.run(&mut []).unwrap();
    untouched.run(&mut []).unwrap();
    let before = tested.checkpoint().unwrap();
    assert!(!before.optimizer.params.is_empty());
    let r = tested.lr_find(&LrRangeTest::default()).unwrap();
    assert!(r.points.len() > 10);
    assert_eq!(tested.checkpoint().unwrap(), before);
    assert_eq!(weights(&tested), weights(&untouched));

    // The rest of the run is the run without the test, bit for bit.
    let rest = |t: Trainer| {
        let config = TrainConfig {
            steps: None,
            ..t.config().clone()
        };
        let ck = t.checkpoint().unwrap();
        let mut next = fresh(config);
        next.restore(ck, "test").unwrap();
        let report = next.run(&mut []).unwrap();
        let losses: Vec<f64> = report.epochs.iter().map(|e| e.train_loss).collect();
        (weights(&next), losses, report.test.unwrap())
    };
    assert_eq!(rest(tested), rest(untouched));
}

#[test]
fn a_run_after_the_test_equals_a_run_without_it() {
    let mut tested = digits_trainer(with_optimizer("sgd:lr=0.05,momentum=0.9", 1));
    let mut untouched = digits_trainer(with_optimizer("sgd:lr=0.05,momentum=0.9", 1));
    tested.lr_find(&LrRangeTest::default()).unwrap();
    let (a, b) = (
        tested.run(&mut []).unwrap(),
        untouched.run(&mut []).unwrap(),
    );
    assert_eq!(weights(&tested), weights(&untouched));
    let losses = |r: &gradwell_train::TrainReport| -> Vec<f64> {
        r.epochs.iter().map(|e| e.train_loss).collect()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(a.test, b.test);
}

#[test]
fn bad_settings_are_refused_before_anything_runs() {
    let mut t = digits_trainer(digits_config(1));
    let before = t.checkpoint().unwrap();
    let e = t
        .lr_find(&LrRangeTest {
            start_lr: 1.0,
            end_lr: 0.1,
            ..LrRangeTest::default()
        })
        .unwrap_err();
    assert!(e.to_string().contains("`start_lr`"), "{e}");
    assert_eq!(t.checkpoint().unwrap(), before);
}
