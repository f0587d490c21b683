//! The observer hook: what it sees, when, and how it stops a run; non-finite losses.

use std::ops::ControlFlow;

use gradwell_nn::{MlpSpec, Network};
use gradwell_optim::{GradClip, NormType};
use gradwell_train::{
    EpochMetrics, EvalContext, EvalMetrics, Observer, StepView, TrainError, Trainer,
};

use crate::{digits_config, digits_trainer};

#[derive(Default)]
struct Recorder {
    steps: Vec<u64>,
    norms: Vec<f64>,
    taps_seen: Vec<(u64, Vec<String>)>,
    applied_norms: Vec<f64>,
    moved: Vec<bool>,
    before: Vec<f32>,
    epochs: Vec<u64>,
}

fn grad_norm(step: &StepView<'_>) -> f64 {
    let store = step.network.tape.params();
    store
        .ids()
        .filter(|&id| store.is_trainable(id))
        .flat_map(|id| {
            store
                .grad(id)
                .iter()
                .map(|&g| (g as f64) * (g as f64))
                .collect::<Vec<_>>()
        })
        .sum::<f64>()
        .sqrt()
}

fn first_weight(step: &StepView<'_>) -> Vec<f32> {
    let id = step.network.param("0.weight").unwrap();
    step.network
        .tape
        .params()
        .value(id)
        .iter()
        .copied()
        .collect()
}

impl Observer for Recorder {
    fn wants_taps(&mut self, step: u64) -> bool {
        step.is_multiple_of(10)
    }

    fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
        self.steps.push(step.step);
        self.norms.push(step.grad_norm);
        assert!((grad_norm(step) - step.grad_norm).abs() <= 1e-9 * step.grad_norm.max(1.0));
        if !step.taps.is_empty() {
            let paths = step.taps.iter().map(|t| t.path.clone()).collect();
            // The tapped outputs are this step's values on the tape.
            let out = step.tape().value(step.taps[2].output);
            assert_eq!(out.shape(), step.tape().value(step.logits).shape());
            self.taps_seen.push((step.step, paths));
        }
        self.before = first_weight(step);
        ControlFlow::Continue(())
    }

    fn after_update(&mut self, step: &StepView<'_>) {
        self.applied_norms.push(grad_norm(step));
        self.moved.push(first_weight(step) != self.before);
    }

    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> ControlFlow<String> {
        self.epochs.push(metrics.epoch);
        ControlFlow::Continue(())
    }
}

#[test]
fn an_observer_sees_every_step_taps_when_asked_and_clipped_updates() {
    let mut config = digits_config(2);
    config.clip = Some(GradClip::norm(0.5, NormType::L2).unwrap());
    let mut t = digits_trainer(config);
    let mut rec = Recorder::default();
    let report = t.run(&mut [&mut rec]).unwrap();
    let n = report.steps as usize;
    assert_eq!(rec.steps, (1..=report.steps).collect::<Vec<_>>());
    assert_eq!(rec.epochs, [0, 1]);
    assert!(rec.norms.iter().all(|g| g.is_finite() && *g > 0.0));
    // Taps on every tenth step only, one per top-level layer.
    assert_eq!(rec.taps_seen.len(), n / 10);
    assert!(
        rec.taps_seen
            .iter()
            .all(|(s, p)| s.is_multiple_of(10) && p == &["0", "1", "2"])
    );
    // After the update the gradients are the clipped ones: at most 0.5 in norm, and
    // exactly the raw ones when those were under the limit.
    for (raw, applied) in rec.norms.iter().zip(&rec.applied_norms) {
        if *raw > 0.5 {
            assert!((applied - 0.5).abs() < 1e-4, "raw {raw}, applied {applied}");
        } else {
            assert!((applied - raw).abs() < 1e-12);
        }
    }
    assert!(
        rec.norms.iter().any(|&g| g > 0.5),
        "the clipping was never exercised"
    );
    assert!(rec.moved.iter().all(|&m| m));
}

