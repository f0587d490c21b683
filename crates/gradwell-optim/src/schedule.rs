//! Learning-rate schedules (`torch/optim/lr_scheduler.py`) behind one [`Schedule`] trait.
//!
//! Closed-form schedules are [`Curve`]s — the learning rate as a function of the step count
//! `k` (the number of [`Schedule::step`] calls so far) — driven by an [`LrSchedule`].
//! [`ReduceLrOnPlateau`] depends on the monitored metric instead. Every schedule's state
//! (its step count, and the plateau's counters) can be saved and restored.
//!
//! Use: before each optimizer step (or epoch), [`apply_schedule`], step the optimizer, then
//! [`Schedule::step`] — the same order as PyTorch's `optimizer.step(); scheduler.step()`.

use serde::{Deserialize, Serialize};

use gradwell_tensor::Float;

use crate::{OptimError, Optimizer, validate};

/// A learning rate (and optionally a momentum) that changes as training proceeds.
pub trait Schedule {
    /// The PyTorch-style name, e.g. `"StepLR"`.
    fn name(&self) -> &'static str;

    /// The learning rate to use now.
    fn lr(&self) -> f64;

    /// The momentum to use now, for schedules that cycle it (one-cycle); `None` otherwise.
    fn momentum(&self) -> Option<f64> {
        None
    }

    /// [`Schedule::step`] calls so far.
    fn steps(&self) -> u64;

    /// Advances one step and returns the new learning rate. `metric` is the monitored value
    /// (required by [`ReduceLrOnPlateau`], ignored by the others). Fails, changing nothing,
    /// when a schedule with a fixed length is stepped past its end or a needed metric is
    /// missing.
    fn step(&mut self, metric: Option<f64>) -> Result<f64, OptimError>;

    /// The state to save.
    fn state(&self) -> ScheduleState;

    /// Restores [`Schedule::state`]; fails on the state of another kind of schedule, or on
    /// state this schedule cannot be in (a plateau schedule with more bad epochs than
    /// steps, or a cooldown longer than its own).
    fn load_state(&mut self, state: &ScheduleState) -> Result<(), OptimError>;
}

/// Sets the optimizer's learning rate (and momentum, if the schedule cycles it) from the
/// schedule.
pub fn apply_schedule<F: Float>(
    schedule: &dyn Schedule,
    optimizer: &mut dyn Optimizer<F>,
) -> Result<(), OptimError> {
    optimizer.set_learning_rate(schedule.lr())?;
    if let Some(m) = schedule.momentum() {
        optimizer.set_momentum(m)?;
    }
    Ok(())
}

/// A schedule's saved state (serde). Closed-form schedules use `steps` only (their rate is
/// recomputed); the plateau schedule uses every field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// The schedule's name ([`Schedule::name`]).
    pub kind: String,
    /// Steps taken.
    pub steps: u64,
    /// The learning rate at the time of saving.
    pub lr: f64,
    /// Plateau: the best metric so far (`None` before any).
    pub best: Option<f64>,
    /// Plateau: consecutive steps without improvement.
    pub num_bad_epochs: u64,
    /// Plateau: steps of cooldown left.
    pub cooldown_counter: u64,
}

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

/// One-cycle settings with PyTorch's `OneCycleLR` defaults (`pct_start = 0.3`, cosine,
/// momentum cycled between 0.85 and 0.95, `div_factor = 25`, `final_div_factor = 1e4`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneCycleConfig {
    /// The peak learning rate, `> 0`.
    pub max_lr: f64,
    /// Length of the cycle in steps (`epochs × steps_per_epoch`); stepping past it fails.
    pub total_steps: u64,
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

