//! Models as data: [`ModelSpec`] (a list of [`LayerSpec`]s) serializes to JSON and TOML,
//! and [`MlpSpec`] writes the common multilayer perceptron in one call.

use gradwell_activations::{ActivationInfo, ActivationKind};
use gradwell_autodiff::ParamStore;
use gradwell_init::{Distribution, FanMode, Init, VarianceScaling};
use gradwell_norm::BatchNormConfig;
use gradwell_tensor::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::layers::{
    ActivationSpec, BatchNormSpec, BuildSite, DropoutSpec, LayerSpec, LinearSpec, LogSoftmaxSpec,
    PlanSite, ResidualSpec, Sequential, SoftmaxSpec, join,
};
use crate::memory::{MemoryBudget, MemoryUse};
use crate::plan::{LayerPlan, ModelPlan};
use crate::{NnError, Result};

/// A whole model: the per-sample input shape and the layers, in order.
///
/// ```
/// use gradwell_nn::ModelSpec;
///
/// let spec: ModelSpec = toml::from_str(r#"
///     input_shape = [784]
///     [[layers]]
///     type = "linear"
///     out_features = 128
///     init = "he-normal"
///     [[layers]]
///     type = "activation"
///     activation = "relu"
///     [[layers]]
///     type = "linear"
///     out_features = 10
/// "#)?;
/// assert_eq!(spec.layers.len(), 3);
/// let back: ModelSpec = toml::from_str(&toml::to_string(&spec)?)?;
/// assert_eq!(back, spec);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The shape of one sample (`[784]`, or `[28, 28]` before a flatten).
    pub input_shape: Vec<usize>,
    /// The layers.
    pub layers: Vec<LayerSpec>,
}

/// Plans `layers` whose paths start with `prefix`, from per-sample shape `shape`: checks
/// every width and setting as building would and counts every parameter, allocating
/// nothing but the plan. `prev` names the layer that produced `shape`, for error messages.
/// Returns the layers' plans and the output shape.
pub(crate) fn plan_layers(
    layers: &[LayerSpec],
    prefix: &str,
    mut shape: Vec<usize>,
    mut prev: String,
) -> Result<(Vec<LayerPlan>, Vec<usize>)> {
    let mut plans = Vec::with_capacity(layers.len());
    for (i, spec) in layers.iter().enumerate() {
        let path = join(prefix, &i.to_string());
        let here = format!("{path} ({})", spec.describe());
        let at = PlanSite {
            path: &path,
            label: &here,
            prev: &prev,
            input: &shape,
        };
        let planned = spec.plan(&at)?;
        // What one sample leaves on the tape: the layer's output, and inside it (a residual
        // block) every layer's output and any extra ones (the projection's).
        let mut outputs: Vec<u64> = planned.body.iter().map(|l| l.outputs_per_sample).collect();
        outputs.push(at.count(&planned.output)?);
        outputs.push(planned.extra_outputs);
        let outputs_per_sample = at.sum(&outputs)?;
        plans.push(LayerPlan {
            path,
            kind: spec.torch_class(),
            label: here.clone(),
            input_shape: std::mem::replace(&mut shape, planned.output.clone()),
            output_shape: planned.output,
            trainable: planned.trainable,
            non_trainable: planned.non_trainable,
            uncounted: planned.uncounted,
            outputs_per_sample,
            body: planned.body,
        });
        prev = here;
    }
    Ok((plans, shape))
}

/// Builds the layers of `plans` (made by [`plan_layers`] from `layers`) into `seq`.
pub(crate) fn build_into<F: Float>(
    layers: &[LayerSpec],
    plans: &[LayerPlan],
    seq: &mut Sequential<F>,
    store: &mut ParamStore<F>,
    rng: &mut dyn RngCore,
) -> Result<()> {
    for (spec, plan) in layers.iter().zip(plans) {
        let layer = spec.build(&mut BuildSite { store, rng, plan })?;
        seq.push_boxed(layer);
    }
    Ok(())
}