#[test]
fn an_observer_can_stop_the_run_before_the_update() {
    struct Stop;
    impl Observer for Stop {
        fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
            if step.step == 3 {
                ControlFlow::Break("enough".into())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    let mut t = digits_trainer(digits_config(2));
    let report = t.run(&mut [&mut Stop]).unwrap();
    assert_eq!(report.stopped.as_deref(), Some("enough"));
    assert!(report.epochs.is_empty());
    assert_eq!(report.samples, 2 * 32);
}

#[test]
fn a_non_finite_loss_stops_the_run_naming_the_step() {
    let mut t = digits_trainer(digits_config(1));
    let net = t.network_mut();
    let id = net.param("2.bias").unwrap();
    net.tape.params_mut().value_mut(id).fill(f32::NAN);
    let err = t.run(&mut []).unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::NonFiniteLoss {
                step: 1,
                epoch: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "step 1 (epoch 1): the loss is not finite (NaN)"
    );
}

/// Keeps what `on_non_finite` saw: the step, the tapped layers' paths and whether each
/// tapped output is finite. Never asks for taps.
#[derive(Default)]
struct NonFiniteSeen {
    steps: Vec<u64>,
    seen: Vec<(u64, Vec<String>, Vec<bool>)>,
}

impl Observer for NonFiniteSeen {
    fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
        assert!(step.taps.is_empty(), "taps given unasked at {}", step.step);
        self.steps.push(step.step);
        ControlFlow::Continue(())
    }

    fn on_non_finite(&mut self, step: &StepView<'_>) {
        assert!(step.grad_norm.is_nan());
        let paths = step.taps.iter().map(|t| t.path.clone()).collect();
        // The taps are handles on this step's tape: reading them does not panic.
        let finite = step
            .taps
            .iter()
            .map(|t| step.tape().value(t.output).iter().all(|x| x.is_finite()))
            .collect();
        self.seen.push((step.step, paths, finite));
    }
}

/// Every first-layer weight 3e38: the inputs are pixels scaled to [0, 1], so a sample
/// whose pixels sum past 1.14 overflows to +inf in layer 0's product (no NaN: every term
/// is >= 0).
fn overflow_first_layer(t: &mut gradwell_train::Trainer) {
    let net = t.network_mut();
    let id = net.param("0.weight").unwrap();
    net.tape.params_mut().value_mut(id).fill(3e38);
}

#[test]
fn a_non_finite_value_at_step_1_is_shown_with_the_layers() {
    let mut t = digits_trainer(digits_config(1));
    overflow_first_layer(&mut t);
    let mut seen = NonFiniteSeen::default();
    let err = t.run(&mut [&mut seen]).unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::NonFiniteLoss { step: 1, .. }
                | TrainError::NonFiniteGradient { step: 1, .. }
        ),
        "{err}"
    );
    assert!(seen.steps.is_empty(), "no update was observed");
    assert_eq!(seen.seen.len(), 1);
    let (step, paths, finite) = &seen.seen[0];
    assert_eq!(*step, 1);
    assert_eq!(paths, &["0", "1", "2"]);
    assert!(!finite[0], "layer 0's output holds the overflow");
}

#[test]
fn the_first_step_after_a_resume_is_shown_with_the_layers() {
    let dir = crate::scratch_dir("non-finite-after-resume");
    let mut config = digits_config(1);
    config.checkpoint.dir = Some(dir);
    let mut first = digits_trainer(config.clone());
    let steps = first.run(&mut []).unwrap().steps;
    drop(first);
    config.epochs = 2;
    let mut resumed = digits_trainer(config);
    assert!(resumed.resume().unwrap().loaded.is_some());
    assert_eq!(resumed.step(), steps);
    overflow_first_layer(&mut resumed);
    let mut seen = NonFiniteSeen::default();
    assert!(resumed.run(&mut [&mut seen]).is_err());
    assert!(seen.steps.is_empty());
    let (step, paths, finite) = &seen.seen[0];
    assert_eq!(*step, steps + 1);
    assert_eq!(paths, &["0", "1", "2"]);
    assert!(!finite[0]);
}

#[test]
fn unasked_taps_are_not_shown_to_on_step() {
    // The first step records taps for `on_non_finite` but `on_step` only gets them when
    // asked (NonFiniteSeen asserts it at every step).
    let mut seen = NonFiniteSeen::default();
    let report = digits_trainer(digits_config(1))
        .run(&mut [&mut seen])
        .unwrap();
    assert_eq!(seen.steps.len() as u64, report.steps);
    assert!(seen.seen.is_empty());
}

/// Evaluates the validation and test sets, and the training set, every `every` steps.
struct MidRunEval {
    every: u64,
    rows: Vec<(u64, Option<EvalMetrics>, Option<EvalMetrics>)>,
    train: Vec<EvalMetrics>,
}

