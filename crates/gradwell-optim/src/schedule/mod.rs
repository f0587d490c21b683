//! Learning-rate schedules (`torch/optim/lr_scheduler.py`) behind one [`Schedule`] trait,
//! and [`ScheduleKind`], the registry of every schedule a configuration can name.
//!
//! A schedule is one file here: its settings (serde, `Default` = PyTorch's) implementing
//! [`ScheduleRule`], usually as a closed form — the learning rate as a function of the step
//! count `k` (the number of [`Schedule::step`] calls so far) — which [`LrSchedule`]
//! drives. [`ReduceLrOnPlateau`] follows the monitored metric instead. Every schedule's
//! state (its step count, and the plateau's counters) can be saved and restored.
//!
//! Adding a schedule is adding its file, its `mod` line and one line to the `registry!`
//! list below: the list re-exports the file's public items and declares the
//! [`ScheduleKind`] variant, its parsing, printing and serde, and every generic test then
//! covers it.
//!
//! Use: before each optimizer step (or epoch), [`apply_schedule`], step the optimizer, then
//! [`Schedule::step`] — the same order as PyTorch's `optimizer.step(); scheduler.step()`.

use std::fmt;
use std::str::FromStr;

use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::registry::{self, registry};
use crate::{OptimError, Optimizer, Registered};

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

/// A schedule's settings and its rule: what one schedule file writes (see `step.rs`, or
/// the recipe in CONTRIBUTING.md). The registry ([`ScheduleKind`]) names it, parses,
/// prints and serializes it, builds it and finds it in every generic test.
pub trait ScheduleRule: Registered {
    /// PyTorch's class name (`"StepLR"`): [`Schedule::name`], recorded in saved state.
    const TORCH: &'static str;

    /// Whether it follows a metric rather than a closed form (`plateau`); such a schedule
    /// implements [`ScheduleRule::metric_schedule`].
    const FOLLOWS_METRIC: bool = false;

    /// The learning rate after `k` steps from base rate `base_lr`, in a run of `run`
    /// schedule steps (what a setting left to "the run" spans).
    ///
    /// # Errors
    /// A schedule stepped past its end, or one without a closed form.
    fn lr_at(&self, base_lr: f64, k: u64, run: u64) -> Result<f64, OptimError>;

    /// The momentum after `k` steps, for a schedule that cycles it (one-cycle); `None`
    /// (the default) otherwise.
    fn momentum_at(&self, k: u64, run: u64) -> Option<f64> {
        let _ = (k, run);
        None
    }

    /// Whether its rates depend on the run's length (a length left to "the run"): a run
    /// resumed with another number of epochs would then follow another curve. `false` by
    /// default.
    fn spans_run(&self) -> bool {
        false
    }

    /// The schedule of one that follows a metric, starting from `base_lr`; the default
    /// refuses (a closed form is driven by [`LrSchedule`]).
    ///
    /// # Errors
    /// A setting out of range, or a closed-form schedule.
    fn metric_schedule(&self, base_lr: f64) -> Result<Box<dyn Schedule>, OptimError> {
        let _ = base_lr;
        Err(OptimError::Schedule {
            schedule: Self::TORCH,
            why: "has a closed form: it is driven by LrSchedule".into(),
        })
    }
}

mod constant;
mod cosine;
mod exponential;
mod linear;
mod multi_step;
mod one_cycle;
mod plateau;
mod sequential;
mod step;

registry! {
    /// Every learning-rate schedule with its settings: what a configuration file or a
    /// command line names.
    ///
    /// Its text form is `name[:setting,...]` (see the crate's registry: values by
    /// position, then `setting=value`), e.g. `constant`, `step:30,0.5`, `cosine:0.01`,
    /// `exponential:0.95`, `plateau`; in a file also a table with `kind`. Parsing checks
    /// every setting, and [`Display`](fmt::Display) prints the canonical form, which
    /// parses back to the same value. An unknown name is an error listing the valid ones.
    ///
    /// ```
    /// use gradwell_optim::{ScheduleKind, StepLr};
    ///
    /// let s: ScheduleKind = "step:30".parse()?;
    /// assert_eq!(s, ScheduleKind::Step(StepLr { step_size: 30, gamma: 0.1 }));
    /// assert_eq!(s.to_string(), "step:30");
    /// let e = "zigzag".parse::<ScheduleKind>().unwrap_err().to_string();
    /// assert!(e.contains("cosine[:eta_min]"), "{e}");
    /// # Ok::<(), gradwell_optim::OptimError>(())
    /// ```
    pub enum ScheduleKind: ScheduleRule as "schedule", visitor ScheduleVisitor {
        Constant(constant::ConstantLr),
        Step(step::StepLr),
        MultiStep(multi_step::MultiStepLr),
        Exponential(exponential::ExponentialLr),
        Cosine(cosine::CosineAnnealingLr),
        Linear(linear::LinearLr),
        OneCycle(one_cycle::OneCycleConfig),
        Sequential(sequential::SequentialLr),
        Plateau(plateau::PlateauConfig),
    }
}

