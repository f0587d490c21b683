use serde::{Deserialize, Serialize};

use crate::{NormError, Result};

/// The default `eps` added to the variance, PyTorch's for `BatchNorm*` and `LayerNorm`
/// (Keras uses 1e-3).
pub const DEFAULT_EPS: f64 = 1e-5;

/// The default running-statistics momentum, PyTorch's: the weight of the **new** batch
/// statistic (Keras' `momentum = 0.99` is the weight of the old one, i.e. 0.01 here).
pub const DEFAULT_MOMENTUM: f64 = 0.1;

/// Settings of a [`crate::BatchNorm`], with PyTorch's defaults
/// (`BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, bias=True)`).
///
/// Checked once by [`BatchNormConfig::validate`] when a layer is built.
///
/// ```
/// use gradwell_norm::BatchNormConfig;
///
/// let c = BatchNormConfig { momentum: None, ..BatchNormConfig::default() };
/// assert!(c.validate().is_ok());
/// assert!(BatchNormConfig { eps: 0.0, ..c }.validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchNormConfig {
    /// Added to the variance before the square root; finite and > 0.
    pub eps: f64,
    /// The weight of the new batch statistic in the running average, in [0, 1]; `None`
    /// gives the cumulative moving average (factor `1 / num_batches_tracked`).
    pub momentum: Option<f64>,
    /// Whether the layer has a learnable scale γ (init [`Self::weight_init`]) and, with
    /// [`Self::bias`], shift β (init 0).
    pub affine: bool,
    /// Whether an affine layer has the shift β (PyTorch's `bias=False` keeps γ only).
    pub bias: bool,
    /// Whether running statistics are kept and used in evaluation; without them batch
    /// statistics are used in evaluation too, as in PyTorch.
    pub track_running_stats: bool,
    /// The value every element of the scale γ starts at, finite: PyTorch's 1 by default;
    /// 0 for a batch norm that ends a residual branch starts the branch at zero ("zero-init
    /// residual", Goyal et al. 2017). Written only when it is not 1.
    #[serde(skip_serializing_if = "is_default_weight")]
    pub weight_init: f64,
}

/// γ's initial value in PyTorch (`init.ones_`).
pub const DEFAULT_WEIGHT_INIT: f64 = 1.0;

fn is_default_weight(v: &f64) -> bool {
    *v == DEFAULT_WEIGHT_INIT
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig {
            eps: DEFAULT_EPS,
            momentum: Some(DEFAULT_MOMENTUM),
            affine: true,
            bias: true,
            track_running_stats: true,
            weight_init: DEFAULT_WEIGHT_INIT,
        }
    }
}

/// `eps` must be finite and > 0.
pub(crate) fn check_eps(layer: &'static str, eps: f64) -> Result<()> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(NormError::InvalidConfig {
            layer,
            field: "eps",
            value: eps.to_string(),
            why: "must be finite and > 0",
        })
    }
}

/// A layer's width must be at least 1.
pub(crate) fn check_width(layer: &'static str, field: &'static str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(NormError::InvalidConfig {
            layer,
            field,
            value: "0".into(),
            why: "must be at least 1",
        });
    }
    Ok(())
}

impl BatchNormConfig {
    /// Checks every setting.
    ///
    /// # Errors
    /// [`NormError::InvalidConfig`] naming the first setting out of range.
    pub fn validate(&self) -> Result<()> {
        check_eps("batch_norm", self.eps)?;
        if let Some(m) = self.momentum
            && !(0.0..=1.0).contains(&m)
        {
            return Err(NormError::InvalidConfig {
                layer: "batch_norm",
                field: "momentum",
                value: m.to_string(),
                why: "must be in [0, 1], or None for a cumulative average",
            });
        }
        if !self.weight_init.is_finite() {
            return Err(NormError::InvalidConfig {
                layer: "batch_norm",
                field: "weight_init",
                value: self.weight_init.to_string(),
                why: "must be finite",
            });
        }
        Ok(())
    }
}

/// Settings of a [`crate::LayerNorm`], with PyTorch's defaults
/// (`LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayerNormConfig {
    /// Added to the variance before the square root; finite and > 0.
    pub eps: f64,
    /// Whether the layer has a learnable per-element scale γ (init 1) and, with
    /// [`Self::bias`], shift β (init 0).
    pub elementwise_affine: bool,
    /// Whether an affine layer has the shift β.
    pub bias: bool,
}

impl Default for LayerNormConfig {
    fn default() -> Self {
        LayerNormConfig {
            eps: DEFAULT_EPS,
            elementwise_affine: true,
            bias: true,
        }
    }
}

impl LayerNormConfig {
    /// Checks every setting.
    ///
    /// # Errors
    /// [`NormError::InvalidConfig`] for an `eps` that is not finite and > 0.
    pub fn validate(&self) -> Result<()> {
        check_eps("layer_norm", self.eps)
    }
}
