//! [`Linear`]: `y = x·Wᵀ + b`, and its settings [`LinearSpec`].

use gradwell_autodiff::{ParamId, ParamStore, Var};
use gradwell_init::Init;
use gradwell_tensor::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{BuildSite, LayerKind, PlanSite, Planned, join, new_param};
use crate::module::{Ctx, Module};
use crate::{NnError, Result};

/// PyTorch's class name.
const CLASS: &str = "Linear";

/// `y = x·Wᵀ + b` with PyTorch's `[out_features, in_features]` weight, applied to the last
/// axis of the input as PyTorch's: per sample `[in]` → `[out]`, or `[T, in]` → `[T, out]`
/// (e.g. a classifier at every step of an RNN's output), the leading axes read as rows of
/// the same product without a copy.
#[derive(Debug, Clone)]
pub struct Linear {
    /// The weight, `[out, in]`.
    pub weight: ParamId,
    /// The bias, `[out]`, if any.
    pub bias: Option<ParamId>,
    in_features: usize,
    out_features: usize,
}

impl Linear {
    /// A linear layer whose weight is drawn from `init` and whose bias (if any) from
    /// `bias_init`, or PyTorch's default U(±1/√in_features) when `bias_init` is `None`
    /// ([`Init::pytorch_default_bias`]). A bias initializer that reads the weight
    /// (`pytorch-default-bias`) reads this layer's ([`Init::for_bias_of`]). Parameters are
    /// named `{prefix}.weight` and `{prefix}.bias`.
    ///
    /// # Errors
    /// When an initializer fails (e.g. a zero width).
    #[allow(clippy::too_many_arguments)] // PyTorch's arguments plus the store, path and RNG
    pub fn new<F: Float>(
        store: &mut ParamStore<F>,
        prefix: &str,
        in_features: usize,
        out_features: usize,
        bias: bool,
        init: &Init,
        bias_init: Option<&Init>,
        rng: &mut dyn RngCore,
    ) -> Result<Self> {
        let weight_shape = [out_features, in_features];
        let weight = new_param(store, join(prefix, "weight"), &weight_shape, init, rng)?;
        let bias = if bias {
            let name = join(prefix, "bias");
            let default = Init::pytorch_default_bias(in_features);
            let bias_init = bias_init
                .unwrap_or(&default)
                .for_bias_of(&weight_shape)
                .map_err(|source| NnError::Init {
                    param: name.clone(),
                    source,
                })?;
            Some(new_param(store, name, &[out_features], &bias_init, rng)?)
        } else {
            None
        };
        Ok(Linear {
            weight,
            bias,
            in_features,
            out_features,
        })
    }

    /// The number of input features.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// The number of output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

impl<F: Float> Module<F> for Linear {
    fn kind(&self) -> &'static str {
        CLASS
    }

    fn repr(&self) -> String {
        let bias = if self.bias.is_some() { "True" } else { "False" };
        format!(
            "Linear(in_features={}, out_features={}, bias={bias})",
            self.in_features, self.out_features
        )
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        let w = ctx.tape.param(self.weight);
        let y = ctx.tape.matmul_t(x, w)?;
        match self.bias {
            Some(b) => {
                let b = ctx.tape.param(b);
                Ok(ctx.tape.bias_add(y, b)?)
            }
            None => Ok(y),
        }
    }

    fn params(&self) -> Vec<ParamId> {
        std::iter::once(self.weight).chain(self.bias).collect()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let (lead, f) = split_features(input).ok_or_else(|| {
            NnError::Config(format!(
                "Linear needs per-sample input with a feature axis, got shape {input:?}"
            ))
        })?;
        if f != self.in_features {
            return Err(NnError::Config(format!(
                "Linear expects {} input features, got {f}",
                self.in_features
            )));
        }
        Ok(lead.iter().copied().chain([self.out_features]).collect())
    }
}

