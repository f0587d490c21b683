//! [`MonitorObserver`]: the gradient-health monitor plugged into the training loop through
//! `gradwell-train`'s [`Observer`] hook (the trainer does not know the monitor).

use std::ops::ControlFlow;

use gradwell_autodiff::Tape;
use gradwell_monitor::{
    Finding, FindingKind, History, Monitor, MonitorConfig, NonFinite, Severity, Snapshot,
    trace_non_finite,
};
use gradwell_nn::Tap;
use gradwell_train::{EpochMetrics, Observer, StepView};

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
    last_taps: Vec<Tap>,
    shown: Vec<Shown>,
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
            last_taps: Vec::new(),
            shown: Vec::new(),
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

    /// What was recorded, with the non-finite event found by [`MonitorObserver::trace`].
    pub fn into_history(self) -> History {
        let mut h = self.monitor.into_history();
        if h.non_finite.is_none() {
            h.non_finite = self.non_finite;
        }
        h
    }

    /// After the trainer stopped on a non-finite loss or gradient at `step`: walks the tape
    /// of that step (still holding its values and gradients) to the forward op and layer
    /// where the first NaN or infinity appeared, keeps it and returns it. The layer names
    /// come from the taps of the last detailed step (every step records the same ops in
    /// the same order).
    pub fn trace(&mut self, tape: &Tape<f32>, step: u64) -> Option<NonFinite> {
        let nf = trace_non_finite(tape, &self.last_taps, step as usize)?;
        self.non_finite = Some(nf.clone());
        Some(nf)
    }

    fn report(&mut self, step: u64) {
        let findings = self.monitor.findings();
        for f in &findings {
            match self.shown.iter_mut().find(|t| t.kind == f.kind) {
                Some(t) if t.severity == f.severity => t.absent = 0,
                Some(t) => {
                    // The same kind, worse or better: say so.
                    t.severity = f.severity;
                    t.absent = 0;
                    self.announce(step, f);
                }
                None => {
                    self.shown.push(Shown {
                        kind: f.kind,
                        severity: f.severity,
                        absent: 0,
                    });
                    self.announce(step, f);
                }
            }
        }
        let mut gone = Vec::new();
        for t in &mut self.shown {
            if !findings.iter().any(|f| f.kind == t.kind) {
                t.absent += 1;
                if t.absent == QUIET_CHECKS {
                    gone.push(t.kind);
                }
            }
        }
        for kind in gone {
            self.shown.retain(|t| t.kind != kind);
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

/// A finding announced and not yet gone.
#[derive(Debug, Clone, Copy)]
struct Shown {
    kind: FindingKind,
    severity: Severity,
    absent: usize,
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
            if !view.taps.is_empty() {
                self.last_taps.clear();
                self.last_taps.extend_from_slice(view.taps);
            }
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

    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> ControlFlow<String> {
        let at = metrics.epoch as usize + 1;
        self.monitor
            .record_metric("train_loss", at, metrics.train_loss);
        self.monitor
            .record_metric("train_accuracy", at, metrics.train_accuracy);
        if let Some(t) = metrics.test {
            self.monitor.record_metric("test_loss", at, t.loss);
            self.monitor.record_metric("test_accuracy", at, t.accuracy);
        }
        if let Some(v) = metrics.validation {
            self.monitor.record_metric("validation_loss", at, v.loss);
            self.monitor
                .record_metric("validation_accuracy", at, v.accuracy);
        }
        ControlFlow::Continue(())
    }
}
