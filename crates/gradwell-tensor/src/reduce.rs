use ndarray::{ArrayD, ArrayViewD, Axis};

use crate::{Float, ShapeError};

/// Checks that `axis` exists in `shape`, naming the operation otherwise.
///
/// # Errors
/// [`ShapeError::Axis`] when `axis >= shape.len()`.
pub fn check_axis(op: &'static str, shape: &[usize], axis: usize) -> Result<(), ShapeError> {
    if axis < shape.len() {
        Ok(())
    } else {
        Err(ShapeError::Axis {
            op,
            axis,
            shape: shape.to_vec(),
        })
    }
}

/// The sum over one axis (the axis is removed).
///
/// # Errors
/// [`ShapeError::Axis`] when the axis does not exist.
///
/// ```
/// use gradwell_tensor::sum_axis;
/// use ndarray::array;
/// let a = array![[1.0_f32, 2.0], [3.0, 4.0]].into_dyn();
/// assert_eq!(sum_axis(&a.view(), 0)?, array![4.0, 6.0].into_dyn());
/// assert!(sum_axis(&a.view(), 2).is_err());
/// # Ok::<(), gradwell_tensor::ShapeError>(())
/// ```
pub fn sum_axis<F: Float>(a: &ArrayViewD<'_, F>, axis: usize) -> Result<ArrayD<F>, ShapeError> {
    check_axis("sum", a.shape(), axis)?;
    Ok(a.sum_axis(Axis(axis)))
}

/// The mean over one axis (the axis is removed). The mean over an empty axis is NaN, as in
/// PyTorch.
///
/// # Errors
/// [`ShapeError::Axis`] when the axis does not exist.
pub fn mean_axis<F: Float>(a: &ArrayViewD<'_, F>, axis: usize) -> Result<ArrayD<F>, ShapeError> {
    check_axis("mean", a.shape(), axis)?;
    let n = F::of(a.len_of(Axis(axis)) as f64);
    Ok(a.sum_axis(Axis(axis)).mapv(|v| v / n))
}