/// A per-sample shape `[…, features]` split into its leading axes and its last: a linear
/// layer applies to the last axis, as PyTorch's does (`[T, in]` → `[T, out]`).
fn split_features(input: &[usize]) -> Option<(&[usize], usize)> {
    input.split_last().map(|(f, lead)| (lead, *f))
}

fn yes() -> bool {
    true
}

/// A [`Linear`] layer in a model file (`type = "linear"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearSpec {
    /// Output width.
    pub out_features: usize,
    /// Input width; inferred from the previous layer when absent, checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_features: Option<usize>,
    /// Whether there is a bias (default true).
    #[serde(default = "yes")]
    pub bias: bool,
    /// The weight initializer, written by name in files (`he-normal`, `xavier-uniform`, …;
    /// see [`Init`]); PyTorch's default U(±1/√in) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "init_text")]
    pub init: Option<Init>,
    /// The bias initializer, by name in files; PyTorch's default U(±1/√in) when absent
    /// (`pytorch-default-bias`, which may also be named).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "init_text")]
    pub bias_init: Option<Init>,
}

impl LinearSpec {
    /// `out_features` wide, with PyTorch's defaults for the rest.
    pub fn new(out_features: usize) -> Self {
        LinearSpec {
            out_features,
            in_features: None,
            bias: true,
            init: None,
            bias_init: None,
        }
    }
}

/// An optional [`Init`] written as its name (`"he-normal"`), so that a config file says
/// `init = "he-normal"` and an unknown name is an error at parse time, with its line.
pub(crate) mod init_text {
    use gradwell_init::Init;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(init: &Option<Init>, s: S) -> Result<S::Ok, S::Error> {
        match init {
            Some(init) => s.serialize_some(&init.to_string()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Init>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| text.parse().map_err(D::Error::custom))
            .transpose()
    }
}

impl LayerKind for LinearSpec {
    fn torch_class(&self) -> &'static str {
        CLASS
    }

    fn describe(&self) -> Option<String> {
        Some(format!("Linear(→{})", self.out_features))
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        let Some((lead, got)) = split_features(at.input) else {
            return Err(at.error(format!(
                "needs per-sample input with a feature axis, but {} produces shape {:?}",
                at.prev, at.input
            )));
        };
        if let Some(expected) = self.in_features
            && expected != got
        {
            return Err(at.width_mismatch(expected, got));
        }
        if self.out_features == 0 {
            return Err(at.error("out_features must be at least 1"));
        }
        let weights = at.count(&[self.out_features, got])?;
        let biases = if self.bias {
            self.out_features as u64
        } else {
            0
        };
        let output = lead.iter().copied().chain([self.out_features]).collect();
        Ok(Planned::output(output).trainable(at.sum(&[weights, biases])?))
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        let Some((_, width)) = split_features(&at.plan.input_shape) else {
            return Err(NnError::Config(format!(
                "layer {}: needs per-sample input with a feature axis",
                at.plan.label
            )));
        };
        Ok(Box::new(Linear::new(
            at.store,
            &at.plan.path,
            width,
            self.out_features,
            self.bias,
            &self
                .init
                .unwrap_or(Init::PytorchDefault(gradwell_init::PytorchDefault)),
            self.bias_init.as_ref(),
            at.rng,
        )?))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        let init = |name: &str| name.parse::<Init>().expect("a valid initializer name");
        vec![
            (vec![3], LinearSpec::new(4)),
            // Per step of a sequence: the last axis.
            (vec![2, 3], LinearSpec::new(2)),
            (
                vec![4],
                LinearSpec {
                    in_features: Some(4),
                    bias: false,
                    init: Some(init("xavier-normal:2")),
                    ..LinearSpec::new(2)
                },
            ),
            (
                vec![2],
                LinearSpec {
                    init: Some(init("zeros")),
                    bias_init: Some(init("constant:0.5")),
                    ..LinearSpec::new(3)
                },
            ),
        ]
    }
}
