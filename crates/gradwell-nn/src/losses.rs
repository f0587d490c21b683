//! Losses, each recorded on the tape: PyTorch's names, formulas, defaults (mean reduction,
//! `ignore_index` −100) and error messages. The formulas, defaults and messages are
//! listed in `docs/parity.md`, section Losses.
//!
//! Cross-entropy, NLL and MSE are the fused ops of `gradwell-autodiff`
//! ([`SoftmaxCrossEntropy`], [`Nll`], [`Mse`]); binary cross-entropy with logits is
//! defined here. Each loss with keyword arguments has an options struct whose `Default` is
//! PyTorch's defaults ([`CrossEntropy`], [`NllLoss`], [`BceWithLogitsLoss`]) and a short
//! function for the common case ([`cross_entropy`], [`nll`], [`bce_with_logits`],
//! [`mse`]).

use gradwell_autodiff::ops::torch_broadcast_error;
use gradwell_autodiff::{AutodiffError, Op, Tape, Var, ensure_shape};
use gradwell_tensor::{ClassLabel, DEFAULT_IGNORE_INDEX, Float};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Zip};

use crate::Result;

pub use gradwell_autodiff::ops::Reduction as LossReduction;
pub use gradwell_autodiff::ops::{Mse, Nll, Reduction, SoftmaxCrossEntropy, TargetKind};

/// PyTorch's `F.cross_entropy` with every keyword argument; `Default` is PyTorch's
/// defaults (no weight, `ignore_index = −100`, `mean`, no smoothing, class indices). See
/// [`SoftmaxCrossEntropy`] for the formulas.
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_nn::losses::{CrossEntropy, LossReduction};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let x = tape.input(array![[1.0, 0.0, -1.0], [0.5, 0.5, 0.0]].into_dyn());
/// let y = tape.labels(&[0, 2]);
/// let w = tape.input(array![1.0, 2.0, 3.0].into_dyn());
/// let ce = CrossEntropy { weight: Some(w), label_smoothing: 0.1, ..Default::default() };
/// let loss = ce.apply(&mut tape, x, y)?;
/// assert!(tape.value(loss)[[]].is_finite());
/// let none = CrossEntropy { reduction: LossReduction::None, ..Default::default() };
/// let per_sample = none.apply(&mut tape, x, y)?;
/// assert_eq!(tape.value(per_sample).shape(), &[2]);
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CrossEntropy {
    /// Class weights `[C]` (PyTorch: `weight`), a value on the tape.
    pub weight: Option<Var>,
    /// Targets equal to this are ignored (PyTorch: `ignore_index`, default −100).
    pub ignore_index: ClassLabel,
    /// `none`, `mean` or `sum` (PyTorch: `reduction`, default `mean`).
    pub reduction: Reduction,
    /// Label smoothing ε in [0, 1] (PyTorch: `label_smoothing`, default 0).
    pub label_smoothing: f64,
    /// Class indices or class probabilities.
    pub target: TargetKind,
}

impl Default for CrossEntropy {
    fn default() -> Self {
        let op = SoftmaxCrossEntropy::default();
        CrossEntropy {
            weight: None,
            ignore_index: op.ignore_index,
            reduction: op.reduction,
            label_smoothing: op.label_smoothing,
            target: op.target,
        }
    }
}

