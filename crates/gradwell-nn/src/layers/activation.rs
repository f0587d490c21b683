//! [`Act`]: an element-wise activation as a layer, and its settings [`ActivationSpec`].

use gradwell_activations::{ActivationInfo, ActivationKind};
use gradwell_autodiff::Var;
use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use super::{BuildSite, LayerKind, PlanSite, Planned};
use crate::Result;
use crate::module::{Ctx, Module};
use crate::plan::KerasLayer;

/// An element-wise activation as a layer (fixed parameters; see [`crate::Prelu`] for a learnable
/// slope).
#[derive(Debug, Clone, Copy)]
pub struct Act(pub ActivationKind);

impl<F: Float> Module<F> for Act {
    fn kind(&self) -> &'static str {
        self.0.torch_class()
    }

    fn repr(&self) -> String {
        self.0.torch_repr()
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        Ok(ctx.tape.activation(self.0, x)?)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn activation(&self) -> Option<ActivationKind> {
        Some(self.0)
    }
}

/// An activation layer in a model file (`type = "activation"`), the activation by name
/// (`relu`, `leaky-relu:0.2`, …).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationSpec {
    /// The activation.
    pub activation: ActivationKind,
}

impl LayerKind for ActivationSpec {
    fn torch_class(&self) -> &'static str {
        self.activation.torch_class()
    }

    /// Keras's `Dense(…, activation="relu")`, or `Activation("relu")` elsewhere.
    fn keras(&self) -> KerasLayer {
        KerasLayer::Activation("Activation")
    }

    fn describe(&self) -> Option<String> {
        Some(format!("Activation({})", self.activation))
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        Ok(Planned::output(at.input.to_vec()))
    }

    fn build<F: Float>(&self, _: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        Ok(Box::new(Act(self.activation)))
    }

    /// Every activation with PyTorch's defaults, on a flat and on a 2-D sample.
    fn examples() -> Vec<(Vec<usize>, Self)> {
        let mut all: Vec<(Vec<usize>, Self)> = ActivationKind::defaults()
            .into_iter()
            .map(|activation| (vec![4], ActivationSpec { activation }))
            .collect();
        all.push((
            vec![2, 3],
            ActivationSpec {
                activation: ActivationKind::default(),
            },
        ));
        all
    }
}
