//! Adagrad (`torch/optim/adagrad.py`, `_single_tensor_adagrad`).

use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use crate::optimizer::{Buffer, Core, Ctx};
use crate::{OptimError, Optimizer, OptimizerState, ParamGroups, ParamSlot, StepReport, validate};

const NAME: &str = "Adagrad";

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
pub struct Adagrad<F: Float> {
    config: AdagradConfig,
    core: Core<F>,
}

impl<F: Float> Adagrad<F> {
    /// Validates the settings and builds the optimizer.
    pub fn new(config: AdagradConfig) -> Result<Self, OptimError> {
        validate::non_negative(NAME, "lr_decay", config.lr_decay)?;
        validate::non_negative(
            NAME,
            "initial_accumulator_value",
            config.initial_accumulator_value,
        )?;
        validate::positive(NAME, "eps", config.eps)?;
        let core = Core::new(
            NAME,
            vec![Buffer::squares("sum", config.initial_accumulator_value)],
            config.lr,
            config.weight_decay,
            config.decoupled_weight_decay,
            config.groups.clone(),
        )?;
        Ok(Adagrad { config, core })
    }

    /// The settings it was built with.
    pub fn config(&self) -> &AdagradConfig {
        &self.config
    }
}

impl<F: Float> Optimizer<F> for Adagrad<F> {
    fn name(&self) -> &'static str {
        NAME
    }

    fn step(&mut self, params: &mut [ParamSlot<'_, F>]) -> Result<StepReport, OptimError> {
        let AdagradConfig { lr_decay, eps, .. } = self.config;
        let feps = F::of(eps);
        self.core.step(
            params,
            #[inline(always)]
            |c: &Ctx, p, g, bufs| {
                let clr = c.lr / (1.0 + (c.step - 1) as f64 * lr_decay);
                let (keep, l2, neg_clr) = (F::of(c.keep), F::of(c.l2), F::of(-clr));
                let [s] = bufs else {
                    unreachable!("Adagrad keeps one buffer per parameter")
                };
                for ((p, &g), s) in p.iter_mut().zip(g).zip(s.iter_mut()) {
                    let w = *p * keep;
                    let g = g + l2 * w;
                    *s += g * g;
                    *p = w + neg_clr * (g / (s.sqrt() + feps));
                }
            },
        )
    }

    crate::common_methods!();

    fn momentum(&self) -> Option<f64> {
        None
    }

    fn set_momentum(&mut self, _momentum: f64) -> Result<(), OptimError> {
        Err(OptimError::NoMomentum {
            optimizer: NAME,
            why: "",
        })
    }
}
