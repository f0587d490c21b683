//! Weights saved by PyTorch (`safetensors.torch.save_file` of a `state_dict`) load into
//! the same architecture built from a config, and give PyTorch's outputs. The fixtures are
//! made by `fixtures/gen_torch_weights.sh`, which also checks the other direction (weights
//! saved here load in PyTorch); this test needs no PyTorch.

use std::path::Path;

use gradwell_autodiff::Float;
use gradwell_nn::{ModelSpec, Network};
use ndarray::Array2;
use serde_json::Value;

use crate::common::{PYTORCH_SEED, spec};

const TORCH_BN: &str = include_str!("../../fixtures/torch_bn.toml");

/// Agreement asked of f32 outputs computed in a different order (PyTorch's BLAS).
const TOLERANCE: f64 = 1e-5;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
}

fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).expect("a matrix");
    Array2::from_shape_vec(
        (rows.len(), rows[0].len()),
        rows.into_iter().flatten().collect(),
    )
    .expect("rectangular")
}

/// Loads PyTorch's weights for `name` into `spec` built in `F`, and returns the largest
/// difference from PyTorch's outputs on the recorded batch.
fn max_difference<F: Float>(spec: &ModelSpec, name: &str) -> (f64, Network<F>) {
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("torch_outputs.json")).expect("fixture"),
    )
    .expect("JSON");
    let mut net = Network::<F>::build(spec, 0).expect("builds");
    net.load_safetensors(&fixtures().join(format!("torch_{name}.safetensors")))
        .expect("PyTorch's weights load");
    let x = matrix(&recorded[name]["input"]).mapv(F::of);
    let y = net.predict(&x.view()).expect("runs");
    let expected = matrix(&recorded[name]["output"]);
    assert_eq!(y.dim(), expected.dim());
    let diff = y
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a.as_f64() - b).abs())
        .fold(0.0, f64::max);
    (diff, net)
}

#[test]
fn pytorch_seed_weights_give_pytorch_outputs() {
    let seed = spec(PYTORCH_SEED);
    let (diff, _) = max_difference::<f32>(&seed, "seed");
    assert!(diff <= TOLERANCE, "f32: {diff}");
    let (diff, _) = max_difference::<f64>(&seed, "seed");
    assert!(diff <= TOLERANCE, "f64: {diff}");
}

#[test]
fn pytorch_batch_norm_weights_and_statistics_give_pytorch_outputs() {
    let bn = spec(TORCH_BN);
    let (diff, net) = max_difference::<f32>(&bn, "bn");
    assert!(diff <= TOLERANCE, "f32: {diff}");
    // The int64 counter and the moved statistics came from the file.
    let p = net.tape.params();
    let count = p.value(net.param("1.num_batches_tracked").expect("present"))[[]];
    assert_eq!(count, 5.0);
    let var = p.value(net.param("1.running_var").expect("present"));
    assert!(var.iter().all(|&v| (v - 1.0).abs() > 1e-3), "{var}");
    let (diff, _) = max_difference::<f64>(&bn, "bn");
    assert!(diff <= TOLERANCE, "f64: {diff}");
}

#[test]
fn the_outputs_are_not_those_of_fresh_weights() {
    // Guard against a vacuous pass: the same model with its own initial weights is far
    // from PyTorch's outputs.
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("torch_outputs.json")).expect("fixture"),
    )
    .expect("JSON");
    let mut net = Network::<f32>::build(&spec(TORCH_BN), 0).expect("builds");
    let x = matrix(&recorded["bn"]["input"]).mapv(|v| v as f32);
    let y = net.predict(&x.view()).expect("runs");
    let expected = matrix(&recorded["bn"]["output"]);
    let diff = y
        .iter()
        .zip(&expected)
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max);
    assert!(diff > 1e-2, "{diff}");
}
