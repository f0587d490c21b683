//! Distribution functions and tests used by the statistical checks.

/// The standard normal CDF Φ(x), computed from the complementary error function.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The Kolmogorov–Smirnov statistic of `samples` against the continuous CDF `cdf`, and its
/// asymptotic p-value (Kolmogorov's distribution with Stephens' small-sample correction).
pub fn ks_test(samples: &[f64], cdf: impl Fn(f64) -> f64) -> (f64, f64) {
    let mut xs: Vec<f64> = samples.to_vec();
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        let f = cdf(x);
        d = d.max(f - i as f64 / n).max((i as f64 + 1.0) / n - f);
    }
    let sn = n.sqrt();
    (d, kolmogorov_q((sn + 0.12 + 0.11 / sn) * d))
}

/// Q_KS(λ) = 2 Σ (−1)^(j−1) exp(−2 j² λ²), the survival function of Kolmogorov's
/// distribution.
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 1e-3 {
        return 1.0;
    }
    let mut sum = 0.0;
    for j in 1..=200 {
        let j = j as f64;
        let term = (-2.0 * j * j * lambda * lambda).exp();
        sum += if j as i64 % 2 == 1 { term } else { -term };
        if term < 1e-18 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_known_values() {
        // Φ(1) and Φ(−1.959963985) from tables.
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-9);
        assert!((normal_cdf(-1.959_963_984_540_054) - 0.025).abs() < 1e-9);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn kolmogorov_q_matches_tables() {
        // The 5 % and 1 % critical values of Kolmogorov's distribution.
        assert!((kolmogorov_q(1.358) - 0.05).abs() < 1e-3);
        assert!((kolmogorov_q(1.628) - 0.01).abs() < 1e-3);
    }

    #[test]
    fn ks_rejects_a_shifted_uniform() {
        let xs: Vec<f64> = (0..2000).map(|i| (i as f64 + 0.5) / 2000.0).collect();
        let (_, p_ok) = ks_test(&xs, |x| x.clamp(0.0, 1.0));
        let (_, p_bad) = ks_test(&xs, |x| (x - 0.1).clamp(0.0, 1.0));
        assert!(p_ok > 0.99, "{p_ok}");
        // D = 0.1 at n = 2000: λ ≈ 4.5, Q ≈ 2·e^(−2λ²) ≈ 5e-18.
        assert!(p_bad < 1e-12, "{p_bad}");
    }
}
