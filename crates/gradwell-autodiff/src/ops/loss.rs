use gradwell_tensor::{Float, ShapeError};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Ix2, Zip};

use crate::op::ensure_shape;
use crate::{AutodiffError, Op, Result, Tape, Var};

/// How a loss combines its per-sample values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean over the batch (PyTorch's default).
    #[default]
    Mean,
    /// The sum over the batch.
    Sum,
}

impl Reduction {
    /// What the summed loss of `batch` samples is divided by: `batch` or 1.
    pub fn divisor<F: Float>(self, batch: usize) -> F {
        match self {
            Reduction::Mean => F::of(batch as f64),
            Reduction::Sum => F::one(),
        }
    }
}

/// Cross-entropy of class logits `[batch, classes]` against integer labels `[batch]`:
/// PyTorch's `F.cross_entropy(logits, labels, label_smoothing=ε, reduction=…)`, fused
/// with the softmax. With smoothing ε the target is `(1 − ε)·onehot + ε/classes`.
///
/// Each row is computed as `logsumexp(x) − x[label]` with the row maximum subtracted
/// first, so logits of any finite magnitude give a finite loss; the gradient,
/// `(softmax(x) − onehot(label)) / batch`, is recomputed from the logits in the backward
/// pass rather than stored. Labels are a value on the tape (class indices held in the
/// float type, see [`Tape::labels`]) so that feeding them allocates nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftmaxCrossEntropy {
    /// Label smoothing ε in [0, 1] (0: plain cross-entropy).
    pub label_smoothing: f64,
    /// Mean or sum over the batch.
    pub reduction: Reduction,
}

/// Mean squared error `mean((a − b)²)` of two values of one shape (PyTorch's `mse_loss`);
/// unlike PyTorch, differing shapes are an error rather than a broadcast with a warning.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mse;

/// Checks a classification loss's inputs — scores `[batch, classes]` and labels `[batch]`
/// holding class indices in the float type — and returns them as 2-D and 1-D views.
///
/// # Errors
/// Shapes that do not fit, or a label that is not an integer in `0..classes` (naming the
/// row), under the name `op`.
pub fn class_labels<'a, F: Float>(
    op: &'static str,
    scores: &ArrayViewD<'a, F>,
    labels: &ArrayViewD<'a, F>,
) -> Result<(ndarray::ArrayView2<'a, F>, ndarray::ArrayView1<'a, F>)> {
    let x = scores
        .clone()
        .into_dimensionality::<Ix2>()
        .map_err(|_| ShapeError::invalid(op, scores.shape(), "input must be [batch, classes]"))?;
    let y = labels
        .clone()
        .into_dimensionality::<ndarray::Ix1>()
        .map_err(|_| ShapeError::invalid(op, labels.shape(), "labels must be [batch]"))?;
    if y.len() != x.nrows() {
        return Err(
            ShapeError::mismatch(op, scores.shape(), labels.shape(), "one label per row").into(),
        );
    }
    let classes = x.ncols();
    for (i, l) in y.iter().enumerate() {
        let l = l.as_f64();
        if !(l >= 0.0 && l < classes as f64 && l.fract() == 0.0) {
            return Err(AutodiffError::invalid(
                op,
                format!("label {l} of row {i} is not a class index in 0..{classes}"),
            ));
        }
    }
    Ok((x, y))
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
        let (logits, labels) = class_labels("cross_entropy", &x[0], &x[1])?;
        if !(0.0..=1.0).contains(&self.label_smoothing) {
            return Err(AutodiffError::invalid(
                "cross_entropy",
                format!(
                    "label smoothing must be in [0, 1], got {}",
                    self.label_smoothing
                ),
            ));
        }
        let classes = logits.ncols();
        let eps = F::of(self.label_smoothing);
        let per_class = eps / F::of(classes as f64);
        let mut total = F::zero();
        for (row, &label) in logits.outer_iter().zip(labels.iter()) {
            let l = label.as_f64();
            let (m, s) = row_max_and_sum(row);
            // (m − x) first: exact-ish even when both are huge.
            let lse = s.ln();
            total += (F::one() - eps) * ((m - row[l as usize]) + lse);
            if self.label_smoothing > 0.0 {
                total += per_class * row.fold(F::zero(), |acc, &v| acc + (m - v) + lse);
            }
        }
        ensure_shape(out, &[]);
        out.fill(total / self.reduction.divisor::<F>(logits.nrows()));
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
        let Ok((logits, labels)) = class_labels("cross_entropy", &x[0], &x[1]) else {
            unreachable!("checked in forward")
        };
        let scale = g.iter().next().copied().unwrap_or_else(F::zero)
            / self.reduction.divisor::<F>(logits.nrows());
        let eps = F::of(self.label_smoothing);
        let per_class = scale * eps / F::of(logits.ncols() as f64);
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
                .for_each(|d, &v| *d += k * (v - m).exp() - per_class);
            drow[label.as_f64() as usize] -= scale * (F::one() - eps);
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
        self.apply(SoftmaxCrossEntropy::default(), &[logits, labels])
    }

    /// Mean squared error of two values of one shape.
    ///
    /// # Errors
    /// When the shapes differ.
    pub fn mse(&mut self, prediction: Var, target: Var) -> Result<Var> {
        self.apply(Mse, &[prediction, target])
    }
}
