//! Jacobians of every layer kind and of networks with respect to their input: against
//! central differences, JVP and VJP against each other, a deep linear network against the
//! product of its weights, and PyTorch's `jacobian` and `svdvals` (committed fixtures).

use gradwell_autodiff::{GradCheck, Tape};
use gradwell_nn::{JacobianMode, LayerSpec, ModelSpec, Module, Network, module_jacobian};
use ndarray::{Array1, Array2, ArrayD, Ix2};

use crate::common::{spec, uniform};

const BATCH: usize = 3;

/// The Jacobian of `net` in `mode` at `x` against central differences (on a copy of its
/// parameters), and the network's own `jacobian_in` equal to the checked one.
fn check_against_differences(net: &mut Network<f64>, x: &ArrayD<f64>, mode: JacobianMode) {
    let mut tape = Tape::with_params(net.tape.params().clone());
    let root = net.root();
    let check = GradCheck::default()
        .jacobian(&mut tape, &x.view(), |t, v| {
            let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(mode.seed);
            let mut ctx = gradwell_nn::Ctx {
                tape: t,
                training: mode.training,
                rng: &mut rng,
                taps: None,
            };
            root.forward(&mut ctx, v)
        })
        .expect("the forward pass runs");
    assert!(check.passed, "{:?} {mode:?}: {check}", net.spec());
    let j = net.jacobian_in(&x.view(), mode).expect("runs");
    assert_eq!(j.matrix, check.analytic, "{:?} {mode:?}", net.spec());
}

/// Every registered layer kind, through its examples, in evaluation and training mode
/// (dropout's mask fixed by the seed; batch norm on the batch's statistics).
#[test]
fn every_layer_kinds_jacobian_matches_central_differences() {
    for (input_shape, layer) in LayerSpec::examples() {
        let model = ModelSpec {
            input_shape: input_shape.clone(),
            layers: vec![layer],
        };
        let mut net = Network::<f64>::build(&model, 3).expect("the example builds");
        let mut shape = vec![BATCH];
        shape.extend(&input_shape);
        let x = uniform(&shape, -2.0, 2.0, 11);
        for mode in [JacobianMode::EVAL, JacobianMode::training(5)] {
            check_against_differences(&mut net, &x, mode);
        }
    }
}

const SMALL_NET: &str = r#"
input_shape = [4]
[[layers]]
type = "linear"
out_features = 5
[[layers]]
type = "batch_norm"
[[layers]]
type = "activation"
activation = "tanh"
[[layers]]
type = "linear"
out_features = 5
[[layers]]
type = "activation"
activation = "relu"
[[layers]]
type = "dropout"
p = 0.3
[[layers]]
type = "linear"
out_features = 3
"#;

/// A small network in both modes; in training mode batch norm couples the samples, so
/// the Jacobian has blocks between samples, and the network is left as it was.
#[test]
fn a_small_networks_jacobian_matches_central_differences_and_leaves_it_unchanged() {
    let mut net = Network::<f64>::build(&spec(SMALL_NET), 7).expect("builds");
    let x = uniform(&[BATCH, 4], -1.5, 1.5, 2);
    let before: Vec<ArrayD<f64>> = net
        .tape
        .params()
        .ids()
        .map(|id| net.tape.params().value(id).to_owned())
        .collect();
    for mode in [JacobianMode::EVAL, JacobianMode::training(9)] {
        check_against_differences(&mut net, &x, mode);
    }
    let eval = net.jacobian(&x.view()).unwrap().to_array();
    let train = net
        .jacobian_in(&x.view(), JacobianMode::training(9))
        .unwrap()
        .to_array();
    assert_eq!(eval.shape(), &[BATCH, 3, BATCH, 4]);
    let off_block = |j: &ArrayD<f64>| {
        let mut m: f64 = 0.0;
        for (idx, &v) in j.indexed_iter() {
            if idx[0] != idx[2] {
                m = m.max(v.abs());
            }
        }
        m
    };
    assert_eq!(
        off_block(&eval),
        0.0,
        "samples do not interact in evaluation"
    );
    assert!(
        off_block(&train) > 1e-3,
        "batch norm couples the samples in training"
    );
    let store = net.tape.params();
    for (id, b) in store.ids().zip(&before) {
        assert_eq!(store.value(id), b.view(), "{} changed", store.name(id));
        assert!(
            store.grad(id).iter().all(|&g| g == 0.0),
            "{} has a gradient",
            store.name(id)
        );
    }
    // Batch norm in training mode refuses a batch of one, with its own message.
    let err = net
        .jacobian_in(
            &x.slice(ndarray::s![0..1, ..]).into_dyn(),
            JacobianMode::training(0),
        )
        .unwrap_err();
    assert!(err.to_string().contains("batch"), "{err}");
}

