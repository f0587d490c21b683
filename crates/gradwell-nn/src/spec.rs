//! Models as data: [`ModelSpec`] (a list of [`LayerSpec`]s) serializes to JSON and TOML,
//! and [`MlpSpec`] writes the common multilayer perceptron in one call.

use std::fmt;
use std::str::FromStr;

use gradwell_activations::{ActivationInfo, ActivationKind};
use gradwell_autodiff::ParamStore;
use gradwell_init::{Distribution, FanMode, Init, VarianceScaling};
use gradwell_norm::BatchNormConfig;
use gradwell_tensor::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::layers::{
    ActivationSpec, AlphaDropout, AlphaDropoutSpec, BatchNormSpec, BuildSite, Dropout, DropoutSpec,
    LayerSpec, LinearSpec, LogSoftmaxSpec, PlanSite, ResidualSpec, Sequential, SoftmaxSpec, join,
};
use crate::memory::{MemoryBudget, MemoryUse};
use crate::plan::{LayerPlan, ModelPlan};
use crate::recurrent_stack::RecurrentStack;
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
            keras: spec.keras(),
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
    /// [`NnError::Config`] with the parser's message, or for TOML text when the crate is
    /// built without its `toml` feature.
    pub fn parse(text: &str) -> Result<Self> {
        if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| NnError::Config(format!("JSON: {e}")))
        } else {
            #[cfg(feature = "toml")]
            return toml::from_str(text).map_err(|e| NnError::Config(format!("TOML: {e}")));
            #[cfg(not(feature = "toml"))]
            return Err(NnError::Config(
                "TOML: this build of gradwell-nn reads JSON only (the `toml` feature is off); \
                 give the spec as JSON, starting with `{`"
                    .into(),
            ));
        }
    }

    /// The spec as TOML (with the `toml` feature, on by default).
    ///
    /// # Errors
    /// Never for a valid spec; kept fallible because serialization is.
    #[cfg(feature = "toml")]
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| NnError::Config(format!("TOML: {e}")))
    }

    /// The spec as pretty JSON.
    ///
    /// # Errors
    /// Never for a valid spec; kept fallible because serialization is.
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

/// The hidden widths of a default [`MlpSpec`] (the model `gradwell train` builds when told
/// nothing): one layer of 256 units.
pub const DEFAULT_HIDDEN: &[usize] = &[256];

/// The widths of an [`MlpSpec`]: all of them, or the hidden ones only, the input and output
/// widths then coming from the data ([`MlpSpec::fit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MlpWidths {
    /// Input width, hidden widths, output width (`widths = [784, 128, 10]` in files).
    All(Vec<usize>),
    /// The hidden widths only, possibly none (a linear model): `hidden = [128]` in files.
    Hidden(Vec<usize>),
}

impl MlpWidths {
    /// All widths, input to output, when they are known.
    pub fn all(&self) -> Option<&[usize]> {
        match self {
            MlpWidths::All(w) => Some(w),
            MlpWidths::Hidden(_) => None,
        }
    }

    /// The one check of an MLP's widths: every width at least 1 and, when all are given,
    /// at least an input and an output width.
    fn check(&self) -> Result<()> {
        match self {
            MlpWidths::All(w) if w.len() < 2 || w.contains(&0) => Err(NnError::Config(format!(
                "an MLP needs at least an input and an output width, all positive; got {w:?}"
            ))),
            MlpWidths::Hidden(h) if h.contains(&0) => Err(NnError::Config(format!(
                "every hidden width of an MLP must be at least 1; got {h:?}"
            ))),
            MlpWidths::All(_) | MlpWidths::Hidden(_) => Ok(()),
        }
    }
}

/// Widths as text: whole numbers ≥ 1 separated by `-`, `,`, `x` or blanks (`784-128-10`,
/// `256,128`); [`Display`](fmt::Display) writes `784-128-10`. What a command line gives
/// for [`MlpWidths`].
///
/// ```
/// use gradwell_nn::Widths;
///
/// let w: Widths = "784-128-10".parse()?;
/// assert_eq!(w.0, [784, 128, 10]);
/// assert_eq!("256,128".parse::<Widths>()?.to_string(), "256-128");
/// assert!("64--128-10".parse::<Widths>().unwrap_err().to_string().contains("-128"));
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widths(pub Vec<usize>);

