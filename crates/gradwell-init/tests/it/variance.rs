//! Every registered initializer with a declared law draws from that law: its sample
//! variance and mean match the law's, and its samples stay in the law's support. The
//! initializers come from the registry ([`Init::examples`]), so a new one is tested here
//! without this file changing; that each law is the published formula is tested beside
//! the initializer, in its own file.
//!
//! The bound, from the sampling distribution of the statistic. With the law's mean μ known,
//! the statistic is s² = Σ(x − μ)²/n over n independent draws: it is unbiased for σ², and
//! Var(s²) = (μ₄ − σ⁴)/n, μ₄ being the law's fourth central moment (for the normal
//! μ₄ = 3σ⁴, so n·s²/σ² is χ²ₙ). By the central limit theorem z = (s² − σ²)/√((μ₄ − σ⁴)/n)
//! is close to N(0, 1) at n ≥ 2¹⁶ (the laws are bounded, normal or a normal's tail, so
//! every moment is finite and the skewness of s², about √(8/n) ≈ 0.01 for the normal, is
//! small). Each check allows |z| ≤ 6: a false alarm with probability about 2·10⁻⁹, below
//! 10⁻⁵ for the whole property (24 shapes × a few dozen examples × 2 statistics). The mean
//! is held to the same 6 standard errors, √(σ²/n). The allowance on the variance is
//! 6·√((κ − 1)/n) of it for kurtosis κ = μ₄/σ⁴: 3.3 % for the normal (κ = 3) at n = 2¹⁶,
//! so a swapped fan, a missing gain or a missing truncation correction (−23 %) fail, and
//! (for any κ below 9, the exponential's, which bounds a normal tail's) so does every
//! sampler scaled by 1.1 (variance +21 %), which the second test checks for each example.

use gradwell_init::{Fans, Init, InitInfo, Law, Layout};
use proptest::prelude::*;

use crate::draw;

const MIN_SAMPLES: usize = 1 << 16;

/// Allowed standard deviations of each statistic.
const Z: f64 = 6.0;

/// A random weight shape `[out, in, *kernel]` with a few hundred to a few thousand elements.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    (
        2_usize..90,
        2_usize..90,
        proptest::collection::vec(1_usize..4, 0..3),
    )
        .prop_map(|(out, inp, kernel)| [out, inp].iter().chain(&kernel).copied().collect())
}

/// z of the sample variance of `xs` about the law's mean, against the law's variance.
fn variance_z(xs: &[f64], law: &Law) -> f64 {
    let (mu, var, mu4) = (law.mean(), law.variance(), law.fourth_central_moment());
    let n = xs.len() as f64;
    let s2 = xs.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / n;
    (s2 - var) / ((mu4 - var * var) / n).sqrt()
}

/// z of the sample mean of `xs` against the law's mean.
fn mean_z(xs: &[f64], law: &Law) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (mean - law.mean()) / (law.variance() / n).sqrt()
}

/// Asserts that `xs` follow `law` in variance, mean and support (a constant law: every
/// sample is the constant).
fn assert_follows(xs: &[f64], law: &Law, what: &str) {
    let (lo, hi) = law.support();
    assert!(
        xs.iter().all(|x| (lo..=hi).contains(x)),
        "{what}: a sample outside [{lo}, {hi}]"
    );
    if law.variance() == 0.0 {
        return; // The support is a point, and every sample is on it.
    }
    let z = variance_z(xs, law);
    assert!(z.abs() <= Z, "{what}: variance z = {z:e} (law {law:?})");
    let z = mean_z(xs, law);
    assert!(z.abs() <= Z, "{what}: mean z = {z:e} (law {law:?})");
}

proptest! {
    #![proptest_config(crate::config(24))]

    #[test]
    fn every_initializer_draws_from_its_declared_law(shape in shape(), seed in any::<u64>()) {
        for init in Init::examples() {
            // Without a law, or not for this shape (`eye` is for matrices only).
            let Ok(Some(law)) = init.law(&shape) else {
                continue;
            };
            let xs = draw(&init, &shape, MIN_SAMPLES, seed);
            assert_follows(&xs, &law, &format!("{init} on {shape:?}"));
        }
    }
}

/// The check can fail: for every example with a non-degenerate law, the same draws scaled
/// by 1.1 about the mean (variance +21 %) are rejected.
#[test]
fn every_law_rejects_its_sampler_scaled_by_1_1() {
    let shape = [64, 16, 3];
    let mut checked = 0;
    for init in Init::examples() {
        let Ok(Some(law)) = init.law(&shape) else {
            continue;
        };
        if law.variance() == 0.0 {
            continue;
        }
        let mu = law.mean();
        let xs: Vec<f64> = draw(&init, &shape, MIN_SAMPLES, 1)
            .iter()
            .map(|x| mu + 1.1 * (x - mu))
            .collect();
        let z = variance_z(&xs, &law);
        assert!(z.abs() > Z, "{init}: scaled sampler accepted, z = {z}");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} laws checked");
}

/// The check rejects the usual mistakes in a formula at n = 2¹⁶: He normal's draws against
/// the variance with fan-out in place of fan-in, with the PyTorch default's in place of
/// He's, and 5 % too large.
#[test]
fn the_variance_check_rejects_wrong_formulas() {
    let shape = [64, 16, 3];
    let fans = Fans::of(&shape, Layout::PyTorch).unwrap();
    let (fi, fo) = (fans.fan_in as f64, fans.fan_out as f64);
    let xs = draw(&Init::HE_NORMAL, &shape, MIN_SAMPLES, 1);
    let normal = |variance: f64| Law::Normal {
        mean: 0.0,
        std: variance.sqrt(),
    };
    assert!(variance_z(&xs, &normal(2.0 / fi)).abs() <= Z);
    for wrong in [2.0 / fo, 1.0 / (3.0 * fi), 2.0 / fi * 1.05] {
        let z = variance_z(&xs, &normal(wrong));
        assert!(z.abs() > Z, "{wrong}: z = {z}");
    }
}

/// A scale of 0 is allowed (the documented range is "at least 0"): every distribution then
/// gives exact zeros, its law's support is the point 0, and the target variance is 0.
#[test]
fn a_zero_scale_gives_zeros() {
    use gradwell_init::{Distribution, FanMode, Initializer, VarianceScaling};
    for distribution in Distribution::ALL {
        for mode in FanMode::ALL {
            let vs = VarianceScaling::new(0.0, mode, distribution);
            assert_eq!(vs.variance(&[4, 3]).unwrap(), 0.0);
            let law = vs.law(&[4, 3]).unwrap().expect("a law");
            assert_eq!(
                (law.support(), law.variance()),
                ((0.0, 0.0), 0.0),
                "{law:?}"
            );
            let mut rng = crate::rng(7);
            let w: ndarray::ArrayD<f64> = vs.sample(&[4, 3], &mut rng).unwrap();
            assert!(w.iter().all(|&x| x == 0.0), "{distribution:?}: {w}");
            let parsed: Init =
                format!("variance-scaling:0,{},{}", mode.name(), distribution.name())
                    .parse()
                    .unwrap();
            let w: ndarray::ArrayD<f32> = parsed.sample(&[2, 5], &mut rng).unwrap();
            assert!(w.iter().all(|&x| x == 0.0), "{parsed}: {w}");
        }
    }
}
