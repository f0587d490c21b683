//! PyTorch `StepLR`.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Registered, ScheduleRule, validate};

/// `lr₀·γ^⌊k/step_size⌋` (PyTorch `StepLR`). Named `step`, written `step:STEP_SIZE[,GAMMA]`.
///
/// ```
/// use gradwell_optim::{ScheduleKind, StepLr};
///
/// let step = ScheduleKind::from(StepLr { step_size: 2, gamma: 0.5 });
/// let lrs: Vec<f64> = (0..5).map(|k| step.lr_at(1.0, k, 5).unwrap()).collect();
/// assert_eq!(lrs, [1.0, 1.0, 0.5, 0.5, 0.25]); // docs/parity.md#learning-rate-schedules
/// assert_eq!(step, "step:2,0.5".parse()?);
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepLr {
    /// Steps between decays, `>= 1` (no default: it must be given).
    pub step_size: u64,
    /// Decay factor, `> 0`; PyTorch's default 0.1.
    pub gamma: f64,
}

impl Default for StepLr {
    fn default() -> Self {
        StepLr {
            step_size: 1,
            gamma: 0.1,
        }
    }
}

impl Registered for StepLr {
    const NAMES: &'static [&'static str] = &["step"];
    const PARAMS: &'static [&'static str] = &["step_size", "gamma"];
    const REQUIRED: &'static [&'static str] = &["step_size"];

    fn check(&self) -> Result<(), OptimError> {
        validate::count(Self::TORCH, "step_size", self.step_size)?;
        validate::positive(Self::TORCH, "gamma", self.gamma)
    }
}

impl ScheduleRule for StepLr {
    const TORCH: &'static str = "StepLR";

    fn lr_at(&self, base_lr: f64, k: u64, _run: u64) -> Result<f64, OptimError> {
        Ok(base_lr * self.gamma.powf((k / self.step_size) as f64))
    }
}