impl FromStr for Widths {
    type Err = NnError;

    fn from_str(text: &str) -> Result<Self> {
        // A leading `-` or a `--` is a negative width, not a separator.
        let bad = |why: String| NnError::Config(format!("widths `{text}`: {why}"));
        let mut widths = Vec::new();
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(bad("give widths such as 784-128-10".into()));
        }
        while !rest.is_empty() {
            let negative = rest.starts_with('-');
            let body = rest.trim_start_matches('-');
            let end = body.find(['-', ',', 'x', ' ']).unwrap_or(body.len());
            let (num, tail) = body.split_at(end);
            let n: i64 = num.trim().parse().map_err(|_| {
                bad("widths are whole numbers >= 1 separated by `-` or `,`, e.g. 784-128-10".into())
            })?;
            if negative || n <= 0 {
                return Err(bad(format!(
                    "every width must be a whole number >= 1, got {}{n}",
                    if negative { "-" } else { "" }
                )));
            }
            widths.push(usize::try_from(n).map_err(|_| bad(format!("{n} is too large")))?);
            rest = tail;
            if let Some(t) = rest.strip_prefix([',', 'x', ' ']) {
                rest = t;
            } else if let Some(t) = rest.strip_prefix('-')
                && !t.starts_with('-')
            {
                rest = t;
            }
        }
        Ok(Widths(widths))
    }
}

impl fmt::Display for Widths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("-"))
    }
}

/// A multilayer perceptron as data: widths, activation, the weights', biases' and batch
/// norm's initializers, batch norm, residual connections (optionally starting at zero),
/// dropout or alpha dropout, and head. It is the one description of an MLP: the `[model]` section of a
/// `gradwell train` config deserializes into it and the command's flags are written over
/// it; [`MlpSpec::to_spec`] expands it into a [`ModelSpec`].
///
/// In files every field may be left out, taking [`MlpSpec::default`]'s value, and names
/// are written as on the command line:
///
/// ```
/// use gradwell_nn::{MlpSpec, MlpWidths};
///
/// let mlp: MlpSpec = toml::from_str(r#"
///     hidden = [32, 32]            # or all of them: widths = [64, 32, 32, 10]
///     activation = "leaky-relu:0.2"
///     init = "he-normal"
///     bias_init = "zeros"
///     batch_norm = true
///     residual = true
///     zero_init_residual = true    # each residual branch starts at zero
/// "#)?;
/// assert_eq!(mlp.widths, MlpWidths::Hidden(vec![32, 32]));
/// // The input and output widths come from the data.
/// let spec = mlp.fit(64, 10)?.to_spec()?;
/// assert_eq!(spec.input_shape, [64]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// In code, [`MlpSpec::new`] starts from all the widths:
///
/// ```
/// use gradwell_nn::MlpSpec;
///
/// let spec = MlpSpec::new(&[784, 128, 10], "relu".parse()?).to_spec()?;
/// assert_eq!(spec.layers.len(), 3); // Linear, ReLU, Linear
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MlpFile", into = "MlpFile")]
pub struct MlpSpec {
    /// All widths, or the hidden ones (then [`MlpSpec::fit`] adds the data's).
    pub widths: MlpWidths,
    /// The hidden layers' activation.
    pub activation: ActivationKind,
    /// The weight initializer; when absent, the one that suits the activation
    /// ([`Init::suited_to`], or variance scaling by the activation's gain for activations
    /// PyTorch has no gain for).
    pub init: Option<Init>,
    /// The bias initializer of every linear layer; PyTorch's U(±1/√in) when absent.
    pub bias_init: Option<Init>,
    /// Batch norm between each hidden linear layer and its activation.
    pub batch_norm: bool,
    /// The value batch norm's scale γ starts at (PyTorch's 1); needs `batch_norm`.
    pub batch_norm_weight_init: f64,
    /// Wrap each hidden block whose width does not change in a residual connection.
    pub residual: bool,
    /// Start each residual branch's last weighted layer at zero ("zero-init residual",
    /// Goyal et al. 2017): its batch norm's γ with `batch_norm`, else its linear layer's
    /// weights. With biases and β at zero and an activation with φ(0) = 0 (the ReLU
    /// family, tanh), every residual block is then the identity at initialization. Needs
    /// `residual`.
    pub zero_init_residual: bool,
    /// Dropout after each hidden activation (0 = none), in [0, 1].
    pub dropout: f64,
    /// Alpha dropout ([`crate::AlphaDropout`], for SELU networks) after each hidden
    /// activation (0 = none), in [0, 1]; not together with `dropout`.
    pub alpha_dropout: f64,
    /// What follows the last linear layer.
    pub head: Head,
    /// Recurrent layers before the MLP (`recurrent = "lstm:128"` in files, where the
    /// hidden widths then default to none: a linear read-out): the model then takes
    /// sequences, and is built by [`MlpSpec::sequence_spec`].
    pub recurrent: Option<RecurrentStack>,
    /// The initializer of the recurrent layers' recurrent weights (`recurrent_init` of
    /// each layer, [`RecurrentOptions::recurrent_init`](crate::layers::RecurrentOptions)),
    /// e.g. `orthogonal:0.9` for a recurrent matrix of spectral radius 0.9; PyTorch's
    /// U(±1/√hidden) when absent. Needs `recurrent`.
    pub recurrent_init: Option<Init>,
}

