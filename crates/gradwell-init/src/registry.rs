//! The registry of initializers: what each one declares about itself ([`Entry`] for its
//! text form, [`InitInfo`] for its facts), the `initializers!` macro that builds [`Init`]
//! from the list of them, and `Init`'s parsing, printing and serde, written once here for
//! all of them.
//!
//! The list is not written by hand: `build.rs` makes one entry per file of `src/kinds/`,
//! so an initializer is its file plus its `mod` line in `src/kinds/mod.rs`.

use std::fmt;
use std::str::FromStr;

use ndarray::ArrayViewMutD;
use num_traits::Float;
use rand::RngCore;

use crate::{FanMode, Init, InitError, Initializer, Law, Moments, Nonlinearity, calculate_gain};

/// The facts an initializer declares about the values it fills: whether its parameters are
/// valid, and the law of its elements for a given shape. Everything that reasons about
/// initial weights (the monitor's mean-field theory, the variance tests, `cargo xtask
/// verify`) asks these rather than working them out again.
///
/// ```
/// use gradwell_init::{Init, InitInfo, Moments};
///
/// // Xavier uniform on nn.Linear(300, 100), whose weight is [100, 300]:
/// // U(±√(6/400)), variance 2/400.
/// let xavier: Init = "xavier-uniform".parse()?;
/// let m = xavier.moments(&[100, 300])?.expect("a closed form");
/// assert_eq!(m.mean, 0.0);
/// assert!((m.variance / (2.0 / 400.0) - 1.0).abs() < 1e-15);
/// // An orthogonal [20, 10] matrix has no per-element law, but its moments are exact:
/// // the Frobenius norm² gain²·10 spread evenly over 200 elements.
/// let orthogonal: Init = "orthogonal:2".parse()?;
/// assert_eq!(orthogonal.law(&[20, 10])?, None);
/// assert_eq!(orthogonal.moments(&[20, 10])?, Some(Moments { mean: 0.0, variance: 0.2 }));
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
pub trait InitInfo {
    /// Checks the parameters (independently of any shape): parsing calls it, so a parsed
    /// [`Init`] is valid, and so does every fill.
    ///
    /// # Errors
    /// [`InitError::BadParameter`] naming the parameter and the value.
    fn validate(&self) -> Result<(), InitError>;

    /// The law every element of a fill of `shape` is drawn from, independently; `None` when
    /// the elements are not independent draws from one law ([`Orthogonal`](crate::Orthogonal),
    /// [`Eye`](crate::Eye)). For a dense layer with `fan_in` inputs and `fan_out` outputs,
    /// the shape is `[fan_out, fan_in]` (PyTorch's layout).
    ///
    /// # Errors
    /// Invalid parameters, or a shape the initializer cannot fill (a rank below 2 for a
    /// fan-based initializer).
    fn law(&self, shape: &[usize]) -> Result<Option<Law>, InitError>;

    /// The mean and variance of one element of a fill of `shape`, where they have a closed
    /// form: the law's moments, or exact moments without a per-element law (an orthogonal
    /// matrix's); `None` otherwise. The theory's σ_w² is `fan_in` times this variance.
    ///
    /// # Errors
    /// As [`InitInfo::law`].
    fn moments(&self, shape: &[usize]) -> Result<Option<Moments>, InitError> {
        Ok(self.law(shape)?.map(|law| law.moments()))
    }

    /// The bound b when every element of a fill of `shape` is drawn from U(−b, b), read
    /// from the [`law`](InitInfo::law) (so there is no second formula): the bound PyTorch
    /// computes for `xavier_uniform_`, `kaiming_uniform_` (`he-uniform`, `lecun-uniform`),
    /// `nn.Linear`'s weight (`pytorch-default`) and bias (`pytorch-default-bias`), Keras's
    /// `VarianceScaling(distribution="uniform")`, and `uniform:-B,B`. `None` for any other
    /// law, or none.
    ///
    /// # Errors
    /// As [`InitInfo::law`].
    ///
    /// ```
    /// use gradwell_init::{Init, InitInfo};
    /// // xavier_uniform_ on [100, 300]: √3·√(2/400), as torch.nn.init computes it.
    /// let xavier: Init = "xavier-uniform".parse()?;
    /// assert_eq!(xavier.uniform_bound(&[100, 300])?, Some(3.0_f64.sqrt() * (2.0_f64 / 400.0).sqrt()));
    /// // nn.Linear(784, 128)'s bias: 1/√784.
    /// let bias = Init::pytorch_default_bias(784);
    /// assert_eq!(bias.uniform_bound(&[128])?, Some(1.0 / 28.0));
    /// // Not uniform.
    /// assert_eq!(Init::HE_NORMAL.uniform_bound(&[128, 784])?, None);
    /// # Ok::<(), gradwell_init::InitError>(())
    /// ```
    fn uniform_bound(&self, shape: &[usize]) -> Result<Option<f64>, InitError> {
        Ok(match self.law(shape)? {
            Some(Law::Uniform { low, high }) if low == -high => Some(high),
            Some(
                Law::Uniform { .. }
                | Law::Constant { .. }
                | Law::Normal { .. }
                | Law::TruncatedNormal { .. },
            )
            | None => None,
        })
    }
}

