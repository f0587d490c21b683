//! Theory beside measurement: the mean-field variance map of signal propagation in a plain
//! deep network at initialization (Poole et al. 2016; Schoenholz et al. 2017), computed by
//! Gauss–Hermite quadrature.
//!
//! For a plain MLP `h_l = W_l·φ(h_{l−1}) + b_l` with weights of variance σ_w²/fan_in and
//! biases of variance σ_b², each pre-activation is, over the random initialization, close to
//! N(0, q_l) with
//!
//! ```text
//! q_1     = σ_w,1²·E[x²] + σ_b,1²
//! q_{l+1} = σ_w,l+1²·E_z[φ(√q_l·z)²] + σ_b,l+1²          z ~ N(0, 1)
//! χ_l     = σ_w,l+1²·E_z[φ′(√q_l·z)²]
//! ```
//!
//! and the gradient with respect to the pre-activations shrinks or grows by √χ_l per layer
//! on its way back: ‖∂L/∂h_l‖² ≈ χ_l·‖∂L/∂h_{l+1}‖² (exactly so in expectation over the
//! weights, for any widths). Hence ReLU with He init (σ_w² = 2, σ_b² = 0) keeps q constant
//! and χ = 1; ReLU with Xavier on square layers (σ_w² = 1) halves q at every layer; and
//! sigmoid, whose derivative is at most 1/4, has χ ≤ σ_w²/16 — gradients vanish
//! geometrically.

use std::fmt;

use gradwell_activations::{Activation, ActivationKind};
use gradwell_init::{Init, InitInfo, Moments};
use gradwell_nn::MlpSpec;
use serde::{Deserialize, Serialize};

use crate::record::StepRecord;
use crate::{MonitorError, Result};

/// Gauss–Hermite quadrature for the standard normal: nodes zᵢ and weights wᵢ, summing
/// to one, such that `E[f(z)] ≈ Σ wᵢ·f(zᵢ)` for z ~ N(0, 1), exact for polynomials of degree
/// below twice the number of nodes.
///
/// The nodes are the roots of the Hermite polynomial Hₙ, found by Newton's method on the
/// orthonormal three-term recurrence from asymptotic first guesses (the method of
/// *Numerical Recipes*, §4.6), then rescaled from the weight e^{−x²} to the normal density.
/// With an even `n` the rule is symmetric with no node at 0, so it is exact for ReLU-type
/// integrands such as `z²·1[z > 0]` (half of an exact even moment).
///
/// ```
/// use gradwell_monitor::GaussHermite;
/// let gh = GaussHermite::new(20)?;
/// assert!((gh.expect(|z| z.powi(4)) - 3.0).abs() < 1e-12);
/// assert!((gh.expect(f64::cos) - (-0.5_f64).exp()).abs() < 1e-12);
/// # Ok::<(), gradwell_monitor::MonitorError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussHermite {
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl GaussHermite {
    /// The nodes used by the mean-field functions of this module.
    pub const DEFAULT_ORDER: usize = 96;

    /// The n-point rule, 1 ≤ n ≤ 200.
    ///
    /// # Errors
    /// `n` outside 1..=200, or a root that Newton's method did not find to 1e-13.
    pub fn new(n: usize) -> Result<Self> {
        if !(1..=200).contains(&n) {
            return Err(MonitorError::invalid(
                "quadrature order",
                format!("must be in 1..=200, got {n}"),
            ));
        }
        const PIM4: f64 = 0.751_125_544_464_942_5; // π^(−1/4)
        let nf = n as f64;
        let m = n.div_ceil(2);
        let mut x = vec![0.0; n];
        let mut w = vec![0.0; n];
        let mut z = 0.0_f64;
        for i in 0..m {
            z = match i {
                0 => (2.0 * nf + 1.0).sqrt() - 1.85575 * (2.0 * nf + 1.0).powf(-1.0 / 6.0),
                1 => z - 1.14 * nf.powf(0.426) / z,
                2 => 1.86 * z - 0.86 * x[0],
                3 => 1.91 * z - 0.91 * x[1],
                _ => 2.0 * z - x[i - 2],
            };
            let mut pp = 0.0;
            let mut converged = false;
            for _ in 0..100 {
                let (mut p1, mut p2) = (PIM4, 0.0);
                for j in 1..=n {
                    let p3 = p2;
                    p2 = p1;
                    let jf = j as f64;
                    p1 = z * (2.0 / jf).sqrt() * p2 - ((jf - 1.0) / jf).sqrt() * p3;
                }
                pp = (2.0 * nf).sqrt() * p2;
                let z1 = z;
                z = z1 - p1 / pp;
                if (z - z1).abs() <= 1e-14 * z.abs().max(1.0) {
                    converged = true;
                    break;
                }
            }
            if !converged {
                return Err(MonitorError::invalid(
                    "quadrature order",
                    format!("root {i} of H_{n} did not converge"),
                ));
            }
            x[i] = z;
            x[n - 1 - i] = -z;
            w[i] = 2.0 / (pp * pp);
            w[n - 1 - i] = w[i];
        }
        // From ∫ e^{−x²} f(x) dx to E[f(z)], z ~ N(0, 1): z = √2·x, weight / √π.
        let sqrt_pi = std::f64::consts::PI.sqrt();
        Ok(GaussHermite {
            nodes: x.iter().map(|x| x * std::f64::consts::SQRT_2).collect(),
            weights: w.iter().map(|w| w / sqrt_pi).collect(),
        })
    }

    /// The nodes zᵢ (descending).
    pub fn nodes(&self) -> &[f64] {
        &self.nodes
    }

    /// The weights wᵢ.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// E[f(z)] for z ~ N(0, 1).
    pub fn expect(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.nodes
            .iter()
            .zip(&self.weights)
            .map(|(&z, &w)| w * f(z))
            .sum()
    }
}

