//! Adam, AMSGrad and AdamW (`torch/optim/adam.py` and `adamw.py`, `_single_tensor_adam`).

use std::ops::{Deref, DerefMut};

use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use crate::optimizer::lerp;
use crate::{
    Buffer, Ctx, OptimError, ParamGroups, Registered, RuleOptimizer, Settings, UpdateRule, validate,
};

/// Adam settings. [`AdamConfig::default`] is PyTorch's `Adam` (`lr = 1e-3`,
/// `betas = (0.9, 0.999)`, `eps = 1e-8`, no decay), named `adam`; [`AdamConfig::adamw`] is
/// PyTorch's `AdamW` (the same with decoupled decay `0.01`), which [`AdamWConfig`] names
/// `adamw`.
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

/// AdamW settings: [`AdamConfig`] whose defaults are PyTorch's `AdamW`
/// ([`AdamConfig::adamw`]), named `adamw`. It reads and writes as an [`AdamConfig`] (the
/// same fields) and derefs to one.
///
/// ```
/// use gradwell_optim::{AdamConfig, AdamWConfig};
///
/// assert_eq!(*AdamWConfig::default(), AdamConfig::adamw());
/// let w = AdamWConfig::from(AdamConfig::adamw().lr(0.1));
/// assert_eq!((w.lr, w.weight_decay, w.decoupled_weight_decay), (0.1, 0.01, true));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdamWConfig(pub AdamConfig);

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig(AdamConfig::adamw())
    }
}

impl From<AdamConfig> for AdamWConfig {
    fn from(c: AdamConfig) -> Self {
        AdamWConfig(c)
    }
}

impl Deref for AdamWConfig {
    type Target = AdamConfig;

    fn deref(&self) -> &AdamConfig {
        &self.0
    }
}

impl DerefMut for AdamWConfig {
    fn deref_mut(&mut self) -> &mut AdamConfig {
        &mut self.0
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
pub type Adam<F> = RuleOptimizer<AdamConfig, F>;

/// AdamW: [`Adam`]'s rule, built from [`AdamWConfig`] (PyTorch's `AdamW`).
pub type AdamW<F> = RuleOptimizer<AdamWConfig, F>;

impl Registered for AdamConfig {
    const NAMES: &'static [&'static str] = &["adam"];

    fn check(&self) -> Result<(), OptimError> {
        self.check_as("Adam")
    }
}

impl AdamConfig {
    /// The checks of [`Registered::check`], naming `owner` in errors.
    fn check_as(&self, owner: &'static str) -> Result<(), OptimError> {
        self.shared().check(owner)?;
        validate::unit_half_open(owner, "beta1", self.beta1)?;
        validate::unit_half_open(owner, "beta2", self.beta2)?;
        validate::positive(owner, "eps", self.eps)
    }

    fn shared(&self) -> Settings<'_> {
        Settings {
            lr: self.lr,
            weight_decay: self.weight_decay,
            decoupled_weight_decay: self.decoupled_weight_decay,
            groups: &self.groups,
        }
    }

    fn set_beta1(&mut self, owner: &'static str, beta1: f64) -> Result<(), OptimError> {
        validate::unit_half_open(owner, "beta1", beta1)?;
        self.beta1 = beta1;
        Ok(())
    }

    fn adam_buffers(&self) -> Vec<Buffer> {
        let mut buffers = vec![
            Buffer::signed("exp_avg", 0.0),
            Buffer::squares("exp_avg_sq", 0.0),
        ];
        if self.amsgrad {
            buffers.push(Buffer::squares("max_exp_avg_sq", 0.0));
        }
        buffers
    }

    #[inline(always)]
    fn adam_update<F: Float>(&self, c: &Ctx, p: &mut [F], g: &[F], bufs: &mut [Vec<F>]) {
        let AdamConfig {
            beta1,
            beta2,
            eps,
            amsgrad,
            ..
        } = *self;
        let w1 = 1.0 - beta1;
        let (fw1, fb2, fw2, feps) = (F::of(w1), F::of(beta2), F::of(1.0 - beta2), F::of(eps));
        let from_start = w1 < 0.5;
        let t = i32::try_from(c.step).unwrap_or(i32::MAX);
        let bc1 = 1.0 - beta1.powi(t);
        let bc2_sqrt = (1.0 - beta2.powi(t)).sqrt();
        let (keep, l2) = (F::of(c.keep), F::of(c.l2));
        let (neg_step, bc2s) = (F::of(-(c.lr / bc1)), F::of(bc2_sqrt));
        match bufs {
            [m, v] if !amsgrad => {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
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
    }
}

impl UpdateRule for AdamConfig {
    const TORCH: &'static str = "Adam";

    fn settings(&self) -> Settings<'_> {
        self.shared()
    }

    fn buffers(&self) -> Vec<Buffer> {
        self.adam_buffers()
    }

    #[inline(always)]
    fn update<F: Float>(&self, c: &Ctx, p: &mut [F], g: &[F], bufs: &mut [Vec<F>]) {
        self.adam_update(c, p, g, bufs);
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.beta1)
    }

    fn set_momentum(&mut self, momentum: f64) -> Result<(), OptimError> {
        self.set_beta1(Self::TORCH, momentum)
    }
}

impl Registered for AdamWConfig {
    const NAMES: &'static [&'static str] = &["adamw"];

    fn check(&self) -> Result<(), OptimError> {
        self.0.check_as(Self::TORCH)
    }
}

impl UpdateRule for AdamWConfig {
    const TORCH: &'static str = "AdamW";

    fn settings(&self) -> Settings<'_> {
        self.0.shared()
    }

    fn buffers(&self) -> Vec<Buffer> {
        self.0.adam_buffers()
    }

    #[inline(always)]
    fn update<F: Float>(&self, c: &Ctx, p: &mut [F], g: &[F], bufs: &mut [Vec<F>]) {
        self.0.adam_update(c, p, g, bufs);
    }

    fn momentum(&self) -> Option<f64> {
        Some(self.0.beta1)
    }

    fn set_momentum(&mut self, momentum: f64) -> Result<(), OptimError> {
        self.0.set_beta1(Self::TORCH, momentum)
    }
}
