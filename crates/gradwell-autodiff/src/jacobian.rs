//! Derivatives of a whole function with respect to its input: vector-Jacobian products
//! ([`vjp`], uᵀJ), Jacobian-vector products ([`jvp`], J·v), the whole Jacobian
//! ([`jacobian`]) and its singular values ([`SingularValues`]).
//!
//! The function is any computation on a [`Tape`] from one input [`Var`] to one output
//! `Var`: a few ops, a layer, a whole network (gradwell-nn's `Network::jacobian` and
//! `module_jacobian` call these). Its input goes on the tape with
//! [`Tape::input_requires_grad`]; the function is recorded once and the tape runs
//! backward from the output as many times as needed, each pass seeded with the output's
//! gradient ([`Tape::backward_from`]). Everything is exact — the ops' own backward
//! passes, no finite differences.
//!
//! Conventions follow `torch.autograd.functional`: for an input of shape `[a…]` and an
//! output of shape `[b…]`, the Jacobian has shape `[b…, a…]` ([`Jacobian::to_array`]),
//! entry `[i…, j…]` being ∂yᵢ/∂xⱼ; as a matrix ([`Jacobian::matrix`]) its rows are the
//! output's elements and its columns the input's, both in row-major order. A batch is not
//! special: a function of a `[batch, features]` input has the Jacobian of the flattened
//! batch, `[batch, out, batch, in]`, as `torch.autograd.functional.jacobian` gives for the
//! same call (in evaluation mode the blocks between different samples are zero).
//!
//! # Cost
//!
//! Everything runs in reverse mode: one forward pass, then one backward pass per product
//! uᵀJ. [`vjp`] costs one backward pass; [`jacobian`] one per element of the output (so a
//! network with 10 outputs costs 10 passes, whatever its input width); [`jvp`] is computed
//! as J·v from those same rows, so it costs as much as the whole Jacobian — a forward-mode
//! pass would cost one, but would need a tangent rule for every op. Compute the
//! [`jacobian`] once when several products at the same point are needed.
//!
//! The parameters' gradients are left alone (they are not even computed), as
//! `torch.autograd.functional` leaves `.grad` alone. Each function resets the tape first
//! and records in recording mode whatever mode the tape was in (the mode is restored);
//! the recording stays on the tape until the next reset.
//!
//! ```
//! use gradwell_autodiff::jacobian::{jacobian, jvp, vjp};
//! use gradwell_autodiff::{AutodiffError, Tape};
//! use ndarray::array;
//!
//! // f(x) = W·x: its Jacobian is W.
//! let mut tape = Tape::<f64>::new();
//! let w = tape.params_mut().add("w", array![[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]].into_dyn());
//! let f = |t: &mut Tape<f64>, x| {
//!     let wv = t.param(w);
//!     t.matmul_t(x, wv)
//! };
//! let x = array![[0.5, 0.25, -1.0]].into_dyn();
//! let j = jacobian(&mut tape, &x.view(), f)?;
//! assert_eq!(j.output_shape(), &[1, 2]);
//! assert_eq!(j.to_array().shape(), &[1, 2, 1, 3]);
//! assert_eq!(j.matrix, array![[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]);
//!
//! let (_, ujt) = vjp(&mut tape, &x.view(), &array![[1.0, 1.0]].into_dyn().view(), f)?;
//! assert_eq!(ujt, array![[1.0, 1.0, 3.0]].into_dyn());
//! let (_, jv) = jvp(&mut tape, &x.view(), &array![[1.0, 0.0, 1.0]].into_dyn().view(), f)?;
//! assert_eq!(jv, array![[1.0, 3.0]].into_dyn());
//!
//! let s = j.singular_values()?;
//! assert!((s.max() * s.max() + s.min() * s.min() - 15.0).abs() < 1e-12); // ‖W‖²_F = 15
//! assert_eq!(tape.params().grad(w), ndarray::ArrayD::zeros(vec![2, 3]));
//! # Ok::<(), AutodiffError>(())
//! ```

use gradwell_tensor::{Float, ShapeError};
use ndarray::{Array1, Array2, ArrayD, ArrayViewD, IxDyn};

use crate::{AutodiffError, Tape, Var};

/// The Jacobian of a function at a point (see the [module](self) for the conventions).
#[derive(Debug, Clone, PartialEq)]
pub struct Jacobian<F: Float> {
    /// The function's value at the point.
    pub output: ArrayD<F>,
    /// The shape of the input.
    pub input_shape: Vec<usize>,
    /// ∂y/∂x with the output's elements as rows and the input's as columns (row-major
    /// flattening of both).
    pub matrix: Array2<F>,
}

