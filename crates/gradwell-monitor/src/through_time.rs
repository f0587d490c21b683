//! The monitor through time: for each recurrent layer, the norm of ∂L/∂h_t at every step t
//! ([`TimeGradients`]) and the spectral radius of its recurrent matrix
//! ([`RecurrentRadius`], [`spectral_radius`]), and the findings they support
//! ([`FindingKind::VanishingThroughTime`], [`FindingKind::ExplodingThroughTime`]).
//!
//! Which block of the recurrent weight is measured: the whole `W_hh` `[H, H]` of an Elman
//! RNN; of an LSTM's `[4H, H]` the candidate block `W_hg` (rows 2H..3H, PyTorch's gate
//! order i, f, g, o), of a GRU's `[3H, H]` the candidate block `W_hn` (rows 2H..3H, order
//! r, z, n). The candidate block is the one that carries h_{t−1} into the new state through
//! the cell's tanh, the analogue of the Elman matrix; the gates' blocks act through
//! sigmoids (derivative ≤ 1/4) and multiplicatively, so their radius says little about the
//! gradient's growth. The LSTM's own path through time (the cell state, scaled by the
//! forget gate) has no matrix at all: for gated cells the measured norms, not the radius,
//! are what the findings judge.

use gradwell_autodiff::Tape;
use gradwell_autodiff::ops::{Cell, Recurrent};
use gradwell_nn::Tap;
use gradwell_tensor::Float;
use ndarray::{ArrayView2, Axis, Ix2};
use serde::{Deserialize, Serialize};

use crate::Thresholds;
use crate::diagnosis::{Cure, Finding, FindingKind, Severity};
use crate::record::StepRecord;

/// One recurrent layer's ‖∂L/∂h_t‖ for every step t, from the backward pass of a step
/// (the last layer of a stacked layer: the op whose output the layer's tap holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeGradients {
    /// The layer's path (`"0"`).
    pub layer: String,
    /// The layer's type as PyTorch names it: `"RNN"`, `"LSTM"` or `"GRU"`.
    pub kind: String,
    /// The truncation length of truncated BPTT, if the layer truncates.
    pub truncate: Option<usize>,
    /// ‖∂L/∂h_t‖ (Frobenius over the batch) for t = 1 … T, in order.
    pub norms: Vec<f64>,
}

impl TimeGradients {
    /// ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: what of the gradient at the last step reaches the first.
    /// `None` with fewer than two steps or a last norm of 0.
    pub fn ratio(&self) -> Option<f64> {
        let (first, last) = (self.norms.first()?, self.norms.last()?);
        (self.norms.len() >= 2 && *last > 0.0).then(|| first / last)
    }

    /// The factor per step of lag: (‖∂L/∂h_s‖/‖∂L/∂h_T‖)^(1/(T − s)) from the earliest
    /// step s whose norm is not 0 (s = 1 unless the gradient underflowed to 0 on the way
    /// back). `None` without such a step before T.
    pub fn per_step(&self) -> Option<f64> {
        let last = *self.norms.last()?;
        let s = self.norms.iter().position(|&v| v > 0.0)?;
        let lag = self.norms.len() - 1 - s;
        (last > 0.0 && lag > 0).then(|| (self.norms[s] / last).powf(1.0 / lag as f64))
    }

    /// The least-squares fit of ln ‖∂L/∂h_t‖ against the lag T − t, over the steps from
    /// the earliest whose norm is not 0 to T: the geometric law the norms follow if the
    /// gradient is multiplied by the same factor at every step back through time.
    /// `None` with fewer than three such steps (a line through two points fits trivially)
    /// or a norm that is not finite.
    ///
    /// ```
    /// use gradwell_monitor::TimeGradients;
    ///
    /// // Halving at every step back: 1/8, 1/4, 1/2, 1 for t = 1 … 4.
    /// let g = TimeGradients {
    ///     layer: "0".into(),
    ///     kind: "RNN".into(),
    ///     truncate: None,
    ///     norms: vec![0.125, 0.25, 0.5, 1.0],
    /// };
    /// let fit = g.lag_fit().unwrap();
    /// assert!((fit.per_step - 0.5).abs() < 1e-12 && (fit.r_squared - 1.0).abs() < 1e-12);
    /// assert_eq!(fit.lags, 3);
    /// ```
    pub fn lag_fit(&self) -> Option<LagFit> {
        let s = self.norms.iter().position(|&v| v > 0.0)?;
        let tail = &self.norms[s..];
        if tail.len() < 3 || tail.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return None;
        }
        // Points (lag, ln norm), lag 0 at t = T.
        let n = tail.len() as f64;
        let points = || {
            tail.iter()
                .rev()
                .enumerate()
                .map(|(lag, v)| (lag as f64, v.ln()))
        };
        let (mx, my) = points().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
        let (sxx, sxy, syy) = points().fold((0.0, 0.0, 0.0), |(a, b, c), (x, y)| {
            let (dx, dy) = (x - mx, y - my);
            (a + dx * dx, b + dx * dy, c + dy * dy)
        });
        let slope = sxy / sxx;
        let residual = syy - slope * sxy;
        Some(LagFit {
            per_step: slope.exp(),
            // Norms exactly on the line (a constant included) fit perfectly.
            r_squared: if syy > 0.0 {
                (1.0 - residual / syy).max(0.0)
            } else {
                1.0
            },
            lags: tail.len() - 1,
        })
    }

    /// The first step (1-based) whose norm is not 0, when the gradient underflowed to 0
    /// before reaching step 1.
    pub fn underflow_from(&self) -> Option<usize> {
        let s = self.norms.iter().position(|&v| v > 0.0)?;
        (s > 0).then_some(s + 1)
    }

    /// Whether the layer is gated (LSTM, GRU): telling it to use a gated cell is no cure.
    pub fn gated(&self) -> bool {
        self.kind != "RNN"
    }
}

