//! Broadcasting and reductions.

use gradwell_tensor::{broadcast_shape, mean_axis, sum_axis, sum_to_shape, zip_broadcast};
use ndarray::{ArrayD, Dimension, IxDyn};
use proptest::prelude::*;

proptest! {
    /// Broadcasting a shape against a version of itself with some axes set to 1 (and
    /// leading axes dropped) gives the shape back, and summing back recovers the total.
    #[test]
    fn sum_to_shape_undoes_broadcast(shape in prop::collection::vec(1usize..5, 1..4), mask in prop::collection::vec(any::<bool>(), 4), drop in 0usize..2) {
        let small: Vec<usize> = shape.iter().zip(&mask).map(|(&d, &m)| if m { 1 } else { d }).skip(drop.min(shape.len() - 1)).collect();
        prop_assert_eq!(broadcast_shape(&shape, &small).unwrap(), shape.clone());
        let g = ArrayD::from_shape_fn(IxDyn(&shape), |i| i.slice().iter().sum::<usize>() as f64);
        let summed = sum_to_shape(&g.view(), &small).unwrap();
        prop_assert_eq!(summed.shape(), &small[..]);
        prop_assert!((summed.sum() - g.sum()).abs() < 1e-9);
    }
}

#[test]
fn incompatible_shapes_are_errors_naming_both() {
    let err = broadcast_shape(&[4, 3], &[2, 3]).unwrap_err().to_string();
    assert!(err.contains("[4, 3]") && err.contains("[2, 3]"), "{err}");
    let a = ArrayD::<f32>::zeros(IxDyn(&[4, 3]));
    let b = ArrayD::<f32>::zeros(IxDyn(&[3, 4]));
    assert!(zip_broadcast(&a.view(), &b.view(), |x, y| x + y).is_err());
    assert!(sum_to_shape(&a.view(), &[3, 1]).is_err());
}

#[test]
fn axis_reductions_and_bad_axes() {
    let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    assert_eq!(
        sum_axis(&a.view(), 1).unwrap().as_slice().unwrap(),
        &[6.0, 15.0]
    );
    assert_eq!(
        mean_axis(&a.view(), 0).unwrap().as_slice().unwrap(),
        &[2.5, 3.5, 4.5]
    );
    assert!(sum_axis(&a.view(), 2).is_err());
    assert!(mean_axis(&a.view(), 5).is_err());
}
