//! Diagnosis: rules that turn the recorded figures into plain [`Finding`]s, each naming
//! the layers, the figure, the threshold it crossed and the cures the classic texts give.
//! Every threshold is a field of [`Thresholds`].

use std::fmt;

use gradwell_activations::{ActivationInfo, ActivationKind};
use gradwell_init::{Init, InitInfo, Law};
use gradwell_nn::MlpSpec;
use serde::{Deserialize, Serialize};

use crate::Thresholds;
use crate::record::{History, LayerStats, StepRecord};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing; training may still work.
    Info,
    /// Past a threshold: training is likely slowed or harmed.
    Warning,
    /// Far past a threshold, or NaN/∞: training is broken.
    Critical,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Early layers get far smaller gradients than late ones.
    VanishingGradients,
    /// Gradients are huge, or grow along the depth or over the steps.
    ExplodingGradients,
    /// A loss, value or gradient is NaN or infinite.
    NonFinite,
    /// ReLU units that output 0 for the whole batch.
    DeadUnits,
    /// Sigmoid/tanh units stuck near their asymptotes.
    SaturatedUnits,
    /// Parameters whose gradient is exactly 0 everywhere.
    NoGradient,
    /// Updates too large for the weights.
    LearningRateTooHigh,
    /// Updates too small to move the weights.
    LearningRateTooLow,
    /// The loss goes up over the steps.
    LossRising,
    /// The activations' standard deviation falls geometrically with depth.
    SignalCollapse,
    /// The activations' standard deviation grows geometrically with depth.
    SignalExplosion,
    /// Every unit of a layer computes the same function.
    SymmetricUnits,
    /// A recurrent layer's gradient shrinks with the time lag.
    VanishingThroughTime,
    /// A recurrent layer's gradient grows with the time lag.
    ExplodingThroughTime,
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FindingKind::VanishingGradients => "vanishing gradients",
            FindingKind::ExplodingGradients => "exploding gradients",
            FindingKind::NonFinite => "non-finite values",
            FindingKind::DeadUnits => "dead units",
            FindingKind::SaturatedUnits => "saturated units",
            FindingKind::NoGradient => "parameters without gradient",
            FindingKind::LearningRateTooHigh => "learning rate too high",
            FindingKind::LearningRateTooLow => "learning rate too low",
            FindingKind::LossRising => "loss rising",
            FindingKind::SignalCollapse => "forward signal collapse",
            FindingKind::SignalExplosion => "forward signal explosion",
            FindingKind::SymmetricUnits => "symmetric units",
            FindingKind::VanishingThroughTime => "vanishing through time",
            FindingKind::ExplodingThroughTime => "exploding through time",
        })
    }
}

/// A remedy from the classic texts (Glorot & Bengio 2010; He et al. 2015; Ioffe &
/// Szegedy 2015; He et al. 2016; Pascanu et al. 2013).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cure {
    /// Non-saturating activations.
    ReluFamily,
    /// Rectifiers that keep a gradient on the negative side.
    LeakyRelu,
    /// He (Kaiming) initialization for rectifiers.
    HeInit,
    /// Xavier (Glorot) initialization for tanh/sigmoid.
    XavierInit,
    /// LeCun initialization for SELU.
    LecunInit,
    /// Batch normalization.
    BatchNorm,
    /// Residual (skip) connections.
    Residual,
    /// Gradient clipping by global norm.
    GradientClipping,
    /// L2 regularization / weight decay.
    L2,
    /// A smaller learning rate.
    SmallerLearningRate,
    /// A larger learning rate.
    LargerLearningRate,
    /// Look at the data and the loss for NaN/∞ sources.
    CheckInputs,
    /// Random initial weights, which make the units differ.
    RandomInit,
    /// A gated recurrent cell (Hochreiter & Schmidhuber 1997; Cho et al. 2014).
    GatedCell,
    /// Orthogonal recurrent weights (spectral radius 1).
    OrthogonalRecurrent,
    /// Truncated backpropagation through time.
    TruncatedBptt,
    /// Smaller recurrent weights (spectral radius at or below 1).
    SmallerRecurrentWeights,
    /// An LSTM's forget-gate bias at 1 (Gers et al. 2000; Jozefowicz et al. 2015).
    ForgetBias,
}

