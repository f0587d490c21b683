//! Derivatives: finite differences, bounds, and the ranges the issue names.

use gradwell_activations::{
    Activation, ActivationInfo, ActivationKind, Elu, LeakyRelu, Relu, Sigmoid, Tanh,
};
use proptest::prelude::*;

use crate::common::{all_kinds, near_kink, wide};

/// The central-difference step at x: 1e-5·max(1, |x|).
fn step(x: f64) -> f64 {
    1e-5 * x.abs().max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// f′(x) equals (f(x+h) − f(x−h))/2h, h = 1e-5·max(1, |x|), within 1e-8·(1 + |f′|),
    /// at every x farther than 2h from a kink. The error budget: truncation h²|f‴|/6 ≤
    /// 2e-10 · |f‴| (|f‴| ≤ 4 here) and rounding ≈ ε|f|/h ≤ 5e-11 (|f(x)| ≤ 2(1 + |x|)
    /// for these parameters), so the tolerance has a margin of ~50 yet is far below any
    /// wrong-formula error (sigmoid′ written σ(1+σ) is off by 2σ² ≥ 1e-3 on |x| ≤ 3).
    #[test]
    fn derivative_matches_central_difference(x in wide()) {
        let h = step(x);
        for k in all_kinds() {
            if near_kink(&k, x, 2.0 * h) {
                continue;
            }
            let fd = (k.value(x + h) - k.value(x - h)) / (2.0 * h);
            let d: f64 = k.derivative(x);
            prop_assert!((fd - d).abs() <= 1e-8 * (1.0 + d.abs()), "{k} at {x}: f′ = {d}, fd = {fd}");
        }
    }

    /// Every stated bound holds: |f′(x)| ≤ derivative_bound().
    #[test]
    fn derivative_bound_holds(x in wide()) {
        for k in all_kinds() {
            let d: f64 = k.derivative(x);
            prop_assert!(d.abs() <= k.derivative_bound(), "{k} at {x}: |{d}| > {}", k.derivative_bound());
        }
    }

    /// Values and derivatives are finite for |x| ≤ 1e4.
    #[test]
    fn finite_on_the_wide_range(x in wide()) {
        for k in all_kinds() {
            prop_assert!(Activation::<f64>::value(&k, x).is_finite(), "{k}({x})");
            prop_assert!(Activation::<f64>::derivative(&k, x).is_finite(), "{k}′({x})");
        }
    }

    /// And for every finite input up to half of f64::MAX, where every activation's true
    /// value (|f(x)| ≤ max(1, |slope|, λ)·|x| + α) is representable.
    #[test]
    fn finite_on_the_whole_f64_range(
        x in (prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO)
            .prop_map(|x| x / 2.0)
    ) {
        for k in ActivationKind::defaults() {
            prop_assert!(Activation::<f64>::value(&k, x).is_finite(), "{k}({x})");
            prop_assert!(Activation::<f64>::derivative(&k, x).is_finite(), "{k}′({x})");
        }
    }

    /// sigmoid′ ≤ 1/4; strictly below away from 0. In f64, σ′(x) = 1/4 − x²/16 + … rounds
    /// to 1/4 for |x| < 2.1e-8, so strictness is asserted for |x| ≥ 1e-7.
    #[test]
    fn sigmoid_slope_at_most_a_quarter(x in wide()) {
        let d: f64 = Sigmoid.derivative(x);
        prop_assert!(d <= 0.25);
        if x.abs() >= 1e-7 {
            prop_assert!(d < 0.25, "σ′({x}) = {d}");
        }
    }

    /// tanh′ ≤ 1; strictly below for |x| ≥ 1e-7 (sech²x = 1 − x² + … rounds to 1 below
    /// about 1e-8).
    #[test]
    fn tanh_slope_at_most_one(x in wide()) {
        let d: f64 = Tanh.derivative(x);
        prop_assert!(d <= 1.0);
        if x.abs() >= 1e-7 {
            prop_assert!(d < 1.0, "tanh′({x}) = {d}");
        }
    }

    #[test]
    fn relu_slope_is_zero_or_one(x in wide()) {
        let d: f64 = Relu.derivative(x);
        prop_assert!(d == 0.0 || d == 1.0);
        prop_assert_eq!(d == 1.0, x > 0.0);
    }

    #[test]
    fn leaky_slope_is_slope_or_one(x in wide(), slope in -2.0..2.0_f64) {
        let k = LeakyRelu::new(slope).unwrap();
        let d: f64 = k.derivative(x);
        prop_assert!(d == slope || d == 1.0);
        prop_assert_eq!(d == 1.0 && slope != 1.0, x > 0.0 && slope != 1.0);
    }

    /// ELU′ ∈ (0, 1] for α = 1. Below x ≈ −745.1 the true value e^x underflows f64 to 0,
    /// so positivity is asserted above −745.
    #[test]
    fn elu_slope_in_zero_one(x in wide()) {
        let d: f64 = Elu::default().derivative(x);
        prop_assert!((0.0..=1.0).contains(&d));
        if x > -745.0 {
            prop_assert!(d > 0.0, "elu′({x}) = {d}");
        }
    }
}

/// The exact maxima: sigmoid′(0) = 1/4, tanh′(0) = 1.
#[test]
fn maxima_reached_at_zero() {
    assert_eq!(Sigmoid.derivative(0.0_f64), 0.25);
    assert_eq!(Tanh.derivative(0.0_f64), 1.0);
}

/// The bounds are tight: each is approached within 1e-6 on a grid of step 1e-4 over
/// [−30, 30] (plus the kinks themselves, where PyTorch's convention picks one side's value:
/// ELU's α, SELU's λα; points 1e-9 either side of each kink, for a supremum approached only
/// from one side of a kink, as hardswish′ → 3/2 as x → 3⁻; and far points, for a supremum
/// approached only as |x| → ∞, as an algebraic 1 − c/x² is). A bound that holds only
/// because it is loose would fail here.
#[test]
fn derivative_bounds_are_tight() {
    for k in all_kinds() {
        let mut grid: Vec<f64> = (-300_000..=300_000).map(|i| i as f64 * 1e-4).collect();
        grid.extend(k.kinks().iter().flat_map(|&c| [c - 1e-9, c, c + 1e-9]));
        grid.extend([1e4, 1e6, 1e8].iter().flat_map(|&x| [x, -x]));
        let max = grid
            .iter()
            .map(|&x| Activation::<f64>::derivative(&k, x).abs())
            .fold(0.0, f64::max);
        assert!(
            k.derivative_bound() - max < 1e-6,
            "{k}: bound {} but max {max}",
            k.derivative_bound()
        );
    }
}

/// Pinned from proptest: near 0, 4e/(1+e)² and e/(1+e)² rounded one ulp above their
/// suprema (tanh′ = 1.0000000000000002 at 1.16e-8, σ′ = 0.25000000000000006 at 2.34e-8).
#[test]
fn regression_slopes_near_zero_never_round_above_their_bounds() {
    let mut xs = vec![1.1558543989332644e-8, 2.342194277550293e-8];
    xs.extend((0..2000).map(|i| (i as f64 - 1000.0) * 1e-10));
    for x in xs {
        assert!(
            Tanh.derivative(x) <= 1.0,
            "tanh′({x}) = {}",
            Tanh.derivative(x)
        );
        assert!(
            Sigmoid.derivative(x) <= 0.25,
            "σ′({x}) = {}",
            Sigmoid.derivative(x)
        );
        assert!(Tanh.derivative(x as f32) <= 1.0 && Sigmoid.derivative(x as f32) <= 0.25);
    }
}
