use gradwell_init::{Eye, Initializer, Orthogonal};
use ndarray::{Array2, ArrayD, Ix2};
use proptest::prelude::*;

use crate::rng;

/// The largest |(W·Wᵀ or Wᵀ·W) − gain²·I| entry, taking the product of the smaller side,
/// with W flattened to [shape[0], rest] as PyTorch does.
fn residual(w: &ArrayD<f64>, gain: f64) -> f64 {
    let rows = w.shape()[0];
    let w: Array2<f64> = w
        .to_shape((rows, w.len() / rows))
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap()
        .to_owned();
    let g = if w.nrows() <= w.ncols() {
        w.dot(&w.t())
    } else {
        w.t().dot(&w)
    };
    g.indexed_iter()
        .map(|((i, j), &x)| (x - if i == j { gain * gain } else { 0.0 }).abs())
        .fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(crate::config(64))]

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal_times_gain(
        rows in 1_usize..40, inp in 1_usize..40, kernel in proptest::collection::vec(1_usize..4, 0..2),
        gain in 0.1_f64..3.0, seed in any::<u64>(),
    ) {
        let shape: Vec<usize> = [rows, inp].iter().chain(&kernel).copied().collect();
        let init = Orthogonal { gain };
        let w: ArrayD<f64> = init.sample(&shape, &mut rng(seed)).unwrap();
        let r = residual(&w, gain);
        prop_assert!(r <= 1e-5, "f64 {shape:?} gain {gain}: {r:e}");
        let w32: ArrayD<f32> = init.sample(&shape, &mut rng(seed)).unwrap();
        let r32 = residual(&w32.mapv(f64::from), gain);
        prop_assert!(r32 <= 1e-5 * gain.max(1.0).powi(2), "f32 {shape:?} gain {gain}: {r32:e}");
    }
}

#[test]
fn orthogonal_matches_pytorchs_example() {
    // orthogonal_(torch.empty(3, 5), gain=2) gives W·Wᵀ = 4·I.
    let w: ArrayD<f64> = Orthogonal { gain: 2.0 }
        .sample(&[3, 5], &mut rng(0))
        .unwrap();
    assert!(residual(&w, 2.0) < 1e-12);
    // And a non-orthogonal matrix is caught by the residual.
    let not = ArrayD::from_shape_vec(vec![2, 2], vec![1.0, 0.1, 0.0, 1.0]).unwrap();
    assert!(residual(&not, 1.0) > 0.09);
}

#[test]
fn eye_is_the_identity_even_when_not_square() {
    let e: ArrayD<f32> = Eye.sample(&[3, 5], &mut rng(0)).unwrap();
    let e = e.into_dimensionality::<Ix2>().unwrap();
    for ((i, j), &x) in e.indexed_iter() {
        assert_eq!(x, if i == j { 1.0 } else { 0.0 }, "({i}, {j})");
    }
    let e: ArrayD<f64> = Eye.sample(&[4, 2], &mut rng(0)).unwrap();
    assert_eq!(e.sum(), 2.0);
}
