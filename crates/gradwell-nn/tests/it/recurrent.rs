//! The recurrent layers in model files: PyTorch's parameter names, layouts, `repr` and
//! default initialization, the orthogonal and forget-bias options, the errors of bad
//! settings, and the layers that follow one (`linear` per step, `last_step`).

use gradwell_autodiff::ops::Recurrent;
use gradwell_nn::{LayerSpec, ModelSpec, Network};
use ndarray::{Axis, Ix2};

use crate::common::{spec, uniform};

fn build(text: &str) -> Network<f64> {
    Network::<f64>::build(&spec(text), 3).expect("builds")
}

fn build_err(text: &str) -> String {
    match ModelSpec::parse(text) {
        Err(e) => e.to_string(),
        Ok(s) => Network::<f64>::build(&s, 0)
            .map(|_| ())
            .expect_err("the config is invalid")
            .to_string(),
    }
}

/// PyTorch's state_dict names and shapes, `l0`, `l1` for stacked layers, and PyTorch's
/// `repr` (RNNBase's `extra_repr`, which prints no `nonlinearity`).
#[test]
fn names_shapes_and_repr_are_pytorchs() {
    let net = build(
        r#"
input_shape = [7, 2]
layers = [
    { type = "lstm", hidden_size = 4, num_layers = 2 },
    { type = "gru", hidden_size = 3, bias = false },
    { type = "rnn", hidden_size = 5, nonlinearity = "relu" },
    { type = "last_step" },
    { type = "linear", out_features = 1 },
]
"#,
    );
    let shapes: Vec<(String, Vec<usize>)> = net
        .param_names()
        .into_iter()
        .map(|n| {
            let id = net.param(&n).unwrap();
            (n, net.tape.params().value(id).shape().to_vec())
        })
        .collect();
    let want: Vec<(String, Vec<usize>)> = [
        ("0.weight_ih_l0", vec![16, 2]),
        ("0.weight_hh_l0", vec![16, 4]),
        ("0.bias_ih_l0", vec![16]),
        ("0.bias_hh_l0", vec![16]),
        ("0.weight_ih_l1", vec![16, 4]),
        ("0.weight_hh_l1", vec![16, 4]),
        ("0.bias_ih_l1", vec![16]),
        ("0.bias_hh_l1", vec![16]),
        ("1.weight_ih_l0", vec![9, 4]),
        ("1.weight_hh_l0", vec![9, 3]),
        ("2.weight_ih_l0", vec![5, 3]),
        ("2.weight_hh_l0", vec![5, 5]),
        ("2.bias_ih_l0", vec![5]),
        ("2.bias_hh_l0", vec![5]),
        ("4.weight", vec![1, 5]),
        ("4.bias", vec![1]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(shapes, want);
    assert_eq!(
        net.to_string(),
        "\
Sequential(
  (0): LSTM(2, 4, num_layers=2, batch_first=True)
  (1): GRU(4, 3, bias=False, batch_first=True)
  (2): RNN(3, 5, batch_first=True)
  (3): LastStep()
  (4): Linear(in_features=5, out_features=1, bias=True)
)"
    );
    let kinds: Vec<&str> = net.root().layers().iter().map(|l| l.kind()).collect();
    assert_eq!(kinds, ["LSTM", "GRU", "RNN", "LastStep", "Linear"]);
    assert_eq!(net.plan().output_shape, [1]);
}

/// Every weight and bias is drawn from U(±1/√hidden_size) by default (PyTorch's
/// `reset_parameters`), filling the interval; `recurrent_init = "orthogonal"` makes each
/// gate's H×H block of the recurrent weights orthogonal and leaves the rest alone.
#[test]
fn default_init_is_uniform_and_orthogonal_is_per_gate() {
    let h = 16;
    let net = build(&format!(
        "input_shape = [3, 5]\nlayers = [{{ type = \"lstm\", hidden_size = {h} }}]\n"
    ));
    let bound = 1.0 / (h as f64).sqrt();
    for name in net.param_names() {
        let v = net.tape.params().value(net.param(&name).unwrap());
        let max = v.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        assert!(
            max <= bound && max > 0.8 * bound,
            "{name}: max |w| {max}, bound {bound}"
        );
    }
    let net = build(&format!(
        "input_shape = [3, 5]\nlayers = [{{ type = \"gru\", hidden_size = {h}, recurrent_init = \"orthogonal\" }}]\n"
    ));
    let w = net
        .tape
        .params()
        .value(net.param("0.weight_hh_l0").unwrap())
        .into_dimensionality::<Ix2>()
        .unwrap()
        .to_owned();
    assert_eq!(w.shape(), [3 * h, h]);
    for block in w.axis_chunks_iter(Axis(0), h) {
        let wtw = block.t().dot(&block);
        for ((i, j), x) in wtw.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((x - want).abs() < 1e-12, "WᵀW[{i}, {j}] = {x}");
        }
    }
    let w_ih = net
        .tape
        .params()
        .value(net.param("0.weight_ih_l0").unwrap());
    assert!(w_ih.iter().all(|x| x.abs() <= 1.0 / (h as f64).sqrt()));
}

