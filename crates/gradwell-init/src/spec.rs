//! [`Init`]: every initializer by name, with its parameters, serializable and parseable.

use std::fmt;
use std::str::FromStr;

use ndarray::ArrayViewMutD;
use num_traits::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{
    Constant, Distribution, Eye, FanMode, InitError, Initializer, Layout, Nonlinearity, Normal,
    Orthogonal, TruncatedNormal, Uniform, VarianceScaling, calculate_gain,
};

/// Every initializer, named, with its parameters: what a model description or a command
/// line stores. Serializes with serde (internally tagged, e.g.
/// `{"init":"xavier-uniform","gain":1.0}`) and parses from, and prints as, short strings:
///
/// | string | initializer |
/// |---|---|
/// | `zeros`, `ones`, `constant:V` | [`Constant`] |
/// | `uniform[:LOW,HIGH]` (default 0,1) | [`Uniform`] |
/// | `normal[:MEAN,STD]` (default 0,1) | [`Normal`] |
/// | `trunc-normal[:MEAN,STD,A,B]` (default 0,1,−2,2) | [`TruncatedNormal`] (absolute bounds) |
/// | `xavier-normal[:GAIN]`, `xavier-uniform[:GAIN]` | [`VarianceScaling::xavier_normal`], [`VarianceScaling::xavier_uniform`] |
/// | `he-normal[:ARGS]`, `he-uniform[:ARGS]` (alias `kaiming-…`) | [`VarianceScaling::kaiming_normal`], [`VarianceScaling::kaiming_uniform`]; ARGS, comma-separated, any of `fan-in`/`fan-out` and a nonlinearity `relu`, `leaky-relu[=SLOPE]`, `linear`, `sigmoid`, `tanh`, `selu` (default `relu,fan-in`) |
/// | `lecun-normal`, `lecun-uniform` | [`VarianceScaling::lecun_normal`], [`VarianceScaling::lecun_uniform`] |
/// | `keras-he-normal` | [`VarianceScaling::keras_he_normal`] |
/// | `pytorch-default` | [`VarianceScaling::pytorch_default`] |
/// | `variance-scaling:SCALE,MODE,DIST[,LAYOUT]` | [`VarianceScaling`]; MODE `fan-in`/`fan-out`/`fan-avg`, DIST `normal`/`truncated-normal`/`uniform`, LAYOUT `pytorch`/`keras` |
/// | `orthogonal[:GAIN]` | [`Orthogonal`] |
/// | `eye` | [`Eye`] |
///
/// Names are case-insensitive and `_` may stand for `-`. Every variant except
/// `VarianceScaling` reads shapes in PyTorch's layout.
///
/// ```
/// use gradwell_init::{Init, Initializer};
/// use rand::SeedableRng;
///
/// let init: Init = "he-normal".parse()?;
/// assert_eq!(init.to_string(), "he-normal");
/// assert_eq!("constant:0.5".parse::<Init>()?, Init::Constant { value: 0.5 });
/// let err = "he-norml".parse::<Init>().unwrap_err().to_string();
/// assert!(err.contains("valid names") && err.contains("xavier-uniform"));
///
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let w: ndarray::ArrayD<f32> = init.sample(&[128, 784], &mut rng)?;
/// assert_eq!(w.len(), 128 * 784);
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "init", rename_all = "kebab-case")]
pub enum Init {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// Every element `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// U[low, high].
    Uniform {
        /// The lower bound.
        low: f64,
        /// The upper bound.
        high: f64,
    },
    /// N(mean, std²).
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
    /// N(mean, std²) restricted to [a, b], PyTorch's `trunc_normal_`.
    TruncNormal {
        /// The mean before truncation.
        mean: f64,
        /// The standard deviation before truncation.
        std: f64,
        /// The lower bound (absolute).
        a: f64,
        /// The upper bound (absolute).
        b: f64,
    },
    /// Xavier/Glorot normal, untruncated.
    XavierNormal {
        /// The gain (see [`calculate_gain`]).
        gain: f64,
    },
    /// Xavier/Glorot uniform.
    XavierUniform {
        /// The gain (see [`calculate_gain`]).
        gain: f64,
    },
    /// He/Kaiming normal, untruncated, as PyTorch's `kaiming_normal_`.
    HeNormal {
        /// The nonlinearity whose gain is used.
        nonlinearity: Nonlinearity,
        /// The fan divided by.
        mode: FanMode,
    },
    /// He/Kaiming uniform, as PyTorch's `kaiming_uniform_`.
    HeUniform {
        /// The nonlinearity whose gain is used.
        nonlinearity: Nonlinearity,
        /// The fan divided by.
        mode: FanMode,
    },
    /// LeCun normal (variance 1/fan_in), untruncated.
    LecunNormal,
    /// LeCun uniform.
    LecunUniform,
    /// Keras's `HeNormal`: truncated at 2σ and corrected to variance 2/fan_in.
    KerasHeNormal,
    /// PyTorch's default `nn.Linear`/`nn.ConvNd` weight init, U(±1/√fan_in).
    PytorchDefault,
    /// Variance scaling with explicit parameters.
    VarianceScaling(VarianceScaling),
    /// (Semi-)orthogonal times a gain.
    Orthogonal {
        /// The gain.
        gain: f64,
    },
    /// The identity matrix.
    Eye,
}

