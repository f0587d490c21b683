//! [`Flatten`], and its settings [`FlattenSpec`].

use gradwell_autodiff::Var;
use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use super::{BuildSite, LayerKind, PlanSite, Planned};
use crate::Result;
use crate::module::{Ctx, Module};

/// PyTorch's class name.
const CLASS: &str = "Flatten";

/// Flattens every axis but the batch axis: `[batch, a, b, …]` → `[batch, a·b·…]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flatten;

impl<F: Float> Module<F> for Flatten {
    fn kind(&self) -> &'static str {
        CLASS
    }

    fn repr(&self) -> String {
        "Flatten(start_dim=1, end_dim=-1)".to_string()
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        let shape = ctx.tape.shape(x)?;
        if shape.len() == 2 {
            return Ok(x);
        }
        let batch = shape.first().copied().unwrap_or(1);
        let rest: usize = shape.iter().skip(1).product();
        Ok(ctx.tape.reshape(x, &[batch, rest])?)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input.iter().product()])
    }
}

/// A [`Flatten`] layer in a model file (`type = "flatten"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlattenSpec {}

impl LayerKind for FlattenSpec {
    fn torch_class(&self) -> &'static str {
        CLASS
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        let n = at.count(at.input)?;
        let n = usize::try_from(n)
            .map_err(|_| at.error(format!("{:?} flattens past usize", at.input)))?;
        Ok(Planned::output(vec![n]))
    }

    fn build<F: Float>(&self, _: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        Ok(Box::new(Flatten))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        vec![(vec![2, 3], FlattenSpec {}), (vec![4], FlattenSpec {})]
    }
}
