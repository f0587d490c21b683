//! Every registered layer kind, through its own examples (`LayerSpec::examples`): a new
//! kind is tested here without a line of this file changing.

use std::collections::BTreeSet;

use gradwell_autodiff::{GradCheck, Tape, Var};
use gradwell_nn::losses::{self, LossReduction};
use gradwell_nn::{LayerSpec, ModelSpec, Network, Result};

use crate::common::uniform;

const BATCH: usize = 6;

/// Each example alone in a model, with the input shape it takes.
fn models() -> Vec<ModelSpec> {
    LayerSpec::examples()
        .into_iter()
        .map(|(input_shape, layer)| ModelSpec {
            input_shape,
            layers: vec![layer],
        })
        .collect()
}

/// Every registered kind has at least one example.
#[test]
fn every_kind_has_examples() {
    let covered: BTreeSet<&str> = LayerSpec::examples()
        .iter()
        .map(|(_, l)| l.kind_name())
        .collect();
    let all: BTreeSet<&str> = LayerSpec::KINDS.iter().copied().collect();
    assert_eq!(covered, all);
}

/// A model file holding the example reads back as the same spec, in TOML and in JSON.
#[test]
fn every_example_round_trips_through_toml_and_json() {
    for spec in models() {
        let toml = spec.to_toml().expect("serializes");
        assert_eq!(
            ModelSpec::parse(&toml).expect("parses back"),
            spec,
            "{toml}"
        );
        let json = spec.to_json().expect("serializes");
        assert_eq!(
            ModelSpec::parse(&json).expect("parses back"),
            spec,
            "{json}"
        );
    }
}

/// The plan (made without building) agrees with the built layer: parameter counts, every
/// stored scalar, PyTorch's class name, the output shape, and the shape a forward pass
/// gives.
#[test]
fn every_example_plans_what_it_builds() {
    for spec in models() {
        let plan = spec.plan().expect("the example plans");
        let mut net = Network::<f64>::build(&spec, 1).expect("the example builds");
        let (t, f) = net.num_params();
        assert_eq!(plan.num_params(), (t as u64, f as u64), "{spec:?}");
        let store = net.tape.params();
        let stored: usize = store.ids().map(|id| store.value(id).len()).sum();
        assert_eq!(plan.layers[0].stored(), stored as u64, "{spec:?}");
        let layer = &net.root().layers()[0];
        assert_eq!(plan.layers[0].kind, layer.kind(), "{spec:?}");
        assert_eq!(
            layer.output_shape(&spec.input_shape).expect("fits"),
            plan.output_shape,
            "{spec:?}"
        );
        let mut shape = vec![BATCH];
        shape.extend(&spec.input_shape);
        let y = net
            .predict_dyn(&uniform(&shape, -2.0, 2.0, 5).view())
            .expect("runs");
        assert_eq!(y.shape()[1..], plan.output_shape[..], "{spec:?}");
    }
}

/// The mean squared error to a fixed random target of the output's shape.
fn mse_to_target(tape: &mut Tape<f64>, y: Var) -> Result<Var> {
    let shape = tape.shape(y)?.to_vec();
    let t = tape.input(uniform(&shape, -1.0, 1.0, 21));
    losses::mse(tape, y, t, LossReduction::Mean)
}

/// f64 gradients against central differences, for every trainable parameter and the
/// input, in training and in evaluation.
#[test]
fn every_example_passes_a_gradient_check() {
    for spec in models() {
        let net = Network::<f64>::build(&spec, 3).expect("the example builds");
        let mut shape = vec![BATCH];
        shape.extend(&spec.input_shape);
        let x = uniform(&shape, -2.0, 2.0, 11);
        for training in [true, false] {
            let report = net
                .gradcheck(&x, training, 5, GradCheck::default(), mse_to_target)
                .expect("the forward pass runs");
            assert!(report.passed(), "{spec:?} (training {training}): {report}");
            let checked: Vec<&str> = report.entries.iter().map(|(n, _)| n.as_str()).collect();
            let mut want: Vec<String> = net
                .param_names()
                .into_iter()
                .filter(|n| net.tape.params().is_trainable(net.param(n).expect("named")))
                .collect();
            want.push("input".into());
            assert_eq!(
                checked, want,
                "{spec:?}: every trainable parameter is checked"
            );
        }
    }
}