/// Every name [`Init`] parses (aliases aside), in the order the error message lists them.
pub const INIT_NAMES: &[&str] = &[
    "zeros",
    "ones",
    "constant:V",
    "uniform[:LOW,HIGH]",
    "normal[:MEAN,STD]",
    "trunc-normal[:MEAN,STD,A,B]",
    "xavier-normal[:GAIN]",
    "xavier-uniform[:GAIN]",
    "he-normal[:MODE,NONLINEARITY]",
    "he-uniform[:MODE,NONLINEARITY]",
    "lecun-normal",
    "lecun-uniform",
    "keras-he-normal",
    "pytorch-default",
    "variance-scaling:SCALE,MODE,DIST[,LAYOUT]",
    "orthogonal[:GAIN]",
    "eye",
];

impl Init {
    /// He normal for ReLU (`kaiming_normal_(w, nonlinearity='relu')`).
    pub const HE_NORMAL: Init = Init::HeNormal {
        nonlinearity: Nonlinearity::Relu,
        mode: FanMode::FanIn,
    };

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
    /// use gradwell_init::{Init, Nonlinearity};
    /// assert_eq!(Init::suited_to(Nonlinearity::Relu), Init::HE_NORMAL);
    /// assert_eq!(Init::suited_to(Nonlinearity::Tanh), Init::XavierUniform { gain: 5.0 / 3.0 });
    /// assert_eq!(Init::suited_to(Nonlinearity::Selu), Init::LecunNormal);
    /// ```
    pub fn suited_to(nonlinearity: Nonlinearity) -> Init {
        match nonlinearity {
            Nonlinearity::Relu | Nonlinearity::LeakyRelu(_) => Init::HeNormal {
                nonlinearity,
                mode: FanMode::FanIn,
            },
            Nonlinearity::Tanh | Nonlinearity::Sigmoid | Nonlinearity::Linear => {
                Init::XavierUniform {
                    gain: calculate_gain(nonlinearity),
                }
            }
            Nonlinearity::Selu => Init::LecunNormal,
        }
    }

    /// The variance-scaling form of a fan-based initializer (Xavier, He, LeCun, the Keras
    /// and PyTorch defaults); `None` for the others.
    pub fn variance_scaling(&self) -> Option<VarianceScaling> {
        Some(match *self {
            Init::XavierNormal { gain } => VarianceScaling::xavier_normal(gain),
            Init::XavierUniform { gain } => VarianceScaling::xavier_uniform(gain),
            Init::HeNormal { nonlinearity, mode } => {
                VarianceScaling::kaiming_normal(nonlinearity, mode)
            }
            Init::HeUniform { nonlinearity, mode } => {
                VarianceScaling::kaiming_uniform(nonlinearity, mode)
            }
            Init::LecunNormal => VarianceScaling::lecun_normal(),
            Init::LecunUniform => VarianceScaling::lecun_uniform(),
            Init::KerasHeNormal => VarianceScaling::keras_he_normal(),
            Init::PytorchDefault => VarianceScaling::pytorch_default(),
            Init::VarianceScaling(vs) => vs,
            _ => return None,
        })
    }
}

impl<F: Float> Initializer<F> for Init {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) -> Result<(), InitError> {
        if let Some(vs) = self.variance_scaling() {
            return vs.fill(a, rng);
        }
        match *self {
            Init::Zeros => Constant::ZEROS.fill(a, rng),
            Init::Ones => Constant::ONES.fill(a, rng),
            Init::Constant { value } => Constant { value }.fill(a, rng),
            Init::Uniform { low, high } => Uniform { low, high }.fill(a, rng),
            Init::Normal { mean, std } => Normal { mean, std }.fill(a, rng),
            Init::TruncNormal {
                mean,
                std,
                a: lo,
                b: hi,
            } => TruncatedNormal {
                mean,
                std,
                a: lo,
                b: hi,
            }
            .fill(a, rng),
            Init::Orthogonal { gain } => Orthogonal { gain }.fill(a, rng),
            Init::Eye => Eye.fill(a, rng),
            // Every fan-based variant returned above.
            _ => Ok(()),
        }
    }
}

