//! Softmax and log-softmax along an axis, numerically stable (max-subtracted), and their
//! vector-Jacobian products.
//!
//! These are not element-wise, so they are functions over arrays rather than
//! [`crate::Activation`]s. As in PyTorch, a lane whose maximum is +∞, or whose entries are
//! all −∞, gives NaN; every lane of finite numbers gives finite results.

use ndarray::{Array, ArrayBase, ArrayView1, ArrayViewMut1, Axis, Data, DataMut, Dimension, Zip};
use num_traits::Float;

use crate::ActivationError;

fn check_axis(op: &'static str, shape: &[usize], axis: usize) -> Result<(), ActivationError> {
    if axis < shape.len() {
        Ok(())
    } else {
        Err(ActivationError::Axis {
            op,
            axis,
            shape: shape.to_vec(),
        })
    }
}

fn check_same_shape(
    op: &'static str,
    left: &[usize],
    right: &[usize],
) -> Result<(), ActivationError> {
    if left == right {
        Ok(())
    } else {
        Err(ActivationError::ShapeMismatch {
            op,
            left: left.to_vec(),
            right: right.to_vec(),
        })
    }
}

/// Checks the axis, then calls `lane(lane, max)` on every lane of `x` along `axis` with
/// the lane's largest entry.
fn forward_lanes<F, S, D>(
    op: &'static str,
    x: &mut ArrayBase<S, D>,
    axis: usize,
    mut lane: impl FnMut(ArrayViewMut1<'_, F>, F),
) -> Result<(), ActivationError>
where
    F: Float,
    S: DataMut<Elem = F>,
    D: Dimension,
{
    check_axis(op, x.shape(), axis)?;
    for l in x.lanes_mut(Axis(axis)) {
        let m = lane_max(&l);
        lane(l, m);
    }
    Ok(())
}

/// The largest entry of a lane (−∞ for an empty lane; NaNs are skipped here and propagate
/// through the exponentials instead).
fn lane_max<F: Float>(lane: &ArrayViewMut1<'_, F>) -> F {
    lane.iter()
        .fold(F::neg_infinity(), |m, &v| if v > m { v } else { m })
}

/// softmax(x)ᵢ = e^{xᵢ−m} / Σⱼ e^{xⱼ−m} along `axis`, with m the lane's maximum, so that
/// no exponential overflows.
///
/// ```
/// use gradwell_activations::softmax;
/// use ndarray::array;
///
/// // PyTorch: softmax([1000, 1001, 1002]) = [0.0900, 0.2447, 0.6652].
/// let s = softmax(&array![[1000.0_f64, 1001.0, 1002.0]], 1)?;
/// assert!((s[[0, 2]] - 0.6652).abs() < 1e-4);
/// assert!(softmax(&array![1.0_f64], 1).is_err());
/// # Ok::<(), gradwell_activations::ActivationError>(())
/// ```
pub fn softmax<F, S, D>(x: &ArrayBase<S, D>, axis: usize) -> Result<Array<F, D>, ActivationError>
where
    F: Float,
    S: Data<Elem = F>,
    D: Dimension,
{
    let mut y = x.to_owned();
    softmax_in_place(&mut y, axis)?;
    Ok(y)
}

/// [`softmax`] computed in place: `x` is replaced by its softmax along `axis` (no
/// allocation; what a training step uses on a reused buffer).
///
/// ```
/// let mut x = ndarray::array![[0.0_f32, 0.0]];
/// gradwell_activations::softmax_in_place(&mut x, 1)?;
/// assert_eq!(x, ndarray::array![[0.5, 0.5]]);
/// # Ok::<(), gradwell_activations::ActivationError>(())
/// ```
pub fn softmax_in_place<F, S, D>(
    x: &mut ArrayBase<S, D>,
    axis: usize,
) -> Result<(), ActivationError>
where
    F: Float,
    S: DataMut<Elem = F>,
    D: Dimension,
{
    forward_lanes("softmax", x, axis, |mut lane, m| {
        let mut sum = F::zero();
        for v in lane.iter_mut() {
            *v = (*v - m).exp();
            sum = sum + *v;
        }
        for v in lane.iter_mut() {
            *v = *v / sum;
        }
    })
}

/// log_softmax(x)ᵢ = (xᵢ − m) − log Σⱼ e^{xⱼ−m} along `axis`: finite for finite input even
/// where softmax underflows to 0 (PyTorch: log_softmax([−1000, 0]) = [−1000, 0]).
///
/// ```
/// use gradwell_activations::log_softmax;
/// use ndarray::array;
///
/// let l = log_softmax(&array![-1000.0_f64, 0.0], 0)?;
/// assert_eq!(l, array![-1000.0, 0.0]);
/// # Ok::<(), gradwell_activations::ActivationError>(())
/// ```
pub fn log_softmax<F, S, D>(
    x: &ArrayBase<S, D>,
    axis: usize,
) -> Result<Array<F, D>, ActivationError>
where
    F: Float,
    S: Data<Elem = F>,
    D: Dimension,
{
    let mut y = x.to_owned();
    log_softmax_in_place(&mut y, axis)?;
    Ok(y)
}

/// [`log_softmax`] computed in place along `axis` (no allocation).
///
/// ```
/// let mut x = ndarray::array![-1000.0_f64, 0.0];
/// gradwell_activations::log_softmax_in_place(&mut x, 0)?;
/// assert_eq!(x, ndarray::array![-1000.0, 0.0]);
/// # Ok::<(), gradwell_activations::ActivationError>(())
/// ```
pub fn log_softmax_in_place<F, S, D>(
    x: &mut ArrayBase<S, D>,
    axis: usize,
) -> Result<(), ActivationError>
where
    F: Float,
    S: DataMut<Elem = F>,
    D: Dimension,
{
    forward_lanes("log_softmax", x, axis, |mut lane, m| {
        let log_sum = lane.iter().fold(F::zero(), |s, &v| s + (v - m).exp()).ln();
        for v in lane.iter_mut() {
            *v = (*v - m) - log_sum;
        }
    })
}

/// Checks the shapes and axis of a backward product, then calls `lane(dx, y, dy)` on every
/// lane along `axis` of the three arrays.
fn backward_lanes<F, S1, S2, S3, D>(
    op: &'static str,
    y: &ArrayBase<S1, D>,
    dy: &ArrayBase<S2, D>,
    axis: usize,
    dx: &mut ArrayBase<S3, D>,
    lane: impl Fn(ArrayViewMut1<'_, F>, ArrayView1<'_, F>, ArrayView1<'_, F>),
) -> Result<(), ActivationError>
where
    F: Float,
    S1: Data<Elem = F>,
    S2: Data<Elem = F>,
    S3: DataMut<Elem = F>,
    D: Dimension,
{
    check_same_shape(op, y.shape(), dy.shape())?;
    check_same_shape(op, y.shape(), dx.shape())?;
    check_axis(op, y.shape(), axis)?;
    Zip::from(dx.lanes_mut(Axis(axis)))
        .and(y.lanes(Axis(axis)))
        .and(dy.lanes(Axis(axis)))
        .for_each(lane);
    Ok(())
}

/// The vector-Jacobian product of softmax: given its output `y` and the output gradient
/// `dy`, returns dx = y ⊙ (dy − ⟨dy, y⟩) along `axis`.
///
/// Errors if the shapes differ or the axis is out of range.
pub fn softmax_backward<F, S1, S2, D>(
    y: &ArrayBase<S1, D>,
    dy: &ArrayBase<S2, D>,
    axis: usize,
) -> Result<Array<F, D>, ActivationError>
where
    F: Float,
    S1: Data<Elem = F>,
    S2: Data<Elem = F>,
    D: Dimension,
{
    let mut dx = Array::zeros(y.raw_dim());
    softmax_backward_add(y, dy, axis, &mut dx)?;
    Ok(dx)
}

/// [`softmax_backward`] **added** into `dx` (no allocation): `dx += y ⊙ (dy − ⟨dy, y⟩)`.
///
/// Errors if the three shapes differ or the axis is out of range.
pub fn softmax_backward_add<F, S1, S2, S3, D>(
    y: &ArrayBase<S1, D>,
    dy: &ArrayBase<S2, D>,
    axis: usize,
    dx: &mut ArrayBase<S3, D>,
) -> Result<(), ActivationError>
where
    F: Float,
    S1: Data<Elem = F>,
    S2: Data<Elem = F>,
    S3: DataMut<Elem = F>,
    D: Dimension,
{
    backward_lanes("softmax_backward", y, dy, axis, dx, |mut dx, y, dy| {
        let dot = y.iter().zip(&dy).fold(F::zero(), |s, (&y, &g)| s + y * g);
        for ((dx, &y), &g) in dx.iter_mut().zip(&y).zip(&dy) {
            *dx = *dx + y * (g - dot);
        }
    })
}

/// The vector-Jacobian product of log-softmax: given its output `y` and the output
/// gradient `dy`, returns dx = dy − e^{y}·Σⱼ dyⱼ along `axis` (e^{y} is the softmax).
///
/// Errors if the shapes differ or the axis is out of range.
pub fn log_softmax_backward<F, S1, S2, D>(
    y: &ArrayBase<S1, D>,
    dy: &ArrayBase<S2, D>,
    axis: usize,
) -> Result<Array<F, D>, ActivationError>
where
    F: Float,
    S1: Data<Elem = F>,
    S2: Data<Elem = F>,
    D: Dimension,
{
    let mut dx = Array::zeros(y.raw_dim());
    log_softmax_backward_add(y, dy, axis, &mut dx)?;
    Ok(dx)
}

/// [`log_softmax_backward`] **added** into `dx` (no allocation): `dx += dy − e^{y}·Σⱼ dyⱼ`.
///
/// Errors if the three shapes differ or the axis is out of range.
pub fn log_softmax_backward_add<F, S1, S2, S3, D>(
    y: &ArrayBase<S1, D>,
    dy: &ArrayBase<S2, D>,
    axis: usize,
    dx: &mut ArrayBase<S3, D>,
) -> Result<(), ActivationError>
where
    F: Float,
    S1: Data<Elem = F>,
    S2: Data<Elem = F>,
    S3: DataMut<Elem = F>,
    D: Dimension,
{
    backward_lanes("log_softmax_backward", y, dy, axis, dx, |mut dx, y, dy| {
        let sum = dy.iter().fold(F::zero(), |s, &g| s + g);
        for ((dx, &y), &g) in dx.iter_mut().zip(&y).zip(&dy) {
            *dx = *dx + (g - y.exp() * sum);
        }
    })
}