impl fmt::Display for Cure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cure::ReluFamily => "use a non-saturating activation (ReLU, leaky ReLU, ELU, GELU)",
            Cure::LeakyRelu => {
                "use leaky ReLU, PReLU or ELU, which keep a gradient for negative inputs"
            }
            Cure::HeInit => "initialize rectifier layers with He (Kaiming) init, variance 2/fan_in",
            Cure::XavierInit => {
                "initialize tanh/sigmoid layers with Xavier (Glorot) init, variance 2/(fan_in + fan_out)"
            }
            Cure::LecunInit => "initialize SELU layers with LeCun init, variance 1/fan_in",
            Cure::BatchNorm => "add batch normalization before the activations",
            Cure::Residual => "add residual (skip) connections so gradients bypass the layers",
            Cure::GradientClipping => "clip gradients by global norm (e.g. 1.0)",
            Cure::L2 => "add L2 regularization (weight decay) to keep weights small",
            Cure::SmallerLearningRate => {
                "lower the learning rate (e.g. by 10×, or to the rate `gradwell lr-find` suggests \
                 for this model and data)"
            }
            Cure::LargerLearningRate => {
                "raise the learning rate (e.g. by 10×, or to the rate `gradwell lr-find` suggests \
                 for this model and data)"
            }
            Cure::CheckInputs => "check the input data and the loss for NaN, ∞ or log(0)",
            Cure::RandomInit => {
                "initialize the weights randomly (He for rectifiers, Xavier for tanh/sigmoid), so that the units start different"
            }
            Cure::GatedCell => "use an LSTM or a GRU, whose gates keep the gradient alive through time",
            Cure::OrthogonalRecurrent => {
                "initialize the recurrent weights orthogonal (spectral radius 1)"
            }
            Cure::TruncatedBptt => {
                "backpropagate through fewer steps (truncated BPTT), so no gradient must cross the whole sequence"
            }
            Cure::ForgetBias => {
                "set the LSTM's forget-gate bias to 1 (or more), so the cell state is kept longer"
            }
            Cure::SmallerRecurrentWeights => {
                "make the recurrent weights smaller (spectral radius at or below 1)"
            }
        })
    }
}

/// What the run already does, as far as the cures go: the diagnosis leaves out a cure the
/// run already applies (a sigmoid network with Xavier weights is not told to use Xavier)
/// and one that does not suit its activation (a ReLU network is not told to use Xavier).
/// `Setup::default()` knows nothing, and every cure is offered.
///
/// ```
/// use gradwell_monitor::{Cure, Setup};
/// use gradwell_nn::MlpSpec;
///
/// let mut mlp = MlpSpec::new(&[64, 32, 10], "sigmoid".parse()?);
/// mlp.init = Some("xavier-normal".parse()?);
/// let setup = Setup::of_mlp(&mlp);
/// let cures = setup.fit(&[Cure::ReluFamily, Cure::HeInit, Cure::XavierInit, Cure::BatchNorm]);
/// assert_eq!(cures, [Cure::ReluFamily, Cure::HeInit, Cure::BatchNorm]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Setup {
    /// The hidden layers' activation, if one and known.
    pub activation: Option<ActivationKind>,
    /// The hidden layers' weight initializer, if known.
    pub init: Option<Init>,
    /// Batch normalization in the hidden layers.
    pub batch_norm: bool,
    /// Residual connections around the hidden blocks.
    pub residual: bool,
    /// Gradient clipping.
    pub clipping: bool,
}

impl Setup {
    /// The setup of an MLP: its activation, the initializer it uses
    /// ([`MlpSpec::weight_init`]), batch norm and residual connections; no clipping.
    pub fn of_mlp(mlp: &MlpSpec) -> Self {
        Setup {
            activation: Some(mlp.activation),
            init: Some(mlp.weight_init()),
            batch_norm: mlp.batch_norm,
            residual: mlp.residual,
            clipping: false,
        }
    }