/// The log-linear fit of ‖∂L/∂h_t‖ against the lag ([`TimeGradients::lag_fit`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LagFit {
    /// The fitted factor per step of lag, e^slope: below 1 the gradient shrinks going back
    /// through time, above 1 it grows.
    pub per_step: f64,
    /// The fit's coefficient of determination R², in [0, 1]: 1 when the log-norms lie on
    /// the line (a geometric law).
    pub r_squared: f64,
    /// The lags the fit spans (its points minus one).
    pub lags: usize,
}

/// The spectral radius (largest |eigenvalue|) of one recurrent weight's measured block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecurrentRadius {
    /// The parameter (`"0.weight_hh_l0"`).
    pub param: String,
    /// The block measured: `"W_hh"` (Elman), `"W_hg"` (LSTM's candidate g) or `"W_hn"`
    /// (GRU's candidate n).
    pub block: String,
    /// max |λ|; `None` when not measured (a build without the `svd` feature, or an
    /// eigenvalue computation that did not converge or met a non-finite weight).
    pub radius: Option<f64>,
}

/// The spectral radius max |λ| of a square matrix, from its general (complex) eigenvalues
/// by nalgebra's Schur decomposition in f64. `None` for a matrix that is not square or
/// empty, that holds NaN or ∞, or whose decomposition does not converge; always `None`
/// without the `svd` feature (no nalgebra): "not measured".
///
/// ```
/// # #[cfg(feature = "svd")] {
/// use gradwell_monitor::spectral_radius;
/// use ndarray::array;
///
/// // A rotation by 90° scaled by 0.5: eigenvalues ±0.5i.
/// let r = spectral_radius(&array![[0.0, -0.5], [0.5, 0.0]].view()).unwrap();
/// assert!((r - 0.5).abs() < 1e-12);
/// # }
/// ```
pub fn spectral_radius(a: &ArrayView2<'_, f64>) -> Option<f64> {
    let (n, m) = a.dim();
    if n != m || n == 0 || a.iter().any(|x| !x.is_finite()) {
        return None;
    }
    eigen_radius(a)
}

#[cfg(feature = "svd")]
fn eigen_radius(a: &ArrayView2<'_, f64>) -> Option<f64> {
    let n = a.nrows();
    let mat = nalgebra::DMatrix::<f64>::from_fn(n, n, |i, j| a[[i, j]]);
    let schur = nalgebra::linalg::Schur::try_new(mat, f64::EPSILON, 10_000)?;
    schur
        .complex_eigenvalues()
        .iter()
        .map(|z| z.norm())
        .reduce(f64::max)
}

#[cfg(not(feature = "svd"))]
fn eigen_radius(_: &ArrayView2<'_, f64>) -> Option<f64> {
    None
}

/// The recurrent op behind a tap, if the tap is a recurrent layer's output.
fn recurrent_op<'a, F: Float>(tape: &'a Tape<F>, tap: &Tap) -> Option<&'a Recurrent<F>> {
    if tape.var_at(tap.output.index()) != Some(tap.output) {
        return None;
    }
    tape.op_of::<Recurrent<F>>(tap.output)
}

/// ‖∂L/∂h_t‖ of every recurrent layer among the taps, after a backward pass.
pub fn time_gradients<F: Float>(tape: &Tape<F>, taps: &[Tap]) -> Vec<TimeGradients> {
    taps.iter()
        .filter_map(|t| {
            let op = recurrent_op(tape, t)?;
            let norms = op.step_grad_norms();
            (!norms.is_empty()).then(|| TimeGradients {
                layer: t.path.clone(),
                kind: t.kind.to_string(),
                truncate: op.truncate(),
                norms: norms.iter().map(|v| v.as_f64()).collect(),
            })
        })
        .collect()
}

