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
use gradwell_nn::{ModelSpec, Network};
use ndarray::{ArrayD, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::SafeTensors;
use serde_json::{Value, json};

/// Elementwise agreement of a tensor with PyTorch's, relative to its largest entry.
const REL: f64 = 1e-12;
/// Agreement of each per-step gradient norm with PyTorch's, relative to itself.
const NORM_REL: f64 = REL;
/// Agreement of f32 outputs (the safetensors interop models), as in `torch.rs`.
const F32_TOLERANCE: f64 = 1e-5;
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

/// The model of a case: the recurrent layer alone, samples `[T, input_size]`.
fn case_spec(case: &Value) -> ModelSpec {
    let steps = case["input"][0].as_array().expect("input [N, T, I]").len();
    let mut layer = json!({
        "type": case["kind"],
        "hidden_size": case["hidden_size"],
        "num_layers": case["num_layers"],
        "bias": case["bias"],
    });
    if case["kind"] == "rnn" {
        layer["nonlinearity"] = case["nonlinearity"].clone();
    }
    if !case["truncate"].is_null() {
        layer["truncate"] = case["truncate"].clone();
    }
    let spec = json!({
        "input_shape": [steps, case["input_size"]],
        "layers": [layer],
    });
    ModelSpec::parse(&spec.to_string()).expect("the case's spec parses")
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

fn compute(case: &Value) -> Computed {
    let mut net = Network::<f64>::build(&case_spec(case), 0).expect("builds");
    let state = case["state_dict"].as_object().expect("a state_dict");
    let ours: BTreeSet<String> = net
        .param_names()
        .into_iter()
        .map(|n| n.strip_prefix("0.").expect("the layer's path").to_string())
        .collect();
    let theirs: BTreeSet<String> = state.keys().cloned().collect();
    assert_eq!(ours, theirs, "{}: parameter names", case["name"]);
    for (name, value) in state {
        let id = net.param(&format!("0.{name}")).expect("present");
        let v = array(value);
        let mut slot = net.tape.params_mut().value_mut(id);
        assert_eq!(slot.shape(), v.shape(), "{}: {name}'s shape", case["name"]);
        slot.assign(&v);
    }
    let x = array(&case["input"]);
    let r = array(&case["weight"]);
    net.tape.reset();
    let xv = net.tape.input_requires_grad(x);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let out = net.forward(xv, true, &mut rng, None).expect("runs");
    let output = net.tape.value(out).to_owned();
    let loss = (&output * &r).sum();
    net.tape.backward_from(out, &r.view()).expect("backward");
    let grads = net
        .param_names()
        .into_iter()
        .map(|n| {
            let id = net.param(&n).expect("present");
            let g = net.tape.params().grad(id).to_owned();
            (n["0.".len()..].to_string(), g)
        })
        .collect();
    let input_grad = net.tape.input_grad(xv).expect("input gradient").to_owned();
    // The model's output is the last stacked layer's op's: its record of ‖∂L/∂h_t‖.
    let step_norms = net
        .tape
        .op_of::<Recurrent<f64>>(out)
        .expect("the output is a recurrent op's")
        .step_grad_norms()
        .to_vec();
    Computed {
        output,
        loss,
        grads,
        input_grad,
        step_norms,
    }
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
fn recurrent_layers_built_from_their_specs_match_pytorch_outputs_gradients_and_step_norms() {
    check_every_case("the layers", compute);
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

/// The interop model `name` in f32 with PyTorch's safetensors weights loaded through
/// [`Network::load_safetensors`], and its largest difference from PyTorch's outputs.
fn interop(name: &str, config: &str) -> (f64, Network<f32>) {
    let recorded = recorded();
    let mut net =
        Network::<f32>::build(&ModelSpec::parse(config).expect("parses"), 0).expect("builds");
    net.load_safetensors(&fixtures().join(format!("torch_{name}.safetensors")))
        .expect("PyTorch's weights load");
    let x = array(&recorded["safetensors"][name]["input"]).mapv(|v| v as f32);
    let y = net.predict_dyn(&x.view()).expect("runs");
    let want = array(&recorded["safetensors"][name]["output"]);
    assert_eq!(y.shape(), want.shape());
    let diff = y
        .iter()
        .zip(&want)
        .fold(0.0_f64, |m, (a, b)| m.max((f64::from(*a) - b).abs()));
    (diff, net)
}

const TORCH_LSTM: &str = include_str!("../../fixtures/torch_lstm.toml");
const TORCH_GRU: &str = include_str!("../../fixtures/torch_gru.toml");

#[test]
fn pytorch_lstm_and_gru_safetensors_give_pytorchs_outputs() {
    for (name, config) in [("lstm", TORCH_LSTM), ("gru", TORCH_GRU)] {
        let (diff, _) = interop(name, config);
        assert!(diff <= F32_TOLERANCE, "{name}: {diff}");
        // Not a vacuous pass: gradwell's own initial weights are far from PyTorch's outputs.
        let mut fresh = Network::<f32>::build(&ModelSpec::parse(config).unwrap(), 0).unwrap();
        let recorded = recorded();
        let x = array(&recorded["safetensors"][name]["input"]).mapv(|v| v as f32);
        let y = fresh.predict_dyn(&x.view()).unwrap();
        let want = array(&recorded["safetensors"][name]["output"]);
        let far = y
            .iter()
            .zip(&want)
            .fold(0.0_f64, |m, (a, b)| m.max((f64::from(*a) - b).abs()));
        assert!(far > 1e-2, "{name}: fresh weights give {far}");
    }
}

/// gradwell's safetensors of the same models have exactly the keys, shapes and dtypes of
/// PyTorch's state_dict (recorded by the generator), so `load_state_dict(strict=True)` into
/// `nn.LSTM`/`nn.GRU` takes them; `gen_rnn_fixtures.sh` checks that load in PyTorch itself.
#[test]
fn gradwells_lstm_and_gru_safetensors_have_pytorchs_keys_shapes_and_dtypes() {
    let recorded = recorded();
    for (name, config) in [("lstm", TORCH_LSTM), ("gru", TORCH_GRU)] {
        let net = Network::<f32>::build(&ModelSpec::parse(config).unwrap(), 3).unwrap();
        let bytes = net.safetensors_bytes().expect("encodes");
        let st = SafeTensors::deserialize(&bytes).expect("decodes");
        let ours: BTreeSet<(String, Vec<usize>, String)> = st
            .tensors()
            .into_iter()
            .map(|(k, t)| (k, t.shape().to_vec(), format!("{:?}", t.dtype())))
            .collect();
        let theirs: BTreeSet<(String, Vec<usize>, String)> = recorded["safetensors"][name]["keys"]
            .as_object()
            .expect("keys")
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    serde_json::from_value(v["shape"].clone()).unwrap(),
                    v["dtype"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(ours, theirs, "{name}");
    }
}