    /// Whether the initializer starts every weight at the same value (a constant).
    pub fn constant_init(&self) -> bool {
        self.init
            .as_ref()
            .is_some_and(|i| matches!(i.law(&[4, 4]), Ok(Some(Law::Constant { .. }))))
    }

    /// Whether the activation saturates (sigmoid, tanh, …); unknown counts as yes.
    fn saturating(&self) -> bool {
        self.activation.is_none_or(|a| a.saturation().exists())
    }

    /// `candidates` in their order, without those the run already applies and those that
    /// do not suit it: a non-saturating activation for one that does not saturate, leaky
    /// rectifiers for an activation whose units cannot die, an initializer the run
    /// already uses or that does not suit its activation (He is kept for a saturating
    /// one when the switch to a rectifier is among the cures), batch norm or residual
    /// connections it has, clipping it does.
    pub fn fit(&self, candidates: &[Cure]) -> Vec<Cure> {
        let switch = candidates.contains(&Cure::ReluFamily) && self.saturating();
        candidates
            .iter()
            .copied()
            .filter(|c| match c {
                Cure::ReluFamily => self.saturating(),
                Cure::LeakyRelu => self.activation.is_none_or(|a| a.can_die()),
                Cure::HeInit | Cure::XavierInit | Cure::LecunInit => {
                    let uses = self.init.as_ref().and_then(init_cure) == Some(*c);
                    let suits = self
                        .activation
                        .is_none_or(|a| init_cure(&MlpSpec::new(&[], a).weight_init()) == Some(*c));
                    !uses && (suits || (switch && *c == Cure::HeInit))
                }
                Cure::BatchNorm => !self.batch_norm,
                Cure::Residual => !self.residual,
                Cure::GradientClipping => !self.clipping,
                Cure::L2
                | Cure::SmallerLearningRate
                | Cure::LargerLearningRate
                | Cure::CheckInputs
                | Cure::RandomInit => true,
                // Fitted to the recurrent cell where the finding is made (`through_time`).
                Cure::GatedCell
                | Cure::OrthogonalRecurrent
                | Cure::TruncatedBptt
                | Cure::SmallerRecurrentWeights
                | Cure::ForgetBias => true,
            })
            .collect()
    }
}

/// Which of the initialization cures an initializer is, read from its variance for two
/// layer shapes: He when the variance is about 2/fan_in, LeCun when about 1/fan_in,
/// Xavier when it scales with 1/(fan_in + fan_out) (any gain).
fn init_cure(init: &Init) -> Option<Cure> {
    let var = |out: usize, inp: usize| init.moments(&[out, inp]).ok().flatten().map(|m| m.variance);
    let (a, b) = (var(50, 100)?, var(30, 200)?);
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-6 * x.abs().max(y.abs());
    if close(a * 100.0, b * 200.0) {
        let c = a * 100.0;
        if (1.5..=2.5).contains(&c) {
            Some(Cure::HeInit)
        } else if (0.75..=1.25).contains(&c) {
            Some(Cure::LecunInit)
        } else {
            None
        }
    } else if close(a * 150.0, b * 230.0) {
        Some(Cure::XavierInit)
    } else {
        None
    }
}

/// One plain-words finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// What about.
    pub kind: FindingKind,
    /// The layers (paths) or parameters concerned.
    pub layers: Vec<String>,
    /// The measured figure the rule judged.
    pub figure: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// The finding in words, with the figure.
    pub message: String,
    /// What the classic texts prescribe.
    pub cures: Vec<Cure>,
}

impl fmt::Display for Finding {
    /// `warning: vanishing gradients — <message>` then one `  cure: …` line per cure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        };
        write!(f, "{sev}: {} — {}", self.kind, self.message)?;
        for c in &self.cures {
            write!(f, "\n  cure: {c}")?;
        }
        Ok(())
    }
}

/// The layer path of a parameter name (`"4.weight"` → `"4"`).
fn layer_of_param(name: &str) -> String {
    name.rsplit_once('.')
        .map_or(name, |(layer, _)| layer)
        .to_string()
}

