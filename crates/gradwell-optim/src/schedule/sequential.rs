//! PyTorch `SequentialLR`: one schedule after another.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Registered, ScheduleKind, ScheduleRule};

/// Schedule `i` runs from milestone `i − 1` (restarting its own count at 0, from the same
/// base rate), as PyTorch's `SequentialLR`; a part that spans the run by default
/// (`cosine`, `one-cycle`) spans its own segment. Named `sequential`, written with its
/// parts as names or tables, e.g. `sequential:["linear:0.1,1,5","cosine"],[5]`.
///
/// ```
/// use gradwell_optim::ScheduleKind;
///
/// // Linear warm-up for 5 steps, then cosine annealing over the rest of a 15-step run.
/// let warm_cos: ScheduleKind = r#"sequential:["linear:0.1,1,5","cosine"],[5]"#.parse()?;
/// assert_eq!(warm_cos.lr_at(1.0, 0, 15)?, 0.1);
/// assert_eq!(warm_cos.lr_at(1.0, 5, 15)?, 1.0);
/// assert!(warm_cos.lr_at(1.0, 15, 15)?.abs() < 1e-12);
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequentialLr {
    /// The schedules, at least one, each with a closed form (no `plateau`).
    pub parts: Vec<ScheduleKind>,
    /// Strictly increasing, positive, one fewer than `parts`.
    pub milestones: Vec<u64>,
}

/// A sequence of one: the optimizer's rate throughout (the parts have no default, and
/// text or a table must give them).
impl Default for SequentialLr {
    fn default() -> Self {
        SequentialLr {
            parts: vec![ScheduleKind::default()],
            milestones: Vec::new(),
        }
    }
}

impl SequentialLr {
    /// The active part at step `k`, the step within it, and its segment's length.
    fn locate(&self, k: u64, run: u64) -> Option<(&ScheduleKind, u64, u64)> {
        let i = self.milestones.partition_point(|&m| m <= k);
        let offset = if i == 0 { 0 } else { self.milestones[i - 1] };
        let end = self
            .milestones
            .get(i)
            .copied()
            .unwrap_or(run.max(offset + 1));
        Some((self.parts.get(i)?, k - offset, end - offset))
    }
}

impl Registered for SequentialLr {
    const NAMES: &'static [&'static str] = &["sequential"];
    const PARAMS: &'static [&'static str] = &["parts", "milestones"];
    const REQUIRED: &'static [&'static str] = &["parts", "milestones"];

    fn check(&self) -> Result<(), OptimError> {
        let (parts, milestones) = (&self.parts, &self.milestones);
        let ok_len = !parts.is_empty() && milestones.len() + 1 == parts.len();
        let ok_order =
            milestones.first().is_none_or(|&m| m > 0) && milestones.windows(2).all(|w| w[0] < w[1]);
        if !ok_len || !ok_order {
            return Err(OptimError::InvalidConfig {
                owner: Self::TORCH,
                why: format!(
                    "needs at least one schedule and one fewer milestones, strictly increasing and positive \
                     (got {} schedules, milestones {milestones:?})",
                    parts.len()
                ),
            });
        }
        if let Some(p) = parts.iter().find(|p| p.follows_metric()) {
            return Err(OptimError::InvalidConfig {
                owner: Self::TORCH,
                why: format!(
                    "`{}` follows a metric and cannot be a part of a sequence",
                    p.name()
                ),
            });
        }
        Ok(())
    }
}

impl ScheduleRule for SequentialLr {
    const TORCH: &'static str = "SequentialLR";

    fn lr_at(&self, base_lr: f64, k: u64, run: u64) -> Result<f64, OptimError> {
        match self.locate(k, run) {
            Some((part, k, len)) => part.lr_at(base_lr, k, len),
            None => Err(OptimError::InvalidConfig {
                owner: Self::TORCH,
                why: "has no schedules".into(),
            }),
        }
    }

    fn momentum_at(&self, k: u64, run: u64) -> Option<f64> {
        let (part, k, len) = self.locate(k, run)?;
        part.momentum_at(k, len)
    }

    /// Only the last part's segment depends on the run's length.
    fn spans_run(&self) -> bool {
        self.parts.last().is_some_and(ScheduleKind::spans_run)
    }
}
