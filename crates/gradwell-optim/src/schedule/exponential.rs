//! PyTorch `ExponentialLR`.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Registered, ScheduleRule, validate};

/// `lr₀·γ^k` (PyTorch `ExponentialLR`). Named `exponential`, written `exponential:GAMMA`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExponentialLr {
    /// Decay factor per step, `> 0` (no default: it must be given).
    pub gamma: f64,
}

impl Default for ExponentialLr {
    fn default() -> Self {
        ExponentialLr { gamma: 1.0 }
    }
}

impl Registered for ExponentialLr {
    const NAMES: &'static [&'static str] = &["exponential"];
    const PARAMS: &'static [&'static str] = &["gamma"];
    const REQUIRED: &'static [&'static str] = &["gamma"];

    fn check(&self) -> Result<(), OptimError> {
        validate::positive(Self::TORCH, "gamma", self.gamma)
    }
}

impl ScheduleRule for ExponentialLr {
    const TORCH: &'static str = "ExponentialLR";

    fn lr_at(&self, base_lr: f64, k: u64, _run: u64) -> Result<f64, OptimError> {
        Ok(base_lr * self.gamma.powf(k as f64))
    }
}
