//! Batch norm and layer norm (from `gradwell-norm`) as layers, and their settings
//! [`BatchNormSpec`] and [`LayerNormSpec`].

use gradwell_activations::pyfmt::{py_bool, py_float};
use gradwell_autodiff::{ParamId, Var};
use gradwell_norm::{BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig};
use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use super::{BuildSite, LayerKind, PlanSite, Planned};
use crate::module::{Ctx, Module};
use crate::plan::KerasLayer;
use crate::{NnError, Result};

/// PyTorch's class names.
const BATCH_NORM: &str = "BatchNorm1d";
const LAYER_NORM: &str = "LayerNorm";

/// Batch normalization over the feature axis (`BatchNorm1d`).
#[derive(Debug)]
pub struct BatchNormLayer<F: Float>(pub BatchNorm<F>);

impl<F: Float> Module<F> for BatchNormLayer<F> {
    fn kind(&self) -> &'static str {
        BATCH_NORM
    }

    fn repr(&self) -> String {
        let c = self.0.config();
        let momentum = c.momentum.map_or("None".to_string(), py_float);
        // PyTorch 2.15's form, which has `bias=` (True only when the shift exists).
        format!(
            "BatchNorm1d({}, eps={}, momentum={momentum}, affine={}, bias={}, track_running_stats={})",
            self.0.features(),
            py_float(c.eps),
            py_bool(c.affine),
            py_bool(self.0.bias().is_some()),
            py_bool(c.track_running_stats)
        )
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        Ok(self.0.forward(ctx.tape, x, ctx.training)?)
    }

    /// γ, β and the running statistics; not the batch counter, which is saved with the
    /// weights (PyTorch's `num_batches_tracked`) but is no parameter: Keras counts the
    /// moving statistics as non-trainable parameters, and nothing else.
    fn params(&self) -> Vec<ParamId> {
        [
            self.0.weight(),
            self.0.bias(),
            self.0.running_mean(),
            self.0.running_var(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input.first() != Some(&self.0.features()) {
            return Err(NnError::Config(format!(
                "BatchNorm1d({}) got per-sample input {input:?}",
                self.0.features()
            )));
        }
        Ok(input.to_vec())
    }
}

/// Layer normalization over the last axis.
#[derive(Debug)]
pub struct LayerNormLayer<F: Float>(pub LayerNorm<F>);

impl<F: Float> Module<F> for LayerNormLayer<F> {
    fn kind(&self) -> &'static str {
        LAYER_NORM
    }

    fn repr(&self) -> String {
        let c = self.0.config();
        format!(
            "LayerNorm(({},), eps={}, elementwise_affine={}, bias={})",
            self.0.normalized(),
            py_float(c.eps),
            py_bool(c.elementwise_affine),
            py_bool(self.0.bias().is_some())
        )
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        Ok(self.0.forward(ctx.tape, x)?)
    }

    fn params(&self) -> Vec<ParamId> {
        [self.0.weight(), self.0.bias()]
            .into_iter()
            .flatten()
            .collect()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input.last() != Some(&self.0.normalized()) {
            return Err(NnError::Config(format!(
                "LayerNorm(({},)) got per-sample input {input:?}",
                self.0.normalized()
            )));
        }
        Ok(input.to_vec())
    }
}

/// A batch-norm layer in a model file (`type = "batch_norm"`), over the features of a flat
/// sample: the settings of [`BatchNormConfig`], written flat, PyTorch's defaults when absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormSpec {
    /// Settings (PyTorch's defaults when absent).
    #[serde(default, flatten)]
    pub config: BatchNormConfig,
}

/// A layer-norm layer in a model file (`type = "layer_norm"`), over the features of a flat
/// sample: the settings of [`LayerNormConfig`], written flat, PyTorch's defaults when absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerNormSpec {
    /// Settings (PyTorch's defaults when absent).
    #[serde(default, flatten)]
    pub config: LayerNormConfig,
}

/// The affine parameters of `f` features: none, the scale only, or scale and shift.
fn affine(at: &PlanSite<'_>, f: u64, affine: bool, bias: bool) -> Result<u64> {
    match (affine, bias) {
        (false, _) => Ok(0),
        (true, false) => Ok(f),
        (true, true) => at.sum(&[f, f]),
    }
}

impl LayerKind for BatchNormSpec {
    fn torch_class(&self) -> &'static str {
        BATCH_NORM
    }

    fn keras(&self) -> KerasLayer {
        KerasLayer::Other("BatchNormalization")
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        let c = &self.config;
        let f = at.flat()? as u64;
        at.in_layer(c.validate().map_err(NnError::from))?;
        let mut planned =
            Planned::output(at.input.to_vec()).trainable(affine(at, f, c.affine, c.bias)?);
        if c.track_running_stats {
            planned.non_trainable = at.sum(&[f, f])?; // running mean and variance
            planned.uncounted = 1; // the batch counter
        }
        Ok(planned)
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        let width = at.width()?;
        let bn = BatchNorm::new(at.store, &at.plan.path, width, self.config);
        Ok(Box::new(BatchNormLayer(
            at.in_layer(bn.map_err(NnError::from))?,
        )))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        let with = |config| BatchNormSpec { config };
        let d = BatchNormConfig::default();
        vec![
            (vec![3], BatchNormSpec::default()),
            (
                vec![3],
                with(BatchNormConfig {
                    eps: 1e-3,
                    momentum: Some(0.01),
                    bias: false,
                    ..d
                }),
            ),
            (
                vec![2],
                with(BatchNormConfig {
                    affine: false,
                    track_running_stats: false,
                    ..d
                }),
            ),
        ]
    }
}

impl LayerKind for LayerNormSpec {
    fn torch_class(&self) -> &'static str {
        LAYER_NORM
    }

    fn keras(&self) -> KerasLayer {
        KerasLayer::Other("LayerNormalization")
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        let c = &self.config;
        let f = at.flat()? as u64;
        at.in_layer(c.validate().map_err(NnError::from))?;
        Ok(Planned::output(at.input.to_vec()).trainable(affine(
            at,
            f,
            c.elementwise_affine,
            c.bias,
        )?))
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        let width = at.width()?;
        let ln = LayerNorm::new(at.store, &at.plan.path, width, self.config);
        Ok(Box::new(LayerNormLayer(
            at.in_layer(ln.map_err(NnError::from))?,
        )))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        let d = LayerNormConfig::default();
        vec![
            (vec![4], LayerNormSpec::default()),
            (
                vec![3],
                LayerNormSpec {
                    config: LayerNormConfig {
                        eps: 1e-3,
                        bias: false,
                        ..d
                    },
                },
            ),
            (
                vec![3],
                LayerNormSpec {
                    config: LayerNormConfig {
                        elementwise_affine: false,
                        ..d
                    },
                },
            ),
        ]
    }
}
