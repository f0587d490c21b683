//! Integration tests of gradwell-monitor: one binary, one module per topic.
//!
//! Statistical assertions use fixed seeds (ChaCha8), so each always passes or always
//! fails; each bound is derived from the sampling distribution of its statistic, and its
//! false-alarm probability is stated beside it.

mod criticality;
mod diagnosis;
mod history;
mod isometry;
mod lsuv;
mod meanfield;
mod measured;
#[cfg(feature = "plots")]
mod plots;
mod provenance;
mod sequences;
mod stats;
mod theory;
mod through_time;

use gradwell_nn::{MlpSpec, ModelSpec, Network};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A `[rows, cols]` batch of independent N(0, 1) samples.
pub fn gaussian(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, cols), || {
        let z: f64 = StandardNormal.sample(&mut rng);
        z as f32
    })
}

/// The spec of `mlp` with every linear bias initialized by `bias_init`.
pub fn with_bias_init(mlp: &MlpSpec, bias_init: &str) -> ModelSpec {
    MlpSpec {
        bias_init: Some(bias_init.parse().expect("a valid initializer name")),
        ..mlp.clone()
    }
    .to_spec()
    .expect("valid MLP")
}

/// Builds an f32 network.
pub fn build(spec: &ModelSpec, seed: u64) -> Network<f32> {
    Network::build(spec, seed).expect("valid spec")
}

/// A temporary directory unique to this test process and `name`.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gradwell-monitor-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
