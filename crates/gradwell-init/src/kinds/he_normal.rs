//! `he-normal[:MODE,NONLINEARITY]`: Kaiming normal, PyTorch's `kaiming_normal_`.

use crate::registry::{Drawn, Entry, kaiming_args, print_kaiming};
use crate::{FanMode, InitError, Law, Nonlinearity, VarianceScaling};

/// He/Kaiming normal as PyTorch's `kaiming_normal_(w, a, mode, nonlinearity)`, untruncated:
/// N(0, gain²/fan) with gain = [`calculate_gain`](crate::calculate_gain)`(nonlinearity)`
/// (`leaky-relu=A` for PyTorch's `a`) and the fan `mode` selects. Written
/// `he-normal[:MODE,NONLINEARITY]` (alias `kaiming-normal`), the two in any order, default
/// `fan-in,relu`: N(0, 2/fan_in). Keras's `HeNormal` is [`KerasHeNormal`](crate::KerasHeNormal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeNormal {
    /// The nonlinearity whose gain is used.
    pub nonlinearity: Nonlinearity,
    /// The fan divided by: fan-in or fan-out.
    pub mode: FanMode,
}

impl HeNormal {
    /// As variance scaling.
    pub fn scaling(&self) -> VarianceScaling {
        VarianceScaling::kaiming_normal(self.nonlinearity, self.mode)
    }
}

impl Drawn for HeNormal {
    fn check(&self) -> Result<(), InitError> {
        self.scaling().check()
    }
    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError> {
        self.scaling().law_for(shape)
    }
}

impl Entry for HeNormal {
    const NAMES: &'static [&'static str] = &["he-normal", "kaiming-normal"];
    const USAGE: &'static str = "he-normal[:MODE,NONLINEARITY]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        let (nonlinearity, mode) = kaiming_args(args)?;
        Ok(HeNormal { nonlinearity, mode })
    }
    fn args(&self) -> Vec<String> {
        print_kaiming(self.nonlinearity, self.mode)
    }
    fn examples() -> Vec<Self> {
        vec![
            HeNormal {
                nonlinearity: Nonlinearity::Relu,
                mode: FanMode::FanIn,
            },
            HeNormal {
                nonlinearity: Nonlinearity::Relu,
                mode: FanMode::FanOut,
            },
            HeNormal {
                nonlinearity: Nonlinearity::Tanh,
                mode: FanMode::FanIn,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_is_hes_formula() {
        // nn.Linear(784, 128): weight [128, 784]; N(0, 2/784), or 2/128 by fan-out, or
        // (5/3)²/784 for tanh.
        let variance = |nonlinearity, mode| match (HeNormal { nonlinearity, mode })
            .law_for(&[128, 784])
            .unwrap()
        {
            Law::Normal { mean: 0.0, std } => std * std,
            other => panic!("{other:?}"),
        };
        let close = |x: f64, y: f64| (x / y - 1.0).abs() < 1e-15;
        assert!(close(
            variance(Nonlinearity::Relu, FanMode::FanIn),
            2.0 / 784.0
        ));
        assert!(close(
            variance(Nonlinearity::Relu, FanMode::FanOut),
            2.0 / 128.0
        ));
        assert!(close(
            variance(Nonlinearity::Tanh, FanMode::FanIn),
            25.0 / 9.0 / 784.0
        ));
    }
}
