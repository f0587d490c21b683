//! gradwell's recurrent layers (`rnn`, `lstm`, `gru`) against PyTorch's `nn.RNN`, `nn.LSTM`
//! and `nn.GRU`, from the committed fixtures of `fixtures/gen_rnn_fixtures.sh`: for every
//! case, the layer is built from its spec, PyTorch's state_dict is loaded by name, and the
//! outputs, the gradients of every parameter and of the input, and ‖∂L/∂h_t‖ for every step
//! are compared, in f64, for the loss L = Σ output ⊙ R with PyTorch's R. And PyTorch's
//! safetensors files load through gradwell's weight loading and give PyTorch's outputs;
//! gradwell's own files have PyTorch's keys, shapes and dtypes.
//!
//! Tolerance (f64, unit roundoff u = 1.1e-16): every value here is a sum of products along
//! at most T = 60 steps of dot products of length I + H ≤ 14, computed in another order
//! than PyTorch's; the rounding error of such a chain is bounded by about
//! T·(I + H)·u ≈ 1e-13 of the magnitudes involved. A tensor must agree with PyTorch's
//! elementwise within [`REL`] = 1e-12 of its largest entry. The per-step norms are compared
//! each against its own value (they decay to 1e-20 over 60 steps, so a tolerance relative
//! to the largest would not test the early steps), within the same 1e-12: each is a
//! product of step Jacobians, whose relative errors add up the same way. Measured: at
//! most 4e-15 for both.

use std::collections::BTreeSet;
use std::path::Path;

use gradwell_autodiff::Tape;
use gradwell_autodiff::ops::{Cell, Recurrent, RnnNonlinearity};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

/// Elementwise agreement of a tensor with PyTorch's, relative to its largest entry.
const REL: f64 = 1e-12;
/// Agreement of each per-step gradient norm with PyTorch's, relative to itself.
const NORM_REL: f64 = REL;
/// The cases the generator writes; a case missing from the fixture fails the test.
const CASES: usize = 25;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
}

fn recorded() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("rnn.json")).expect("fixture"))
        .expect("JSON")
}

/// A nested JSON list as an array (its shape from the nesting).
fn array(v: &Value) -> ArrayD<f64> {
    fn walk(v: &Value, depth: usize, shape: &mut Vec<usize>, flat: &mut Vec<f64>) {
        match v {
            Value::Array(items) => {
                if shape.len() == depth {
                    shape.push(items.len());
                }
                assert_eq!(shape[depth], items.len(), "ragged list");
                for item in items {
                    walk(item, depth + 1, shape, flat);
                }
            }
            Value::Number(n) => flat.push(n.as_f64().expect("a number")),
            other => panic!("not a number: {other}"),
        }
    }
    let (mut shape, mut flat) = (Vec::new(), Vec::new());
    walk(v, 0, &mut shape, &mut flat);
    ArrayD::from_shape_vec(IxDyn(&shape), flat).expect("rectangular")
}

/// The largest |a − b| over the largest |b| (1 when b is all zeros).
fn relative_difference(a: &ArrayD<f64>, b: &ArrayD<f64>, what: &str) -> f64 {
    assert_eq!(a.shape(), b.shape(), "{what}: shape");
    let scale = b.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()));
    diff / if scale > 0.0 { scale } else { 1.0 }
}

/// What gradwell computes for a case: (output, loss, parameter gradients by PyTorch's name,
/// input gradient, per-step norms of ∂L/∂h_t).
struct Computed {
    output: ArrayD<f64>,
    loss: f64,
    grads: Vec<(String, ArrayD<f64>)>,
    input_grad: ArrayD<f64>,
    step_norms: Vec<f64>,
}