/// The mean-field maps of one activation.
#[derive(Debug, Clone)]
pub struct MeanField {
    activation: ActivationKind,
    quadrature: GaussHermite,
}

impl MeanField {
    /// The maps of `activation`, with the default quadrature order.
    ///
    /// # Errors
    /// Never in practice (the default order is valid).
    pub fn new(activation: ActivationKind) -> Result<Self> {
        Ok(MeanField {
            activation,
            quadrature: GaussHermite::new(GaussHermite::DEFAULT_ORDER)?,
        })
    }

    /// E[φ(√q·z)²]: the second moment of the activation of a N(0, q) pre-activation.
    pub fn activation_second_moment(&self, q: f64) -> f64 {
        let s = q.max(0.0).sqrt();
        let a = self.activation;
        self.quadrature.expect(|z| {
            let y: f64 = a.value(s * z);
            y * y
        })
    }

    /// E[φ′(√q·z)²].
    pub fn derivative_second_moment(&self, q: f64) -> f64 {
        let s = q.max(0.0).sqrt();
        let a = self.activation;
        self.quadrature.expect(|z| {
            let d: f64 = a.derivative(s * z);
            d * d
        })
    }

    /// The variance map q ↦ σ_w²·E[φ(√q·z)²] + σ_b².
    pub fn next_q(&self, q: f64, sigma_w2: f64, sigma_b2: f64) -> f64 {
        sigma_w2 * self.activation_second_moment(q) + sigma_b2
    }

    /// χ = σ_w²·E[φ′(√q·z)²]: the factor by which the squared gradient norm changes
    /// across the layer whose pre-activation variance is q.
    pub fn chi(&self, q: f64, sigma_w2: f64) -> f64 {
        sigma_w2 * self.derivative_second_moment(q)
    }
}

/// σ_w² = fan_in·Var(W) of a weight `[fan_out, fan_in]` drawn from `init`: the variance
/// the initializer declares for that shape ([`InitInfo::moments`]) — the variance-scaling
/// formula for Xavier, He, LeCun and PyTorch's default, the distribution's for zero-mean
/// normal, uniform and truncated normal, `gain²·min(1, fan_in/fan_out)` for orthogonal.
///
/// # Errors
/// [`MonitorError::NotPlain`] for initializers with a non-zero mean (constants, ones) or
/// without a closed-form variance (the identity).
pub fn weight_sigma2(init: &Init, fan_in: usize, fan_out: usize) -> Result<f64> {
    Ok(zero_mean_variance(init, &[fan_out, fan_in], "weight")? * fan_in as f64)
}

/// σ_b² of the bias, `[fan_out]`, of a layer with `fan_in` inputs: the variance `init`
/// declares, or that of PyTorch's default ([`Init::pytorch_default_bias`], variance
/// 1/(3·fan_in)) when `init` is `None`.
///
/// # Errors
/// [`MonitorError::NotPlain`] for a bias initializer with a non-zero mean or no
/// closed-form variance; [`MonitorError::Init`] for one that cannot fill a bias (a
/// fan-based one).
pub fn bias_sigma2(init: Option<&Init>, fan_in: usize, fan_out: usize) -> Result<f64> {
    let default = Init::pytorch_default_bias(fan_in);
    zero_mean_variance(init.unwrap_or(&default), &[fan_out], "bias")
}