/// An initializer whose elements are independent draws from one [`Law`]: it states its
/// checks and its law, and gets [`InitInfo`] and [`Initializer`] from them, so that what it
/// fills is exactly what it declares.
pub(crate) trait Drawn {
    /// Checks the parameters.
    fn check(&self) -> Result<(), InitError>;
    /// The law for `shape`, parameters already checked.
    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError>;
}

impl<T: Drawn> InitInfo for T {
    fn validate(&self) -> Result<(), InitError> {
        self.check()
    }
    fn law(&self, shape: &[usize]) -> Result<Option<Law>, InitError> {
        self.check()?;
        self.law_for(shape).map(Some)
    }
}

impl<T: Drawn, F: Float> Initializer<F> for T {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) -> Result<(), InitError> {
        self.check()?;
        self.law_for(a.shape())?.fill(a, rng);
        Ok(())
    }
}

/// How an initializer is written: `name[:param,param,…]`. Each file of `src/kinds/`
/// implements it; [`Init`]'s `FromStr` and `Display` are built on it.
pub(crate) trait Entry: Sized + Copy {
    /// Accepted names, kebab-case; the first is canonical, the others are aliases.
    const NAMES: &'static [&'static str];
    /// The canonical name with its parameters, as errors and `--help` list it, e.g.
    /// `uniform[:LOW,HIGH]` (brackets: optional).
    const USAGE: &'static str;
    /// Builds from the parameters after the `:` (lower-cased, `-` for `_`; empty when there
    /// is no `:`). Validation comes after, from [`InitInfo::validate`].
    ///
    /// # Errors
    /// What is wrong with the parameters and what they should look like.
    fn from_args(args: &[String]) -> Result<Self, String>;
    /// The parameters the canonical string prints after the `:` (none: the bare name).
    fn args(&self) -> Vec<String>;
    /// A few valid settings, for the tests and `cargo xtask verify`: the default one, and
    /// others that exercise each parameter.
    fn examples() -> Vec<Self>;
    /// This initializer as it fills the bias of a weight of `weight_shape` (PyTorch's
    /// layout): itself, unless it reads the weight ([`PytorchDefaultBias`](crate::PytorchDefaultBias)
    /// takes its fan-in).
    ///
    /// # Errors
    /// A weight shape the initializer cannot read.
    fn for_bias_of(&self, _weight_shape: &[usize]) -> Result<Self, InitError> {
        Ok(*self)
    }
}

