//! [`Trainer`]: the training loop, evaluation, checkpoints and resume.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use gradwell_data::{Batcher, DEFAULT_STD_FLOOR, Dataset, LastBatch, TargetKind, Transform};
use gradwell_nn::losses::LossReduction;
use gradwell_nn::{Network, Tap};
use gradwell_optim::{Optimizer, ParamSlot, Schedule, ScheduleUnit, SlotBuffer, apply_schedule};
use gradwell_tensor::{ClassLabel, sum_squares_f64};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, Checkpoint, CheckpointMeta, DataFingerprint, OptimMeta, Running};
use crate::config::{Preprocess, ProgressMode, TrainConfig};
use crate::lock::DirLock;
use crate::observer::{EpochMetrics, EvalContext, EvalMetrics, Observer, StepView};
use crate::progress::Bar;
use crate::targets::{
    self, BatchTargets, accuracy, batch_input, count_correct, metric_words, output_shape_for,
};
use crate::{Result, TrainError};

mod lr_find;
pub use lr_find::{LrFindReport, LrPoint, LrRangeTest, LrSuggestion, SmoothedLoss};

/// The ChaCha stream dropout draws from (the batcher uses stream 0 of the same seed).
const DROPOUT_STREAM: u64 = 1;

/// Steps between progress-bar message updates.
const BAR_MESSAGE_EVERY: u64 = 50;

/// The held-out parts of the data.
#[derive(Debug, Clone, Copy)]
enum Part {
    Validation,
    Test,
}

/// What [`Trainer::run`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Every finished epoch, those of earlier (resumed) processes included.
    pub epochs: Vec<EpochMetrics>,
    /// The test set at the end, if there is one.
    pub test: Option<EvalMetrics>,
    /// The validation set at the end, if there is one.
    pub validation: Option<EvalMetrics>,
    /// Steps taken in total.
    pub steps: u64,
    /// Training samples processed by this call.
    pub samples: u64,
    /// Seconds this call took, evaluation and checkpoints included.
    pub wall_seconds: f64,
    /// Training samples per second of training steps (evaluation and checkpoints
    /// excluded).
    pub samples_per_second: f64,
    /// Why the run stopped early, if an observer stopped it.
    pub stopped: Option<String>,
    /// The checkpoint the run was resumed from, if any.
    pub resumed_from: Option<PathBuf>,
}

impl TrainReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// What [`Trainer::resume`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResumeOutcome {
    /// The checkpoint loaded; `None` only when the directory held no checkpoint file.
    pub loaded: Option<PathBuf>,
    /// Newer checkpoints skipped because they were corrupt or partial, with the reason
    /// (the error, which names the file); the caller reports them.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Trains a [`Network<f32>`] on a classification data set with cross-entropy on logits.
///
/// Each step: reset the tape, put the batch on it, forward in training mode,
/// cross-entropy (with label smoothing), backward, check that the loss and every gradient
/// are finite, [`Observer::on_step`], clip, optimizer step, [`Observer::after_update`],
/// zero the gradients, advance a per-step schedule. Each epoch ends with evaluation on the
/// validation and test sets, a per-epoch schedule step, [`Observer::on_epoch_end`] and a
/// checkpoint. Buffers (the batch, the tape's values and gradients, the optimizer's list of
/// parameters) are reused, so a step allocates no tensor in steady state.
///
/// A non-finite loss or gradient stops the run with an error after
/// [`Observer::on_non_finite`] has seen the step, its layers named by taps on that step's
/// tape (the first step a trainer takes records them for this, whatever the observers
/// asked). With a checkpoint directory configured, the trainer takes that directory's lock
/// ([`DirLock`]) when it first resumes, runs or saves, and holds it until it is dropped: a
/// second process on the same directory is refused instead of pruning this one's
/// checkpoints.
///
/// ```
/// use gradwell_data::digits;
/// use gradwell_nn::{MlpSpec, Network};
/// use gradwell_train::{ProgressMode, TrainConfig, Trainer};
///
/// let split = digits()?.split(0.2, 0, true)?;
/// let net = Network::<f32>::build(&MlpSpec::new(&[64, 32, 10], "relu".parse()?).to_spec()?, 0)?;
/// let config = TrainConfig { epochs: 5, progress: ProgressMode::Off, ..TrainConfig::default() };
/// let mut trainer = Trainer::new(config, net, split.train, Some(split.test))?;
/// let report = trainer.run(&mut [])?;
/// assert_eq!(report.epochs.len(), 5);
/// // Chance is 0.1; 5 short epochs at Adam's default rate reach 0.70 to 0.86 over the
/// // build seeds 0 to 11.
/// assert!(report.test.unwrap().accuracy.unwrap() > 0.6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Trainer {
    config: TrainConfig,
    net: Network<f32>,
    optimizer: Box<dyn Optimizer<f32>>,
    schedule: Box<dyn Schedule>,
    train: Dataset,
    validation: Option<Dataset>,
    test: Option<Dataset>,
    batcher: Batcher,
    dropout_rng: ChaCha8Rng,
    step: u64,
    running: Running,
    history: Vec<EpochMetrics>,
    resumed_from: Option<PathBuf>,
    // Buffers reused from step to step.
    x: Array2<f32>,
    y: Vec<ClassLabel>,
    v: Vec<f32>,
    eval_x: Array2<f32>,
    eval_y: Vec<ClassLabel>,
    eval_v: Vec<f32>,
    taps: Vec<Tap>,
    slots: SlotBuffer<f32>,
    /// Every top-level layer's tap, from the first step this trainer took with observers:
    /// every step records the same ops in the same order, so they place a value of any
    /// step in its layer.
    layer_taps: Option<Vec<Tap>>,
    /// The checkpoint directory's lock, once taken.
    dir_lock: Option<DirLock>,
    /// The scaling fitted on the training part and applied to every part.
    transform: Option<Transform>,
}

