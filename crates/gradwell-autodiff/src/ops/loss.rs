//! The fused losses: cross-entropy (class indices or probabilities, class weights,
//! `ignore_index`, label smoothing, inputs `N×C×d₁…`), negative log-likelihood and mean
//! squared error, each with PyTorch's formulas, reductions and error messages.

use std::fmt;
use std::str::FromStr;

use gradwell_tensor::{ClassLabel, DEFAULT_IGNORE_INDEX, Float};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Zip};

use crate::op::ensure_shape;
use crate::{AutodiffError, Op, Result, Tape, Var};

/// How a loss combines its per-element values (PyTorch's `reduction`).
///
/// ```
/// use gradwell_autodiff::ops::Reduction;
///
/// assert_eq!("none".parse::<Reduction>()?, Reduction::None);
/// assert_eq!(Reduction::default().to_string(), "mean");
/// assert_eq!(
///     "avg".parse::<Reduction>().unwrap_err().to_string(),
///     "reduction: avg is not a valid value for reduction"
/// );
/// # Ok::<(), gradwell_autodiff::AutodiffError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// No reduction: the loss of every element (every sample, and every position of a
    /// spatial input), shaped like the target of a classification loss or like the input
    /// of an element-wise loss.
    None,
    /// The mean (PyTorch's default); for a weighted classification loss, the sum divided
    /// by the sum of the targets' weights.
    #[default]
    Mean,
    /// The sum.
    Sum,
}

impl Reduction {
    /// Every reduction.
    ///
    /// ```
    /// use gradwell_autodiff::ops::Reduction;
    /// for r in Reduction::ALL {
    ///     assert_eq!(r.name().parse::<Reduction>()?, r);
    /// }
    /// # Ok::<(), gradwell_autodiff::AutodiffError>(())
    /// ```
    pub const ALL: [Reduction; 3] = [Reduction::None, Reduction::Mean, Reduction::Sum];

    /// PyTorch's name: `none`, `mean` or `sum`.
    ///
    /// ```
    /// assert_eq!(gradwell_autodiff::ops::Reduction::Sum.name(), "sum");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Reduction::None => "none",
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        }
    }

    /// The output's shape: `per_element` for [`Reduction::None`], a scalar otherwise.
    fn shape(self, per_element: &[usize]) -> &[usize] {
        match self {
            Reduction::None => per_element,
            Reduction::Mean | Reduction::Sum => &[],
        }
    }
}

impl fmt::Display for Reduction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Reduction {
    type Err = AutodiffError;

    /// Parses PyTorch's names; anything else is PyTorch's error message.
    fn from_str(s: &str) -> Result<Self> {
        Reduction::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                AutodiffError::invalid(
                    "reduction",
                    format!("{s} is not a valid value for reduction"),
                )
            })
    }
}

/// What the target of a cross-entropy holds.
///
/// PyTorch tells the two apart by the target's type and shape (an integer target holds
/// class indices, a floating-point target of the input's shape holds probabilities); on
/// the tape every value is a float, so the caller says which it means, and a target of
/// the other kind's shape gets PyTorch's error for that type.
///
/// ```
/// use gradwell_autodiff::ops::TargetKind;
/// assert_eq!(TargetKind::default(), TargetKind::ClassIndices);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetKind {
    /// Class indices (`Tape::labels`), shaped like the input without its class axis:
    /// `[N]` for `[N, C]`, `[N, d₁, …]` for `[N, C, d₁, …]`, `[]` for an unbatched `[C]`.
    #[default]
    ClassIndices,
    /// Class probabilities of the input's shape (not renormalised; any real values).
    Probabilities,
}

