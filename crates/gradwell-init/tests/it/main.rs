//! Integration tests of gradwell-init: one binary, one module per topic.
//!
//! Statistical assertions use fixed seeds (ChaCha8 for the samplers, a fixed proptest seed
//! for the shapes), so each either always passes or always fails; each bound is derived
//! from the sampling distribution of its statistic and its false-alarm probability is
//! stated beside it.

mod basic;
mod bounds;
mod errors;
mod fans;
mod he_examples;
mod names;
mod orthogonal;
mod symmetry;
mod torch;
mod variance;

use gradwell_init::Initializer;
use proptest::test_runner::{Config, RngSeed};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Proptest settings shared by every property: a fixed seed, so the shapes drawn are the
/// same on every run.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x6772_6164_7765_6c6c),
        ..Config::default()
    }
}

/// A seeded RNG.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// At least `min_count` samples of `init` on `shape` (whole fills, repeated), in f64.
pub fn draw(init: &dyn Initializer<f64>, shape: &[usize], min_count: usize, seed: u64) -> Vec<f64> {
    let mut rng = rng(seed);
    let mut out = Vec::with_capacity(min_count);
    while out.len() < min_count {
        let a = init.sample(shape, &mut rng).expect("a valid shape");
        assert!(!a.is_empty(), "draw needs a non-empty shape");
        out.extend(a.iter().copied());
    }
    out
}
