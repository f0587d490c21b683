use gradwell_tensor::Float;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

use crate::Result;

/// A differentiable operation: how every operation gets onto the [`crate::Tape`], in this
/// crate or any other.
///
/// `forward` computes the output from the input values into a buffer the tape owns and
/// reuses across steps (resize it with [`ensure_shape`], which allocates only when the
/// shape grows). `backward` receives the gradient of the output and **adds** each input's
/// gradient into the given buffer (present only for inputs that need a gradient), so
/// matrix products can accumulate with `β = 1` and nothing is allocated for the sum.
///
/// Every value the tape hands an op (inputs, output, gradients) is in standard
/// (row-major, contiguous) layout, so ops may work on flat slices.
///
/// An op keeps whatever it needs between the two calls in its own fields (e.g. the labels
/// of a loss). Input values and the output value are handed to `backward` again, so most
/// ops keep nothing.
///
/// ```
/// use gradwell_autodiff::{Op, Result, Tape, ensure_shape};
/// use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Zip};
///
/// /// y = x³, written as a new op.
/// #[derive(Debug)]
/// struct Cube;
///
/// impl Op<f64> for Cube {
///     fn name(&self) -> &'static str { "cube" }
///     fn forward(&mut self, x: &[ArrayViewD<'_, f64>], out: &mut ArrayD<f64>) -> Result<()> {
///         ensure_shape(out, x[0].shape());
///         Zip::from(out).and(&x[0]).for_each(|y, &x| *y = x * x * x);
///         Ok(())
///     }
///     fn backward(
///         &mut self,
///         x: &[ArrayViewD<'_, f64>],
///         _out: &ArrayViewD<'_, f64>,
///         dy: &ArrayViewD<'_, f64>,
///         dx: &mut [Option<ArrayViewMutD<'_, f64>>],
///     ) {
///         if let Some(dx) = &mut dx[0] {
///             Zip::from(dx).and(&x[0]).and(dy).for_each(|g, &x, &d| *g += 3.0 * x * x * d);
///         }
///     }
/// }
///
/// let mut tape = Tape::<f64>::new();
/// let x = tape.params_mut().add("x", ndarray::arr1(&[2.0]).into_dyn());
/// let xv = tape.param(x);
/// let y = tape.apply(Cube, &[xv])?;
/// let loss = tape.sum(y)?;
/// tape.backward(loss)?;
/// assert_eq!(tape.params().grad(x)[[0]], 12.0);
/// # Ok::<(), gradwell_autodiff::AutodiffError>(())
/// ```
pub trait Op<F: Float>: std::any::Any + Send + std::fmt::Debug {
    /// A short name for error messages and profiles (e.g. `"matmul"`).
    fn name(&self) -> &'static str;

    /// Called before `forward` with the op of the same type that was recorded at the same
    /// position of the tape in the previous step, so that this op can take over that op's
    /// buffers (`std::mem::take`) instead of allocating its own. The tape then stores this
    /// op in the previous one's place, so a training step that records the same ops every
    /// time allocates neither op records nor op buffers in steady state. The default does
    /// nothing.
    fn recycle(&mut self, previous: &mut Self)
    where
        Self: Sized,
    {
        let _ = previous;
    }

    /// Computes the output into `out`.
    ///
    /// # Errors
    /// Shapes or arguments that do not fit the operation.
    fn forward(&mut self, inputs: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()>;

    /// Adds the gradient of each input into `grads[i]` (when `Some`), given the inputs, the
    /// output and the gradient of the output. Every `grads[i]` has its input's shape.
    ///
    /// It may be called several times after one `forward`, with different output
    /// gradients (a Jacobian runs one pass per output element, [`crate::jacobian`]): it
    /// must read what `forward` kept, not consume it.
    fn backward(
        &mut self,
        inputs: &[ArrayViewD<'_, F>],
        output: &ArrayViewD<'_, F>,
        grad_output: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    );
}

/// Gives `buf` the shape `shape` in standard layout, reusing its allocation: nothing is
/// allocated when the shape is unchanged or the old buffer was large enough. The contents
/// are unspecified afterwards (zero when newly grown) — `forward` overwrites them.
pub fn ensure_shape<F: Float>(buf: &mut ArrayD<F>, shape: &[usize]) {
    if buf.shape() == shape && buf.is_standard_layout() {
        return;
    }
    let n: usize = shape.iter().product();
    let (mut data, _) = std::mem::take(buf).into_raw_vec_and_offset();
    data.resize(n, F::zero());
    data.truncate(n);
    *buf = ArrayD::from_shape_vec(ndarray::IxDyn(shape), data)
        .unwrap_or_else(|_| unreachable!("a vector of the product's length fits its shape"));
}