impl CrossEntropy {
    /// Records the loss of `input` (`[N, C, d₁, …]` or `[C]`) against `target`.
    ///
    /// ```
    /// use gradwell_autodiff::Tape;
    /// use gradwell_nn::losses::{CrossEntropy, TargetKind};
    /// use ndarray::array;
    ///
    /// let mut tape = Tape::<f64>::new();
    /// let x = tape.input(array![[0.0, 0.0]].into_dyn());
    /// let p = tape.input(array![[0.5, 0.5]].into_dyn());
    /// let soft = CrossEntropy { target: TargetKind::Probabilities, ..Default::default() };
    /// let loss = soft.apply(&mut tape, x, p)?;
    /// assert!((tape.value(loss)[[]] - std::f64::consts::LN_2).abs() < 1e-12);
    /// # Ok::<(), gradwell_nn::NnError>(())
    /// ```
    ///
    /// # Errors
    /// PyTorch's errors (see `docs/parity.md`): shapes that do not fit, a target out of
    /// bounds, a weight of the wrong shape, ε > 1, `ignore_index ≥ 0` with probabilities.
    pub fn apply<F: Float>(&self, tape: &mut Tape<F>, input: Var, target: Var) -> Result<Var> {
        let op = SoftmaxCrossEntropy {
            label_smoothing: self.label_smoothing,
            reduction: self.reduction,
            ignore_index: self.ignore_index,
            target: self.target,
        };
        Ok(match self.weight {
            Some(w) => tape.apply(op, &[input, target, w])?,
            None => tape.apply(op, &[input, target])?,
        })
    }
}

/// Cross-entropy of logits against class labels (`tape.labels(&[..])`), with label
/// smoothing ε and a reduction, and otherwise PyTorch's defaults (see [`CrossEntropy`]
/// for the rest): the trainer's loss.
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_nn::losses::{LossReduction, cross_entropy};
/// use ndarray::array;
///
/// let mut tape = Tape::<f32>::new();
/// let x = tape.input(array![[3.0_f32, 0.0]].into_dyn());
/// let y = tape.labels(&[0]);
/// let loss = cross_entropy(&mut tape, x, y, 0.0, LossReduction::Mean)?;
/// assert!(tape.value(loss)[[]] < 0.05);
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
///
/// # Errors
/// Shapes that do not fit, a label out of range or ε > 1.
pub fn cross_entropy<F: Float>(
    tape: &mut Tape<F>,
    logits: Var,
    labels: Var,
    label_smoothing: f64,
    reduction: Reduction,
) -> Result<Var> {
    CrossEntropy {
        label_smoothing,
        reduction,
        ..Default::default()
    }
    .apply(tape, logits, labels)
}

/// Squared error of two values (broadcast against each other, as PyTorch does): per
/// element with [`Reduction::None`], their mean or sum otherwise (PyTorch's `F.mse_loss`).
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_nn::losses::{LossReduction, mse};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let a = tape.input(array![1.0, 3.0].into_dyn());
/// let b = tape.input(array![0.0, 1.0].into_dyn());
/// let e = mse(&mut tape, a, b, LossReduction::None)?;
/// assert_eq!(tape.value(e).as_slice(), Some(&[1.0, 4.0][..]));
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
///
/// # Errors
/// Shapes that do not broadcast.
pub fn mse<F: Float>(
    tape: &mut Tape<F>,
    prediction: Var,
    target: Var,
    reduction: Reduction,
) -> Result<Var> {
    Ok(tape.apply(Mse { reduction }, &[prediction, target])?)
}

/// PyTorch's `F.nll_loss` with every keyword argument; `Default` is PyTorch's defaults.
/// See [`Nll`] for the formula.
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_nn::losses::NllLoss;
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let lp = tape.input(array![[-0.2, -1.7], [-2.0, -0.1]].into_dyn());
/// let y = tape.labels(&[1, -100]);
/// let loss = NllLoss::default().apply(&mut tape, lp, y)?;
/// assert_eq!(tape.value(loss)[[]], 1.7);
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NllLoss {
    /// Class weights `[C]` (PyTorch: `weight`), a value on the tape.
    pub weight: Option<Var>,
    /// Targets equal to this are ignored (PyTorch: `ignore_index`, default −100).
    pub ignore_index: ClassLabel,
    /// `none`, `mean` or `sum` (PyTorch: `reduction`, default `mean`).
    pub reduction: Reduction,
}

impl Default for NllLoss {
    fn default() -> Self {
        NllLoss {
            weight: None,
            ignore_index: DEFAULT_IGNORE_INDEX,
            reduction: Reduction::Mean,
        }
    }
}

