//! [`MonitorObserver`]: the gradient-health monitor plugged into the training loop through
//! `gradwell-train`'s [`Observer`] hook (the trainer does not know the monitor); and
//! [`EvalObserver`], the evaluations of `--eval-every` through the same hook.

use std::ops::ControlFlow;

use gradwell_monitor::{
    Finding, FindingKind, FindingTracker, History, Monitor, MonitorConfig, NonFinite, Setup,
    Snapshot, Thresholds, render_findings, trace_non_finite,
};
use gradwell_train::{EpochMetrics, EvalContext, EvalMetrics, Observer, StepView};
use serde::{Deserialize, Serialize};

/// Records, at every step, each parameter's gradient figures (before clipping); on the
/// detailed steps (step 1, then every `layer_every`), each layer's outputs and the
/// update-to-weight ratios of the optimizer step; prints the findings when they change.
///
/// The findings are judged on the detailed steps, from the history so far
/// ([`Monitor::findings`]), with hysteresis ([`FindingTracker`]): a finding is printed
/// when it has held for [`Thresholds::finding_hold`] detailed steps in a row (or held a
/// new severity that long), and a line says when it has stopped holding for as many. The
/// cures are fitted to the run's [`Setup`], and a cure is printed once per step.
#[derive(Debug)]
pub struct MonitorObserver {
    monitor: Monitor,
    snapshot: Snapshot<f32>,
    shown: FindingTracker,
    non_finite: Option<NonFinite>,
    print: bool,
    /// Every finding printed, with its step, in order.
    pub log: Vec<(u64, Finding)>,
    /// Every finding that went away, with its step.
    pub resolved: Vec<(u64, FindingKind)>,
}

impl MonitorObserver {
    /// A monitor with layer statistics at step 1 and every `layer_every` steps, the
    /// default thresholds and cures fitted to `setup`; `print` says whether findings go to
    /// standard error as they change.
    pub fn new(layer_every: usize, print: bool, setup: Setup) -> Self {
        let thresholds = Thresholds::default();
        MonitorObserver {
            monitor: Monitor::new(MonitorConfig {
                layer_every,
                layer_steps: vec![1],
                thresholds,
                setup,
            }),
            snapshot: Snapshot::default(),
            shown: FindingTracker::new(thresholds.finding_hold),
            non_finite: None,
            print,
            log: Vec::new(),
            resolved: Vec::new(),
        }
    }

    /// The monitor.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// What was recorded, with the non-finite event that stopped the run, if one did.
    pub fn into_history(self) -> History {
        let mut h = self.monitor.into_history();
        if h.non_finite.is_none() {
            h.non_finite = self.non_finite;
        }
        h
    }

    /// Where the first NaN or infinity appeared at the step the trainer stopped on (the
    /// forward op and layer, the first non-finite gradient), if it stopped on one.
    pub fn non_finite(&self) -> Option<&NonFinite> {
        self.non_finite.as_ref()
    }

    fn report(&mut self, step: u64) {
        let findings = self.monitor.findings();
        let changes = self.shown.update(&findings);
        if self.print {
            eprint!(
                "{}",
                render_findings(
                    changes.announce.iter().map(|&i| &findings[i]),
                    &format!("step {step}: ")
                )
            );
        }
        self.log.extend(
            changes
                .announce
                .iter()
                .map(|&i| (step, findings[i].clone())),
        );
        for kind in changes.ended {
            if self.print {
                eprintln!("step {step}: no longer: {kind}");
            }
            self.resolved.push((step, kind));
        }
    }
}

impl Observer for MonitorObserver {
    fn wants_taps(&mut self, step: u64) -> bool {
        self.monitor.is_detailed(step as usize)
    }

    fn on_step(&mut self, view: &StepView<'_>) -> ControlFlow<String> {
        let step = view.step as usize;
        let detailed = self.monitor.is_detailed(step);
        self.monitor.record(step, view.tape(), view.taps, view.loss);
        if detailed {
            self.snapshot.capture(view.tape().params());
        }
        ControlFlow::Continue(())
    }

