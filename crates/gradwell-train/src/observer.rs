//! The hook through which tools watch a run: [`Observer`], with what it sees at each step
//! ([`StepView`]), what it may evaluate once a step is done ([`EvalContext`]) and what it
//! sees at each epoch's end ([`EpochMetrics`]).

use std::ops::ControlFlow;

use gradwell_autodiff::{Tape, Var};
use gradwell_data::Dataset;
use gradwell_nn::{Network, Tap};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::Result;

/// Something that watches training (the gradient-health monitor, a logger, a test).
///
/// For each step the trainer calls, in order:
///
/// 1. [`Observer::wants_taps`] before the forward pass: whether this step should record
///    every top-level layer's output ([`StepView::taps`]). Taps cost a little (one small
///    record per layer), so an observer that samples every N-th step says so here.
/// 2. [`Observer::on_step`] after the backward pass, before clipping and the optimizer
///    step: the tape holds this step's values and gradients, the parameters' gradients are
///    the raw (unclipped) ones, and the weights are those the forward pass used.
/// 3. [`Observer::after_update`] after the optimizer step, before gradients are zeroed:
///    the weights are the updated ones and the gradients those that were applied (after
///    clipping), so update-to-weight ratios can be computed against values kept from
///    `on_step`.
///
/// 4. [`Observer::on_step_end`] once the step is done (gradients zeroed, a per-step
///    schedule advanced): the observer may evaluate the network on any data set, in
///    evaluation mode, through the [`EvalContext`] it is given, without changing the run.
///
/// and [`Observer::on_epoch_end`] after each epoch's evaluation. When a step's loss or a
/// gradient is not finite, the trainer calls [`Observer::on_non_finite`] instead of
/// `on_step` and stops with an error. Every method has a
/// default that does nothing; returning [`ControlFlow::Break`] with a reason from
/// `on_step`, `on_step_end` or `on_epoch_end` stops the run cleanly (from `on_step` the
/// step's update is skipped; the report says why it stopped).
///
/// ```
/// use std::ops::ControlFlow;
/// use gradwell_train::{Observer, StepView};
///
/// /// Keeps the gradient norm of every step.
/// #[derive(Default)]
/// struct Norms(Vec<f64>);
///
/// impl Observer for Norms {
///     fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
///         self.0.push(step.grad_norm);
///         ControlFlow::Continue(())
///     }
/// }
///
/// # use gradwell_nn::{MlpSpec, Network};
/// # use gradwell_train::{ProgressMode, TrainConfig, Trainer};
/// # let split = gradwell_data::digits()?.split(0.2, 0, true)?;
/// # let net = Network::<f32>::build(&MlpSpec::new(&[64, 16, 10], "relu".parse()?).to_spec()?, 0)?;
/// # let config = TrainConfig { epochs: 1, progress: ProgressMode::Off, ..TrainConfig::default() };
/// let mut norms = Norms::default();
/// let report = Trainer::new(config, net, split.train, None)?.run(&mut [&mut norms])?;
/// assert_eq!(norms.0.len() as u64, report.steps);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Observer {
    /// Whether the forward pass of `step` (1 for the first) should record taps.
    fn wants_taps(&mut self, step: u64) -> bool {
        let _ = step;
        false
    }

    /// After the backward pass of a step, before clipping and the update.
    fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
        let _ = step;
        ControlFlow::Continue(())
    }

    /// After the optimizer step (updated weights, applied gradients).
    fn after_update(&mut self, step: &StepView<'_>) {
        let _ = step;
    }

    /// Once a step is done: its update applied, the gradients zeroed, a per-step schedule
    /// advanced. `eval` evaluates the network in evaluation mode on the run's validation
    /// or test set, or any data set ([`EvalContext`]); the rest of the run is the same,
    /// bit for bit, whether or not it does.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use gradwell_train::{EvalContext, EvalMetrics, Observer};
    ///
    /// /// The test set's loss and accuracy every 10 steps.
    /// #[derive(Default)]
    /// struct TestEvery10(Vec<(u64, EvalMetrics)>);
    ///
    /// impl Observer for TestEvery10 {
    ///     fn on_step_end(&mut self, eval: &mut EvalContext<'_>) -> ControlFlow<String> {
    ///         if eval.step() % 10 == 0
    ///             && let Ok(Some(test)) = eval.evaluate_test()
    ///         {
    ///             self.0.push((eval.step(), test));
    ///         }
    ///         ControlFlow::Continue(())
    ///     }
    /// }
    ///
    /// # use gradwell_nn::{MlpSpec, Network};
    /// # use gradwell_train::{ProgressMode, TrainConfig, Trainer};
    /// # let split = gradwell_data::digits()?.split(0.2, 0, true)?;
    /// # let net = Network::<f32>::build(&MlpSpec::new(&[64, 16, 10], "relu".parse()?).to_spec()?, 0)?;
    /// let config = TrainConfig { epochs: 1, steps: Some(15), progress: ProgressMode::Off, ..TrainConfig::default() };
    /// let mut every10 = TestEvery10::default();
    /// let mut trainer = Trainer::new(config, net, split.train, Some(split.test))?;
    /// trainer.run(&mut [&mut every10])?;
    /// assert_eq!(every10.0.len(), 1);
    /// assert_eq!(every10.0[0].0, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_step_end(&mut self, eval: &mut EvalContext<'_>) -> ControlFlow<String> {
        let _ = eval;
        ControlFlow::Continue(())
    }

    /// When the trainer stops on a non-finite loss or gradient, before it returns the
    /// error. The tape holds the step's values (and, when the loss was finite, its
    /// gradients); [`StepView::taps`] holds every top-level layer's output on this tape
    /// whether or not [`Observer::wants_taps`] asked (the trainer records them on its first
    /// step for this), so the layer where the first NaN or infinity appeared can be named,
    /// at the first step of a run or of a resumed run too. [`StepView::grad_norm`] is NaN
    /// and [`StepView::loss`] may be non-finite.
    fn on_non_finite(&mut self, step: &StepView<'_>) {
        let _ = step;
    }

    /// After an epoch's evaluation.
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> ControlFlow<String> {
        let _ = metrics;
        ControlFlow::Continue(())
    }
}

