use serde::{Deserialize, Serialize};

use crate::InitError;

/// A nonlinearity as PyTorch's `torch.nn.init.calculate_gain` names it: the family an
/// initializer's gain is chosen for.
///
/// The gain is the factor by which an initializer's standard deviation is multiplied so
/// that a layer followed by this nonlinearity keeps the variance of its signal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nonlinearity {
    /// The identity, and every linear or convolution layer on its own: gain 1.
    Linear,
    /// The logistic sigmoid: gain 1 (PyTorch's value).
    Sigmoid,
    /// The hyperbolic tangent: gain 5/3.
    Tanh,
    /// The rectifier: gain √2, because it zeroes half of a symmetric input.
    Relu,
    /// The leaky rectifier with this negative slope: gain √(2/(1+slope²)).
    LeakyRelu(f64),
    /// SELU: gain 3/4, PyTorch's empirical value (pytorch/pytorch PR #50664). PyTorch's docs
    /// advise `Linear` (LeCun init) for self-normalizing networks instead.
    Selu,
}

impl Nonlinearity {
    /// PyTorch's default negative slope of the leaky rectifier when none is given.
    pub const DEFAULT_LEAKY_SLOPE: f64 = 0.01;

    /// The kebab-case name used in initializer strings: `linear`, `sigmoid`, `tanh`,
    /// `relu`, `leaky-relu=SLOPE`, `selu`.
    pub fn name(self) -> String {
        match self {
            Nonlinearity::Linear => "linear".into(),
            Nonlinearity::Sigmoid => "sigmoid".into(),
            Nonlinearity::Tanh => "tanh".into(),
            Nonlinearity::Relu => "relu".into(),
            Nonlinearity::LeakyRelu(slope) => format!("leaky-relu={slope}"),
            Nonlinearity::Selu => "selu".into(),
        }
    }

    /// The nonlinearity of this kebab-case name; `leaky-relu` alone has PyTorch's default
    /// slope.
    pub fn from_name(name: &str) -> Option<Nonlinearity> {
        if name == "leaky-relu" {
            return Some(Nonlinearity::LeakyRelu(Self::DEFAULT_LEAKY_SLOPE));
        }
        if let Some(slope) = name.strip_prefix("leaky-relu=") {
            return slope.parse().ok().map(Nonlinearity::LeakyRelu);
        }
        [
            Nonlinearity::Linear,
            Nonlinearity::Sigmoid,
            Nonlinearity::Tanh,
            Nonlinearity::Relu,
            Nonlinearity::Selu,
        ]
        .into_iter()
        .find(|n| n.name() == name)
    }
}

/// The optional parameter of [`calculate_gain_named`], as Python would pass it to
/// `torch.nn.init.calculate_gain(nonlinearity, param)`: PyTorch reads it only for
/// `'leaky_relu'`, where an integer or a float is the negative slope and anything else is
/// refused — a bool too, though Python counts `True` and `False` as integers.
///
/// ```
/// use gradwell_init::GainParam;
/// assert_eq!(GainParam::from(0.2), GainParam::Float(0.2));
/// assert_eq!(GainParam::from(3_i64), GainParam::Int(3));
/// assert_eq!(GainParam::from(true), GainParam::Bool(true));
/// assert_eq!(GainParam::from("0.2"), GainParam::Other("0.2".into()));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum GainParam {
    /// A Python `int` (not a bool). Converted to `f64` before it is squared: exact, and
    /// equal to PyTorch's integer arithmetic, for |slope| ≤ 2²⁶.
    Int(i64),
    /// A Python `float`, NaN and infinities included (PyTorch computes with them).
    Float(f64),
    /// A Python `bool`: refused as a slope.
    Bool(bool),
    /// Any other Python value, as `str()` prints it (a string, a list, …): refused as a
    /// slope.
    Other(String),
}

impl From<f64> for GainParam {
    fn from(x: f64) -> Self {
        GainParam::Float(x)
    }
}

