//! Clipping against PyTorch fixtures and its invariants as property tests.

use gradwell_optim::{
    GradClip, NormType, OptimError, Optimizer, ParamSlot, Sgd, SgdConfig, clip_grad_norm,
    clip_grad_value, grad_norm,
};
use proptest::prelude::*;

use crate::harness;

#[test]
fn clip_grad_norm_matches_pytorch() {
    assert!(harness::clip_cases() >= 8);
    for i in 0..harness::clip_cases() {
        let err = harness::run_clip_case(i);
        assert!(err < 1e-12, "case {i}: relative error {err:e}");
    }
}

/// docs/parity.md#gradient-clipping: grads [3,4] and [12,0,0].
#[test]
fn reference_worked_example() {
    let norm_of = |t: NormType| {
        let (mut w1, mut g1, mut w2, mut g2) = (
            vec![0.0; 2],
            vec![3.0, 4.0],
            vec![0.0; 3],
            vec![12.0, 0.0, 0.0],
        );
        grad_norm::<f64>(
            &[
                ParamSlot::new("a", &mut w1, &mut g1),
                ParamSlot::new("b", &mut w2, &mut g2),
            ],
            t,
        )
    };
    assert_eq!(norm_of(NormType::L2), 13.0);
    assert_eq!(norm_of(NormType::Inf), 12.0);
    assert_eq!(norm_of(NormType::P(1.0)), 19.0);
    // Exactly at the limit the gradient still shrinks by max/(max + 1e-6).
    let (mut w, mut g) = (vec![0.0; 2], vec![3.0_f64, 4.0]);
    clip_grad_norm(
        &mut [ParamSlot::new("w", &mut w, &mut g)],
        5.0,
        NormType::L2,
        true,
    )
    .unwrap();
    assert!((g[0] - 2.9999994).abs() < 1e-7 && g[0] < 3.0, "{}", g[0]);
}

#[test]
fn bad_clipping_settings_are_named() {
    let (mut w, mut g) = (vec![0.0], vec![1.0_f64]);
    let e = clip_grad_norm(
        &mut [ParamSlot::new("w", &mut w, &mut g)],
        -1.0,
        NormType::L2,
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("max_norm"), "{e}");
    assert_eq!(g[0], 1.0, "PyTorch would have flipped the gradient");
    let e = clip_grad_norm(
        &mut [ParamSlot::new("w", &mut w, &mut g)],
        1.0,
        NormType::P(0.0),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("norm_type"), "{e}");
    assert!(clip_grad_value(&mut [ParamSlot::new("w", &mut w, &mut g)], 0.0).is_err());
    assert!(GradClip::value(f64::NAN).is_err());
    let bad: Result<GradClip, _> = serde_json::from_str(
        r#"{"kind":"norm","max_norm":-2.0,"norm_type":"l2","error_if_nonfinite":false}"#,
    );
    assert!(bad.is_err(), "deserializing validates too");
}

fn norm_type() -> impl Strategy<Value = NormType> {
    prop_oneof![
        Just(NormType::L2),
        Just(NormType::Inf),
        (1.0..6.0f64).prop_map(NormType::P)
    ]
}

/// Two parameters' gradients, with magnitudes spread over several decades.
fn grads() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    let elem = (-1.0..1.0f64, -3i32..4).prop_map(|(m, e)| m * 10f64.powi(e));
    (
        prop::collection::vec(elem.clone(), 1..40),
        prop::collection::vec(elem, 1..40),
    )
}

