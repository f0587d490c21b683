use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, Zip};

use crate::{Float, ShapeError};

/// The shape two operands broadcast to, by NumPy's and PyTorch's rule: shapes are aligned
/// at their trailing axes, and each pair of lengths must be equal or contain a 1.
///
/// # Errors
/// [`ShapeError::Mismatch`] naming both shapes and the first axis that does not broadcast.
///
/// ```
/// use gradwell_tensor::broadcast_shape;
/// assert_eq!(broadcast_shape(&[64, 10], &[10])?, vec![64, 10]);
/// assert_eq!(broadcast_shape(&[3, 1], &[1, 4])?, vec![3, 4]);
/// assert!(broadcast_shape(&[3, 2], &[3]).is_err());
/// # Ok::<(), gradwell_tensor::ShapeError>(())
/// ```
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, ShapeError> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (x, y) => {
                return Err(ShapeError::mismatch(
                    "broadcast",
                    a,
                    b,
                    format!("axis {i} has lengths {x} and {y}; one must be 1 or both equal"),
                ));
            }
        };
    }
    Ok(out)
}

/// Applies `f` element-wise to two arrays broadcast against each other, into a new array.
///
/// # Errors
/// [`ShapeError::Mismatch`] when the shapes do not broadcast.
///
/// ```
/// use gradwell_tensor::zip_broadcast;
/// use ndarray::array;
///
/// let x = array![[1.0_f64, 2.0], [3.0, 4.0]].into_dyn();
/// let bias = array![10.0_f64, 20.0].into_dyn();
/// let y = zip_broadcast(&x.view(), &bias.view(), |a, b| a + b)?;
/// assert_eq!(y, array![[11.0, 22.0], [13.0, 24.0]].into_dyn());
/// # Ok::<(), gradwell_tensor::ShapeError>(())
/// ```
pub fn zip_broadcast<F: Float>(
    a: &ArrayViewD<'_, F>,
    b: &ArrayViewD<'_, F>,
    f: impl Fn(F, F) -> F,
) -> Result<ArrayD<F>, ShapeError> {
    let shape = broadcast_shape(a.shape(), b.shape())?;
    let mut out = ArrayD::zeros(IxDyn(&shape));
    zip_broadcast_into(a, b, &mut out.view_mut(), f)?;
    Ok(out)
}

/// [`zip_broadcast`] writing into an existing array whose shape must be the broadcast shape,
/// so a caller can reuse one buffer across steps.
///
/// # Errors
/// [`ShapeError::Mismatch`] when the operands do not broadcast to `out`'s shape.
pub fn zip_broadcast_into<F: Float>(
    a: &ArrayViewD<'_, F>,
    b: &ArrayViewD<'_, F>,
    out: &mut ArrayViewMutD<'_, F>,
    f: impl Fn(F, F) -> F,
) -> Result<(), ShapeError> {
    let shape = broadcast_shape(a.shape(), b.shape())?;
    if shape != out.shape() {
        return Err(ShapeError::mismatch(
            "broadcast output",
            &shape,
            out.shape(),
            "the output must have the broadcast shape",
        ));
    }
    // Both broadcasts succeed: `shape` is their common broadcast shape.
    let (Some(ab), Some(bb)) = (a.broadcast(out.raw_dim()), b.broadcast(out.raw_dim())) else {
        return Err(ShapeError::mismatch(
            "broadcast",
            a.shape(),
            b.shape(),
            "views do not broadcast",
        ));
    };
    Zip::from(out)
        .and(&ab)
        .and(&bb)
        .for_each(|o, &x, &y| *o = f(x, y));
    Ok(())
}

/// Sums a gradient of a broadcast result back to the shape of the operand that was
/// broadcast: leading axes the operand lacked are summed away, and axes where it had
/// length 1 are summed with the length kept.
///
/// # Errors
/// [`ShapeError::Mismatch`] when `shape` does not broadcast to the gradient's shape.
///
/// ```
/// use gradwell_tensor::sum_to_shape;
/// use ndarray::array;
///
/// let g = array![[1.0_f64, 2.0], [3.0, 4.0]].into_dyn();
/// assert_eq!(sum_to_shape(&g.view(), &[2])?, array![4.0, 6.0].into_dyn());
/// assert_eq!(sum_to_shape(&g.view(), &[2, 1])?, array![[3.0], [7.0]].into_dyn());
/// # Ok::<(), gradwell_tensor::ShapeError>(())
/// ```
pub fn sum_to_shape<F: Float>(
    grad: &ArrayViewD<'_, F>,
    shape: &[usize],
) -> Result<ArrayD<F>, ShapeError> {
    let full = broadcast_shape(grad.shape(), shape)?;
    if full != grad.shape() || shape.len() > grad.ndim() {
        return Err(ShapeError::mismatch(
            "sum to shape",
            grad.shape(),
            shape,
            "the target shape must broadcast to the gradient's shape",
        ));
    }
    let mut g = grad.to_owned();
    let lead = grad.ndim() - shape.len();
    for _ in 0..lead {
        g = g.sum_axis(Axis(0));
    }
    for (i, &len) in shape.iter().enumerate() {
        if len == 1 && g.len_of(Axis(i)) != 1 {
            g = g.sum_axis(Axis(i)).insert_axis(Axis(i));
        }
    }
    Ok(g)
}