/// Cross-entropy of class scores against a target, fused with the log-softmax: PyTorch's
/// `F.cross_entropy(input, target, weight, ignore_index=…, reduction=…,
/// label_smoothing=…)`.
///
/// Inputs on the tape: the scores `[N, C, d₁, …]` (class axis 1; or an unbatched `[C]`),
/// the target (see [`TargetKind`]) and optionally the class weights `[C]` as a third input.
/// With `p = softmax` over the class axis and `w` the weights (1 without), per element:
///
/// * class indices, target `y`: `ℓ = (1 − ε)·(−w_y·log p_y) + (ε/C)·Σ_c(−w_c·log p_c)`, and
///   `ℓ = 0` where `y = ignore_index`; `mean` divides the sum by `Σ w_y` over the targets
///   not ignored (so a batch whose every target is ignored gives NaN and a zero gradient);
/// * probabilities `t`: `ℓ = −Σ_c w_c·t′_c·log p_c` with `t′ = (1 − ε)·t + ε/C`; `mean`
///   divides by the number of elements `N·d₁·…`.
///
/// A smoothing `ε ≤ 0` is no smoothing and `ε > 1` an error, as in PyTorch. Each
/// `log p` is computed as `−((max − x) + log Σ exp(x − max))`, so scores of any finite
/// magnitude give a finite loss; the backward recomputes the softmax from the scores.
/// Gradients flow into the scores and into probability targets and weights; class-index
/// targets and the weights of a class-index loss are constants (PyTorch cannot
/// differentiate `nll_loss` by its weight either).
///
/// ```
/// use gradwell_autodiff::{Tape, ops::{Reduction, SoftmaxCrossEntropy}};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let x = tape.input(array![[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]].into_dyn());
/// let y = tape.labels(&[0, 1, -100]); // the third sample is ignored
/// let op = SoftmaxCrossEntropy { reduction: Reduction::None, ..Default::default() };
/// let loss = tape.apply(op, &[x, y])?;
/// let per_sample = tape.value(loss);
/// assert!((per_sample[[0]] - (1.0 + (-2.0_f64).exp()).ln()).abs() < 1e-12);
/// assert_eq!(per_sample[[2]], 0.0);
/// # Ok::<(), gradwell_autodiff::AutodiffError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SoftmaxCrossEntropy {
    /// Label smoothing ε (PyTorch: `label_smoothing`, default 0; at most 1).
    pub label_smoothing: f64,
    /// How the elements' losses are combined.
    pub reduction: Reduction,
    /// The class index whose targets are ignored (default −100); only for class indices
    /// (a probability target needs a negative value here, as in PyTorch).
    pub ignore_index: ClassLabel,
    /// Whether the target holds class indices or probabilities.
    pub target: TargetKind,
}

impl Default for SoftmaxCrossEntropy {
    fn default() -> Self {
        SoftmaxCrossEntropy {
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
            ignore_index: DEFAULT_IGNORE_INDEX,
            target: TargetKind::ClassIndices,
        }
    }
}

/// Negative log-likelihood of log-probabilities against class indices: PyTorch's
/// `F.nll_loss(input, target, weight, ignore_index=…, reduction=…)`, per element
/// `ℓ = −w_y·x[y]` (0 where `y = ignore_index`), with the shapes, the weights (an optional
/// third input `[C]`) and the `mean` of [`SoftmaxCrossEntropy`] with class indices.
///
/// ```
/// use gradwell_autodiff::{Tape, ops::Nll};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let x = tape.input(array![[-0.1, -2.0], [-3.0, -0.5]].into_dyn());
/// let y = tape.labels(&[0, 1]);
/// let w = tape.input(array![1.0, 3.0].into_dyn());
/// let loss = tape.apply(Nll::default(), &[x, y, w])?;
/// assert!((tape.value(loss)[[]] - (0.1 + 3.0 * 0.5) / 4.0).abs() < 1e-12);
/// # Ok::<(), gradwell_autodiff::AutodiffError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Nll {
    /// How the elements' losses are combined.
    pub reduction: Reduction,
    /// The class index whose targets are ignored (default −100).
    pub ignore_index: ClassLabel,
}

impl Default for Nll {
    fn default() -> Self {
        Nll {
            reduction: Reduction::Mean,
            ignore_index: DEFAULT_IGNORE_INDEX,
        }
    }
}

/// Squared error `(a − b)²`, reduced (PyTorch's `mse_loss`). Operands of different shapes
/// are broadcast, as PyTorch does (it also warns that this is likely a mistake; gradwell
/// says nothing); shapes that do not broadcast are PyTorch's error.
///
/// ```
/// use gradwell_autodiff::{Tape, ops::{Mse, Reduction}};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let a = tape.input(array![1.0, 2.0].into_dyn());
/// let b = tape.input(array![0.0, 4.0].into_dyn());
/// let e = tape.apply(Mse { reduction: Reduction::None }, &[a, b])?;
/// assert_eq!(tape.value(e).as_slice(), Some(&[1.0, 4.0][..]));
/// # Ok::<(), gradwell_autodiff::AutodiffError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Mse {
    /// How the elements' squared errors are combined.
    pub reduction: Reduction,
}

/// How a classification input and its class-index target line up: the input is
/// `[batch, classes, inner…]` (or an unbatched `[classes]`), and the target has one class
/// index for each of the `batch·inner` positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassLayout {
    /// The batch size `N` (1 for an unbatched input).
    pub batch: usize,
    /// The number of classes `C`.
    pub classes: usize,
    /// The number of positions per sample, `d₁·d₂·…` (1 without spatial axes).
    pub inner: usize,
}

