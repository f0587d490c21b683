//! Targets other than one class per sample: real values (the adding problem, mean squared
//! error) and a class per step (the copy task, cross-entropy over every step, accuracy on
//! the steps not labelled blank).

use std::ops::ControlFlow;

use gradwell_data::sequence::{ADDING_BASELINE_MSE, COPY_BLANK, adding, copy};
use gradwell_nn::{MlpSpec, ModelSpec, Network};
use gradwell_optim::{AdamConfig, OptimizerKind};
use gradwell_train::{Observer, StepView, TrainConfig, TrainError, Trainer};

use crate::{scratch_dir, weights};

fn quiet(epochs: u64) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        optimizer: OptimizerKind::Adam(AdamConfig::default().lr(0.003)),
        progress: gradwell_train::ProgressMode::Off,
        ..TrainConfig::default()
    }
}

fn adding_trainer(config: TrainConfig) -> Trainer {
    let (train, test) = (adding(6, 512, 1, 0).unwrap(), adding(6, 256, 1, 1).unwrap());
    let mlp = MlpSpec::new(&[12, 64, 1], "relu".parse().unwrap());
    let net = Network::build(&mlp.to_spec().unwrap(), 3).unwrap();
    Trainer::new(config, net, train, Some(test)).unwrap()
}

#[test]
fn real_targets_train_on_the_mean_squared_error_and_report_no_accuracy() {
    let mut t = adding_trainer(quiet(30));
    let report = t.run(&mut []).unwrap();
    let test = report.test.unwrap();
    assert_eq!(test.accuracy, None);
    assert!(report.epochs.iter().all(|e| e.train_accuracy.is_none()));
    // A feed-forward net sees the whole of a short sequence: it beats the baseline.
    assert!(
        test.loss < ADDING_BASELINE_MSE / 2.0,
        "test mse {}",
        test.loss
    );
    // The loss is the mean squared error: check it by hand on the test set.
    let ds = t.test_set().unwrap().clone();
    let pred = t.network_mut().predict(&ds.features()).unwrap();
    let mse = pred
        .iter()
        .zip(ds.values())
        .map(|(&p, &y)| ((p - y) as f64).powi(2))
        .sum::<f64>()
        / ds.len() as f64;
    assert!(
        (mse - test.loss).abs() < 1e-5 * mse.max(1.0),
        "{mse} vs {}",
        test.loss
    );
    assert!(report.to_json().contains("\"accuracy\": null"));
}

/// Stops the run after a given step.
struct StopAt(u64);

impl Observer for StopAt {
    fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
        if step.step == self.0 {
            ControlFlow::Break("stop".into())
        } else {
            ControlFlow::Continue(())
        }
    }
}

#[test]
fn a_regression_run_resumed_mid_epoch_ends_bit_identical() {
    let mut reference = adding_trainer(quiet(3));
    let ref_report = reference.run(&mut []).unwrap();
    let mut config = quiet(3);
    config.checkpoint.dir = Some(scratch_dir("regression_resume"));
    config.checkpoint.every_steps = Some(5);
    adding_trainer(config.clone())
        .run(&mut [&mut StopAt(23)])
        .unwrap();
    let mut second = adding_trainer(config);
    assert!(second.resume().unwrap().loaded.is_some());
    assert_eq!(second.step(), 20);
    let report = second.run(&mut []).unwrap();
    assert_eq!(weights(&second), weights(&reference));
    for (a, b) in report.epochs.iter().zip(&ref_report.epochs) {
        assert_eq!((a.train_loss, a.test), (b.train_loss, b.test));
    }
}

#[test]
fn per_step_targets_score_every_step_in_the_loss_and_the_recall_steps_in_the_accuracy() {
    let steps = 3;
    let (train, test) = (
        copy(steps, 40, 0, 0).unwrap(),
        copy(steps, 16, 0, 1).unwrap(),
    );
    let len = steps + 20;
    // The inputs themselves as logits (a PReLU keeps non-negative values): each step's
    // logits are its one-hot input.
    let spec = ModelSpec::parse(&format!(
        r#"{{"input_shape": [{len}, 10], "layers": [{{"type": "prelu"}}]}}"#
    ))
    .unwrap();
    let net = Network::build(&spec, 0).unwrap();
    let mut t = Trainer::new(quiet(1), net, train, Some(test.clone())).unwrap();
    let m = t.evaluate(&test).unwrap();
    // By hand: cross-entropy of a one-hot logit row is ln(e + 9) − [label's input is 1].
    let (mut loss, mut right, mut scored) = (0.0, 0, 0);
    for (n, x) in test.features().rows().into_iter().enumerate() {
        for s in 0..len {
            let label = test.labels()[n * len + s];
            let hit = x[s * 10 + label as usize] == 1.0;
            loss += (std::f64::consts::E + 9.0).ln() - if hit { 1.0 } else { 0.0 };
            if label != COPY_BLANK {
                scored += 1;
                right += usize::from(hit);
            }
        }
    }
    let loss = loss / (test.len() * len) as f64;
    // The loss is summed in f32.
    assert!((m.loss - loss).abs() < 1e-4, "{} vs {loss}", m.loss);
    assert_eq!(scored, 16 * 10);
    assert_eq!(m.accuracy, Some(right as f64 / scored as f64));
    let report = t.run(&mut []).unwrap();
    let acc = report.epochs[0].train_accuracy.unwrap();
    assert!((0.0..=1.0).contains(&acc));
}

#[test]
fn an_output_that_does_not_fit_the_targets_is_refused_naming_both_shapes() {
    let mlp = MlpSpec::new(&[230, 8, 10], "relu".parse().unwrap());
    let net = Network::build(&mlp.to_spec().unwrap(), 0).unwrap();
    let Err(e) = Trainer::new(quiet(1), net, copy(3, 8, 0, 0).unwrap(), None) else {
        panic!("a per-sample output for per-step targets was accepted")
    };
    assert!(matches!(e, TrainError::Setup(_)));
    let msg = e.to_string();
    assert!(
        msg.contains("output has shape [10] per sample")
            && msg.contains("a class of 10 at each of 23 steps")
            && msg.contains("(outputs of shape [23, 10])"),
        "{msg}"
    );
    let mlp = MlpSpec::new(&[12, 8, 2], "relu".parse().unwrap());
    let net = Network::build(&mlp.to_spec().unwrap(), 0).unwrap();
    let mut config = quiet(1);
    let e = Trainer::new(config.clone(), net, adding(6, 8, 0, 0).unwrap(), None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("[2]") && e.contains("a real value per sample"),
        "{e}"
    );
    config.label_smoothing = 0.1;
    let net = Network::build(
        &MlpSpec::new(&[12, 1], "relu".parse().unwrap())
            .to_spec()
            .unwrap(),
        0,
    )
    .unwrap();
    let e = Trainer::new(config, net, adding(6, 8, 0, 0).unwrap(), None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("label_smoothing") && e.contains("applies to class labels"),
        "{e}"
    );
}
