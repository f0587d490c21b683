//! Every activation against PyTorch: values and derivatives recorded by
//! `fixtures/gen_activation_fixtures.py` (torch.autograd, in float64 and float32) on one
//! grid holding every kink, the points 1e-6 either side of each, the tails to ±800, small
//! magnitudes and random points, for PyTorch's default parameters and others; and
//! PyTorch's class name and `repr` of each module.
//!
//! Both gradwell's `derivative` and its slice `backward` (the path autodiff takes, which for
//! sigmoid and tanh works from the output) are compared with PyTorch's autograd.
//!
//! # Tolerances (ε: the type's machine epsilon)
//!
//! - **Piecewise-linear activations** (identity, ReLU, leaky ReLU, PReLU, ReLU6, hardtanh,
//!   hardsigmoid, hardswish), whose PyTorch and gradwell forms round the same few
//!   operations: relative, |got − want| ≤ 4ε·|want| (worst measured: 1.5ε).
//!   One exception, documented in docs/parity.md (deliberate differences): PyTorch's CPU
//!   hardsigmoid′ multiplies by the `float` constant 1/6 even in float64, 2.98e-8 relative
//!   from 1/6, so hardsigmoid′ in float64 is compared at 2⁻²⁴ relative.
//! - **The others** (sigmoid, tanh, ELU, SELU, CELU, GELU, GELU-tanh, SiLU, softplus,
//!   mish): |got − want| ≤ 8ε·(|want| + max(1, |x|)) (worst measured: 2.7ε). The
//!   absolute term is the rounding of a quantity of size max(1, |x|) that PyTorch's forms
//!   take a difference of, which docs/parity.md lists as the deliberate accuracy
//!   differences: GELU's Φ as ½(1 + erf(x/√2)), SiLU′'s and mish′'s x·(1 − …), softplus's
//!   log1p(e^{βx}), and the backward from the output (y(1 − y), 1 − y²), each a
//!   difference from 1 rounded to ε and multiplied by up to |x|; and the rounding of the
//!   argument of an exponential, whose relative effect is ε·|x|/α (CELU at α = 0.5). Where
//!   these forms cancel (the tails), PyTorch's value is the less accurate one; this
//!   tolerance compares them there only to that accuracy, and everywhere else to a few ε.

use std::collections::BTreeSet;

use gradwell_activations::{Activation, ActivationInfo, ActivationKind};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    torch_version: String,
    torch_nn_modules: Vec<String>,
    x: Vec<f64>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    activation: String,
    torch_class: String,
    torch_repr: String,
    float64: Record,
    float32: Record,
}

#[derive(Deserialize)]
struct Record {
    value: Vec<f64>,
    derivative: Vec<f64>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("../../fixtures/activations.json")).expect("valid fixture")
}

/// The piecewise-linear activations, compared relatively (see the module docs).
const PIECEWISE_LINEAR: [&str; 8] = [
    "Identity",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ReLU6",
    "Hardtanh",
    "Hardsigmoid",
    "Hardswish",
];

/// The largest error of one comparison, as a fraction of its tolerance, and where.
#[derive(Default)]
struct Worst {
    used: f64,
    what: String,
}

impl Worst {
    /// Records `got` against `want`, with the tolerance of the module docs.
    fn check(&mut self, what: &str, x: f64, got: f64, want: f64, tol: f64) {
        let err = (got - want).abs();
        let used = if tol > 0.0 {
            err / tol
        } else if err == 0.0 {
            0.0
        } else {
            f64::INFINITY
        };
        // A NaN is recorded too, and then fails the final check.
        if used > self.used || used.is_nan() {
            self.used = used;
            self.what = format!("{what} at x = {x}: gradwell {got:e}, PyTorch {want:e}");
        }
    }
}

/// What one activation's comparison in one type computes: value, derivative and the slice
/// backward with dy = 1.
fn ours<F: num_traits::Float>(k: &ActivationKind, x: F) -> [f64; 3] {
    let y = k.value(x);
    let mut dx = [F::zero()];
    k.backward_slice(&[x], &[y], &[F::one()], &mut dx);
    [y, k.derivative(x), dx[0]].map(|v| v.to_f64().unwrap())
}