impl ModelSpec {
    /// What the model will hold, computed from the spec alone: every layer's shapes and
    /// parameter counts, with every width and setting checked as [`ModelSpec::build`]
    /// checks them, and nothing allocated but the plan (see [`ModelPlan`]). A `Linear`
    /// whose `in_features` disagrees with the previous layer's output is a
    /// [`NnError::WidthMismatch`] naming both layers.
    ///
    /// ```
    /// use gradwell_nn::MlpSpec;
    ///
    /// // A trillion hidden units: planned (and summarized) without a byte for its weights.
    /// let spec = MlpSpec::new(&[784, 1_000_000_000_000, 10], "relu".parse()?).to_spec()?;
    /// let plan = spec.plan()?;
    /// assert_eq!(plan.num_params(), (795_000_000_000_010, 0));
    /// assert_eq!(plan.output_shape, [10]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Mismatched widths, invalid settings, counts past 64 bits.
    pub fn plan(&self) -> Result<ModelPlan> {
        if self.input_shape.is_empty() || self.input_shape.contains(&0) {
            return Err(NnError::Config(format!(
                "input_shape must be non-empty with no zero axis, got {:?}",
                self.input_shape
            )));
        }
        let (layers, output_shape) = plan_layers(
            &self.layers,
            "",
            self.input_shape.clone(),
            "the input".to_string(),
        )?;
        Ok(ModelPlan {
            input_shape: self.input_shape.clone(),
            output_shape,
            layers,
        })
    }

    /// Builds the layers, adding their parameters to `store` under PyTorch-style names and
    /// drawing initial weights from `rng`. The model is planned first ([`ModelSpec::plan`]:
    /// every width checked) and its memory weighed against [`MemoryBudget::detect`]
    /// ([`MemoryUse::build`]: each parameter's value and gradient) before anything is
    /// allocated.
    ///
    /// # Errors
    /// Mismatched widths, invalid settings or initializer names, a model larger than the
    /// memory budget ([`NnError::TooLarge`]).
    pub fn build<F: Float>(
        &self,
        store: &mut ParamStore<F>,
        rng: &mut dyn RngCore,
    ) -> Result<Sequential<F>> {
        let plan = self.plan()?;
        MemoryBudget::detect()?.check(&plan, &MemoryUse::build::<F>())?;
        self.build_planned(&plan, store, rng)
    }

    /// Builds the layers of `plan`, which [`ModelSpec::plan`] made from this spec.
    pub(crate) fn build_planned<F: Float>(
        &self,
        plan: &ModelPlan,
        store: &mut ParamStore<F>,
        rng: &mut dyn RngCore,
    ) -> Result<Sequential<F>> {
        let mut seq = Sequential::new("");
        build_into(&self.layers, &plan.layers, &mut seq, store, rng)?;
        Ok(seq)
    }

    /// The per-sample output shape, from the plan (nothing is built).
    ///
    /// # Errors
    /// As [`ModelSpec::plan`].
    pub fn output_shape(&self) -> Result<Vec<usize>> {
        Ok(self.plan()?.output_shape)
    }

    /// Reads a spec from JSON or TOML text (JSON if it starts with `{`).
    ///
    /// # Errors
    /// [`NnError::Config`] with the parser's message.
    pub fn parse(text: &str) -> Result<Self> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| NnError::Config(format!("JSON: {e}")))
        } else {
            toml::from_str(text).map_err(|e| NnError::Config(format!("TOML: {e}")))
        }
    }

    /// The spec as TOML.
    ///
    /// # Errors
    /// Never for a valid spec; kept fallible because serialization is.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| NnError::Config(format!("TOML: {e}")))
    }

    /// The spec as pretty JSON.
    ///
    /// # Errors
    /// As [`ModelSpec::to_toml`].
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| NnError::Config(format!("JSON: {e}")))
    }
}

