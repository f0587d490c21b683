//! The sample variance of each fan-based initializer equals its formula.
//!
//! With the mean known to be 0, the statistic is m₂ = Σx²/n, whose standard deviation is
//! σ²·√((κ − 1)/n) for kurtosis κ: 2 for the normal, 0.8 for the uniform, 1.37 for the
//! normal cut at ±2σ₀ — at most σ²·√(2/n) for all three. Each check allows 6 of those
//! standard deviations; under the normal approximation of m₂ (n ≥ 2¹⁶ here) that is a
//! false-alarm probability of about 2·10⁻⁹ per check, below 10⁻⁵ for the whole property
//! (24 shapes × 12 initializers). With n ≥ 2¹⁶ the allowance is 3.3 % of the variance: a
//! swapped fan, a missing gain or a missing truncation correction (−23 %) all fail.

use gradwell_init::{FanMode, Fans, Init, Layout, Nonlinearity};
use proptest::prelude::*;

use crate::draw;

const MIN_SAMPLES: usize = 1 << 16;

/// (initializer, its variance from the published formula, written out here on purpose
/// rather than taken from the crate).
fn cases(fi: f64, fo: f64) -> Vec<(Init, f64)> {
    let tanh_gain = 5.0 / 3.0;
    let leaky = |a: f64| 2.0 / (1.0 + a * a);
    vec![
        (Init::XavierNormal { gain: 1.0 }, 2.0 / (fi + fo)),
        // A gain other than 1, where gain², gain·1 and gain/gain all differ.
        (Init::XavierNormal { gain: 0.6 }, 0.36 * 2.0 / (fi + fo)),
        (
            Init::XavierUniform { gain: tanh_gain },
            tanh_gain * tanh_gain * 2.0 / (fi + fo),
        ),
        (
            Init::HeNormal {
                nonlinearity: Nonlinearity::Relu,
                mode: FanMode::FanIn,
            },
            2.0 / fi,
        ),
        (
            Init::HeNormal {
                nonlinearity: Nonlinearity::Relu,
                mode: FanMode::FanOut,
            },
            2.0 / fo,
        ),
        (
            Init::HeUniform {
                nonlinearity: Nonlinearity::Relu,
                mode: FanMode::FanIn,
            },
            2.0 / fi,
        ),
        (
            Init::HeUniform {
                nonlinearity: Nonlinearity::LeakyRelu(0.2),
                mode: FanMode::FanOut,
            },
            leaky(0.2) / fo,
        ),
        (Init::LecunNormal, 1.0 / fi),
        (Init::LecunUniform, 1.0 / fi),
        (Init::KerasHeNormal, 2.0 / fi),
        (Init::PytorchDefault, 1.0 / (3.0 * fi)),
        (
            Init::VarianceScaling(gradwell_init::VarianceScaling::new(
                1.0,
                FanMode::FanAvg,
                gradwell_init::Distribution::TruncatedNormal,
            )),
            2.0 / (fi + fo),
        ),
    ]
}

/// A random weight shape `[out, in, *kernel]` with a few hundred to a few thousand elements.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    (
        2_usize..90,
        2_usize..90,
        proptest::collection::vec(1_usize..4, 0..3),
    )
        .prop_map(|(out, inp, kernel)| [out, inp].iter().chain(&kernel).copied().collect())
}

/// Asserts that m₂ of `xs` is within 6 standard deviations of `variance`.
fn assert_variance(xs: &[f64], variance: f64, what: &str) {
    let n = xs.len() as f64;
    let m2 = xs.iter().map(|x| x * x).sum::<f64>() / n;
    let allowed = 6.0 * (2.0 / n).sqrt();
    let rel = m2 / variance - 1.0;
    assert!(
        rel.abs() <= allowed,
        "{what}: m2 = {m2:e}, formula {variance:e}, rel {rel:e} > {allowed:e}"
    );
}

proptest! {
    #![proptest_config(crate::config(24))]

    #[test]
    fn sample_variance_equals_the_formula(shape in shape(), seed in any::<u64>()) {
        let fans = Fans::of(&shape, Layout::PyTorch).unwrap();
        let (fi, fo) = (fans.fan_in as f64, fans.fan_out as f64);
        for (init, variance) in cases(fi, fo) {
            let xs = draw(&init, &shape, MIN_SAMPLES, seed);
            assert_variance(&xs, variance, &format!("{init} on {shape:?}"));
        }
    }
}

/// The check above can fail: it rejects the usual mistakes at n = 2¹⁶.
#[test]
fn the_variance_check_rejects_wrong_formulas() {
    let shape = [64, 16, 3];
    let (fi, fo) = (48.0, 192.0);
    let xs = draw(&Init::HE_NORMAL, &shape, MIN_SAMPLES, 1);
    // Right formula passes; fan-out in place of fan-in, and the PyTorch default's variance
    // in place of He's, are caught.
    assert_variance(&xs, 2.0 / fi, "he");
    for wrong in [2.0 / fo, 1.0 / (3.0 * fi), 2.0 / fi * 1.05] {
        let m2 = xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64;
        assert!(
            (m2 / wrong - 1.0).abs() > 6.0 * (2.0 / xs.len() as f64).sqrt(),
            "{wrong}"
        );
    }
}

/// A scale of 0 is allowed (the documented range is "at least 0"): every distribution then
/// gives exact zeros, and the target variance is 0.
#[test]
fn a_zero_scale_gives_zeros() {
    use gradwell_init::{Distribution, Initializer, VarianceScaling};
    for distribution in [
        Distribution::Normal,
        Distribution::TruncatedNormal,
        Distribution::Uniform,
    ] {
        for mode in [FanMode::FanIn, FanMode::FanOut, FanMode::FanAvg] {
            let vs = VarianceScaling::new(0.0, mode, distribution);
            assert_eq!(vs.variance(&[4, 3]).unwrap(), 0.0);
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
