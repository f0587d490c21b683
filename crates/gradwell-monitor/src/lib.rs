//! The gradient-health monitor of gradwell: it measures a network's gradients and
//! activations, says in plain words when they vanish, explode, die or saturate and what
//! would cure it, and sets the measurement beside what theory predicts.
//!
//! - [`Monitor`] records, at every step after the backward pass and before clipping, each
//!   trainable parameter's gradient figures ([`ParamStats`]: L2 norm, max |g|, fraction of
//!   zeros, NaN/∞ counts, "no gradient at all") and the global norm; on chosen steps each
//!   layer's output figures ([`LayerStats`]: mean, std, saturated and dead fractions, the
//!   output's and the weight's gradient norms); with a [`Snapshot`], each optimizer step's
//!   update-to-weight ratio ‖Δw‖/‖w‖. All of it is kept in a [`History`] that writes CSV
//!   and JSON.
//! - [`probe`]: one measured forward and backward pass of a batch, for a network at
//!   initialization.
//! - Non-finite provenance ([`trace_non_finite`]): the forward op and layer where a NaN or
//!   ∞ first appeared, with its inputs' statistics, and the first gradient (in backward
//!   order) that was not finite.
//! - Diagnosis ([`diagnose`], [`diagnose_step`]): rules with the thresholds of
//!   [`Thresholds`] turn figures into [`Finding`]s that name the layers, the figure and the
//!   [`Cure`]s of the classic texts, fitted to the run's [`Setup`] ([`render_findings`]
//!   prints a cure two findings share once); [`FindingTracker`] starts and ends findings
//!   over a run's checks with hysteresis.
//! - Theory ([`PlainNet`], [`MeanField`], [`GaussHermite`], [`TheoryTable`]): the
//!   mean-field variance map and gradient factor χ of a plain deep network at
//!   initialization, printed beside the measurement, with expectations cut at the
//!   activation's kinks; and [`Criticality`], the correlation map, its fixed point, the
//!   depth scales ξ_q and ξ_c and the [`Phase`] (ordered, critical, chaotic) of
//!   Schoenholz et al. 2017.
//! - [`JacobianSpread`]: the singular values of a network's input-output Jacobian at one
//!   sample (from `gradwell-nn`'s `Network::jacobian`), their span, condition and mean σ²,
//!   and whether they are near dynamical isometry.
//! - Through time ([`TimeGradients`], [`RecurrentRadius`]): for each recurrent layer, on
//!   the detailed steps, ‖∂L/∂h_t‖ for every step t and the spectral radius of the
//!   recurrent matrix ([`spectral_radius`]), judged as vanishing or exploding through time.
//! - [`Lsuv`]: layer-sequential unit-variance initialization on a batch of data.
//! - Plots ([`plot_grad_norm_by_layer`], [`plot_activation_std_by_layer`], [`plot_loss`],
//!   [`plot_accuracy`], [`plot_lr_range_test`], [`line_plot`]): SVG or PNG, one line per configuration, with the
//!   `plots` feature (plotters; on by default). Without it the lines to plot
//!   ([`Series`]) are still there.
//!
//! This crate knows networks only through `gradwell-nn`'s [`gradwell_nn::Network`] and the
//! taps of its forward pass, and gradients only through the tape; it knows nothing of
//! optimizers, data sets or training loops — those call it.
//!
//! # A network at initialization
//!
//! ```
//! use gradwell_monitor::{FindingKind, Setup, PlainNet, TheoryTable, Thresholds, probe};
//! use gradwell_nn::{MlpSpec, Network};
//! use ndarray::Array2;
//!
//! // A deep sigmoid network: gradients vanish.
//! let mut widths = vec![16; 12];
//! widths.push(4);
//! let mlp = MlpSpec::new(&widths, "sigmoid".parse()?);
//! let mut net = Network::<f64>::build(&mlp.to_spec()?, 1)?;
//! let x = Array2::from_shape_fn((32, 16), |(i, j)| ((i * 16 + j) as f64 * 0.37).sin());
//! let labels: Vec<i64> = (0..32).map(|i| i % 4).collect();
//! let p = probe(&mut net, &x.view(), &labels, &Thresholds::default(), &Setup::default())?;
//! assert!(p.findings.iter().any(|f| f.kind == FindingKind::VanishingGradients));
//!
//! // The theory column: χ ≤ σ_w²/16 per sigmoid layer.
//! let theory = PlainNet::from_mlp(&mlp, 0.5)?.predict()?;
//! let table = TheoryTable::compare(&theory, &p.record)?;
//! assert_eq!(table.rows.len(), 12);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

mod criticality;
mod diagnosis;
#[cfg(feature = "plots")]
mod draw;
mod error;
mod isometry;
mod lsuv;
mod monitor;
mod plot;
mod provenance;
mod quadrature;
mod record;
mod stats;
mod theory;
mod thresholds;
mod through_time;
mod tracker;

pub use criticality::{
    CRITICAL_TOLERANCE, Criticality, Phase, TRAINABLE_DEPTH_FACTOR, depth_scale,
};
pub use diagnosis::{
    Cure, Finding, FindingKind, Setup, Severity, diagnose, diagnose_step, render_findings,
};
#[cfg(feature = "plots")]
pub use draw::{
    line_plot, plot_accuracy, plot_activation_std_by_layer, plot_grad_norm_by_layer, plot_loss,
    plot_lr_range_test,
};
pub use error::{MonitorError, Result};
pub use isometry::JacobianSpread;
pub use lsuv::{Lsuv, LsuvLayer};
pub use monitor::{
    Monitor, MonitorConfig, Probe, ProbeTargets, Snapshot, first_last_ratio, global_norm,
    layer_stats, param_stats, probe, probe_targets,
};
pub use plot::{PLOT_SIZE, PlotSpec, Series};
pub use provenance::{
    ForwardOrigin, GradientOrigin, InputReport, LayerRef, NonFinite, forward_origin,
    gradient_origin, trace_non_finite,
};
pub use record::{
    Detail, History, HistorySummary, LayerGradNorms, LayerStats, ParamStats,
    SUMMARY_DETAILED_STEPS, StepRecord, UpdateStats,
};
pub use stats::{TensorStats, saturation_rule, unit_spread};
pub use theory::{
    GaussHermite, LayerPrediction, MeanField, PlainNet, TheoryRow, TheoryTable, bias_sigma2,
    weight_sigma2,
};
pub use thresholds::Thresholds;
pub use through_time::{
    RecurrentRadius, TimeGradients, recurrent_radii, spectral_radius, time_gradients,
};
pub use tracker::{FindingTracker, TrackedChanges};
