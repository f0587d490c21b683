//! The optimizer's rate throughout.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Registered, ScheduleRule};

/// No schedule: the optimizer's configured rate throughout. Named `constant`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantLr {}

impl Registered for ConstantLr {
    const NAMES: &'static [&'static str] = &["constant"];

    fn check(&self) -> Result<(), OptimError> {
        Ok(())
    }
}

impl ScheduleRule for ConstantLr {
    const TORCH: &'static str = "ConstantLR";

    fn lr_at(&self, base_lr: f64, _k: u64, _run: u64) -> Result<f64, OptimError> {
        Ok(base_lr)
    }
}
