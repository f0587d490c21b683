//! [`Thresholds`]: every number the monitor judges by, in one place, with its default and
//! the reason for it.

use serde::{Deserialize, Serialize};

/// The thresholds of the statistics and of the diagnosis rules. Every default is stated
/// here and nowhere else; `Thresholds::default()` is what the monitor uses unless told
/// otherwise.
///
/// | field | default | meaning |
/// |---|---|---|
/// | [`saturation_margin`](Self::saturation_margin) | 0.01 | an output closer than this to a bound its activation approaches is saturated: a tanh output when \|y\| > 0.99 (tanh′ = 1 − y² < 0.02), a sigmoid output when y < 0.01 or y > 0.99 (σ′ = y(1 − y) < 0.0099) |
/// | [`vanishing_ratio`](Self::vanishing_ratio) | 1e-3 | gradients vanish when ‖∇W_first‖ / ‖∇W_last‖ < 1e-3 |
/// | [`exploding_ratio`](Self::exploding_ratio) | 1e3 | gradients explode when that ratio > 1e3 |
/// | [`exploding_global_norm`](Self::exploding_global_norm) | 1e3 | … or when the global gradient norm (before clipping) > 1e3 |
/// | [`exploding_growth`](Self::exploding_growth) | 1e2 | … or when the global norm grew more than 100-fold over the recorded steps |
/// | [`dead_units`](Self::dead_units) | 0.5 | a ReLU layer is reported when more than half of its units output 0 for the whole batch (deep ReLU networks correlate their inputs, so a healthy He-initialized one already has some units at 0 for a whole batch at initialization — about 30 % deep in a 20-layer, 128-wide MLP — but not most) |
/// | [`saturated_units`](Self::saturated_units) | 0.25 | a sigmoid/tanh layer is reported when more than 25 % of its outputs are saturated |
/// | [`update_ratio_high`](Self::update_ratio_high) | 1e-1 | the learning rate is too high when a weight's ‖Δw‖/‖w‖ per step > 0.1 (healthy is near 1e-3) |
/// | [`update_ratio_low`](Self::update_ratio_low) | 1e-5 | the learning rate is too low when every weight's ‖Δw‖/‖w‖ < 1e-5 |
/// | [`loss_window`](Self::loss_window) | 10 | steps averaged at each end of the history when judging the loss trend |
/// | [`loss_rise`](Self::loss_rise) | 1.5 | the loss is rising when the last window's mean exceeds the first's by this factor |
/// | [`isometry_factor`](Self::isometry_factor) | 3 | an input-output Jacobian is near dynamical isometry when every singular value lies within a factor of 3 of 1, in [1/3, 3] (orthogonal weights keep a deep linear network at exactly 1; a factor of 3 leaves room for the nonlinearity and the readout layer, while a network that vanishes or explodes is off by orders of magnitude) |
/// | [`signal_collapse`](Self::signal_collapse) | 1e-2 | the forward signal collapses when the std of the last hidden activation is below 1e-2 times that of the first (a plain ReLU network with Xavier weights halves the variance per layer: 20 layers take the std down ~1000-fold, while He's keeps it within a small factor) |
/// | [`signal_explosion`](Self::signal_explosion) | 1e2 | the forward signal explodes when that ratio is above 1e2 |
/// | [`symmetric_units`](Self::symmetric_units) | 1e-3 | a layer's units are copies of one another when the spread of their (per-unit centred) outputs across the units is below 1e-3 of the spread across the samples: identical initial weights (a constant initializer) give exactly 0 up to rounding, independent random weights give about 1 |
/// | [`finding_hold`](Self::finding_hold) | 3 | a finding starts only after it has held for 3 consecutive checks, and ends only after it has stopped holding for 3 consecutive checks (a figure hovering at its threshold does not make the finding flap) |
/// | [`time_vanishing_ratio`](Self::time_vanishing_ratio) | 1e-3 | a recurrent layer's gradient vanishes through time when ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ < 1e-3, the same factor of a thousand as along the depth (a tanh RNN at PyTorch's default init, spectral radius ≈ 0.58, is far below it at T = 100, and so, at initialization, is an LSTM: its forget gate multiplies the cell state by about σ(b_f) per step) |
/// | [`time_exploding_ratio`](Self::time_exploding_ratio) | 1e3 | … explodes through time when that ratio > 1e3 |
/// | [`radius_high`](Self::radius_high) | 1.1 | … or when the ratio is above 1 (the gradient grows with the lag) and the recurrent matrix's spectral radius exceeds 1.1: 1 is the edge where a linear recurrence neither decays nor grows, and 10 % above it grows by 1.1^100 ≈ 1.4e4 over 100 steps |
/// | [`critical_factor`](Self::critical_factor) | 10 | a finding is critical, not a warning, when its figure is past the threshold by this factor (for fractions: above 1 − (1 − threshold)/factor, i.e. nearly all units) |
///
/// The bounds are the activation's own (`ActivationInfo::saturation` in
/// `gradwell-activations`); saturation of hardtanh and ReLU6 is an output at their bounds
/// (exactly), where the derivative is 0, whatever the margin. Dead units are counted for
/// the activations that output exactly 0 over the negative half-line
/// (`ActivationInfo::can_die`: ReLU, ReLU6, …).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Distance from a bound that its activation approaches (sigmoid's 0 and 1, tanh's ±1)
    /// below which an output counts as saturated.
    pub saturation_margin: f64,
    /// First-to-last weight-gradient norm ratio below which gradients vanish.
    pub vanishing_ratio: f64,
    /// First-to-last weight-gradient norm ratio above which gradients explode.
    pub exploding_ratio: f64,
    /// Global gradient norm (before clipping) above which gradients explode.
    pub exploding_global_norm: f64,
    /// Growth factor of the global gradient norm over the history above which gradients
    /// explode.
    pub exploding_growth: f64,
    /// Fraction of a layer's units dead over the whole batch above which it is reported.
    pub dead_units: f64,
    /// Fraction of a layer's outputs saturated above which it is reported.
    pub saturated_units: f64,
    /// Update-to-weight ratio above which the learning rate is too high.
    pub update_ratio_high: f64,
    /// Update-to-weight ratio below which (for every weight) the learning rate is too low.
    pub update_ratio_low: f64,
    /// Steps averaged at each end of the history for the loss trend.
    pub loss_window: usize,
    /// Factor by which the loss must rise for a finding.
    pub loss_rise: f64,
    /// Ratio of the last hidden activation's std to the first's below which the forward
    /// signal collapses.
    pub signal_collapse: f64,
    /// Ratio of the last hidden activation's std to the first's above which the forward
    /// signal explodes.
    pub signal_explosion: f64,
    /// Spread of a layer's centred outputs across its units, relative to their spread
    /// across the samples, below which the units are copies of one another.
    pub symmetric_units: f64,
    /// Consecutive checks a finding must hold before it starts, and must stop holding
    /// before it ends ([`crate::FindingTracker`]).
    pub finding_hold: usize,
    /// ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ below which a recurrent layer's gradient vanishes through time.
    pub time_vanishing_ratio: f64,
    /// ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ above which it explodes through time.
    pub time_exploding_ratio: f64,
    /// Spectral radius of a recurrent matrix above which a gradient growing with the lag
    /// is reported as exploding through time.
    pub radius_high: f64,
    /// How far past its threshold a figure must be to be critical.
    pub critical_factor: f64,
    /// The factor around 1 within which every singular value of an input-output Jacobian
    /// must lie for it to be near dynamical isometry.
    pub isometry_factor: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            saturation_margin: 0.01,
            vanishing_ratio: 1e-3,
            exploding_ratio: 1e3,
            exploding_global_norm: 1e3,
            exploding_growth: 1e2,
            dead_units: 0.5,
            saturated_units: 0.25,
            update_ratio_high: 1e-1,
            update_ratio_low: 1e-5,
            loss_window: 10,
            loss_rise: 1.5,
            signal_collapse: 1e-2,
            signal_explosion: 1e2,
            symmetric_units: 1e-3,
            finding_hold: 3,
            time_vanishing_ratio: 1e-3,
            time_exploding_ratio: 1e3,
            radius_high: 1.1,
            critical_factor: 10.0,
            isometry_factor: 3.0,
        }
    }
}