impl NllLoss {
    /// Records the loss of log-probabilities `[N, C, d₁, …]` (or `[C]`) against class
    /// indices.
    ///
    /// ```
    /// use gradwell_autodiff::Tape;
    /// use gradwell_nn::losses::{LossReduction, NllLoss};
    /// use ndarray::array;
    ///
    /// let mut tape = Tape::<f64>::new();
    /// let lp = tape.input(array![[-0.5, -1.0]].into_dyn());
    /// let y = tape.labels(&[1]);
    /// let nll = NllLoss { reduction: LossReduction::None, ..Default::default() };
    /// let loss = nll.apply(&mut tape, lp, y)?;
    /// assert_eq!(tape.value(loss).as_slice(), Some(&[1.0][..]));
    /// # Ok::<(), gradwell_nn::NnError>(())
    /// ```
    ///
    /// # Errors
    /// PyTorch's errors: shapes that do not fit, a target out of bounds, a weight of the
    /// wrong shape.
    pub fn apply<F: Float>(&self, tape: &mut Tape<F>, log_probs: Var, target: Var) -> Result<Var> {
        let op = Nll {
            reduction: self.reduction,
            ignore_index: self.ignore_index,
        };
        Ok(match self.weight {
            Some(w) => tape.apply(op, &[log_probs, target, w])?,
            None => tape.apply(op, &[log_probs, target])?,
        })
    }
}

/// Negative log-likelihood of log-probabilities against labels, with PyTorch's other
/// defaults (see [`NllLoss`]).
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_nn::losses::{LossReduction, nll};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let lp = tape.input(array![[-0.5, -1.0], [-2.0, -0.25]].into_dyn());
/// let y = tape.labels(&[1, 1]);
/// let loss = nll(&mut tape, lp, y, LossReduction::Sum)?;
/// assert_eq!(tape.value(loss)[[]], 1.25);
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
///
/// # Errors
/// Shapes that do not fit or a label out of range.
pub fn nll<F: Float>(
    tape: &mut Tape<F>,
    log_probs: Var,
    labels: Var,
    reduction: Reduction,
) -> Result<Var> {
    NllLoss {
        reduction,
        ..Default::default()
    }
    .apply(tape, log_probs, labels)
}

/// Binary cross-entropy on logits `x` against targets `y` of the same shape, PyTorch's
/// `F.binary_cross_entropy_with_logits` in its stable form: per element
/// `ℓ = w·((1 − y)·x − (1 + (p − 1)·y)·log σ(x))` with `log σ(x) = min(x, 0) −
/// log(1 + e^(−|x|))`, where `w` is `weight` broadcast to the input's shape and `p` is
/// `pos_weight` broadcast likewise (per class along the last axis); logits of ±800 give a
/// finite loss (800, not ∞) and gradient.
///
/// Inputs on the tape: logits, targets, then the weight if `weighted`, then the positive
/// weight if `pos_weighted`. Gradients flow into all of them: into the weights
/// `∂ℓ/∂w = (1 − y)·x − (1 + (p − 1)·y)·log σ(x)` and `∂ℓ/∂p = −w·y·log σ(x)`, summed
/// back over the axes each was broadcast along (PyTorch's function refuses weights that
/// require a gradient; these are the gradients of its formula).
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_nn::losses::{BceWithLogits, LossReduction};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let x = tape.input(array![800.0, -800.0].into_dyn());
/// let y = tape.input(array![0.0, 1.0].into_dyn());
/// let op = BceWithLogits { reduction: LossReduction::None, ..Default::default() };
/// let loss = tape.apply(op, &[x, y])?;
/// assert_eq!(tape.value(loss).as_slice(), Some(&[800.0, 800.0][..]));
/// # Ok::<(), gradwell_autodiff::AutodiffError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BceWithLogits {
    /// How the elements' losses are combined.
    pub reduction: Reduction,
    /// Whether a weight (the third input) multiplies each element's loss.
    pub weighted: bool,
    /// Whether a positive weight (the next input) multiplies the positive term.
    pub pos_weighted: bool,
}