impl Default for ScheduleKind {
    fn default() -> Self {
        ScheduleKind::Constant(ConstantLr {})
    }
}

impl ScheduleKind {
    /// PyTorch's class name ([`ScheduleRule::TORCH`]).
    pub fn torch_name(&self) -> &'static str {
        struct Torch;
        impl ScheduleVisitor for Torch {
            type Out = &'static str;
            fn visit<C: ScheduleRule>(self, _: &C) -> &'static str {
                C::TORCH
            }
        }
        self.visit(Torch)
    }

    /// Whether it follows a metric ([`ScheduleRule::FOLLOWS_METRIC`]): it then advances
    /// once per epoch, on the validation (or training) loss.
    pub fn follows_metric(&self) -> bool {
        struct Metric;
        impl ScheduleVisitor for Metric {
            type Out = bool;
            fn visit<C: ScheduleRule>(self, _: &C) -> bool {
                C::FOLLOWS_METRIC
            }
        }
        self.visit(Metric)
    }

    /// Whether its rates depend on the run's length ([`ScheduleRule::spans_run`]).
    pub fn spans_run(&self) -> bool {
        struct Spans;
        impl ScheduleVisitor for Spans {
            type Out = bool;
            fn visit<C: ScheduleRule>(self, c: &C) -> bool {
                c.spans_run()
            }
        }
        self.visit(Spans)
    }

    /// The learning rate after `k` steps from `base_lr`, in a run of `run` schedule steps
    /// ([`ScheduleRule::lr_at`]).
    ///
    /// # Errors
    /// Past a one-cycle's end, or a schedule without a closed form.
    pub fn lr_at(&self, base_lr: f64, k: u64, run: u64) -> Result<f64, OptimError> {
        struct At(f64, u64, u64);
        impl ScheduleVisitor for At {
            type Out = Result<f64, OptimError>;
            fn visit<C: ScheduleRule>(self, c: &C) -> Self::Out {
                c.lr_at(self.0, self.1, self.2)
            }
        }
        self.visit(At(base_lr, k, run))
    }

    /// The momentum after `k` steps, for a schedule that cycles it
    /// ([`ScheduleRule::momentum_at`]).
    pub fn momentum_at(&self, k: u64, run: u64) -> Option<f64> {
        struct At(u64, u64);
        impl ScheduleVisitor for At {
            type Out = Option<f64>;
            fn visit<C: ScheduleRule>(self, c: &C) -> Self::Out {
                c.momentum_at(self.0, self.1)
            }
        }
        self.visit(At(k, run))
    }

    /// The schedule, from the optimizer's base rate, for a run of `run` schedule steps
    /// (epochs, or optimizer steps when it advances per step); what a setting left to "the
    /// run" spans.
    ///
    /// # Errors
    /// A setting out of range (one-cycle's phases are checked against `run` here).
    pub fn build(&self, base_lr: f64, run: u64) -> Result<Box<dyn Schedule>, OptimError> {
        struct Build(f64);
        impl ScheduleVisitor for Build {
            type Out = Option<Result<Box<dyn Schedule>, OptimError>>;
            fn visit<C: ScheduleRule>(self, c: &C) -> Self::Out {
                C::FOLLOWS_METRIC.then(|| c.metric_schedule(self.0))
            }
        }
        match self.visit(Build(base_lr)) {
            Some(metric) => metric,
            None => Ok(Box::new(LrSchedule::new(base_lr, self.clone(), run)?)),
        }
    }
}

/// When a closed-form schedule advances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleUnit {
    /// After every optimizer step (the schedule's counts are in steps).
    Step,
    /// At the end of every epoch (the schedule's counts are in epochs); the default.
    #[default]
    Epoch,
}