    fn after_update(&mut self, view: &StepView<'_>) {
        let step = view.step as usize;
        if self.monitor.wants_updates(step) {
            self.monitor
                .record_update(&self.snapshot, view.tape().params());
            self.report(view.step);
        }
    }

    /// Walks the tape of the step that went non-finite (still holding its values and
    /// gradients) to the op and layer where the first NaN or infinity appeared; the
    /// trainer gives the layers' taps on that tape at every step, the first one of a run
    /// or of a resumed run included.
    fn on_non_finite(&mut self, view: &StepView<'_>) {
        self.non_finite = trace_non_finite(view.tape(), view.taps, view.step as usize);
    }

    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> ControlFlow<String> {
        let at = gradwell_train::epoch_number(metrics.epoch) as usize;
        self.monitor
            .record_metric("train_loss", at, metrics.train_loss);
        if let Some(a) = metrics.train_accuracy {
            self.monitor.record_metric("train_accuracy", at, a);
        }
        if let Some(t) = metrics.test {
            self.monitor.record_metric("test_loss", at, t.loss);
            if let Some(a) = t.accuracy {
                self.monitor.record_metric("test_accuracy", at, a);
            }
        }
        if let Some(v) = metrics.validation {
            self.monitor.record_metric("validation_loss", at, v.loss);
            if let Some(a) = v.accuracy {
                self.monitor.record_metric("validation_accuracy", at, a);
            }
        }
        ControlFlow::Continue(())
    }
}

/// One evaluation in the middle of a run (`--eval-every`): a row of `run.json` and of
/// `evaluations.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepEvaluation {
    /// The step after which the network was evaluated, from 1.
    pub step: u64,
    /// The epoch of that step, from 0.
    pub epoch: u64,
    /// The test set, if the run has one.
    pub test: Option<EvalMetrics>,
    /// The validation part, if the run has one.
    pub validation: Option<EvalMetrics>,
}

/// Evaluates the test set and the validation part every `every` steps, through
/// [`Observer::on_step_end`] (in evaluation mode; the run goes on as it would without).
#[derive(Debug)]
pub struct EvalObserver {
    every: u64,
    print: bool,
    /// The evaluations, in order.
    pub rows: Vec<StepEvaluation>,
}

impl EvalObserver {
    /// Evaluations every `every` (`>= 1`) steps; `print` says whether each is shown on
    /// standard error.
    pub fn new(every: u64, print: bool) -> Self {
        EvalObserver {
            every: every.max(1),
            print,
            rows: Vec::new(),
        }
    }
}

impl Observer for EvalObserver {
    /// Evaluates after every `every`-th step; an evaluation that fails (it should not: the
    /// trainer has checked that the sets fit the network) stops the run, saying why.
    fn on_step_end(&mut self, eval: &mut EvalContext<'_>) -> ControlFlow<String> {
        if !eval.step().is_multiple_of(self.every) {
            return ControlFlow::Continue(());
        }
        let evaluated = eval
            .evaluate_test()
            .and_then(|test| Ok((test, eval.evaluate_validation()?)));
        let (test, validation) = match evaluated {
            Ok(both) => both,
            Err(e) => {
                return ControlFlow::Break(format!(
                    "the evaluation after step {}: {}",
                    eval.step(),
                    crate::one_line(e)
                ));
            }
        };
        let row = StepEvaluation {
            step: eval.step(),
            epoch: eval.epoch(),
            test,
            validation,
        };
        if self.print {
            let mut line = format!("step {}: evaluation", row.step);
            for (part, m) in [("test", row.test), ("val", row.validation)] {
                if let Some(m) = m {
                    line += &format!(
                        "  {part} {}",
                        gradwell_train::targets::metric_words(m.loss, m.accuracy)
                    );
                }
            }
            eprintln!("{line}");
        }
        self.rows.push(row);
        ControlFlow::Continue(())
    }
}
