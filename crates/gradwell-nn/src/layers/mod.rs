//! The layers, one file each with its settings ([`LayerSpec`]'s variant), and the registry
//! of the layer kinds a model file names.
//!
//! Each kind is a settings type implementing [`LayerKind`] — its PyTorch class, how it is
//! planned (shapes and parameter counts, allocating nothing) and built, and examples — and
//! one line of the `layers!` list below, which declares the [`LayerSpec`] variant (serde
//! `type` = the variant's name in snake_case), the dispatch, and re-exports the file's
//! public types. The generic tests (`tests/it/registry.rs`) run every kind's examples
//! through a gradient check, a TOML and JSON round trip, and the plan against the built
//! layer. The modules are plain `mod` items so that rustfmt and cargo-mutants see them.

use gradwell_autodiff::{ParamId, ParamStore};
use gradwell_init::Initializer;
use gradwell_tensor::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::module::Module;
use crate::plan::LayerPlan;
use crate::{NnError, Result};

mod activation;
mod alpha_dropout;
mod dropout;
mod flatten;
mod gru;
mod last_step;
mod linear;
mod lstm;
mod norm;
mod prelu;
mod recurrent;
mod residual;
mod rnn;
mod sequential;
mod softmax;

pub use recurrent::{RecurrentLayer, RecurrentOptions, RecurrentWeights};
pub use sequential::{Sequential, run};

/// Fills a new parameter of `shape` with `init` and adds it to the store as `name`.
pub(crate) fn new_param<F: Float>(
    store: &mut ParamStore<F>,
    name: String,
    shape: &[usize],
    init: &dyn Initializer<F>,
    rng: &mut dyn RngCore,
) -> Result<ParamId> {
    let value = init.sample(shape, rng).map_err(|source| NnError::Init {
        param: name.clone(),
        source,
    })?;
    Ok(store.add(name, value))
}

/// Joins a path prefix and a local name with a dot, PyTorch's state_dict convention.
pub(crate) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Where a layer is planned: its path and label, the layer before it, and the per-sample
/// shape it receives. Its helpers build the errors that name the layer.
pub(crate) struct PlanSite<'a> {
    /// The layer's path, PyTorch-style (`"3"`, `"2.body.1"`).
    pub path: &'a str,
    /// The layer as errors name it: path and description, `3 (Linear(→128))`.
    pub label: &'a str,
    /// The label of the layer whose output this one receives (or `the input`).
    pub prev: &'a str,
    /// The per-sample input shape.
    pub input: &'a [usize],
}

impl PlanSite<'_> {
    /// The width of a flat per-sample input, or an error asking for a flatten layer.
    pub fn flat(&self) -> Result<usize> {
        flat(self.input, self.label, self.prev)
    }

    /// The product of `dims`, or an error naming the layer when it overflows 64 bits.
    pub fn count(&self, dims: &[usize]) -> Result<u64> {
        dims.iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
            .ok_or_else(|| {
                self.error(format!(
                    "{dims:?} is more elements than a 64-bit count holds"
                ))
            })
    }

    /// The sum of `parts`, or an error naming the layer when it overflows 64 bits.
    pub fn sum(&self, parts: &[u64]) -> Result<u64> {
        parts
            .iter()
            .try_fold(0u64, |a, &b| a.checked_add(b))
            .ok_or_else(|| self.error("more parameters than a 64-bit count holds"))
    }

    /// A [`NnError::Config`] naming the layer.
    pub fn error(&self, message: impl std::fmt::Display) -> NnError {
        NnError::Config(format!("layer {}: {message}", self.label))
    }

    /// A [`NnError::WidthMismatch`] naming this layer and the one before it.
    pub fn width_mismatch(&self, expected: usize, got: usize) -> NnError {
        NnError::WidthMismatch {
            prev: self.prev.to_string(),
            next: self.label.to_string(),
            expected,
            got,
        }
    }

    /// Names the layer in the error of a check or constructor.
    pub fn in_layer<T>(&self, r: Result<T>) -> Result<T> {
        in_layer(self.label, r)
    }
}