/// What an [`Observer`] sees of one training step.
pub struct StepView<'a> {
    /// The step, from 1 (the optimizer's step count once this step's update is done).
    pub step: u64,
    /// The epoch, from 0.
    pub epoch: u64,
    /// The batch's mean training loss (label smoothing included).
    pub loss: f64,
    /// Samples in the batch.
    pub batch_size: usize,
    /// The global L2 norm of all trainable parameters' gradients before clipping.
    pub grad_norm: f64,
    /// The learning rate of this step's update.
    pub lr: f64,
    /// The network; `network.tape` holds this step's recorded values and gradients, and
    /// its parameter store the weights and their gradients.
    pub network: &'a Network<f32>,
    /// Each top-level layer's output on the tape, in order, if the observer asked for
    /// them ([`Observer::wants_taps`]); empty otherwise.
    pub taps: &'a [Tap],
    /// The logits (the network's output) on the tape.
    pub logits: Var,
}

impl StepView<'_> {
    /// The tape of this step.
    pub fn tape(&self) -> &Tape<f32> {
        &self.network.tape
    }
}

/// What an [`Observer`] may evaluate once a step is done ([`Observer::on_step_end`]): the
/// network in evaluation mode (no dropout, batch norm on its running statistics) on the
/// run's validation or test set, or on any data set scaled as the run's are, in batches of
/// `eval_batch_size`, with the loss and accuracy of the epoch-end evaluations.
///
/// Evaluating changes nothing the run goes on with: it draws from no RNG of the run (not
/// the shuffling's, not dropout's), leaves batch norm's running statistics alone, touches
/// no gradient or optimizer state, and records nothing for a backward pass; the next step
/// resets the tape and records everything again. A run with evaluations between its steps
/// ends with the same weights, bit for bit, as one without.
pub struct EvalContext<'a> {
    pub(crate) step: u64,
    pub(crate) epoch: u64,
    pub(crate) net: &'a mut Network<f32>,
    pub(crate) batch_size: usize,
    pub(crate) x: &'a mut Array2<f32>,
    pub(crate) y: &'a mut Vec<gradwell_tensor::ClassLabel>,
    pub(crate) v: &'a mut Vec<f32>,
    pub(crate) validation: Option<&'a Dataset>,
    pub(crate) test: Option<&'a Dataset>,
}

impl EvalContext<'_> {
    /// The step just done, from 1.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The epoch it belongs to, from 0.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The network, with the weights this step's update left.
    pub fn network(&self) -> &Network<f32> {
        self.net
    }

    /// The run's validation part, scaled, if there is one.
    pub fn validation_set(&self) -> Option<&Dataset> {
        self.validation
    }

    /// The run's test set, scaled, if there is one.
    pub fn test_set(&self) -> Option<&Dataset> {
        self.test
    }

    /// Loss and accuracy of the network on `ds` (which must be scaled as the run's data
    /// are: take it from [`EvalContext::test_set`] or the trainer's sets), in evaluation
    /// mode.
    ///
    /// # Errors
    /// A data set that does not fit the network (its features or classes).
    pub fn evaluate(&mut self, ds: &Dataset) -> Result<EvalMetrics> {
        crate::trainer::evaluate_network(self.net, ds, self.batch_size, self.x, self.y, self.v)
    }

    /// [`EvalContext::evaluate`] on the test set; `None` without one.
    ///
    /// # Errors
    /// As [`EvalContext::evaluate`].
    pub fn evaluate_test(&mut self) -> Result<Option<EvalMetrics>> {
        let test = self.test;
        test.map(|ds| self.evaluate(ds)).transpose()
    }

    /// [`EvalContext::evaluate`] on the validation part; `None` without one.
    ///
    /// # Errors
    /// As [`EvalContext::evaluate`].
    pub fn evaluate_validation(&mut self) -> Result<Option<EvalMetrics>> {
        let validation = self.validation;
        validation.map(|ds| self.evaluate(ds)).transpose()
    }
}

/// Loss and accuracy of an evaluation: the mean loss (cross-entropy without label
/// smoothing, per sample or per step; the mean squared error for real targets) and the
/// fraction of samples (or of the steps not labelled blank) whose largest logit is the
/// label's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalMetrics {
    /// Mean loss: cross-entropy, or the mean squared error for real targets.
    pub loss: f64,
    /// Fraction classified correctly; `None` for real targets, whose metric is the loss.
    pub accuracy: Option<f64>,
    /// Samples evaluated.
    pub samples: usize,
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch, from 0.
    pub epoch: u64,
    /// Steps taken so far, this epoch's included.
    pub steps: u64,
    /// The learning rate at the epoch's last step.
    pub lr: f64,
    /// Mean training loss over the epoch's batches, weighted by batch size, as measured
    /// during training (dropout active, weights changing).
    pub train_loss: f64,
    /// Training accuracy measured the same way; `None` for real targets.
    pub train_accuracy: Option<f64>,
    /// The held-out validation set, in evaluation mode, if there is one.
    pub validation: Option<EvalMetrics>,
    /// The test set, in evaluation mode, if there is one.
    pub test: Option<EvalMetrics>,
    /// Seconds the epoch took, evaluation included (not reproducible; 0 in a checkpoint's
    /// comparison).
    pub seconds: f64,
}
