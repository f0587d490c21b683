//! [`Law`]: the distribution one element of a fill is drawn from, with its moments and its
//! sampler — the facts an initializer declares and the one place its draws come from.

use ndarray::ArrayViewMutD;
use num_traits::Float;
use rand::RngCore;

use crate::initializer::{cast, fill_each};
use crate::sample::{TruncNormalSampler, standard_normal, uniform};

/// The law every element of a fill is drawn from, independently of the others, for one
/// shape: what [`InitInfo::law`](crate::InitInfo::law) declares, what the initializer's
/// fill samples, and what the variance tests and `cargo xtask verify` hold the samples to.
///
/// ```
/// use gradwell_init::{Init, InitInfo, Law};
///
/// // He normal on nn.Linear(784, 128), whose weight is [128, 784]: N(0, 2/784).
/// let law = "he-normal".parse::<Init>()?.law(&[128, 784])?;
/// let Some(Law::Normal { mean: 0.0, std }) = law else { panic!("{law:?}") };
/// assert!((std * std / (2.0 / 784.0) - 1.0).abs() < 1e-15);
/// // The uniform's variance is its width squared over 12.
/// assert_eq!(Law::Uniform { low: -3.0, high: 3.0 }.variance(), 3.0);
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Law {
    /// Every element equal to `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// U[low, high].
    Uniform {
        /// The lower bound.
        low: f64,
        /// The upper bound, at least `low`.
        high: f64,
    },
    /// N(mean, std²).
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation, at least 0.
        std: f64,
    },
    /// N(mean, std²) restricted to [a, b] (absolute bounds; either may be infinite).
    TruncatedNormal {
        /// The mean before truncation.
        mean: f64,
        /// The standard deviation before truncation, above 0.
        std: f64,
        /// The lower bound.
        a: f64,
        /// The upper bound, above `a`.
        b: f64,
    },
}

/// The mean and variance of one element of a fill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// E(X).
    pub mean: f64,
    /// E((X − E(X))²).
    pub variance: f64,
}

impl Law {
    /// The mean and variance.
    pub fn moments(&self) -> Moments {
        let (mean, variance, _) = self.central_moments();
        Moments { mean, variance }
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        self.central_moments().0
    }

    /// The variance.
    pub fn variance(&self) -> f64 {
        self.central_moments().1
    }

    /// The fourth central moment E((X − E(X))⁴): with the variance σ², the sample
    /// variance about the known mean over n draws has variance (μ₄ − σ⁴)/n.
    pub fn fourth_central_moment(&self) -> f64 {
        self.central_moments().2
    }

    /// The smallest interval holding every draw (infinite for the normal).
    pub fn support(&self) -> (f64, f64) {
        match *self {
            Law::Constant { value } => (value, value),
            Law::Uniform { low, high } => (low, high),
            Law::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY),
            Law::TruncatedNormal { a, b, .. } => (a, b),
        }
    }

    /// Mean, variance and fourth central moment.
    fn central_moments(&self) -> (f64, f64, f64) {
        match *self {
            Law::Constant { value } => (value, 0.0, 0.0),
            Law::Uniform { low, high } => {
                let w = high - low;
                (low + w / 2.0, w * w / 12.0, w.powi(4) / 80.0)
            }
            Law::Normal { mean, std } => (mean, std * std, 3.0 * std.powi(4)),
            Law::TruncatedNormal { mean, std, a, b } => {
                // Raw moments of the standardized normal on [α, β], by the recursion
                // m_k = (k−1)·m_{k−2} + (α^{k−1}φ(α) − β^{k−1}φ(β)) / Z, Z = Φ(β) − Φ(α).
                let (alpha, beta) = ((a - mean) / std, (b - mean) / std);
                let z = standard_normal_mass(alpha, beta);
                let step = |k: i32| (tail_term(alpha, k - 1) - tail_term(beta, k - 1)) / z;
                let m1 = step(1);
                let m2 = 1.0 + step(2);
                let m3 = 2.0 * m1 + step(3);
                let m4 = 3.0 * m2 + step(4);
                let c2 = m2 - m1 * m1;
                let c4 = m4 - 4.0 * m1 * m3 + 6.0 * m1 * m1 * m2 - 3.0 * m1.powi(4);
                (mean + std * m1, std * std * c2, std.powi(4) * c4)
            }
        }
    }

    /// Fills `a`, element by element in logical order, with independent draws. The
    /// parameters must be valid (the initializer checked them).
    pub(crate) fn fill<F: Float>(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) {
        match *self {
            Law::Constant { value } => a.fill(cast(value)),
            Law::Uniform { low, high } => fill_each(a, || uniform(low, high, rng)),
            Law::Normal { mean, std } => fill_each(a, || mean + std * standard_normal(rng)),
            Law::TruncatedNormal {
                mean,
                std,
                a: lo,
                b: hi,
            } => {
                let sampler = TruncNormalSampler::new(mean, std, lo, hi);
                fill_each(a, || sampler.next(rng));
            }
        }
    }
}

