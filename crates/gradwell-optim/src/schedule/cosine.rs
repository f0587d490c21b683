//! PyTorch `CosineAnnealingLR`, in closed form.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Registered, ScheduleRule, validate};

/// `η_min + (lr₀ − η_min)·(1 + cos(π·k/T_max))/2` (PyTorch `CosineAnnealingLR`'s closed
/// form), by default over the whole run (`T_max` = the run's length in schedule steps).
/// Named `cosine` (or `cosine-annealing`), written `cosine[:ETA_MIN]`.
///
/// Not clamped: past `T_max` it rises again with period `2·T_max`, as PyTorch's does
/// (PyTorch computes it recursively from the current rate, which agrees with the closed
/// form when nothing else changes the rate). To hold `η_min`, end the cycle with a
/// `sequential` schedule.
///
/// ```
/// use gradwell_optim::{CosineAnnealingLr, LrSchedule, Schedule, ScheduleKind};
///
/// let cosine = ScheduleKind::from(CosineAnnealingLr { t_max: Some(4), eta_min: 0.0 });
/// let mut s = LrSchedule::new(1.0, cosine, 8)?;
/// let mut lrs = vec![s.lr()];
/// for _ in 0..8 {
///     lrs.push(s.step(None)?);
/// }
/// let want = [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464, 0.5, 0.8536, 1.0]; // docs/parity.md#learning-rate-schedules
/// assert!(lrs.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-4));
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosineAnnealingLr {
    /// Half-period in steps, `>= 1`; `None` (the default) for the run's length.
    pub t_max: Option<u64>,
    /// Floor, `>= 0` (absolute, not a factor); default 0.
    pub eta_min: f64,
}

impl Registered for CosineAnnealingLr {
    const NAMES: &'static [&'static str] = &["cosine", "cosine-annealing"];
    const PARAMS: &'static [&'static str] = &["eta_min"];

    fn check(&self) -> Result<(), OptimError> {
        if let Some(t) = self.t_max {
            validate::count(Self::TORCH, "t_max", t)?;
        }
        validate::non_negative(Self::TORCH, "eta_min", self.eta_min)
    }
}

impl ScheduleRule for CosineAnnealingLr {
    const TORCH: &'static str = "CosineAnnealingLR";

    fn lr_at(&self, base_lr: f64, k: u64, run: u64) -> Result<f64, OptimError> {
        let t_max = self.t_max.unwrap_or(run).max(1) as f64;
        let eta_min = self.eta_min;
        Ok(eta_min
            + (base_lr - eta_min) * (1.0 + (std::f64::consts::PI * k as f64 / t_max).cos()) / 2.0)
    }

    fn spans_run(&self) -> bool {
        self.t_max.is_none()
    }
}