/// uᵀ(Jv) = (uᵀJ)v, and both products equal those with the whole Jacobian.
#[test]
fn jvp_and_vjp_agree_with_each_other_and_with_the_jacobian() {
    let mut net = Network::<f64>::build(&spec(SMALL_NET), 1).expect("builds");
    let x = uniform(&[BATCH, 4], -1.5, 1.5, 3);
    let u = uniform(&[BATCH, 3], -1.0, 1.0, 4);
    let v = uniform(&[BATCH, 4], -1.0, 1.0, 5);
    for mode in [JacobianMode::EVAL, JacobianMode::training(2)] {
        let j = net.jacobian_in(&x.view(), mode).unwrap();
        let (y1, ujt) = net.vjp(&x.view(), &u.view(), mode).unwrap();
        let (y2, jv) = net.jvp(&x.view(), &v.view(), mode).unwrap();
        assert_eq!(y1, j.output);
        assert_eq!(y2, j.output);
        let uf = Array1::from_iter(u.iter().copied());
        let vf = Array1::from_iter(v.iter().copied());
        for (a, e) in ujt.iter().zip(&uf.dot(&j.matrix)) {
            assert!((a - e).abs() < 1e-12, "{mode:?}: {a} vs {e}");
        }
        for (a, e) in jv.iter().zip(&j.matrix.dot(&vf)) {
            assert!((a - e).abs() < 1e-12, "{mode:?}: {a} vs {e}");
        }
        let lhs: f64 = u.iter().zip(&jv).map(|(a, b)| a * b).sum();
        let rhs: f64 = ujt.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert!(
            (lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }
}

/// The Householder reflection I − 2wwᵀ/wᵀw.
fn reflection(w: &[f64]) -> Array2<f64> {
    let n = w.len();
    let ww: f64 = w.iter().map(|a| a * a).sum();
    Array2::from_shape_fn((n, n), |(i, j)| {
        f64::from(u8::from(i == j)) - 2.0 * w[i] * w[j] / ww
    })
}

/// A deep linear network's Jacobian is the product of its weights, W_L⋯W_1, and with
/// W_k = Q_k·diag(d_k)·Q_{k−1}ᵀ (Q orthogonal) its singular values are |Π_k d_k| exactly.
#[test]
fn a_deep_linear_networks_jacobian_is_the_product_of_its_weights() {
    const N: usize = 4;
    const DEPTH: usize = 12;
    let layers = [r#"{"type": "linear", "out_features": 4}"#; DEPTH].join(",");
    let model = ModelSpec::parse(&format!(
        r#"{{"input_shape": [{N}], "layers": [{layers}]}}"#
    ))
    .expect("parses");
    let mut net = Network::<f64>::build(&model, 0).expect("builds");
    let q: Vec<Array2<f64>> = (0..=DEPTH)
        .map(|k| reflection(&[1.0, k as f64 * 0.3 - 1.0, 0.5, (k % 3) as f64 + 0.25]))
        .collect();
    let d: Vec<[f64; N]> = (0..DEPTH)
        .map(|k| {
            let k = k as f64;
            [1.1 + 0.01 * k, 0.9, -0.8 - 0.02 * k, 1.3 - 0.05 * k]
        })
        .collect();
    let mut product = Array2::<f64>::eye(N);
    for k in 0..DEPTH {
        let w = q[k + 1]
            .dot(&Array2::from_diag(&Array1::from(d[k].to_vec())))
            .dot(&q[k].t());
        let id = net.param(&format!("{k}.weight")).expect("a weight");
        net.tape
            .params_mut()
            .value_mut(id)
            .assign(&w.view().into_dyn());
        product = w.dot(&product);
    }
    let x = uniform(&[1, N], -1.0, 1.0, 8);
    let j = net.jacobian(&x.view()).unwrap();
    let err = (&j.matrix - &product)
        .iter()
        .fold(0.0_f64, |m, e| m.max(e.abs()));
    assert!(err < 1e-12, "max |J − W_L⋯W_1| = {err:e}");
    let mut want: Vec<f64> = (0..N)
        .map(|i| d.iter().map(|dk| dk[i]).product::<f64>().abs())
        .collect();
    want.sort_by(|a, b| b.total_cmp(a));
    let s = j.singular_values().unwrap();
    for (got, want) in s.values.iter().zip(&want) {
        assert!(
            (got - want).abs() < 1e-12 * want,
            "{:?} vs {want:?}",
            s.values
        );
    }
    assert!((s.condition() - want[0] / want[N - 1]).abs() < 1e-10 * s.condition());
}

/// A layer alone, outside a network: a linear layer's Jacobian on a batch is its weight
/// on every diagonal block.
#[test]
fn a_layers_jacobian_on_a_batch_is_block_diagonal() {
    let net = Network::<f64>::build(&spec(SMALL_NET), 4).expect("builds");
    let layer = &net.root().layers()[0];
    let x = uniform(&[2, 4], -1.0, 1.0, 6);
    let mut tape = Tape::with_params(net.tape.params().clone());
    let j = module_jacobian(layer.as_ref(), &mut tape, &x.view(), JacobianMode::EVAL).unwrap();
    let w: Array2<f64> = net
        .tape
        .params()
        .value(net.param("0.weight").unwrap())
        .to_owned()
        .into_dimensionality::<Ix2>()
        .unwrap();
    let full = j.to_array();
    for (idx, &v) in full.indexed_iter() {
        let want = if idx[0] == idx[2] {
            w[[idx[1], idx[3]]]
        } else {
            0.0
        };
        assert_eq!(v, want, "{idx:?}");
    }
}

/// The fixtures' models, as `gen_jacobian_fixtures.py` writes them in PyTorch.
const TORCH_TANH: &str = r#"
input_shape = [4]
layers = [
    { type = "linear", out_features = 6 }, { type = "activation", activation = "tanh" },
    { type = "linear", out_features = 5 }, { type = "activation", activation = "tanh" },
    { type = "linear", out_features = 3 },
]
"#;
const TORCH_RELU_BN: &str = r#"
input_shape = [4]
layers = [
    { type = "linear", out_features = 6 }, { type = "batch_norm" },
    { type = "activation", activation = "relu" },
    { type = "linear", out_features = 5 }, { type = "activation", activation = "relu" },
    { type = "linear", out_features = 3 },
]
"#;

/// A JSON array of numbers (nested to any depth) as an array of the given shape.
fn array_of(v: &serde_json::Value) -> ArrayD<f64> {
    fn walk(v: &serde_json::Value, shape: &mut Vec<usize>, depth: usize, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Array(items) => {
                if shape.len() == depth {
                    shape.push(items.len());
                }
                for item in items {
                    walk(item, shape, depth + 1, out);
                }
            }
            other => out.push(other.as_f64().expect("a number")),
        }
    }
    let (mut shape, mut data) = (Vec::new(), Vec::new());
    walk(v, &mut shape, 0, &mut data);
    ArrayD::from_shape_vec(shape, data).expect("a rectangular array")
}

/// `torch.autograd.functional.jacobian` and `torch.linalg.svdvals` of two small MLPs with
/// fixed weights (tanh; ReLU with batch norm in evaluation mode), on a batch of two.
#[test]
fn jacobians_and_singular_values_match_pytorchs() {
    let fixtures: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/jacobian.json")).expect("JSON");
    assert!(fixtures["torch_version"].as_str().is_some());
    for (name, model) in [("tanh", TORCH_TANH), ("relu_bn", TORCH_RELU_BN)] {
        let f = &fixtures[name];
        let mut net = Network::<f64>::build(&spec(model), 0).expect("builds");
        let weights = f["weights"].as_object().expect("weights");
        for (param, value) in weights {
            let id = net
                .param(param)
                .unwrap_or_else(|| panic!("{name}: no {param}"));
            net.tape.params_mut().value_mut(id).assign(&array_of(value));
        }
        let x = array_of(&f["input"]);
        let j = net.jacobian(&x.view()).expect("runs");
        let close = |got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str| {
            assert_eq!(got.shape(), want.shape(), "{name}: {what}");
            for (g, w) in got.iter().zip(want) {
                assert!(
                    (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                    "{name} {what}: {g} vs {w}"
                );
            }
        };
        close(&j.output, &array_of(&f["output"]), "output");
        close(&j.to_array(), &array_of(&f["jacobian"]), "jacobian");
        let sample = net
            .jacobian(&x.slice(ndarray::s![0..1, ..]).into_dyn())
            .expect("runs");
        let s = sample.singular_values().expect("finite");
        close(
            &Array1::from(s.values).into_dyn(),
            &array_of(&f["svdvals_sample"]),
            "sample svdvals",
        );
        let s = j.singular_values().expect("finite");
        close(
            &Array1::from(s.values).into_dyn(),
            &array_of(&f["svdvals_batch"]),
            "batch svdvals",
        );
    }
}