const BCE: &str = "binary_cross_entropy_with_logits";

/// The weight and the positive weight of a BCE call, each broadcast to the input's shape.
type Weights<'a, F> = (Option<ArrayViewD<'a, F>>, Option<ArrayViewD<'a, F>>);

impl BceWithLogits {
    /// The weight and the positive weight among the inputs, broadcast to the input's
    /// shape, checked with PyTorch's messages.
    fn weights<'a, F: Float>(
        &self,
        x: &'a [ArrayViewD<'a, F>],
    ) -> gradwell_autodiff::Result<Weights<'a, F>> {
        let shape = x[0].shape();
        if shape != x[1].shape() {
            return Err(AutodiffError::invalid(
                BCE,
                format!(
                    "Target size (torch.Size({:?})) must be the same as input size (torch.Size({shape:?}))",
                    x[1].shape()
                ),
            ));
        }
        // PyTorch: log_weight = (pos_weight − 1)·target (pos_weight is tensor a), then
        // the loss (tensor a) is multiplied by the weight (tensor b), both in place.
        let broadcast = |v: &'a ArrayViewD<'a, F>, weight_is_a: bool| {
            let message = if weight_is_a {
                torch_broadcast_error(v.shape(), shape)
            } else {
                torch_broadcast_error(shape, v.shape())
            };
            match (message, v.broadcast(shape)) {
                (Some(m), _) => Err(AutodiffError::invalid(BCE, m)),
                (None, Some(b)) => Ok(b),
                (None, None) => {
                    let full = gradwell_tensor::broadcast_shape(shape, v.shape())
                        .unwrap_or_else(|_| unreachable!("checked to broadcast"));
                    Err(AutodiffError::invalid(
                        BCE,
                        format!(
                            "output with shape {shape:?} doesn't match the broadcast shape {full:?}"
                        ),
                    ))
                }
            }
        };
        let mut next = 2;
        let mut take = |present: bool| {
            let v = present.then(|| &x[next]);
            next += usize::from(present);
            v
        };
        let (w, p) = (take(self.weighted), take(self.pos_weighted));
        let p = p.map(|p| broadcast(p, true)).transpose()?;
        let w = w.map(|w| broadcast(w, false)).transpose()?;
        Ok((w, p))
    }
}

/// log σ(x) in the stable form: `min(x, 0) − log(1 + e^(−|x|))`.
fn log_sigmoid<F: Float>(z: F) -> F {
    z.min(F::zero()) - (-z.abs()).exp().ln_1p()
}

/// σ(x) without overflow at either end.
fn sigmoid<F: Float>(z: F) -> F {
    if z >= F::zero() {
        F::one() / (F::one() + (-z).exp())
    } else {
        z.exp() / (F::one() + z.exp())
    }
}

/// Per element: the loss `w·((1 − y)·x − (1 + (p − 1)·y)·log σ(x))`.
#[inline(always)]
fn bce_element<F: Float>(z: F, y: F, w: F, p: F) -> F {
    w * ((F::one() - y) * z - (F::one() + (p - F::one()) * y) * log_sigmoid(z))
}

