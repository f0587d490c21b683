//! [`Monitor`]: records per-parameter figures at every step and per-layer figures on
//! chosen steps; [`Snapshot`] for update-to-weight ratios; [`probe`] for a network at
//! initialization.

use std::collections::HashMap;

use gradwell_activations::ActivationInfo;
use gradwell_autodiff::{ParamId, ParamStore, Tape};
use gradwell_nn::{LayerSpec, Network, Tap, losses};
use gradwell_tensor::{ClassLabel, Float};
use ndarray::{ArrayD, ArrayView, ArrayView2, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::record::{History, LayerStats, ParamStats, StepRecord, UpdateStats};
use crate::stats::{saturation_rule, unit_spread, unit_stats};
use crate::{Finding, MonitorError, NonFinite, Result, Setup, TensorStats, Thresholds, diagnose};

/// Which steps get layer statistics, and the thresholds of the statistics and findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitorConfig {
    /// Layer statistics every this many steps (step 0, `n`, `2n`, …); 0 for never.
    pub layer_every: usize,
    /// Further steps that get layer statistics.
    pub layer_steps: Vec<usize>,
    /// The thresholds.
    pub thresholds: Thresholds,
    /// What the run already does, to fit the findings' cures to it.
    pub setup: Setup,
}

impl Default for MonitorConfig {
    /// Layer statistics every 10 steps, default thresholds, nothing known of the setup.
    fn default() -> Self {
        MonitorConfig {
            layer_every: 10,
            layer_steps: Vec::new(),
            thresholds: Thresholds::default(),
            setup: Setup::default(),
        }
    }
}

/// The gradient-health monitor of a training run.
///
/// A training loop that monitors does, at each step:
///
/// 1. the forward pass with taps (`net.forward(x, true, rng, Some(&mut taps))` — a tap is a
///    path and a handle per layer, cheap enough for every step), the loss, the backward;
/// 2. [`Monitor::record`] **before** clipping, so the gradients are the raw ones;
/// 3. if [`Monitor::wants_updates`], [`Snapshot::capture`] before the optimizer step and
///    [`Monitor::record_update`] after it.
///
/// A loop that does not monitor holds no `Monitor` (an `Option<Monitor>` that is `None`)
/// and passes no taps: switched off, the monitor costs nothing. Switched on, a step costs
/// one pass over the gradients (as much as clipping by global norm), and a detailed step one
/// pass over each layer's output and output gradient.
///
/// ```
/// use gradwell_monitor::{Monitor, MonitorConfig};
/// use gradwell_nn::{MlpSpec, Network, losses};
/// use ndarray::Array2;
/// use rand::SeedableRng;
///
/// let mut net = Network::<f32>::build(&MlpSpec::new(&[4, 8, 3], "relu".parse()?).to_spec()?, 0)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let mut monitor = Monitor::new(MonitorConfig { layer_every: 1, ..Default::default() });
/// let x = Array2::<f32>::from_elem((2, 4), 0.5);
/// net.tape.reset();
/// let xv = net.tape.input_view(&x.view().into_dyn());
/// let mut taps = Vec::new();
/// let logits = net.forward(xv, true, &mut rng, Some(&mut taps))?;
/// let labels = net.tape.labels(&[0, 2]);
/// let loss = losses::cross_entropy(&mut net.tape, logits, labels, 0.0, Default::default())?;
/// net.tape.backward(loss)?;
/// let loss_value = net.tape.value(loss)[[]] as f64;
/// let record = monitor.record(0, &net.tape, &taps, loss_value);
/// assert_eq!(record.params.len(), 4); // 0.weight, 0.bias, 2.weight, 2.bias
/// assert_eq!(record.layers.len(), 3); // Linear, ReLU, Linear
/// assert!(record.global_grad_norm > 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Monitor {
    config: MonitorConfig,
    history: History,
}