fn nonlinearity_name(nl: Nonlinearity) -> String {
    match nl {
        Nonlinearity::Linear => "linear".into(),
        Nonlinearity::Sigmoid => "sigmoid".into(),
        Nonlinearity::Tanh => "tanh".into(),
        Nonlinearity::Relu => "relu".into(),
        Nonlinearity::LeakyRelu(slope) => format!("leaky-relu={slope}"),
        Nonlinearity::Selu => "selu".into(),
    }
}

fn parse_nonlinearity(s: &str) -> Option<Nonlinearity> {
    Some(match s {
        "linear" => Nonlinearity::Linear,
        "sigmoid" => Nonlinearity::Sigmoid,
        "tanh" => Nonlinearity::Tanh,
        "relu" => Nonlinearity::Relu,
        "selu" => Nonlinearity::Selu,
        "leaky-relu" => Nonlinearity::LeakyRelu(Nonlinearity::DEFAULT_LEAKY_SLOPE),
        _ => Nonlinearity::LeakyRelu(s.strip_prefix("leaky-relu=")?.parse().ok()?),
    })
}

fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::PyTorch => "pytorch",
        Layout::Keras => "keras",
    }
}

impl fmt::Display for Init {
    /// The canonical string, which [`Init::from_str`] parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gain_suffix = |gain: f64| {
            if gain == 1.0 {
                String::new()
            } else {
                format!(":{gain}")
            }
        };
        let kaiming = |name: &str, nl: Nonlinearity, mode: FanMode| {
            if nl == Nonlinearity::Relu && mode == FanMode::FanIn {
                name.to_string()
            } else {
                format!("{name}:{},{}", mode.name(), nonlinearity_name(nl))
            }
        };
        let s = match *self {
            Init::Zeros => "zeros".into(),
            Init::Ones => "ones".into(),
            Init::Constant { value } => format!("constant:{value}"),
            Init::Uniform { low, high } => format!("uniform:{low},{high}"),
            Init::Normal { mean, std } => format!("normal:{mean},{std}"),
            Init::TruncNormal { mean, std, a, b } => format!("trunc-normal:{mean},{std},{a},{b}"),
            Init::XavierNormal { gain } => format!("xavier-normal{}", gain_suffix(gain)),
            Init::XavierUniform { gain } => format!("xavier-uniform{}", gain_suffix(gain)),
            Init::HeNormal { nonlinearity, mode } => kaiming("he-normal", nonlinearity, mode),
            Init::HeUniform { nonlinearity, mode } => kaiming("he-uniform", nonlinearity, mode),
            Init::LecunNormal => "lecun-normal".into(),
            Init::LecunUniform => "lecun-uniform".into(),
            Init::KerasHeNormal => "keras-he-normal".into(),
            Init::PytorchDefault => "pytorch-default".into(),
            Init::VarianceScaling(vs) => format!(
                "variance-scaling:{},{},{},{}",
                vs.scale,
                vs.mode.name(),
                vs.distribution.name(),
                layout_name(vs.layout)
            ),
            Init::Orthogonal { gain } => format!("orthogonal{}", gain_suffix(gain)),
            Init::Eye => "eye".into(),
        };
        f.write_str(&s)
    }
}

impl FromStr for Init {
    type Err = InitError;