impl<F: Float> Jacobian<F> {
    /// The shape of the output.
    pub fn output_shape(&self) -> &[usize] {
        self.output.shape()
    }

    /// The Jacobian shaped `[output shape…, input shape…]`, as
    /// `torch.autograd.functional.jacobian` returns it.
    pub fn to_array(&self) -> ArrayD<F> {
        let mut shape = self.output.shape().to_vec();
        shape.extend(&self.input_shape);
        let data: Vec<F> = self.matrix.iter().copied().collect();
        ArrayD::from_shape_vec(IxDyn(&shape), data)
            .unwrap_or_else(|_| unreachable!("m·n elements fit [out…, in…]"))
    }

    /// The singular values of [`Jacobian::matrix`] ([`singular_values`]; the `svd`
    /// feature).
    ///
    /// # Errors
    /// As [`singular_values`].
    #[cfg(feature = "svd")]
    pub fn singular_values(&self) -> Result<SingularValues, AutodiffError> {
        singular_values(&self.matrix.view())
    }
}

/// The singular values of a matrix, largest first, with the figures that say how far a
/// Jacobian is from an isometry ([`singular_values`] computes them, with the `svd`
/// feature).
#[derive(Debug, Clone, PartialEq)]
pub struct SingularValues {
    /// The min(m, n) singular values of an m×n matrix, in decreasing order.
    pub values: Vec<f64>,
}

impl SingularValues {
    /// The largest singular value (the spectral norm).
    pub fn max(&self) -> f64 {
        self.values.first().copied().unwrap_or(0.0)
    }

    /// The smallest of the min(m, n) singular values.
    pub fn min(&self) -> f64 {
        self.values.last().copied().unwrap_or(0.0)
    }

    /// The mean of σ² over the min(m, n) singular values: ‖J‖²_F / min(m, n). Pennington,
    /// Schoenholz and Ganguli (2017) call a network's input-output Jacobian dynamically
    /// isometric when its σ² concentrate around 1: this mean near 1 and a small spread.
    pub fn mean_square(&self) -> f64 {
        if self.values.is_empty() {
            return 0.0;
        }
        self.values.iter().map(|s| s * s).sum::<f64>() / self.values.len() as f64
    }

    /// σ_max / σ_min: 1 for an isometry, ∞ when σ_min is 0.
    pub fn condition(&self) -> f64 {
        let (max, min) = (self.max(), self.min());
        if min > 0.0 { max / min } else { f64::INFINITY }
    }
}

#[cfg(feature = "svd")]
/// Iterations after which the SVD gives up (nalgebra's implicit-shift QR normally needs a
/// few per singular value).
const SVD_MAX_ITERATIONS: usize = 100_000;

/// The singular values of `a` (computed in f64 by nalgebra's SVD, largest first; the `svd`
/// feature, on by default).
///
/// # Errors
/// [`AutodiffError::Linalg`] for an empty matrix, a matrix holding NaN or ∞, or an SVD
/// that does not converge.
#[cfg(feature = "svd")]
pub fn singular_values<F: Float>(
    a: &ndarray::ArrayView2<'_, F>,
) -> Result<SingularValues, AutodiffError> {
    let (m, n) = a.dim();
    if m == 0 || n == 0 {
        return Err(AutodiffError::Linalg(format!(
            "the {m}×{n} matrix is empty: it has no singular values"
        )));
    }
    if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.as_f64().is_finite()) {
        return Err(AutodiffError::Linalg(format!(
            "the {m}×{n} matrix holds {} at [{i}, {j}]: it has no singular values",
            v.as_f64()
        )));
    }
    let mat = nalgebra::DMatrix::<f64>::from_fn(m, n, |i, j| a[[i, j]].as_f64());
    let svd = nalgebra::SVD::try_new_unordered(mat, false, false, f64::EPSILON, SVD_MAX_ITERATIONS)
        .ok_or_else(|| {
            AutodiffError::Linalg(format!(
                "the SVD of the {m}×{n} matrix did not converge in {SVD_MAX_ITERATIONS} iterations"
            ))
        })?;
    let mut values: Vec<f64> = svd.singular_values.iter().copied().collect();
    values.sort_by(|a, b| b.total_cmp(a));
    Ok(SingularValues { values })
}

/// Resets the tape, puts `x` on it requiring a gradient and records `f` in recording mode
/// (restoring the mode afterwards).
fn record<F: Float, E: From<AutodiffError>>(
    tape: &mut Tape<F>,
    x: &ArrayViewD<'_, F>,
    f: impl FnOnce(&mut Tape<F>, Var) -> Result<Var, E>,
) -> Result<(Var, Var), E> {
    tape.reset();
    let was = tape.is_recording();
    tape.set_recording(true);
    let xv = tape.input_requires_grad(x.as_standard_layout().into_owned());
    let y = f(tape, xv);
    tape.set_recording(was);
    Ok((xv, y?))
}

