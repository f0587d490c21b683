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

/// A tap names the activation of every layer that is one, in gradwell's spelling, the
/// layers inside a residual block's branch included: element-wise activations as the
/// registry names them, and PReLU (learnt slopes), softmax and log-softmax as a model file
/// types them; other layers name none.
#[test]
fn taps_name_the_activation_of_every_layer_that_is_one() {
    let spec = crate::common::spec(
        r#"
input_shape = [4]
layers = [
    { type = "linear", out_features = 4 },
    { type = "prelu" },
    { type = "residual", layers = [
        { type = "linear", out_features = 4 },
        { type = "activation", activation = "leaky-relu:0.2" },
        { type = "prelu", num_parameters = 4 },
    ] },
    { type = "activation", activation = "prelu:0.1" },
    { type = "softmax" },
    { type = "log_softmax" },
]
"#,
    );
    let mut net = Network::<f64>::build(&spec, 0).unwrap();
    let x = net.tape.input(uniform(&[BATCH, 4], -1.0, 1.0, 1));
    let mut taps = Vec::new();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    net.forward(x, true, &mut rng, Some(&mut taps)).unwrap();
    let named: Vec<(&str, &str, Option<String>)> = taps
        .iter()
        .map(|t| (t.path.as_str(), t.kind, t.activation.map(|a| a.to_string())))
        .collect();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        named,
        [
            ("0", "Linear", None),
            ("1", "PReLU", some("prelu")),
            ("2.body.0", "Linear", None),
            ("2.body.1", "LeakyReLU", some("leaky-relu:0.2")),
            ("2.body.2", "PReLU", some("prelu")),
            ("2", "Residual", None),
            ("3", "PReLU", some("prelu:0.1")),
            ("4", "Softmax", some("softmax")),
            ("5", "LogSoftmax", some("log_softmax")),
        ]
    );
    // The names of the layer-typed activations are the model file's `type` of the layer.
    for (i, layer) in [
        (1, &spec.layers[1]),
        (7, &spec.layers[4]),
        (8, &spec.layers[5]),
    ] {
        let json = serde_json::to_value(layer).unwrap();
        assert_eq!(
            taps[i].activation.map(|a| a.to_string()).as_deref(),
            json["type"].as_str(),
            "{json}"
        );
    }
    // Only element-wise activations of fixed parameters answer for their math.
    assert_eq!(
        taps[3].activation.and_then(|a| a.elementwise()),
        Some("leaky-relu:0.2".parse().unwrap())
    );
    assert_eq!(taps[1].activation.and_then(|a| a.elementwise()), None);
}
