//! Stochastic gradient descent with momentum, dampening and Nesterov momentum
//! (`torch/optim/sgd.py`, `_single_tensor_sgd`).

use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use crate::{
    Buffer, Ctx, OptimError, ParamGroups, Registered, RuleOptimizer, Settings, UpdateRule, validate,
};

/// SGD settings, with PyTorch's defaults (`lr = 1e-3`, everything else off). Named `sgd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate, `> 0`.
    pub lr: f64,
    /// Momentum μ, in `[0, 1)`.
    pub momentum: f64,
    /// Dampening τ, in `[0, 1]`: new gradients enter the buffer as `(1 − τ)·g`.
    pub dampening: f64,
    /// Weight decay λ, `>= 0`; coupled L2 (`g ← g + λ·p`) unless `decoupled_weight_decay`.
    pub weight_decay: f64,
    /// Decoupled decay `p ← p·(1 − lr·λ)` before the update instead of coupled L2.
    pub decoupled_weight_decay: bool,
    /// Nesterov momentum (needs `momentum > 0` and `dampening = 0`, as in PyTorch).
    pub nesterov: bool,
    /// Per-name learning-rate multipliers and weight-decay overrides.
    pub groups: ParamGroups,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            nesterov: false,
            groups: ParamGroups::new(),
        }
    }
}

crate::setters!(SgdConfig {
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    decoupled_weight_decay: bool,
    nesterov: bool,
    groups: ParamGroups,
});

/// SGD exactly as PyTorch runs it (μ momentum, τ dampening, λ weight decay):
///
/// ```text
/// g ← g + λ·p
/// b ← g                  on a parameter's first step (dampening NOT applied)
/// b ← μ·b + (1 − τ)·g    afterwards
/// g ← g + μ·b if nesterov, else g ← b        (only when μ > 0)
/// p ← p − lr·g
/// ```
///
/// ```
/// use gradwell_optim::{Optimizer, ParamSlot, Sgd, SgdConfig};
///
/// let mut opt = Sgd::<f64>::new(SgdConfig::default().lr(0.1).weight_decay(0.5))?;
/// let (mut w, mut g) = (vec![2.0], vec![1.0]);
/// opt.step(&mut [ParamSlot::new("w", &mut w, &mut g)])?;
/// assert!((w[0] - 1.8).abs() < 1e-12); // docs/parity.md#sgd
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
pub type Sgd<F> = RuleOptimizer<SgdConfig, F>;

/// One SGD update of one parameter; `FIRST` and `NESTEROV` are fixed per call so the loop
/// has no branches.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn momentum_kernel<F: Float, const FIRST: bool, const NESTEROV: bool>(
    p: &mut [F],
    g: &[F],
    b: &mut [F],
    keep: F,
    l2: F,
    mu: F,
    damp: F,
    neg_lr: F,
) {
    for ((p, &g), b) in p.iter_mut().zip(g).zip(b.iter_mut()) {
        let w = *p * keep;
        let g = g + l2 * w;
        *b = if FIRST { g } else { *b * mu + damp * g };
        let d = if NESTEROV { g + mu * *b } else { *b };
        *p = w + neg_lr * d;
    }
}

impl Registered for SgdConfig {
    const NAMES: &'static [&'static str] = &["sgd"];

    fn check(&self) -> Result<(), OptimError> {
        self.settings().check(Self::TORCH)?;
        validate::unit_half_open(Self::TORCH, "momentum", self.momentum)?;
        validate::unit_closed(Self::TORCH, "dampening", self.dampening)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(OptimError::InvalidConfig {
                owner: Self::TORCH,
                why: format!(
                    "nesterov requires momentum > 0 and dampening = 0 (got momentum {}, dampening {})",
                    self.momentum, self.dampening
                ),
            });
        }
        Ok(())
    }
}

impl UpdateRule for SgdConfig {
    const TORCH: &'static str = "SGD";

    fn settings(&self) -> Settings<'_> {
        Settings {
            lr: self.lr,
            weight_decay: self.weight_decay,
            decoupled_weight_decay: self.decoupled_weight_decay,
            groups: &self.groups,
        }
    }

    fn buffers(&self) -> Vec<Buffer> {
        if self.momentum > 0.0 {
            vec![Buffer::signed("momentum_buffer", 0.0)]
        } else {
            vec![]
        }
    }

    #[inline(always)]
    fn update<F: Float>(&self, c: &Ctx, p: &mut [F], g: &[F], bufs: &mut [Vec<F>]) {
        let (keep, l2, neg_lr) = (F::of(c.keep), F::of(c.l2), F::of(-c.lr));
        match bufs {
            [b] => {
                let (mu, damp) = (F::of(self.momentum), F::of(1.0 - self.dampening));
                match (c.step == 1, self.nesterov) {
                    (true, false) => {
                        momentum_kernel::<F, true, false>(p, g, b, keep, l2, mu, damp, neg_lr)
                    }
                    (true, true) => {
                        momentum_kernel::<F, true, true>(p, g, b, keep, l2, mu, damp, neg_lr)
                    }
                    (false, false) => {
                        momentum_kernel::<F, false, false>(p, g, b, keep, l2, mu, damp, neg_lr)
                    }
                    (false, true) => {
                        momentum_kernel::<F, false, true>(p, g, b, keep, l2, mu, damp, neg_lr)
                    }
                }
            }
            _ => {
                for (p, &g) in p.iter_mut().zip(g) {
                    let w = *p * keep;
                    *p = w + neg_lr * (g + l2 * w);
                }
            }
        }
    }

    fn momentum(&self) -> Option<f64> {
        (self.momentum > 0.0).then_some(self.momentum)
    }

    fn set_momentum(&mut self, momentum: f64) -> Result<(), OptimError> {
        if self.momentum == 0.0 {
            return Err(OptimError::NoMomentum {
                optimizer: Self::TORCH,
                why: " (built with momentum 0)",
            });
        }
        validate::unit_half_open(Self::TORCH, "momentum", momentum)?;
        if self.nesterov && momentum == 0.0 {
            return Err(OptimError::InvalidConfig {
                owner: Self::TORCH,
                why: "nesterov requires momentum > 0".into(),
            });
        }
        self.momentum = momentum;
        Ok(())
    }
}