impl Observer for MidRunEval {
    fn on_step_end(&mut self, eval: &mut EvalContext<'_>) -> ControlFlow<String> {
        if eval.step().is_multiple_of(self.every) {
            let test = eval.evaluate_test().unwrap();
            let validation = eval.evaluate_validation().unwrap();
            self.rows.push((eval.step(), test, validation));
        }
        if eval.step() == 5 {
            // Any data set, here a copy of the validation part, which `evaluate` takes
            // whatever its origin.
            let ds = eval.validation_set().unwrap().clone();
            self.train.push(eval.evaluate(&ds).unwrap());
            assert_eq!(Some(self.train[0]), eval.evaluate_validation().unwrap());
        }
        ControlFlow::Continue(())
    }
}

/// A network with dropout (an RNG stream) and batch norm (running statistics) trained
/// with a validation part.
fn stochastic_trainer(steps: Option<u64>) -> Trainer {
    let split = crate::digits_split();
    let mut mlp = MlpSpec::new(&[64, 32, 32, 10], "relu".parse().unwrap());
    mlp.batch_norm = true;
    mlp.dropout = 0.2;
    let net = Network::build(&mlp.to_spec().unwrap(), 3).unwrap();
    let mut config = digits_config(2);
    config.validation_fraction = 0.1;
    config.eval_batch_size = 37;
    config.steps = steps;
    Trainer::new(config, net, split.train, Some(split.test)).unwrap()
}

/// Evaluations in the middle of a run (in evaluation mode, through the observer's
/// context) leave the run as it was, bit for bit: the RNG of dropout, batch norm's running
/// statistics (saved with the weights), the tape, the metrics of every epoch. An
/// evaluation after step k is the evaluation of the network after k steps.
#[test]
fn evaluations_in_the_middle_of_a_run_do_not_change_it() {
    let mut plain = stochastic_trainer(None);
    let plain_report = plain.run(&mut []).unwrap();
    let mut evaluated = stochastic_trainer(None);
    let mut eval = MidRunEval {
        every: 3,
        rows: Vec::new(),
        train: Vec::new(),
    };
    let report = evaluated.run(&mut [&mut eval]).unwrap();
    assert!(
        crate::weights(&evaluated) == crate::weights(&plain),
        "the weights differ with evaluations in the middle of the run"
    );
    assert_eq!(report.steps, plain_report.steps);
    for (a, b) in report.epochs.iter().zip(&plain_report.epochs) {
        assert_eq!(
            (a.train_loss, a.train_accuracy, a.validation, a.test),
            (b.train_loss, b.train_accuracy, b.validation, b.test)
        );
    }
    assert_eq!(report.test, plain_report.test);
    assert_eq!(report.validation, plain_report.validation);
    assert_eq!(eval.rows.len() as u64, report.steps / 3);
    assert_eq!(eval.train.len(), 1);
    let (tests, validations) = (
        evaluated.test_set().unwrap().len(),
        evaluated.validation_set().unwrap().len(),
    );
    assert!(eval.rows.iter().all(|(_, t, v)| {
        t.is_some_and(|t| t.samples == tests) && v.is_some_and(|v| v.samples == validations)
    }));

    // The evaluation after step 12 is that of the network trained for 12 steps.
    let mut ten = stochastic_trainer(Some(12));
    let ten_report = ten.run(&mut []).unwrap();
    let (step, test, validation) = eval.rows[3];
    assert_eq!(step, 12);
    assert_eq!(test, ten_report.test);
    assert_eq!(validation, ten_report.validation);
    // The model learns between evaluations (they are not all one figure).
    assert_ne!(eval.rows[0].1, eval.rows.last().unwrap().1);
}

/// `on_step_end` may stop the run after a step's update; the report says why.
#[test]
fn an_observer_can_stop_the_run_after_a_step() {
    struct StopAfter(u64);
    impl Observer for StopAfter {
        fn on_step_end(&mut self, eval: &mut EvalContext<'_>) -> ControlFlow<String> {
            if eval.step() == self.0 {
                ControlFlow::Break(format!("enough after {}", self.0))
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    let mut t = digits_trainer(digits_config(2));
    let report = t.run(&mut [&mut StopAfter(7)]).unwrap();
    assert_eq!(report.stopped.as_deref(), Some("enough after 7"));
    assert_eq!(report.steps, 7);
    let mut budget = digits_config(2);
    budget.steps = Some(7);
    let mut reference = digits_trainer(budget);
    reference.run(&mut []).unwrap();
    assert_eq!(crate::weights(&t), crate::weights(&reference));
}
