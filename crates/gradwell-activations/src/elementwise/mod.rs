//! Every element-wise activation, one file each (value, derivative, facts, unit tests), and
//! [`ActivationKind`], the enum that names them all.
//!
//! Adding an activation is adding its file, its `mod` line and one line to the
//! `elementwise!` list below: the list re-exports the type (the crate root re-exports this
//! module's public items) and declares the enum variant, the dispatch, the parsing and the
//! printing, and [`ActivationKind::defaults`] then brings it into every property test,
//! every `xtask verify` check, the layers of `gradwell-nn` (whose PyTorch `repr` is the
//! activation's own) and the monitor's saturated- and dead-unit counts. The modules are declared
//! with plain `mod` items (not by the macro) so that tools reading the source, such as
//! cargo-mutants and rustfmt, see their files. Neither half can be forgotten: a list entry
//! without its module does not compile, and a module left out of the list leaves its type
//! unused (a dead-code error under clippy's `-D warnings`).

use std::fmt;
use std::str::FromStr;

use gradwell_init::Nonlinearity;
use num_traits::Float;
use serde::{Deserialize, Serialize};

use crate::{Activation, ActivationError, ActivationInfo, Saturation};

/// How an activation is named and parameterized in text. Each activation's file
/// implements it; [`ActivationKind`]'s `FromStr` and `Display` are built on it, so the
/// text form lives in one place.
pub(crate) trait Spec: Sized + Default {
    /// Accepted names, kebab-case; the first is canonical, the others are aliases.
    const NAMES: &'static [&'static str];
    /// The parameters' names, in the order they are written.
    const PARAMS: &'static [&'static str];
    /// The parameters' values, in the order of [`Spec::PARAMS`].
    fn params(&self) -> Vec<f64>;
    /// Builds and validates from a full parameter list (missing ones already filled with
    /// the defaults).
    fn from_params(p: &[f64]) -> Result<Self, ActivationError>;
}

/// The canonical text form: the name, then `:` and the comma-separated parameters if any.
pub(crate) fn spec_name<T: Spec>(t: &T) -> String {
    let params = t.params();
    if params.is_empty() {
        T::NAMES[0].to_string()
    } else {
        let p: Vec<String> = params.iter().map(f64::to_string).collect();
        format!("{}:{}", T::NAMES[0], p.join(","))
    }
}

/// `name[:p1[,p2]]` with aliases in parentheses, e.g. `softplus[:beta[,threshold]]`.
fn spec_usage<T: Spec>() -> String {
    let mut s = T::NAMES[0].to_string();
    for (i, p) in T::PARAMS.iter().enumerate() {
        s.push_str(if i == 0 { "[:" } else { "[," });
        s.push_str(p);
    }
    s.push_str(&"]".repeat(T::PARAMS.len()));
    if T::NAMES.len() > 1 {
        s.push_str(&format!(" (or {})", T::NAMES[1..].join(", ")));
    }
    s
}

/// Parses the parameter text of `T` (after the `:`), filling missing ones from defaults.
fn parse_params<T: Spec>(text: Option<&str>) -> Result<T, ActivationError> {
    let mut params = T::default().params();
    let Some(text) = text else {
        return Ok(T::default());
    };
    let given: Vec<&str> = text.split(',').map(str::trim).collect();
    if given.len() > T::PARAMS.len() {
        return Err(ActivationError::TooManyParams {
            activation: T::NAMES[0],
            max: T::PARAMS.len(),
            expected: T::PARAMS.join(","),
            got: given.len(),
        });
    }
    for (slot, g) in params.iter_mut().zip(&given) {
        *slot = g.parse::<f64>().map_err(|_| ActivationError::BadNumber {
            activation: T::NAMES[0],
            text: (*g).to_string(),
        })?;
    }
    T::from_params(&params)
}