/// Builds [`Init`] from the list of `module::Type` entries (generated by `build.rs`).
macro_rules! initializers {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        $(pub use $module::$ty;)*

        /// Every initializer, by name and with its parameters: what a model description,
        /// a config file or a command line names.
        ///
        /// It is written `name[:param,…]` in kebab-case ([`INIT_NAMES`] lists every form):
        /// `he-normal`, `he-uniform:fan-out,leaky-relu=0.2`, `xavier-uniform:1.5`,
        /// `uniform:-0.1,0.1`, `trunc-normal:0,0.02,-0.04,0.04`,
        /// `variance-scaling:2,fan-in,truncated-normal,keras`, `orthogonal:2`, …; names
        /// are case-insensitive and `_` may stand for `-`. Parsing validates the
        /// parameters. [`Display`](std::fmt::Display) prints the canonical string, which
        /// parses back to the same value, and serde reads and writes that same string
        /// (`init = "he-normal"` in TOML, `"init": "he-normal"` in JSON). Each variant's
        /// type documents its initializer, its PyTorch or Keras equivalent and its law.
        ///
        /// ```
        /// use gradwell_init::{Constant, Init, Initializer};
        /// use rand::SeedableRng;
        ///
        /// let init: Init = "he-normal".parse()?;
        /// assert_eq!(init, Init::HE_NORMAL);
        /// assert_eq!(init.to_string(), "he-normal");
        /// assert_eq!("constant:0.5".parse::<Init>()?, Init::Constant(Constant { value: 0.5 }));
        /// let err = "he-norml".parse::<Init>().unwrap_err().to_string();
        /// assert!(err.contains("valid names") && err.contains("xavier-uniform"));
        /// assert_eq!(serde_json::to_string(&init).unwrap(), r#""he-normal""#);
        ///
        /// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        /// let w: ndarray::ArrayD<f32> = init.sample(&[128, 784], &mut rng)?;
        /// assert_eq!(w.len(), 128 * 784);
        /// # Ok::<(), gradwell_init::InitError>(())
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum Init {
            $(
                #[doc = concat!("[`", stringify!($ty), "`].")]
                $ty($ty),
            )*
        }

        $(impl From<$ty> for Init {
            fn from(init: $ty) -> Self {
                Init::$ty(init)
            }
        })*

        /// Every initializer's canonical name with its parameters (brackets: optional), in
        /// the order errors and `--help` list them.
        pub const INIT_NAMES: &[&str] = &[$(<$ty as $crate::registry::Entry>::USAGE),*];

        impl Init {
            /// A few valid settings of every initializer (each one's default first), in the
            /// order of [`INIT_NAMES`]: what the registry's tests and `cargo xtask verify`
            /// run over, so that a new initializer is tested without a test being edited.
            pub fn examples() -> Vec<Init> {
                let mut all = Vec::new();
                $(all.extend(<$ty as $crate::registry::Entry>::examples().into_iter().map(Init::$ty));)*
                all
            }

            /// The canonical name, without parameters (`he-normal`).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Init::$ty(_) => <$ty as $crate::registry::Entry>::NAMES[0],)*
                }
            }

            /// This initializer as it fills the bias of a weight of `weight_shape` (PyTorch's
            /// layout, `[out, in, *kernel]`): itself, except that an initializer that reads
            /// the weight takes what it needs from it — `pytorch-default-bias` its fan-in.
            /// A layer calls it on its bias initializer before filling its bias.
            ///
            /// # Errors
            /// A weight shape the initializer cannot read (rank below 2).
            ///
            /// ```
            /// use gradwell_init::Init;
            /// let bias: Init = "pytorch-default-bias".parse()?;
            /// assert_eq!(bias.for_bias_of(&[10, 30])?, Init::pytorch_default_bias(30));
            /// let zeros: Init = "zeros".parse()?;
            /// assert_eq!(zeros.for_bias_of(&[10, 30])?, zeros);
            /// # Ok::<(), gradwell_init::InitError>(())
            /// ```
            pub fn for_bias_of(&self, weight_shape: &[usize]) -> Result<Init, $crate::InitError> {
                match self {
                    $(Init::$ty(init) => $crate::registry::Entry::for_bias_of(init, weight_shape).map(Init::$ty),)*
                }
            }

            /// Every name and alias of every initializer.
            #[cfg(test)]
            pub(crate) fn every_name() -> Vec<&'static str> {
                let mut all = Vec::new();
                $(all.extend(<$ty as $crate::registry::Entry>::NAMES);)*
                all
            }

            /// The parameters the canonical string prints.
            pub(crate) fn args(&self) -> Vec<String> {
                match self {
                    $(Init::$ty(init) => $crate::registry::Entry::args(init),)*
                }
            }

            /// Builds the initializer that `name` (normalized) names from its parameters;
            /// `None` when no initializer has that name.
            pub(crate) fn from_name(name: &str, args: &[String]) -> Option<Result<Init, String>> {
                $(if <$ty as $crate::registry::Entry>::NAMES.contains(&name) {
                    return Some(<$ty as $crate::registry::Entry>::from_args(args).map(Init::$ty));
                })*
                None
            }
        }

        impl $crate::InitInfo for Init {
            fn validate(&self) -> Result<(), $crate::InitError> {
                match self {
                    $(Init::$ty(init) => init.validate(),)*
                }
            }
            fn law(&self, shape: &[usize]) -> Result<Option<$crate::Law>, $crate::InitError> {
                match self {
                    $(Init::$ty(init) => init.law(shape),)*
                }
            }
            fn moments(&self, shape: &[usize]) -> Result<Option<$crate::Moments>, $crate::InitError> {
                match self {
                    $(Init::$ty(init) => init.moments(shape),)*
                }
            }
        }

        impl<F: num_traits::Float> $crate::Initializer<F> for Init {
            fn fill(
                &self,
                a: &mut ndarray::ArrayViewMutD<'_, F>,
                rng: &mut dyn rand::RngCore,
            ) -> Result<(), $crate::InitError> {
                match self {
                    $(Init::$ty(init) => init.fill(a, rng),)*
                }
            }
        }
    };
}
pub(crate) use initializers;

