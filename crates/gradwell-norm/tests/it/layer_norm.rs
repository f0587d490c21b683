//! Layer norm invariants: each row (last axis) of the output has mean 0 and biased
//! variance `v/(v + eps)`; rows are independent; the output is invariant to a per-row
//! positive scale and shift (up to the exact eps correction).

use gradwell_autodiff::Tape;
use gradwell_norm::{DEFAULT_EPS, LayerNorm, LayerNormConfig};
use ndarray::{Array2, ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use rand::Rng;

use crate::common::{F64_LOOSE, mean_var, rng, uniform};

fn output(x: &ArrayD<f64>, gamma_beta: Option<(&ArrayD<f64>, &ArrayD<f64>)>) -> ArrayD<f64> {
    let d = *x.shape().last().unwrap();
    let mut tape = Tape::<f64>::new();
    let ln = LayerNorm::new(tape.params_mut(), "ln", d, LayerNormConfig::default()).unwrap();
    if let Some((g, b)) = gamma_beta {
        tape.params_mut().value_mut(ln.weight().unwrap()).assign(g);
        tape.params_mut().value_mut(ln.bias().unwrap()).assign(b);
    }
    let xv = tape.input(x.clone());
    let y = ln.forward(&mut tape, xv).unwrap();
    tape.value(y).to_owned()
}

fn rows(x: &ArrayD<f64>) -> Array2<f64> {
    let d = *x.shape().last().unwrap();
    x.to_shape((x.len() / d, d)).unwrap().to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Per row: mean 0, biased variance `v/(v + eps)` (normalizing by the unbiased
    /// variance would give (d−1)/d of it, ≥ 1/64 off).
    #[test]
    fn rows_are_standardized(n in 1usize..6, d in 2usize..64, seed in any::<u64>()) {
        let mut r = rng(seed);
        let scale: Vec<f64> = (0..n).map(|_| 10f64.powf(r.random_range(-1.0..2.0))).collect();
        let shift: Vec<f64> = (0..n).map(|_| r.random_range(-100.0..100.0)).collect();
        let mut x = uniform(&mut r, &[n, d], -1.0, 1.0);
        for (i, mut row) in x.axis_iter_mut(Axis(0)).enumerate() {
            row.mapv_inplace(|v| v * scale[i] + shift[i]);
        }
        let y = output(&x, None);
        for (xr, yr) in rows(&x).outer_iter().zip(rows(&y).outer_iter()) {
            let (_, v) = mean_var(&xr.to_vec());
            prop_assume!(v >= 1e-4);
            let (my, vy) = mean_var(&yr.to_vec());
            prop_assert!(my.abs() <= F64_LOOSE, "mean {my:e}");
            prop_assert!((vy - v / (v + DEFAULT_EPS)).abs() <= F64_LOOSE, "var {vy}");
        }
    }

    /// A per-row scale a > 0 and shift b leave `(y − β)` scaled by the exact eps factor
    /// `√((v + eps)/(v + eps/a²))` — and each row is computed independently of the others.
    #[test]
    fn scale_and_shift_invariance(n in 1usize..5, d in 2usize..16, seed in any::<u64>()) {
        let mut r = rng(seed);
        let x = uniform(&mut r, &[n, d], -2.0, 2.0);
        let a: Vec<f64> = (0..n).map(|_| 10f64.powf(r.random_range(-1.0..1.0))).collect();
        let b: Vec<f64> = (0..n).map(|_| r.random_range(-50.0..50.0)).collect();
        let g = uniform(&mut r, &[d], -2.0, 2.0);
        let be = uniform(&mut r, &[d], -2.0, 2.0);
        let mut x2 = x.clone();
        for (i, mut row) in x2.axis_iter_mut(Axis(0)).enumerate() {
            row.mapv_inplace(|v| a[i] * v + b[i]);
        }
        let y = output(&x, Some((&g, &be)));
        let y2 = output(&x2, Some((&g, &be)));
        for i in 0..n {
            let (_, v) = mean_var(&x.index_axis(Axis(0), i).iter().copied().collect::<Vec<_>>());
            let ratio = ((v + DEFAULT_EPS) / (v + DEFAULT_EPS / (a[i] * a[i]))).sqrt();
            for j in 0..d {
                let expected = (y[[i, j]] - be[j]) * ratio + be[j];
                prop_assert!((y2[[i, j]] - expected).abs() <= F64_LOOSE * (1.0 + expected.abs()));
            }
            let alone = output(&x.index_axis(Axis(0), i).insert_axis(Axis(0)).to_owned(), Some((&g, &be)));
            prop_assert_eq!(alone.index_axis(Axis(0), 0), y.index_axis(Axis(0), i));
        }
    }
}

/// A row of one value normalizes to 0 (output β), as PyTorch, with no error; 3D input
/// normalizes the last axis only.
#[test]
fn width_one_and_three_dimensions() {
    let x = uniform(&mut rng(1), &[3, 1], -1.0, 1.0);
    assert!(output(&x, None).iter().all(|&v| v == 0.0));
    let x = uniform(&mut rng(2), &[2, 3, 5], -1.0, 1.0);
    let y = output(&x, None);
    let flat = output(&x.to_shape(IxDyn(&[6, 5])).unwrap().to_owned(), None);
    assert_eq!(y.to_shape(IxDyn(&[6, 5])).unwrap(), flat.view());
}
