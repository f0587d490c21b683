//! PyTorch `MultiStepLR`.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Registered, ScheduleRule, validate};

/// `lr₀·γ^(number of milestones ≤ k)` (PyTorch `MultiStepLR`). Named `multi-step`, written
/// `multi-step:[30,60][,GAMMA]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiStepLr {
    /// Steps at which to decay, in increasing order; a repeated milestone decays twice
    /// (no default: they must be given).
    pub milestones: Vec<u64>,
    /// Decay factor, `> 0`; PyTorch's default 0.1.
    pub gamma: f64,
}

impl Default for MultiStepLr {
    fn default() -> Self {
        MultiStepLr {
            milestones: Vec::new(),
            gamma: 0.1,
        }
    }
}

impl Registered for MultiStepLr {
    const NAMES: &'static [&'static str] = &["multi-step"];
    const PARAMS: &'static [&'static str] = &["milestones", "gamma"];
    const REQUIRED: &'static [&'static str] = &["milestones"];

    fn check(&self) -> Result<(), OptimError> {
        validate::positive(Self::TORCH, "gamma", self.gamma)?;
        if self.milestones.windows(2).any(|w| w[0] > w[1]) {
            return Err(OptimError::InvalidConfig {
                owner: Self::TORCH,
                why: format!(
                    "milestones must be in increasing order, got {:?}",
                    self.milestones
                ),
            });
        }
        Ok(())
    }
}

impl ScheduleRule for MultiStepLr {
    const TORCH: &'static str = "MultiStepLR";

    fn lr_at(&self, base_lr: f64, k: u64, _run: u64) -> Result<f64, OptimError> {
        let passed = self.milestones.partition_point(|&m| m <= k);
        Ok(base_lr * self.gamma.powf(passed as f64))
    }
}
