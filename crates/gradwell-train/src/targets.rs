//! What the trainer does with a data set's targets ([`TargetKind`]): the output shape a
//! model needs, the loss, and the accuracy.
//!
//! - One class per sample: cross-entropy on logits `[N, C]`; accuracy over the samples.
//! - One class per step: cross-entropy over every step, the logits `[N, T, C]` seen as
//!   `[N·T, C]` (the mean over all steps, as PyTorch's `F.cross_entropy` on `[N, C, T]`);
//!   accuracy over the steps whose label is not the data set's blank (in the copy task, the
//!   recall steps).
//! - Real values: mean squared error against `[N, W]` (PyTorch's `F.mse_loss`); no
//!   accuracy.

use gradwell_autodiff::{Tape, Var};
use gradwell_data::{Dataset, TargetKind};
use gradwell_nn::Network;
use gradwell_nn::losses::{LossReduction, cross_entropy, mse};
use gradwell_tensor::ClassLabel;
use ndarray::{Array2, ArrayViewD, IxDyn};

use crate::{Result, TrainError};

/// The output shape of one sample a model needs for the targets of `ds`: `[C]`, `[T, C]`
/// or `[W]`.
pub fn output_shape_for(ds: &Dataset) -> Vec<usize> {
    match ds.target_kind() {
        TargetKind::Class => vec![ds.num_classes()],
        TargetKind::StepClass { steps, .. } => vec![steps, ds.num_classes()],
        TargetKind::Value { width } => vec![width],
    }
}

/// What the targets of `ds` are, in words, for errors.
pub fn describe(ds: &Dataset) -> String {
    match ds.target_kind() {
        TargetKind::Class => format!("{} classes", ds.num_classes()),
        TargetKind::StepClass { steps, .. } => {
            format!("a class of {} at each of {steps} steps", ds.num_classes())
        }
        TargetKind::Value { width: 1 } => "a real value per sample".to_string(),
        TargetKind::Value { width } => format!("{width} real values per sample"),
    }
}

/// Loss terms per sample (the divisor of a summed loss): 1, the steps, or the values.
pub(crate) fn terms_per_sample(kind: TargetKind) -> usize {
    match kind {
        TargetKind::Class => 1,
        TargetKind::StepClass { steps, .. } => steps,
        TargetKind::Value { width } => width,
    }
}

/// A batch `x` (`rows × features`) on the network's tape in the model's input shape
/// `[rows, input_shape…]`.
///
/// # Errors
/// Features that do not make the input shape.
pub fn batch_input(net: &mut Network<f32>, x: &Array2<f32>) -> Result<Var> {
    let input_shape = &net.spec().input_shape;
    if input_shape.len() <= 1 {
        return Ok(net.tape.input_view(&x.view().into_dyn()));
    }
    let mut shape = Vec::with_capacity(input_shape.len() + 1);
    shape.push(x.nrows());
    shape.extend_from_slice(input_shape);
    let view = x.view().into_shape_with_order(IxDyn(&shape)).map_err(|e| {
        TrainError::Setup(format!(
            "a batch of {} × {} features does not make inputs of shape {:?}: {e}",
            x.nrows(),
            x.ncols(),
            &shape[1..]
        ))
    })?;
    Ok(net.tape.input_view(&view))
}

/// A batch's targets, as the batcher filled them for `kind`: `labels` (per sample or per
/// step) or `values`, for `rows` samples.
pub(crate) struct BatchTargets<'a> {
    pub kind: TargetKind,
    pub rows: usize,
    pub labels: &'a [ClassLabel],
    pub values: &'a [f32],
}

/// The loss of the batch's outputs `out` against its targets.
pub(crate) fn loss(
    tape: &mut Tape<f32>,
    out: Var,
    targets: BatchTargets<'_>,
    label_smoothing: f64,
    reduction: LossReduction,
) -> Result<Var> {
    let BatchTargets {
        kind,
        rows,
        labels,
        values,
    } = targets;
    match kind {
        TargetKind::Class => {
            let labels = tape.labels(labels);
            Ok(cross_entropy(
                tape,
                out,
                labels,
                label_smoothing,
                reduction,
            )?)
        }
        TargetKind::StepClass { steps, .. } => {
            let classes = tape.value(out).shape().last().copied().unwrap_or(0);
            let flat = tape.reshape(out, &[rows * steps, classes])?;
            let labels = tape.labels(labels);
            Ok(cross_entropy(
                tape,
                flat,
                labels,
                label_smoothing,
                reduction,
            )?)
        }
        TargetKind::Value { width } => {
            let view = ndarray::ArrayView::from_shape(IxDyn(&[rows, width]), values)
                .map_err(|e| TrainError::Setup(format!("targets of the batch: {e}")))?;
            let target = tape.input_view(&view);
            Ok(mse(tape, out, target, reduction)?)
        }
    }
}

/// Correct predictions and predictions scored: samples whose logits have their largest
/// value at the label, or steps (those not labelled blank); `(0, 0)` for real targets.
/// The index of the largest value of `row` (the first of equal ones; 0 for an empty row):
/// the predicted class of a row of outputs.
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

pub(crate) fn count_correct(
    out: ArrayViewD<'_, f32>,
    kind: TargetKind,
    labels: &[ClassLabel],
) -> (u64, u64) {
    let blank = match kind {
        TargetKind::Value { .. } => return (0, 0),
        TargetKind::Class => None,
        TargetKind::StepClass { blank, .. } => blank,
    };
    let Some(&classes) = out.shape().last() else {
        return (0, 0);
    };
    let Some(flat) = out.as_slice() else {
        return (0, 0);
    };
    let (mut correct, mut scored) = (0, 0);
    for (row, &label) in flat.chunks_exact(classes.max(1)).zip(labels) {
        if Some(label) == blank {
            continue;
        }
        scored += 1;
        if usize::try_from(label) == Ok(argmax(row)) {
            correct += 1;
        }
    }
    (correct, scored)
}

/// The accuracy of `correct` out of `scored`, `None` for real targets (whose metric is the
/// loss, the mean squared error).
pub(crate) fn accuracy(kind: TargetKind, correct: u64, scored: u64) -> Option<f64> {
    match kind {
        TargetKind::Value { .. } => None,
        TargetKind::Class | TargetKind::StepClass { .. } => {
            Some(correct as f64 / scored.max(1) as f64)
        }
    }
}

/// A loss and accuracy in words, as progress lines write them: `loss 0.1234 acc 0.9000`
/// for class targets, `mse 0.1234` for real ones (whose loss is the mean squared error).
pub fn metric_words(loss: f64, accuracy: Option<f64>) -> String {
    match accuracy {
        Some(a) => format!("loss {loss:.4} acc {a:.4}"),
        None => format!("mse {loss:.4}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ties_count_for_the_first_maximum() {
        let logits = array![[1.0f32, 1.0], [0.0, 2.0]].into_dyn();
        assert_eq!(
            count_correct(logits.view(), TargetKind::Class, &[0, 0]),
            (1, 2)
        );
        assert_eq!(
            count_correct(logits.view(), TargetKind::Class, &[1, 1]),
            (1, 2)
        );
    }

    #[test]
    fn blank_steps_are_not_scored() {
        let logits = array![[[1.0f32, 0.0], [1.0, 0.0], [0.0, 1.0]]].into_dyn();
        let kind = TargetKind::StepClass {
            steps: 3,
            blank: Some(0),
        };
        // Step 0 wrong, step 1 blank (skipped although right), step 2 right.
        assert_eq!(count_correct(logits.view(), kind, &[1, 0, 1]), (1, 2));
    }
}