impl From<i64> for GainParam {
    fn from(i: i64) -> Self {
        GainParam::Int(i)
    }
}

impl From<bool> for GainParam {
    fn from(b: bool) -> Self {
        GainParam::Bool(b)
    }
}

impl From<&str> for GainParam {
    fn from(s: &str) -> Self {
        GainParam::Other(s.to_string())
    }
}

impl GainParam {
    /// The value as Python's `str()` prints it, for the errors (`True`, `False`, the text
    /// of any other value; numbers are never refused, so they are not printed).
    fn python_str(&self) -> String {
        match self {
            GainParam::Int(i) => i.to_string(),
            GainParam::Float(x) => x.to_string(),
            GainParam::Bool(true) => "True".into(),
            GainParam::Bool(false) => "False".into(),
            GainParam::Other(s) => s.clone(),
        }
    }
}

/// PyTorch's names of `calculate_gain`'s linear family: the identity and every convolution,
/// all of gain 1.
const TORCH_LINEAR_NAMES: [&str; 7] = [
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
];

impl Nonlinearity {
    /// The nonlinearity that PyTorch's `calculate_gain(nonlinearity, param)` means by these
    /// arguments, with PyTorch's checks and messages (`torch/nn/init.py`):
    ///
    /// | `nonlinearity` | nonlinearity |
    /// |---|---|
    /// | `linear`, `conv1d`, `conv2d`, `conv3d`, `conv_transpose1d`, `conv_transpose2d`, `conv_transpose3d` | [`Linear`](Nonlinearity::Linear) |
    /// | `sigmoid`, `tanh`, `relu`, `selu` | the one of that name |
    /// | `leaky_relu` | [`LeakyRelu`](Nonlinearity::LeakyRelu) with `param` as the slope, 0.01 when it is `None` |
    ///
    /// These are PyTorch's spellings (snake case, case-sensitive: `ReLU` and `leaky-relu`
    /// are refused, as PyTorch refuses them), distinct from gradwell's own kebab-case names
    /// ([`Nonlinearity::name`], `leaky-relu=0.2`), which initializer strings use. `param`
    /// is read only for `leaky_relu`, as PyTorch reads it.
    ///
    /// # Errors
    /// [`InitError::UnsupportedNonlinearity`] for any other name ("Unsupported
    /// nonlinearity {name}"); [`InitError::InvalidNegativeSlope`] for a `leaky_relu` slope
    /// that is a bool or not a number ("negative_slope {param} not a valid number").
    ///
    /// ```
    /// use gradwell_init::{GainParam, Nonlinearity};
    /// assert_eq!(Nonlinearity::from_torch("conv_transpose2d", None)?, Nonlinearity::Linear);
    /// assert_eq!(Nonlinearity::from_torch("leaky_relu", None)?, Nonlinearity::LeakyRelu(0.01));
    /// let err = Nonlinearity::from_torch("leaky_relu", Some(GainParam::Bool(true))).unwrap_err();
    /// assert_eq!(err.to_string(), "negative_slope True not a valid number");
    /// let err = Nonlinearity::from_torch("ReLU", None).unwrap_err();
    /// assert_eq!(err.to_string(), "Unsupported nonlinearity ReLU");
    /// # Ok::<(), gradwell_init::InitError>(())
    /// ```
    pub fn from_torch(name: &str, param: Option<GainParam>) -> Result<Nonlinearity, InitError> {
        if TORCH_LINEAR_NAMES.contains(&name) {
            return Ok(Nonlinearity::Linear);
        }
        Ok(match name {
            "sigmoid" => Nonlinearity::Sigmoid,
            "tanh" => Nonlinearity::Tanh,
            "relu" => Nonlinearity::Relu,
            "selu" => Nonlinearity::Selu,
            "leaky_relu" => Nonlinearity::LeakyRelu(match param {
                None => Self::DEFAULT_LEAKY_SLOPE,
                Some(GainParam::Int(i)) => i as f64,
                Some(GainParam::Float(x)) => x,
                Some(bad @ (GainParam::Bool(_) | GainParam::Other(_))) => {
                    return Err(InitError::InvalidNegativeSlope {
                        param: bad.python_str(),
                    });
                }
            }),
            other => {
                return Err(InitError::UnsupportedNonlinearity {
                    name: other.to_string(),
                });
            }
        })
    }
}