impl Monitor {
    /// A monitor with an empty history.
    pub fn new(config: MonitorConfig) -> Self {
        Monitor {
            config,
            history: History::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    /// Whether `step` gets layer statistics.
    pub fn is_detailed(&self, step: usize) -> bool {
        (self.config.layer_every > 0 && step.is_multiple_of(self.config.layer_every))
            || self.config.layer_steps.contains(&step)
    }

    /// Whether the update of `step` should be recorded (the detailed steps).
    pub fn wants_updates(&self, step: usize) -> bool {
        self.is_detailed(step)
    }

    /// Records the step after its backward pass and before clipping: per-parameter
    /// gradient figures always, per-layer figures on detailed steps. The first time a NaN
    /// or an infinity shows (in the loss, a gradient or a tapped output), the tape is
    /// walked to find where it first appeared ([`History::non_finite`]).
    pub fn record<F: Float>(
        &mut self,
        step: usize,
        tape: &Tape<F>,
        taps: &[Tap],
        loss: f64,
    ) -> &StepRecord {
        let detailed = self.is_detailed(step);
        let record = step_record(step, tape, taps, loss, detailed, &self.config.thresholds);
        if self.history.non_finite.is_none() && record.non_finite() {
            self.history.non_finite = Some(crate::trace_non_finite(tape, taps, step).unwrap_or(
                NonFinite {
                    step,
                    forward: None,
                    gradient: None,
                },
            ));
        }
        self.history.steps.push(record);
        let last = self.history.steps.len() - 1;
        &self.history.steps[last]
    }

    /// Attaches the update-to-weight ratios of the optimizer step just taken (weights in
    /// `before`, now in `store`) to the last record.
    pub fn record_update<F: Float>(&mut self, before: &Snapshot<F>, store: &ParamStore<F>) {
        let updates = before.updates(store);
        if let Some(r) = self.history.steps.last_mut() {
            r.updates = updates;
        }
    }

    /// Appends a named metric (e.g. `"test_accuracy"` at an epoch).
    pub fn record_metric(&mut self, name: &str, at: usize, value: f64) {
        self.history.push_metric(name, at, value);
    }

    /// What was recorded.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Takes the history out.
    pub fn into_history(self) -> History {
        self.history
    }

    /// The findings the history supports now ([`diagnose`]).
    pub fn findings(&self) -> Vec<Finding> {
        diagnose(&self.history, &self.config.thresholds, &self.config.setup)
    }
}

/// Per-parameter gradient figures of every trainable parameter.
pub fn param_stats<F: Float>(store: &ParamStore<F>) -> Vec<ParamStats> {
    store
        .ids()
        .filter(|&id| store.is_trainable(id))
        .map(|id| {
            let g = TensorStats::of(&store.grad(id));
            let w = TensorStats::of(&store.value(id));
            ParamStats {
                name: store.name(id).to_string(),
                shape: store.value(id).shape().to_vec(),
                grad_norm: g.l2,
                grad_max_abs: g.max_abs,
                grad_zero_fraction: g.zero_fraction(),
                grad_nan: g.nan,
                grad_inf: g.inf,
                no_gradient: g.zeros == g.len && g.len > 0,
                weight_norm: w.l2,
            }
        })
        .collect()
}

/// √(Σ‖g‖²) over the parameters; NaN when a gradient holds a NaN, ∞ when one holds an
/// infinity.
pub fn global_norm(params: &[ParamStats]) -> f64 {
    if params.iter().any(|p| p.grad_nan > 0) {
        f64::NAN
    } else if params.iter().any(|p| p.grad_inf > 0) {
        f64::INFINITY
    } else {
        params
            .iter()
            .map(|p| p.grad_norm * p.grad_norm)
            .sum::<f64>()
            .sqrt()
    }
}

/// ‖∇W_first‖ / ‖∇W_last‖ over the weights of two or more axes.
pub fn first_last_ratio(params: &[ParamStats]) -> Option<f64> {
    let mut w = params.iter().filter(|p| p.shape.len() >= 2);
    let first = w.next()?;
    let last = w.next_back()?;
    (last.grad_norm > 0.0).then(|| first.grad_norm / last.grad_norm)
}

/// Per-layer figures of the tapped outputs (after a backward pass, for the gradients).
pub fn layer_stats<F: Float>(
    tape: &Tape<F>,
    taps: &[Tap],
    thresholds: &Thresholds,
) -> Vec<LayerStats> {
    let store = tape.params();
    // The layer's own parameters by name within it: `weight`, or a recurrent layer's
    // `weight_ih_l0`, `weight_hh_l0`, … (not those of layers nested in it).
    let mut by_layer: HashMap<&str, Vec<(&str, ParamId)>> = HashMap::new();
    for id in store.ids() {
        if let Some((path, local)) = store.name(id).rsplit_once('.') {
            by_layer.entry(path).or_default().push((local, id));
        }
    }
    // ‖∇‖₂ of the parameters named `kind` or `kind_…` together.
    let grad_norm = |kind: &str, path: &str| {
        let mut found = false;
        let mut sum = 0.0;
        for &(local, id) in by_layer.get(path).into_iter().flatten() {
            let matches = local == kind
                || local
                    .strip_prefix(kind)
                    .is_some_and(|rest| rest.starts_with('_'));
            if matches {
                found = true;
                sum += TensorStats::of(&store.grad(id)).l2.powi(2);
            }
        }
        found.then(|| sum.sqrt())
    };
    taps.iter()
        .filter(|t| tape.var_at(t.output.index()) == Some(t.output))
        .map(|t| {
            let y = tape.value(t.output);
            let s = TensorStats::of(&y);
            // Saturation and dead units are asked of the element-wise activation.
            let elementwise = t.activation.and_then(|a| a.elementwise());
            let rule = elementwise
                .as_ref()
                .and_then(|a| saturation_rule(a, thresholds));
            let (dead, saturated) = unit_stats(&y, rule.as_deref());
            let dies = elementwise.is_some_and(|a| a.can_die());
            LayerStats {
                path: t.path.clone(),
                kind: t.kind.to_string(),
                activation: t.activation.map(|a| a.to_string()),
                mean: s.mean,
                std: s.std,
                second_moment: s.second_moment,
                zero_fraction: s.zero_fraction(),
                dead_fraction: dies.then_some(dead),
                saturated_fraction: saturated,
                non_finite: s.non_finite(),
                units: y.len() / y.shape().first().copied().unwrap_or(1).max(1),
                unit_spread: unit_spread(&y),
                output_grad_norm: tape.grad(t.output).map(|g| TensorStats::of(&g).l2),
                weight_grad_norm: grad_norm("weight", &t.path),
                bias_grad_norm: grad_norm("bias", &t.path),
            }
        })
        .collect()
}

fn step_record<F: Float>(
    step: usize,
    tape: &Tape<F>,
    taps: &[Tap],
    loss: f64,
    detailed: bool,
    thresholds: &Thresholds,
) -> StepRecord {
    let params = param_stats(tape.params());
    StepRecord {
        step,
        loss,
        global_grad_norm: global_norm(&params),
        first_last_ratio: first_last_ratio(&params),
        layers: if detailed {
            layer_stats(tape, taps, thresholds)
        } else {
            Vec::new()
        },
        params,
        updates: Vec::new(),
        through_time: if detailed {
            crate::time_gradients(tape, taps)
        } else {
            Vec::new()
        },
        recurrent_radius: if detailed {
            crate::recurrent_radii(tape, taps)
        } else {
            Vec::new()
        },
    }
}

/// A copy of the trainable weights, to measure an optimizer step's ‖Δw‖/‖w‖. Its buffers
/// are reused by [`Snapshot::capture`], so a loop can keep one for the whole run.
///
/// ```
/// use gradwell_autodiff::ParamStore;
/// use gradwell_monitor::Snapshot;
/// use ndarray::array;
///
/// let mut store = ParamStore::<f64>::new();
/// let w = store.add("w", array![3.0, 4.0].into_dyn());
/// let before = Snapshot::take(&store);
/// store.value_mut(w)[[0]] += 0.5; // an "optimizer step"
/// let u = before.updates(&store);
/// assert_eq!(u[0].ratio, Some(0.1)); // ‖Δw‖ = 0.5, ‖w‖ = 5
/// ```
#[derive(Debug, Clone, Default)]
pub struct Snapshot<F: Float> {
    names: Vec<String>,
    values: Vec<ArrayD<F>>,
}

impl<F: Float> Snapshot<F> {
    /// A snapshot of the trainable parameters of `store`.
    pub fn take(store: &ParamStore<F>) -> Self {
        let mut s = Snapshot {
            names: Vec::new(),
            values: Vec::new(),
        };
        s.capture(store);
        s
    }

    /// Copies the current trainable weights, reusing the buffers when the parameters are
    /// the same as last time.
    pub fn capture(&mut self, store: &ParamStore<F>) {
        let ids: Vec<ParamId> = store.ids().filter(|&id| store.is_trainable(id)).collect();
        let same = ids.len() == self.values.len()
            && ids
                .iter()
                .zip(&self.values)
                .all(|(&id, v)| store.value(id).shape() == v.shape());
        if !same {
            self.names = ids.iter().map(|&id| store.name(id).to_string()).collect();
            self.values = ids.iter().map(|&id| store.value(id).to_owned()).collect();
            return;
        }
        for (&id, v) in ids.iter().zip(&mut self.values) {
            v.assign(&store.value(id));
        }
    }

    /// ‖w_now − w_then‖ / ‖w_then‖ per parameter, matched by name.
    pub fn updates(&self, store: &ParamStore<F>) -> Vec<UpdateStats> {
        let by_name: HashMap<&str, ParamId> = store.ids().map(|id| (store.name(id), id)).collect();
        self.names
            .iter()
            .zip(&self.values)
            .filter_map(|(name, then)| {
                let now = store.value(*by_name.get(name.as_str())?);
                if now.shape() != then.shape() {
                    return None;
                }
                let (mut du, mut w) = (0.0_f64, 0.0_f64);
                for (a, b) in now.iter().zip(then.iter()) {
                    let (a, b) = (a.as_f64(), b.as_f64());
                    du += (a - b) * (a - b);
                    w += b * b;
                }
                let (du, w) = (du.sqrt(), w.sqrt());
                Some(UpdateStats {
                    name: name.clone(),
                    update_norm: du,
                    weight_norm: w,
                    ratio: (w > 0.0).then(|| du / w),
                })
            })
            .collect()
    }
}

/// What [`probe`] found: the figures of one forward and backward pass at the network's
/// current weights, the non-finite event if any, and the findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// The figures, with layer statistics.
    pub record: StepRecord,
    /// Where a NaN or infinity first appeared, if one did.
    pub non_finite: Option<NonFinite>,
    /// The findings ([`diagnose`] on this one record).
    pub findings: Vec<Finding>,
}

/// What a probe's batch is scored against ([`probe_targets`]).
#[derive(Debug, Clone, Copy)]
pub enum ProbeTargets<'a, F> {
    /// Class labels: one per sample for outputs `[N, C]`, or one per step, sample after
    /// sample, for outputs `[N, T, C]` (cross-entropy over every step).
    Classes(&'a [ClassLabel]),
    /// Real targets, as many as the outputs hold, in their order (mean squared error).
    Values(&'a [F]),
}

/// One forward pass (training mode, as in training) and backward pass of a batch `x` with
/// class `labels` through `net`, measuring every layer: what a network looks like at
/// initialization. The loss is cross-entropy on the outputs as logits, or NLL when the
/// model ends with log-softmax. See [`probe_targets`] for per-step labels and real
/// targets.
///
/// The network is left as it was found: weights and buffers (batch norm's running
/// statistics) are restored and gradients zeroed. The findings' cures are fitted to
/// `setup` (what the network already does; `Setup::default()` when unknown).
///
/// # Errors
/// A model ending in softmax (its outputs are not logits), shapes or labels that do not
/// fit.
pub fn probe<F: Float>(
    net: &mut Network<F>,
    x: &ArrayView2<'_, F>,
    labels: &[ClassLabel],
    thresholds: &Thresholds,
    setup: &Setup,
) -> Result<Probe> {
    probe_targets(net, x, ProbeTargets::Classes(labels), thresholds, setup)
}

/// [`probe`] with any targets: class labels per sample or per step, or real values. The
/// rows of `x` are reshaped to the model's input shape (`[N, T, F]` for sequences).
///
/// # Errors
/// As [`probe`]; targets that do not fit the outputs.
pub fn probe_targets<F: Float>(
    net: &mut Network<F>,
    x: &ArrayView2<'_, F>,
    targets: ProbeTargets<'_, F>,
    thresholds: &Thresholds,
    setup: &Setup,
) -> Result<Probe> {
    let log_probs = match net.spec().layers.last() {
        Some(LayerSpec::Softmax(_)) => {
            return Err(MonitorError::invalid(
                "model",
                "the probe needs logits or log-probabilities; drop the final softmax",
            ));
        }
        Some(LayerSpec::LogSoftmax(_)) => true,
        _ => false,
    };
    let saved: Vec<ArrayD<F>> = {
        let store = net.tape.params();
        store.ids().map(|id| store.value(id).to_owned()).collect()
    };
    net.tape.params_mut().zero_grad();
    let result = run_probe(net, x, targets, thresholds, setup, log_probs);
    let store = net.tape.params_mut();
    for (id, v) in store.ids().zip(saved) {
        store.value_mut(id).assign(&v);
    }
    store.zero_grad();
    result
}

fn run_probe<F: Float>(
    net: &mut Network<F>,
    x: &ArrayView2<'_, F>,
    targets: ProbeTargets<'_, F>,
    thresholds: &Thresholds,
    setup: &Setup,
    log_probs: bool,
) -> Result<Probe> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    net.tape.reset();
    let was = net.tape.is_recording();
    net.tape.set_recording(true);
    let mut shape = vec![x.nrows()];
    shape.extend_from_slice(&net.spec().input_shape);
    let shaped = x.view().into_shape_with_order(IxDyn(&shape)).map_err(|_| {
        MonitorError::invalid(
            "batch",
            format!(
                "{} features per sample do not make the model's input shape {:?}",
                x.ncols(),
                net.spec().input_shape
            ),
        )
    })?;
    let xv = net.tape.input_view(&shaped);
    let mut taps = Vec::new();
    let out = net.forward(xv, true, &mut rng, Some(&mut taps));
    net.tape.set_recording(was);
    let out = out?;
    let out_shape = net.tape.value(out).shape().to_vec();
    let loss = match targets {
        ProbeTargets::Classes(labels) => {
            // Outputs [N, T, C] with a label per step: every step is a sample of [N·T, C].
            let out = match out_shape.as_slice() {
                [n, t, c] => net.tape.reshape(out, &[n * t, *c])?,
                _ => out,
            };
            let lv = net.tape.labels(labels);
            if log_probs {
                losses::nll(&mut net.tape, out, lv, Default::default())?
            } else {
                losses::cross_entropy(&mut net.tape, out, lv, 0.0, Default::default())?
            }
        }
        ProbeTargets::Values(values) => {
            let target = ArrayView::from_shape(IxDyn(&out_shape), values).map_err(|_| {
                MonitorError::invalid(
                    "targets",
                    format!(
                        "{} real targets do not fit outputs of shape {out_shape:?}",
                        values.len()
                    ),
                )
            })?;
            let tv = net.tape.input_view(&target);
            losses::mse(&mut net.tape, out, tv, Default::default())?
        }
    };
    net.tape.backward(loss)?;
    let loss_value = net
        .tape
        .value(loss)
        .iter()
        .next()
        .map_or(f64::NAN, |v| v.as_f64());
    let record = step_record(0, &net.tape, &taps, loss_value, true, thresholds);
    let non_finite = if record.non_finite() {
        crate::trace_non_finite(&net.tape, &taps, 0)
    } else {
        None
    };
    let history = History {
        steps: vec![record],
        non_finite,
        ..History::default()
    };
    let findings = diagnose(&history, thresholds, setup);
    let History {
        mut steps,
        non_finite,
        ..
    } = history;
    let record = steps.remove(0);
    Ok(Probe {
        record,
        non_finite,
        findings,
    })
}