/// What planning a layer found: its output shape and what it stores.
#[derive(Debug, Default)]
pub(crate) struct Planned {
    /// The per-sample output shape.
    pub output: Vec<usize>,
    /// Trainable scalars.
    pub trainable: u64,
    /// Non-trainable scalars counted as parameters (running statistics).
    pub non_trainable: u64,
    /// Scalars stored with the weights but not counted (batch norm's batch counter).
    pub uncounted: u64,
    /// The plans of the layers inside it (a residual block's branch).
    pub body: Vec<LayerPlan>,
    /// Per-sample outputs besides its own and its body's (a residual block's projection).
    pub extra_outputs: u64,
}

impl Planned {
    /// A layer with this output shape and nothing stored.
    pub fn output(output: Vec<usize>) -> Self {
        Planned {
            output,
            ..Planned::default()
        }
    }

    /// With `n` trainable scalars.
    pub fn trainable(self, n: u64) -> Self {
        Planned {
            trainable: n,
            ..self
        }
    }
}

/// Where a layer is built: the store its parameters go to, the RNG they are drawn from,
/// and its plan (path, label, shapes, a residual block's body).
pub(crate) struct BuildSite<'a, F: Float> {
    /// The parameter store.
    pub store: &'a mut ParamStore<F>,
    /// The RNG of initial weights.
    pub rng: &'a mut dyn RngCore,
    /// The layer's plan, made by [`LayerKind::plan`].
    pub plan: &'a LayerPlan,
}

impl<F: Float> BuildSite<'_, F> {
    /// The width of its flat input (checked when planned).
    pub fn width(&self) -> Result<usize> {
        flat(
            &self.plan.input_shape,
            &self.plan.label,
            "the previous layer",
        )
    }

    /// Names the layer in the error of a constructor.
    pub fn in_layer<T>(&self, r: Result<T>) -> Result<T> {
        in_layer(&self.plan.label, r)
    }
}

/// One kind of layer, as a model file names it: its settings type, whose fields a file may
/// leave out take PyTorch's defaults (serde `default`s), and what building it takes.
///
/// Registered with one line of the `layers!` list; every registered kind is then parsed
/// and printed in model files, planned, built, summarized, and run through the generic
/// tests with its [`LayerKind::examples`].
pub(crate) trait LayerKind: Sized {
    /// PyTorch's class name of the built layer (`"Linear"`), what its `Module::kind` gives
    /// and the summary shows.
    fn torch_class(&self) -> &'static str;

    /// How errors describe it after its path, `Linear(→128)`; `None` for the variant's
    /// name.
    fn describe(&self) -> Option<String> {
        None
    }

    /// Checks the settings against the input shape as building would, and works out the
    /// output shape and the parameter counts, allocating nothing.
    ///
    /// # Errors
    /// Settings that are invalid or do not fit the input, counts past 64 bits.
    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned>;

    /// Builds the layer that [`LayerKind::plan`] planned, adding its parameters to the
    /// store under `{path}.name`.
    ///
    /// # Errors
    /// An initializer's failure.
    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>>;

    /// Examples for the generic tests, with the per-sample input shape each takes: at least
    /// one, between them every option that changes the computation, each one a TOML file
    /// can hold (TOML has no null: batch norm's `momentum = None` is JSON-only).
    fn examples() -> Vec<(Vec<usize>, Self)>;
}

/// Names the layer `label` in a construction error.
pub(crate) fn in_layer<T>(label: &str, r: Result<T>) -> Result<T> {
    r.map_err(|source| NnError::Layer {
        layer: label.to_string(),
        source: Box::new(source),
    })
}

/// The width of a flat per-sample shape; `here` and `prev` name the layers in the error.
pub(crate) fn flat(shape: &[usize], here: &str, prev: &str) -> Result<usize> {
    match shape {
        [f] => Ok(*f),
        _ => Err(NnError::Config(format!(
            "layer {here} needs flat input but {prev} produces shape {shape:?}; add a flatten layer"
        ))),
    }
}