    fn from_str(spec: &str) -> Result<Init, InitError> {
        let (name, args) = match spec.split_once(':') {
            Some((name, args)) => (name, Some(args)),
            None => (spec, None),
        };
        let name = name.trim().to_ascii_lowercase().replace('_', "-");
        let args: Vec<String> = args
            .map(|a| {
                a.split(',')
                    .map(|x| x.trim().to_ascii_lowercase().replace('_', "-"))
                    .collect()
            })
            .unwrap_or_default();
        let bad = |why: String| InitError::BadSpec {
            spec: spec.to_string(),
            why,
        };
        // Exactly `N` numbers (or none, giving the defaults).
        let numbers = |defaults: &[f64], required: bool| -> Result<Vec<f64>, InitError> {
            let n = defaults.len();
            if args.is_empty() && !required {
                return Ok(defaults.to_vec());
            }
            if args.len() != n {
                return Err(bad(format!(
                    "expected {n} comma-separated numbers, got {}",
                    args.len()
                )));
            }
            args.iter()
                .map(|a| {
                    a.parse::<f64>()
                        .map_err(|_| bad(format!("{a:?} is not a number")))
                })
                .collect()
        };
        let no_args = |init: Init| {
            if args.is_empty() {
                Ok(init)
            } else {
                Err(bad(format!("{name} takes no parameters")))
            }
        };
        let kaiming = |normal: bool| -> Result<Init, InitError> {
            let (mut nonlinearity, mut mode) = (Nonlinearity::Relu, FanMode::FanIn);
            for a in &args {
                match a.as_str() {
                    "fan-in" => mode = FanMode::FanIn,
                    "fan-out" => mode = FanMode::FanOut,
                    other => {
                        nonlinearity = parse_nonlinearity(other).ok_or_else(|| {
                            bad(format!(
                                "{other:?} is neither fan-in/fan-out nor a nonlinearity (relu, \
                                 leaky-relu[=SLOPE], linear, sigmoid, tanh, selu)"
                            ))
                        })?
                    }
                }
            }
            Ok(if normal {
                Init::HeNormal { nonlinearity, mode }
            } else {
                Init::HeUniform { nonlinearity, mode }
            })
        };
        match name.as_str() {
            "zeros" | "zero" => no_args(Init::Zeros),
            "ones" | "one" => no_args(Init::Ones),
            "constant" => Ok(Init::Constant {
                value: numbers(&[0.0], true)?[0],
            }),
            "uniform" => {
                let p = numbers(&[0.0, 1.0], false)?;
                Ok(Init::Uniform {
                    low: p[0],
                    high: p[1],
                })
            }
            "normal" => {
                let p = numbers(&[0.0, 1.0], false)?;
                Ok(Init::Normal {
                    mean: p[0],
                    std: p[1],
                })
            }
            "trunc-normal" => {
                let d = TruncatedNormal::default();
                let p = numbers(&[d.mean, d.std, d.a, d.b], false)?;
                Ok(Init::TruncNormal {
                    mean: p[0],
                    std: p[1],
                    a: p[2],
                    b: p[3],
                })
            }
            "xavier-normal" => Ok(Init::XavierNormal {
                gain: numbers(&[1.0], false)?[0],
            }),
            "xavier-uniform" => Ok(Init::XavierUniform {
                gain: numbers(&[1.0], false)?[0],
            }),
            "he-normal" | "kaiming-normal" => kaiming(true),
            "he-uniform" | "kaiming-uniform" => kaiming(false),
            "lecun-normal" => no_args(Init::LecunNormal),
            "lecun-uniform" => no_args(Init::LecunUniform),
            "keras-he-normal" => no_args(Init::KerasHeNormal),
            "pytorch-default" => no_args(Init::PytorchDefault),
            "variance-scaling" => parse_variance_scaling(&args).map_err(bad),
            "orthogonal" => Ok(Init::Orthogonal {
                gain: numbers(&[1.0], false)?[0],
            }),
            "eye" => no_args(Init::Eye),
            _ => Err(InitError::UnknownName {
                name: spec.to_string(),
                valid: INIT_NAMES.join(", "),
            }),
        }
    }
}

fn parse_variance_scaling(args: &[String]) -> Result<Init, String> {
    let usage = "expected SCALE,MODE,DIST[,LAYOUT] with MODE fan-in|fan-out|fan-avg, DIST \
                 normal|truncated-normal|uniform, LAYOUT pytorch|keras";
    if !(3..=4).contains(&args.len()) {
        return Err(usage.to_string());
    }
    let scale = args[0]
        .parse::<f64>()
        .map_err(|_| format!("{:?} is not a number; {usage}", args[0]))?;
    let mode = match args[1].as_str() {
        "fan-in" => FanMode::FanIn,
        "fan-out" => FanMode::FanOut,
        "fan-avg" => FanMode::FanAvg,
        other => return Err(format!("{other:?} is not a fan mode; {usage}")),
    };
    let distribution = match args[2].as_str() {
        "normal" => Distribution::Normal,
        "truncated-normal" => Distribution::TruncatedNormal,
        "uniform" => Distribution::Uniform,
        other => return Err(format!("{other:?} is not a distribution; {usage}")),
    };
    let layout = match args.get(3).map(String::as_str) {
        None | Some("pytorch") => Layout::PyTorch,
        Some("keras") => Layout::Keras,
        Some(other) => return Err(format!("{other:?} is not a layout; {usage}")),
    };
    Ok(Init::VarianceScaling(VarianceScaling {
        scale,
        mode,
        distribution,
        layout,
    }))
}
