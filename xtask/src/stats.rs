//! Distribution functions and tests used by the statistical checks.
//!
//! The Kolmogorov–Smirnov test is statrs's. The normal distribution function is libm's
//! `erfc` rather than statrs's `Normal`: statrs 0.19.1's is good to about 1e-10 relative
//! (Φ(1) is 1.4e-11 low), libm's to an ulp or two, and the truncated normal's moments here
//! are checked to 1e-15 (see ARCHITECTURE.md).

use statrs::distribution::ContinuousCDF;
use statrs::statistics::{Max, Min};
use statrs::stats_tests::NaNPolicy;
use statrs::stats_tests::ks_test::{KSOneSampleAlternativeMethod, ks_onesample};

/// The standard normal CDF Φ(x), computed from the complementary error function.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The Kolmogorov–Smirnov statistic of `samples` against `law`, and its asymptotic
/// p-value (Kolmogorov's distribution), both from statrs. A sample holding NaN gets NaN for
/// both, which every check rejects.
pub fn ks_test(samples: &[f64], law: &Law) -> (f64, f64) {
    ks_onesample(
        samples.to_vec(),
        law,
        KSOneSampleAlternativeMethod::TwoSidedAsymptotic,
        NaNPolicy::Propogate,
    )
    .unwrap_or((f64::NAN, f64::NAN))
}

/// P(X ≥ x) for X chi-square with `df` degrees of freedom (statrs); 0 for NaN, which
/// every check rejects.
pub fn chi_square_sf(x: f64, df: f64) -> f64 {
    match statrs::distribution::ChiSquared::new(df) {
        Ok(chi2) if !x.is_nan() => chi2.sf(x),
        _ => 0.0,
    }
}

/// The standard normal density φ(x).
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The two-sided p-value of a standard-normal statistic: P(|Z| ≥ |z|) = erfc(|z|/√2),
/// accurate far into the tail (no 1 − Φ cancellation).
pub fn two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return 0.0;
    }
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// A continuous distribution an initializer is meant to sample, with its CDF and the
/// moments the mean and variance tests need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Law {
    /// N(mean, std²).
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
    /// N(mean, std²) restricted to [a, b] (either bound may be infinite).
    Truncated {
        /// The mean before truncation.
        mean: f64,
        /// The standard deviation before truncation.
        std: f64,
        /// The lower bound.
        a: f64,
        /// The upper bound.
        b: f64,
    },
    /// U(low, high).
    Uniform {
        /// The lower bound.
        low: f64,
        /// The upper bound.
        high: f64,
    },
}

/// x^k·φ(x), taken as 0 at ±∞.
fn tail_term(x: f64, k: i32) -> f64 {
    if x.is_infinite() {
        0.0
    } else {
        x.powi(k) * normal_pdf(x)
    }
}

impl Law {
    /// The cumulative distribution function.
    pub fn cdf(&self, x: f64) -> f64 {
        match *self {
            Law::Normal { mean, std } => normal_cdf((x - mean) / std),
            Law::Truncated { mean, std, a, b } => {
                let (fa, fb) = (normal_cdf((a - mean) / std), normal_cdf((b - mean) / std));
                ((normal_cdf((x - mean) / std) - fa) / (fb - fa)).clamp(0.0, 1.0)
            }
            Law::Uniform { low, high } => ((x - low) / (high - low)).clamp(0.0, 1.0),
        }
    }

