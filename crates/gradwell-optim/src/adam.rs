//! Adam, AMSGrad and AdamW (`torch/optim/adam.py` and `adamw.py`, `_single_tensor_adam`).

use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use crate::optimizer::{Buffer, Core, Ctx, lerp};
use crate::{OptimError, Optimizer, OptimizerState, ParamGroups, ParamSlot, StepReport, validate};

const NAME: &str = "Adam";

/// Adam settings. [`AdamConfig::default`] is PyTorch's `Adam` (`lr = 1e-3`,
/// `betas = (0.9, 0.999)`, `eps = 1e-8`, no decay); [`AdamConfig::adamw`] is PyTorch's
/// `AdamW` (the same with decoupled decay `0.01`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate, `> 0`.
    pub lr: f64,
    /// Decay of the first moment, β₁ in `[0, 1)`.
    pub beta1: f64,
    /// Decay of the second moment, β₂ in `[0, 1)`.
    pub beta2: f64,
    /// Added to the bias-corrected root of the second moment, `> 0`.
    pub eps: f64,
    /// Weight decay λ, `>= 0`.
    pub weight_decay: f64,
    /// Decoupled decay `p ← p·(1 − lr·λ)` before the update (AdamW) instead of coupled L2
    /// `g ← g + λ·p` (Adam's `weight_decay`).
    pub decoupled_weight_decay: bool,
    /// AMSGrad: normalize by the running maximum of the second moment.
    pub amsgrad: bool,
    /// Per-name learning-rate multipliers and weight-decay overrides.
    pub groups: ParamGroups,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            amsgrad: false,
            groups: ParamGroups::new(),
        }
    }
}

impl AdamConfig {
    /// PyTorch's `AdamW` defaults: Adam's, with decoupled weight decay 0.01 (Keras uses
    /// 0.004).
    pub fn adamw() -> Self {
        AdamConfig {
            weight_decay: 1e-2,
            decoupled_weight_decay: true,
            ..AdamConfig::default()
        }
    }
}

crate::setters!(AdamConfig {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled_weight_decay: bool,
    amsgrad: bool,
    groups: ParamGroups,
});

/// Adam exactly as PyTorch runs it (`t` is the parameter's step, 1 on its first):
///
/// ```text
/// p ← p·(1 − lr·λ)                      decoupled (AdamW)   | g ← g + λ·p   coupled
/// m ← m + (1 − β₁)·(g − m)              v ← β₂·v + (1 − β₂)·g²
/// v̂ ← max(v̂, v) and use v̂ for v         (AMSGrad; the raw, uncorrected v)
/// p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps)
/// ```
///
/// eps is added after the bias correction, outside the root (Keras adds it before the
/// correction: see the crate's PyTorch-parity notes).
///
/// ```
/// use gradwell_optim::{Adam, AdamConfig, Optimizer, ParamSlot};
///
/// let mut adamw = Adam::<f64>::new(AdamConfig::adamw().lr(0.1))?;
/// let (mut w, mut g) = (vec![1.0], vec![0.5]);
/// adamw.step(&mut [ParamSlot::new("w", &mut w, &mut g)])?;
/// assert!((w[0] - 0.899000002).abs() < 1e-9); // docs/parity.md#adam-and-adamw
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
pub struct Adam<F: Float> {
    config: AdamConfig,
    core: Core<F>,
}

impl<F: Float> Adam<F> {
    /// Validates the settings and builds the optimizer.
    pub fn new(config: AdamConfig) -> Result<Self, OptimError> {
        validate::unit_half_open(NAME, "beta1", config.beta1)?;
        validate::unit_half_open(NAME, "beta2", config.beta2)?;
        validate::positive(NAME, "eps", config.eps)?;
        let mut buffers = vec![
            Buffer::signed("exp_avg", 0.0),
            Buffer::squares("exp_avg_sq", 0.0),
        ];
        if config.amsgrad {
            buffers.push(Buffer::squares("max_exp_avg_sq", 0.0));
        }
        let core = Core::new(
            NAME,
            buffers,
            config.lr,
            config.weight_decay,
            config.decoupled_weight_decay,
            config.groups.clone(),
        )?;
        Ok(Adam { config, core })
    }

    /// The settings it was built with (β₁ as currently set).
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn name(&self) -> &'static str {
        NAME
    }

    fn step(&mut self, params: &mut [ParamSlot<'_, F>]) -> Result<StepReport, OptimError> {
        let AdamConfig {
            beta1,
            beta2,
            eps,
            amsgrad,
            ..
        } = self.config;
        let w1 = 1.0 - beta1;
        let (fw1, fb2, fw2, feps) = (F::of(w1), F::of(beta2), F::of(1.0 - beta2), F::of(eps));
        let from_start = w1 < 0.5;
        self.core.step(
            params,
            #[inline(always)]
            |c: &Ctx, p, g, bufs| {
                let t = i32::try_from(c.step).unwrap_or(i32::MAX);
                let bc1 = 1.0 - beta1.powi(t);
                let bc2_sqrt = (1.0 - beta2.powi(t)).sqrt();
                let (keep, l2) = (F::of(c.keep), F::of(c.l2));
                let (neg_step, bc2s) = (F::of(-(c.lr / bc1)), F::of(bc2_sqrt));
                match bufs {
                    [m, v] if !amsgrad => {
                        for (((p, &g), m), v) in
                            p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                        {
                            let w = *p * keep;
                            let g = g + l2 * w;
                            *m = lerp(*m, g, fw1, from_start);
                            *v = *v * fb2 + fw2 * g * g;
                            *p = w + neg_step * (*m / (v.sqrt() / bc2s + feps));
                        }
                    }
                    [m, v, vmax] => {
                        let it = p
                            .iter_mut()
                            .zip(g)
                            .zip(m.iter_mut())
                            .zip(v.iter_mut())
                            .zip(vmax.iter_mut());
                        for ((((p, &g), m), v), vmax) in it {
                            let w = *p * keep;
                            let g = g + l2 * w;
                            *m = lerp(*m, g, fw1, from_start);
                            *v = *v * fb2 + fw2 * g * g;
                            *vmax = vmax.max(*v);
                            *p = w + neg_step * (*m / (vmax.sqrt() / bc2s + feps));
                        }
                    }
                    _ => unreachable!("Adam keeps two or three buffers per parameter"),
                }
            },
        )
    }

    crate::common_methods!();

    fn momentum(&self) -> Option<f64> {
        Some(self.config.beta1)
    }

    fn set_momentum(&mut self, momentum: f64) -> Result<(), OptimError> {
        validate::unit_half_open(NAME, "beta1", momentum)?;
        self.config.beta1 = momentum;
        Ok(())
    }
}