/// `forget_bias = 1`: the forget slice (rows H..2H) of every layer's `bias_ih` is 1 and of
/// `bias_hh` 0; the other gates keep the default draw.
#[test]
fn forget_bias_sets_the_forget_slices() {
    let h = 3;
    let net = build(
        "input_shape = [4, 2]\nlayers = [{ type = \"lstm\", hidden_size = 3, num_layers = 2, forget_bias = 1.0 }]\n",
    );
    for l in 0..2 {
        let b_ih = net
            .tape
            .params()
            .value(net.param(&format!("0.bias_ih_l{l}")).unwrap());
        let b_hh = net
            .tape
            .params()
            .value(net.param(&format!("0.bias_hh_l{l}")).unwrap());
        for k in 0..4 * h {
            let forget = (h..2 * h).contains(&k);
            if forget {
                assert_eq!((b_ih[[k]], b_hh[[k]]), (1.0, 0.0), "layer {l}, row {k}");
            } else {
                assert!(
                    b_ih[[k]].abs() < 1.0 && b_ih[[k]] != 0.0,
                    "layer {l}, row {k}"
                );
            }
        }
    }
}

/// Bad settings and inputs are errors naming the layer and the setting; an unknown field
/// is a parse error.
#[test]
fn bad_settings_are_errors_naming_the_layer() {
    let cases = [
        (
            "input_shape = [4, 2]\nlayers = [{ type = \"lstm\", hidden_size = 0 }]\n",
            "hidden_size",
        ),
        (
            "input_shape = [4, 2]\nlayers = [{ type = \"gru\", hidden_size = 2, num_layers = 0 }]\n",
            "num_layers",
        ),
        (
            "input_shape = [4, 2]\nlayers = [{ type = \"rnn\", hidden_size = 2, truncate = 0 }]\n",
            "truncate",
        ),
        (
            "input_shape = [4, 2]\nlayers = [{ type = \"rnn\", hidden_size = 2, nonlinearity = \"sigmoid\" }]\n",
            "sigmoid",
        ),
        (
            "input_shape = [4, 2]\nlayers = [{ type = \"lstm\", hidden_size = 2, bias = false, forget_bias = 1.0 }]\n",
            "forget_bias",
        ),
        (
            "input_shape = [4, 2]\nlayers = [{ type = \"gru\", hidden_size = 2, recurrent_init = \"orthogonal:nan\" }]\n",
            "orthogonal",
        ),
        (
            "input_shape = [8]\nlayers = [{ type = \"lstm\", hidden_size = 2 }]\n",
            "[8]",
        ),
        (
            "input_shape = [8]\nlayers = [{ type = \"last_step\" }]\n",
            "[8]",
        ),
        (
            "input_shape = [4, 2]\nlayers = [{ type = \"lstm\", hidden_size = 2, hiden_size = 3 }]\n",
            "hiden_size",
        ),
    ];
    for (text, needle) in cases {
        let err = build_err(text);
        assert!(err.contains(needle), "{text}: {err}");
    }
    let err = build_err("input_shape = [4, 2]\nlayers = [{ type = \"lstm\", hidden_size = 0 }]\n");
    assert!(err.contains("layer 0 (LSTM(→0))"), "{err}");
}