/// The variance of an element of a fill of `shape`, which must have mean 0.
fn zero_mean_variance(init: &Init, shape: &[usize], what: &str) -> Result<f64> {
    match init.moments(shape)? {
        Some(Moments {
            mean: 0.0,
            variance,
        }) => Ok(variance),
        Some(Moments { mean, .. }) => Err(MonitorError::NotPlain(format!(
            "the {what} initializer {init} has mean {mean}, and the theory needs mean 0"
        ))),
        None => Err(MonitorError::NotPlain(format!(
            "the {what} initializer {init} has no closed-form variance"
        ))),
    }
}

/// A plain deep network as the theory sees it: widths, activation, σ_w² and σ_b² per
/// linear layer, and the second moment E[x²] of the input elements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlainNet {
    /// Input width, hidden widths, output width.
    pub widths: Vec<usize>,
    /// The hidden activation (the last linear layer has none).
    pub activation: ActivationKind,
    /// σ_w² per linear layer.
    pub sigma_w2: Vec<f64>,
    /// σ_b² per linear layer.
    pub sigma_b2: Vec<f64>,
    /// E[x²] of the input elements.
    pub input_second_moment: f64,
}

impl PlainNet {
    /// The theory's view of an MLP: its weights' and biases' initializers
    /// ([`MlpSpec::bias_init`]; `None` is PyTorch's default) give σ_w² and σ_b².
    ///
    /// # Errors
    /// [`MonitorError::NotPlain`] with batch norm, residual connections or dropout (the
    /// theory here is for plain networks), or initializers without a zero-mean variance;
    /// an MLP that does not validate ([`MlpSpec::validate`]) or gives only its hidden
    /// widths ([`MlpSpec::fit`] it to its data first).
    pub fn from_mlp(spec: &MlpSpec, input_second_moment: f64) -> Result<Self> {
        if spec.batch_norm || spec.residual || spec.dropout > 0.0 {
            return Err(MonitorError::NotPlain(
                "batch norm, residual connections and dropout are outside the plain-network theory"
                    .into(),
            ));
        }
        spec.validate()?;
        let Some(widths) = spec.widths.all() else {
            return Err(MonitorError::invalid(
                "widths",
                "the MLP gives only its hidden widths: fit it to its data first",
            ));
        };
        let init = spec.weight_init();
        let mut sigma_w2 = Vec::new();
        let mut sigma_b2 = Vec::new();
        for w in widths.windows(2) {
            sigma_w2.push(weight_sigma2(&init, w[0], w[1])?);
            sigma_b2.push(bias_sigma2(spec.bias_init.as_ref(), w[0], w[1])?);
        }
        Ok(PlainNet {
            widths: widths.to_vec(),
            activation: spec.activation,
            sigma_w2,
            sigma_b2,
            input_second_moment,
        })
    }

    /// The predictions, one per linear layer.
    ///
    /// # Errors
    /// Mismatched lengths of widths and σ lists, or a negative or non-finite σ² or input
    /// moment.
    pub fn predict(&self) -> Result<Vec<LayerPrediction>> {
        let layers = self.widths.len().saturating_sub(1);
        if layers == 0 || self.sigma_w2.len() != layers || self.sigma_b2.len() != layers {
            return Err(MonitorError::invalid(
                "plain network",
                format!(
                    "{} widths need {} σ_w² and σ_b² values, got {} and {}",
                    self.widths.len(),
                    layers,
                    self.sigma_w2.len(),
                    self.sigma_b2.len()
                ),
            ));
        }
        let all = self
            .sigma_w2
            .iter()
            .chain(&self.sigma_b2)
            .chain([&self.input_second_moment]);
        if all.clone().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(MonitorError::invalid(
                "plain network",
                "σ², and the input's second moment, must be finite and non-negative",
            ));
        }
        let mf = MeanField::new(self.activation)?;
        // Forward: q per linear layer; m = second moment of each layer's input.
        let mut q = Vec::with_capacity(layers);
        let mut m = Vec::with_capacity(layers);
        let mut input = self.input_second_moment;
        for l in 0..layers {
            m.push(input);
            let ql = self.sigma_w2[l] * input + self.sigma_b2[l];
            q.push(ql);
            input = mf.activation_second_moment(ql);
        }
        // Backward: χ_l links layer l's pre-activation gradient to layer l+1's.
        let mut chi = vec![1.0; layers];
        let mut grad = vec![1.0; layers];
        for l in (0..layers.saturating_sub(1)).rev() {
            chi[l] = mf.chi(q[l], self.sigma_w2[l + 1]);
            grad[l] = grad[l + 1] * chi[l].sqrt();
        }
        let last_in = (self.widths[layers - 1] as f64 * m[layers - 1]).sqrt();
        Ok((0..layers)
            .map(|l| {
                let a = (self.widths[l] as f64 * m[l]).sqrt();
                LayerPrediction {
                    linear: l,
                    q: q[l],
                    input_second_moment: m[l],
                    chi: (l + 1 < layers).then_some(chi[l]),
                    output_grad_rel: grad[l],
                    weight_grad_rel: if last_in > 0.0 {
                        grad[l] * a / last_in
                    } else {
                        f64::NAN
                    },
                }
            })
            .collect())
    }
}