impl Init {
    /// He normal for ReLU (`kaiming_normal_(w, nonlinearity='relu')`).
    pub const HE_NORMAL: Init = Init::HeNormal(crate::HeNormal {
        nonlinearity: Nonlinearity::Relu,
        mode: FanMode::FanIn,
    });

    /// The initializer that suits a layer followed by this nonlinearity:
    ///
    /// - **ReLU and leaky ReLU → He normal** with the activation's gain (fan-in). A
    ///   rectifier zeroes about half of a symmetric input, halving the signal's second
    ///   moment; variance gain²/fan_in = 2/fan_in restores it, so activations keep their
    ///   scale through depth (He et al., 2015).
    /// - **tanh and sigmoid → Xavier uniform** with the activation's gain (5/3 and 1).
    ///   These are near-linear around 0, where Glorot's analysis holds; averaging the fans
    ///   balances the forward signal and the backward gradient, and a small weight scale
    ///   keeps pre-activations out of the saturated regions where derivatives vanish
    ///   (Glorot & Bengio, 2010).
    /// - **SELU → LeCun normal** (variance 1/fan_in), the initialization under which SELU's
    ///   self-normalizing fixed point (mean 0, variance 1) holds (Klambauer et al., 2017);
    ///   PyTorch's docs advise the same over SELU's empirical gain of 3/4.
    /// - **Linear → Xavier uniform**, gain 1: Glorot's derivation is for the linear case.
    ///
    /// ```
    /// use gradwell_init::{Init, LecunNormal, Nonlinearity, XavierUniform};
    /// assert_eq!(Init::suited_to(Nonlinearity::Relu), Init::HE_NORMAL);
    /// assert_eq!(
    ///     Init::suited_to(Nonlinearity::Tanh),
    ///     Init::XavierUniform(XavierUniform { gain: 5.0 / 3.0 })
    /// );
    /// assert_eq!(Init::suited_to(Nonlinearity::Selu), Init::LecunNormal(LecunNormal));
    /// ```
    pub fn suited_to(nonlinearity: Nonlinearity) -> Init {
        match nonlinearity {
            Nonlinearity::Relu | Nonlinearity::LeakyRelu(_) => Init::HeNormal(crate::HeNormal {
                nonlinearity,
                mode: FanMode::FanIn,
            }),
            Nonlinearity::Tanh | Nonlinearity::Sigmoid | Nonlinearity::Linear => {
                Init::XavierUniform(crate::XavierUniform {
                    gain: calculate_gain(nonlinearity),
                })
            }
            Nonlinearity::Selu => Init::LecunNormal(crate::LecunNormal),
        }
    }

    /// PyTorch's default bias of `nn.Linear` and `nn.ConvNd` whose weight has this fan-in:
    /// [`PytorchDefaultBias`](crate::PytorchDefaultBias), U(±1/√fan_in), U(0, 0) when
    /// `fan_in` is 0, as PyTorch. A layer without a bias initializer uses it.
    ///
    /// ```
    /// use gradwell_init::{Init, InitInfo};
    /// let bias = Init::pytorch_default_bias(12);
    /// assert_eq!(bias.to_string(), "pytorch-default-bias:12");
    /// assert_eq!(bias.uniform_bound(&[5])?, Some(1.0 / 12.0_f64.sqrt()));
    /// let variance = bias.moments(&[5])?.unwrap().variance;
    /// assert!((variance - 1.0 / 36.0).abs() < 1e-15);
    /// # Ok::<(), gradwell_init::InitError>(())
    /// ```
    pub fn pytorch_default_bias(fan_in: usize) -> Init {
        Init::PytorchDefaultBias(crate::PytorchDefaultBias {
            fan_in: Some(fan_in),
        })
    }

    /// Every accepted form, comma-separated, as errors list them.
    pub fn valid_names() -> String {
        crate::INIT_NAMES.join(", ")
    }
}

impl fmt::Display for Init {
    /// The canonical string, which [`Init::from_str`] parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args = self.args();
        if args.is_empty() {
            f.write_str(self.name())
        } else {
            write!(f, "{}:{}", self.name(), args.join(","))
        }
    }
}

impl FromStr for Init {
    type Err = InitError;