    /// The support's bounds (infinite for the normal).
    pub fn support(&self) -> (f64, f64) {
        match *self {
            Law::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY),
            Law::Truncated { a, b, .. } => (a, b),
            Law::Uniform { low, high } => (low, high),
        }
    }

    /// Mean, variance and fourth central moment.
    pub fn moments(&self) -> (f64, f64, f64) {
        match *self {
            Law::Normal { mean, std } => (mean, std * std, 3.0 * std.powi(4)),
            Law::Uniform { low, high } => {
                let w = high - low;
                ((low + high) / 2.0, w * w / 12.0, w.powi(4) / 80.0)
            }
            Law::Truncated { mean, std, a, b } => {
                // Raw moments of the standardized truncated normal on [α, β], by the
                // recursion m_k = (k−1)·m_{k−2} + (α^{k−1}φ(α) − β^{k−1}φ(β)) / Z.
                let (alpha, beta) = ((a - mean) / std, (b - mean) / std);
                let z = normal_cdf(beta) - normal_cdf(alpha);
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
}

/// The law as statrs sees it, so that its Kolmogorov–Smirnov test can read the CDF.
impl ContinuousCDF<f64, f64> for Law {
    fn cdf(&self, x: f64) -> f64 {
        Law::cdf(self, x)
    }
}

impl Min<f64> for Law {
    fn min(&self) -> f64 {
        self.support().0
    }
}

impl Max<f64> for Law {
    fn max(&self) -> f64 {
        self.support().1
    }
}

/// A z-test of the sample mean against the law's mean: z = (x̄ − μ)/√(σ²/n), with its
/// two-sided p-value. Exact in the limit; the laws here have all moments, so n in the
/// thousands makes the normal approximation good.
pub fn mean_test(samples: &[f64], law: &Law) -> (f64, f64) {
    let (mu, var, _) = law.moments();
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let z = (mean - mu) / (var / n).sqrt();
    (z, two_sided_p(z))
}

/// A z-test of the variance about the law's (known) mean: with s² = Σ(x − μ)²/n,
/// Var(s²) = (μ₄ − σ⁴)/n, so z = (s² − σ²)/√((μ₄ − σ⁴)/n); two-sided p-value. The
/// statistic reported is s²/σ² − 1, the relative error of the variance.
pub fn variance_test(samples: &[f64], law: &Law) -> (f64, f64) {
    let (mu, var, mu4) = law.moments();
    let n = samples.len() as f64;
    let s2 = samples.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / n;
    let z = (s2 - var) / ((mu4 - var * var) / n).sqrt();
    (s2 / var - 1.0, two_sided_p(z))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_moments_match_known_values() {
        // N(0, 1) cut at ±2: std 0.87962566103423978 (Keras's constant), kurtosis 2.3655.
        let (m, v, mu4) = Law::Truncated {
            mean: 0.0,
            std: 1.0,
            a: -2.0,
            b: 2.0,
        }
        .moments();
        assert!(m.abs() < 1e-15);
        assert!(
            (v.sqrt() - 0.879_625_661_034_239_8).abs() < 1e-15,
            "{}",
            v.sqrt()
        );
        assert!((mu4 / (v * v) - 2.365_5).abs() < 1e-3, "{}", mu4 / (v * v));
        // Half-normal (cut at 0, +∞): mean √(2/π), variance 1 − 2/π.
        let (m, v, _) = Law::Truncated {
            mean: 0.0,
            std: 1.0,
            a: 0.0,
            b: f64::INFINITY,
        }
        .moments();
        assert!((m - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-14);
        assert!((v - (1.0 - 2.0 / std::f64::consts::PI)).abs() < 1e-14);
        // Cutting at ±∞ is the normal itself.
        let inf = Law::Truncated {
            mean: 1.0,
            std: 2.0,
            a: f64::NEG_INFINITY,
            b: f64::INFINITY,
        };
        let (m, v, mu4) = inf.moments();
        assert!((m - 1.0).abs() < 1e-15 && (v - 4.0).abs() < 1e-14 && (mu4 - 48.0).abs() < 1e-12);
    }

    #[test]
    fn uniform_moments_and_cdf() {
        let u = Law::Uniform {
            low: -1.0,
            high: 3.0,
        };
        assert_eq!(u.moments(), (1.0, 16.0 / 12.0, 256.0 / 80.0));
        assert_eq!(u.cdf(0.0), 0.25);
        assert_eq!(u.cdf(-5.0), 0.0);
    }

    #[test]
    fn chi_square_sf_matches_tables() {
        // The 5 % and 1 % critical values of χ² with 10 and 100 degrees of freedom.
        assert!((chi_square_sf(18.307_038, 10.0) - 0.05).abs() < 1e-6);
        assert!((chi_square_sf(23.209_251, 10.0) - 0.01).abs() < 1e-6);
        assert!((chi_square_sf(124.342_113, 100.0) - 0.05).abs() < 1e-6);
        assert!((chi_square_sf(135.806_723, 100.0) - 0.01).abs() < 1e-6);
        assert_eq!(chi_square_sf(f64::NAN, 3.0), 0.0);
    }

    #[test]
    fn two_sided_p_matches_tables() {
        assert!((two_sided_p(1.959_963_984_540_054) - 0.05).abs() < 1e-12);
        assert!((two_sided_p(-2.575_829_303_548_901) - 0.01).abs() < 1e-12);
        assert_eq!(two_sided_p(f64::NAN), 0.0);
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        // Φ(1) and Φ(−1.959963985) from tables.
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-9);
        assert!((normal_cdf(-1.959_963_984_540_054) - 0.025).abs() < 1e-9);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn ks_rejects_a_shifted_uniform() {
        let xs: Vec<f64> = (0..2000).map(|i| (i as f64 + 0.5) / 2000.0).collect();
        let uniform = |low: f64| Law::Uniform {
            low,
            high: low + 1.0,
        };
        let (d_ok, p_ok) = ks_test(&xs, &uniform(0.0));
        let (d_bad, p_bad) = ks_test(&xs, &uniform(0.1));
        assert!((d_ok - 0.5 / 2000.0).abs() < 1e-15, "{d_ok}");
        assert!((d_bad - (0.1 + 0.5 / 2000.0)).abs() < 1e-15, "{d_bad}");
        assert!(p_ok > 0.99, "{p_ok}");
        // D = 0.1 at n = 2000: λ ≈ 4.5, Q ≈ 2·e^(−2λ²) ≈ 5e-18.
        assert!(p_bad < 1e-12, "{p_bad}");
        // NaN in the sample is rejected, not dropped.
        assert!(ks_test(&[0.5, f64::NAN], &uniform(0.0)).1.is_nan());
    }

    #[test]
    fn ks_p_values_match_kolmogorovs_critical_values() {
        // n evenly spaced points against U(−s, 1 − s) have D = s + 1/(2n); s is chosen so
        // that λ = D·√n is the 5 % and the 1 % critical value.
        let n = 10_000;
        let p_at = |lambda: f64| {
            let s = lambda / f64::from(n).sqrt() - 0.5 / f64::from(n);
            let xs: Vec<f64> = (0..n)
                .map(|i| (f64::from(i) + 0.5) / f64::from(n))
                .collect();
            ks_test(
                &xs,
                &Law::Uniform {
                    low: -s,
                    high: 1.0 - s,
                },
            )
            .1
        };
        assert!((p_at(1.358) - 0.05).abs() < 1e-3, "{}", p_at(1.358));
        assert!((p_at(1.628) - 0.01).abs() < 1e-3, "{}", p_at(1.628));
    }
}
