//! Shared fixtures: seeded arrays, naive per-channel statistics, named tolerances.

use gradwell_autodiff::{ParamId, ParamStore};
use ndarray::{ArrayD, Axis, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Agreement of two f64 computations of one formula in different orders (a few hundred
/// ulps of values of order one).
pub const F64_TOL: f64 = 1e-12;

/// Agreement in f64 when the computation subtracts a mean up to 10³ times the spread
/// (the rounding of the mean, ~1e-16·10³, is amplified by 1/σ).
pub const F64_LOOSE: f64 = 1e-9;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Uniform values in `[lo, hi)`.
pub fn uniform(rng: &mut ChaCha8Rng, shape: &[usize], lo: f64, hi: f64) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(lo..hi))
}

/// Uniform values in [−1, 1) scaled and shifted per channel (axis 1): channel `k` gets
/// `x·scale[k] + shift[k]`.
pub fn per_channel(
    rng: &mut ChaCha8Rng,
    shape: &[usize],
    scale: &[f64],
    shift: &[f64],
) -> ArrayD<f64> {
    let mut x = uniform(rng, shape, -1.0, 1.0);
    for (k, mut lane) in x.axis_iter_mut(Axis(1)).enumerate() {
        lane.mapv_inplace(|v| v * scale[k] + shift[k]);
    }
    x
}

/// Every value of channel `k` (axis 1), in order.
pub fn channel(x: &ndarray::ArrayViewD<'_, f64>, k: usize) -> Vec<f64> {
    x.index_axis(Axis(1), k).iter().copied().collect()
}

/// Mean and biased variance (÷n), two-pass.
pub fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var)
}

/// The unbiased variance (÷(n − 1)).
pub fn unbiased_var(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    mean_var(v).1 * n / (n - 1.0)
}

/// A parameter's values as a vector.
pub fn values(store: &ParamStore<f64>, id: ParamId) -> Vec<f64> {
    store.value(id).iter().copied().collect()
}

/// The minimum over channels of the biased variance.
pub fn min_channel_var(x: &ArrayD<f64>) -> f64 {
    (0..x.shape()[1])
        .map(|k| mean_var(&channel(&x.view(), k)).1)
        .fold(f64::INFINITY, f64::min)
}