/// A linear layer after an LSTM applies at every step (`[T, H]` → `[T, out]`), and
/// `last_step` keeps the final step: the numbers equal the LSTM's own outputs.
#[test]
fn per_step_linear_and_last_step_follow_a_recurrent_layer() {
    let mut net = build(
        "input_shape = [5, 2]\nlayers = [{ type = \"lstm\", hidden_size = 3 }, { type = \"linear\", out_features = 2 }]\n",
    );
    assert_eq!(net.plan().output_shape, [5, 2]);
    let x = uniform(&[4, 5, 2], -1.0, 1.0, 1);
    let y = net.predict_dyn(&x.view()).unwrap();
    assert_eq!(y.shape(), [4, 5, 2]);
    let mut seq = build("input_shape = [5, 2]\nlayers = [{ type = \"lstm\", hidden_size = 3 }]\n");
    let mut last = build(
        "input_shape = [5, 2]\nlayers = [{ type = \"lstm\", hidden_size = 3 }, { type = \"last_step\" }]\n",
    );
    let all = seq.predict_dyn(&x.view()).unwrap();
    let fin = last.predict_dyn(&x.view()).unwrap();
    assert_eq!(fin, all.index_axis(Axis(1), 4));
    // The per-step linear is the 2-D product of every row.
    let w = net
        .tape
        .params()
        .value(net.param("1.weight").unwrap())
        .into_dimensionality::<Ix2>()
        .unwrap()
        .to_owned();
    let b = net
        .tape
        .params()
        .value(net.param("1.bias").unwrap())
        .to_owned();
    let rows = all
        .to_shape((20, 3))
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap()
        .to_owned();
    let want = (rows.dot(&w.t()) + &b.into_dimensionality::<ndarray::Ix1>().unwrap())
        .into_shape_with_order((4, 5, 2))
        .unwrap()
        .into_dyn();
    let worst = y
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "{worst}");
}

/// After a backward pass the per-step gradient norms of each recurrent op can be read
/// from the tape, one per step.
#[test]
fn step_gradient_norms_are_readable_after_backward() {
    let mut net = build(
        "input_shape = [6, 2]\nlayers = [{ type = \"rnn\", hidden_size = 3 }, { type = \"last_step\" }]\n",
    );
    let x = uniform(&[2, 6, 2], -1.0, 1.0, 2);
    net.tape.reset();
    let xv = net.tape.input(x);
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    let mut taps = Vec::new();
    let y = net.forward(xv, true, &mut rng, Some(&mut taps)).unwrap();
    let loss = net.tape.sum(y).unwrap();
    net.tape.backward(loss).unwrap();
    let rnn_out = taps.iter().find(|t| t.kind == "RNN").unwrap().output;
    let norms = net
        .tape
        .op_of::<Recurrent<f64>>(rnn_out)
        .unwrap()
        .step_grad_norms();
    assert_eq!(norms.len(), 6);
    // Only the last step feeds the loss: the gradient reaching step 5 is the seed's, √2·√3.
    assert!((norms[5] - 6.0_f64.sqrt()).abs() < 1e-12, "{norms:?}");
    assert!(norms.iter().all(|n| n.is_finite() && *n > 0.0), "{norms:?}");
}

/// Every kind is registered, with its `type` name.
#[test]
fn the_kinds_are_registered() {
    for kind in ["Rnn", "Lstm", "Gru", "LastStep"] {
        assert!(LayerSpec::KINDS.contains(&kind), "{kind}");
    }
}

/// The summary prints the per-sample shapes of a sequence model, and the weights go
/// through safetensors and back: a network of another seed that loads them computes the
/// same outputs.
#[test]
fn summary_and_weights_round_trip() {
    let text = "input_shape = [5, 2]\nlayers = [{ type = \"gru\", hidden_size = 3, num_layers = 2 }, { type = \"last_step\" }, { type = \"linear\", out_features = 1 }]\n";
    let mut a = build(text);
    let summary = a.summary();
    assert!(
        summary.contains("0 (GRU)") && summary.contains("(None, 5, 3)"),
        "{summary}"
    );
    assert!(
        summary.contains("1 (LastStep)") && summary.contains("(None, 3)"),
        "{summary}"
    );
    let bytes = a.safetensors_bytes().unwrap();
    let mut b = Network::<f64>::build(&spec(text), 99).unwrap();
    let x = uniform(&[3, 5, 2], -1.0, 1.0, 4);
    assert_ne!(
        a.predict_dyn(&x.view()).unwrap(),
        b.predict_dyn(&x.view()).unwrap()
    );
    b.load_safetensors_bytes(&bytes, "memory").unwrap();
    assert_eq!(
        a.predict_dyn(&x.view()).unwrap(),
        b.predict_dyn(&x.view()).unwrap()
    );
}