impl ClassLayout {
    /// Checks an input shape and a class-index target shape as PyTorch's `nll_loss_nd`
    /// does, with its messages.
    ///
    /// ```
    /// use gradwell_autodiff::ops::ClassLayout;
    ///
    /// let l = ClassLayout::of("cross_entropy", &[2, 5, 3, 4], &[2, 3, 4])?;
    /// assert_eq!((l.batch, l.classes, l.inner), (2, 5, 12));
    /// let e = ClassLayout::of("cross_entropy", &[3, 4], &[2]).unwrap_err();
    /// assert!(e.to_string().contains("Expected input batch_size (3) to match target batch_size (2)."));
    /// # Ok::<(), gradwell_autodiff::AutodiffError>(())
    /// ```
    ///
    /// # Errors
    /// Shapes that do not fit, with PyTorch's message for the input's rank.
    pub fn of(op: &'static str, input: &[usize], target: &[usize]) -> Result<ClassLayout> {
        let fail = |why: String| Err(AutodiffError::invalid(op, why));
        let rank = input.len();
        if rank == 0 {
            return fail("Expected 1 or more dimensions (got 0)".into());
        }
        if rank != 1 {
            let Some(&tb) = target.first() else {
                return fail("Dimension specified as 0 but tensor has no dimensions".into());
            };
            if input[0] != tb {
                return fail(format!(
                    "Expected input batch_size ({}) to match target batch_size ({tb}).",
                    input[0]
                ));
            }
        }
        match rank {
            1 | 2 => {
                if target.len() > 1 {
                    return fail(
                        "0D or 1D target tensor expected, multi-target not supported".into(),
                    );
                }
                // An unbatched `[C]` takes a target `[]` or `[1]`.
                if rank == 1 && !(target.is_empty() || target == [1]) {
                    return fail(format!(
                        "For 1D input, 1D target must have size 1, but got target size: {}",
                        target[0]
                    ));
                }
                let (batch, classes) = if rank == 1 {
                    (1, input[0])
                } else {
                    (input[0], input[1])
                };
                Ok(ClassLayout {
                    batch,
                    classes,
                    inner: 1,
                })
            }
            4 if target.len() != 3 => fail(format!(
                "only batches of spatial targets supported (3D tensors) but got targets of dimension: {}",
                target.len()
            )),
            4 if target[1..] != input[2..] => fail(format!(
                "size mismatch (got input: {input:?} , target: {target:?}"
            )),
            _ if target.get(1..) != Some(&input[2..]) => {
                let mut want = vec![input[0]];
                want.extend_from_slice(&input[2..]);
                fail(format!("Expected target size {want:?}, got {target:?}"))
            }
            _ => Ok(ClassLayout {
                batch: input[0],
                classes: input[1],
                inner: input[2..].iter().product(),
            }),
        }
    }

    /// The flat index of class `c` at position `s` of sample `n` in the input.
    #[inline(always)]
    fn at(&self, n: usize, c: usize, s: usize) -> usize {
        (n * self.classes + c) * self.inner + s
    }
}

/// Checks class weights `[classes]` (PyTorch's message, with `prefix` before it).
fn check_weight(
    op: &'static str,
    prefix: &str,
    weight: Option<&ArrayViewD<'_, impl Float>>,
    classes: usize,
) -> Result<()> {
    match weight {
        Some(w) if w.shape() != [classes] => Err(AutodiffError::invalid(
            op,
            format!(
                "{prefix}weight tensor should be defined either for all {classes} classes or no classes but got weight tensor of shape: {:?}",
                w.shape()
            ),
        )),
        _ => Ok(()),
    }
}

/// PyTorch's name of the float type (its message for a float target where class indices
/// were expected names it).
fn torch_dtype<F: Float>() -> &'static str {
    if std::mem::size_of::<F>() == 4 {
        "Float"
    } else {
        "Double"
    }
}

/// The class index at flat target position `i`, `None` when it is `ignore_index`.
///
/// # Errors
/// PyTorch's `Target y is out of bounds.` (naming the position), or a value that is not
/// an integer.
#[inline(always)]
fn class_at<F: Float>(
    op: &'static str,
    target: &[F],
    i: usize,
    ignore_index: ClassLabel,
    classes: usize,
) -> Result<Option<usize>> {
    let v = target[i].as_f64();
    if v.fract() != 0.0 || !v.is_finite() {
        return Err(AutodiffError::invalid(
            op,
            format!("target {v} at position {i} is not an integer class index"),
        ));
    }
    if v == ignore_index as f64 {
        return Ok(None);
    }
    if v < 0.0 || v >= classes as f64 {
        return Err(AutodiffError::invalid(
            op,
            format!(
                "Target {v} is out of bounds. (position {i} of the target; classes 0..{classes})"
            ),
        ));
    }
    Ok(Some(v as usize))
}