/// PyTorch's `torch.nn.init.calculate_gain(nonlinearity, param)` by its own string names:
/// [`calculate_gain`] of [`Nonlinearity::from_torch`]`(nonlinearity, param)`, so the gains
/// are written once. The names are PyTorch's, case-sensitive (`'leaky_relu'`, not
/// gradwell's `leaky-relu`); the values are PyTorch's floats to the last bit (the fixture
/// `fixtures/init.json`, recorded from PyTorch, holds every name and several slopes).
///
/// # Errors
/// As [`Nonlinearity::from_torch`], with PyTorch's messages.
///
/// ```
/// use gradwell_init::{GainParam, calculate_gain_named};
/// assert_eq!(calculate_gain_named("conv3d", None)?, 1.0);
/// assert_eq!(calculate_gain_named("tanh", None)?, 5.0 / 3.0);
/// assert_eq!(calculate_gain_named("leaky_relu", Some(GainParam::Float(0.2)))?, 1.3867504905630728);
/// // A missing slope is PyTorch's 0.01.
/// assert_eq!(calculate_gain_named("leaky_relu", None)?, 1.4141428569978354);
/// let err = calculate_gain_named("gelu", None).unwrap_err();
/// assert_eq!(err.to_string(), "Unsupported nonlinearity gelu");
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
pub fn calculate_gain_named(
    nonlinearity: &str,
    param: Option<GainParam>,
) -> Result<f64, InitError> {
    Nonlinearity::from_torch(nonlinearity, param).map(calculate_gain)
}

/// The recommended gain for a nonlinearity, exactly as PyTorch's
/// `torch.nn.init.calculate_gain` returns it (`torch/nn/init.py`).
///
/// ```
/// use gradwell_init::{Nonlinearity, calculate_gain};
/// assert_eq!(calculate_gain(Nonlinearity::Tanh), 5.0 / 3.0);
/// assert_eq!(calculate_gain(Nonlinearity::Relu), 2.0_f64.sqrt());
/// assert_eq!(calculate_gain(Nonlinearity::LeakyRelu(0.2)), 1.3867504905630728);
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2.0_f64.sqrt(),
        Nonlinearity::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
        Nonlinearity::Selu => 0.75,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact floats PyTorch 2.15 returns (docs/parity.md#gains).
    #[allow(clippy::approx_constant)] // the literals are PyTorch's printed floats, on purpose
    #[test]
    fn gains_equal_pytorch_floats() {
        let cases = [
            (Nonlinearity::Linear, 1.0),
            (Nonlinearity::Sigmoid, 1.0),
            (Nonlinearity::Tanh, 1.6666666666666667),
            (Nonlinearity::Relu, 1.4142135623730951),
            (
                Nonlinearity::LeakyRelu(Nonlinearity::DEFAULT_LEAKY_SLOPE),
                1.4141428569978354,
            ),
            (Nonlinearity::LeakyRelu(0.0), 1.4142135623730951),
            (Nonlinearity::LeakyRelu(0.2), 1.3867504905630728),
            (Nonlinearity::LeakyRelu(5.0_f64.sqrt()), 0.5773502691896257),
            (Nonlinearity::LeakyRelu(10.0), 0.14071950894605836),
            (Nonlinearity::Selu, 0.75),
        ];
        for (nl, want) in cases {
            assert_eq!(calculate_gain(nl), want, "{nl:?}");
        }
    }
}