impl ScheduleUnit {
    /// Both units, in the order errors list them.
    pub const ALL: [ScheduleUnit; 2] = [ScheduleUnit::Step, ScheduleUnit::Epoch];

    /// Its name in files and text: `step` or `epoch`.
    pub fn name(self) -> &'static str {
        match self {
            ScheduleUnit::Step => "step",
            ScheduleUnit::Epoch => "epoch",
        }
    }
}

impl fmt::Display for ScheduleUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScheduleUnit {
    type Err = OptimError;

    fn from_str(s: &str) -> Result<Self, OptimError> {
        let s = registry::normalize(s);
        ScheduleUnit::ALL
            .into_iter()
            .find(|u| u.name() == s)
            .ok_or_else(|| OptimError::BadSetting {
                owner: "schedule",
                setting: "per".into(),
                why: format!("is `{s}`; valid: step, epoch"),
            })
    }
}

/// A schedule as a training run names it: the [`ScheduleKind`] and when it advances
/// (`per`, [`ScheduleUnit::Epoch`] by default).
///
/// Text: the kind's text with `per=step` among its settings (`cosine:per=step`); a file
/// may also write `schedule = "cosine"`, a table `{ kind = "cosine", per = "step", … }`,
/// or the older long form `{ kind = "curve", per = "step", curve = { kind = …, … } }`. A
/// schedule that follows a metric advances per epoch only.
///
/// ```
/// use gradwell_optim::{ScheduleSpec, ScheduleUnit};
///
/// let s: ScheduleSpec = "cosine:0.01,per=step".parse()?;
/// assert_eq!(s.per, ScheduleUnit::Step);
/// assert_eq!(s.to_string(), "cosine:0.01,per=step");
/// assert_eq!("cosine".parse::<ScheduleSpec>()?.per, ScheduleUnit::Epoch);
/// assert!("plateau:per=step".parse::<ScheduleSpec>().is_err());
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleSpec {
    /// The schedule and its settings.
    pub kind: ScheduleKind,
    /// When it advances.
    pub per: ScheduleUnit,
}

impl From<ScheduleKind> for ScheduleSpec {
    fn from(kind: ScheduleKind) -> Self {
        ScheduleSpec {
            kind,
            per: ScheduleUnit::Epoch,
        }
    }
}

impl ScheduleSpec {
    /// Checks the kind's settings and that a schedule following a metric advances per
    /// epoch.
    ///
    /// # Errors
    /// The first bad setting, naming it.
    pub fn check(&self) -> Result<(), OptimError> {
        self.kind.check()?;
        if self.per == ScheduleUnit::Step && self.kind.follows_metric() {
            return Err(OptimError::BadSetting {
                owner: self.kind.name(),
                setting: "per".into(),
                why: "is `step`, but it follows a metric measured once per epoch: use `epoch`"
                    .into(),
            });
        }
        Ok(())
    }

    /// Takes `per` out of `args`.
    fn with_per(
        kind: impl FnOnce(registry::Args) -> Result<ScheduleKind, OptimError>,
        mut args: registry::Args,
    ) -> Result<Self, OptimError> {
        let mut per = ScheduleUnit::Epoch;
        if let Some(i) = args.iter().position(|(k, _)| k.as_deref() == Some("per")) {
            per = match args.remove(i).1 {
                Value::String(s) => s.parse()?,
                other => {
                    return Err(OptimError::BadSetting {
                        owner: "schedule",
                        setting: "per".into(),
                        why: format!("is {other}; valid: step, epoch"),
                    });
                }
            };
        }
        let spec = ScheduleSpec {
            kind: kind(args)?,
            per,
        };
        spec.check()?;
        Ok(spec)
    }