/// uᵀ·∂y/∂x into `out` (zero when y does not depend on x), parameters untouched.
fn pull_back<F: Float>(
    tape: &mut Tape<F>,
    x: Var,
    y: Var,
    u: &ArrayViewD<'_, F>,
) -> Result<ArrayD<F>, AutodiffError> {
    tape.backward_seeded(y, u, false)?;
    match tape.input_grad(x) {
        Ok(g) => Ok(g.to_owned()),
        Err(AutodiffError::NotReached(_)) => Ok(ArrayD::zeros(tape.shape(x)?)),
        Err(e) => Err(e),
    }
}

/// The vector-Jacobian product: `(f(x), uᵀ·J)` with J = ∂f/∂x at `x`, `u` shaped like
/// the output and the product like the input (`torch.autograd.functional.vjp`). One
/// forward and one backward pass; see the [module](self) for the tape's state afterwards.
///
/// # Errors
/// Whatever `f` returns, or a [`ShapeError`] when `u` is not shaped like the output.
pub fn vjp<F: Float, E: From<AutodiffError>>(
    tape: &mut Tape<F>,
    x: &ArrayViewD<'_, F>,
    u: &ArrayViewD<'_, F>,
    f: impl FnOnce(&mut Tape<F>, Var) -> Result<Var, E>,
) -> Result<(ArrayD<F>, ArrayD<F>), E> {
    let (xv, y) = record(tape, x, f)?;
    let g = pull_back(tape, xv, y, u)?;
    Ok((tape.value(y).to_owned(), g))
}

/// The Jacobian-vector product: `(f(x), J·v)` with J = ∂f/∂x at `x`, `v` shaped like the
/// input and the product like the output (`torch.autograd.functional.jvp`). Computed in
/// reverse mode from the Jacobian's rows: one backward pass per output element (see the
/// [module](self) for the cost).
///
/// # Errors
/// Whatever `f` returns, or a [`ShapeError`] when `v` is not shaped like the input.
pub fn jvp<F: Float, E: From<AutodiffError>>(
    tape: &mut Tape<F>,
    x: &ArrayViewD<'_, F>,
    v: &ArrayViewD<'_, F>,
    f: impl FnOnce(&mut Tape<F>, Var) -> Result<Var, E>,
) -> Result<(ArrayD<F>, ArrayD<F>), E> {
    if v.shape() != x.shape() {
        return Err(AutodiffError::from(ShapeError::mismatch(
            "jvp",
            v.shape(),
            x.shape(),
            "the tangent must have the input's shape",
        ))
        .into());
    }
    let j = jacobian(tape, x, f)?;
    let v = Array1::from_iter(v.iter().copied());
    let jv = j.matrix.dot(&v);
    let data: Vec<F> = jv.iter().copied().collect();
    let jv = ArrayD::from_shape_vec(j.output.raw_dim(), data)
        .unwrap_or_else(|_| unreachable!("m elements fit the output's shape"));
    Ok((j.output, jv))
}

/// The whole Jacobian of `f` at `x` (`torch.autograd.functional.jacobian`): one forward
/// pass and one backward pass per element of the output (see the [module](self)).
///
/// # Errors
/// Whatever `f` returns.
pub fn jacobian<F: Float, E: From<AutodiffError>>(
    tape: &mut Tape<F>,
    x: &ArrayViewD<'_, F>,
    f: impl FnOnce(&mut Tape<F>, Var) -> Result<Var, E>,
) -> Result<Jacobian<F>, E> {
    let (xv, y) = record(tape, x, f)?;
    let output = tape.value(y).to_owned();
    let (m, n) = (output.len(), x.len());
    let mut matrix = Array2::zeros((m, n));
    let mut seed = ArrayD::zeros(output.raw_dim());
    for i in 0..m {
        let flat = seed
            .as_slice_mut()
            .unwrap_or_else(|| unreachable!("a new array is in standard layout"));
        flat.fill(F::zero());
        flat[i] = F::one();
        let row = pull_back(tape, xv, y, &seed.view())?;
        // `row` is shaped like the input; its elements in row-major order are the row.
        for (dst, &src) in matrix.row_mut(i).iter_mut().zip(row.iter()) {
            *dst = src;
        }
    }
    Ok(Jacobian {
        output,
        input_shape: x.shape().to_vec(),
        matrix,
    })
}
