//! Models as data: [`ModelSpec`] (a list of [`LayerSpec`]s) serializes to JSON and TOML,
//! and [`MlpSpec`] writes the common multilayer perceptron in one call.

use gradwell_activations::{ActivationInfo, ActivationKind};
use gradwell_autodiff::ParamStore;
use gradwell_init::{Distribution, FanMode, Init, VarianceScaling};
use gradwell_norm::{BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig};
use gradwell_tensor::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::layers::{
    Act, Dropout, Flatten, Linear, Prelu, Residual, Sequential, Softmax, join, kind,
};
use crate::memory::{MemoryBudget, MemoryUse};
use crate::module::Module;
use crate::norm_layers::{BatchNormLayer, LayerNormLayer};
use crate::plan::{LayerPlan, ModelPlan};
use crate::{NnError, Result};

fn yes() -> bool {
    true
}

fn one() -> usize {
    1
}

fn prelu_init() -> f64 {
    gradwell_activations::Prelu::DEFAULT_INIT
}

/// One layer of a [`ModelSpec`], tagged by `type` in files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// `y = x·Wᵀ + b`.
    Linear {
        /// Output width.
        out_features: usize,
        /// Input width; inferred from the previous layer when absent, checked when given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        in_features: Option<usize>,
        /// Whether there is a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// The weight initializer, written by name in files (`he-normal`,
        /// `xavier-uniform`, …; see [`Init`]); PyTorch's default U(±1/√in) when absent.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "init_text")]
        init: Option<Init>,
        /// The bias initializer, by name in files; PyTorch's default U(±1/√in) when absent.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "init_text")]
        bias_init: Option<Init>,
    },
    /// An element-wise activation by name (`relu`, `leaky-relu:0.2`, …).
    Activation {
        /// The activation.
        activation: ActivationKind,
    },
    /// PReLU with learnable slopes.
    Prelu {
        /// 1 (shared) or the number of features.
        #[serde(default = "one")]
        num_parameters: usize,
        /// The initial slope (0.25).
        #[serde(default = "prelu_init")]
        init: f64,
    },
    /// Batch normalization over the features.
    BatchNorm {
        /// Settings (PyTorch's defaults when absent).
        #[serde(default, flatten)]
        config: BatchNormConfig,
    },
    /// Layer normalization over the last axis.
    LayerNorm {
        /// Settings (PyTorch's defaults when absent).
        #[serde(default, flatten)]
        config: LayerNormConfig,
    },
    /// Inverted dropout.
    Dropout {
        /// The probability of zeroing an element.
        p: f64,
    },
    /// Flattens each sample to one axis.
    Flatten,
    /// Softmax over the features.
    Softmax,
    /// Log-softmax over the features.
    LogSoftmax,
    /// `y = f(x) + x` (projected when the widths differ).
    Residual {
        /// The layers of `f`.
        layers: Vec<LayerSpec>,
    },
}

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

