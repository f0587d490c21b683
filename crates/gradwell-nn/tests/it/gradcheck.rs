//! Gradient checks (f64, central differences) through whole networks: every layer kind,
//! every activation, each loss with each reduction, parameters and input alike.

use gradwell_activations::ActivationKind;
use gradwell_autodiff::{AutodiffError, GradCheck, Op, Tape, Var};
use gradwell_nn::losses::{self, LossReduction};
use gradwell_nn::{
    ActivationSpec, LayerSpec, LinearSpec, ModelSpec, Network, NetworkGradCheck, Result,
};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

use crate::common::{spec, uniform};

const BATCH: usize = 6;

/// Labels of the batch, every class of three present.
const LABELS: [i64; BATCH] = [0, 2, 1, 1, 0, 2];

/// Runs the check of `spec` (weights from seed 3, input uniform in ±2) under `loss`, and
/// asserts that every trainable parameter and the input passed.
fn check(
    spec: &ModelSpec,
    input: &[usize],
    training: bool,
    loss: impl FnMut(&mut Tape<f64>, Var) -> Result<Var>,
) -> NetworkGradCheck {
    let net = Network::<f64>::build(spec, 3).expect("the test model builds");
    let x = uniform(input, -2.0, 2.0, 11);
    let report = net
        .gradcheck(&x, training, 5, GradCheck::default(), loss)
        .expect("the forward pass runs");
    assert!(report.passed(), "{report}");
    let mut names: Vec<String> = report.entries.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names.pop().as_deref(), Some("input"));
    let trainable: Vec<String> = net
        .param_names()
        .into_iter()
        .filter(|n| net.tape.params().is_trainable(net.param(n).expect("named")))
        .collect();
    assert_eq!(names, trainable, "every trainable parameter is checked");
    report
}

fn nll(tape: &mut Tape<f64>, y: Var) -> Result<Var> {
    let labels = tape.labels(&LABELS);
    losses::nll(tape, y, labels, LossReduction::Mean)
}

/// Flatten, Linear, BatchNorm (training), shared PReLU, an identity residual block with
/// LayerNorm, Dropout with a fixed mask, a projected residual block with per-feature PReLU,
/// and a LogSoftmax head under NLL.
const EVERY_LAYER: &str = r#"
input_shape = [2, 3]
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
out_features = 5
[[layers]]
type = "batch_norm"
[[layers]]
type = "prelu"
[[layers]]
type = "residual"
layers = [
    { type = "linear", out_features = 5 },
    { type = "layer_norm" },
    { type = "activation", activation = "tanh" },
]
[[layers]]
type = "dropout"
p = 0.3
[[layers]]
type = "residual"
layers = [
    { type = "linear", out_features = 4 },
    { type = "prelu", num_parameters = 4, init = 0.1 },
]
[[layers]]
type = "linear"
out_features = 3
[[layers]]
type = "log_softmax"
"#;

#[test]
fn every_layer_kind_in_training() {
    let spec = spec(EVERY_LAYER);
    let report = check(&spec, &[BATCH, 2, 3], true, nll);
    // The projection of the second residual block and both PReLU slopes are checked.
    for name in [
        "6.projection.weight",
        "3.weight",
        "6.body.1.weight",
        "2.weight",
        "2.bias",
    ] {
        assert!(report.get(name).is_some(), "{name} is checked");
    }
}

#[test]
fn every_layer_kind_in_evaluation() {
    // Batch norm on its running statistics (moved away from 0 and 1 first, so that the
    // check is not of the identity), dropout off.
    let spec = spec(EVERY_LAYER);
    let mut net = Network::<f64>::build(&spec, 3).expect("builds");
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    for seed in 0..3 {
        net.tape.reset();
        let x = net.tape.input(uniform(&[BATCH, 2, 3], -1.0, 3.0, seed));
        net.forward(x, true, &mut rng, None)
            .expect("a training step");
    }
    let mean = net.param("2.running_mean").expect("tracked");
    assert!(net.tape.params().value(mean).iter().all(|m| m.abs() > 1e-3));
    let x = uniform(&[BATCH, 2, 3], -2.0, 2.0, 11);
    let report = net
        .gradcheck(&x, false, 5, GradCheck::default(), nll)
        .expect("runs");
    assert!(report.passed(), "{report}");
}

/// Linear → the activation → Linear, under the mean squared error.
fn activation_net(kind: ActivationKind) -> ModelSpec {
    ModelSpec {
        input_shape: vec![3],
        layers: vec![
            LayerSpec::Linear(LinearSpec {
                init: Some("xavier-normal:2".parse().expect("valid")),
                ..LinearSpec::new(4)
            }),
            LayerSpec::Activation(ActivationSpec { activation: kind }),
            LayerSpec::Linear(LinearSpec::new(2)),
        ],
    }
}

fn mse_to_fixed_target(tape: &mut Tape<f64>, y: Var) -> Result<Var> {
    let t = tape.input(uniform(&[BATCH, 2], -1.0, 1.0, 21));
    losses::mse(tape, y, t, LossReduction::Mean)
}

#[test]
fn every_activation_through_act() {
    let mut kinds = ActivationKind::defaults();
    for text in [
        "leaky-relu:0.2",
        "elu:0.5",
        "softplus:2,20",
        "hardtanh:-0.5,2",
        "prelu:0.1",
    ] {
        kinds.push(text.parse().expect("valid activation"));
    }
    assert!(kinds.len() >= 15);
    for kind in kinds {
        let spec = activation_net(kind);
        let net = Network::<f64>::build(&spec, 3).expect("builds");
        let x = uniform(&[BATCH, 3], -2.0, 2.0, 11);
        let report = net
            .gradcheck(&x, true, 0, GradCheck::default(), mse_to_fixed_target)
            .expect("runs");
        assert!(report.passed(), "{kind}: {report}");
    }
}

