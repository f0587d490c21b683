//! Adagrad (`torch/optim/adagrad.py`, `_single_tensor_adagrad`).

use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use crate::{
    Buffer, Ctx, OptimError, ParamGroups, Registered, RuleOptimizer, Settings, UpdateRule, validate,
};

/// Adagrad settings with PyTorch's defaults (`lr = 1e-2`, `lr_decay = 0`,
/// `initial_accumulator_value = 0`, `eps = 1e-10`). Keras' differ (accumulator 0.1, eps
/// inside the root).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdagradConfig {
    /// Learning rate, `> 0`.
    pub lr: f64,
    /// Learning-rate decay: step `t` uses `lr / (1 + (t − 1)·lr_decay)`; `>= 0`.
    pub lr_decay: f64,
    /// Weight decay λ, `>= 0`.
    pub weight_decay: f64,
    /// Decoupled decay `p ← p·(1 − lr·λ)` instead of coupled L2.
    pub decoupled_weight_decay: bool,
    /// Starting value of the sum of squared gradients, `>= 0`.
    pub initial_accumulator_value: f64,
    /// Added to the root, `> 0`.
    pub eps: f64,
    /// Per-name learning-rate multipliers and weight-decay overrides.
    pub groups: ParamGroups,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            groups: ParamGroups::new(),
        }
    }
}

crate::setters!(AdagradConfig {
    lr: f64,
    lr_decay: f64,
    weight_decay: f64,
    decoupled_weight_decay: bool,
    initial_accumulator_value: f64,
    eps: f64,
    groups: ParamGroups,
});

/// Adagrad exactly as PyTorch runs it (`t` is the parameter's step, 1 on its first):
///
/// ```text
/// g ← g + λ·p
/// clr = lr / (1 + (t − 1)·lr_decay)
/// S ← S + g²
/// p ← p − clr · g / (√S + eps)
/// ```
///
/// ```
/// use gradwell_optim::{Adagrad, AdagradConfig, Optimizer, ParamSlot};
///
/// let mut opt = Adagrad::<f64>::new(AdagradConfig::default().lr(0.1))?;
/// let (mut w, mut g) = (vec![1.0], vec![0.5]);
/// opt.step(&mut [ParamSlot::new("w", &mut w, &mut g)])?;
/// assert!((w[0] - 0.9).abs() < 1e-9); // docs/parity.md#adagrad
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
pub type Adagrad<F> = RuleOptimizer<AdagradConfig, F>;

impl Registered for AdagradConfig {
    const NAMES: &'static [&'static str] = &["adagrad"];

    fn check(&self) -> Result<(), OptimError> {
        self.settings().check(Self::TORCH)?;
        validate::non_negative(Self::TORCH, "lr_decay", self.lr_decay)?;
        validate::non_negative(
            Self::TORCH,
            "initial_accumulator_value",
            self.initial_accumulator_value,
        )?;
        validate::positive(Self::TORCH, "eps", self.eps)
    }
}

impl UpdateRule for AdagradConfig {
    const TORCH: &'static str = "Adagrad";

    fn settings(&self) -> Settings<'_> {
        Settings {
            lr: self.lr,
            weight_decay: self.weight_decay,
            decoupled_weight_decay: self.decoupled_weight_decay,
            groups: &self.groups,
        }
    }

    fn buffers(&self) -> Vec<Buffer> {
        vec![Buffer::squares("sum", self.initial_accumulator_value)]
    }

    #[inline(always)]
    fn update<F: Float>(&self, c: &Ctx, p: &mut [F], g: &[F], bufs: &mut [Vec<F>]) {
        let clr = c.lr / (1.0 + (c.step - 1) as f64 * self.lr_decay);
        let (keep, l2, neg_clr, feps) = (F::of(c.keep), F::of(c.l2), F::of(-clr), F::of(self.eps));
        let [s] = bufs else {
            unreachable!("Adagrad keeps one buffer per parameter")
        };
        for ((p, &g), s) in p.iter_mut().zip(g).zip(s.iter_mut()) {
            let w = *p * keep;
            let g = g + l2 * w;
            *s += g * g;
            *p = w + neg_clr * (g / (s.sqrt() + feps));
        }
    }
}
