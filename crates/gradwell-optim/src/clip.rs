//! Gradient clipping by global norm and by value (`torch/nn/utils/clip_grad.py`).

use gradwell_tensor::{Float, sum_map_f64};
use serde::{Deserialize, Serialize};

use crate::param::first_non_finite;
use crate::{OptimError, ParamSlot, validate};

/// The ε PyTorch adds to the total norm in the clipping coefficient
/// `max_norm / (norm + ε)`: a gradient exactly at the limit still shrinks by a hair.
pub const CLIP_NORM_EPS: f64 = 1e-6;

/// Which norm measures the gradients.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormType {
    /// The Euclidean norm (PyTorch's default `norm_type = 2`).
    L2,
    /// The largest absolute element (`norm_type = inf`).
    Inf,
    /// `(Σ|g|ᵖ)^(1/p)` for a finite `p > 0`.
    P(f64),
}

impl NormType {
    fn validate(self) -> Result<(), OptimError> {
        match self {
            NormType::P(p) => validate::positive("clip_grad_norm", "norm_type p", p),
            _ => Ok(()),
        }
    }
}

/// The global norm of all gradients taken together (the norm of the concatenation, equal
/// to PyTorch's norm of the per-tensor norms), accumulated in f64. Empty input gives 0.
pub fn grad_norm<F: Float>(params: &[ParamSlot<'_, F>], norm_type: NormType) -> f64 {
    let grads = params.iter().map(|p| &*p.grad);
    match norm_type {
        NormType::Inf => grads.map(max_abs).fold(0.0, f64::max_nan),
        NormType::L2 => grads.map(|g| sum_map_f64(g, |x| x * x)).sum::<f64>().sqrt(),
        NormType::P(2.0) => grads.map(|g| sum_map_f64(g, |x| x * x)).sum::<f64>().sqrt(),
        NormType::P(1.0) => grads.map(|g| sum_map_f64(g, f64::abs)).sum::<f64>(),
        NormType::P(p) => grads
            .map(|g| sum_map_f64(g, |x| x.abs().powf(p)))
            .sum::<f64>()
            .powf(1.0 / p),
    }
}

/// NaN-propagating maximum (so that a NaN gradient makes the ∞-norm NaN, as in PyTorch).
trait MaxNan {
    fn max_nan(self, other: Self) -> Self;
}

impl MaxNan for f64 {
    fn max_nan(self, other: f64) -> f64 {
        if self.is_nan() || other.is_nan() {
            f64::NAN
        } else {
            self.max(other)
        }
    }
}

fn max_abs<F: Float>(g: &[F]) -> f64 {
    g.iter().fold(0.0, |m: f64, &x| m.max_nan(x.as_f64().abs()))
}

/// Clips the gradients to a global norm, as PyTorch's `clip_grad_norm_`, and returns the
/// total norm **before** clipping.
///
/// Every gradient is multiplied by `min(max_norm / (norm + 1e-6), 1)` (so a gradient
/// under the limit is left exactly as it was). `max_norm` must be finite and `> 0`
/// (PyTorch accepts a negative one and silently flips the gradients).
///
/// A non-finite norm: with `error_if_nonfinite`, an [`OptimError::NonFiniteNorm`] naming the
/// first parameter with a non-finite gradient, and nothing is changed; without it, PyTorch's
/// behaviour (a NaN norm turns every gradient to NaN, an infinite one zeroes the finite
/// elements), which the optimizer's step then refuses.
///
/// ```
/// use gradwell_optim::{NormType, ParamSlot, clip_grad_norm};
///
/// let (mut w1, mut g1) = (vec![0.0; 2], vec![3.0_f64, 4.0]);
/// let (mut w2, mut g2) = (vec![0.0; 3], vec![12.0, 0.0, 0.0]);
/// let mut params = [ParamSlot::new("a", &mut w1, &mut g1), ParamSlot::new("b", &mut w2, &mut g2)];
/// let norm = clip_grad_norm(&mut params, 1.0, NormType::L2, true)?;
/// assert_eq!(norm, 13.0);
/// assert!((g1[0] - 3.0 / 13.0).abs() < 1e-6); // docs/parity.md#gradient-clipping
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
pub fn clip_grad_norm<F: Float>(
    params: &mut [ParamSlot<'_, F>],
    max_norm: f64,
    norm_type: NormType,
    error_if_nonfinite: bool,
) -> Result<f64, OptimError> {
    validate::positive("clip_grad_norm", "max_norm", max_norm)?;
    norm_type.validate()?;
    let norm = grad_norm(params, norm_type);
    if !norm.is_finite() && error_if_nonfinite {
        let param = params
            .iter()
            .find(|p| first_non_finite(p.grad).is_some())
            .map(|p| p.name.to_string())
            .unwrap_or_default();
        return Err(OptimError::NonFiniteNorm { norm, param });
    }
    let coef = (max_norm / (norm + CLIP_NORM_EPS)).min(1.0);
    // `min` maps a NaN coefficient to 1; PyTorch's clamp keeps the NaN.
    let coef = if norm.is_nan() { f64::NAN } else { coef };
    if coef != 1.0 {
        let c = F::of(coef);
        for p in params.iter_mut() {
            for g in p.grad.iter_mut() {
                *g *= c;
            }
        }
    }
    Ok(norm)
}

/// Clamps every gradient element into `[−clip_value, clip_value]` (PyTorch's
/// `clip_grad_value_`); `clip_value` must be finite and `> 0`. NaN elements stay NaN (the
/// optimizer's step reports them).
///
/// ```
/// use gradwell_optim::{ParamSlot, clip_grad_value};
///
/// let (mut w, mut g) = (vec![0.0; 2], vec![3.0_f64, -4.0]);
/// clip_grad_value(&mut [ParamSlot::new("w", &mut w, &mut g)], 3.5)?;
/// assert_eq!(g, [3.0, -3.5]);
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
pub fn clip_grad_value<F: Float>(
    params: &mut [ParamSlot<'_, F>],
    clip_value: f64,
) -> Result<(), OptimError> {
    validate::positive("clip_grad_value", "clip_value", clip_value)?;
    let (lo, hi) = (F::of(-clip_value), F::of(clip_value));
    for p in params.iter_mut() {
        for g in p.grad.iter_mut() {
            // Written so that NaN passes through unchanged.
            if *g > hi {
                *g = hi;
            } else if *g < lo {
                *g = lo;
            }
        }
    }
    Ok(())
}

/// A validated clipping rule, to carry as an option of a training step (serde).
///
/// ```
/// use gradwell_optim::{GradClip, NormType, ParamSlot};
///
/// assert!(GradClip::norm(-1.0, NormType::L2).is_err()); // named error, not flipped gradients
/// let clip = GradClip::norm(1.0, NormType::L2)?.error_if_nonfinite(true);
/// let (mut w, mut g) = (vec![0.0], vec![f64::NAN]);
/// assert!(clip.apply(&mut [ParamSlot::new("w", &mut w, &mut g)]).is_err());
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GradClipSpec", into = "GradClipSpec")]
pub struct GradClip(GradClipSpec);

/// The serialized form of [`GradClip`] (validated when read).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
enum GradClipSpec {
    Norm {
        max_norm: f64,
        norm_type: NormType,
        error_if_nonfinite: bool,
    },
    Value {
        clip_value: f64,
    },
}

impl TryFrom<GradClipSpec> for GradClip {
    type Error = OptimError;

    fn try_from(spec: GradClipSpec) -> Result<Self, OptimError> {
        match spec {
            GradClipSpec::Norm {
                max_norm,
                norm_type,
                ..
            } => {
                validate::positive("clip_grad_norm", "max_norm", max_norm)?;
                norm_type.validate()?;
            }
            GradClipSpec::Value { clip_value } => {
                validate::positive("clip_grad_value", "clip_value", clip_value)?;
            }
        }
        Ok(GradClip(spec))
    }
}

impl From<GradClip> for GradClipSpec {
    fn from(c: GradClip) -> Self {
        c.0
    }
}

impl GradClip {
    /// Clip to a global norm (not failing on a non-finite norm unless
    /// [`GradClip::error_if_nonfinite`] is set, as in PyTorch).
    pub fn norm(max_norm: f64, norm_type: NormType) -> Result<Self, OptimError> {
        GradClip::try_from(GradClipSpec::Norm {
            max_norm,
            norm_type,
            error_if_nonfinite: false,
        })
    }

    /// Clamp each element into `[−clip_value, clip_value]`.
    pub fn value(clip_value: f64) -> Result<Self, OptimError> {
        GradClip::try_from(GradClipSpec::Value { clip_value })
    }

    /// For norm clipping, whether a non-finite norm is an error (no effect on value
    /// clipping).
    pub fn error_if_nonfinite(self, yes: bool) -> Self {
        match self.0 {
            GradClipSpec::Norm {
                max_norm,
                norm_type,
                ..
            } => GradClip(GradClipSpec::Norm {
                max_norm,
                norm_type,
                error_if_nonfinite: yes,
            }),
            v => GradClip(v),
        }
    }

    /// Applies the rule; returns the total norm before clipping for norm clipping, `None`
    /// for value clipping.
    pub fn apply<F: Float>(
        &self,
        params: &mut [ParamSlot<'_, F>],
    ) -> Result<Option<f64>, OptimError> {
        match self.0 {
            GradClipSpec::Norm {
                max_norm,
                norm_type,
                error_if_nonfinite,
            } => clip_grad_norm(params, max_norm, norm_type, error_if_nonfinite).map(Some),
            GradClipSpec::Value { clip_value } => {
                clip_grad_value(params, clip_value).map(|()| None)
            }
        }
    }
}
