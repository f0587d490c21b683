//! The scalar samplers every initializer draws from, in f64, from any [`RngCore`].

use rand::{Rng, RngCore};

/// Standard normal variates by Marsaglia's polar method, keeping the second variate of
/// each accepted pair for the next call. One `Gaussian` lives for one fill, so that
/// nothing is carried between calls and a seed reproduces a fill exactly.
#[derive(Debug, Default)]
pub(crate) struct Gaussian {
    spare: Option<f64>,
}

impl Gaussian {
    /// One draw from N(0, 1).
    pub(crate) fn next(&mut self, rng: &mut dyn RngCore) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * rng.random::<f64>() - 1.0;
            let v = 2.0 * rng.random::<f64>() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let m = (-2.0 * s.ln() / s).sqrt();
                self.spare = Some(v * m);
                return u * m;
            }
        }
    }

    /// One draw from N(0, 1) restricted to [−c, c], by rejection (c ≥ 1 accepts at least
    /// 68 % of proposals).
    pub(crate) fn next_within(&mut self, c: f64, rng: &mut dyn RngCore) -> f64 {
        loop {
            let z = self.next(rng);
            if z.abs() <= c {
                return z;
            }
        }
    }
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
        let mass = 0.5
            * (erfc(-beta / std::f64::consts::SQRT_2) - erfc(-alpha / std::f64::consts::SQRT_2));
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

    pub(crate) fn next(&self, gauss: &mut Gaussian, rng: &mut dyn RngCore) -> f64 {
        match self.method {
            Method::Normal => loop {
                let x = self.mean + self.std * gauss.next(rng);
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

/// The complementary error function to a relative error below 1.2e-7 (Numerical Recipes'
/// Chebyshev fit). Used only to choose a sampling method, never to shape a distribution.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        // erfc(0) = 1, erfc(1) = 0.157299207050285, erfc(−2) = 1.995322265018953.
        for (x, want) in [
            (0.0, 1.0),
            (1.0, 0.157_299_207_050_285),
            (-2.0, 1.995_322_265_018_953),
        ] {
            assert!(
                ((erfc(x) - want) / want).abs() < 1.2e-7,
                "erfc({x}) = {}",
                erfc(x)
            );
        }
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
