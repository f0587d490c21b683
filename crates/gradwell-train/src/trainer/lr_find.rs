//! The learning-rate range test ([`Trainer::lr_find`]): Smith 2017, "Cyclical Learning
//! Rates for Training Neural Networks" (§3.3, "How can one estimate reasonable minimum and
//! maximum boundary values?"), with the defaults and the stopping rule of fastai's
//! `Learner.lr_find` (`fastai/callback/schedule.py`, `LRFinder`), the best-known
//! implementation.
//!
//! The rate grows geometrically from [`LrRangeTest::start_lr`] to
//! [`LrRangeTest::end_lr`] over [`LrRangeTest::steps`] training steps on the user's
//! model, data and optimizer (clipping, weight decay and label smoothing included; the
//! run's schedule is set aside). Each step records its rate, its batch loss and the loss
//! smoothed by an exponential moving average with bias correction. The test stops early
//! when the smoothed loss exceeds [`LrRangeTest::divergence`] times the best so far, or
//! when a loss or gradient is not finite. Then the trainer is put back exactly where it
//! was: weights, optimizer state, schedule, batcher, dropout RNG, step and metrics.

use std::ops::ControlFlow;

use gradwell_optim::{MAX_LR, OptimError, Schedule, ScheduleState};
use serde::{Deserialize, Serialize};

use super::Trainer;
use crate::observer::{Observer, StepView};
use crate::{Result, TrainError};

/// The settings of a learning-rate range test; [`Default`] is fastai's `lr_find`
/// (`start_lr=1e-7, end_lr=10, num_it=100`, `AvgSmoothLoss(beta=0.98)`, stop when the
/// smoothed loss passes 4× the best).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrRangeTest {
    /// The first step's learning rate, in `(0, MAX_LR]` ([`gradwell_optim::MAX_LR`]).
    pub start_lr: f64,
    /// The last step's learning rate, above `start_lr` and at most `MAX_LR`.
    pub end_lr: f64,
    /// Steps of the test, at least 2.
    pub steps: u64,
    /// β of the loss's exponential moving average, in `[0, 1)`.
    pub smoothing: f64,
    /// The test stops once the smoothed loss exceeds this many times the best smoothed
    /// loss so far; `> 1`.
    pub divergence: f64,
}

impl Default for LrRangeTest {
    fn default() -> Self {
        LrRangeTest {
            start_lr: 1e-7,
            end_lr: 10.0,
            steps: 100,
            smoothing: 0.98,
            divergence: 4.0,
        }
    }
}

