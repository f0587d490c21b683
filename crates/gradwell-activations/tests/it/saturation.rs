//! How saturated each saturating activation is at |x| = 5 and 10, against closed forms
//! written here independently of the crate; and the `saturates()` flag against behaviour.

use gradwell_activations::{
    Activation, ActivationInfo, ActivationKind, Hardtanh, Relu6, Sigmoid, Tanh,
};

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
    let mut saturating = Vec::new();
    for k in ActivationKind::defaults() {
        let d: f64 = k.derivative(1000.0);
        if k.saturates() {
            saturating.push(k.to_string());
            assert!(d.abs() < 1e-300, "{k}′(1000) = {d}");
        } else {
            assert!(d >= 0.999, "{k}′(1000) = {d}");
        }
    }
    assert_eq!(saturating, ["sigmoid", "tanh", "relu6", "hardtanh:-1,1"]);
}
