use gradwell_tensor::{Float, ShapeError};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Ix2, Zip};

use crate::op::ensure_shape;
use crate::{AutodiffError, Op, Result, Tape, Var};

/// Cross-entropy of class logits `[batch, classes]` against integer labels `[batch]`,
/// averaged over the batch: PyTorch's `F.cross_entropy(logits, labels)` with its default
/// mean reduction, fused with the softmax.
///
/// Each row is computed as `logsumexp(x) − x[label]` with the row maximum subtracted
/// first, so logits of any finite magnitude give a finite loss; the gradient,
/// `(softmax(x) − onehot(label)) / batch`, is recomputed from the logits in the backward
/// pass rather than stored. Labels are a value on the tape (class indices held in the
/// float type, see [`Tape::labels`]) so that feeding them allocates nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftmaxCrossEntropy;

/// Mean squared error `mean((a − b)²)` of two values of one shape (PyTorch's `mse_loss`);
/// unlike PyTorch, differing shapes are an error rather than a broadcast with a warning.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mse;

fn logits_and_labels<'a, F: Float>(
    x: &[ArrayViewD<'a, F>],
) -> Result<(ndarray::ArrayView2<'a, F>, ndarray::ArrayView1<'a, F>)> {
    let logits = x[0].clone().into_dimensionality::<Ix2>().map_err(|_| {
        ShapeError::invalid(
            "cross_entropy",
            x[0].shape(),
            "logits must be [batch, classes]",
        )
    })?;
    let labels = x[1]
        .clone()
        .into_dimensionality::<ndarray::Ix1>()
        .map_err(|_| {
            ShapeError::invalid("cross_entropy", x[1].shape(), "labels must be [batch]")
        })?;
    if labels.len() != logits.nrows() {
        return Err(ShapeError::mismatch(
            "cross_entropy",
            x[0].shape(),
            x[1].shape(),
            "one label per row of logits",
        )
        .into());
    }
    Ok((logits, labels))
}

/// The row's maximum `m` and `Σ exp(x − m)` (in [1, classes]).
fn row_max_and_sum<F: Float>(row: ndarray::ArrayView1<'_, F>) -> (F, F) {
    let m = row.fold(F::neg_infinity(), |m, &v| m.max(v));
    let s = row.fold(F::zero(), |s, &v| s + (v - m).exp());
    (m, s)
}

impl<F: Float> Op<F> for SoftmaxCrossEntropy {
    fn name(&self) -> &'static str {
        "softmax_cross_entropy"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        let (logits, labels) = logits_and_labels(x)?;
        let classes = logits.ncols();
        let mut total = F::zero();
        for (i, (row, &label)) in logits.outer_iter().zip(labels.iter()).enumerate() {
            let l = label.as_f64();
            if !(l >= 0.0 && l < classes as f64 && l.fract() == 0.0) {
                return Err(AutodiffError::invalid(
                    "cross_entropy",
                    format!("label {l} of row {i} is not a class index in 0..{classes}"),
                ));
            }
            let (m, s) = row_max_and_sum(row);
            // (m − x_label) first: exact-ish even when both are huge.
            total += (m - row[l as usize]) + s.ln();
        }
        ensure_shape(out, &[]);
        out.fill(total / F::of(logits.nrows() as f64));
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
        let Ok((logits, labels)) = logits_and_labels(x) else {
            unreachable!("checked in forward")
        };
        let scale = g.iter().next().copied().unwrap_or_else(F::zero) / F::of(logits.nrows() as f64);
        let mut dx = dx
            .view_mut()
            .into_dimensionality::<Ix2>()
            .unwrap_or_else(|_| unreachable!("shaped like the logits"));
        for ((row, mut drow), &label) in logits
            .outer_iter()
            .zip(dx.outer_iter_mut())
            .zip(labels.iter())
        {
            let (m, s) = row_max_and_sum(row);
            let k = scale / s;
            Zip::from(&mut drow)
                .and(&row)
                .for_each(|d, &v| *d += k * (v - m).exp());
            drow[label.as_f64() as usize] -= scale;
        }
    }
}

impl<F: Float> Op<F> for Mse {
    fn name(&self) -> &'static str {
        "mse"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        if x[0].shape() != x[1].shape() {
            return Err(ShapeError::mismatch(
                "mse",
                x[0].shape(),
                x[1].shape(),
                "prediction and target must have one shape",
            )
            .into());
        }
        let mut s = F::zero();
        Zip::from(&x[0])
            .and(&x[1])
            .for_each(|&a, &b| s += (a - b) * (a - b));
        ensure_shape(out, &[]);
        out.fill(s / F::of(x[0].len() as f64));
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let k = F::of(2.0) * g.iter().next().copied().unwrap_or_else(F::zero)
            / F::of(x[0].len() as f64);
        for (side, sign) in [(0, F::one()), (1, -F::one())] {
            if let Some(d) = grads[side].as_mut() {
                Zip::from(d)
                    .and(&x[0])
                    .and(&x[1])
                    .for_each(|d, &a, &b| *d += sign * k * (a - b));
            }
        }
    }
}

impl<F: Float> Tape<F> {
    /// Puts class labels on the tape as a `[batch]` value (indices held in the float type,
    /// exact below 2²⁴ for f32), reusing the buffer of earlier steps.
    pub fn labels(&mut self, labels: &[usize]) -> Var {
        self.input_with(&[labels.len()], |buf| {
            for (b, &l) in buf.iter_mut().zip(labels) {
                *b = F::of(l as f64);
            }
        })
    }

    /// Cross-entropy of logits `[batch, classes]` against labels (see
    /// [`SoftmaxCrossEntropy`]), averaged over the batch.
    ///
    /// # Errors
    /// When the shapes do not fit or a label is not a class index.
    pub fn softmax_cross_entropy(&mut self, logits: Var, labels: Var) -> Result<Var> {
        self.apply(SoftmaxCrossEntropy, &[logits, labels])
    }

    /// Mean squared error of two values of one shape.
    ///
    /// # Errors
    /// When the shapes differ.
    pub fn mse(&mut self, prediction: Var, target: Var) -> Result<Var> {
        self.apply(Mse, &[prediction, target])
    }
}