/// The sum of the weights of the targets that are not ignored (their count without
/// weights): what `mean` divides a class-index loss by.
fn total_weight<F: Float>(
    op: &'static str,
    target: &[F],
    weight: Option<&[F]>,
    ignore_index: ClassLabel,
    classes: usize,
) -> Result<F> {
    let mut total = F::zero();
    for i in 0..target.len() {
        if let Some(y) = class_at(op, target, i, ignore_index, classes)? {
            total += weight.map_or(F::one(), |w| w[y]);
        }
    }
    Ok(total)
}

/// Writes a reduced loss: the per-element values are already in `out` for
/// [`Reduction::None`]; otherwise `out` becomes the scalar `total / divisor` (`divisor`
/// is only used by [`Reduction::Mean`]).
fn finish<F: Float>(reduction: Reduction, out: &mut ArrayD<F>, total: F, divisor: F) {
    match reduction {
        Reduction::None => {}
        Reduction::Mean => out.fill(total / divisor),
        Reduction::Sum => out.fill(total),
    }
}

/// The gradient of one element's loss: `g[i]` without reduction, `g / divisor` for
/// `mean`, `g` for `sum`.
#[inline(always)]
fn element_grad<F: Float>(reduction: Reduction, g: &[F], i: usize, scale: F) -> F {
    match reduction {
        Reduction::None => g[i],
        Reduction::Mean | Reduction::Sum => scale,
    }
}

/// The scalar gradient of a reduced loss divided by what `mean` divides by.
fn reduced_scale<F: Float>(reduction: Reduction, g: &[F], divisor: F) -> F {
    match reduction {
        Reduction::None => F::zero(),
        Reduction::Mean => g.first().copied().unwrap_or_else(F::zero) / divisor,
        Reduction::Sum => g.first().copied().unwrap_or_else(F::zero),
    }
}

/// A value in standard layout as a slice (the tape hands ops only such values).
fn flat<'a, F>(a: &'a ArrayViewD<'_, F>) -> &'a [F] {
    a.as_slice()
        .unwrap_or_else(|| unreachable!("the tape hands ops standard-layout values"))
}

/// As [`flat`], for a gradient buffer.
fn flat_mut<'a, F>(a: &'a mut ArrayViewMutD<'_, F>) -> &'a mut [F] {
    a.as_slice_mut()
        .unwrap_or_else(|| unreachable!("the tape hands ops standard-layout gradients"))
}