impl OneCycleConfig {
    /// PyTorch's defaults for a given peak rate and cycle length.
    pub fn new(max_lr: f64, total_steps: u64) -> Self {
        OneCycleConfig {
            max_lr,
            total_steps,
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

impl OneCycleConfig {
    /// `(end_step, start_lr, end_lr, start_momentum, end_momentum)` of each phase, as
    /// PyTorch's `_schedule_phases`.
    fn phases(&self) -> Vec<(f64, f64, f64, f64, f64)> {
        let t = self.total_steps as f64;
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let (hi, lo) = (self.max_momentum, self.base_momentum);
        let first = (self.pct_start * t - 1.0, initial, self.max_lr, hi, lo);
        if self.three_phase {
            vec![
                first,
                (2.0 * self.pct_start * t - 2.0, self.max_lr, initial, lo, hi),
                (t - 1.0, initial, min, hi, hi),
            ]
        } else {
            vec![first, (t - 1.0, self.max_lr, min, lo, hi)]
        }
    }

    /// `(lr, momentum)` at step `k` (PyTorch's `get_lr`), or an error past the end.
    fn at(&self, k: u64) -> Result<(f64, f64), OptimError> {
        if k > self.total_steps {
            return Err(OptimError::Schedule {
                schedule: "OneCycleLR",
                why: format!("stepped {k} times but total_steps is {}", self.total_steps),
            });
        }
        let phases = self.phases();
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

    fn validate(&self) -> Result<(), OptimError> {
        const O: &str = "OneCycleLR";
        validate::positive(O, "max_lr", self.max_lr)?;
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
        let mut start = 0.0;
        for (end, ..) in self.phases() {
            if end <= start {
                return Err(OptimError::InvalidConfig {
                    owner: O,
                    why: format!(
                        "total_steps {} with pct_start {} leaves a phase without steps",
                        self.total_steps, self.pct_start
                    ),
                });
            }
            start = end;
        }
        Ok(())
    }
}

/// A closed-form learning-rate curve: `lr(k)` from the base rate and the step count.
/// Built through its constructors, which validate; serde reads it back validated too.
///
/// ```
/// use gradwell_optim::Curve;
///
/// let step = Curve::step(2, 0.5)?;
/// let lrs: Vec<f64> = (0..5).map(|k| step.lr_at(1.0, k).unwrap()).collect();
/// assert_eq!(lrs, [1.0, 1.0, 0.5, 0.5, 0.25]); // docs/parity.md#learning-rate-schedules
///
/// // Linear warm-up for 5 steps, then cosine annealing over 10.
/// let warm_cos = Curve::sequential(
///     vec![Curve::linear(0.1, 1.0, 5)?, Curve::cosine(10, 0.0)?],
///     vec![5],
/// )?;
/// assert_eq!(warm_cos.lr_at(1.0, 5)?, 1.0);
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CurveSpec", into = "CurveSpec")]
pub struct Curve(CurveSpec);

/// The serialized form of a [`Curve`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CurveSpec {
    /// The base rate throughout.
    Constant,
    /// `lr₀·γ^⌊k/step_size⌋` (PyTorch `StepLR`).
    Step {
        /// Steps between decays, `>= 1`.
        step_size: u64,
        /// Decay factor, `> 0`.
        gamma: f64,
    },
    /// `lr₀·γ^(number of milestones ≤ k)` (PyTorch `MultiStepLR`).
    MultiStep {
        /// Steps at which to decay (sorted when built; repeats decay repeatedly).
        milestones: Vec<u64>,
        /// Decay factor, `> 0`.
        gamma: f64,
    },
    /// `lr₀·γ^k` (PyTorch `ExponentialLR`).
    Exponential {
        /// Decay factor, `> 0`.
        gamma: f64,
    },
    /// `η_min + (lr₀ − η_min)·(1 + cos(π·k/T_max))/2` (PyTorch `CosineAnnealingLR`'s
    /// closed form). Not clamped: past `T_max` it rises again with period `2·T_max`, as
    /// PyTorch's does (PyTorch computes it recursively from the current rate, which agrees
    /// with the closed form when nothing else changes the rate). To hold `η_min`, end the
    /// cycle with [`Curve::sequential`].
    CosineAnnealing {
        /// Half-period in steps, `>= 1`.
        t_max: u64,
        /// Floor, `>= 0` (absolute, not a factor).
        eta_min: f64,
    },
    /// `lr₀·(s + (e − s)·min(k, T)/T)` (PyTorch `LinearLR`; linear warm-up).
    Linear {
        /// Factor at step 0, in `(0, 1]`.
        start_factor: f64,
        /// Factor from step `T` on, in `[0, 1]`.
        end_factor: f64,
        /// `T`, `>= 1`.
        total_iters: u64,
    },
    /// PyTorch `OneCycleLR` (ignores the base rate: it runs from `max_lr / div_factor`).
    OneCycle(OneCycleConfig),
    /// Curve `i` runs from milestone `i − 1` (restarting its own count at 0, from the
    /// same base rate), as PyTorch's `SequentialLR`.
    Sequential {
        /// The curves, at least one.
        parts: Vec<Curve>,
        /// Strictly increasing, positive, one fewer than `parts`.
        milestones: Vec<u64>,
    },
}

impl TryFrom<CurveSpec> for Curve {
    type Error = OptimError;

    fn try_from(mut spec: CurveSpec) -> Result<Self, OptimError> {
        let count = |owner, name, v: u64| {
            if v >= 1 {
                Ok(())
            } else {
                Err(OptimError::InvalidHyperParameter {
                    owner,
                    name,
                    value: v as f64,
                    rule: ">= 1",
                })
            }
        };
        match &mut spec {
            CurveSpec::Constant => {}
            CurveSpec::Step { step_size, gamma } => {
                count("StepLR", "step_size", *step_size)?;
                validate::positive("StepLR", "gamma", *gamma)?;
            }
            CurveSpec::MultiStep { milestones, gamma } => {
                validate::positive("MultiStepLR", "gamma", *gamma)?;
                milestones.sort_unstable();
            }
            CurveSpec::Exponential { gamma } => {
                validate::positive("ExponentialLR", "gamma", *gamma)?
            }
            CurveSpec::CosineAnnealing { t_max, eta_min } => {
                count("CosineAnnealingLR", "t_max", *t_max)?;
                validate::non_negative("CosineAnnealingLR", "eta_min", *eta_min)?;
            }
            CurveSpec::Linear {
                start_factor,
                end_factor,
                total_iters,
            } => {
                const O: &str = "LinearLR";
                if !(*start_factor > 0.0 && *start_factor <= 1.0) {
                    return Err(OptimError::InvalidHyperParameter {
                        owner: O,
                        name: "start_factor",
                        value: *start_factor,
                        rule: "in (0, 1]",
                    });
                }
                validate::unit_closed(O, "end_factor", *end_factor)?;
                count(O, "total_iters", *total_iters)?;
            }
            CurveSpec::OneCycle(c) => c.validate()?,
            CurveSpec::Sequential { parts, milestones } => {
                let ok_len = !parts.is_empty() && milestones.len() + 1 == parts.len();
                let ok_order = milestones.first().is_none_or(|&m| m > 0)
                    && milestones.windows(2).all(|w| w[0] < w[1]);
                if !ok_len || !ok_order {
                    return Err(OptimError::InvalidConfig {
                        owner: "SequentialLR",
                        why: format!(
                            "needs at least one curve and one fewer milestones, strictly increasing and positive \
                             (got {} curves, milestones {milestones:?})",
                            parts.len()
                        ),
                    });
                }
            }
        }
        Ok(Curve(spec))
    }
}

impl From<Curve> for CurveSpec {
    fn from(c: Curve) -> Self {
        c.0
    }
}

impl Curve {
    /// The base rate throughout.
    pub fn constant() -> Self {
        Curve(CurveSpec::Constant)
    }

    /// PyTorch `StepLR(step_size, gamma)`.
    pub fn step(step_size: u64, gamma: f64) -> Result<Self, OptimError> {
        Curve::try_from(CurveSpec::Step { step_size, gamma })
    }

    /// PyTorch `MultiStepLR(milestones, gamma)`.
    pub fn multi_step(milestones: Vec<u64>, gamma: f64) -> Result<Self, OptimError> {
        Curve::try_from(CurveSpec::MultiStep { milestones, gamma })
    }

    /// PyTorch `ExponentialLR(gamma)`.
    pub fn exponential(gamma: f64) -> Result<Self, OptimError> {
        Curve::try_from(CurveSpec::Exponential { gamma })
    }

    /// PyTorch `CosineAnnealingLR(T_max, eta_min)` (closed form; see
    /// [`CurveSpec::CosineAnnealing`]).
    pub fn cosine(t_max: u64, eta_min: f64) -> Result<Self, OptimError> {
        Curve::try_from(CurveSpec::CosineAnnealing { t_max, eta_min })
    }

    /// PyTorch `LinearLR(start_factor, end_factor, total_iters)`.
    pub fn linear(
        start_factor: f64,
        end_factor: f64,
        total_iters: u64,
    ) -> Result<Self, OptimError> {
        Curve::try_from(CurveSpec::Linear {
            start_factor,
            end_factor,
            total_iters,
        })
    }

    /// PyTorch `LinearLR` with its defaults (`1/3 → 1` over 5 steps).
    pub fn linear_warmup_default() -> Self {
        Curve(CurveSpec::Linear {
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total_iters: 5,
        })
    }

    /// PyTorch `OneCycleLR`.
    pub fn one_cycle(config: OneCycleConfig) -> Result<Self, OptimError> {
        Curve::try_from(CurveSpec::OneCycle(config))
    }

    /// PyTorch `SequentialLR(schedulers, milestones)`: e.g. warm-up then cosine.
    pub fn sequential(parts: Vec<Curve>, milestones: Vec<u64>) -> Result<Self, OptimError> {
        Curve::try_from(CurveSpec::Sequential { parts, milestones })
    }

    /// The curve's description.
    pub fn spec(&self) -> &CurveSpec {
        &self.0
    }

    /// The PyTorch scheduler it mirrors.
    pub fn name(&self) -> &'static str {
        match &self.0 {
            CurveSpec::Constant => "ConstantLR",
            CurveSpec::Step { .. } => "StepLR",
            CurveSpec::MultiStep { .. } => "MultiStepLR",
            CurveSpec::Exponential { .. } => "ExponentialLR",
            CurveSpec::CosineAnnealing { .. } => "CosineAnnealingLR",
            CurveSpec::Linear { .. } => "LinearLR",
            CurveSpec::OneCycle(_) => "OneCycleLR",
            CurveSpec::Sequential { .. } => "SequentialLR",
        }
    }

    /// The active part of a sequential curve and the step within it.
    fn locate(&self, k: u64) -> (&Curve, u64) {
        match &self.0 {
            CurveSpec::Sequential { parts, milestones } => {
                let i = milestones.partition_point(|&m| m <= k);
                let offset = if i == 0 { 0 } else { milestones[i - 1] };
                parts[i].locate(k - offset)
            }
            _ => (self, k),
        }
    }

    /// The learning rate after `k` steps from base rate `base_lr`; fails only for a
    /// one-cycle curve stepped past its end.
    pub fn lr_at(&self, base_lr: f64, k: u64) -> Result<f64, OptimError> {
        let (curve, k) = self.locate(k);
        let kf = k as f64;
        Ok(match &curve.0 {
            CurveSpec::Constant => base_lr,
            CurveSpec::Step { step_size, gamma } => base_lr * gamma.powf((k / step_size) as f64),
            CurveSpec::MultiStep { milestones, gamma } => {
                base_lr * gamma.powf(milestones.partition_point(|&m| m <= k) as f64)
            }
            CurveSpec::Exponential { gamma } => base_lr * gamma.powf(kf),
            CurveSpec::CosineAnnealing { t_max, eta_min } => {
                eta_min
                    + (base_lr - eta_min)
                        * (1.0 + (std::f64::consts::PI * kf / *t_max as f64).cos())
                        / 2.0
            }
            CurveSpec::Linear {
                start_factor,
                end_factor,
                total_iters,
            } => {
                let t = *total_iters as f64;
                base_lr
                    * (start_factor + (end_factor - start_factor) * k.min(*total_iters) as f64 / t)
            }
            CurveSpec::OneCycle(c) => c.at(k)?.0,
            CurveSpec::Sequential { .. } => unreachable!("locate descends into sequential curves"),
        })
    }

    /// The momentum after `k` steps, for a one-cycle curve that cycles it (or a sequence
    /// whose active part is one); `None` otherwise or past the end.
    pub fn momentum_at(&self, k: u64) -> Option<f64> {
        match &self.locate(k).0.0 {
            CurveSpec::OneCycle(c) if c.cycle_momentum => c.at(self.locate(k).1).ok().map(|x| x.1),
            _ => None,
        }
    }
}

/// A [`Curve`] from a base learning rate, with its step count: the [`Schedule`] for every
/// closed-form curve.
///
/// ```
/// use gradwell_optim::{Curve, LrSchedule, Schedule};
///
/// let mut s = LrSchedule::new(1.0, Curve::cosine(4, 0.0)?);
/// let mut lrs = vec![s.lr()];
/// for _ in 0..8 {
///     lrs.push(s.step(None)?);
/// }
/// let want = [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464, 0.5, 0.8536, 1.0]; // docs/parity.md#learning-rate-schedules
/// assert!(lrs.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-4));
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LrSchedule {
    base_lr: f64,
    curve: Curve,
    k: u64,
    lr: f64,
}

impl LrSchedule {
    /// A schedule at step 0. `base_lr` is the optimizer's configured rate (PyTorch's
    /// `initial_lr`).
    pub fn new(base_lr: f64, curve: Curve) -> Self {
        // Step 0 is inside every curve, so this cannot fail.
        let lr = curve.lr_at(base_lr, 0).unwrap_or(base_lr);
        LrSchedule {
            base_lr,
            curve,
            k: 0,
            lr,
        }
    }

    /// The curve.
    pub fn curve(&self) -> &Curve {
        &self.curve
    }
}

impl Schedule for LrSchedule {
    fn name(&self) -> &'static str {
        self.curve.name()
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn momentum(&self) -> Option<f64> {
        self.curve.momentum_at(self.k)
    }

    fn steps(&self) -> u64 {
        self.k
    }

    fn step(&mut self, _metric: Option<f64>) -> Result<f64, OptimError> {
        self.lr = self.curve.lr_at(self.base_lr, self.k + 1)?;
        self.k += 1;
        Ok(self.lr)
    }

    fn state(&self) -> ScheduleState {
        ScheduleState {
            kind: self.name().to_string(),
            steps: self.k,
            lr: self.lr,
            best: None,
            num_bad_epochs: 0,
            cooldown_counter: 0,
        }
    }

    fn load_state(&mut self, state: &ScheduleState) -> Result<(), OptimError> {
        check_kind(self.name(), state)?;
        self.lr = self.curve.lr_at(self.base_lr, state.steps)?;
        self.k = state.steps;
        Ok(())
    }
}

fn check_kind(name: &'static str, state: &ScheduleState) -> Result<(), OptimError> {
    if state.kind == name {
        Ok(())
    } else {
        Err(OptimError::Schedule {
            schedule: name,
            why: format!("cannot load the state of a {}", state.kind),
        })
    }
}

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

const PLATEAU: &str = "ReduceLROnPlateau";

impl ReduceLrOnPlateau {
    /// Validates the settings; `lr` is the starting rate.
    pub fn new(lr: f64, config: PlateauConfig) -> Result<Self, OptimError> {
        validate::positive(PLATEAU, "lr", lr)?;
        if !(config.factor > 0.0 && config.factor < 1.0) {
            return Err(OptimError::InvalidHyperParameter {
                owner: PLATEAU,
                name: "factor",
                value: config.factor,
                rule: "in (0, 1)",
            });
        }
        validate::non_negative(PLATEAU, "threshold", config.threshold)?;
        validate::non_negative(PLATEAU, "min_lr", config.min_lr)?;
        validate::non_negative(PLATEAU, "eps", config.eps)?;
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
