use gradwell_activations::{
    Activation, ActivationError, log_softmax_backward_add, log_softmax_in_place,
    softmax_backward_add, softmax_in_place,
};
use gradwell_tensor::Float;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

use crate::op::ensure_shape;
use crate::{AutodiffError, Op, Result, Tape, Var};

/// Any element-wise [`Activation`] as a differentiable op: the forward runs the
/// activation's `forward_slice`, the backward its `backward_slice`. There is no
/// per-activation code here — an activation implemented once is an op.
#[derive(Debug, Clone, Copy)]
pub struct ActivationOp<A>(pub A);

impl<F: Float, A: Activation<F> + Clone + 'static> Op<F> for ActivationOp<A> {
    fn name(&self) -> &'static str {
        "activation"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        ensure_shape(out, x[0].shape());
        let (Some(xs), Some(ys)) = (x[0].as_slice(), out.as_slice_mut()) else {
            unreachable!("tape values are in standard layout")
        };
        let a = &self.0;
        gradwell_tensor::vectorized(
            #[inline(always)]
            || a.forward_slice(xs, ys),
        );
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        out: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let Some(dx) = grads[0].as_mut() else { return };
        let (Some(xs), Some(ys), Some(gs), Some(dxs)) = (
            x[0].as_slice(),
            out.as_slice(),
            g.as_slice(),
            dx.as_slice_mut(),
        ) else {
            unreachable!("tape values are in standard layout")
        };
        let a = &self.0;
        gradwell_tensor::vectorized(
            #[inline(always)]
            || a.backward_slice(xs, ys, gs, dxs),
        );
    }
}

/// Softmax along an axis (max-subtracted, so any finite input is safe).
#[derive(Debug, Clone, Copy)]
pub struct Softmax {
    /// The axis the probabilities sum to one along.
    pub axis: usize,
}

/// Log-softmax along an axis, computed directly (finite where `log(softmax)` would not be).
#[derive(Debug, Clone, Copy)]
pub struct LogSoftmax {
    /// The axis.
    pub axis: usize,
}

fn lift(op: &'static str, e: ActivationError) -> AutodiffError {
    AutodiffError::invalid(op, e.to_string())
}

impl<F: Float> Op<F> for Softmax {
    fn name(&self) -> &'static str {
        "softmax"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        ensure_shape(out, x[0].shape());
        out.assign(&x[0]);
        softmax_in_place(out, self.axis).map_err(|e| lift("softmax", e))?;
        Ok(())
    }

    fn backward(
        &mut self,
        _: &[ArrayViewD<'_, F>],
        y: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        if let Some(dx) = grads[0].as_mut() {
            softmax_backward_add(y, g, self.axis, dx)
                .unwrap_or_else(|e| unreachable!("checked in forward: {e}"));
        }
    }
}

impl<F: Float> Op<F> for LogSoftmax {
    fn name(&self) -> &'static str {
        "log_softmax"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        ensure_shape(out, x[0].shape());
        out.assign(&x[0]);
        log_softmax_in_place(out, self.axis).map_err(|e| lift("log_softmax", e))?;
        Ok(())
    }

    fn backward(
        &mut self,
        _: &[ArrayViewD<'_, F>],
        y: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        if let Some(dx) = grads[0].as_mut() {
            log_softmax_backward_add(y, g, self.axis, dx)
                .unwrap_or_else(|e| unreachable!("checked in forward: {e}"));
        }
    }
}

impl<F: Float> Tape<F> {
    /// Applies an element-wise activation (any [`Activation`], e.g. `Relu` or an
    /// `ActivationKind` parsed from a name).
    ///
    /// # Errors
    /// A stale handle.
    pub fn activation<A: Activation<F> + Clone + 'static>(
        &mut self,
        activation: A,
        x: Var,
    ) -> Result<Var> {
        self.apply(ActivationOp(activation), &[x])
    }

    /// Softmax along `axis`.
    ///
    /// # Errors
    /// An axis out of range.
    pub fn softmax(&mut self, x: Var, axis: usize) -> Result<Var> {
        self.apply(Softmax { axis }, &[x])
    }

    /// Log-softmax along `axis`.
    ///
    /// # Errors
    /// An axis out of range.
    pub fn log_softmax(&mut self, x: Var, axis: usize) -> Result<Var> {
        self.apply(LogSoftmax { axis }, &[x])
    }
}