impl LrRangeTest {
    /// Checks every setting, the error naming the field.
    ///
    /// # Errors
    /// [`TrainError::Config`] naming `start_lr`, `end_lr`, `steps`, `smoothing` or
    /// `divergence`.
    pub fn validate(&self) -> Result<()> {
        let rate = |field: &str, v: f64| {
            if v > 0.0 && v <= MAX_LR {
                Ok(())
            } else {
                Err(TrainError::config(
                    field,
                    format!(
                        "must be in (0, {MAX_LR}] (it is {v}); a larger rate is taken for a typo"
                    ),
                ))
            }
        };
        rate("start_lr", self.start_lr)?;
        rate("end_lr", self.end_lr)?;
        if self.start_lr >= self.end_lr {
            return Err(TrainError::config(
                "start_lr",
                format!(
                    "must be below the end rate, {} (it is {}): the rate grows from one to the other",
                    self.end_lr, self.start_lr
                ),
            ));
        }
        if self.steps < 2 {
            return Err(TrainError::config(
                "steps",
                format!(
                    "must be at least 2 (it is {}): the rate goes from the start rate to the end rate",
                    self.steps
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.smoothing) {
            return Err(TrainError::config(
                "smoothing",
                format!("must be in [0, 1) (it is {})", self.smoothing),
            ));
        }
        if !(self.divergence > 1.0 && self.divergence.is_finite()) {
            return Err(TrainError::config(
                "divergence",
                format!(
                    "must be a finite number above 1 (it is {})",
                    self.divergence
                ),
            ));
        }
        Ok(())
    }

    /// The learning rate of step `i` (from 0): `start·(end/start)^(i/(steps−1))`, so the
    /// first step runs at `start_lr` and the last at `end_lr`. (fastai's exponent is
    /// `i/steps`, which stops one ratio short of `end_lr`.)
    pub fn lr_at(&self, i: u64) -> f64 {
        let t = i as f64 / (self.steps.max(2) - 1) as f64;
        self.start_lr * (self.end_lr / self.start_lr).powf(t)
    }
}

/// One step of a range test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrPoint {
    /// The step of the test, from 1.
    pub step: u64,
    /// Its learning rate.
    pub lr: f64,
    /// The batch's mean training loss (NaN or ∞ on the step that went non-finite).
    pub loss: f64,
    /// The loss smoothed ([`SmoothedLoss`] with [`LrRangeTest::smoothing`]): the first
    /// step's smoothed loss is its loss.
    pub smoothed: f64,
}

/// A learning rate suggested from a range test, with the point it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSuggestion {
    /// The suggested learning rate.
    pub lr: f64,
    /// The point of the curve the rule picked (for the minimum rule, the minimum itself,
    /// whose rate is ten times the suggestion).
    pub at: LrPoint,
}

/// What [`Trainer::lr_find`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrFindReport {
    /// The settings the test ran with.
    pub settings: LrRangeTest,
    /// Every step taken, in order.
    pub points: Vec<LrPoint>,
    /// Why the test stopped before its last step, if it did.
    pub stopped: Option<String>,
    /// A tenth of the rate at the smoothed loss's minimum (fastai's `minimum` rule) —
    /// the suggestion ([`LrFindReport::suggestion`]).
    pub minimum: Option<LrSuggestion>,
    /// The rate where the smoothed loss falls fastest against log(lr) (Smith's reading of
    /// the curve, fastai's `steep` rule), shown beside it.
    pub steepest: Option<LrSuggestion>,
}

/// The points the suggestions are read from: fastai's `lr_find` leaves out the first
/// tenth of the steps (the average is still settling) and the last five taken (where the
/// loss is leaving the valley), and stops at the first non-finite smoothed loss.
fn window(points: &[LrPoint], steps: u64) -> &[LrPoint] {
    let finite = points
        .iter()
        .position(|p| !p.smoothed.is_finite())
        .unwrap_or(points.len());
    let start = (steps / 10) as usize;
    let end = finite.min(points.len().saturating_sub(5));
    points.get(start..end).unwrap_or(&[])
}

impl LrFindReport {
    /// The suggested learning rate: a tenth of the rate at which the smoothed loss is
    /// lowest ([`LrFindReport::minimum`]; fastai's `minimum` rule). At the minimum the
    /// rate is already at the edge where the loss turns up; a tenth of it is still on the
    /// falling part, with a margin. The steepest fall ([`LrFindReport::steepest`], the
    /// other common reading) is printed beside it but not suggested: on the digits with a
    /// 64-128-10 ReLU MLP (He normal), batches of 32 and Adam, over the shuffling seeds 0
    /// to 7, the steepest fall lay between 0.026 and 0.35 (a factor 13; 3 epochs at 0.35
    /// reached 0.42 test accuracy), a tenth of the minimum between 0.011 and 0.061 (3
    /// epochs at it reached 0.92 to 0.97).
    ///
    /// Both rules read the points that remain once the first tenth of the steps (the
    /// average is still settling) and the last five (the loss is leaving the valley) are
    /// left out, up to the first non-finite one, as fastai's `lr_find` does; `None` when
    /// fewer than three remain (the test stopped too early: lower the start rate).
    pub fn suggestion(&self) -> Option<&LrSuggestion> {
        self.minimum.as_ref()
    }