/// φ(x), the standard normal density.
fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// x^k·φ(x), taken as 0 at ±∞.
fn tail_term(x: f64, k: i32) -> f64 {
    if x.is_infinite() {
        0.0
    } else {
        x.powi(k) * normal_pdf(x)
    }
}

/// Φ(β) − Φ(α) for α ≤ β, from whichever tail keeps the difference free of cancellation.
pub(crate) fn standard_normal_mass(alpha: f64, beta: f64) -> f64 {
    // Q(x) = 1 − Φ(x) = erfc(x/√2)/2, accurate far into either tail.
    let q = |x: f64| 0.5 * libm::erfc(x / std::f64::consts::SQRT_2);
    if alpha >= 0.0 {
        q(alpha) - q(beta)
    } else if beta <= 0.0 {
        q(-beta) - q(-alpha)
    } else {
        1.0 - q(-alpha) - q(beta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_mass_matches_known_values() {
        // Φ(2) − Φ(−2) = 0.9544997361036416; Φ(∞) − Φ(1) = 0.15865525393145707;
        // Φ(−8) = 6.22096057427178e-16 (a far tail, without cancellation).
        let close = |x: f64, y: f64| ((x - y) / y).abs() < 1e-14;
        assert!(close(
            standard_normal_mass(-2.0, 2.0),
            0.954_499_736_103_641_6
        ));
        assert!(close(
            standard_normal_mass(1.0, f64::INFINITY),
            0.158_655_253_931_457_07
        ));
        assert!(close(
            standard_normal_mass(f64::NEG_INFINITY, -8.0),
            6.220_960_574_271_78e-16
        ));
    }

    #[test]
    fn truncated_moments_match_known_values() {
        // N(0, 1) cut at ±2: std 0.87962566103423978 (Keras's constant), kurtosis 2.3655
        // (scipy.stats.truncnorm(-2, 2).stats(moments='k') + 3 = 2.36552...).
        let law = Law::TruncatedNormal {
            mean: 0.0,
            std: 1.0,
            a: -2.0,
            b: 2.0,
        };
        let v = law.variance();
        assert!(
            (v.sqrt() - crate::KERAS_TRUNCATION_STD).abs() < 1e-15,
            "{v}"
        );
        assert_eq!(law.mean(), 0.0);
        let kurtosis = law.fourth_central_moment() / (v * v);
        assert!((kurtosis - 2.365_5).abs() < 1e-4, "{kurtosis}");
        // One-sided: N(0.5, 1) on [2.5, ∞) has mean 0.5 + φ(2)/Q(2) = 2.873...
        // (scipy.stats.truncnorm(2, inf, loc=0.5).mean() = 2.8732155...).
        let tail = Law::TruncatedNormal {
            mean: 0.5,
            std: 1.0,
            a: 2.5,
            b: f64::INFINITY,
        };
        assert!((tail.mean() - 2.873_215_5).abs() < 1e-6, "{}", tail.mean());
    }

    #[test]
    fn simple_laws_have_their_textbook_moments() {
        let u = Law::Uniform {
            low: -0.3,
            high: 0.5,
        };
        assert!((u.mean() - 0.1).abs() < 1e-16);
        assert!((u.variance() - 0.64 / 12.0).abs() < 1e-16);
        assert!((u.fourth_central_moment() - 0.8_f64.powi(4) / 80.0).abs() < 1e-16);
        let n = Law::Normal {
            mean: 3.0,
            std: 0.5,
        };
        assert_eq!(
            (n.mean(), n.variance(), n.fourth_central_moment()),
            (3.0, 0.25, 0.1875)
        );
        let c = Law::Constant { value: -2.0 };
        assert_eq!(
            c.moments(),
            Moments {
                mean: -2.0,
                variance: 0.0
            }
        );
        assert_eq!(c.support(), (-2.0, -2.0));
    }
}
