//! Helpers shared by the test modules.

use gradwell_nn::ModelSpec;
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An array of `shape` with elements uniform in [lo, hi), from a seeded ChaCha8 stream.
pub fn uniform(shape: &[usize], lo: f64, hi: f64, seed: u64) -> ArrayD<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.random_range(lo..hi))
}

/// A spec from TOML text, which must be valid.
pub fn spec(toml: &str) -> ModelSpec {
    ModelSpec::parse(toml).unwrap_or_else(|e| panic!("test spec does not parse: {e}"))
}

/// The model of the crate's PyTorch seed example, from its config file.
pub const PYTORCH_SEED: &str = include_str!("../../examples/pytorch_seed.toml");

/// The model of the crate's Keras seed example, from its config file.
pub const KERAS_SEED: &str = include_str!("../../examples/keras_seed.toml");