/// What the last layer of an [`MlpSpec`] is followed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Head {
    /// Raw logits (use a cross-entropy loss on logits).
    #[default]
    Logits,
    /// Softmax probabilities (Keras's `Dense(10, activation='softmax')`).
    Softmax,
    /// Log-probabilities (PyTorch's `LogSoftmax` + `NLLLoss` pattern).
    LogSoftmax,
}

/// A multilayer perceptron in one call: widths, activation, initializer, optional batch
/// norm, residual connections and dropout.
///
/// ```
/// use gradwell_nn::MlpSpec;
///
/// let spec = MlpSpec::new(&[784, 128, 10], "relu".parse()?).to_spec()?;
/// assert_eq!(spec.layers.len(), 3); // Linear, ReLU, Linear
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpSpec {
    /// Input width, hidden widths, output width.
    pub widths: Vec<usize>,
    /// The hidden layers' activation.
    pub activation: ActivationKind,
    /// The weight initializer; when absent, the one that suits the activation
    /// ([`Init::suited_to`], or variance scaling by the activation's gain for activations
    /// PyTorch has no gain for).
    pub init: Option<Init>,
    /// Batch norm between each hidden linear layer and its activation.
    pub batch_norm: bool,
    /// Wrap each hidden block whose width does not change in a residual connection.
    pub residual: bool,
    /// Dropout after each hidden activation (0 = none).
    pub dropout: f64,
    /// What follows the last linear layer.
    pub head: Head,
}

impl MlpSpec {
    /// An MLP with these widths and activation and no extras.
    pub fn new(widths: &[usize], activation: ActivationKind) -> Self {
        MlpSpec {
            widths: widths.to_vec(),
            activation,
            init: None,
            batch_norm: false,
            residual: false,
            dropout: 0.0,
            head: Head::Logits,
        }
    }

    /// The initializer used for the weights: the given one, or the one that suits the
    /// activation.
    pub fn weight_init(&self) -> Init {
        self.init
            .unwrap_or_else(|| match self.activation.nonlinearity() {
                Some(nl) => Init::suited_to(nl),
                None => {
                    let g = self.activation.gain();
                    Init::VarianceScaling(VarianceScaling::new(
                        g * g,
                        FanMode::FanIn,
                        Distribution::Normal,
                    ))
                }
            })
    }

    /// The equivalent [`ModelSpec`].
    ///
    /// # Errors
    /// Fewer than two widths, a zero width or a dropout outside [0, 1).
    pub fn to_spec(&self) -> Result<ModelSpec> {
        if self.widths.len() < 2 || self.widths.contains(&0) {
            return Err(NnError::Config(format!(
                "an MLP needs at least an input and an output width, all positive; got {:?}",
                self.widths
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(NnError::Config(format!(
                "dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        let init = Some(self.weight_init());
        let mut layers = Vec::new();
        let n = self.widths.len() - 1;
        for (i, w) in self.widths.windows(2).enumerate() {
            let linear = LayerSpec::Linear(LinearSpec {
                in_features: Some(w[0]),
                init,
                ..LinearSpec::new(w[1])
            });
            if i + 1 == n {
                layers.push(linear);
                break;
            }
            let mut block = vec![linear];
            if self.batch_norm {
                block.push(LayerSpec::BatchNorm(BatchNormSpec {
                    config: BatchNormConfig::default(),
                }));
            }
            block.push(LayerSpec::Activation(ActivationSpec {
                activation: self.activation,
            }));
            if self.dropout > 0.0 {
                block.push(LayerSpec::Dropout(DropoutSpec { p: self.dropout }));
            }
            if self.residual && w[0] == w[1] {
                layers.push(LayerSpec::Residual(ResidualSpec { layers: block }));
            } else {
                layers.extend(block);
            }
        }
        match self.head {
            Head::Logits => {}
            Head::Softmax => layers.push(LayerSpec::Softmax(SoftmaxSpec {})),
            Head::LogSoftmax => layers.push(LayerSpec::LogSoftmax(LogSoftmaxSpec {})),
        }
        Ok(ModelSpec {
            input_shape: vec![self.widths[0]],
            layers,
        })
    }
}