fn non_finite_kind(x: f32) -> &'static str {
    if x.is_nan() {
        "NaN"
    } else if x > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

impl Trainer {
    /// A trainer at step 0. `train` is split into training and validation parts when the
    /// config asks for it (stratified, seeded with `config.seed`), then every part is
    /// scaled as `config.preprocess` says (fitted on the training part).
    ///
    /// # Errors
    /// An invalid config (naming the field), a network whose input or output width does
    /// not fit the data, or a data error.
    pub fn new(
        config: TrainConfig,
        net: Network<f32>,
        train: Dataset,
        test: Option<Dataset>,
    ) -> Result<Trainer> {
        config.validate()?;
        let spec = net.spec();
        if spec.input_shape.iter().product::<usize>() != train.num_features() {
            return Err(TrainError::Setup(format!(
                "the network takes input of shape {:?} but {} has {} features per sample",
                spec.input_shape,
                train.name(),
                train.num_features()
            )));
        }
        let out = spec.output_shape()?;
        let wanted = output_shape_for(&train);
        if out != wanted {
            return Err(TrainError::Setup(format!(
                "the network's output has shape {out:?} per sample but {} has {} (outputs of shape {wanted:?})",
                train.name(),
                targets::describe(&train)
            )));
        }
        if let Some(t) = &test
            && (t.num_features(), t.num_classes(), t.target_kind())
                != (
                    train.num_features(),
                    train.num_classes(),
                    train.target_kind(),
                )
        {
            return Err(TrainError::Setup(format!(
                "the test set {} has {} features and {}, the training set {} has {} and {}",
                t.name(),
                t.num_features(),
                targets::describe(t),
                train.name(),
                train.num_features(),
                targets::describe(&train)
            )));
        }
        if config.label_smoothing > 0.0 && matches!(train.target_kind(), TargetKind::Value { .. }) {
            return Err(TrainError::config(
                "label_smoothing",
                format!(
                    "{} applies to class labels; {} has {}",
                    config.label_smoothing,
                    train.name(),
                    targets::describe(&train)
                ),
            ));
        }
        let (mut train, mut validation, mut test) = if config.validation_fraction > 0.0 {
            let split = train.split(config.validation_fraction, config.seed, true)?;
            (split.train, Some(split.test), test)
        } else {
            (train, None, test)
        };
        let transform = match config.preprocess {
            Preprocess::None => None,
            Preprocess::UnitRange => Some(Transform::unit_range(&train)?),
            Preprocess::Standardize => Some(Transform::fit_standardize(
                train.features(),
                DEFAULT_STD_FLOOR,
            )?),
            Preprocess::StandardizeGlobal => Some(Transform::fit_standardize_global(
                train.features(),
                DEFAULT_STD_FLOOR,
            )?),
        };
        if let Some(t) = &transform {
            for ds in [Some(&mut train), validation.as_mut(), test.as_mut()]
                .into_iter()
                .flatten()
            {
                t.apply_to(ds)?;
            }
        }
        let batcher = Batcher::new(
            train.len(),
            config.batch_size,
            config.last_batch,
            config.seed,
        )?;
        let optimizer = config.build_optimizer()?;
        let schedule = config.build_schedule(batcher.batches_per_epoch() as u64)?;
        let mut dropout_rng = ChaCha8Rng::seed_from_u64(config.seed);
        dropout_rng.set_stream(DROPOUT_STREAM);
        Ok(Trainer {
            config,
            net,
            optimizer,
            schedule,
            train,
            validation,
            test,
            batcher,
            dropout_rng,
            step: 0,
            running: Running::default(),
            history: Vec::new(),
            resumed_from: None,
            x: Array2::zeros((0, 0)),
            y: Vec::new(),
            v: Vec::new(),
            eval_x: Array2::zeros((0, 0)),
            eval_y: Vec::new(),
            eval_v: Vec::new(),
            taps: Vec::new(),
            slots: SlotBuffer::new(),
            layer_taps: None,
            dir_lock: None,
            transform,
        })
    }

    /// The scaling of the features (`config.preprocess`) as fitted on the training part,
    /// which every part was scaled with; `None` for [`Preprocess::None`]. Data evaluated
    /// later with the trained network must be scaled with it.
    pub fn transform(&self) -> Option<&Transform> {
        self.transform.as_ref()
    }

    /// The network.
    pub fn network(&self) -> &Network<f32> {
        &self.net
    }

    /// The network, mutable.
    pub fn network_mut(&mut self) -> &mut Network<f32> {
        &mut self.net
    }

    /// Gives the network back.
    pub fn into_network(self) -> Network<f32> {
        self.net
    }

    /// The config.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Steps taken.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The current epoch, from 0 (equal to `config.epochs` once training is done, unless
    /// the step budget ended the run first).
    pub fn epoch(&self) -> u64 {
        self.batcher.epoch()
    }

    /// The epochs the whole run enters: [`TrainConfig::total_epochs`] for this training
    /// set's batches per epoch, the `E` of the progress lines' `epoch k/E`.
    pub fn total_epochs(&self) -> u64 {
        self.config
            .total_epochs(self.batcher.batches_per_epoch() as u64)
    }