macro_rules! elementwise {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        $(pub use $module::$ty;)*

        /// Every element-wise activation with its parameters: what a configuration file or
        /// a command line names.
        ///
        /// Its text form is `name[:param[,param]]` in kebab-case (`relu`,
        /// `leaky-relu:0.2`, `softplus:2,20`, `hardtanh:-2,2`); omitted parameters take
        /// PyTorch's defaults, `_` may stand for `-`, and case is ignored. It serializes
        /// (serde) as that string, and parsing validates the parameters, so a
        /// deserialized kind is always valid. [`Display`](fmt::Display) prints the
        /// canonical form with every parameter, which parses back to the same kind.
        ///
        /// It implements [`Activation`] itself, dispatching once per slice call to the
        /// concrete type, whose loop then runs without a branch on the kind.
        ///
        /// ```
        /// use gradwell_activations::{Activation, ActivationKind, LeakyRelu};
        ///
        /// let k: ActivationKind = "leaky-relu:0.2".parse()?;
        /// assert_eq!(k, ActivationKind::LeakyRelu(LeakyRelu::new(0.2)?));
        /// assert_eq!(k.to_string(), "leaky-relu:0.2");
        /// assert_eq!(k.derivative(-3.0_f64), 0.2);
        /// assert!("swishy".parse::<ActivationKind>().is_err());
        /// # Ok::<(), gradwell_activations::ActivationError>(())
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum ActivationKind {
            $(
                #[doc = concat!("[`", stringify!($ty), "`].")]
                $ty($ty),
            )*
        }

        $(impl From<$ty> for ActivationKind {
            fn from(a: $ty) -> Self {
                ActivationKind::$ty(a)
            }
        })*

        impl ActivationKind {
            /// One of each activation, with PyTorch's default parameters, in a fixed order.
            pub fn defaults() -> Vec<ActivationKind> {
                vec![$(ActivationKind::$ty($ty::default())),*]
            }

            /// The activation's own type, as the trait object of its facts (its
            /// `name()` is its own, which equals this kind's text form).
            pub fn info(&self) -> &dyn ActivationInfo {
                match self { $(ActivationKind::$ty(a) => a,)* }
            }

            /// Every accepted name with its optional parameters, comma-separated, as the
            /// parse error lists them.
            pub fn valid_names() -> String {
                [$(spec_usage::<$ty>()),*].join(", ")
            }

            /// Parses `name` (already normalized) with its parameter text.
            fn parse_normalized(name: &str, params: Option<&str>) -> Option<Result<Self, ActivationError>> {
                $(if <$ty as Spec>::NAMES.contains(&name) {
                    return Some(parse_params::<$ty>(params).map(ActivationKind::$ty));
                })*
                None
            }
        }

        impl fmt::Display for ActivationKind {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $(ActivationKind::$ty(a) => f.write_str(&spec_name(a)),)* }
            }
        }

        impl ActivationInfo for ActivationKind {
            fn name(&self) -> String {
                self.to_string()
            }
            fn gain(&self) -> f64 {
                self.info().gain()
            }
            fn derivative_bound(&self) -> f64 {
                self.info().derivative_bound()
            }
            fn saturates(&self) -> bool {
                self.info().saturates()
            }
            fn saturation(&self) -> Saturation {
                self.info().saturation()
            }
            fn can_die(&self) -> bool {
                self.info().can_die()
            }
            fn torch_class(&self) -> &'static str {
                self.info().torch_class()
            }
            fn torch_args(&self) -> String {
                self.info().torch_args()
            }
            fn torch_repr(&self) -> String {
                self.info().torch_repr()
            }
            fn nonlinearity(&self) -> Option<Nonlinearity> {
                self.info().nonlinearity()
            }
            fn kinks(&self) -> Vec<f64> {
                self.info().kinks()
            }
        }

        impl<F: Float> Activation<F> for ActivationKind {
            fn value(&self, x: F) -> F {
                match self { $(ActivationKind::$ty(a) => a.value(x),)* }
            }
            fn derivative(&self, x: F) -> F {
                match self { $(ActivationKind::$ty(a) => a.derivative(x),)* }
            }
            #[inline(always)]
            fn forward_slice(&self, x: &[F], y: &mut [F]) {
                match self { $(ActivationKind::$ty(a) => a.forward_slice(x, y),)* }
            }
            fn derivative_slice(&self, x: &[F], d: &mut [F]) {
                match self { $(ActivationKind::$ty(a) => a.derivative_slice(x, d),)* }
            }
            #[inline(always)]
            fn backward_slice(&self, x: &[F], y: &[F], dy: &[F], dx: &mut [F]) {
                match self { $(ActivationKind::$ty(a) => a.backward_slice(x, y, dy, dx),)* }
            }
        }
    };
}

mod celu;
mod elu;
mod gelu;
mod gelu_tanh;
mod hardsigmoid;
mod hardswish;
mod hardtanh;
mod identity;
mod leaky_relu;
mod mish;
mod prelu;
mod relu;
mod relu6;
mod selu;
mod sigmoid;
mod silu;
mod softplus;
mod tanh;

elementwise! {
    identity::Identity,
    sigmoid::Sigmoid,
    tanh::Tanh,
    relu::Relu,
    leaky_relu::LeakyRelu,
    prelu::Prelu,
    elu::Elu,
    selu::Selu,
    gelu::Gelu,
    gelu_tanh::GeluTanh,
    silu::Silu,
    softplus::Softplus,
    mish::Mish,
    relu6::Relu6,
    hardtanh::Hardtanh,
    celu::Celu,
    hardsigmoid::Hardsigmoid,
    hardswish::Hardswish,
}

impl FromStr for ActivationKind {
    type Err = ActivationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, params) = match s.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (s, None),
        };
        let name = name.trim().to_lowercase().replace('_', "-");
        ActivationKind::parse_normalized(&name, params).unwrap_or_else(|| {
            Err(ActivationError::UnknownName {
                name: s.to_string(),
                valid: ActivationKind::valid_names(),
            })
        })
    }
}

impl TryFrom<String> for ActivationKind {
    type Error = ActivationError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ActivationKind> for String {
    fn from(k: ActivationKind) -> String {
        k.to_string()
    }
}

impl Default for ActivationKind {
    /// ReLU, the usual default of a hidden layer.
    fn default() -> Self {
        ActivationKind::Relu(Relu)
    }
}