impl<F: Float> Op<F> for BceWithLogits {
    fn name(&self) -> &'static str {
        BCE
    }

    fn forward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        out: &mut ArrayD<F>,
    ) -> gradwell_autodiff::Result<()> {
        let (w, p) = self.weights(x)?;
        let one = F::one();
        let ones = ndarray::aview0(&one).into_dyn();
        let ones = ones
            .broadcast(x[0].shape())
            .unwrap_or_else(|| unreachable!("a scalar broadcasts to any shape"));
        let (w, p) = (w.unwrap_or_else(|| ones.clone()), p.unwrap_or(ones));
        match self.reduction {
            Reduction::None => {
                ensure_shape(out, x[0].shape());
                Zip::from(out)
                    .and(&x[0])
                    .and(&x[1])
                    .and(&w)
                    .and(&p)
                    .for_each(|o, &z, &y, &w, &p| *o = bce_element(z, y, w, p));
            }
            Reduction::Mean | Reduction::Sum => {
                let mut total = F::zero();
                Zip::from(&x[0])
                    .and(&x[1])
                    .and(&w)
                    .and(&p)
                    .for_each(|&z, &y, &w, &p| total += bce_element(z, y, w, p));
                if self.reduction == Reduction::Mean {
                    total /= F::of(x[0].len() as f64);
                }
                ensure_shape(out, &[]);
                out.fill(total);
            }
        }
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let Ok((w, p)) = self.weights(x) else {
            unreachable!("checked in forward")
        };
        let one = F::one();
        let ones = ndarray::aview0(&one).into_dyn();
        let ones = ones
            .broadcast(x[0].shape())
            .unwrap_or_else(|| unreachable!("a scalar broadcasts to any shape"));
        let (w, p) = (w.unwrap_or_else(|| ones.clone()), p.unwrap_or(ones));
        // The scalar gradient of a reduced loss, broadcast like every other operand.
        let scale = match self.reduction {
            Reduction::None => F::zero(),
            Reduction::Mean => {
                g.first().copied().unwrap_or_else(F::zero) / F::of(x[0].len() as f64)
            }
            Reduction::Sum => g.first().copied().unwrap_or_else(F::zero),
        };
        let scale = ndarray::aview0(&scale).into_dyn();
        let g = match self.reduction {
            Reduction::None => g.view(),
            Reduction::Mean | Reduction::Sum => scale
                .broadcast(x[0].shape())
                .unwrap_or_else(|| unreachable!("a scalar broadcasts to any shape")),
        };
        let (before, after) = grads.split_at_mut(1);
        if let Some(dz) = before[0].as_mut() {
            // PyTorch's backward: (p·y + 1 − y)·σ(x) − p·y, times w and the gradient.
            Zip::from(dz)
                .and(&x[0])
                .and(&x[1])
                .and(&w)
                .and(&p)
                .and(&g)
                .for_each(|d, &z, &y, &w, &p, &g| {
                    *d += g * w * ((p * y + F::one() - y) * sigmoid(z) - p * y);
                });
        }
        let (targets, weights) = after.split_at_mut(1);
        if let Some(dy) = targets[0].as_mut() {
            Zip::from(dy)
                .and(&x[0])
                .and(&w)
                .and(&p)
                .and(&g)
                .for_each(|d, &z, &w, &p, &g| *d -= g * w * (z + (p - F::one()) * log_sigmoid(z)));
        }
        // The weights' gradients, per element of the input, then summed back over the
        // axes they were broadcast along: ∂ℓ/∂w = ℓ/w and ∂ℓ/∂p = −w·y·log σ(x).
        let mut slots = weights.iter_mut().zip(2..);
        let mut into_weight = |present: bool, per_element: &dyn Fn(F, F, F, F) -> F| {
            let Some((Some(dv), i)) = present.then(|| slots.next()).flatten() else {
                return;
            };
            let mut full = ArrayD::<F>::zeros(x[0].shape());
            Zip::from(&mut full)
                .and(&x[0])
                .and(&x[1])
                .and(&w)
                .and(&p)
                .and(&g)
                .for_each(|d, &z, &y, &w, &p, &g| *d = g * per_element(z, y, w, p));
            let summed = gradwell_tensor::sum_to_shape(&full.view(), x[i].shape())
                .unwrap_or_else(|_| unreachable!("the weight broadcasts to the input's shape"));
            *dv += &summed;
        };
        into_weight(self.weighted, &|z, y, _, p| bce_element(z, y, F::one(), p));
        into_weight(self.pos_weighted, &|z, y, w, _| -w * y * log_sigmoid(z));
    }
}