/// The same computation on the tape directly, one fused op per stacked layer, with the
/// state_dict's tensors as parameters of those names.
fn compute_with_op(case: &Value) -> Computed {
    let cell = match case["kind"].as_str().expect("a kind") {
        "rnn" => Cell::Elman(
            case["nonlinearity"]
                .as_str()
                .expect("a nonlinearity")
                .parse::<RnnNonlinearity>()
                .expect("tanh or relu"),
        ),
        "lstm" => Cell::Lstm,
        "gru" => Cell::Gru,
        other => panic!("unknown kind {other}"),
    };
    let layers = case["num_layers"].as_u64().expect("num_layers") as usize;
    let truncate = case["truncate"].as_u64().map(|k| k as usize);
    let mut tape = Tape::<f64>::new();
    let mut ids = Vec::new();
    for (name, value) in case["state_dict"].as_object().expect("a state_dict") {
        ids.push((name.clone(), tape.params_mut().add(name, array(value))));
    }
    let id = |name: String| {
        ids.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let x = tape.input_requires_grad(array(&case["input"]));
    let mut h = x;
    for l in 0..layers {
        let w_ih = tape.param(id(format!("weight_ih_l{l}")));
        let w_hh = tape.param(id(format!("weight_hh_l{l}")));
        let biases = if case["bias"].as_bool().expect("bias") {
            let b_ih = tape.param(id(format!("bias_ih_l{l}")));
            Some((b_ih, tape.param(id(format!("bias_hh_l{l}")))))
        } else {
            None
        };
        h = tape
            .recurrent(cell, truncate, h, w_ih, w_hh, biases)
            .expect("runs");
    }
    let r = array(&case["weight"]);
    let output = tape.value(h).to_owned();
    let loss = (&output * &r).sum();
    tape.backward_from(h, &r.view()).expect("backward");
    Computed {
        output,
        loss,
        grads: ids
            .iter()
            .map(|(n, id)| (n.clone(), tape.params().grad(*id).to_owned()))
            .collect(),
        input_grad: tape.input_grad(x).expect("input gradient").to_owned(),
        step_norms: tape
            .op_of::<Recurrent<f64>>(h)
            .expect("a recurrent op")
            .step_grad_norms()
            .to_vec(),
    }
}

/// Compares what gradwell computed for `case` with PyTorch's; gives the largest relative
/// differences (tensors, step norms).
fn check(case: &Value, got: &Computed) -> (f64, f64) {
    let name = case["name"].as_str().expect("a name");
    let mut worst = (0.0_f64, 0.0_f64);
    let d = relative_difference(&got.output, &array(&case["output"]), name);
    assert!(d <= REL, "{name}: output differs by {d:e} of its largest");
    worst.0 = worst.0.max(d);
    let want_loss = case["loss"].as_f64().expect("loss");
    assert!(
        (got.loss - want_loss).abs() <= REL * want_loss.abs().max(1.0),
        "{name}: loss {} vs {want_loss}",
        got.loss
    );
    let names: BTreeSet<&String> = got.grads.iter().map(|(n, _)| n).collect();
    let theirs: BTreeSet<&String> = case["grads"].as_object().expect("grads").keys().collect();
    assert_eq!(names, theirs, "{name}: the parameters with gradients");
    for (param, g) in &got.grads {
        let d = relative_difference(g, &array(&case["grads"][param]), name);
        assert!(
            d <= REL,
            "{name}: ∂L/∂{param} differs by {d:e} of its largest"
        );
        worst.0 = worst.0.max(d);
    }
    let d = relative_difference(&got.input_grad, &array(&case["input_grad"]), name);
    assert!(
        d <= REL,
        "{name}: ∂L/∂input differs by {d:e} of its largest"
    );
    worst.0 = worst.0.max(d);
    let want: Vec<f64> = serde_json::from_value(case["step_grad_norms"].clone()).expect("norms");
    assert_eq!(got.step_norms.len(), want.len(), "{name}: steps");
    for (t, (a, b)) in got.step_norms.iter().zip(&want).enumerate() {
        let d = (a - b).abs() / b.abs().max(f64::MIN_POSITIVE);
        assert!(
            d <= NORM_REL,
            "{name}: ‖∂L/∂h_{t}‖ {a:e} vs PyTorch's {b:e}"
        );
        worst.1 = worst.1.max(d);
    }
    worst
}

/// Runs `compute` on every case of the fixture and checks it; fails if a case is missing.
fn check_every_case(what: &str, compute: impl Fn(&Value) -> Computed) {
    let recorded = recorded();
    let cases = recorded["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), CASES, "the fixture's cases");
    let mut checked = 0;
    let mut worst = (0.0_f64, 0.0_f64);
    for case in cases {
        let w = check(case, &compute(case));
        worst = (worst.0.max(w.0), worst.1.max(w.1));
        checked += 1;
    }
    assert_eq!(checked, CASES, "every case was checked");
    eprintln!(
        "{what}: largest differences from PyTorch: tensors {:e} of their largest entry, \
         step norms {:e} of themselves",
        worst.0, worst.1
    );
}

#[test]
fn the_fused_recurrent_op_matches_pytorch_outputs_gradients_and_step_norms() {
    check_every_case("the op", compute_with_op);
}

/// The long cases show what the fixtures are for: through 60 steps PyTorch's gradient
/// reaching the first step is vanishingly small for the tanh RNN and the LSTM at torch's
/// default initialization, and grows back through time for the ReLU RNN whose recurrent
/// matrix has spectral radius 1.3 — so the per-step comparison above covers both regimes.
#[test]
fn the_fixture_covers_vanishing_and_exploding_gradients_through_time() {
    let recorded = recorded();
    let ratio = |name: &str| {
        let case = recorded["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("case {name} missing"));
        let n: Vec<f64> = serde_json::from_value(case["step_grad_norms"].clone()).unwrap();
        n[0] / n[n.len() - 1]
    };
    assert!(ratio("rnn_tanh_long") < 1e-10, "{}", ratio("rnn_tanh_long"));
    assert!(ratio("lstm_long") < 1e-10, "{}", ratio("lstm_long"));
    assert!(
        ratio("rnn_relu_large_weights") > 10.0,
        "{}",
        ratio("rnn_relu_large_weights")
    );
    assert!(
        recorded["torch_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2.")),
        "the fixture records torch's version"
    );
}
