//! Batch norm and layer norm (from `gradwell-norm`) as modules.

use gradwell_autodiff::{ParamId, Var};
use gradwell_norm::{BatchNorm, LayerNorm};
use gradwell_tensor::Float;

use crate::layers::kind;
use crate::module::{Ctx, Module};
use crate::{NnError, Result};
use gradwell_activations::pyfmt::{py_bool, py_float};

/// Batch normalization over the feature axis (`BatchNorm1d`).
#[derive(Debug)]
pub struct BatchNormLayer<F: Float>(pub BatchNorm<F>);

impl<F: Float> Module<F> for BatchNormLayer<F> {
    fn kind(&self) -> &'static str {
        kind::BATCH_NORM
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
        kind::LAYER_NORM
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