/// PyTorch's `F.binary_cross_entropy_with_logits` with every keyword argument; `Default`
/// is PyTorch's defaults (no weights, `mean`). See [`BceWithLogits`] for the formula.
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_nn::losses::BceWithLogitsLoss;
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let x = tape.input(array![[800.0, -800.0], [0.0, 1.0]].into_dyn());
/// let y = tape.input(array![[0.0, 1.0], [1.0, 0.0]].into_dyn());
/// let pos_weight = tape.input(array![2.0, 0.5].into_dyn()); // per class: the last axis
/// let weight = tape.input(array![[1.0], [3.0]].into_dyn()); // per sample
/// let bce = BceWithLogitsLoss { weight: Some(weight), pos_weight: Some(pos_weight), ..Default::default() };
/// let loss = bce.apply(&mut tape, x, y)?;
/// assert!(tape.value(loss)[[]].is_finite());
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BceWithLogitsLoss {
    /// A weight broadcast to the input's shape (PyTorch: `weight`), a value on the tape;
    /// it gets a gradient when it takes one (a parameter, `Tape::input_requires_grad`).
    pub weight: Option<Var>,
    /// A weight of the positive term broadcast to the input's shape, typically one per
    /// class along the last axis (PyTorch: `pos_weight`), a value on the tape; it gets a
    /// gradient when it takes one.
    pub pos_weight: Option<Var>,
    /// `none`, `mean` or `sum` (PyTorch: `reduction`, default `mean`).
    pub reduction: Reduction,
}

impl BceWithLogitsLoss {
    /// Records the loss of `logits` against `targets` of the same shape.
    ///
    /// ```
    /// use gradwell_autodiff::Tape;
    /// use gradwell_nn::losses::{BceWithLogitsLoss, LossReduction};
    /// use ndarray::array;
    ///
    /// let mut tape = Tape::<f64>::new();
    /// let x = tape.input(array![0.0].into_dyn());
    /// let y = tape.input(array![1.0].into_dyn());
    /// let bce = BceWithLogitsLoss { reduction: LossReduction::Sum, ..Default::default() };
    /// let loss = bce.apply(&mut tape, x, y)?;
    /// assert!((tape.value(loss)[[]] - std::f64::consts::LN_2).abs() < 1e-15);
    /// # Ok::<(), gradwell_nn::NnError>(())
    /// ```
    ///
    /// # Errors
    /// PyTorch's errors: targets of another shape, weights that do not broadcast to the
    /// input's shape.
    pub fn apply<F: Float>(&self, tape: &mut Tape<F>, logits: Var, targets: Var) -> Result<Var> {
        let op = BceWithLogits {
            reduction: self.reduction,
            weighted: self.weight.is_some(),
            pos_weighted: self.pos_weight.is_some(),
        };
        let mut inputs = [logits, targets, logits, logits];
        let mut n = 2;
        for v in [self.weight, self.pos_weight].into_iter().flatten() {
            inputs[n] = v;
            n += 1;
        }
        Ok(tape.apply(op, &inputs[..n])?)
    }
}

/// Binary cross-entropy with logits without weights (see [`BceWithLogits`]).
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_nn::losses::{LossReduction, bce_with_logits};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let x = tape.input(array![-800.0].into_dyn());
/// let y = tape.input(array![1.0].into_dyn());
/// let loss = bce_with_logits(&mut tape, x, y, LossReduction::Mean)?;
/// assert_eq!(tape.value(loss)[[]], 800.0);
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
///
/// # Errors
/// Shapes that differ.
pub fn bce_with_logits<F: Float>(
    tape: &mut Tape<F>,
    logits: Var,
    targets: Var,
    reduction: Reduction,
) -> Result<Var> {
    BceWithLogitsLoss {
        reduction,
        ..Default::default()
    }
    .apply(tape, logits, targets)
}