/// The block of a `[G·H, H]` recurrent weight that is measured, and its name.
fn block(cell: Cell) -> (usize, &'static str) {
    match cell {
        Cell::Elman(_) => (0, "W_hh"),
        Cell::Lstm => (2, "W_hg"),
        Cell::Gru => (2, "W_hn"),
    }
}

/// The spectral radius of every recurrent weight (`{path}.weight_hh_l0`, `_l1`, …) of
/// every recurrent layer among the taps ([`RecurrentRadius`] says which block).
pub fn recurrent_radii<F: Float>(tape: &Tape<F>, taps: &[Tap]) -> Vec<RecurrentRadius> {
    let store = tape.params();
    let mut out = Vec::new();
    for t in taps {
        let Some(op) = recurrent_op(tape, t) else {
            continue;
        };
        let (index, name) = block(op.cell());
        for id in store.ids() {
            let param = store.name(id);
            let Some(rest) = param
                .strip_prefix(t.path.as_str())
                .and_then(|r| r.strip_prefix(".weight_hh_l"))
            else {
                continue;
            };
            if rest.parse::<usize>().is_err() {
                continue;
            }
            let value = store.value(id);
            let radius = value
                .view()
                .into_dimensionality::<Ix2>()
                .ok()
                .and_then(|w| {
                    let h = w.ncols();
                    let rows = w.slice_axis(Axis(0), (index * h..(index + 1) * h).into());
                    spectral_radius(&rows.mapv(|v| v.as_f64()).view())
                });
            out.push(RecurrentRadius {
                param: param.to_string(),
                block: name.to_string(),
                radius,
            });
        }
    }
    out
}

/// The findings through time of one step's figures: for each recurrent layer, vanishing
/// when ‖∂L/∂h_1‖/‖∂L/∂h_T‖ < [`Thresholds::time_vanishing_ratio`] (not judged under
/// truncated BPTT, where no gradient crosses a chunk boundary by design), exploding when
/// that ratio > [`Thresholds::time_exploding_ratio`], or when it is above 1 (the gradient
/// grows with the lag) and a recurrent block's spectral radius exceeds
/// [`Thresholds::radius_high`]. The cures fit the layer: a gated layer is not told to use
/// a gated cell; an LSTM is told of the forget-gate bias.
pub(crate) fn findings(r: &StepRecord, th: &Thresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    for g in &r.through_time {
        let Some(ratio) = g.ratio() else {
            continue;
        };
        let t = g.norms.len();
        let radius = r
            .recurrent_radius
            .iter()
            .filter(|x| x.param.starts_with(&format!("{}.", g.layer)))
            .filter_map(|x| Some((x, x.radius?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let radius_text = radius.map_or(String::new(), |(x, v)| {
            format!("; spectral radius of {} ({}) {v:.3}", x.block, x.param)
        });
        let per_step = g.per_step().map_or(String::new(), |p| match g.underflow_from() {
            Some(s) => format!(
                " (0 in floating point at steps 1 to {}: a factor of {p:.3} per step down to step {s})",
                s - 1
            ),
            None => format!(" (a factor of {p:.3} per step)"),
        });
        let says = format!(
            "layer {} ({}): the gradient reaching step 1 is {ratio:.3e} of the one at step \
             {t}{per_step}{radius_text}",
            g.layer, g.kind
        );
        if ratio < th.time_vanishing_ratio && g.truncate.is_none() {
            let mut cures = Vec::new();
            if !g.gated() {
                cures.push(Cure::GatedCell);
            }
            if g.kind == "LSTM" {
                cures.push(Cure::ForgetBias);
            }
            cures.extend([Cure::OrthogonalRecurrent, Cure::TruncatedBptt]);
            out.push(Finding {
                severity: crate::diagnosis::below(ratio, th.time_vanishing_ratio, th),
                kind: FindingKind::VanishingThroughTime,
                layers: vec![g.layer.clone()],
                figure: ratio,
                threshold: th.time_vanishing_ratio,
                message: format!(
                    "{says} (threshold {:e}): vanishing through time, the early steps barely \
                     reach the loss",
                    th.time_vanishing_ratio
                ),
                cures,
            });
        } else if ratio > th.time_exploding_ratio
            || (ratio > 1.0 && radius.is_some_and(|(_, v)| v > th.radius_high))
        {
            let severity = if ratio > th.time_exploding_ratio {
                crate::diagnosis::above(ratio, th.time_exploding_ratio, th)
            } else {
                Severity::Warning
            };
            out.push(Finding {
                severity,
                kind: FindingKind::ExplodingThroughTime,
                layers: vec![g.layer.clone()],
                figure: ratio,
                threshold: th.time_exploding_ratio,
                message: format!(
                    "{says} (thresholds: ratio {:e}, or a ratio above 1 with a radius above \
                     {}): exploding through time, the gradient grows with the lag",
                    th.time_exploding_ratio, th.radius_high
                ),
                cures: vec![Cure::GradientClipping, Cure::SmallerRecurrentWeights],
            });
        }
    }
    out
}