/// The theory for one linear layer of a [`PlainNet`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerPrediction {
    /// The linear layer's index (0 for the first).
    pub linear: usize,
    /// q: the pre-activation second moment E[h²].
    pub q: f64,
    /// E[a²] of the layer's input elements.
    pub input_second_moment: f64,
    /// χ to the next layer (none for the last).
    pub chi: Option<f64>,
    /// ‖∂L/∂h_l‖ / ‖∂L/∂h_last‖: the product of √χ above this layer.
    pub output_grad_rel: f64,
    /// ‖∂L/∂W_l‖ / ‖∂L/∂W_last‖ for one sample (‖∂L/∂h_l‖·‖a_{l−1}‖); a batch adds
    /// cross-sample terms the mean field does not predict, so read it as a trend.
    pub weight_grad_rel: f64,
}

/// One row of [`TheoryTable`]: predicted and measured figures of a linear layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TheoryRow {
    /// The layer's path.
    pub path: String,
    /// The prediction.
    pub predicted: LayerPrediction,
    /// The measured E[h²] of the layer's output.
    pub measured_q: f64,
    /// The measured ‖∂L/∂h‖ relative to the last linear layer's.
    pub measured_output_grad_rel: Option<f64>,
    /// The measured ‖∂L/∂W‖ relative to the last linear layer's.
    pub measured_weight_grad_rel: Option<f64>,
}

/// Predicted beside measured, per linear layer; `Display` prints it as a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TheoryTable {
    /// The rows, first layer first.
    pub rows: Vec<TheoryRow>,
}

impl TheoryTable {
    /// Pairs the predictions with the `Linear` layers of a detailed record, in order.
    ///
    /// # Errors
    /// When the record has not as many linear layers as predictions (a different model,
    /// or a step without layer statistics).
    pub fn compare(predicted: &[LayerPrediction], record: &StepRecord) -> Result<Self> {
        let linear: Vec<_> = record
            .layers
            .iter()
            .filter(|l| l.kind == "Linear")
            .collect();
        if linear.len() != predicted.len() {
            return Err(MonitorError::invalid(
                "record",
                format!(
                    "{} linear layers measured, {} predicted (is it a detailed step of the same model?)",
                    linear.len(),
                    predicted.len()
                ),
            ));
        }
        let rel = |x: Option<f64>, last: Option<f64>| match (x, last) {
            (Some(x), Some(l)) if l > 0.0 => Some(x / l),
            _ => None,
        };
        let last = linear.last().copied();
        let rows = predicted
            .iter()
            .zip(&linear)
            .map(|(p, l)| TheoryRow {
                path: l.path.clone(),
                predicted: *p,
                measured_q: l.second_moment,
                measured_output_grad_rel: rel(
                    l.output_grad_norm,
                    last.and_then(|x| x.output_grad_norm),
                ),
                measured_weight_grad_rel: rel(
                    l.weight_grad_norm,
                    last.and_then(|x| x.weight_grad_norm),
                ),
            })
            .collect();
        Ok(TheoryTable { rows })
    }
}

impl fmt::Display for TheoryTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |x| format!("{x:.3e}"));
        writeln!(
            f,
            "{:<8} {:>11} {:>11} {:>13} {:>13} {:>13} {:>13}",
            "layer",
            "q theory",
            "q measured",
            "∂h theory",
            "∂h measured",
            "∂W theory",
            "∂W measured"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<8} {:>11.4e} {:>11.4e} {:>13.3e} {:>13} {:>13.3e} {:>13}",
                r.path,
                r.predicted.q,
                r.measured_q,
                r.predicted.output_grad_rel,
                opt(r.measured_output_grad_rel),
                r.predicted.weight_grad_rel,
                opt(r.measured_weight_grad_rel)
            )?;
        }
        write!(
            f,
            "q = E[h²] of each linear output; ∂h, ∂W = gradient norms relative to the last linear layer"
        )
    }
}
