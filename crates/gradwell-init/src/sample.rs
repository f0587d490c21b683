//! The scalar samplers every initializer draws from, in f64, from any [`RngCore`]: normal
//! variates from `rand_distr` (its ziggurat), uniform ones from `rand`'s 53-bit
//! `random::<f64>()`, and PyTorch's truncated normal built on both.

use rand::{Rng, RngCore};
use rand_distr::{Distribution, StandardNormal};

use crate::law::standard_normal_mass;

/// One draw from N(0, 1).
pub(crate) fn standard_normal(rng: &mut dyn RngCore) -> f64 {
    StandardNormal.sample(rng)
}

/// One draw from U[low, high] (closed: rounding may reach `high`, never pass it).
pub(crate) fn uniform(low: f64, high: f64, rng: &mut dyn RngCore) -> f64 {
    (low + (high - low) * rng.random::<f64>()).min(high)
}

/// Draws N(mean, std²) restricted to [a, b] (absolute bounds), as PyTorch's
/// `trunc_normal_` does since it moved to rejection sampling: when the interval holds
/// more than 30 % of the mass, draw normals and redraw those outside; otherwise propose
/// uniformly on [a, b] and accept with the ratio of the density to its peak on [a, b]. A
/// far tail with an infinite side (where a uniform proposal is impossible) uses Robert's
/// exponential proposal. All three are exact; the threshold only decides speed.
#[derive(Debug)]
pub(crate) struct TruncNormalSampler {
    mean: f64,
    std: f64,
    a: f64,
    b: f64,
    method: Method,
}

#[derive(Debug)]
enum Method {
    Normal,
    Uniform {
        log_peak: f64,
    },
    /// Standardized lower bound `alpha` of a right tail, its rate, and the standardized
    /// upper bound; `flip` mirrors a left tail.
    Exponential {
        alpha: f64,
        lambda: f64,
        beta: f64,
        flip: bool,
    },
}

impl TruncNormalSampler {
    /// Expects `std > 0`, `a < b`, all finite except possibly `a = −∞` or `b = +∞`.
    pub(crate) fn new(mean: f64, std: f64, a: f64, b: f64) -> Self {
        let (alpha, beta) = ((a - mean) / std, (b - mean) / std);
        let mass = standard_normal_mass(alpha, beta);
        let method = if mass > 0.3 {
            Method::Normal
        } else if a.is_finite() && b.is_finite() {
            let peak = (mean.clamp(a, b) - mean) / std;
            Method::Uniform {
                log_peak: -0.5 * peak * peak,
            }
        } else {
            // One side is infinite and the mass is small, so the interval lies in one tail.
            let flip = alpha.is_infinite();
            let (lo, hi) = if flip { (-beta, -alpha) } else { (alpha, beta) };
            let lambda = (lo + (lo * lo + 4.0).sqrt()) / 2.0;
            Method::Exponential {
                alpha: lo,
                lambda,
                beta: hi,
                flip,
            }
        };
        TruncNormalSampler {
            mean,
            std,
            a,
            b,
            method,
        }
    }

    pub(crate) fn next(&self, rng: &mut dyn RngCore) -> f64 {
        match self.method {
            Method::Normal => loop {
                let x = self.mean + self.std * standard_normal(rng);
                if (self.a..=self.b).contains(&x) {
                    return x;
                }
            },
            Method::Uniform { log_peak } => loop {
                let x = uniform(self.a, self.b, rng);
                let z = (x - self.mean) / self.std;
                if rng.random::<f64>() < (-0.5 * z * z - log_peak).exp() {
                    return x;
                }
            },
            Method::Exponential {
                alpha,
                lambda,
                beta,
                flip,
            } => loop {
                // 1 − U lies in (0, 1], so its logarithm is finite.
                let z = alpha - (1.0 - rng.random::<f64>()).ln() / lambda;
                let accept = (-0.5 * (z - lambda) * (z - lambda)).exp();
                if z <= beta && rng.random::<f64>() < accept {
                    let z = if flip { -z } else { z };
                    let x = self.mean + self.std * z;
                    if (self.a..=self.b).contains(&x) {
                        return x;
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_follows_the_exact_mass_at_the_threshold() {
        // [0, b] with Φ(b) = 0.8 ± 5e-9 holds 30 % of the mass ± 5e-9: the normal method
        // above the threshold, rejection from a uniform below. (Numerical Recipes' erfc,
        // used here before libm's, is 1.3e-8 low on this interval and chose the uniform
        // for both.)
        assert!(matches!(
            TruncNormalSampler::new(0.0, 1.0, 0.0, 0.841_621_251_432_485_9).method,
            Method::Normal
        ));
        assert!(matches!(
            TruncNormalSampler::new(0.0, 1.0, 0.0, 0.841_621_215_713_342_9).method,
            Method::Uniform { .. }
        ));
    }

    #[test]
    fn each_truncation_method_is_chosen_where_it_should_be() {
        assert!(matches!(
            TruncNormalSampler::new(0.0, 1.0, -2.0, 2.0).method,
            Method::Normal
        ));
        assert!(matches!(
            TruncNormalSampler::new(0.0, 1.0, 1.0, 3.0).method,
            Method::Uniform { .. }
        ));
        let right = TruncNormalSampler::new(0.0, 1.0, 3.0, f64::INFINITY);
        assert!(matches!(
            right.method,
            Method::Exponential { flip: false, .. }
        ));
        let left = TruncNormalSampler::new(0.0, 1.0, f64::NEG_INFINITY, -3.0);
        assert!(matches!(
            left.method,
            Method::Exponential { flip: true, .. }
        ));
    }
}