    /// The report of `points`, with its suggestions.
    pub fn new(settings: LrRangeTest, points: Vec<LrPoint>, stopped: Option<String>) -> Self {
        let w = window(&points, settings.steps);
        let steepest = (w.len() >= 3)
            .then(|| {
                w.windows(2)
                    .map(|p| {
                        let slope = (p[1].smoothed - p[0].smoothed) / (p[1].lr / p[0].lr).ln();
                        (slope, p[0])
                    })
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .filter(|(slope, _)| *slope < 0.0)
                    .map(|(_, at)| LrSuggestion { lr: at.lr, at })
            })
            .flatten();
        let minimum = (w.len() >= 3)
            .then(|| {
                w.iter()
                    .min_by(|a, b| a.smoothed.total_cmp(&b.smoothed))
                    .map(|&at| LrSuggestion {
                        lr: at.lr / 10.0,
                        at,
                    })
            })
            .flatten();
        LrFindReport {
            settings,
            points,
            stopped,
            minimum,
            steepest,
        }
    }

    /// The points as CSV: a header `step,lr,loss,smoothed_loss`, then one line per step
    /// (numbers in Rust's shortest round-trip form; `NaN`, `inf` as such).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("step,lr,loss,smoothed_loss\n");
        for p in &self.points {
            s += &format!("{},{:e},{},{}\n", p.step, p.lr, p.loss, p.smoothed);
        }
        s
    }
}

/// The range test's rate for one step, in place of the run's schedule.
struct FixedRate(f64);

impl Schedule for FixedRate {
    fn name(&self) -> &'static str {
        "lr-range-test"
    }

    fn lr(&self) -> f64 {
        self.0
    }

    fn steps(&self) -> u64 {
        0
    }

    fn step(&mut self, _metric: Option<f64>) -> std::result::Result<f64, OptimError> {
        Ok(self.0)
    }

    fn state(&self) -> ScheduleState {
        ScheduleState {
            kind: self.name().to_string(),
            steps: 0,
            lr: self.0,
            best: None,
            num_bad_epochs: 0,
            cooldown_counter: 0,
        }
    }

    fn load_state(&mut self, _state: &ScheduleState) -> std::result::Result<(), OptimError> {
        Ok(())
    }
}

/// A loss smoothed by an exponential moving average with bias correction (fastai's
/// `AvgSmoothLoss`): `avg = β·avg + (1−β)·loss` from `avg = 0`, divided by `1 − β^n`
/// after the n-th loss, so that the first smoothed loss is the first loss.
///
/// ```
/// use gradwell_train::SmoothedLoss;
/// let mut s = SmoothedLoss::new(0.9);
/// assert_eq!(s.push(2.0), 2.0);
/// // avg = 0.9·0.2 + 0.1·1 = 0.28; bias 1 − 0.9² = 0.19.
/// assert!((s.push(1.0) - 0.28 / 0.19).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothedLoss {
    beta: f64,
    avg: f64,
    n: u64,
}

impl SmoothedLoss {
    /// A smoother with factor `beta` (in [0, 1): the weight of the past).
    pub fn new(beta: f64) -> Self {
        SmoothedLoss {
            beta,
            avg: 0.0,
            n: 0,
        }
    }

    /// Adds the next loss and returns the smoothed loss.
    pub fn push(&mut self, loss: f64) -> f64 {
        self.n += 1;
        self.avg = self.beta * self.avg + (1.0 - self.beta) * loss;
        self.avg / (1.0 - self.beta.powf(self.n as f64))
    }
}

/// Records each step's point and stops the test on divergence.
struct Recorder {
    smoother: SmoothedLoss,
    divergence: f64,
    best: f64,
    points: Vec<LrPoint>,
}

impl Recorder {
    /// Records a step's loss at `lr` and returns the smoothed loss.
    fn record(&mut self, lr: f64, loss: f64) -> f64 {
        let n = self.points.len() as u64 + 1;
        let smoothed = self.smoother.push(loss);
        self.points.push(LrPoint {
            step: n,
            lr,
            loss,
            smoothed,
        });
        smoothed
    }
}

