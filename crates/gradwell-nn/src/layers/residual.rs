//! [`Residual`]: `y = f(x) + x`, and its settings [`ResidualSpec`].

use gradwell_autodiff::Var;
use gradwell_init::Init;
use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use super::{BuildSite, LayerKind, LayerSpec, Linear, PlanSite, Planned, Sequential, flat, join};
use crate::Result;
use crate::module::{Ctx, Module};
use crate::spec::{build_into, plan_layers};

/// The name under which it prints (PyTorch has no residual block; printed as a module of
/// this name with children `body` and `projection`).
const CLASS: &str = "Residual";

/// A residual block `y = f(x) + x`, or `y = f(x) + P·x` with a linear projection `P`
/// (no bias) when `f` changes the width. The identity path lets gradients reach early
/// layers undiminished, which is why very deep networks train with it.
#[derive(Debug)]
pub struct Residual<F: Float> {
    /// The residual branch `f`.
    pub body: Sequential<F>,
    /// The projection of the skip path, if the widths differ.
    pub projection: Option<Linear>,
}

impl<F: Float> Module<F> for Residual<F> {
    fn kind(&self) -> &'static str {
        CLASS
    }

    fn repr(&self) -> String {
        "Residual".to_string()
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        let fx = self.body.forward(ctx, x)?;
        let skip = match &self.projection {
            Some(p) => p.forward(ctx, x)?,
            None => x,
        };
        Ok(ctx.tape.add(fx, skip)?)
    }

    fn children(&self) -> Vec<(String, &dyn Module<F>)> {
        let mut c: Vec<(String, &dyn Module<F>)> = vec![("body".to_string(), &self.body)];
        if let Some(p) = &self.projection {
            c.push(("projection".to_string(), p));
        }
        c
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.body.output_shape(input)
    }
}

/// A [`Residual`] block in a model file (`type = "residual"`): the layers of its branch
/// `f`; the skip path is projected when `f` changes the width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidualSpec {
    /// The layers of `f`.
    pub layers: Vec<LayerSpec>,
}

impl LayerKind for ResidualSpec {
    fn torch_class(&self) -> &'static str {
        CLASS
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        let input = at.input.to_vec();
        let (body, output) = plan_layers(
            &self.layers,
            &join(at.path, "body"),
            input.clone(),
            at.prev.to_string(),
        )?;
        let mut parts: Vec<u64> = body.iter().map(|l| l.trainable).collect();
        let mut extra_outputs = 0;
        if output != input {
            let ([i], [o]) = (input.as_slice(), output.as_slice()) else {
                return Err(at.error("a residual block needs flat input and output"));
            };
            parts.push(at.count(&[*o, *i])?); // the projection, no bias
            extra_outputs = at.count(&output)?; // the projection's output
        }
        Ok(Planned {
            trainable: at.sum(&parts)?,
            non_trainable: at.sum(&body.iter().map(|l| l.non_trainable).collect::<Vec<_>>())?,
            uncounted: at.sum(&body.iter().map(|l| l.uncounted).collect::<Vec<_>>())?,
            output,
            body,
            extra_outputs,
        })
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        let plan = at.plan;
        let mut body = Sequential::new(join(&plan.path, "body"));
        build_into(&self.layers, &plan.body, &mut body, at.store, at.rng)?;
        let projection = if plan.output_shape != plan.input_shape {
            Some(Linear::new(
                at.store,
                &join(&plan.path, "projection"),
                at.width()?,
                flat(&plan.output_shape, &plan.label, &plan.label)?,
                false,
                &Init::PytorchDefault(gradwell_init::PytorchDefault),
                None,
                at.rng,
            )?)
        } else {
            None
        };
        Ok(Box::new(Residual { body, projection }))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        let linear = |n| LayerSpec::Linear(super::LinearSpec::new(n));
        let tanh = LayerSpec::Activation(super::ActivationSpec {
            activation: "tanh".parse().expect("a valid activation"),
        });
        vec![
            (
                vec![4],
                ResidualSpec {
                    layers: vec![linear(4), tanh.clone()],
                },
            ),
            (
                vec![4],
                ResidualSpec {
                    layers: vec![linear(3), tanh],
                },
            ),
        ]
    }
}