/// An optional [`Init`] written as its name (`"he-normal"`), so that a config file says
/// `init = "he-normal"` and an unknown name is an error at parse time, with its line.
mod init_text {
    use gradwell_init::Init;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(init: &Option<Init>, s: S) -> Result<S::Ok, S::Error> {
        match init {
            Some(init) => s.serialize_some(&init.to_string()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Init>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| text.parse().map_err(D::Error::custom))
            .transpose()
    }
}

impl LayerSpec {
    /// A short description for error messages, e.g. `Linear(→128)`.
    fn describe(&self) -> String {
        match self {
            LayerSpec::Linear { out_features, .. } => format!("Linear(→{out_features})"),
            LayerSpec::Activation { activation } => format!("Activation({activation})"),
            other => format!("{other:?}")
                .split([' ', '{'])
                .next()
                .unwrap_or("layer")
                .to_string(),
        }
    }
}

/// Names the layer in a construction error.
fn in_layer<T>(layer: &str, r: Result<T>) -> Result<T> {
    r.map_err(|source| NnError::Layer {
        layer: layer.to_string(),
        source: Box::new(source),
    })
}

/// The width of a flat per-sample shape; `here` and `prev` name the layers in the error.
fn flat(shape: &[usize], here: &str, prev: &str) -> Result<usize> {
    match shape {
        [f] => Ok(*f),
        _ => Err(NnError::Config(format!(
            "layer {here} needs flat input but {prev} produces shape {shape:?}; add a flatten layer"
        ))),
    }
}

/// The product of `dims`, or an error naming the layer when it overflows.
fn count(dims: &[usize], here: &str) -> Result<u64> {
    dims.iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .ok_or_else(|| {
            NnError::Config(format!(
                "layer {here}: {dims:?} is more elements than a 64-bit count holds"
            ))
        })
}

/// Plans `layers` whose paths start with `prefix`, from per-sample shape `shape`: checks
/// every width and setting as building would and counts every parameter, allocating
/// nothing but the plan. `prev` names the layer that produced `shape`, for error messages.
/// Returns the layers' plans and the output shape.
fn plan_layers(
    layers: &[LayerSpec],
    prefix: &str,
    mut shape: Vec<usize>,
    mut prev: String,
) -> Result<(Vec<LayerPlan>, Vec<usize>)> {
    let mut plans = Vec::with_capacity(layers.len());
    for (i, spec) in layers.iter().enumerate() {
        let path = join(prefix, &i.to_string());
        let here = format!("{path} ({})", spec.describe());
        let sum = |parts: &[u64]| -> Result<u64> {
            parts
                .iter()
                .try_fold(0u64, |a, &b| a.checked_add(b))
                .ok_or_else(|| {
                    NnError::Config(format!(
                        "layer {here}: more parameters than a 64-bit count holds"
                    ))
                })
        };
        let mut body = Vec::new();
        let mut uncounted = 0;
        let mut non_trainable = 0;
        let (kind, output, trainable): (&'static str, Vec<usize>, u64) = match spec {
            LayerSpec::Linear {
                out_features,
                in_features,
                bias,
                ..
            } => {
                let got = flat(&shape, &here, &prev)?;
                if let Some(expected) = *in_features
                    && expected != got
                {
                    return Err(NnError::WidthMismatch {
                        prev,
                        next: here,
                        expected,
                        got,
                    });
                }
                if *out_features == 0 {
                    return Err(NnError::Config(format!(
                        "layer {here}: out_features must be at least 1"
                    )));
                }
                let weights = count(&[*out_features, got], &here)?;
                let biases = if *bias { *out_features as u64 } else { 0 };
                (kind::LINEAR, vec![*out_features], sum(&[weights, biases])?)
            }
            LayerSpec::Activation { activation } => (activation.torch_class(), shape.clone(), 0),
            LayerSpec::Prelu {
                num_parameters,
                init,
            } => {
                in_layer(&here, Prelu::check(*num_parameters, *init))?;
                if *num_parameters != 1 && shape.first() != Some(num_parameters) {
                    return Err(NnError::WidthMismatch {
                        prev,
                        next: here,
                        expected: *num_parameters,
                        got: shape.first().copied().unwrap_or(0),
                    });
                }
                (kind::PRELU, shape.clone(), *num_parameters as u64)
            }
            LayerSpec::BatchNorm { config } => {
                let f = flat(&shape, &here, &prev)? as u64;
                in_layer(&here, config.validate().map_err(NnError::from))?;
                let affine = match (config.affine, config.bias) {
                    (false, _) => 0,
                    (true, false) => f,
                    (true, true) => sum(&[f, f])?,
                };
                if config.track_running_stats {
                    non_trainable = sum(&[f, f])?; // running mean and variance
                    uncounted = 1; // the batch counter
                }
                (kind::BATCH_NORM, shape.clone(), affine)
            }
            LayerSpec::LayerNorm { config } => {
                let f = flat(&shape, &here, &prev)? as u64;
                in_layer(&here, config.validate().map_err(NnError::from))?;
                let affine = match (config.elementwise_affine, config.bias) {
                    (false, _) => 0,
                    (true, false) => f,
                    (true, true) => sum(&[f, f])?,
                };
                (kind::LAYER_NORM, shape.clone(), affine)
            }
            LayerSpec::Dropout { p } => {
                in_layer(&here, Dropout::new(*p))?;
                (kind::DROPOUT, shape.clone(), 0)
            }
            LayerSpec::Flatten => {
                let n = count(&shape, &here)?;
                let n = usize::try_from(n).map_err(|_| {
                    NnError::Config(format!("layer {here}: {shape:?} flattens past usize"))
                })?;
                (kind::FLATTEN, vec![n], 0)
            }
            LayerSpec::Softmax => (kind::SOFTMAX, shape.clone(), 0),
            LayerSpec::LogSoftmax => (kind::LOG_SOFTMAX, shape.clone(), 0),
            LayerSpec::Residual { layers } => {
                let (inner, out) =
                    plan_layers(layers, &join(&path, "body"), shape.clone(), prev.clone())?;
                let mut parts: Vec<u64> = inner.iter().map(|l| l.trainable).collect();
                if out != shape {
                    let ([i], [o]) = (shape.as_slice(), out.as_slice()) else {
                        return Err(NnError::Config(format!(
                            "layer {here}: a residual block needs flat input and output"
                        )));
                    };
                    parts.push(count(&[*o, *i], &here)?); // the projection, no bias
                }
                non_trainable = sum(&inner.iter().map(|l| l.non_trainable).collect::<Vec<_>>())?;
                uncounted = sum(&inner.iter().map(|l| l.uncounted).collect::<Vec<_>>())?;
                body = inner;
                (kind::RESIDUAL, out, sum(&parts)?)
            }
        };
        // What one sample leaves on the tape: the layer's output, and inside a residual
        // block every layer's output, the projection's and the sum's.
        let own = count(&output, &here)?;
        let mut outputs: Vec<u64> = body.iter().map(|l| l.outputs_per_sample).collect();
        outputs.push(own);
        if matches!(spec, LayerSpec::Residual { .. }) && output != shape {
            outputs.push(own);
        }
        let outputs_per_sample = sum(&outputs)?;
        plans.push(LayerPlan {
            path,
            kind,
            label: here.clone(),
            input_shape: std::mem::replace(&mut shape, output.clone()),
            output_shape: output,
            trainable,
            non_trainable,
            uncounted,
            outputs_per_sample,
            body,
        });
        prev = here;
    }
    Ok((plans, shape))
}

/// Builds the layers of `plans` (made by [`plan_layers`] from `layers`) into `seq`.
fn build_into<F: Float>(
    layers: &[LayerSpec],
    plans: &[LayerPlan],
    seq: &mut Sequential<F>,
    store: &mut ParamStore<F>,
    rng: &mut dyn RngCore,
) -> Result<()> {
    for (spec, plan) in layers.iter().zip(plans) {
        let (path, here) = (&plan.path, &plan.label);
        let width = || flat(&plan.input_shape, here, "the previous layer");
        let layer: Box<dyn Module<F>> = match spec {
            LayerSpec::Linear {
                out_features,
                bias,
                init,
                bias_init,
                ..
            } => Box::new(Linear::new(
                store,
                path,
                width()?,
                *out_features,
                *bias,
                &init.unwrap_or(Init::PytorchDefault),
                bias_init.as_ref(),
                rng,
            )?),
            LayerSpec::Activation { activation } => Box::new(Act(*activation)),
            LayerSpec::Prelu {
                num_parameters,
                init,
            } => Box::new(in_layer(
                here,
                Prelu::new(store, path, *num_parameters, *init),
            )?),
            LayerSpec::BatchNorm { config } => {
                let bn = BatchNorm::new(store, path, width()?, *config);
                Box::new(BatchNormLayer(in_layer(here, bn.map_err(NnError::from))?))
            }
            LayerSpec::LayerNorm { config } => {
                let ln = LayerNorm::new(store, path, width()?, *config);
                Box::new(LayerNormLayer(in_layer(here, ln.map_err(NnError::from))?))
            }
            LayerSpec::Dropout { p } => Box::new(in_layer(here, Dropout::new(*p))?),
            LayerSpec::Flatten => Box::new(Flatten),
            LayerSpec::Softmax => Box::new(Softmax { log: false }),
            LayerSpec::LogSoftmax => Box::new(Softmax { log: true }),
            LayerSpec::Residual { layers } => {
                let mut body = Sequential::new(join(path, "body"));
                build_into(layers, &plan.body, &mut body, store, rng)?;
                let projection = if plan.output_shape != plan.input_shape {
                    Some(Linear::new(
                        store,
                        &join(path, "projection"),
                        width()?,
                        flat(&plan.output_shape, here, here)?,
                        false,
                        &Init::PytorchDefault,
                        None,
                        rng,
                    )?)
                } else {
                    None
                };
                Box::new(Residual { body, projection })
            }
        };
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
            let linear = LayerSpec::Linear {
                out_features: w[1],
                in_features: Some(w[0]),
                bias: true,
                init,
                bias_init: None,
            };
            if i + 1 == n {
                layers.push(linear);
                break;
            }
            let mut block = vec![linear];
            if self.batch_norm {
                block.push(LayerSpec::BatchNorm {
                    config: BatchNormConfig::default(),
                });
            }
            block.push(LayerSpec::Activation {
                activation: self.activation,
            });
            if self.dropout > 0.0 {
                block.push(LayerSpec::Dropout { p: self.dropout });
            }
            if self.residual && w[0] == w[1] {
                layers.push(LayerSpec::Residual { layers: block });
            } else {
                layers.extend(block);
            }
        }
        match self.head {
            Head::Logits => {}
            Head::Softmax => layers.push(LayerSpec::Softmax),
            Head::LogSoftmax => layers.push(LayerSpec::LogSoftmax),
        }
        Ok(ModelSpec {
            input_shape: vec![self.widths[0]],
            layers,
        })
    }
}