/// Every case within its tolerance, in both types, at every point of the grid.
#[test]
fn values_and_derivatives_match_pytorch() {
    let f = fixture();
    assert!(f.torch_version.starts_with("2."), "{}", f.torch_version);
    let mut worst = Worst::default();
    for c in &f.cases {
        let k: ActivationKind = c.activation.parse().expect("a gradwell activation");
        let linear = PIECEWISE_LINEAR.contains(&c.torch_class.as_str());
        for (ty, rec, eps) in [
            ("float64", &c.float64, f64::EPSILON),
            ("float32", &c.float32, f64::from(f32::EPSILON)),
        ] {
            assert_eq!(rec.value.len(), f.x.len());
            assert_eq!(rec.derivative.len(), f.x.len());
            for (i, &x) in f.x.iter().enumerate() {
                let got = if ty == "float64" {
                    ours(&k, x)
                } else {
                    ours(&k, x as f32)
                };
                let wants = [rec.value[i], rec.derivative[i], rec.derivative[i]];
                for (j, (got, want)) in got.into_iter().zip(wants).enumerate() {
                    let tol = if !linear {
                        8.0 * eps * (want.abs() + x.abs().max(1.0))
                    } else if c.torch_class == "Hardsigmoid" && j > 0 && ty == "float64" {
                        f64::from(f32::EPSILON) / 2.0 * want.abs()
                    } else {
                        4.0 * eps * want.abs()
                    };
                    let what = ["value", "derivative", "backward"][j];
                    worst.check(
                        &format!("{} {what} ({ty})", c.activation),
                        x,
                        got,
                        want,
                        tol,
                    );
                }
            }
        }
    }
    eprintln!("worst: {:.3} of the tolerance, {}", worst.used, worst.what);
    assert!(worst.used <= 1.0, "{}", worst.what);
}

/// ELU, SELU and CELU's slice backward works from the input, as `F.elu`, `F.selu` and
/// `F.celu` differentiate (only their in-place forms use the output): it meets PyTorch's
/// derivative relatively, to 8ε·|PyTorch|·max(1, |x|) (the rounding of the exponential's
/// argument, CELU's x/α), over the whole grid, even where y rounds to −α and y + α would
/// be 0 (x = −40: PyTorch's elu′ is 4.2e-18).
#[test]
fn elu_family_backward_is_pytorchs_from_the_input() {
    let f = fixture();
    let mut worst = Worst::default();
    let mut cases = 0;
    for c in &f.cases {
        if !["ELU", "SELU", "CELU"].contains(&c.torch_class.as_str()) {
            continue;
        }
        cases += 1;
        let k: ActivationKind = c.activation.parse().expect("a gradwell activation");
        for (i, &x) in f.x.iter().enumerate() {
            let [_, _, backward] = ours(&k, x);
            let want = c.float64.derivative[i];
            let what = format!("{} backward (float64)", c.activation);
            let tol = 8.0 * f64::EPSILON * want.abs() * x.abs().max(1.0);
            worst.check(&what, x, backward, want, tol);
        }
    }
    assert!(cases >= 3, "{cases} ELU-family cases");
    eprintln!("worst: {:.3} of the tolerance, {}", worst.used, worst.what);
    assert!(worst.used <= 1.0, "{}", worst.what);
}

/// The fixture covers every activation of gradwell that PyTorch has a module for (any
/// whose class is one of torch.nn's), with PyTorch's defaults among its cases; each case's
/// class is gradwell's, and so is its `repr`.
#[test]
fn every_pytorch_activation_is_covered_with_pytorchs_names() {
    let f = fixture();
    let mut covered = BTreeSet::new();
    for c in &f.cases {
        let k: ActivationKind = c.activation.parse().expect("a gradwell activation");
        assert_eq!(k.torch_class(), c.torch_class, "{}", c.activation);
        assert_eq!(k.torch_repr(), c.torch_repr, "{}", c.activation);
        covered.insert(k.to_string());
    }
    let mut missing = Vec::new();
    for k in ActivationKind::defaults() {
        if f.torch_nn_modules.contains(&k.torch_class().to_string())
            && !covered.contains(&k.to_string())
        {
            missing.push(k.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "no PyTorch fixture for {missing:?}: rerun fixtures/gen_activation_fixtures.sh with them"
    );
    assert!(covered.len() >= 28, "{covered:?}");
}

/// The grid holds every kink of every case, with points 1e-6 either side, and the tails.
#[test]
fn the_grid_holds_the_kinks_and_the_tails() {
    let f = fixture();
    let has = |x: f64| f.x.contains(&x);
    for c in &f.cases {
        let k: ActivationKind = c.activation.parse().expect("a gradwell activation");
        for kink in k.kinks() {
            assert!(has(kink), "{}: kink {kink}", c.activation);
            for side in [kink - 1e-6, kink + 1e-6] {
                assert!(has(f64::from(side as f32)), "{}: near {kink}", c.activation);
            }
        }
    }
    assert!(has(-800.0) && has(800.0) && has(-30.0) && has(30.0));
}
