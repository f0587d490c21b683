//! Initializers that need no fans: constants and fixed distributions.

use ndarray::ArrayViewMutD;
use num_traits::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::initializer::{cast, fill_each, finite};
use crate::sample::{Gaussian, TruncNormalSampler, uniform};
use crate::{InitError, Initializer};

/// Every element set to one value (PyTorch's `constant_`, `zeros_`, `ones_`). It breaks no
/// symmetry: every unit of a layer so initialized computes the same function and gets the
/// same gradient, so use it for biases and norm scales, not for weights.
///
/// ```
/// use gradwell_init::{Constant, Initializer};
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let b: ndarray::ArrayD<f64> = Constant::ZEROS.sample(&[4], &mut rng)?;
/// assert!(b.iter().all(|&x| x == 0.0));
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Constant {
    /// The value.
    pub value: f64,
}

impl Constant {
    /// Zeros (`zeros_`).
    pub const ZEROS: Constant = Constant { value: 0.0 };
    /// Ones (`ones_`).
    pub const ONES: Constant = Constant { value: 1.0 };
}

impl<F: Float> Initializer<F> for Constant {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, _rng: &mut dyn RngCore) -> Result<(), InitError> {
        // Infinite and NaN constants are allowed, as in PyTorch: they are not random.
        a.fill(cast(self.value));
        Ok(())
    }
}

/// U[low, high] (PyTorch's `uniform_(t, a, b)`), any shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Uniform {
    /// The lower bound.
    pub low: f64,
    /// The upper bound, at least `low`.
    pub high: f64,
}

impl<F: Float> Initializer<F> for Uniform {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) -> Result<(), InitError> {
        let low = finite("uniform", "low", self.low)?;
        let high = finite("uniform", "high", self.high)?;
        if high < low {
            let why = "the upper bound must be at least the lower bound";
            return Err(InitError::BadParameter {
                initializer: "uniform",
                parameter: "high",
                value: high,
                why,
            });
        }
        fill_each(a, || uniform(low, high, rng));
        Ok(())
    }
}

/// N(mean, std²), untruncated (PyTorch's `normal_(t, mean, std)`), any shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normal {
    /// The mean.
    pub mean: f64,
    /// The standard deviation, at least 0.
    pub std: f64,
}

impl<F: Float> Initializer<F> for Normal {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) -> Result<(), InitError> {
        let mean = finite("normal", "mean", self.mean)?;
        let std = nonnegative("normal", self.std)?;
        let mut gauss = Gaussian::default();
        fill_each(a, || mean + std * gauss.next(rng));
        Ok(())
    }
}

/// N(mean, std²) restricted to **absolute** bounds [a, b], as PyTorch's
/// `trunc_normal_(t, mean, std, a, b)` (defaults 0, 1, −2, 2). The bounds are not multiples
/// of `std`: with `std = 0.02` and the default bounds nothing is cut. For Keras-style
/// truncation at ±2σ with the variance corrected, use
/// [`Distribution::TruncatedNormal`](crate::Distribution::TruncatedNormal). Samples never
/// leave [a, b]; their variance is below std².
///
/// Sampling is by rejection, as PyTorch's since it dropped the inverse-CDF method (which
/// leaked values at the bounds in float32); either bound may be infinite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TruncatedNormal {
    /// The mean of the normal before truncation.
    pub mean: f64,
    /// The standard deviation of the normal before truncation, above 0.
    pub std: f64,
    /// The lower bound, in the samples' own units.
    pub a: f64,
    /// The upper bound, above `a`.
    pub b: f64,
}

impl Default for TruncatedNormal {
    /// PyTorch's defaults: mean 0, std 1, bounds [−2, 2].
    fn default() -> Self {
        TruncatedNormal {
            mean: 0.0,
            std: 1.0,
            a: -2.0,
            b: 2.0,
        }
    }
}

impl<F: Float> Initializer<F> for TruncatedNormal {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) -> Result<(), InitError> {
        const NAME: &str = "trunc-normal";
        let mean = finite(NAME, "mean", self.mean)?;
        let std = finite(NAME, "std", self.std)?;
        let bad = |parameter, value, why| InitError::BadParameter {
            initializer: NAME,
            parameter,
            value,
            why,
        };
        if std <= 0.0 {
            return Err(bad("std", std, "must be above 0"));
        }
        if self.a.is_nan() || self.a == f64::INFINITY {
            return Err(bad("a", self.a, "must be a number below +inf"));
        }
        if self.b.is_nan() || self.b <= self.a {
            return Err(bad("b", self.b, "must be above a"));
        }
        let sampler = TruncNormalSampler::new(mean, std, self.a, self.b);
        let mut gauss = Gaussian::default();
        fill_each(a, || sampler.next(&mut gauss, rng));
        Ok(())
    }
}

fn nonnegative(initializer: &'static str, std: f64) -> Result<f64, InitError> {
    let std = finite(initializer, "std", std)?;
    if std < 0.0 {
        let why = "a standard deviation must be at least 0";
        return Err(InitError::BadParameter {
            initializer,
            parameter: "std",
            value: std,
            why,
        });
    }
    Ok(std)
}