macro_rules! layers {
    ($($variant:ident($module:ident :: $spec:ident)),* $(,)?) => {
        // A module holding two kinds (norm, softmax) is listed twice.
        $(#[allow(unused_imports)]
        pub use $module::*;)*

        /// One layer of a [`crate::ModelSpec`], tagged by `type` in files (`linear`,
        /// `batch_norm`, …: the variant's name in snake_case), with the settings of its
        /// kind; settings left out take PyTorch's defaults.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum LayerSpec {
            $(
                #[doc = concat!("[`", stringify!($spec), "`].")]
                $variant($spec),
            )*
        }

        $(impl From<$spec> for LayerSpec {
            fn from(s: $spec) -> Self {
                LayerSpec::$variant(s)
            }
        })*

        impl LayerSpec {
            /// The registered kinds, by variant name (`"Linear"`, `"BatchNorm"`; a file
            /// writes them in snake_case).
            pub const KINDS: &'static [&'static str] = &[$(stringify!($variant)),*];

            /// This layer's kind, one of [`LayerSpec::KINDS`].
            pub fn kind_name(&self) -> &'static str {
                match self { $(LayerSpec::$variant(_) => stringify!($variant),)* }
            }

            /// Every registered kind's examples, each with the per-sample input shape it
            /// takes: what the generic tests run (gradient check, config round trip, plan
            /// against the built layer).
            pub fn examples() -> Vec<(Vec<usize>, LayerSpec)> {
                let mut all = Vec::new();
                $(all.extend(
                    <$spec as LayerKind>::examples()
                        .into_iter()
                        .map(|(shape, s)| (shape, LayerSpec::$variant(s))),
                );)*
                all
            }

            /// PyTorch's class name of the built layer.
            pub fn torch_class(&self) -> &'static str {
                match self { $(LayerSpec::$variant(s) => s.torch_class(),)* }
            }

            /// A short description for error messages, e.g. `Linear(→128)`.
            pub(crate) fn describe(&self) -> String {
                match self {
                    $(LayerSpec::$variant(s) => s
                        .describe()
                        .unwrap_or_else(|| self.kind_name().to_string()),)*
                }
            }

            /// [`LayerKind::plan`] of the kind.
            pub(crate) fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
                match self { $(LayerSpec::$variant(s) => s.plan(at),)* }
            }

            /// [`LayerKind::build`] of the kind.
            pub(crate) fn build<F: Float>(
                &self,
                at: &mut BuildSite<'_, F>,
            ) -> Result<Box<dyn Module<F>>> {
                match self { $(LayerSpec::$variant(s) => s.build(at),)* }
            }
        }
    };
}

/// The `type` of a learnt-slope PReLU layer in model files (serde's spelling of
/// [`LayerSpec::Prelu`], which a test holds it to), as [`crate::LayerActivation`] prints it.
pub(crate) const PRELU_TYPE: &str = "prelu";
/// The `type` of a softmax layer ([`LayerSpec::Softmax`]).
pub(crate) const SOFTMAX_TYPE: &str = "softmax";
/// The `type` of a log-softmax layer ([`LayerSpec::LogSoftmax`]).
pub(crate) const LOG_SOFTMAX_TYPE: &str = "log_softmax";

layers! {
    Linear(linear::LinearSpec),
    Activation(activation::ActivationSpec),
    Prelu(prelu::PreluSpec),
    BatchNorm(norm::BatchNormSpec),
    LayerNorm(norm::LayerNormSpec),
    Dropout(dropout::DropoutSpec),
    AlphaDropout(alpha_dropout::AlphaDropoutSpec),
    Flatten(flatten::FlattenSpec),
    Softmax(softmax::SoftmaxSpec),
    LogSoftmax(softmax::LogSoftmaxSpec),
    Rnn(rnn::RnnSpec),
    Lstm(lstm::LstmSpec),
    Gru(gru::GruSpec),
    LastStep(last_step::LastStepSpec),
    Residual(residual::ResidualSpec),
}
