use serde::{Deserialize, Serialize};

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
