//! PyTorch `ReduceLROnPlateau`: lowers the rate when a metric stops improving.

use serde::{Deserialize, Serialize};

use crate::schedule::check_kind;
use crate::{OptimError, Registered, Schedule, ScheduleRule, ScheduleState, validate};

/// Whether lower or higher metric values are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateauMode {
    /// Lower is better (a loss).
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// Whether the improvement threshold is relative to the best value or absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    /// Improvement means beating `best·(1 ∓ threshold)`.
    Rel,
    /// Improvement means beating `best ∓ threshold`.
    Abs,
}

/// Reduce-on-plateau settings with PyTorch's defaults (`mode = min`, `factor = 0.1`,
/// `patience = 10`, `threshold = 1e-4` relative, no cooldown, `min_lr = 0`, `eps = 1e-8`).
/// Named `plateau`, written `plateau[:FACTOR[,PATIENCE]]`; it advances once per epoch, on
/// the validation loss (the training loss without a validation set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlateauConfig {
    /// Lower or higher is better.
    pub mode: PlateauMode,
    /// Multiplies the rate on a plateau, in `(0, 1)`.
    pub factor: f64,
    /// Steps without improvement tolerated: the rate drops when their count **exceeds**
    /// `patience` (Keras drops when it reaches it).
    pub patience: u64,
    /// Minimum improvement, `>= 0`.
    pub threshold: f64,
    /// Relative or absolute threshold.
    pub threshold_mode: ThresholdMode,
    /// Steps after a drop during which bad steps are not counted.
    pub cooldown: u64,
    /// Floor of the rate, `>= 0`.
    pub min_lr: f64,
    /// A drop smaller than this is skipped, `>= 0`.
    pub eps: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

crate::setters!(PlateauConfig {
    mode: PlateauMode,
    factor: f64,
    patience: u64,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: u64,
    min_lr: f64,
    eps: f64,
});

const PLATEAU: &str = "ReduceLROnPlateau";

impl Registered for PlateauConfig {
    const NAMES: &'static [&'static str] = &["plateau"];
    const PARAMS: &'static [&'static str] = &["factor", "patience"];

    fn check(&self) -> Result<(), OptimError> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(OptimError::InvalidHyperParameter {
                owner: PLATEAU,
                name: "factor",
                value: self.factor,
                rule: "in (0, 1)",
            });
        }
        validate::non_negative(PLATEAU, "threshold", self.threshold)?;
        validate::non_negative(PLATEAU, "min_lr", self.min_lr)?;
        validate::non_negative(PLATEAU, "eps", self.eps)
    }
}

impl ScheduleRule for PlateauConfig {
    const TORCH: &'static str = PLATEAU;
    const FOLLOWS_METRIC: bool = true;

    fn lr_at(&self, _base_lr: f64, _k: u64, _run: u64) -> Result<f64, OptimError> {
        Err(OptimError::Schedule {
            schedule: PLATEAU,
            why: "follows a metric: its rate has no closed form".into(),
        })
    }

    fn metric_schedule(&self, base_lr: f64) -> Result<Box<dyn Schedule>, OptimError> {
        Ok(Box::new(ReduceLrOnPlateau::new(base_lr, self.clone())?))
    }
}

/// PyTorch `ReduceLROnPlateau`: lowers the rate when the metric stops improving.
///
/// ```
/// use gradwell_optim::{PlateauConfig, ReduceLrOnPlateau, Schedule};
///
/// let mut s = ReduceLrOnPlateau::new(1.0, PlateauConfig::default().patience(1))?;
/// for loss in [1.0, 1.0, 1.0] {
///     s.step(Some(loss))?;
/// }
/// assert_eq!(s.lr(), 0.1); // two bad steps > patience 1
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceLrOnPlateau {
    config: PlateauConfig,
    lr: f64,
    best: f64,
    num_bad_epochs: u64,
    cooldown_counter: u64,
    steps: u64,
}

impl ReduceLrOnPlateau {
    /// Checks the settings; `lr` is the starting rate.
    ///
    /// # Errors
    /// A setting out of range, naming it.
    pub fn new(lr: f64, config: PlateauConfig) -> Result<Self, OptimError> {
        validate::lr(PLATEAU, "lr", lr)?;
        config.check()?;
        let best = Self::worst(config.mode);
        Ok(ReduceLrOnPlateau {
            config,
            lr,
            best,
            num_bad_epochs: 0,
            cooldown_counter: 0,
            steps: 0,
        })
    }

    fn worst(mode: PlateauMode) -> f64 {
        match mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        }
    }

    fn is_better(&self, a: f64) -> bool {
        let (t, best) = (self.config.threshold, self.best);
        match (self.config.mode, self.config.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - t),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - t,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (t + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + t,
        }
    }
}

impl Schedule for ReduceLrOnPlateau {
    fn name(&self) -> &'static str {
        PLATEAU
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn step(&mut self, metric: Option<f64>) -> Result<f64, OptimError> {
        let Some(current) = metric else {
            return Err(OptimError::Schedule {
                schedule: PLATEAU,
                why: "step needs the monitored metric".into(),
            });
        };
        self.steps += 1;
        if self.is_better(current) {
            self.best = current;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.config.patience {
            let new_lr = (self.lr * self.config.factor).max(self.config.min_lr);
            if self.lr - new_lr > self.config.eps {
                self.lr = new_lr;
            }
            self.cooldown_counter = self.config.cooldown;
            self.num_bad_epochs = 0;
        }
        Ok(self.lr)
    }

    fn state(&self) -> ScheduleState {
        ScheduleState {
            kind: PLATEAU.to_string(),
            steps: self.steps,
            lr: self.lr,
            best: self.best.is_finite().then_some(self.best),
            num_bad_epochs: self.num_bad_epochs,
            cooldown_counter: self.cooldown_counter,
        }
    }

    fn load_state(&mut self, state: &ScheduleState) -> Result<(), OptimError> {
        check_kind(PLATEAU, state)?;
        validate::non_negative(PLATEAU, "lr", state.lr)?;
        if state.num_bad_epochs > state.steps {
            return Err(OptimError::Schedule {
                schedule: PLATEAU,
                why: format!(
                    "num_bad_epochs {} is more than the {} steps taken",
                    state.num_bad_epochs, state.steps
                ),
            });
        }
        if state.cooldown_counter > self.config.cooldown {
            return Err(OptimError::Schedule {
                schedule: PLATEAU,
                why: format!(
                    "cooldown_counter {} is more than the cooldown {}",
                    state.cooldown_counter, self.config.cooldown
                ),
            });
        }
        self.steps = state.steps;
        self.lr = state.lr;
        self.best = state.best.unwrap_or(Self::worst(self.config.mode));
        self.num_bad_epochs = state.num_bad_epochs;
        self.cooldown_counter = state.cooldown_counter;
        Ok(())
    }
}
