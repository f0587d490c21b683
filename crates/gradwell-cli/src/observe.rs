//! [`MonitorObserver`]: the gradient-health monitor plugged into the training loop through
//! `gradwell-train`'s [`Observer`] hook (the trainer does not know the monitor); and
//! [`EvalObserver`], the evaluations of `--eval-every` through the same hook.

use std::ops::ControlFlow;

use gradwell_monitor::{
    Finding, FindingKind, History, Monitor, MonitorConfig, NonFinite, Severity, Snapshot,
    trace_non_finite,
};
use gradwell_train::{EpochMetrics, EvalContext, EvalMetrics, Observer, StepView};
use serde::{Deserialize, Serialize};

/// Records, at every step, each parameter's gradient figures (before clipping); on the
/// detailed steps (step 1, then every `layer_every`), each layer's outputs and the
/// update-to-weight ratios of the optimizer step; prints the findings when they change.
///
/// The findings are judged on the detailed steps, from the history so far
/// ([`Monitor::findings`]). A finding is printed when it first shows or changes severity,
/// and a line says when it has been gone for [`QUIET_CHECKS`] detailed steps.
#[derive(Debug)]
pub struct MonitorObserver {
    monitor: Monitor,
    snapshot: Snapshot<f32>,
    shown: Shown,
    non_finite: Option<NonFinite>,
    print: bool,
    /// Every finding printed, with its step, in order.
    pub log: Vec<(u64, Finding)>,
    /// Every finding that went away, with its step.
    pub resolved: Vec<(u64, FindingKind)>,
}

impl MonitorObserver {
    /// A monitor with layer statistics at step 1 and every `layer_every` steps; `print`
    /// says whether findings go to standard error as they change.
    pub fn new(layer_every: usize, print: bool) -> Self {
        MonitorObserver {
            monitor: Monitor::new(MonitorConfig {
                layer_every,
                layer_steps: vec![1],
                ..MonitorConfig::default()
            }),
            snapshot: Snapshot::default(),
            shown: Shown::default(),
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
        let (announce, gone) = self.shown.update(&findings);
        for i in announce {
            self.announce(step, &findings[i]);
        }
        for kind in gone {
            if self.print {
                eprintln!("step {step}: no longer: {kind}");
            }
            self.resolved.push((step, kind));
        }
    }

    fn announce(&mut self, step: u64, f: &Finding) {
        if self.print {
            eprintln!("step {step}: {f}");
        }
        self.log.push((step, f.clone()));
    }
}

/// A finding gone from this many consecutive detailed steps is reported as gone (and
/// would be announced again if it came back); a finding that flickers around its
/// threshold is not repeated.
pub const QUIET_CHECKS: usize = 5;

/// The findings announced and not yet gone, with how many consecutive checks each has
/// been absent: the de-duplication of [`MonitorObserver`]'s output.
#[derive(Debug, Clone, Default)]
struct Shown {
    entries: Vec<(FindingKind, Severity, usize)>,
}

impl Shown {
    /// Takes one check's findings; returns the indices of those to announce (new, or of a
    /// changed severity) and the kinds now gone for [`QUIET_CHECKS`] checks in a row.
    fn update(&mut self, findings: &[Finding]) -> (Vec<usize>, Vec<FindingKind>) {
        let mut announce = Vec::new();
        for (i, f) in findings.iter().enumerate() {
            match self.entries.iter_mut().find(|e| e.0 == f.kind) {
                Some(e) => {
                    if e.1 != f.severity {
                        e.1 = f.severity;
                        announce.push(i);
                    }
                    e.2 = 0;
                }
                None => {
                    self.entries.push((f.kind, f.severity, 0));
                    announce.push(i);
                }
            }
        }
        let mut gone = Vec::new();
        for e in &mut self.entries {
            if !findings.iter().any(|f| f.kind == e.0) {
                e.2 += 1;
                if e.2 == QUIET_CHECKS {
                    gone.push(e.0);
                }
            }
        }
        self.entries.retain(|e| !gone.contains(&e.0));
        (announce, gone)
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
        let at = metrics.epoch as usize + 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: FindingKind, severity: Severity) -> Finding {
        Finding {
            severity,
            kind,
            layers: vec!["1".into()],
            figure: 0.6,
            threshold: 0.5,
            message: String::new(),
            cures: Vec::new(),
        }
    }

    #[test]
    fn a_finding_flickering_around_its_threshold_is_announced_once() {
        let mut shown = Shown::default();
        let dead = finding(FindingKind::DeadUnits, Severity::Warning);
        let mut announced = 0;
        let mut gone = 0;
        // Present, absent for fewer than QUIET_CHECKS checks, present again, ten times.
        for _ in 0..10 {
            let (a, g) = shown.update(std::slice::from_ref(&dead));
            announced += a.len();
            gone += g.len();
            for _ in 0..QUIET_CHECKS - 1 {
                let (a, g) = shown.update(&[]);
                announced += a.len();
                gone += g.len();
            }
        }
        assert_eq!((announced, gone), (1, 0));
    }

    #[test]
    fn severity_changes_are_announced_and_long_absences_reported_gone() {
        let mut shown = Shown::default();
        let warn = finding(FindingKind::DeadUnits, Severity::Warning);
        let crit = finding(FindingKind::DeadUnits, Severity::Critical);
        assert_eq!(shown.update(std::slice::from_ref(&warn)).0, vec![0]);
        assert!(shown.update(std::slice::from_ref(&warn)).0.is_empty());
        assert_eq!(shown.update(std::slice::from_ref(&crit)).0, vec![0]);
        for _ in 0..QUIET_CHECKS - 1 {
            assert!(shown.update(&[]).1.is_empty());
        }
        assert_eq!(shown.update(&[]).1, vec![FindingKind::DeadUnits]);
        // Back after being reported gone: announced again.
        assert_eq!(shown.update(std::slice::from_ref(&warn)).0, vec![0]);
    }
}