impl Observer for Recorder {
    fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
        let smoothed = self.record(step.lr, step.loss);
        self.best = self.best.min(smoothed);
        if smoothed > self.divergence * self.best {
            ControlFlow::Break(format!(
                "step {}: the smoothed loss {smoothed:.4} exceeds {} × the best, {:.4}",
                self.points.len(),
                self.divergence,
                self.best
            ))
        } else {
            ControlFlow::Continue(())
        }
    }

    fn on_non_finite(&mut self, step: &StepView<'_>) {
        self.record(step.lr, step.loss);
    }
}

impl Trainer {
    /// Runs the learning-rate range test on this trainer's model, data and optimizer, and
    /// puts the trainer back exactly as it found it: the weights (batch norm's running
    /// statistics included), the optimizer's state, the schedule, the batcher's position
    /// and RNG, the dropout RNG, the step and the running metrics are those of before,
    /// bit for bit, so a run after the test is the run without it.
    ///
    /// Step `i` trains one batch (the batches the run would take next) at
    /// [`LrRangeTest::lr_at`]`(i)`, taking the place of the run's schedule; a
    /// schedule's momentum cycle is not applied. The test stops early when the smoothed
    /// loss exceeds `divergence ×` the best smoothed loss so far (that step's update is
    /// not made), or when a loss or gradient is not finite: both are outcomes, in
    /// [`LrFindReport::stopped`], not errors. The suggestion rule is stated at
    /// [`LrFindReport::suggestion`].
    ///
    /// # Errors
    /// Settings out of range (naming the field), or a data, network or optimizer error
    /// (the trainer is put back before it is returned).
    pub fn lr_find(&mut self, settings: &LrRangeTest) -> Result<LrFindReport> {
        settings.validate()?;
        let before = self.checkpoint()?;
        let layer_taps = self.layer_taps.clone();
        let mut recorder = Recorder {
            smoother: SmoothedLoss::new(settings.smoothing),
            divergence: settings.divergence,
            best: f64::INFINITY,
            // The test usually stops long before a large `steps`: reserve a bounded amount.
            points: Vec::with_capacity(settings.steps.min(1 << 12) as usize),
        };
        let outcome = self.range_steps(settings, &mut recorder);
        self.restore(before, "the state before the learning-rate range test")?;
        self.layer_taps = layer_taps;
        let stopped = outcome?;
        Ok(LrFindReport::new(
            settings.clone(),
            recorder.points,
            stopped,
        ))
    }