/// The shape of a class-index loss without reduction: the target's, or a scalar for an
/// unbatched `[C]` input (whose target may be `[]` or `[1]`, as in PyTorch).
fn class_loss_shape<'a, F>(x: &'a [ArrayViewD<'_, F>]) -> &'a [usize] {
    if x[0].ndim() == 1 { &[] } else { x[1].shape() }
}

/// At one position of a classification input: the maximum `m` over the classes and
/// `ln Σ exp(x − m)`.
#[inline(always)]
fn max_and_log_sum<F: Float>(x: &[F], l: &ClassLayout, n: usize, s: usize) -> (F, F) {
    let mut m = F::neg_infinity();
    for c in 0..l.classes {
        m = m.max(x[l.at(n, c, s)]);
    }
    let mut sum = F::zero();
    for c in 0..l.classes {
        sum += (x[l.at(n, c, s)] - m).exp();
    }
    (m, sum.ln())
}

impl SoftmaxCrossEntropy {
    const OP: &'static str = "cross_entropy";

    /// The smoothing in effect: PyTorch applies it only when `ε > 0`.
    fn smoothing(&self) -> Result<Option<f64>> {
        let eps = self.label_smoothing;
        if eps > 1.0 || eps.is_nan() {
            return Err(AutodiffError::invalid(
                Self::OP,
                format!("label_smoothing must be between 0.0 and 1.0. Got: {eps}"),
            ));
        }
        Ok((eps > 0.0).then_some(eps))
    }

    /// Checks the inputs in PyTorch's order and returns the layout.
    fn check<F: Float>(&self, x: &[ArrayViewD<'_, F>]) -> Result<ClassLayout> {
        let (input, target, weight) = (x[0].shape(), x[1].shape(), x.get(2));
        match self.target {
            TargetKind::ClassIndices => {
                if input == target {
                    return Err(AutodiffError::invalid(
                        Self::OP,
                        "Expected floating point type for target with class probabilities, got Long",
                    ));
                }
                self.smoothing()?;
                let layout = ClassLayout::of(Self::OP, input, target)?;
                check_weight(Self::OP, "", weight, layout.classes)?;
                Ok(layout)
            }
            TargetKind::Probabilities => {
                if input != target {
                    ClassLayout::of(Self::OP, input, target)?;
                    return Err(AutodiffError::invalid(
                        Self::OP,
                        format!(
                            "expected target dtype to be Long or Byte, but got {}",
                            torch_dtype::<F>()
                        ),
                    ));
                }
                if self.ignore_index >= 0 {
                    return Err(AutodiffError::invalid(
                        Self::OP,
                        "ignore_index is not supported for floating point target",
                    ));
                }
                let rank = input.len();
                if rank == 0 {
                    // PyTorch looks for the class axis (1) of a scalar.
                    return Err(AutodiffError::invalid(
                        Self::OP,
                        "Dimension specified as 1 but tensor has no dimensions",
                    ));
                }
                let layout = if rank == 1 {
                    ClassLayout {
                        batch: 1,
                        classes: input[0],
                        inner: 1,
                    }
                } else {
                    ClassLayout {
                        batch: input[0],
                        classes: input[1],
                        inner: input[2..].iter().product(),
                    }
                };
                check_weight(Self::OP, "cross_entropy: ", weight, layout.classes)?;
                self.smoothing()?;
                Ok(layout)
            }
        }
    }
}

impl<F: Float> Op<F> for SoftmaxCrossEntropy {
    fn name(&self) -> &'static str {
        "softmax_cross_entropy"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        let l = self.check(x)?;
        let eps = self.smoothing()?;
        if self.reduction == Reduction::None && self.target == TargetKind::Probabilities {
            // One loss per position: the input's shape without its class axis.
            let mut shape = x[0].shape().to_vec();
            if shape.len() > 1 {
                shape.remove(1);
            } else {
                shape.clear();
            }
            ensure_shape(out, &shape);
        } else {
            ensure_shape(out, self.reduction.shape(class_loss_shape(x)));
        }
        let none = self.reduction == Reduction::None;
        let per = out
            .as_slice_mut()
            .unwrap_or_else(|| unreachable!("ensure_shape gives standard layout"));
        let (xs, ts) = (flat(&x[0]), flat(&x[1]));
        let w = x.get(2).map(flat);
        let weight = |c: usize| w.map_or(F::one(), |w| w[c]);
        let per_class = F::of(eps.unwrap_or(0.0) / l.classes as f64);
        let keep = F::one() - F::of(eps.unwrap_or(0.0));
        let mut total = F::zero();
        let mut divisor = F::zero();
        for n in 0..l.batch {
            for s in 0..l.inner {
                let i = n * l.inner + s;
                let loss = match self.target {
                    TargetKind::ClassIndices => {
                        let Some(y) = class_at(Self::OP, ts, i, self.ignore_index, l.classes)?
                        else {
                            if none {
                                per[i] = F::zero();
                            }
                            continue;
                        };
                        let (m, lse) = max_and_log_sum(xs, &l, n, s);
                        divisor += weight(y);
                        // −log p_c = (m − x_c) + lse: exact-ish even when both are huge.
                        let mut loss = keep * weight(y) * ((m - xs[l.at(n, y, s)]) + lse);
                        if eps.is_some() {
                            let mut smooth = F::zero();
                            for c in 0..l.classes {
                                smooth += weight(c) * ((m - xs[l.at(n, c, s)]) + lse);
                            }
                            loss += per_class * smooth;
                        }
                        loss
                    }
                    TargetKind::Probabilities => {
                        let (m, lse) = max_and_log_sum(xs, &l, n, s);
                        let mut loss = F::zero();
                        for c in 0..l.classes {
                            let t = if eps.is_some() {
                                ts[l.at(n, c, s)] * keep + per_class
                            } else {
                                ts[l.at(n, c, s)]
                            };
                            loss += weight(c) * t * ((m - xs[l.at(n, c, s)]) + lse);
                        }
                        loss
                    }
                };
                if none {
                    per[i] = loss;
                } else {
                    total += loss;
                }
            }
        }
        if self.target == TargetKind::Probabilities {
            divisor = F::of((l.batch * l.inner) as f64);
        }
        finish(self.reduction, out, total, divisor);
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let (Ok(l), Ok(eps)) = (self.check(x), self.smoothing()) else {
            unreachable!("checked in forward")
        };
        let (xs, ts, gs) = (flat(&x[0]), flat(&x[1]), flat(g));
        let w = x.get(2).map(flat);
        let weight = |c: usize| w.map_or(F::one(), |w| w[c]);
        let eps_f = F::of(eps.unwrap_or(0.0));
        let per_class = eps_f / F::of(l.classes as f64);
        let keep = F::one() - eps_f;
        let (dx, rest) = grads.split_at_mut(1);
        let mut dx = dx[0].as_mut().map(flat_mut);
        match self.target {
            TargetKind::ClassIndices => {
                let Some(dx) = dx else { return };
                let divisor = if self.reduction == Reduction::Mean {
                    total_weight(Self::OP, ts, w, self.ignore_index, l.classes)
                        .unwrap_or_else(|_| unreachable!("checked in forward"))
                } else {
                    F::one()
                };
                let scale = reduced_scale(self.reduction, gs, divisor);
                let sum_w = match (w, eps) {
                    (Some(w), Some(_)) => w.iter().fold(F::zero(), |a, &v| a + v),
                    _ => F::of(l.classes as f64),
                };
                for n in 0..l.batch {
                    for s in 0..l.inner {
                        let i = n * l.inner + s;
                        let Ok(Some(y)) = class_at(Self::OP, ts, i, self.ignore_index, l.classes)
                        else {
                            continue;
                        };
                        let gi = element_grad(self.reduction, gs, i, scale);
                        let (m, lse) = max_and_log_sum(xs, &l, n, s);
                        // d/dx_c of −a·log p_y − Σ_k b_k·log p_k with a = (1−ε)·w_y,
                        // b_k = (ε/C)·w_k: p_c·(a + Σ b) − a·[c = y] − b_c.
                        let a = keep * weight(y);
                        let k = gi * (a + per_class * sum_w);
                        if eps.is_some() {
                            for c in 0..l.classes {
                                let j = l.at(n, c, s);
                                dx[j] += k * (xs[j] - m - lse).exp() - gi * per_class * weight(c);
                            }
                        } else {
                            // No smoothing (the trainer's default): the softmax alone.
                            for c in 0..l.classes {
                                let j = l.at(n, c, s);
                                dx[j] += k * (xs[j] - m - lse).exp();
                            }
                        }
                        dx[l.at(n, y, s)] -= gi * a;
                    }
                }
            }
            TargetKind::Probabilities => {
                let (dt, dw) = rest.split_at_mut(1);
                let mut dt = dt[0].as_mut().map(flat_mut);
                let mut dw = dw.first_mut().and_then(|d| d.as_mut()).map(flat_mut);
                let scale = reduced_scale(self.reduction, gs, F::of((l.batch * l.inner) as f64));
                let smoothed = |t: F| {
                    if eps.is_some() {
                        t * keep + per_class
                    } else {
                        t
                    }
                };
                let t_scale = if eps.is_some() { keep } else { F::one() };
                for n in 0..l.batch {
                    for s in 0..l.inner {
                        let i = n * l.inner + s;
                        let gi = element_grad(self.reduction, gs, i, scale);
                        let (m, lse) = max_and_log_sum(xs, &l, n, s);
                        let mut wt = F::zero();
                        for c in 0..l.classes {
                            wt += weight(c) * smoothed(ts[l.at(n, c, s)]);
                        }
                        for c in 0..l.classes {
                            let j = l.at(n, c, s);
                            let t = smoothed(ts[j]);
                            let neg_log_p = (m - xs[j]) + lse;
                            if let Some(dx) = dx.as_deref_mut() {
                                dx[j] += gi * (wt * (-neg_log_p).exp() - weight(c) * t);
                            }
                            if let Some(dt) = dt.as_deref_mut() {
                                dt[j] += gi * weight(c) * t_scale * neg_log_p;
                            }
                            if let Some(dw) = dw.as_deref_mut() {
                                dw[c] += gi * t * neg_log_p;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<F: Float> Op<F> for Nll {
    fn name(&self) -> &'static str {
        "nll_loss"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        let op = "nll_loss";
        let l = ClassLayout::of(op, x[0].shape(), x[1].shape())?;
        check_weight(op, "", x.get(2), l.classes)?;
        ensure_shape(out, self.reduction.shape(class_loss_shape(x)));
        let none = self.reduction == Reduction::None;
        let per = out
            .as_slice_mut()
            .unwrap_or_else(|| unreachable!("ensure_shape gives standard layout"));
        let (xs, ts) = (flat(&x[0]), flat(&x[1]));
        let w = x.get(2).map(flat);
        let (mut total, mut divisor) = (F::zero(), F::zero());
        for n in 0..l.batch {
            for s in 0..l.inner {
                let i = n * l.inner + s;
                let loss = match class_at(op, ts, i, self.ignore_index, l.classes)? {
                    Some(y) => {
                        let wy = w.map_or(F::one(), |w| w[y]);
                        divisor += wy;
                        -wy * xs[l.at(n, y, s)]
                    }
                    None => F::zero(),
                };
                if none {
                    per[i] = loss;
                } else {
                    total += loss;
                }
            }
        }
        finish(self.reduction, out, total, divisor);
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let Some(dx) = grads[0].as_mut().map(flat_mut) else {
            return;
        };
        let op = "nll_loss";
        let Ok(l) = ClassLayout::of(op, x[0].shape(), x[1].shape()) else {
            unreachable!("checked in forward")
        };
        let (ts, gs) = (flat(&x[1]), flat(g));
        let w = x.get(2).map(flat);
        let divisor = if self.reduction == Reduction::Mean {
            total_weight(op, ts, w, self.ignore_index, l.classes)
                .unwrap_or_else(|_| unreachable!("checked in forward"))
        } else {
            F::one()
        };
        let scale = reduced_scale(self.reduction, gs, divisor);
        for n in 0..l.batch {
            for s in 0..l.inner {
                let i = n * l.inner + s;
                if let Ok(Some(y)) = class_at(op, ts, i, self.ignore_index, l.classes) {
                    let wy = w.map_or(F::one(), |w| w[y]);
                    dx[l.at(n, y, s)] -= element_grad(self.reduction, gs, i, scale) * wy;
                }
            }
        }
    }
}

/// PyTorch's message when shape `b` does not broadcast against shape `a` (`a` op `b`):
/// `The size of tensor a (…) must match the size of tensor b (…) at non-singleton
/// dimension …`, checked from the last axis as PyTorch does; `None` when they broadcast.
///
/// ```
/// use gradwell_autodiff::ops::torch_broadcast_error;
///
/// assert_eq!(torch_broadcast_error(&[3, 4], &[4]), None);
/// assert_eq!(
///     torch_broadcast_error(&[3, 4], &[3]).as_deref(),
///     Some("The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1")
/// );
/// ```
pub fn torch_broadcast_error(a: &[usize], b: &[usize]) -> Option<String> {
    let rank = a.len().max(b.len());
    (0..rank).rev().find_map(|i| {
        let da = (i + a.len()).checked_sub(rank).map_or(1, |j| a[j]);
        let db = (i + b.len()).checked_sub(rank).map_or(1, |j| b[j]);
        (da != db && da != 1 && db != 1).then(|| {
            format!(
                "The size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton dimension {i}"
            )
        })
    })
}

impl Mse {
    /// The shape both operands broadcast to (their own when equal).
    ///
    /// # Errors
    /// PyTorch's message when they do not broadcast.
    fn shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
        if let Some(m) = torch_broadcast_error(a, b) {
            return Err(AutodiffError::invalid("mse_loss", m));
        }
        gradwell_tensor::broadcast_shape(a, b).map_err(AutodiffError::from)
    }
}

impl<F: Float> Op<F> for Mse {
    fn name(&self) -> &'static str {
        "mse"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        let (a, b) = (&x[0], &x[1]);
        if a.shape() != b.shape() {
            // PyTorch broadcasts (with a warning about the sizes) and so does gradwell.
            let full = Mse::shape(a.shape(), b.shape())?;
            let (a, b) = (broadcast_to(a, &full), broadcast_to(b, &full));
            return self.forward_same(&a, &b, out);
        }
        self.forward_same(a, b, out)
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let two = F::of(2.0);
        if x[0].shape() != x[1].shape() {
            // Broadcast operands: the element-wise gradient over the full shape, summed
            // back to each operand's shape (allocates; equal shapes take the path below).
            let Ok(full) = Mse::shape(x[0].shape(), x[1].shape()) else {
                unreachable!("checked in forward")
            };
            let n = full.iter().product::<usize>();
            let (a, b) = (broadcast_to(&x[0], &full), broadcast_to(&x[1], &full));
            let scale = two * reduced_scale(self.reduction, flat(g), F::of(n as f64));
            let mut e = ArrayD::<F>::zeros(ndarray::IxDyn(&full));
            match self.reduction {
                Reduction::None => Zip::from(&mut e)
                    .and(&a)
                    .and(&b)
                    .and(g)
                    .for_each(|e, &a, &b, &g| *e = two * g * (a - b)),
                Reduction::Mean | Reduction::Sum => Zip::from(&mut e)
                    .and(&a)
                    .and(&b)
                    .for_each(|e, &a, &b| *e = scale * (a - b)),
            }
            for (side, sign) in [(0, F::one()), (1, -F::one())] {
                if let Some(d) = grads[side].as_mut() {
                    let summed = gradwell_tensor::sum_to_shape(&e.view(), x[side].shape())
                        .unwrap_or_else(|_| {
                            unreachable!("the operand broadcasts to the full shape")
                        });
                    Zip::from(d).and(&summed).for_each(|d, &s| *d += sign * s);
                }
            }
            return;
        }
        let scale = two * reduced_scale(self.reduction, flat(g), F::of(x[0].len() as f64));
        for (side, sign) in [(0, F::one()), (1, -F::one())] {
            if let Some(d) = grads[side].as_mut() {
                if self.reduction == Reduction::None {
                    Zip::from(d)
                        .and(&x[0])
                        .and(&x[1])
                        .and(g)
                        .for_each(|d, &a, &b, &g| *d += sign * two * g * (a - b));
                } else {
                    Zip::from(d)
                        .and(&x[0])
                        .and(&x[1])
                        .for_each(|d, &a, &b| *d += sign * scale * (a - b));
                }
            }
        }
    }
}

impl Mse {
    /// The forward pass on operands of one shape.
    fn forward_same<F: Float>(
        &self,
        a: &ArrayViewD<'_, F>,
        b: &ArrayViewD<'_, F>,
        out: &mut ArrayD<F>,
    ) -> Result<()> {
        ensure_shape(out, self.reduction.shape(a.shape()));
        if self.reduction == Reduction::None {
            Zip::from(out)
                .and(a)
                .and(b)
                .for_each(|o, &a, &b| *o = (a - b) * (a - b));
        } else {
            let mut total = F::zero();
            Zip::from(a)
                .and(b)
                .for_each(|&a, &b| total += (a - b) * (a - b));
            finish(self.reduction, out, total, F::of(a.len() as f64));
        }
        Ok(())
    }
}

/// A view broadcast to a shape it was checked to broadcast to.
fn broadcast_to<'a, F>(a: &'a ArrayViewD<'_, F>, shape: &[usize]) -> ArrayViewD<'a, F> {
    a.broadcast(shape)
        .unwrap_or_else(|| unreachable!("checked to broadcast"))
}

impl<F: Float> Tape<F> {
    /// Puts class labels on the tape as a `[batch]` value (indices held in the float type,
    /// exact below 2²⁴ for f32), reusing the buffer of earlier steps. A label may be an
    /// `ignore_index` such as −100.
    ///
    /// ```
    /// let mut tape = gradwell_autodiff::Tape::<f32>::new();
    /// let y = tape.labels(&[3, 0, -100]);
    /// assert_eq!(tape.value(y).as_slice(), Some(&[3.0, 0.0, -100.0][..]));
    /// ```
    pub fn labels(&mut self, labels: &[ClassLabel]) -> Var {
        self.input_with(&[labels.len()], |buf| fill_labels(buf, labels))
    }

    /// Puts class labels of any shape on the tape (e.g. `[N, d₁, …]`, one class per
    /// position of a spatial input; `[]` for one unbatched sample), in row-major order.
    ///
    /// ```
    /// let mut tape = gradwell_autodiff::Tape::<f64>::new();
    /// let y = tape.labels_shaped(&[2, 2], &[0, 1, 1, 0])?;
    /// assert_eq!(tape.value(y).shape(), &[2, 2]);
    /// # Ok::<(), gradwell_autodiff::AutodiffError>(())
    /// ```
    ///
    /// # Errors
    /// When the number of labels is not the shape's product.
    pub fn labels_shaped(&mut self, shape: &[usize], labels: &[ClassLabel]) -> Result<Var> {
        if shape.iter().product::<usize>() != labels.len() {
            return Err(AutodiffError::invalid(
                "labels",
                format!("{} labels do not fill the shape {shape:?}", labels.len()),
            ));
        }
        Ok(self.input_with(shape, |buf| fill_labels(buf, labels)))
    }

    /// Cross-entropy of logits `[batch, classes]` against labels (see
    /// [`SoftmaxCrossEntropy`]), averaged over the batch.
    ///
    /// # Errors
    /// When the shapes do not fit or a label is not a class index.
    pub fn softmax_cross_entropy(&mut self, logits: Var, labels: Var) -> Result<Var> {
        self.apply(SoftmaxCrossEntropy::default(), &[logits, labels])
    }

    /// Mean squared error of two values (broadcast, see [`Mse`]).
    ///
    /// # Errors
    /// When the shapes do not broadcast.
    pub fn mse(&mut self, prediction: Var, target: Var) -> Result<Var> {
        self.apply(Mse::default(), &[prediction, target])
    }
}

/// Writes labels into a tape buffer of their count.
fn fill_labels<F: Float>(buf: &mut ArrayD<F>, labels: &[ClassLabel]) {
    for (b, &l) in buf.iter_mut().zip(labels) {
        *b = F::of(l as f64);
    }
}
