//! [`Softmax`] (or log-softmax) over the features, and its settings [`SoftmaxSpec`] and
//! [`LogSoftmaxSpec`].

use gradwell_autodiff::Var;
use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use super::{BuildSite, LayerKind, PlanSite, Planned};
use crate::Result;
use crate::module::{Ctx, Module};
use crate::plan::KerasLayer;

/// PyTorch's class names.
const SOFTMAX: &str = "Softmax";
const LOG_SOFTMAX: &str = "LogSoftmax";

/// Softmax or log-softmax over the feature axis (`dim=1` of `[batch, features]`).
#[derive(Debug, Clone, Copy)]
pub struct Softmax {
    /// Log-softmax instead of softmax.
    pub log: bool,
}

impl<F: Float> Module<F> for Softmax {
    fn kind(&self) -> &'static str {
        if self.log { LOG_SOFTMAX } else { SOFTMAX }
    }

    fn repr(&self) -> String {
        format!("{}(dim=1)", <Self as Module<F>>::kind(self))
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        Ok(if self.log {
            ctx.tape.log_softmax(x, 1)?
        } else {
            ctx.tape.softmax(x, 1)?
        })
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn layer_activation(&self) -> Option<crate::LayerActivation> {
        Some(if self.log {
            crate::LayerActivation::LogSoftmax
        } else {
            crate::LayerActivation::Softmax
        })
    }
}

/// A softmax layer in a model file (`type = "softmax"`), over the features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoftmaxSpec {}

/// A log-softmax layer in a model file (`type = "log_softmax"`), over the features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSoftmaxSpec {}

impl LayerKind for SoftmaxSpec {
    fn torch_class(&self) -> &'static str {
        SOFTMAX
    }

    /// Keras's `Dense(…, activation="softmax")`, or its `Softmax` layer elsewhere.
    fn keras(&self) -> KerasLayer {
        KerasLayer::Activation("Softmax")
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        Ok(Planned::output(at.input.to_vec()))
    }

    fn build<F: Float>(&self, _: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        Ok(Box::new(Softmax { log: false }))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        vec![(vec![3], SoftmaxSpec {})]
    }
}

impl LayerKind for LogSoftmaxSpec {
    fn torch_class(&self) -> &'static str {
        LOG_SOFTMAX
    }

    /// Keras's `Dense(…, activation="log_softmax")`, or `Activation("log_softmax")`
    /// elsewhere (Keras has no log-softmax layer).
    fn keras(&self) -> KerasLayer {
        KerasLayer::Activation("Activation")
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        Ok(Planned::output(at.input.to_vec()))
    }

    fn build<F: Float>(&self, _: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        Ok(Box::new(Softmax { log: true }))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        vec![(vec![3], LogSoftmaxSpec {})]
    }
}
