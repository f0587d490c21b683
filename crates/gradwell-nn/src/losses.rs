//! Losses, each a function that records the loss on the tape: PyTorch's names, formulas
//! and defaults (mean reduction).
//!
//! Cross-entropy and MSE are the fused ops of `gradwell-autodiff`; NLL and binary
//! cross-entropy with logits are defined here.

use gradwell_autodiff::ops::{Reduction, SoftmaxCrossEntropy, class_labels};
use gradwell_autodiff::{Op, Tape, Var, ensure_shape};
use gradwell_tensor::{Float, ShapeError};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Ix2, Zip};

use crate::Result;

pub use gradwell_autodiff::ops::Reduction as LossReduction;

/// Cross-entropy of logits `[batch, classes]` against labels (`tape.labels(&[..])`), with
/// label smoothing ε (PyTorch's `F.cross_entropy(..., label_smoothing=ε)`).
///
/// # Errors
/// Shapes that do not fit, a label out of range or ε outside [0, 1].
pub fn cross_entropy<F: Float>(
    tape: &mut Tape<F>,
    logits: Var,
    labels: Var,
    label_smoothing: f64,
    reduction: Reduction,
) -> Result<Var> {
    Ok(tape.apply(
        SoftmaxCrossEntropy {
            label_smoothing,
            reduction,
        },
        &[logits, labels],
    )?)
}

/// Mean squared error (or its sum) of two values of one shape.
///
/// # Errors
/// Shapes that differ.
pub fn mse<F: Float>(
    tape: &mut Tape<F>,
    prediction: Var,
    target: Var,
    reduction: Reduction,
) -> Result<Var> {
    let m = tape.mse(prediction, target)?;
    Ok(match reduction {
        Reduction::Mean => m,
        Reduction::Sum => {
            let n = tape.shape(prediction)?.iter().product::<usize>();
            tape.mul_scalar(m, n as f64)?
        }
    })
}

/// Negative log-likelihood of log-probabilities `[batch, classes]` against labels:
/// `−x[i, label_i]`, averaged or summed (PyTorch's `F.nll_loss`).
#[derive(Debug, Clone, Copy)]
pub struct Nll(pub Reduction);

impl<F: Float> Op<F> for Nll {
    fn name(&self) -> &'static str {
        "nll_loss"
    }

    fn forward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        out: &mut ArrayD<F>,
    ) -> gradwell_autodiff::Result<()> {
        let (lp, _) = class_labels("nll_loss", &x[0], &x[1])?;
        let total: F = x[1]
            .iter()
            .enumerate()
            .map(|(i, &l)| -lp[[i, l.as_f64() as usize]])
            .sum();
        ensure_shape(out, &[]);
        out.fill(total / self.0.divisor::<F>(lp.nrows()));
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let Some(dx) = grads[0].as_mut() else { return };
        let n = x[0].shape()[0];
        let k = g.iter().next().copied().unwrap_or_else(F::zero) / self.0.divisor::<F>(n);
        let mut dx = dx
            .view_mut()
            .into_dimensionality::<Ix2>()
            .unwrap_or_else(|_| unreachable!("checked in forward"));
        for (i, &l) in x[1].iter().enumerate() {
            dx[[i, l.as_f64() as usize]] -= k;
        }
    }
}

/// Negative log-likelihood of log-probabilities (see [`Nll`]).
///
/// # Errors
/// Shapes that do not fit or a label out of range.
pub fn nll<F: Float>(
    tape: &mut Tape<F>,
    log_probs: Var,
    labels: Var,
    reduction: Reduction,
) -> Result<Var> {
    Ok(tape.apply(Nll(reduction), &[log_probs, labels])?)
}

/// Binary cross-entropy on logits against targets in [0, 1] of the same shape:
/// `max(x, 0) − x·y + log(1 + e^(−|x|))`, PyTorch's stable form (logits of ±800 give
/// 800, not ∞).
#[derive(Debug, Clone, Copy)]
pub struct BceWithLogits(pub Reduction);

impl<F: Float> Op<F> for BceWithLogits {
    fn name(&self) -> &'static str {
        "binary_cross_entropy_with_logits"
    }

    fn forward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        out: &mut ArrayD<F>,
    ) -> gradwell_autodiff::Result<()> {
        if x[0].shape() != x[1].shape() {
            return Err(ShapeError::mismatch(
                "binary_cross_entropy_with_logits",
                x[0].shape(),
                x[1].shape(),
                "logits and targets must have one shape",
            )
            .into());
        }
        let mut total = F::zero();
        Zip::from(&x[0])
            .and(&x[1])
            .for_each(|&z, &y| total += z.max(F::zero()) - z * y + (-z.abs()).exp().ln_1p());
        ensure_shape(out, &[]);
        out.fill(total / self.0.divisor::<F>(x[0].len()));
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let k = g.iter().next().copied().unwrap_or_else(F::zero) / self.0.divisor::<F>(x[0].len());
        let sigmoid = |z: F| {
            if z >= F::zero() {
                F::one() / (F::one() + (-z).exp())
            } else {
                z.exp() / (F::one() + z.exp())
            }
        };
        if let Some(dz) = grads[0].as_mut() {
            Zip::from(dz)
                .and(&x[0])
                .and(&x[1])
                .for_each(|d, &z, &y| *d += k * (sigmoid(z) - y));
        }
        if let Some(dy) = grads[1].as_mut() {
            Zip::from(dy).and(&x[0]).for_each(|d, &z| *d -= k * z);
        }
    }
}

/// Binary cross-entropy with logits (see [`BceWithLogits`]).
///
/// # Errors
/// Shapes that differ.
pub fn bce_with_logits<F: Float>(
    tape: &mut Tape<F>,
    logits: Var,
    targets: Var,
    reduction: Reduction,
) -> Result<Var> {
    Ok(tape.apply(BceWithLogits(reduction), &[logits, targets])?)
}
