//! PyTorch `LinearLR` (linear warm-up).

use serde::{Deserialize, Serialize};

use crate::{OptimError, Registered, ScheduleRule, validate};

/// `lr₀·(s + (e − s)·min(k, T)/T)` (PyTorch `LinearLR`; linear warm-up), with PyTorch's
/// defaults `1/3 → 1` over 5 steps. Named `linear`, written
/// `linear[:START[,END[,TOTAL_ITERS]]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearLr {
    /// Factor at step 0, in `(0, 1]`.
    pub start_factor: f64,
    /// Factor from step `T` on, in `[0, 1]`.
    pub end_factor: f64,
    /// `T`, `>= 1`.
    pub total_iters: u64,
}

impl Default for LinearLr {
    fn default() -> Self {
        LinearLr {
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total_iters: 5,
        }
    }
}

impl Registered for LinearLr {
    const NAMES: &'static [&'static str] = &["linear"];
    const PARAMS: &'static [&'static str] = &["start_factor", "end_factor", "total_iters"];

    fn check(&self) -> Result<(), OptimError> {
        if !(self.start_factor > 0.0 && self.start_factor <= 1.0) {
            return Err(OptimError::InvalidHyperParameter {
                owner: Self::TORCH,
                name: "start_factor",
                value: self.start_factor,
                rule: "in (0, 1]",
            });
        }
        validate::unit_closed(Self::TORCH, "end_factor", self.end_factor)?;
        validate::count(Self::TORCH, "total_iters", self.total_iters)
    }
}

impl ScheduleRule for LinearLr {
    const TORCH: &'static str = "LinearLR";

    fn lr_at(&self, base_lr: f64, k: u64, _run: u64) -> Result<f64, OptimError> {
        let (s, e, t) = (self.start_factor, self.end_factor, self.total_iters);
        Ok(base_lr * (s + (e - s) * k.min(t) as f64 / t as f64))
    }
}