/// Severity of a figure above a high threshold.
pub(crate) fn above(figure: f64, threshold: f64, th: &Thresholds) -> Severity {
    if figure > threshold * th.critical_factor {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// Severity of a figure below a low threshold.
pub(crate) fn below(figure: f64, threshold: f64, th: &Thresholds) -> Severity {
    if figure < threshold / th.critical_factor {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// Severity of a fraction above its threshold: critical when nearly every unit is hit.
fn fraction_severity(figure: f64, threshold: f64, th: &Thresholds) -> Severity {
    if figure > 1.0 - (1.0 - threshold) / th.critical_factor {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// The findings of one step's figures (layer rules need a detailed step; update rules
/// need recorded updates). Healthy figures give no finding.
pub fn diagnose_step(r: &StepRecord, th: &Thresholds, setup: &Setup) -> Vec<Finding> {
    let mut out = Vec::new();
    let weights: Vec<_> = r.params.iter().filter(|p| p.shape.len() >= 2).collect();

    // Non-finite values.
    let bad: Vec<_> = r
        .params
        .iter()
        .filter(|p| p.grad_nan + p.grad_inf > 0)
        .collect();
    let bad_layers: Vec<_> = r.layers.iter().filter(|l| l.non_finite > 0).collect();
    if !r.loss.is_finite() || !bad.is_empty() || !bad_layers.is_empty() {
        let count: usize = bad.iter().map(|p| p.grad_nan + p.grad_inf).sum();
        let mut layers: Vec<String> = bad_layers.iter().map(|l| l.path.clone()).collect();
        layers.extend(bad.iter().map(|p| p.name.clone()));
        out.push(Finding {
            severity: Severity::Critical,
            kind: FindingKind::NonFinite,
            layers: layers.clone(),
            figure: count as f64,
            threshold: 0.0,
            message: format!(
                "step {}: loss {}, {count} non-finite gradient element(s){}",
                r.step,
                r.loss,
                if layers.is_empty() {
                    String::new()
                } else {
                    format!(" in {}", layers.join(", "))
                }
            ),
            cures: setup.fit(&[
                Cure::SmallerLearningRate,
                Cure::GradientClipping,
                Cure::HeInit,
                Cure::BatchNorm,
                Cure::CheckInputs,
            ]),
        });
    }

    // Vanishing and exploding along the depth.
    if let (Some(ratio), Some(first), Some(last)) =
        (r.first_last_ratio, weights.first(), weights.last())
    {
        let steps = weights.len().saturating_sub(1).max(1) as f64;
        let per_layer = ratio.powf(1.0 / steps);
        let layers = vec![layer_of_param(&first.name), layer_of_param(&last.name)];
        let says = format!(
            "‖∇W‖ of the first weight ({}) is {ratio:.3e} times that of the last ({}), a factor \
             of {per_layer:.3} per layer over {} weight layers",
            first.name,
            last.name,
            weights.len()
        );
        if ratio < th.vanishing_ratio {
            out.push(Finding {
                severity: below(ratio, th.vanishing_ratio, th),
                kind: FindingKind::VanishingGradients,
                layers,
                figure: ratio,
                threshold: th.vanishing_ratio,
                message: format!(
                    "{says} (threshold {:e}): early layers barely learn",
                    th.vanishing_ratio
                ),
                cures: setup.fit(&[
                    Cure::ReluFamily,
                    Cure::HeInit,
                    Cure::XavierInit,
                    Cure::LecunInit,
                    Cure::BatchNorm,
                    Cure::Residual,
                ]),
            });
        } else if ratio > th.exploding_ratio {
            out.push(Finding {
                severity: above(ratio, th.exploding_ratio, th),
                kind: FindingKind::ExplodingGradients,
                layers,
                figure: ratio,
                threshold: th.exploding_ratio,
                message: format!(
                    "{says} (threshold {:e}): gradients grow towards the input",
                    th.exploding_ratio
                ),
                cures: exploding_cures(setup),
            });
        }
    }
    if r.global_grad_norm.is_finite() && r.global_grad_norm > th.exploding_global_norm {
        out.push(Finding {
            severity: above(r.global_grad_norm, th.exploding_global_norm, th),
            kind: FindingKind::ExplodingGradients,
            layers: Vec::new(),
            figure: r.global_grad_norm,
            threshold: th.exploding_global_norm,
            message: format!(
                "the global gradient norm before clipping is {:.3e} (threshold {:e})",
                r.global_grad_norm, th.exploding_global_norm
            ),
            cures: exploding_cures(setup),
        });
    }

    // Parameters without gradient.
    let none: Vec<String> = r
        .params
        .iter()
        .filter(|p| p.no_gradient)
        .map(|p| p.name.clone())
        .collect();
    if !none.is_empty() && r.loss.is_finite() {
        out.push(Finding {
            severity: Severity::Warning,
            kind: FindingKind::NoGradient,
            figure: none.len() as f64,
            threshold: 0.0,
            message: format!(
                "{} parameter(s) received a gradient of exactly 0 everywhere ({}): they are \
                 off the loss's path or every unit they feed is dead",
                none.len(),
                none.join(", ")
            ),
            layers: none,
            cures: setup.fit(&[Cure::LeakyRelu, Cure::HeInit, Cure::SmallerLearningRate]),
        });
    }

    // Dead and saturated units.
    let dead: Vec<_> = r
        .layers
        .iter()
        .filter_map(|l| Some((l, l.dead_fraction?)))
        .filter(|(_, d)| *d > th.dead_units)
        .collect();
    if let Some(worst) = dead.iter().map(|(_, d)| *d).reduce(f64::max) {
        out.push(Finding {
            severity: fraction_severity(worst, th.dead_units, th),
            kind: FindingKind::DeadUnits,
            layers: dead.iter().map(|(l, _)| l.path.clone()).collect(),
            figure: worst,
            threshold: th.dead_units,
            message: format!(
                "{} ({} layer(s) above {:.0} %); a dead ReLU passes no gradient and does not recover",
                dead.iter()
                    .map(|(l, d)| format!("layer {}: {:.1} % of units dead", l.path, 100.0 * d))
                    .collect::<Vec<_>>()
                    .join(", "),
                dead.len(),
                100.0 * th.dead_units
            ),
            cures: setup.fit(&[
                Cure::LeakyRelu,
                Cure::HeInit,
                Cure::SmallerLearningRate,
                Cure::BatchNorm,
            ]),
        });
    }
    let sat: Vec<_> = r
        .layers
        .iter()
        .filter_map(|l| Some((l, l.saturated_fraction?)))
        .filter(|(_, s)| *s > th.saturated_units)
        .collect();
    if let Some(worst) = sat.iter().map(|(_, s)| *s).reduce(f64::max) {
        out.push(Finding {
            severity: fraction_severity(worst, th.saturated_units, th),
            kind: FindingKind::SaturatedUnits,
            layers: sat.iter().map(|(l, _)| l.path.clone()).collect(),
            figure: worst,
            threshold: th.saturated_units,
            message: format!(
                "{} (threshold {:.0} %); a saturated unit's derivative is nearly 0",
                sat.iter()
                    .map(|(l, s)| format!("layer {}: {:.1} % saturated", l.path, 100.0 * s))
                    .collect::<Vec<_>>()
                    .join(", "),
                100.0 * th.saturated_units
            ),
            cures: setup.fit(&[Cure::ReluFamily, Cure::XavierInit, Cure::BatchNorm]),
        });
    }

    out.extend(signal_finding(&r.layers, th, setup));
    out.extend(symmetry_finding(&r.layers, th, setup));

    // Learning rate, from the update-to-weight ratios.
    let ratios: Vec<(&str, f64)> = r
        .updates
        .iter()
        .filter_map(|u| Some((u.name.as_str(), u.ratio?)))
        .collect();
    let high: Vec<_> = ratios
        .iter()
        .filter(|(_, x)| *x > th.update_ratio_high)
        .collect();
    if let Some(worst) = high.iter().map(|(_, x)| *x).reduce(f64::max) {
        out.push(Finding {
            severity: above(worst, th.update_ratio_high, th),
            kind: FindingKind::LearningRateTooHigh,
            layers: high.iter().map(|(n, _)| n.to_string()).collect(),
            figure: worst,
            threshold: th.update_ratio_high,
            message: format!(
                "one step changes weights by up to {worst:.3e} of their norm (threshold {:e}; \
                 healthy is near 1e-3)",
                th.update_ratio_high
            ),
            cures: setup.fit(&[Cure::SmallerLearningRate, Cure::GradientClipping]),
        });
    }
    if !ratios.is_empty() && ratios.iter().all(|(_, x)| *x < th.update_ratio_low) {
        let worst = ratios.iter().map(|(_, x)| *x).fold(0.0, f64::max);
        out.push(Finding {
            severity: Severity::Warning,
            kind: FindingKind::LearningRateTooLow,
            layers: Vec::new(),
            figure: worst,
            threshold: th.update_ratio_low,
            message: format!(
                "one step changes every weight by at most {worst:.3e} of its norm (threshold \
                 {:e}; healthy is near 1e-3)",
                th.update_ratio_low
            ),
            cures: setup.fit(&[Cure::LargerLearningRate]),
        });
    }
    out.extend(crate::through_time::findings(r, th));
    symmetry_first(&mut out);
    out
}

/// The hidden activation layers: the layers that are an activation and come before the
/// last layer with a weight (the readout, and a softmax after it, are not hidden).
fn hidden_activations(layers: &[LayerStats]) -> Vec<&LayerStats> {
    let readout = layers
        .iter()
        .rposition(|l| l.weight_grad_norm.is_some())
        .unwrap_or(layers.len());
    layers[..readout]
        .iter()
        .filter(|l| l.activation.is_some())
        .collect()
}

/// Forward-signal collapse or explosion: the std of the last hidden activation over that
/// of the first, past [`Thresholds::signal_collapse`] or [`Thresholds::signal_explosion`].
fn signal_finding(layers: &[LayerStats], th: &Thresholds, setup: &Setup) -> Option<Finding> {
    let hidden = hidden_activations(layers);
    let (first, last) = (hidden.first()?, hidden.last()?);
    if hidden.len() < 2 || first.std.is_nan() || first.std <= 0.0 || !last.std.is_finite() {
        return None;
    }
    let ratio = last.std / first.std;
    let per_layer = ratio.powf(1.0 / (hidden.len() - 1) as f64);
    let says = |verb: &str, threshold: f64| {
        format!(
            "the activations' std {verb} from {:.3e} (layer {}) to {:.3e} (layer {}), {ratio:.3e} \
             times, a factor of {per_layer:.3} per layer over {} activation layers (threshold \
             {threshold:e})",
            first.std,
            first.path,
            last.std,
            last.path,
            hidden.len()
        )
    };
    let cures = setup.fit(&[
        Cure::HeInit,
        Cure::XavierInit,
        Cure::LecunInit,
        Cure::BatchNorm,
    ]);
    let layers = vec![first.path.clone(), last.path.clone()];
    if ratio < th.signal_collapse {
        Some(Finding {
            severity: below(ratio, th.signal_collapse, th),
            kind: FindingKind::SignalCollapse,
            layers,
            figure: ratio,
            threshold: th.signal_collapse,
            message: format!(
                "{}: the forward signal collapses, so the deep layers see nearly the same \
                 input for every sample; the weights' variance is too small for the activation",
                says("falls", th.signal_collapse)
            ),
            cures,
        })
    } else if ratio > th.signal_explosion {
        Some(Finding {
            severity: above(ratio, th.signal_explosion, th),
            kind: FindingKind::SignalExplosion,
            layers,
            figure: ratio,
            threshold: th.signal_explosion,
            message: format!(
                "{}: the forward signal explodes; the weights' variance is too large for the \
                 activation",
                says("grows", th.signal_explosion)
            ),
            cures,
        })
    } else {
        None
    }
}

/// Symmetric units: layers whose units all compute the same function
/// ([`LayerStats::unit_spread`] below [`Thresholds::symmetric_units`]).
fn symmetry_finding(layers: &[LayerStats], th: &Thresholds, setup: &Setup) -> Option<Finding> {
    let sym: Vec<&LayerStats> = layers
        .iter()
        .filter(|l| l.unit_spread.is_some_and(|x| x < th.symmetric_units))
        .collect();
    let shown = sym
        .iter()
        .find(|l| l.weight_grad_norm.is_some())
        .or(sym.first())?;
    let spread = shown.unit_spread?;
    let more = if sym.len() > 1 {
        format!(", and so do the units of {} more layer(s)", sym.len() - 1)
    } else {
        String::new()
    };
    let cause = if setup.constant_init() {
        "a constant initialization never breaks symmetry"
    } else {
        "units that start identical never become different"
    };
    Some(Finding {
        severity: Severity::Critical,
        kind: FindingKind::SymmetricUnits,
        layers: sym.iter().map(|l| l.path.clone()).collect(),
        figure: spread,
        threshold: th.symmetric_units,
        message: format!(
            "all {} units of layer {} compute the same function (their spread across units is \
             {spread:.1e} of that across samples, threshold {:e}){more}: {cause} — every unit \
             gets the same gradient, so the layer acts as a single unit; the vanishing or \
             exploding figures of such a network follow from it and are not reported apart",
            shown.units, shown.path, th.symmetric_units
        ),
        cures: setup.fit(&[Cure::RandomInit]),
    })
}

/// When units are symmetric, the vanishing, exploding and signal findings are its
/// consequences: only the symmetry is reported.
fn symmetry_first(out: &mut Vec<Finding>) {
    if out.iter().any(|f| f.kind == FindingKind::SymmetricUnits) {
        out.retain(|f| match f.kind {
            FindingKind::VanishingGradients
            | FindingKind::ExplodingGradients
            | FindingKind::SignalCollapse
            | FindingKind::SignalExplosion => false,
            FindingKind::NonFinite
            | FindingKind::DeadUnits
            | FindingKind::SaturatedUnits
            | FindingKind::NoGradient
            | FindingKind::LearningRateTooHigh
            | FindingKind::LearningRateTooLow
            | FindingKind::LossRising
            | FindingKind::SymmetricUnits
            | FindingKind::VanishingThroughTime
            | FindingKind::ExplodingThroughTime => true,
        });
    }
}

/// Findings as text, each as [`Finding`]'s `Display` writes it but with every cure printed
/// once: a cure an earlier finding already listed is not repeated (`  cure: as above` when
/// none is left). Each finding's first line starts with `prefix`.
///
/// ```
/// use gradwell_monitor::{Cure, Finding, FindingKind, Severity, render_findings};
/// let f = |kind, cures: &[Cure]| Finding {
///     severity: Severity::Warning, kind, layers: vec![], figure: 0.0, threshold: 0.0,
///     message: "…".into(), cures: cures.to_vec(),
/// };
/// let text = render_findings(
///     &[
///         f(FindingKind::ExplodingGradients, &[Cure::GradientClipping, Cure::L2]),
///         f(FindingKind::LossRising, &[Cure::GradientClipping]),
///     ],
///     "",
/// );
/// assert_eq!(text.matches("clip gradients").count(), 1);
/// assert!(text.ends_with("loss rising — …\n  cure: as above\n"));
/// ```
pub fn render_findings<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    prefix: &str,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let mut printed: Vec<Cure> = Vec::new();
    for f in findings {
        let head = Finding {
            cures: Vec::new(),
            ..f.clone()
        };
        let _ = writeln!(s, "{prefix}{head}");
        let new: Vec<Cure> = f
            .cures
            .iter()
            .copied()
            .filter(|c| !printed.contains(c))
            .collect();
        if new.is_empty() && !f.cures.is_empty() {
            let _ = writeln!(s, "  cure: as above");
        }
        for c in new {
            let _ = writeln!(s, "  cure: {c}");
            printed.push(c);
        }
    }
    s
}

/// The cures of exploding gradients: in a plain (not residual) network with batch norm,
/// the growth comes from batch norm itself, layer after layer (Yang et al. 2019), and
/// residual connections are what addresses it; otherwise the classic list.
fn exploding_cures(setup: &Setup) -> Vec<Cure> {
    if setup.batch_norm && !setup.residual {
        setup.fit(&[
            Cure::Residual,
            Cure::GradientClipping,
            Cure::SmallerLearningRate,
        ])
    } else {
        setup.fit(&[
            Cure::GradientClipping,
            Cure::SmallerLearningRate,
            Cure::HeInit,
            Cure::XavierInit,
            Cure::LecunInit,
            Cure::L2,
            Cure::BatchNorm,
        ])
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// The findings of a whole history: those of the last step (with the layer figures of the
/// last detailed step), the non-finite event traced to its op and layer, and the trends
/// over the steps (loss rising, gradient norm growing).
pub fn diagnose(h: &History, th: &Thresholds, setup: &Setup) -> Vec<Finding> {
    let Some(last) = h.steps.last() else {
        return Vec::new();
    };
    let mut record = last.clone();
    if record.layers.is_empty()
        && let Some(d) = h.last_detailed()
    {
        record.layers = d.layers.clone();
        record.through_time = d.through_time.clone();
        record.recurrent_radius = d.recurrent_radius.clone();
    }
    if record.updates.is_empty()
        && let Some(u) = h.steps.iter().rev().find(|s| !s.updates.is_empty())
    {
        record.updates = u.updates.clone();
    }
    let mut out = diagnose_step(&record, th, setup);
    if let Some(nf) = &h.non_finite {
        match out.iter_mut().find(|f| f.kind == FindingKind::NonFinite) {
            Some(f) => f.message = format!("{}; {nf}", f.message),
            None => out.push(Finding {
                severity: Severity::Critical,
                kind: FindingKind::NonFinite,
                layers: nf
                    .forward
                    .as_ref()
                    .and_then(|o| o.layer.as_ref())
                    .map(|l| vec![l.path.clone()])
                    .unwrap_or_default(),
                figure: 1.0,
                threshold: 0.0,
                message: nf.to_string(),
                cures: setup.fit(&[
                    Cure::SmallerLearningRate,
                    Cure::GradientClipping,
                    Cure::CheckInputs,
                ]),
            }),
        }
        if let Some(f) = out.iter_mut().find(|f| f.kind == FindingKind::NonFinite)
            && let Some(l) = nf.forward.as_ref().and_then(|o| o.layer.as_ref())
            && !f.layers.contains(&l.path)
        {
            f.layers.insert(0, l.path.clone());
        }
    }
    let w = th.loss_window.max(1);
    if h.steps.len() >= 2 * w {
        let n = h.steps.len();
        let early = &h.steps[..w];
        let late = &h.steps[n - w..];
        let finite = |s: &[StepRecord], f: fn(&StepRecord) -> f64| {
            mean(s.iter().map(f).filter(|x| x.is_finite()))
        };
        if let (Some(a), Some(b)) = (finite(early, |s| s.loss), finite(late, |s| s.loss))
            && a > 0.0
            && b > a * th.loss_rise
        {
            out.push(Finding {
                severity: above(b / a, th.loss_rise, th),
                kind: FindingKind::LossRising,
                layers: Vec::new(),
                figure: b / a,
                threshold: th.loss_rise,
                message: format!(
                    "the mean loss of the last {w} steps ({b:.4}) is {:.2} times that of the \
                     first {w} ({a:.4}; threshold ×{})",
                    b / a,
                    th.loss_rise
                ),
                cures: setup.fit(&[Cure::SmallerLearningRate, Cure::GradientClipping]),
            });
        }
        if let (Some(a), Some(b)) = (
            finite(early, |s| s.global_grad_norm),
            finite(late, |s| s.global_grad_norm),
        ) && a > 0.0
            && b > a * th.exploding_growth
        {
            out.push(Finding {
                severity: above(b / a, th.exploding_growth, th),
                kind: FindingKind::ExplodingGradients,
                layers: Vec::new(),
                figure: b / a,
                threshold: th.exploding_growth,
                message: format!(
                    "the global gradient norm grew {:.3e}-fold from the first {w} steps to the \
                     last {w} (threshold {:e})",
                    b / a,
                    th.exploding_growth
                ),
                cures: exploding_cures(setup),
            });
        }
    }
    symmetry_first(&mut out);
    out
}
