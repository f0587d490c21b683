//! How saturated each saturating activation is at |x| = 5 and 10, against closed forms
//! written here independently of the crate; and the `saturates()` flag, the saturation
//! bounds and the dead-unit flag of every activation against its behaviour.

use gradwell_activations::{
    Activation, ActivationInfo, ActivationKind, Hardtanh, Relu6, Sigmoid, Tanh,
};

use crate::common::all_kinds;

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs()
}

/// σ′(x) = σ(x)(1 − σ(x)): σ′(5) ≈ 6.648e-3, σ′(10) ≈ 4.540e-5 — a gradient through one
/// sigmoid at x = 10 is divided by 22 000, and by 4 at best (x = 0).
#[test]
fn sigmoid_at_5_and_10() {
    let closed = |x: f64| {
        let s = 1.0 / (1.0 + (-x).exp());
        s * (1.0 - s)
    };
    for (x, approx) in [(5.0, 6.648e-3), (10.0, 4.540e-5)] {
        for x in [x, -x] {
            let d: f64 = Sigmoid.derivative(x);
            // Relative error of the closed form: ε/(1 − σ) ≤ 5e-12 at |x| = 10.
            assert!(close(d, closed(x), 1e-10), "σ′({x}) = {d} vs {}", closed(x));
            assert!(close(d, approx, 1e-3), "σ′({x}) = {d} vs ≈{approx}");
        }
    }
}

/// tanh′(x) = 1/cosh²(x): tanh′(5) ≈ 1.8158e-4, tanh′(10) ≈ 8.2446e-9.
#[test]
fn tanh_at_5_and_10() {
    let closed = |x: f64| 1.0 / (x.cosh() * x.cosh());
    for (x, approx) in [(5.0, 1.8158e-4), (10.0, 8.2446e-9)] {
        for x in [x, -x] {
            let d: f64 = Tanh.derivative(x);
            assert!(
                close(d, closed(x), 1e-13),
                "tanh′({x}) = {d} vs {}",
                closed(x)
            );
            assert!(close(d, approx, 1e-4), "tanh′({x}) = {d} vs ≈{approx}");
        }
    }
}

/// hardtanh′ = 0 outside [−1, 1]: exactly 0 at ±5 and ±10 (no gradient at all, unlike
/// sigmoid's small one).
#[test]
fn hardtanh_at_5_and_10() {
    for x in [5.0_f64, -5.0, 10.0, -10.0] {
        assert_eq!(Hardtanh::default().derivative(x), 0.0, "{x}");
    }
}

/// relu6′: 1 at 5 (still inside (0, 6)), 0 at 10 (saturated) and at −5, −10 (the ReLU
/// side).
#[test]
fn relu6_at_5_and_10() {
    assert_eq!(Relu6.derivative(5.0_f64), 1.0);
    for x in [10.0_f64, -5.0, -10.0] {
        assert_eq!(Relu6.derivative(x), 0.0, "{x}");
    }
}

/// `saturates()` is true exactly for the activations whose derivative vanishes for large
/// positive input: at x = 1000, f′ is 0 for those and at least 0.999 for the others.
#[test]
fn saturates_flag_matches_behaviour() {
    for k in all_kinds() {
        let d: f64 = k.derivative(1000.0);
        if k.saturates() {
            assert!(d.abs() < 1e-300, "{k}′(1000) = {d}");
        } else {
            assert!(d >= 0.999, "{k}′(1000) = {d}");
        }
    }
    for k in [
        Sigmoid.into(),
        Tanh.into(),
        Relu6.into(),
        Hardtanh::default().into(),
    ] {
        let k: ActivationKind = k;
        assert!(k.saturates(), "{k}");
    }
}

/// The saturation bounds are where the output goes as f′ vanishes: an approached bound is
/// within 1e-9 at |x| = 30 and not reached at |x| = 5; a reached one is the output itself
/// at |x| = 10⁴, with f′ = 0. Only saturating activations have bounds.
#[test]
fn saturation_bounds_match_behaviour() {
    for k in all_kinds() {
        let s = k.saturation();
        assert_eq!(s.exists(), k.saturates(), "{k}: {s:?}");
        let f = |x: f64| Activation::<f64>::value(&k, x);
        let d = |x: f64| Activation::<f64>::derivative(&k, x);
        for (bound, far, near) in [(s.lower, -1e4, -5.0), (s.upper, 1e4, 5.0)] {
            let Some(b) = bound else { continue };
            if s.reached {
                assert_eq!((f(far), d(far)), (b, 0.0), "{k} at {far}");
            } else {
                assert!((f(far.signum() * 30.0) - b).abs() < 1e-9, "{k}: bound {b}");
                assert!(f(near) != b, "{k}: {b} reached at {near}");
                assert!(s.contains(f(far.signum() * 30.0), 1e-3), "{k}");
            }
            assert!(
                !s.contains(f(0.5), 0.01),
                "{k}: f(0.5) counted as saturated"
            );
        }
    }
}

/// Units can die exactly when f is 0 (with f′ = 0) over a negative half-line (also for the
/// parameters that make leaky ReLU, PReLU, ELU and hardtanh a rectifier): checked at
/// c − 10, c − 1, c − 10⁻³ below the lowest kink c (0 without kinks; −3 for hardsigmoid
/// and hardswish, which are 0 on (−∞, −3] but not on (−3, 0)), where every other
/// activation is non-zero (sigmoid(−10) = 4.5e-5, GELU(−10) = −7.6e-23).
#[test]
fn can_die_matches_behaviour() {
    let mut kinds = all_kinds();
    for text in ["leaky-relu:0", "prelu:0", "elu:0", "hardtanh:0,1"] {
        kinds.push(text.parse().expect("a valid activation"));
    }
    let mut dying = 0;
    for k in kinds {
        let c = k.kinks().first().copied().unwrap_or(0.0).min(0.0);
        let zero = [c - 10.0, c - 1.0, c - 1e-3].iter().all(|&x| {
            Activation::<f64>::value(&k, x) == 0.0 && Activation::<f64>::derivative(&k, x) == 0.0
        });
        assert_eq!(k.can_die(), zero, "{k}");
        dying += usize::from(zero);
    }
    assert!(
        dying >= 8,
        "ReLU, ReLU6, hardsigmoid, hardswish and the four above"
    );
}