impl Default for MlpSpec {
    /// [`DEFAULT_HIDDEN`] hidden units with ReLU, the initializer that suits it (He) and
    /// nothing else: the model `gradwell train` builds when told nothing.
    fn default() -> Self {
        MlpSpec {
            widths: MlpWidths::Hidden(DEFAULT_HIDDEN.to_vec()),
            activation: ActivationKind::from(gradwell_activations::Relu),
            init: None,
            bias_init: None,
            batch_norm: false,
            batch_norm_weight_init: gradwell_norm::DEFAULT_WEIGHT_INIT,
            residual: false,
            zero_init_residual: false,
            dropout: 0.0,
            alpha_dropout: 0.0,
            head: Head::Logits,
            recurrent: None,
            recurrent_init: None,
        }
    }
}

impl MlpSpec {
    /// An MLP with these widths (input, hidden, output) and activation and no extras.
    pub fn new(widths: &[usize], activation: ActivationKind) -> Self {
        MlpSpec {
            widths: MlpWidths::All(widths.to_vec()),
            activation,
            ..MlpSpec::default()
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

    /// Checks every setting: the widths ([`MlpWidths`]), the dropout and alpha dropout (at
    /// most one of them), γ's initial value, and that the options needing batch norm or
    /// residual connections have them.
    ///
    /// # Errors
    /// [`NnError::Config`] naming the field.
    pub fn validate(&self) -> Result<()> {
        self.widths.check()?;
        Dropout::new(self.dropout).map_err(|e| match e {
            NnError::Config(why) => NnError::Config(format!("dropout: {why}")),
            other => other,
        })?;
        AlphaDropout::new(self.alpha_dropout).map_err(|e| match e {
            NnError::Config(why) => NnError::Config(format!("alpha_dropout: {why}")),
            other => other,
        })?;
        if self.dropout > 0.0 && self.alpha_dropout > 0.0 {
            return Err(NnError::Config(
                "dropout and alpha_dropout are alternatives: set one of them".into(),
            ));
        }
        if !self.batch_norm_weight_init.is_finite() {
            return Err(NnError::Config(format!(
                "batch_norm_weight_init must be finite, got {}",
                self.batch_norm_weight_init
            )));
        }
        if !self.batch_norm && self.batch_norm_weight_init != gradwell_norm::DEFAULT_WEIGHT_INIT {
            return Err(NnError::Config(
                "batch_norm_weight_init applies to batch norm layers: set batch_norm".into(),
            ));
        }
        if self.zero_init_residual && !self.residual {
            return Err(NnError::Config(
                "zero_init_residual applies to residual blocks: set residual".into(),
            ));
        }
        if self.recurrent.is_none() && self.recurrent_init.is_some() {
            return Err(NnError::Config(
                "recurrent_init applies to recurrent layers: set recurrent".into(),
            ));
        }
        if let Some(r) = &self.recurrent
            && self.batch_norm
        {
            return Err(NnError::Config(format!(
                "batch_norm normalizes the features of feed-forward layers over a batch; it does not apply after recurrent layers (`{r}`)"
            )));
        }
        Ok(())
    }

    /// The model for sequences of `steps` steps of `features` values each, with `outputs`
    /// outputs per sample or, with `per_step`, at every step: the recurrent layers
    /// ([`MlpSpec::recurrent`]), a `last_step` unless `per_step`, then the MLP from the
    /// recurrent width to `outputs` ([`MlpSpec::fit`], `Linear` acting on each step's
    /// features). `--model lstm:128` is `[lstm, last_step, linear]`.
    ///
    /// # Errors
    /// No recurrent layers, widths that do not fit (naming both), or any error of
    /// [`MlpSpec::validate`].
    pub fn sequence_spec(
        &self,
        steps: usize,
        features: usize,
        outputs: usize,
        per_step: bool,
    ) -> Result<ModelSpec> {
        let Some(recurrent) = &self.recurrent else {
            return Err(NnError::Config(
                "a model for sequences needs recurrent layers (`recurrent`, e.g. \"lstm:128\")"
                    .into(),
            ));
        };
        let head = MlpSpec {
            recurrent: None,
            recurrent_init: None,
            ..self.clone()
        };
        let mlp = head.fit(recurrent.output_width(), outputs)?.to_spec()?;
        self.validate()?;
        let mut layers = recurrent.layers(per_step, self.recurrent_init);
        layers.extend(mlp.layers);
        Ok(ModelSpec {
            input_shape: vec![steps, features],
            layers,
        })
    }

    /// The MLP for data of `features` inputs and `classes` classes: hidden widths get the
    /// data's input and output widths; all widths must start with `features` and end with
    /// `classes`.
    ///
    /// # Errors
    /// Widths that do not fit the data (naming both), or any error of
    /// [`MlpSpec::validate`].
    pub fn fit(&self, features: usize, classes: usize) -> Result<MlpSpec> {
        let widths = match &self.widths {
            MlpWidths::All(w) => {
                self.widths.check()?;
                let (first, last) = (w[0], w[w.len() - 1]);
                let example = Widths(vec![features, 128, classes]);
                if first != features {
                    return Err(NnError::Config(format!(
                        "the MLP's first width is {first} but the data have {features} features per sample; start it with {features} (e.g. {example}) or give only the hidden widths"
                    )));
                }
                if last != classes {
                    return Err(NnError::Config(format!(
                        "the MLP's last width is {last} but the data have {classes} classes; end it with {classes}"
                    )));
                }
                w.clone()
            }
            MlpWidths::Hidden(h) => {
                let mut w = Vec::with_capacity(h.len() + 2);
                w.push(features);
                w.extend_from_slice(h);
                w.push(classes);
                w
            }
        };
        let fitted = MlpSpec {
            widths: MlpWidths::All(widths),
            ..self.clone()
        };
        fitted.validate()?;
        Ok(fitted)
    }

    /// The equivalent [`ModelSpec`].
    ///
    /// # Errors
    /// Any error of [`MlpSpec::validate`], or only hidden widths (see [`MlpSpec::fit`]).
    pub fn to_spec(&self) -> Result<ModelSpec> {
        self.validate()?;
        if let Some(r) = &self.recurrent {
            return Err(NnError::Config(format!(
                "an MLP after recurrent layers (`{r}`) needs the data's sequence shape: build it with MlpSpec::sequence_spec"
            )));
        }
        let MlpWidths::All(widths) = &self.widths else {
            return Err(NnError::Config(
                "an MLP given only its hidden widths needs the data's input and output widths: fit it first (MlpSpec::fit)".into(),
            ));
        };
        let init = Some(self.weight_init());
        let mut layers = Vec::new();
        let n = widths.len() - 1;
        for (i, w) in widths.windows(2).enumerate() {
            let last = i + 1 == n;
            let residual = !last && self.residual && w[0] == w[1];
            let zero_branch = residual && self.zero_init_residual;
            let linear = LayerSpec::Linear(LinearSpec {
                in_features: Some(w[0]),
                init: if zero_branch && !self.batch_norm {
                    Some(Init::Zeros(gradwell_init::Zeros))
                } else {
                    init
                },
                bias_init: self.bias_init,
                ..LinearSpec::new(w[1])
            });
            if last {
                layers.push(linear);
                break;
            }
            let mut block = vec![linear];
            if self.batch_norm {
                block.push(LayerSpec::BatchNorm(BatchNormSpec {
                    config: BatchNormConfig {
                        weight_init: if zero_branch {
                            0.0
                        } else {
                            self.batch_norm_weight_init
                        },
                        ..BatchNormConfig::default()
                    },
                }));
            }
            block.push(LayerSpec::Activation(ActivationSpec {
                activation: self.activation,
            }));
            if self.dropout > 0.0 {
                block.push(LayerSpec::Dropout(DropoutSpec { p: self.dropout }));
            }
            if self.alpha_dropout > 0.0 {
                block.push(LayerSpec::AlphaDropout(AlphaDropoutSpec {
                    p: self.alpha_dropout,
                }));
            }
            if residual {
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
            input_shape: vec![widths[0]],
            layers,
        })
    }
}

/// An [`MlpSpec`] as files hold it: `widths` or `hidden`, initializers by name, every
/// field optional (a field left out takes [`MlpSpec::default`]'s value).
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MlpFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    widths: Option<Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hidden: Option<Vec<usize>>,
    activation: ActivationKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    init: Option<Init>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bias_init: Option<Init>,
    batch_norm: bool,
    batch_norm_weight_init: f64,
    residual: bool,
    zero_init_residual: bool,
    dropout: f64,
    alpha_dropout: f64,
    head: Head,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurrent: Option<RecurrentStack>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurrent_init: Option<Init>,
}

impl Default for MlpFile {
    /// [`MlpSpec::default`]'s settings, with neither `widths` nor `hidden` given (so that a
    /// file giving one does not meet the default's other).
    fn default() -> Self {
        let mut file = MlpFile::from(MlpSpec::default());
        file.widths = None;
        file.hidden = None;
        file
    }
}

impl From<MlpSpec> for MlpFile {
    fn from(m: MlpSpec) -> Self {
        let (widths, hidden) = match m.widths {
            MlpWidths::All(w) => (Some(w), None),
            MlpWidths::Hidden(h) => (None, Some(h)),
        };
        MlpFile {
            widths,
            hidden,
            activation: m.activation,
            init: m.init,
            bias_init: m.bias_init,
            batch_norm: m.batch_norm,
            batch_norm_weight_init: m.batch_norm_weight_init,
            residual: m.residual,
            zero_init_residual: m.zero_init_residual,
            dropout: m.dropout,
            alpha_dropout: m.alpha_dropout,
            head: m.head,
            recurrent: m.recurrent,
            recurrent_init: m.recurrent_init,
        }
    }
}

impl TryFrom<MlpFile> for MlpSpec {
    type Error = NnError;

    fn try_from(f: MlpFile) -> Result<Self> {
        let widths = match (f.widths, f.hidden) {
            (Some(w), None) => MlpWidths::All(w),
            (None, Some(h)) => MlpWidths::Hidden(h),
            // Recurrent layers are read out by one linear layer unless hidden widths are given.
            (None, None) if f.recurrent.is_some() => MlpWidths::Hidden(Vec::new()),
            (None, None) => MlpSpec::default().widths,
            (Some(_), Some(_)) => {
                return Err(NnError::Config(
                    "give `widths` (input to output) or `hidden`, not both".into(),
                ));
            }
        };
        let spec = MlpSpec {
            widths,
            activation: f.activation,
            init: f.init,
            bias_init: f.bias_init,
            batch_norm: f.batch_norm,
            batch_norm_weight_init: f.batch_norm_weight_init,
            residual: f.residual,
            zero_init_residual: f.zero_init_residual,
            dropout: f.dropout,
            alpha_dropout: f.alpha_dropout,
            head: f.head,
            recurrent: f.recurrent,
            recurrent_init: f.recurrent_init,
        };
        spec.validate()?;
        Ok(spec)
    }
}