    /// Where the run stands, as the progress lines number epochs: `epoch k/E`, `k` from 1
    /// ([`epoch_number`]), the epoch the next step belongs to, or the last one the run
    /// entered once it is over.
    pub fn epoch_position(&self) -> String {
        let total = self.total_epochs();
        let current = self.epoch().min(total.saturating_sub(1));
        format!("epoch {}/{total}", epoch_number(current))
    }

    /// The optimizer steps the whole run takes (those of earlier, resumed processes
    /// included): [`TrainConfig::total_steps`] for this training set's batches per epoch.
    pub fn total_steps(&self) -> u64 {
        self.config
            .total_steps(self.batcher.batches_per_epoch() as u64)
    }

    /// Whether the run is over: `config.epochs` epochs are done, or the step budget
    /// (`config.steps`) is spent and no finished epoch awaits its evaluation (a budget
    /// spent on an epoch's last batch still ends that epoch as a finished one). A trainer
    /// resumed from the checkpoint of a finished run is finished: [`Trainer::run`] takes
    /// no step, and reports.
    pub fn is_finished(&self) -> bool {
        let budget_spent = self.config.steps.is_some_and(|n| self.step >= n);
        let per_epoch = self.batcher.batches_per_epoch();
        let epoch_exhausted =
            self.batcher.position().div_ceil(self.batcher.batch_size()) >= per_epoch;
        self.batcher.epoch() >= self.config.epochs || (budget_spent && !epoch_exhausted)
    }

    /// The finished epochs.
    pub fn history(&self) -> &[EpochMetrics] {
        &self.history
    }

    /// The training part of the data (after the split and scaling).
    pub fn train_set(&self) -> &Dataset {
        &self.train
    }

    /// The validation part, if any.
    pub fn validation_set(&self) -> Option<&Dataset> {
        self.validation.as_ref()
    }

    /// The test set, if any (scaled).
    pub fn test_set(&self) -> Option<&Dataset> {
        self.test.as_ref()
    }

    fn fingerprint(&self) -> DataFingerprint {
        DataFingerprint {
            train: self.train.len(),
            validation: self.validation.as_ref().map_or(0, Dataset::len),
            features: self.train.num_features(),
            classes: self.train.num_classes(),
        }
    }

    /// Takes the checkpoint directory's lock, creating the directory, unless this trainer
    /// holds it already or has no directory configured.
    ///
    /// # Errors
    /// [`TrainError::Directory`]: the path is not a directory, cannot be created or
    /// written, or another process holds it (its pid is named).
    pub fn hold_checkpoint_dir(&mut self) -> Result<()> {
        if self.dir_lock.is_some() {
            return Ok(());
        }
        if let Some(dir) = &self.config.checkpoint.dir {
            let lock = DirLock::acquire(dir).map_err(|why| TrainError::Directory {
                setting: "checkpoint.dir".into(),
                dir: dir.clone(),
                why,
            })?;
            self.dir_lock = Some(lock);
        }
        Ok(())
    }

