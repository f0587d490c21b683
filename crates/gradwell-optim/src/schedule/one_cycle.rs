//! PyTorch `OneCycleLR`.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Registered, ScheduleRule, validate};

/// How one-cycle anneals between its end points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anneal {
    /// `end + (start − end)/2 · (1 + cos(π·pct))` (PyTorch's default `'cos'`).
    Cos,
    /// `start + (end − start)·pct`.
    Linear,
}

impl Anneal {
    fn at(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }
}

/// PyTorch `OneCycleLR`, with its defaults (`pct_start = 0.3`, cosine, momentum cycled
/// between 0.85 and 0.95, `div_factor = 25`, `final_div_factor = 1e4`). Named
/// `one-cycle`, written `one-cycle[:MAX_LR]`; by default it peaks at the optimizer's rate
/// and spans the run. It ignores the base rate otherwise: it runs from
/// `max_lr / div_factor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneCycleConfig {
    /// The peak learning rate, in `(0, MAX_LR]`; `None` for the optimizer's rate.
    pub max_lr: Option<f64>,
    /// Length of the cycle in steps (`epochs × steps_per_epoch` when it advances per
    /// step), `>= 1`; `None` for the run's length. Stepping past it fails.
    pub total_steps: Option<u64>,
    /// Fraction of the cycle spent rising, in `(0, 1)`.
    pub pct_start: f64,
    /// Annealing shape.
    pub anneal: Anneal,
    /// Whether to cycle momentum (β₁ for Adam) inversely to the learning rate.
    pub cycle_momentum: bool,
    /// Momentum at the peak learning rate, in `[0, 1)`.
    pub base_momentum: f64,
    /// Momentum at the ends, in `[0, 1)`.
    pub max_momentum: f64,
    /// Initial rate is `max_lr / div_factor`; `> 0`.
    pub div_factor: f64,
    /// Final rate is `initial / final_div_factor`; `> 0`.
    pub final_div_factor: f64,
    /// Three phases (up, back down to the initial rate, then to the final rate) instead of
    /// two.
    pub three_phase: bool,
}

impl Default for OneCycleConfig {
    fn default() -> Self {
        OneCycleConfig {
            max_lr: None,
            total_steps: None,
            pct_start: 0.3,
            anneal: Anneal::Cos,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }
}

impl OneCycleConfig {
    /// PyTorch's defaults for a given peak rate and cycle length.
    pub fn new(max_lr: f64, total_steps: u64) -> Self {
        OneCycleConfig {
            max_lr: Some(max_lr),
            total_steps: Some(total_steps),
            ..OneCycleConfig::default()
        }
    }
}

crate::setters!(OneCycleConfig {
    pct_start: f64,
    anneal: Anneal,
    cycle_momentum: bool,
    base_momentum: f64,
    max_momentum: f64,
    div_factor: f64,
    final_div_factor: f64,
    three_phase: bool,
});

const O: &str = "OneCycleLR";

/// `(end_step, start_lr, end_lr, start_momentum, end_momentum)`.
type Phase = (f64, f64, f64, f64, f64);

impl OneCycleConfig {
    /// `(end_step, start_lr, end_lr, start_momentum, end_momentum)` of each phase, as
    /// PyTorch's `_schedule_phases`, for a cycle of `total` steps peaking at `max_lr`;
    /// an error when a phase has no steps.
    fn phases(&self, max_lr: f64, total: u64) -> Result<Vec<Phase>, OptimError> {
        let t = total as f64;
        let initial = max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let (hi, lo) = (self.max_momentum, self.base_momentum);
        let first = (self.pct_start * t - 1.0, initial, max_lr, hi, lo);
        let phases = if self.three_phase {
            vec![
                first,
                (2.0 * self.pct_start * t - 2.0, max_lr, initial, lo, hi),
                (t - 1.0, initial, min, hi, hi),
            ]
        } else {
            vec![first, (t - 1.0, max_lr, min, lo, hi)]
        };
        let mut start = 0.0;
        for &(end, ..) in &phases {
            if end <= start {
                return Err(OptimError::InvalidConfig {
                    owner: O,
                    why: format!(
                        "total_steps {total} with pct_start {} leaves a phase without steps",
                        self.pct_start
                    ),
                });
            }
            start = end;
        }
        Ok(phases)
    }

    /// `(lr, momentum)` at step `k` (PyTorch's `get_lr`), or an error past the end.
    fn at(&self, base_lr: f64, k: u64, run: u64) -> Result<(f64, f64), OptimError> {
        let total = self.total_steps.unwrap_or(run);
        if k > total {
            return Err(OptimError::Schedule {
                schedule: O,
                why: format!("stepped {k} times but total_steps is {total}"),
            });
        }
        let phases = self.phases(self.max_lr.unwrap_or(base_lr), total)?;
        let k = k as f64;
        let mut start = 0.0;
        for (i, &(end, lr0, lr1, m0, m1)) in phases.iter().enumerate() {
            if k <= end || i == phases.len() - 1 {
                let pct = (k - start) / (end - start);
                return Ok((self.anneal.at(lr0, lr1, pct), self.anneal.at(m0, m1, pct)));
            }
            start = end;
        }
        unreachable!("the last phase always matches")
    }
}

impl Registered for OneCycleConfig {
    const NAMES: &'static [&'static str] = &["one-cycle"];
    const PARAMS: &'static [&'static str] = &["max_lr"];

    fn check(&self) -> Result<(), OptimError> {
        if let Some(max_lr) = self.max_lr {
            validate::lr(O, "max_lr", max_lr)?;
        }
        validate::positive(O, "div_factor", self.div_factor)?;
        validate::positive(O, "final_div_factor", self.final_div_factor)?;
        validate::unit_half_open(O, "base_momentum", self.base_momentum)?;
        validate::unit_half_open(O, "max_momentum", self.max_momentum)?;
        if !(self.pct_start > 0.0 && self.pct_start < 1.0) {
            return Err(OptimError::InvalidHyperParameter {
                owner: O,
                name: "pct_start",
                value: self.pct_start,
                rule: "in (0, 1)",
            });
        }
        if let Some(total) = self.total_steps {
            validate::count(O, "total_steps", total)?;
            self.phases(1.0, total)?;
        }
        Ok(())
    }
}

impl ScheduleRule for OneCycleConfig {
    const TORCH: &'static str = O;

    fn lr_at(&self, base_lr: f64, k: u64, run: u64) -> Result<f64, OptimError> {
        Ok(self.at(base_lr, k, run)?.0)
    }

    fn momentum_at(&self, k: u64, run: u64) -> Option<f64> {
        if !self.cycle_momentum {
            return None;
        }
        self.at(1.0, k, run).ok().map(|(_, m)| m)
    }

    fn spans_run(&self) -> bool {
        self.total_steps.is_none()
    }
}