#[test]
fn softmax_head_under_mse() {
    let spec = spec(
        r#"
input_shape = [4]
layers = [
    { type = "linear", out_features = 2 },
    { type = "activation", activation = "gelu" },
    { type = "softmax" },
]
"#,
    );
    check(&spec, &[BATCH, 4], true, mse_to_fixed_target);
}

/// A small network ending in raw logits `[BATCH, 3]`.
fn logits_net() -> ModelSpec {
    spec(
        r#"
input_shape = [4]
layers = [
    { type = "linear", out_features = 5 },
    { type = "batch_norm" },
    { type = "activation", activation = "silu" },
    { type = "linear", out_features = 3 },
]
"#,
    )
}

#[test]
fn cross_entropy_with_and_without_label_smoothing() {
    for smoothing in [0.0, 0.1] {
        for reduction in [LossReduction::Mean, LossReduction::Sum] {
            check(&logits_net(), &[BATCH, 4], true, |tape, y| {
                let labels = tape.labels(&LABELS);
                losses::cross_entropy(tape, y, labels, smoothing, reduction)
            });
        }
    }
}

#[test]
fn nll_on_log_softmax() {
    for reduction in [LossReduction::Mean, LossReduction::Sum] {
        check(&logits_net(), &[BATCH, 4], true, |tape, y| {
            let lp = tape.log_softmax(y, 1)?;
            let labels = tape.labels(&LABELS);
            losses::nll(tape, lp, labels, reduction)
        });
    }
}

#[test]
fn mse_mean_and_sum() {
    for reduction in [LossReduction::Mean, LossReduction::Sum] {
        check(&logits_net(), &[BATCH, 4], true, |tape, y| {
            let t = tape.input(uniform(&[BATCH, 3], -1.0, 1.0, 21));
            losses::mse(tape, y, t, reduction)
        });
    }
}

#[test]
fn bce_with_logits_mean_and_sum() {
    for reduction in [LossReduction::Mean, LossReduction::Sum] {
        check(&logits_net(), &[BATCH, 4], true, |tape, y| {
            // Soft targets in [0, 1], hard ones in the first column.
            let mut t = uniform(&[BATCH, 3], 0.0, 1.0, 22);
            for (i, mut row) in t.outer_iter_mut().enumerate() {
                row[0] = (i % 2) as f64;
            }
            let t = tape.input(t);
            losses::bce_with_logits(tape, y, t, reduction)
        });
    }
}

/// `y = x` forward with a backward that is off by 1 %: a bug the check must see through a
/// whole network.
#[derive(Debug)]
struct SlightlyWrongIdentity;

impl Op<f64> for SlightlyWrongIdentity {
    fn name(&self) -> &'static str {
        "slightly_wrong_identity"
    }

    fn forward(
        &mut self,
        x: &[ArrayViewD<'_, f64>],
        out: &mut ArrayD<f64>,
    ) -> Result<(), AutodiffError> {
        *out = x[0].to_owned();
        Ok(())
    }

    fn backward(
        &mut self,
        _: &[ArrayViewD<'_, f64>],
        _: &ArrayViewD<'_, f64>,
        g: &ArrayViewD<'_, f64>,
        grads: &mut [Option<ArrayViewMutD<'_, f64>>],
    ) {
        if let Some(d) = grads[0].as_mut() {
            d.zip_mut_with(g, |d, &g| *d += 1.01 * g);
        }
    }
}

#[test]
fn a_wrong_backward_is_caught_through_the_network() {
    let net = Network::<f64>::build(&logits_net(), 3).expect("builds");
    let x = uniform(&[BATCH, 4], -2.0, 2.0, 11);
    let report = net
        .gradcheck(&x, true, 0, GradCheck::default(), |tape, y| {
            let y = tape.apply(SlightlyWrongIdentity, &[y])?;
            let labels = tape.labels(&LABELS);
            losses::cross_entropy(tape, y, labels, 0.0, LossReduction::Sum)
        })
        .expect("runs");
    assert!(
        !report.passed(),
        "a 1 % error in a backward must fail:\n{report}"
    );
    assert!(!report.get("0.weight").expect("checked").passed);
}

#[test]
fn dropout_masks_follow_the_seed_in_training_only() {
    // The check reseeds the dropout RNG before every forward pass; that the training-mode
    // checks above pass relies on one seed giving one mask, and that they check dropout at
    // all on another seed giving another.
    let spec = spec(EVERY_LAYER);
    let mut net = Network::<f64>::build(&spec, 3).expect("builds");
    let x = uniform(&[BATCH, 2, 3], -2.0, 2.0, 11);
    let mut out = |training: bool, seed: u64| {
        net.tape.reset();
        let v = net.tape.input(x.clone());
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        let y = net.forward(v, training, &mut rng, None).expect("runs");
        net.tape.value(y).to_owned()
    };
    assert_eq!(out(true, 5), out(true, 5));
    assert_ne!(out(true, 5), out(true, 6));
    assert_eq!(out(false, 5), out(false, 6));
}

#[test]
fn a_forward_error_is_returned_not_hidden() {
    let net = Network::<f64>::build(&logits_net(), 3).expect("builds");
    let x = uniform(&[BATCH, 4], -2.0, 2.0, 11);
    let err = net
        .gradcheck(&x, true, 0, GradCheck::default(), |tape, y| {
            let labels = tape.labels(&[0, 1, 2, 3, 0, 0]); // 3 is out of range
            losses::cross_entropy(tape, y, labels, 0.0, LossReduction::Mean)
        })
        .expect_err("label out of range");
    assert!(
        err.to_string().contains("Target 3 is out of bounds."),
        "{err}"
    );
}