    /// Trains until `config.epochs` epochs are done or, with a step budget
    /// (`config.steps`), until that many optimizer steps are taken, whichever comes first
    /// ([`TrainConfig::total_steps`]), continuing from where a resumed trainer stands;
    /// calls the observers, and reports. A budget that runs out in the middle of an epoch
    /// stops the run there: that epoch is not recorded as finished (no [`EpochMetrics`],
    /// no per-epoch schedule step), a checkpoint of that point is written when a directory
    /// is configured (so that a larger budget continues it exactly), and the final
    /// evaluation runs as usual. The checkpoint directory is created and locked before the
    /// first step.
    ///
    /// # Errors
    /// A checkpoint directory that cannot be used ([`Trainer::hold_checkpoint_dir`]), a
    /// non-finite loss or gradient (naming the step and the parameter; no weight is
    /// updated by that step), a data, network or optimizer error, or a checkpoint that
    /// cannot be written.
    pub fn run(&mut self, observers: &mut [&mut dyn Observer]) -> Result<TrainReport> {
        self.hold_checkpoint_dir()?;
        let started = Instant::now();
        let mut train_seconds = 0.0;
        let mut samples = 0u64;
        let mut stopped = None;
        let show_bar = match self.config.progress {
            ProgressMode::Auto => std::io::stderr().is_terminal(),
            ProgressMode::Bar => true,
            ProgressMode::Lines | ProgressMode::Off => false,
        };
        let per_epoch = self.batcher.batches_per_epoch() as u64;
        let total = self.config.total_steps(per_epoch);
        let run_epochs = self.config.total_epochs(per_epoch);
        let bar = show_bar
            .then(|| Bar::start(total, self.step.min(total)))
            .flatten();
        let mut saved_at = None;
        'epochs: while self.batcher.epoch() < self.config.epochs && !self.is_finished() {
            let epoch = self.batcher.epoch();
            let epoch_started = Instant::now();
            loop {
                if self.is_finished() {
                    // The step budget ran out in the middle of the epoch.
                    if self.config.checkpoint.dir.is_some() && saved_at != Some(self.step) {
                        self.save_checkpoint()?;
                    }
                    break 'epochs;
                }
                let t = Instant::now();
                let Some(rows) = self.batcher.fill_batch_values(
                    &self.train,
                    &mut self.x,
                    &mut self.y,
                    &mut self.v,
                )?
                else {
                    break;
                };
                let flow = self.train_step(rows, epoch, observers)?;
                train_seconds += t.elapsed().as_secs_f64();
                if let ControlFlow::Break(reason) = flow {
                    stopped = Some(reason);
                    break 'epochs;
                }
                samples += rows as u64;
                if let Some(bar) = &bar {
                    bar.inc(1);
                    if self.step.is_multiple_of(BAR_MESSAGE_EVERY) {
                        let r = &self.running;
                        bar.set_message(format!(
                            "epoch {}/{run_epochs} loss {:.4}",
                            epoch_number(epoch),
                            r.loss_sum / r.samples.max(1) as f64
                        ));
                    }
                }
                if let Some(n) = self.config.checkpoint.every_steps
                    && self.step.is_multiple_of(n)
                {
                    self.save_checkpoint()?;
                    saved_at = Some(self.step);
                }
                if let ControlFlow::Break(reason) = self.step_end(epoch, observers) {
                    stopped = Some(reason);
                    break 'epochs;
                }
            }
            let metrics = self.end_epoch(epoch, epoch_started)?;
            match self.config.progress {
                ProgressMode::Off => {}
                _ if bar.is_some() => {
                    if let Some(bar) = &bar {
                        bar.println(epoch_line(&metrics, run_epochs));
                    }
                }
                _ => eprintln!("{}", epoch_line(&metrics, run_epochs)),
            }
            for o in observers.iter_mut() {
                if let ControlFlow::Break(reason) = o.on_epoch_end(&metrics) {
                    stopped = Some(reason);
                }
            }
            if self.config.checkpoint.dir.is_some() {
                self.save_checkpoint()?;
            }
            if stopped.is_some() {
                break;
            }
        }
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        let test = self.evaluate_part(Part::Test)?;
        let validation = self.evaluate_part(Part::Validation)?;
        Ok(TrainReport {
            epochs: self.history.clone(),
            test,
            validation,
            steps: self.step,
            samples,
            wall_seconds: started.elapsed().as_secs_f64(),
            samples_per_second: if train_seconds > 0.0 {
                samples as f64 / train_seconds
            } else {
                0.0
            },
            stopped,
            resumed_from: self.resumed_from.clone(),
        })
    }

    /// One training step on the batch in `self.x`, `self.y`.
    fn train_step(
        &mut self,
        rows: usize,
        epoch: u64,
        observers: &mut [&mut dyn Observer],
    ) -> Result<ControlFlow<String>> {
        let step = self.step + 1;
        let wants_taps = observers
            .iter_mut()
            .fold(false, |any, o| o.wants_taps(step) | any);
        // The first step with observers learns the layers, for `on_non_finite`.
        let learn_layers = self.layer_taps.is_none() && !observers.is_empty();
        self.taps.clear();
        self.net.tape.reset();
        let x = batch_input(&mut self.net, &self.x)?;
        let taps = if wants_taps || learn_layers {
            Some(&mut self.taps)
        } else {
            None
        };
        let logits = self.net.forward(x, true, &mut self.dropout_rng, taps)?;
        if learn_layers {
            self.layer_taps = Some(self.taps.clone());
            if !wants_taps {
                self.taps.clear();
            }
        }
        let kind = self.train.target_kind();
        let tape = &mut self.net.tape;
        let batch = BatchTargets {
            kind,
            rows,
            labels: &self.y,
            values: &self.v,
        };
        let loss = targets::loss(
            tape,
            logits,
            batch,
            self.config.label_smoothing,
            LossReduction::Mean,
        )?;
        let loss_value = tape
            .value(loss)
            .iter()
            .next()
            .map_or(f64::NAN, |&l| l as f64);
        if !loss_value.is_finite() {
            self.notify_non_finite(observers, step, epoch, loss_value, rows, logits);
            return Err(TrainError::NonFiniteLoss {
                step,
                epoch: epoch_number(epoch),
                value: loss_value,
            });
        }
        let (correct, scored) = count_correct(tape.value(logits), kind, &self.y);
        tape.backward(loss)?;
        let grad_norm = match checked_grad_norm(&self.net, step) {
            Ok(norm) => norm,
            Err(e) => {
                self.notify_non_finite(observers, step, epoch, loss_value, rows, logits);
                return Err(e);
            }
        };
        apply_schedule(&*self.schedule, &mut *self.optimizer)?;
        let lr = self.optimizer.learning_rate();
        self.step = step;
        self.running.loss_sum += loss_value * rows as f64;
        self.running.correct += correct;
        self.running.scored += scored;
        self.running.samples += rows as u64;
        // The observers' view of this step, before and after the update (which borrows
        // the network mutably in between).
        macro_rules! step_view {
            () => {
                StepView {
                    step,
                    epoch,
                    loss: loss_value,
                    batch_size: rows,
                    grad_norm,
                    lr,
                    network: &self.net,
                    taps: &self.taps,
                    logits,
                }
            };
        }
        if !observers.is_empty() {
            let view = step_view!();
            let mut flow = ControlFlow::Continue(());
            for o in observers.iter_mut() {
                if let ControlFlow::Break(reason) = o.on_step(&view) {
                    flow = ControlFlow::Break(reason);
                }
            }
            if flow.is_break() {
                self.net.tape.params_mut().zero_grad();
                return Ok(flow);
            }
        }
        let (clip, optimizer) = (&self.config.clip, &mut self.optimizer);
        let params = self.net.tape.params_mut().slots_mut();
        self.slots.with(
            params.map(|(name, value, grad)| ParamSlot::new(name, value, grad)),
            |slots| {
                if let Some(clip) = clip {
                    clip.apply(slots)?;
                }
                optimizer.step(slots).map(|_| ())
            },
        )?;
        if !observers.is_empty() {
            let view = step_view!();
            for o in observers.iter_mut() {
                o.after_update(&view);
            }
        }
        self.net.tape.params_mut().zero_grad();
        if self.config.schedule.per == ScheduleUnit::Step {
            self.schedule.step(None)?;
        }
        Ok(ControlFlow::Continue(()))
    }

    /// [`Observer::on_step_end`] of every observer, each with an [`EvalContext`] on the
    /// network as this step left it; a break from any of them stops the run.
    fn step_end(&mut self, epoch: u64, observers: &mut [&mut dyn Observer]) -> ControlFlow<String> {
        let mut flow = ControlFlow::Continue(());
        for o in observers.iter_mut() {
            let mut eval = EvalContext {
                step: self.step,
                epoch,
                net: &mut self.net,
                batch_size: self.config.eval_batch_size,
                x: &mut self.eval_x,
                y: &mut self.eval_y,
                v: &mut self.eval_v,
                validation: self.validation.as_ref(),
                test: self.test.as_ref(),
            };
            if let ControlFlow::Break(reason) = o.on_step_end(&mut eval) {
                flow = ControlFlow::Break(reason);
            }
        }
        flow
    }

    /// Shows the observers the step that went non-finite ([`Observer::on_non_finite`]),
    /// with taps on this step's tape: the step's own, or the layers learnt on the first
    /// step placed at the same positions.
    fn notify_non_finite(
        &self,
        observers: &mut [&mut dyn Observer],
        step: u64,
        epoch: u64,
        loss: f64,
        rows: usize,
        logits: gradwell_autodiff::Var,
    ) {
        if observers.is_empty() {
            return;
        }
        let tape = &self.net.tape;
        let placed: Vec<Tap>;
        let taps = if self.taps.is_empty() {
            placed = self
                .layer_taps
                .iter()
                .flatten()
                .filter_map(|t| {
                    Some(Tap {
                        output: tape.var_at(t.output.index())?,
                        ..t.clone()
                    })
                })
                .collect();
            &placed
        } else {
            &self.taps
        };
        let view = StepView {
            step,
            epoch,
            loss,
            batch_size: rows,
            grad_norm: f64::NAN,
            lr: self.schedule.lr(),
            network: &self.net,
            taps,
            logits,
        };
        for o in observers.iter_mut() {
            o.on_non_finite(&view);
        }
    }

    /// Evaluates, steps a per-epoch schedule, and records the epoch's metrics.
    fn end_epoch(&mut self, epoch: u64, started: Instant) -> Result<EpochMetrics> {
        let validation = self.evaluate_part(Part::Validation)?;
        let test = self.evaluate_part(Part::Test)?;
        let r = self.running;
        let n = r.samples.max(1) as f64;
        let metrics = EpochMetrics {
            epoch,
            steps: self.step,
            lr: self.optimizer.learning_rate(),
            train_loss: r.loss_sum / n,
            train_accuracy: accuracy(self.train.target_kind(), r.correct, r.scored),
            validation,
            test,
            seconds: started.elapsed().as_secs_f64(),
        };
        if self.config.schedule.per == ScheduleUnit::Epoch {
            let metric = validation.map_or(metrics.train_loss, |v| v.loss);
            self.schedule.step(Some(metric))?;
        }
        self.running = Running::default();
        self.history.push(metrics.clone());
        Ok(metrics)
    }

    /// Evaluates the validation or test set, if there is one.
    fn evaluate_part(&mut self, part: Part) -> Result<Option<EvalMetrics>> {
        let slot = match part {
            Part::Validation => &mut self.validation,
            Part::Test => &mut self.test,
        };
        let Some(ds) = slot.take() else {
            return Ok(None);
        };
        let out = self.evaluate_set(&ds);
        match part {
            Part::Validation => self.validation = Some(ds),
            Part::Test => self.test = Some(ds),
        }
        out.map(Some)
    }

    fn evaluate_set(&mut self, ds: &Dataset) -> Result<EvalMetrics> {
        evaluate_network(
            &mut self.net,
            ds,
            self.config.eval_batch_size,
            &mut self.eval_x,
            &mut self.eval_y,
            &mut self.eval_v,
        )
    }

    /// Loss and accuracy of the network on `ds` in evaluation mode (`ds` must already be
    /// scaled as the trainer's data are).
    ///
    /// # Errors
    /// A data set that does not fit the network.
    pub fn evaluate(&mut self, ds: &Dataset) -> Result<EvalMetrics> {
        self.evaluate_set(ds)
    }

    /// The checkpoint of the current state.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        let meta = CheckpointMeta {
            config: self.config.clone(),
            model: self.net.spec().clone(),
            data: self.fingerprint(),
            step: self.step,
            batcher: self.batcher.state(),
            dropout_rng: self.dropout_rng.clone(),
            schedule: self.schedule.state(),
            optimizer: OptimMeta {
                kind: String::new(),
                steps: 0,
                lr: 0.0,
                momentum: None,
                params: Vec::new(),
            },
            running: self.running,
            history: self.history.clone(),
        };
        Ok(Checkpoint::new(
            meta,
            self.net.safetensors_bytes()?,
            self.optimizer.state(),
        ))
    }

    /// Writes a checkpoint of the current state into the configured directory (keeping the
    /// newest `checkpoint.keep` valid ones, as [`checkpoint::write`] says) and returns its
    /// path.
    ///
    /// # Errors
    /// No directory configured, a directory that cannot be used
    /// ([`Trainer::hold_checkpoint_dir`]), or the file cannot be written.
    pub fn save_checkpoint(&mut self) -> Result<PathBuf> {
        self.hold_checkpoint_dir()?;
        let Some(dir) = &self.config.checkpoint.dir else {
            return Err(TrainError::config(
                "checkpoint.dir",
                "is not set: name a directory to write checkpoints to",
            ));
        };
        checkpoint::write(dir, &self.checkpoint()?, self.config.checkpoint.keep)
    }

    /// Continues from the newest valid checkpoint in the configured directory; newer ones
    /// that are corrupt or partial are skipped and listed in the outcome, for the caller
    /// to report. A directory that is missing or holds no checkpoint file leaves the
    /// trainer at step 0 (a first run and its resumption can be the same command). No file
    /// is deleted or changed.
    ///
    /// # Errors
    /// No directory configured; a directory that cannot be used
    /// ([`Trainer::hold_checkpoint_dir`]); [`TrainError::NoValidCheckpoint`] when there are
    /// checkpoint files but none decodes (listing each with its reason); or a valid
    /// checkpoint of another run (another model, data or config): that is refused rather
    /// than skipped.
    pub fn resume(&mut self) -> Result<ResumeOutcome> {
        let Some(dir) = self.config.checkpoint.dir.clone() else {
            return Err(TrainError::config(
                "checkpoint.dir",
                "is not set: resume needs the directory the checkpoints are in",
            ));
        };
        self.hold_checkpoint_dir()?;
        let mut outcome = ResumeOutcome::default();
        for (_, path) in checkpoint::list(&dir)? {
            match checkpoint::read(&path) {
                Ok(ck) => {
                    self.restore(ck, &path.display().to_string())?;
                    self.resumed_from = Some(path.clone());
                    outcome.loaded = Some(path);
                    return Ok(outcome);
                }
                Err(e) => outcome.skipped.push((path, e.to_string())),
            }
        }
        if outcome.skipped.is_empty() {
            Ok(outcome)
        } else {
            Err(TrainError::NoValidCheckpoint {
                dir,
                refused: outcome.skipped,
            })
        }
    }

    /// Puts the trainer in the state a checkpoint holds; `origin` names it in errors.
    /// Everything is checked before anything changes, and before anything is allocated
    /// from the checkpoint's fields: first [`Checkpoint::check`], then the model, the
    /// data's shape and the config against this run's (the number of epochs may change,
    /// unless the schedule spans the run), the optimizer state's parameters against the
    /// network's trainable ones, and the batcher against the training set. The optimizer
    /// built by the check, with the state loaded, is the one the run continues with.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] if a field is impossible; [`TrainError::CheckpointMismatch`]
    /// if it belongs to another model, data or config.
    pub fn restore(&mut self, ck: Checkpoint, origin: &str) -> Result<()> {
        // The optimizer the checks build, with the checkpoint's state loaded, is the one the
        // run continues with.
        let optimizer = ck.verified(origin)?;
        let mismatch = |why: String| TrainError::CheckpointMismatch {
            origin: origin.to_string(),
            why,
        };
        let meta = ck.meta;
        if meta.model != *self.net.spec() {
            return Err(mismatch("it was written for another model".into()));
        }
        if meta.data != self.fingerprint() {
            return Err(mismatch(format!(
                "it was written for data of shape {:?}, this run has {:?}",
                meta.data,
                self.fingerprint()
            )));
        }
        if let Some(field) = differing_field(&meta.config, &self.config) {
            return Err(mismatch(format!(
                "its config differs in `{field}` (only {} may change on resume)",
                RESUME_MAY_CHANGE
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let per_epoch = self.batcher.batches_per_epoch() as u64;
        let budget = self.config.total_steps(per_epoch);
        if meta.step > budget {
            return Err(mismatch(format!(
                "it is at step {}, past this run's end at step {budget} ({} epochs of {per_epoch} steps{}): \
                 continuing it would not give this run; raise `steps` or `epochs` to at least its step to continue it",
                meta.step,
                self.config.epochs,
                self.config
                    .steps
                    .map_or_else(String::new, |n| format!(", a budget of {n} steps"))
            )));
        }
        let (was, now) = (
            meta.config.schedule_run(per_epoch),
            self.config.schedule_run(per_epoch),
        );
        if was != now && self.config.schedule.kind.spans_run() {
            let unit = match self.config.schedule.per {
                ScheduleUnit::Step => "steps",
                ScheduleUnit::Epoch => "epochs",
            };
            return Err(mismatch(format!(
                "its schedule `{}` spans the run, which had {was} {unit} and now has {now}: the rate would follow another curve; \
                 give the schedule its length (e.g. `cosine:t_max=N`) to change the run's length (`epochs`, `steps`)",
                self.config.schedule
            )));
        }
        if !ck.optimizer.params.is_empty() {
            let store = self.net.tape.params();
            let trainable: Vec<(&str, usize)> = store
                .ids()
                .filter(|&id| store.is_trainable(id))
                .map(|id| (store.name(id), store.value(id).len()))
                .collect();
            for p in &ck.optimizer.params {
                match trainable.iter().find(|(name, _)| *name == p.name) {
                    None => {
                        return Err(mismatch(format!(
                            "its optimizer state has parameter `{}`, which is not a trainable parameter of this model",
                            p.name
                        )));
                    }
                    Some(&(_, len)) if len != p.len => {
                        return Err(mismatch(format!(
                            "its optimizer state of `{}` has {} elements, the parameter {len}",
                            p.name, p.len
                        )));
                    }
                    Some(_) => {}
                }
            }
            if let Some((name, _)) = trainable
                .iter()
                .find(|(name, _)| !ck.optimizer.params.iter().any(|p| p.name == *name))
            {
                return Err(mismatch(format!(
                    "its optimizer state has nothing for the parameter `{name}`"
                )));
            }
        }
        let b = &meta.batcher;
        if (b.len, b.batch_size, b.last, b.shuffle)
            != (
                self.train.len(),
                self.config.batch_size,
                self.config.last_batch,
                true,
            )
        {
            return Err(mismatch(format!(
                "its batcher ({} samples in batches of {}, {:?} the last, shuffle {}) does not fit this run's ({} samples in batches of {}, {:?} the last, shuffled)",
                b.len,
                b.batch_size,
                b.last,
                b.shuffle,
                self.train.len(),
                self.config.batch_size,
                self.config.last_batch
            )));
        }
        let mut schedule = self
            .config
            .build_schedule(self.batcher.batches_per_epoch() as u64)?;
        schedule
            .load_state(&meta.schedule)
            .map_err(|e| mismatch(e.to_string()))?;
        // Allocates one index per training sample: `len` was compared with the run above.
        let batcher = Batcher::from_state(meta.batcher).map_err(|e| mismatch(e.to_string()))?;
        self.net
            .load_safetensors_bytes(&ck.weights, origin)
            .map_err(|e| mismatch(e.to_string()))?;
        self.optimizer = optimizer;
        self.schedule = schedule;
        self.batcher = batcher;
        self.dropout_rng = meta.dropout_rng;
        self.step = meta.step;
        self.running = meta.running;
        if self.running.scored == 0 && self.train.target_kind() == TargetKind::Class {
            // Written before the count was kept: every sample was scored.
            self.running.scored = self.running.samples;
        }
        self.history = meta.history;
        Ok(())
    }
}

/// The fields of a [`TrainConfig`] that may change when a run is resumed.
const RESUME_MAY_CHANGE: &[&str] = &["epochs", "steps", "checkpoint", "progress"];

/// The first top-level field in which two configs differ, ignoring those that may change
/// when a run is resumed ([`RESUME_MAY_CHANGE`]).
fn differing_field(a: &TrainConfig, b: &TrainConfig) -> Option<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return Some("(unreadable)".into());
    };
    a.iter()
        .filter(|(k, _)| !RESUME_MAY_CHANGE.contains(&k.as_str()))
        .find(|(k, v)| b.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
}

/// Loss and accuracy of `net` on `ds` in evaluation mode (no dropout, batch norm on its
/// running statistics, which it leaves alone), in batches of `batch_size` through the
/// buffers `eval_x` and `eval_y`, with the tape not recording for a backward pass. It
/// draws from no RNG of the run and touches no gradient: the tape is reset before each
/// batch, and the next training step resets it again and recomputes everything it
/// records, so a run is the same bit for bit with evaluations between its steps.
pub(crate) fn evaluate_network(
    net: &mut Network<f32>,
    ds: &Dataset,
    batch_size: usize,
    eval_x: &mut Array2<f32>,
    eval_y: &mut Vec<ClassLabel>,
    eval_v: &mut Vec<f32>,
) -> Result<EvalMetrics> {
    let was_recording = net.tape.is_recording();
    net.tape.set_recording(false);
    let out = evaluate_inner(net, ds, batch_size, eval_x, eval_y, eval_v);
    net.tape.set_recording(was_recording);
    out
}

fn evaluate_inner(
    net: &mut Network<f32>,
    ds: &Dataset,
    batch_size: usize,
    eval_x: &mut Array2<f32>,
    eval_y: &mut Vec<ClassLabel>,
    eval_v: &mut Vec<f32>,
) -> Result<EvalMetrics> {
    let mut batches = Batcher::sequential(ds.len(), batch_size, LastBatch::Keep)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let kind = ds.target_kind();
    let (mut loss_sum, mut correct, mut scored) = (0.0, 0u64, 0u64);
    while let Some(rows) = batches.fill_batch_values(ds, eval_x, eval_y, eval_v)? {
        net.tape.reset();
        let x = batch_input(net, eval_x)?;
        let logits = net.forward(x, false, &mut rng, None)?;
        let tape = &mut net.tape;
        let batch = BatchTargets {
            kind,
            rows,
            labels: eval_y,
            values: eval_v,
        };
        let loss = targets::loss(tape, logits, batch, 0.0, LossReduction::Sum)?;
        loss_sum += tape
            .value(loss)
            .iter()
            .next()
            .map_or(f64::NAN, |&l| l as f64);
        let (c, s) = count_correct(tape.value(logits), kind, eval_y);
        correct += c;
        scored += s;
    }
    let n = ds.len();
    Ok(EvalMetrics {
        loss: loss_sum / (n * targets::terms_per_sample(kind)) as f64,
        accuracy: accuracy(kind, correct, scored),
        samples: n,
    })
}

/// Loss and accuracy of `net` on `ds` in evaluation mode, in batches of `batch_size`,
/// exactly as a [`Trainer`] evaluates its test set (`ds` must be scaled as the training
/// data were: [`Trainer::transform`]).
///
/// # Errors
/// A data set that does not fit the network.
pub fn evaluate(net: &mut Network<f32>, ds: &Dataset, batch_size: usize) -> Result<EvalMetrics> {
    let (mut x, mut y, mut v) = (Array2::zeros((0, 0)), Vec::new(), Vec::new());
    evaluate_network(net, ds, batch_size, &mut x, &mut y, &mut v)
}

/// One sample's predicted class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The class with the largest output (the first of equal ones, as the accuracy counts).
    pub class: usize,
    /// Its softmax probability.
    pub probability: f64,
}

/// The predicted class of every sample of `ds` (a class per sample, [`TargetKind::Class`];
/// its labels are not read), in evaluation mode, in batches of `batch_size`; `ds` must be
/// scaled as the training data were.
///
/// # Errors
/// Targets other than a class per sample; a data set that does not fit the network.
pub fn predict_classes(
    net: &mut Network<f32>,
    ds: &Dataset,
    batch_size: usize,
) -> Result<Vec<Prediction>> {
    if ds.target_kind() != TargetKind::Class {
        return Err(TrainError::Setup(format!(
            "predicting classes needs a class per sample; {} has {}",
            ds.name(),
            targets::describe(ds)
        )));
    }
    let was_recording = net.tape.is_recording();
    net.tape.set_recording(false);
    let mut batches = Batcher::sequential(ds.len(), batch_size, LastBatch::Keep)?;
    let (mut x, mut y, mut v) = (Array2::zeros((0, 0)), Vec::new(), Vec::new());
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut out = Vec::with_capacity(ds.len());
    let result = (|| {
        while batches
            .fill_batch_values(ds, &mut x, &mut y, &mut v)?
            .is_some()
        {
            net.tape.reset();
            let input = batch_input(net, &x)?;
            let logits = net.forward(input, false, &mut rng, None)?;
            let value = net.tape.value(logits);
            let classes = value.shape().last().copied().unwrap_or(1).max(1);
            let flat: Vec<f32> = value.iter().copied().collect();
            for row in flat.chunks_exact(classes) {
                let class = targets::argmax(row);
                let top = f64::from(row[class]);
                let total: f64 = row.iter().map(|&z| (f64::from(z) - top).exp()).sum();
                out.push(Prediction {
                    class,
                    probability: 1.0 / total,
                });
            }
        }
        Ok(())
    })();
    net.tape.set_recording(was_recording);
    result.map(|()| out)
}

/// The global L2 norm of the trainable gradients (in f64), or an error naming the first
/// parameter with a non-finite gradient.
fn checked_grad_norm(net: &Network<f32>, step: u64) -> Result<f64> {
    let store = net.tape.params();
    let mut total = 0.0f64;
    for id in store.ids() {
        if !store.is_trainable(id) {
            continue;
        }
        let g = store.grad(id);
        let sum = match g.as_slice() {
            Some(s) => sum_squares_f64(s),
            None => g.iter().map(|&x| (x as f64) * (x as f64)).sum(),
        };
        if !sum.is_finite() {
            let (index, &bad) = g
                .iter()
                .enumerate()
                .find(|(_, x)| !x.is_finite())
                .unwrap_or((0, &f32::INFINITY));
            return Err(TrainError::NonFiniteGradient {
                step,
                param: store.name(id).to_string(),
                index,
                kind: non_finite_kind(bad).to_string(),
            });
        }
        total += sum;
    }
    Ok(total.sqrt())
}

/// An epoch as a user reads it, counted from 1, for the epoch counted from 0 (as
/// [`EpochMetrics::epoch`], [`Trainer::epoch`], checkpoints and `run.json` count it):
/// progress lines, messages, errors and CSV files all number epochs this way.
///
/// ```
/// assert_eq!(gradwell_train::epoch_number(0), 1);
/// ```
pub const fn epoch_number(epoch: u64) -> u64 {
    epoch + 1
}

/// One log line for an epoch.
fn epoch_line(m: &EpochMetrics, epochs: u64) -> String {
    let mut s = format!(
        "epoch {}/{epochs}  step {}  lr {:.3e}  train {}",
        epoch_number(m.epoch),
        m.steps,
        m.lr,
        metric_words(m.train_loss, m.train_accuracy)
    );
    if let Some(v) = m.validation {
        s += &format!("  val {}", metric_words(v.loss, v.accuracy));
    }
    if let Some(t) = m.test {
        s += &format!("  test {}", metric_words(t.loss, t.accuracy));
    }
    s + &format!("  {:.1}s", m.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradwell_nn::MlpSpec;

    #[test]
    fn a_non_finite_gradient_is_named_with_the_step_and_the_parameter() {
        let spec = MlpSpec::new(&[4, 3, 2], "relu".parse().unwrap())
            .to_spec()
            .unwrap();
        let mut net = Network::<f32>::build(&spec, 0).unwrap();
        assert_eq!(checked_grad_norm(&net, 1).unwrap(), 0.0);
        let id = net.param("2.weight").unwrap();
        net.tape.params_mut().grad_mut(id)[[1, 2]] = f32::NAN;
        let err = checked_grad_norm(&net, 1234).unwrap_err();
        assert_eq!(
            err.to_string(),
            "step 1234: gradient of `2.weight` is not finite (NaN)"
        );
        assert!(matches!(
            err,
            TrainError::NonFiniteGradient { index: 5, .. }
        ));
        net.tape.params_mut().grad_mut(id)[[1, 2]] = f32::NEG_INFINITY;
        let err = checked_grad_norm(&net, 7).unwrap_err();
        assert_eq!(
            err.to_string(),
            "step 7: gradient of `2.weight` is not finite (-inf)"
        );
    }

    #[test]
    fn the_global_norm_is_that_of_all_trainable_gradients() {
        let spec = MlpSpec::new(&[4, 3, 2], "relu".parse().unwrap())
            .to_spec()
            .unwrap();
        let mut net = Network::<f32>::build(&spec, 0).unwrap();
        let a = net.param("0.weight").unwrap();
        let b = net.param("2.bias").unwrap();
        net.tape.params_mut().grad_mut(a)[[0, 0]] = 3.0;
        net.tape.params_mut().grad_mut(b)[[1]] = 4.0;
        assert_eq!(checked_grad_norm(&net, 1).unwrap(), 5.0);
    }
}
