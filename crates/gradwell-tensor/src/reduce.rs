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

/// Independent accumulators of [`sum_map_f64`], so that the sum vectorizes without
/// reassociating a single running total.
const SUM_LANES: usize = 8;

/// `Σ f(x)` over the slice, each term and the total in `f64` whatever the element type,
/// with eight independent accumulators (summed at the end) so that the loop vectorizes.
/// This is the one reduction behind every gradient norm: the optimizers' clipping, the
/// trainer's finite check and norm.
///
/// ```
/// use gradwell_tensor::{sum_map_f64, sum_squares_f64};
///
/// let g = [3.0_f32, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 12.0];
/// assert_eq!(sum_squares_f64(&g).sqrt(), 13.0);
/// assert_eq!(sum_map_f64(&g, f64::abs), 19.0);
/// ```
pub fn sum_map_f64<F: Float>(xs: &[F], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0_f64; SUM_LANES];
    let mut chunks = xs.chunks_exact(SUM_LANES);
    for c in &mut chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f(x.as_f64());
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|&x| f(x.as_f64())).sum();
    acc.iter().sum::<f64>() + tail
}

/// `Σ x²` in `f64` ([`sum_map_f64`] with the square): the squared L2 norm of a gradient.
pub fn sum_squares_f64<F: Float>(xs: &[F]) -> f64 {
    sum_map_f64(xs, |x| x * x)
}