    /// Reads the text form (a string) or a table form, as serde does, with the error as an
    /// [`OptimError`] naming the setting.
    ///
    /// # Errors
    /// An unknown name or setting, a value of the wrong type or out of range.
    pub fn from_value(value: Value) -> Result<Self, OptimError> {
        if let Value::String(s) = value {
            return s.parse();
        }
        let (name, mut args) = registry::untag("schedule", value)?;
        if name != "curve" {
            return Self::with_per(|args| ScheduleKind::from_parts(&name, args), args);
        }
        // The long form: `{ kind = "curve", per = …, curve = { kind = …, … } }`.
        let i = args
            .iter()
            .position(|(k, _)| k.as_deref() == Some("curve"))
            .ok_or_else(|| OptimError::BadSetting {
                owner: "schedule",
                setting: "curve".into(),
                why: "is missing: a `curve` schedule names its curve (`curve = { kind = \"cosine\" }`)"
                    .into(),
            })?;
        let curve = args.remove(i).1;
        if let Some((Some(k), _)) = args.iter().find(|(k, _)| k.as_deref() != Some("per")) {
            return Err(OptimError::UnknownSetting {
                owner: "curve",
                setting: k.clone(),
                known: "curve, per".into(),
                hint: String::new(),
            });
        }
        Self::with_per(
            |_| {
                ScheduleKind::from_value(curve).map_err(|e| match e {
                    OptimError::BadSetting {
                        owner,
                        setting,
                        why,
                    } => OptimError::BadSetting {
                        owner,
                        setting: format!("curve.{setting}"),
                        why,
                    },
                    other => other,
                })
            },
            args,
        )
    }
}

impl FromStr for ScheduleSpec {
    type Err = OptimError;

    fn from_str(s: &str) -> Result<Self, OptimError> {
        let (name, args) = registry::split_text(s).map_err(|why| OptimError::BadSetting {
            owner: "schedule",
            setting: format!("`{s}`"),
            why: format!("does not parse: {why}"),
        })?;
        Self::with_per(|args| ScheduleKind::from_parts(&name, args), args)
    }
}

impl fmt::Display for ScheduleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.to_string();
        match self.per {
            ScheduleUnit::Epoch => f.write_str(&kind),
            ScheduleUnit::Step if kind.contains(':') => write!(f, "{kind},per=step"),
            ScheduleUnit::Step => write!(f, "{kind}:per=step"),
        }
    }
}

impl Serialize for ScheduleSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut table = self.kind.tagged();
        if self.per != ScheduleUnit::default() {
            table.insert("per".into(), Value::String(self.per.name().into()));
        }
        table.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ScheduleSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        Self::from_value(Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// A closed-form [`ScheduleKind`] from a base learning rate, with its step count: the
/// [`Schedule`] of every schedule but those that follow a metric.
///
/// ```
/// use gradwell_optim::{LrSchedule, Schedule};
///
/// let mut s = LrSchedule::new(1.0, "step:2,0.5".parse()?, 10)?;
/// let lrs: Vec<f64> = (0..5).map(|_| s.step(None).unwrap()).collect();
/// assert_eq!(lrs, [1.0, 0.5, 0.5, 0.25, 0.25]);
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LrSchedule {
    base_lr: f64,
    kind: ScheduleKind,
    run: u64,
    k: u64,
    lr: f64,
}

impl LrSchedule {
    /// A schedule at step 0. `base_lr` is the optimizer's configured rate (PyTorch's
    /// `initial_lr`); `run` is the run's length in schedule steps.
    ///
    /// # Errors
    /// A setting out of range, a schedule that follows a metric, or one whose rate at step
    /// 0 cannot be computed (a one-cycle whose phases do not fit `run`).
    pub fn new(base_lr: f64, kind: ScheduleKind, run: u64) -> Result<Self, OptimError> {
        kind.check()?;
        let lr = kind.lr_at(base_lr, 0, run)?;
        Ok(LrSchedule {
            base_lr,
            kind,
            run,
            k: 0,
            lr,
        })
    }

    /// The schedule.
    pub fn kind(&self) -> &ScheduleKind {
        &self.kind
    }
}

impl Schedule for LrSchedule {
    fn name(&self) -> &'static str {
        self.kind.torch_name()
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn momentum(&self) -> Option<f64> {
        self.kind.momentum_at(self.k, self.run)
    }

    fn steps(&self) -> u64 {
        self.k
    }

    fn step(&mut self, _metric: Option<f64>) -> Result<f64, OptimError> {
        self.lr = self.kind.lr_at(self.base_lr, self.k + 1, self.run)?;
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
        self.lr = self.kind.lr_at(self.base_lr, state.steps, self.run)?;
        self.k = state.steps;
        Ok(())
    }
}

pub(crate) fn check_kind(name: &'static str, state: &ScheduleState) -> Result<(), OptimError> {
    if state.kind == name {
        Ok(())
    } else {
        Err(OptimError::Schedule {
            schedule: name,
            why: format!("cannot load the state of a {}", state.kind),
        })
    }
}
