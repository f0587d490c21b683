//! LSUV, layer-sequential unit-variance initialization (Mishkin & Matas, "All you need is
//! a good init", 2016): a data-dependent initializer.

use gradwell_init::{Initializer, Orthogonal};
use gradwell_nn::{Network, Tap};
use gradwell_tensor::Float;
use ndarray::ArrayView2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{MonitorError, Result, TensorStats};

/// The settings of [`Lsuv::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lsuv {
    /// A layer is done when |Var(output) − 1| < `tolerance` (the paper's 0.1).
    pub tolerance: f64,
    /// Rescalings per layer before giving up (the paper's 10).
    pub max_iterations: usize,
    /// Re-draw every weight as an orthogonal matrix first, as the paper does; `false`
    /// keeps the current weights and only rescales them.
    pub orthogonal: bool,
    /// The seed of the orthogonal draw.
    pub seed: u64,
}

impl Default for Lsuv {
    /// The paper's settings: tolerance 0.1, 10 iterations, orthogonal pre-initialization.
    fn default() -> Self {
        Lsuv {
            tolerance: 0.1,
            max_iterations: 10,
            orthogonal: true,
            seed: 0,
        }
    }
}

/// What LSUV did to one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LsuvLayer {
    /// The linear layer's path.
    pub path: String,
    /// The rescalings applied.
    pub iterations: usize,
    /// Its output variance on the batch at the end.
    pub variance: f64,
    /// The product of the factors its weight was multiplied by.
    pub scale: f64,
}

impl Lsuv {
    /// Initializes the weights of every tapped `Linear` layer of `net` (top-level, and inside
    /// residual bodies; not residual projections) on the batch `x`, first layer first:
    /// orthogonal init (if asked), then the weight is divided by the standard deviation of
    /// the layer's output until its variance is within the tolerance of 1. Biases are left
    /// as they are. The forward passes run in evaluation mode (no dropout; batch norm on its
    /// running statistics).
    ///
    /// # Errors
    /// [`MonitorError::LsuvDidNotConverge`] naming the layer when its variance is still off
    /// after `max_iterations`, or is 0 or non-finite (no scale can fix it); invalid
    /// settings; the network's own errors.
    pub fn apply<F: Float>(
        &self,
        net: &mut Network<F>,
        x: &ArrayView2<'_, F>,
    ) -> Result<Vec<LsuvLayer>> {
        if !(self.tolerance > 0.0 && self.tolerance < 1.0) {
            return Err(MonitorError::invalid(
                "LSUV tolerance",
                format!("must be in (0, 1), got {}", self.tolerance),
            ));
        }
        if self.max_iterations == 0 {
            return Err(MonitorError::invalid(
                "LSUV max_iterations",
                "must be at least 1",
            ));
        }
        let linear: Vec<String> = forward(net, x)?
            .iter()
            .filter(|(t, _)| t.kind == "Linear")
            .map(|(t, _)| t.path.clone())
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut weights = Vec::new();
        for path in &linear {
            let id = net.param(&format!("{path}.weight")).ok_or_else(|| {
                MonitorError::invalid("model", format!("linear layer {path} has no weight"))
            })?;
            if self.orthogonal {
                Orthogonal::default().fill(&mut net.tape.params_mut().value_mut(id), &mut rng)?;
            }
            weights.push(id);
        }
        let mut report = Vec::new();
        for (path, id) in linear.iter().zip(weights) {
            let mut scale = 1.0;
            let mut iterations = 0;
            loop {
                let variance = forward(net, x)?
                    .into_iter()
                    .find(|(t, _)| &t.path == path)
                    .map_or(f64::NAN, |(_, s)| s.std * s.std);
                if (variance - 1.0).abs() < self.tolerance {
                    report.push(LsuvLayer {
                        path: path.clone(),
                        iterations,
                        variance,
                        scale,
                    });
                    break;
                }
                if iterations == self.max_iterations || !variance.is_finite() || variance <= 0.0 {
                    return Err(MonitorError::LsuvDidNotConverge {
                        layer: path.clone(),
                        variance,
                        iterations,
                        tolerance: self.tolerance,
                    });
                }
                let factor = 1.0 / variance.sqrt();
                net.tape
                    .params_mut()
                    .value_mut(id)
                    .mapv_inplace(|w| F::of(w.as_f64() * factor));
                scale *= factor;
                iterations += 1;
            }
        }
        Ok(report)
    }
}

/// An evaluation-mode forward pass of `x`, returning each tap with its output's statistics.
fn forward<F: Float>(
    net: &mut Network<F>,
    x: &ArrayView2<'_, F>,
) -> Result<Vec<(Tap, TensorStats)>> {
    let was = net.tape.is_recording();
    net.tape.set_recording(false);
    net.tape.reset();
    let xv = net.tape.input_view(&x.view().into_dyn());
    let mut taps = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let out = net.forward(xv, false, &mut rng, Some(&mut taps));
    net.tape.set_recording(was);
    out?;
    Ok(taps
        .into_iter()
        .map(|t| {
            let s = TensorStats::of(&net.tape.value(t.output));
            (t, s)
        })
        .collect())
}
