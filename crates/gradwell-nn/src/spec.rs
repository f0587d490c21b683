//! Models as data: [`ModelSpec`] (a list of [`LayerSpec`]s) serializes to JSON and TOML,
//! and [`MlpSpec`] writes the common multilayer perceptron in one call.

use gradwell_activations::{ActivationInfo, ActivationKind};
use gradwell_autodiff::ParamStore;
use gradwell_init::{Distribution, FanMode, Init, VarianceScaling};
use gradwell_norm::{BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig};
use gradwell_tensor::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::layers::{Act, Dropout, Flatten, Linear, Prelu, Residual, Sequential, Softmax, join};
use crate::module::Module;
use crate::norm_layers::{BatchNormLayer, LayerNormLayer};
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

/// Builds `layers` into `seq`, starting from per-sample shape `shape`; returns the output
/// shape. `prev` names the layer that produced `shape`, for error messages.
fn build_into<F: Float>(
    layers: &[LayerSpec],
    seq: &mut Sequential<F>,
    mut shape: Vec<usize>,
    mut prev: String,
    store: &mut ParamStore<F>,
    rng: &mut dyn RngCore,
) -> Result<Vec<usize>> {
    for spec in layers {
        let path = seq.child_path(seq.len());
        let here = format!("{path} ({})", spec.describe());
        let width = || -> Result<usize> {
            match shape.as_slice() {
                [f] => Ok(*f),
                _ => Err(NnError::Config(format!(
                    "layer {here} needs flat input but {prev} produces shape {shape:?}; add a flatten layer"
                ))),
            }
        };
        let layer: Box<dyn Module<F>> = match spec {
            LayerSpec::Linear {
                out_features,
                in_features,
                bias,
                init,
                bias_init,
            } => {
                let got = width()?;
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
                Box::new(Linear::new(
                    store,
                    &path,
                    got,
                    *out_features,
                    *bias,
                    &init.unwrap_or(Init::PytorchDefault),
                    bias_init.as_ref(),
                    rng,
                )?)
            }
            LayerSpec::Activation { activation } => Box::new(Act(*activation)),
            LayerSpec::Prelu {
                num_parameters,
                init,
            } => {
                if *num_parameters != 1 && shape.first() != Some(num_parameters) {
                    return Err(NnError::WidthMismatch {
                        prev,
                        next: here,
                        expected: *num_parameters,
                        got: shape.first().copied().unwrap_or(0),
                    });
                }
                Box::new(in_layer(
                    &here,
                    Prelu::new(store, &path, *num_parameters, *init),
                )?)
            }
            LayerSpec::BatchNorm { config } => {
                let bn = BatchNorm::new(store, &path, width()?, *config);
                Box::new(BatchNormLayer(in_layer(&here, bn.map_err(NnError::from))?))
            }
            LayerSpec::LayerNorm { config } => {
                let ln = LayerNorm::new(store, &path, width()?, *config);
                Box::new(LayerNormLayer(in_layer(&here, ln.map_err(NnError::from))?))
            }
            LayerSpec::Dropout { p } => Box::new(in_layer(&here, Dropout::new(*p))?),
            LayerSpec::Flatten => Box::new(Flatten),
            LayerSpec::Softmax => Box::new(Softmax { log: false }),
            LayerSpec::LogSoftmax => Box::new(Softmax { log: true }),
            LayerSpec::Residual { layers } => {
                let mut body = Sequential::new(join(&path, "body"));
                let out = build_into(layers, &mut body, shape.clone(), prev.clone(), store, rng)?;
                let projection = if out != shape {
                    let (Some(&i), [o]) = (shape.first(), out.as_slice()) else {
                        return Err(NnError::Config(format!(
                            "layer {here}: a residual block needs flat input and output"
                        )));
                    };
                    Some(Linear::new(
                        store,
                        &join(&path, "projection"),
                        i,
                        *o,
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
        shape = layer.output_shape(&shape)?;
        prev = here;
        seq.push_boxed(layer);
    }
    Ok(shape)
}

impl ModelSpec {
    /// Builds the layers, adding their parameters to `store` under PyTorch-style names and
    /// drawing initial weights from `rng`. Widths are checked here, not at the first
    /// forward pass: a `Linear` whose `in_features` disagrees with the previous layer's
    /// output is a [`NnError::WidthMismatch`] naming both layers.
    ///
    /// # Errors
    /// Mismatched widths, invalid settings or initializer names.
    pub fn build<F: Float>(
        &self,
        store: &mut ParamStore<F>,
        rng: &mut dyn RngCore,
    ) -> Result<Sequential<F>> {
        if self.input_shape.is_empty() || self.input_shape.contains(&0) {
            return Err(NnError::Config(format!(
                "input_shape must be non-empty with no zero axis, got {:?}",
                self.input_shape
            )));
        }
        let mut seq = Sequential::new("");
        build_into(
            &self.layers,
            &mut seq,
            self.input_shape.clone(),
            "the input".to_string(),
            store,
            rng,
        )?;
        Ok(seq)
    }

    /// The per-sample output shape. The layers are built into a scratch store first, so
    /// every width is checked exactly as [`ModelSpec::build`] checks it (the cost is one
    /// build, weights included).
    ///
    /// # Errors
    /// As [`ModelSpec::build`].
    pub fn output_shape(&self) -> Result<Vec<usize>> {
        let mut store = ParamStore::<f32>::new();
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        self.build(&mut store, &mut rng)?
            .output_shape(&self.input_shape)
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