    /// The test's steps; returns why it stopped early, if it did.
    fn range_steps(
        &mut self,
        settings: &LrRangeTest,
        recorder: &mut Recorder,
    ) -> Result<Option<String>> {
        for i in 0..settings.steps {
            self.schedule = Box::new(FixedRate(settings.lr_at(i)));
            // The end of an epoch gives `None` once, then the next epoch begins.
            let mut rows = None;
            for _ in 0..2 {
                rows = self
                    .batcher
                    .fill_batch(&self.train, &mut self.x, &mut self.y)?;
                if rows.is_some() {
                    break;
                }
            }
            let Some(rows) = rows else {
                return Err(TrainError::Setup(format!(
                    "{} gives no batch to train on",
                    self.train.name()
                )));
            };
            let epoch = self.batcher.epoch();
            match self.train_step(rows, epoch, &mut [recorder]) {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(why)) => return Ok(Some(why)),
                Err(
                    e @ (TrainError::NonFiniteLoss { .. } | TrainError::NonFiniteGradient { .. }),
                ) => {
                    return Ok(Some(e.to_string()));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: u64, lr: f64, smoothed: f64) -> LrPoint {
        LrPoint {
            step,
            lr,
            loss: smoothed,
            smoothed,
        }
    }

    #[test]
    fn the_rates_go_from_start_to_end_geometrically() {
        let s = LrRangeTest {
            start_lr: 1e-4,
            end_lr: 1.0,
            steps: 5,
            ..LrRangeTest::default()
        };
        let lrs: Vec<f64> = (0..5).map(|i| s.lr_at(i)).collect();
        for (got, want) in lrs.iter().zip([1e-4, 1e-3, 1e-2, 1e-1, 1.0]) {
            assert!((got / want - 1.0).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn the_smoothed_loss_is_fastais_bias_corrected_average() {
        let mut r = Recorder {
            smoother: SmoothedLoss::new(0.98),
            divergence: 4.0,
            best: f64::INFINITY,
            points: Vec::new(),
        };
        assert_eq!(r.record(1e-3, 2.0), 2.0);
        // avg = 0.98·0.04 + 0.02·1 = 0.0592; bias 1 − 0.98² = 0.0396.
        let s = r.record(1e-2, 1.0);
        assert!((s - 0.0592 / 0.0396).abs() < 1e-12, "{s}");
    }

    #[test]
    fn bad_settings_are_refused_naming_the_field() {
        let d = LrRangeTest::default();
        for (bad, field) in [
            (
                LrRangeTest {
                    start_lr: 1.0,
                    end_lr: 1.0,
                    ..d.clone()
                },
                "start_lr",
            ),
            (
                LrRangeTest {
                    start_lr: 0.0,
                    ..d.clone()
                },
                "start_lr",
            ),
            (
                LrRangeTest {
                    end_lr: 1e3,
                    ..d.clone()
                },
                "end_lr",
            ),
            (
                LrRangeTest {
                    steps: 0,
                    ..d.clone()
                },
                "steps",
            ),
            (
                LrRangeTest {
                    steps: 1,
                    ..d.clone()
                },
                "steps",
            ),
            (
                LrRangeTest {
                    smoothing: 1.0,
                    ..d.clone()
                },
                "smoothing",
            ),
            (
                LrRangeTest {
                    divergence: 1.0,
                    ..d.clone()
                },
                "divergence",
            ),
        ] {
            let e = bad.validate().unwrap_err().to_string();
            assert!(e.contains(&format!("`{field}`")), "{e}");
        }
        d.validate().unwrap();
    }

    #[test]
    fn the_suggestions_read_the_steepest_fall_and_a_tenth_of_the_minimum() {
        // 20 steps: the window leaves out the first 2 and the last 5.
        let smoothed = [
            9.0, 9.0, 2.3, 2.3, 2.2, 2.0, 1.5, 1.4, 1.0, 0.9, 0.8, 0.7, 0.75, 0.9, 1.0, 3.0, 8.0,
            9.0, 9.0, 9.0,
        ];
        let points: Vec<LrPoint> = smoothed
            .iter()
            .enumerate()
            .map(|(i, &s)| point(i as u64 + 1, 10f64.powi(i as i32 - 10), s))
            .collect();
        let settings = LrRangeTest {
            steps: 20,
            ..LrRangeTest::default()
        };
        let r = LrFindReport::new(settings, points, None);
        // The minimum inside the window is 0.7 at step 12 (lr 10); the steepest fall is
        // 2.0 → 1.5, from step 6 (9 → 2.3 and 3 → 8 are outside).
        let m = r.suggestion().unwrap();
        assert_eq!((m.at.step, m.at.lr, m.lr), (12, 10.0, 1.0));
        let s = r.steepest.unwrap();
        assert_eq!((s.at.step, s.lr), (6, 1e-5));
    }

    #[test]
    fn a_test_stopped_at_once_suggests_nothing() {
        let points = vec![point(1, 1e-7, 2.3), point(2, 1e-6, f64::NAN)];
        let r = LrFindReport::new(LrRangeTest::default(), points, Some("NaN".into()));
        assert!(r.suggestion().is_none() && r.minimum.is_none());
        assert!(r.to_csv().ends_with("2,1e-6,NaN,NaN\n"), "{}", r.to_csv());
    }
}