fn clip(a: &mut [f64], b: &mut [f64], max_norm: f64, t: NormType) -> Result<f64, OptimError> {
    let (mut wa, mut wb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    clip_grad_norm(
        &mut [
            ParamSlot::new("a", &mut wa, a),
            ParamSlot::new("b", &mut wb, b),
        ],
        max_norm,
        t,
        true,
    )
}

fn norm(a: &mut [f64], b: &mut [f64], t: NormType) -> f64 {
    let (mut wa, mut wb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    grad_norm::<f64>(
        &[
            ParamSlot::new("a", &mut wa, a),
            ParamSlot::new("b", &mut wb, b),
        ],
        t,
    )
}

proptest! {
    #[test]
    fn clipped_norm_is_within_max_norm((mut a, mut b) in grads(), max_norm in 1e-3..1e3f64, t in norm_type()) {
        clip(&mut a, &mut b, max_norm, t).unwrap();
        let after = norm(&mut a, &mut b, t);
        prop_assert!(after <= max_norm * (1.0 + 1e-6), "{after} > {max_norm}");
    }

    #[test]
    fn clipping_keeps_the_direction((mut a, mut b) in grads(), max_norm in 1e-3..1e3f64, t in norm_type()) {
        let before: Vec<f64> = a.iter().chain(&b).copied().collect();
        let total = clip(&mut a, &mut b, max_norm, t).unwrap();
        let coef = (max_norm / (total + 1e-6)).min(1.0);
        // Every element is scaled by the same positive coefficient.
        for (x, y) in before.iter().zip(a.iter().chain(&b)) {
            prop_assert!((y - coef * x).abs() <= 1e-15 * x.abs(), "{x} -> {y}, coef {coef}");
            prop_assert!(x * y >= 0.0);
        }
    }

    #[test]
    fn gradients_under_the_limit_are_untouched((mut a, mut b) in grads(), t in norm_type(), margin in 1.0..10.0f64) {
        let (a0, b0) = (a.clone(), b.clone());
        let max_norm = norm(&mut a, &mut b, t) * margin + 1e-5;
        clip(&mut a, &mut b, max_norm, t).unwrap();
        prop_assert_eq!((a, b), (a0, b0));
    }

    #[test]
    fn clip_by_value_bounds_every_element((mut a, mut b) in grads(), v in 1e-3..1e3f64) {
        let (a0, b0) = (a.clone(), b.clone());
        let (mut wa, mut wb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
        clip_grad_value(&mut [ParamSlot::new("a", &mut wa, &mut a), ParamSlot::new("b", &mut wb, &mut b)], v).unwrap();
        for (x, y) in a0.iter().chain(&b0).zip(a.iter().chain(&b)) {
            prop_assert!(y.abs() <= v);
            prop_assert_eq!(*y, x.clamp(-v, v));
        }
    }

    #[test]
    fn a_nan_gradient_is_reported((mut a, mut b) in grads(), at in any::<prop::sample::Index>(), t in norm_type()) {
        let i = at.index(b.len());
        b[i] = f64::NAN;
        let (a0, b0) = (a.clone(), b.clone());
        let err = clip(&mut a, &mut b, 1.0, t).unwrap_err();
        prop_assert!(matches!(&err, OptimError::NonFiniteNorm { param, .. } if param == "b"), "{}", err);
        // Nothing changed (compare bit patterns: NaN != NaN).
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&a), bits(&a0));
        prop_assert_eq!(bits(&b), bits(&b0));
        // Without the flag PyTorch's behaviour: the norm is NaN, and the step refuses it.
        let (mut wa, mut wb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
        let mut params = [ParamSlot::new("a", &mut wa, &mut a), ParamSlot::new("b", &mut wb, &mut b)];
        let total = clip_grad_norm(&mut params, 1.0, t, false).unwrap();
        prop_assert!(total.is_nan());
        let mut opt = Sgd::<f64>::new(SgdConfig::default()).unwrap();
        let stepped = opt.step(&mut params);
        let refused = matches!(stepped, Err(OptimError::NonFiniteGradient { .. }));
        prop_assert!(refused, "the step accepted NaN gradients");
    }
}

/// Several tensors of lengths from 0 to 80, at least one longer than the 8 lanes the norm
/// accumulates in, with magnitudes spread over several decades.
fn tensors() -> impl Strategy<Value = Vec<Vec<f64>>> {
    let elem = (-1.0..1.0f64, -3i32..4).prop_map(|(m, e)| m * 10f64.powi(e));
    (
        prop::collection::vec(elem.clone(), 9..80),
        prop::collection::vec(prop::collection::vec(elem, 0..80), 0..5),
    )
        .prop_map(|(long, mut rest)| {
            rest.insert(0, long);
            rest
        })
}

/// The norm written out independently: one sequential f64 sum over every element.
fn reference_norm(tensors: &[Vec<f64>], t: NormType) -> f64 {
    let all = || tensors.iter().flatten().copied();
    match t {
        NormType::Inf => all().fold(0.0, |m, x| m.max(x.abs())),
        NormType::L2 => all().map(|x| x * x).sum::<f64>().sqrt(),
        NormType::P(p) => all().map(|x| x.abs().powf(p)).sum::<f64>().powf(1.0 / p),
    }
}

fn grad_norm_of<F: gradwell_tensor::Float>(tensors: &[Vec<f64>], t: NormType) -> f64 {
    let mut grads: Vec<Vec<F>> = tensors
        .iter()
        .map(|v| v.iter().map(|&x| F::of(x)).collect())
        .collect();
    let mut values: Vec<Vec<F>> = grads.iter().map(|g| vec![F::zero(); g.len()]).collect();
    let names: Vec<String> = (0..grads.len()).map(|i| format!("p{i}")).collect();
    let slots: Vec<ParamSlot<'_, F>> = names
        .iter()
        .zip(values.iter_mut())
        .zip(grads.iter_mut())
        .map(|((n, v), g)| ParamSlot::new(n, v, g))
        .collect();
    grad_norm(&slots, t)
}

proptest! {
    /// `grad_norm` against the reference over tensors of many lengths (multiples of the
    /// lane count and not), for every norm type including the special-cased p = 1 and 2.
    /// Both sums add the same non-negative terms in another order, so they agree to a few
    /// units in the last place (≤ 400 terms: far below the 1e-12 allowed).
    #[test]
    fn grad_norm_matches_an_independent_sum(
        tensors in tensors(),
        p in 1.0..6.0f64,
    ) {
        for t in [NormType::L2, NormType::Inf, NormType::P(1.0), NormType::P(2.0), NormType::P(p)] {
            let want = reference_norm(&tensors, t);
            let got = grad_norm_of::<f64>(&tensors, t);
            prop_assert!((got - want).abs() <= 1e-12 * want, "{t:?}: {got} != {want}");
            // f32 gradients: the same sum over the f32-rounded values.
            let rounded: Vec<Vec<f64>> = tensors
                .iter()
                .map(|v| v.iter().map(|&x| f64::from(x as f32)).collect())
                .collect();
            let want = reference_norm(&rounded, t);
            let got = grad_norm_of::<f32>(&tensors, t);
            prop_assert!((got - want).abs() <= 1e-12 * want, "f32 {t:?}: {got} != {want}");
        }
    }
}
