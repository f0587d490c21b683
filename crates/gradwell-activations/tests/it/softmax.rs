//! Softmax and log-softmax: normalization, stability, and the backward products against
//! finite differences.

use gradwell_activations::{
    ActivationError, log_softmax, log_softmax_backward, softmax, softmax_backward,
};
use ndarray::{Array1, Array2, Axis, array};
use proptest::prelude::*;

/// Matrices of 1–5 rows and 1–8 columns, entries drawn either moderate ([−10, 10]) or wide
/// ([−1e4, 1e4], where most exponentials underflow after the max is subtracted).
fn matrix() -> impl Strategy<Value = Array2<f64>> {
    (1usize..6, 1usize..9, any::<bool>()).prop_flat_map(|(r, c, wide)| {
        let range = if wide { -1e4..1e4_f64 } else { -10.0..10.0_f64 };
        prop::collection::vec(range, r * c)
            .prop_map(move |v| Array2::from_shape_vec((r, c), v).unwrap())
    })
}

proptest! {
    /// Each row sums to 1 within n·4ε, along either axis.
    #[test]
    fn rows_sum_to_one(x in matrix()) {
        for axis in [0, 1] {
            let s = softmax(&x, axis).unwrap();
            let n = x.len_of(Axis(axis)) as f64;
            for sum in s.sum_axis(Axis(axis)) {
                prop_assert!((sum - 1.0).abs() <= 4.0 * n * f64::EPSILON, "{sum}");
            }
            prop_assert!(s.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    /// The Jacobian J = diag(s) − s·sᵀ has rows summing to 0 (probabilities keep summing
    /// to 1). Row k of J is the VJP of the unit vector e_k (J is symmetric).
    #[test]
    fn jacobian_rows_sum_to_zero(x in matrix()) {
        let s = softmax(&x, 1).unwrap();
        let n = x.ncols();
        for k in 0..n {
            let mut e = Array2::<f64>::zeros(x.raw_dim());
            e.column_mut(k).fill(1.0);
            let row = softmax_backward(&s, &e, 1).unwrap();
            for sum in row.sum_axis(Axis(1)) {
                prop_assert!(sum.abs() <= 4.0 * n as f64 * f64::EPSILON, "{sum}");
            }
        }
    }

    /// log_softmax = log(softmax) wherever softmax is a normal number (within 1e-13·(1 +
    /// |log s|): ln of a value with relative error ~4ε, plus ln's own rounding at up to
    /// |log s| ≈ 708), and finite everywhere, including where softmax underflows to 0.
    #[test]
    fn log_softmax_is_log_of_softmax_and_finite(x in matrix()) {
        let s = softmax(&x, 1).unwrap();
        let l = log_softmax(&x, 1).unwrap();
        for (&s, &l) in s.iter().zip(&l) {
            prop_assert!(l.is_finite(), "{l}");
            if s >= f64::MIN_POSITIVE {
                prop_assert!((l - s.ln()).abs() <= 1e-13 * (1.0 + l.abs()), "{l} vs ln {s}");
            }
        }
    }

    /// ⟨VJP(dy), v⟩ equals the directional derivative ⟨dy, (f(x+hv) − f(x−hv))/2h⟩ with
    /// h = 1e-5, within 1e-7 (moderate inputs: truncation ~h²·|f‴| ≤ 1e-10·|v|³, rounding
    /// ~ε/h = 2e-11 per entry).
    #[test]
    fn backward_matches_finite_differences(
        x in prop::collection::vec(-5.0..5.0_f64, 1..8),
        seed in prop::collection::vec((-1.0..1.0_f64, -1.0..1.0_f64), 8),
    ) {
        let n = x.len();
        let x = Array1::from(x);
        let dy: Array1<f64> = (0..n).map(|i| seed[i].0).collect();
        let v: Array1<f64> = (0..n).map(|i| seed[i].1).collect();
        let h = 1e-5;
        let (xp, xm) = (&x + &(&v * h), &x - &(&v * h));
        let s = softmax(&x, 0).unwrap();
        let fd = (&softmax(&xp, 0).unwrap() - &softmax(&xm, 0).unwrap()) / (2.0 * h);
        let vjp = softmax_backward(&s, &dy, 0).unwrap();
        prop_assert!((vjp.dot(&v) - dy.dot(&fd)).abs() <= 1e-7);
        let l = log_softmax(&x, 0).unwrap();
        let fd = (&log_softmax(&xp, 0).unwrap() - &log_softmax(&xm, 0).unwrap()) / (2.0 * h);
        let vjp = log_softmax_backward(&l, &dy, 0).unwrap();
        prop_assert!((vjp.dot(&v) - dy.dot(&fd)).abs() <= 1e-7);
    }
}

/// PyTorch: softmax([1000, 1001, 1002]) = [0.0900, 0.2447, 0.6652] and
/// log_softmax([−1000, 0]) = [−1000, 0], where log(softmax) gives −∞.
#[test]
fn stable_like_pytorch() {
    let s = softmax(&array![1000.0_f64, 1001.0, 1002.0], 0).unwrap();
    for (got, want) in s.iter().zip([0.0900, 0.2447, 0.6652]) {
        assert!((got - want).abs() < 5e-5, "{got} vs {want}");
    }
    let x = array![-1000.0_f64, 0.0];
    assert_eq!(log_softmax(&x, 0).unwrap(), array![-1000.0, 0.0]);
    assert_eq!(softmax(&x, 0).unwrap()[0].ln(), f64::NEG_INFINITY);
    // f32 too: no overflow.
    let s32 = softmax(&array![1000.0_f32, 1001.0, 1002.0], 0).unwrap();
    assert!((s32[2] - 0.6652).abs() < 5e-5);
}

#[test]
fn bad_axis_and_shape_are_errors() {
    let x = Array2::<f64>::zeros((2, 3));
    assert_eq!(
        softmax(&x, 2).unwrap_err(),
        ActivationError::Axis {
            op: "softmax",
            axis: 2,
            shape: vec![2, 3]
        }
    );
    assert!(matches!(
        log_softmax(&x, 5),
        Err(ActivationError::Axis {
            op: "log_softmax",
            ..
        })
    ));
    let dy = Array2::<f64>::zeros((3, 2));
    assert!(matches!(
        softmax_backward(&x, &dy, 0),
        Err(ActivationError::ShapeMismatch {
            op: "softmax_backward",
            ..
        })
    ));
    assert!(matches!(
        log_softmax_backward(&x, &x, 9),
        Err(ActivationError::Axis {
            op: "log_softmax_backward",
            ..
        })
    ));
}

/// The in-place forms equal the allocating ones, and the `_add` backward forms add the
/// allocating result to what the gradient held (bit for bit: one addition per element);
/// a gradient of another shape is an error that changes nothing.
#[test]
fn in_place_and_accumulating_forms_agree_with_the_allocating_ones() {
    use gradwell_activations::{
        log_softmax_backward_add, log_softmax_in_place, softmax_backward_add, softmax_in_place,
    };
    let x = ndarray::Array2::from_shape_fn((3, 5), |(i, j)| (i as f64 - 1.5) * (j as f64 + 0.25));
    let dy = ndarray::Array2::from_shape_fn((3, 5), |(i, j)| ((i * 5 + j) as f64).sin());
    let old = ndarray::Array2::from_shape_fn((3, 5), |(i, j)| (i + 2 * j) as f64 * 0.1);
    for axis in [0, 1] {
        let mut y = x.clone();
        softmax_in_place(&mut y, axis).unwrap();
        assert_eq!(y, softmax(&x, axis).unwrap());
        let mut dx = old.clone();
        softmax_backward_add(&y, &dy, axis, &mut dx).unwrap();
        assert_eq!(dx, &old + &softmax_backward(&y, &dy, axis).unwrap());

        let mut l = x.clone();
        log_softmax_in_place(&mut l, axis).unwrap();
        assert_eq!(l, log_softmax(&x, axis).unwrap());
        let mut dx = old.clone();
        log_softmax_backward_add(&l, &dy, axis, &mut dx).unwrap();
        assert_eq!(dx, &old + &log_softmax_backward(&l, &dy, axis).unwrap());
    }
    let mut wrong = ndarray::Array2::<f64>::zeros((5, 3));
    assert!(softmax_backward_add(&x, &dy, 1, &mut wrong).is_err());
    assert!(log_softmax_backward_add(&x, &dy, 1, &mut wrong).is_err());
    assert!(wrong.iter().all(|&v| v == 0.0));
    assert!(softmax_in_place(&mut wrong, 2).is_err());
}