    /// Parses `name[:param,…]` and validates the parameters.
    fn from_str(spec: &str) -> Result<Init, InitError> {
        let (name, args) = match spec.split_once(':') {
            Some((name, args)) => (name, Some(args)),
            None => (spec, None),
        };
        let name = normalize(name);
        let args: Vec<String> = args
            .map(|a| a.split(',').map(normalize).collect())
            .unwrap_or_default();
        let init = Init::from_name(&name, &args)
            .ok_or_else(|| InitError::UnknownName {
                name: spec.to_string(),
                valid: Init::valid_names(),
            })?
            .map_err(|why| InitError::BadSpec {
                spec: spec.to_string(),
                why,
            })?;
        crate::InitInfo::validate(&init)?;
        Ok(init)
    }
}

impl TryFrom<String> for Init {
    type Error = InitError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Init> for String {
    fn from(init: Init) -> String {
        init.to_string()
    }
}

/// Lower case, trimmed, `-` for `_`.
fn normalize(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace('_', "-")
}

// Helpers for the entries' `from_args` and `args`.

/// Exactly `defaults.len()` numbers, or (unless `required`) none, giving the defaults.
pub(crate) fn numbers(
    args: &[String],
    defaults: &[f64],
    required: bool,
) -> Result<Vec<f64>, String> {
    let n = defaults.len();
    if args.is_empty() && !required {
        return Ok(defaults.to_vec());
    }
    if args.len() != n {
        return Err(format!(
            "expected {n} comma-separated numbers, got {}",
            args.len()
        ));
    }
    args.iter().map(|a| number(a)).collect()
}

/// One number.
pub(crate) fn number(a: &str) -> Result<f64, String> {
    a.parse::<f64>()
        .map_err(|_| format!("{a:?} is not a number"))
}

/// No parameters at all.
pub(crate) fn no_args(name: &str, args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(format!("{name} takes no parameters"))
    }
}

/// Printed numbers: Rust's shortest form that reads back to the same `f64`.
pub(crate) fn print(numbers: &[f64]) -> Vec<String> {
    numbers.iter().map(f64::to_string).collect()
}

/// A gain of 1 is the default and is not printed.
pub(crate) fn print_gain(gain: f64) -> Vec<String> {
    if gain == 1.0 {
        Vec::new()
    } else {
        print(&[gain])
    }
}

/// A Kaiming initializer's parameters, in any order: `fan-in`/`fan-out` and a
/// nonlinearity (default `relu`, `fan-in`).
pub(crate) fn kaiming_args(args: &[String]) -> Result<(Nonlinearity, FanMode), String> {
    let (mut nonlinearity, mut mode) = (Nonlinearity::Relu, FanMode::FanIn);
    for a in args {
        match FanMode::from_name(a) {
            Some(m @ (FanMode::FanIn | FanMode::FanOut)) => mode = m,
            Some(FanMode::FanAvg) | None => {
                nonlinearity = Nonlinearity::from_name(a).ok_or_else(|| {
                    format!(
                        "{a:?} is neither fan-in/fan-out nor a nonlinearity (relu, \
                         leaky-relu[=SLOPE], linear, sigmoid, tanh, selu)"
                    )
                })?
            }
        }
    }
    Ok((nonlinearity, mode))
}

/// The parameters a Kaiming initializer prints: none for the default ReLU with fan-in.
pub(crate) fn print_kaiming(nonlinearity: Nonlinearity, mode: FanMode) -> Vec<String> {
    if nonlinearity == Nonlinearity::Relu && mode == FanMode::FanIn {
        Vec::new()
    } else {
        vec![mode.name().to_string(), nonlinearity.name()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::INIT_NAMES;

    /// Each initializer has one usage, starting with its canonical name; no name or alias
    /// is claimed twice; every name is kebab-case.
    #[test]
    fn usages_and_names_are_consistent() {
        let mut canonical: Vec<&str> = Init::examples().iter().map(Init::name).collect();
        canonical.dedup();
        let usage_names: Vec<&str> = INIT_NAMES
            .iter()
            .map(|u| u.split(['[', ':']).next().unwrap_or(u))
            .collect();
        assert_eq!(canonical, usage_names);
        let mut every = Init::every_name();
        assert!(
            every.iter().all(|n| n
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')),
            "{every:?}"
        );
        let count = every.len();
        every.sort_unstable();
        every.dedup();
        assert_eq!(every.len(), count, "a name is claimed twice");
    }

    /// Every example is valid and prints a string that parses back to it.
    #[test]
    fn every_example_round_trips() {
        for init in Init::examples() {
            assert_eq!(crate::InitInfo::validate(&init), Ok(()), "{init}");
            assert_eq!(init.to_string().parse::<Init>(), Ok(init));
        }
    }
}
