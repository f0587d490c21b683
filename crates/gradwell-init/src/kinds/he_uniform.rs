//! `he-uniform[:MODE,NONLINEARITY]`: Kaiming uniform, PyTorch's `kaiming_uniform_`.

use crate::registry::{Drawn, Entry, kaiming_args, print_kaiming};
use crate::{FanMode, InitError, Law, Nonlinearity, VarianceScaling};

/// He/Kaiming uniform as PyTorch's `kaiming_uniform_(w, a, mode, nonlinearity)`:
/// U(±gain·√(3/fan)). Written as [`HeNormal`](crate::HeNormal) is (alias
/// `kaiming-uniform`); the default, `fan-in,relu`, is Keras's `HeUniform`, U(±√(6/fan_in)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeUniform {
    /// The nonlinearity whose gain is used.
    pub nonlinearity: Nonlinearity,
    /// The fan divided by: fan-in or fan-out.
    pub mode: FanMode,
}

impl HeUniform {
    /// As variance scaling.
    pub fn scaling(&self) -> VarianceScaling {
        VarianceScaling::kaiming_uniform(self.nonlinearity, self.mode)
    }
}

impl Drawn for HeUniform {
    fn check(&self) -> Result<(), InitError> {
        self.scaling().check()
    }
    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError> {
        self.scaling().law_for(shape)
    }
}

impl Entry for HeUniform {
    const NAMES: &'static [&'static str] = &["he-uniform", "kaiming-uniform"];
    const USAGE: &'static str = "he-uniform[:MODE,NONLINEARITY]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        let (nonlinearity, mode) = kaiming_args(args)?;
        Ok(HeUniform { nonlinearity, mode })
    }
    fn args(&self) -> Vec<String> {
        print_kaiming(self.nonlinearity, self.mode)
    }
    fn examples() -> Vec<Self> {
        vec![
            HeUniform {
                nonlinearity: Nonlinearity::Relu,
                mode: FanMode::FanIn,
            },
            HeUniform {
                nonlinearity: Nonlinearity::LeakyRelu(0.2),
                mode: FanMode::FanOut,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_is_hes_formula() {
        // [128, 784]: U(±√(6/784)); leaky ReLU 0.2 by fan-out: gain² = 2/1.04, U(±√(3·gain²/128)).
        let bound = |nonlinearity, mode| match (HeUniform { nonlinearity, mode })
            .law_for(&[128, 784])
            .unwrap()
        {
            Law::Uniform { low, high } if low == -high => high,
            other => panic!("{other:?}"),
        };
        let close = |x: f64, y: f64| (x / y - 1.0).abs() < 1e-15;
        assert!(close(
            bound(Nonlinearity::Relu, FanMode::FanIn),
            (6.0_f64 / 784.0).sqrt()
        ));
        assert!(close(
            bound(Nonlinearity::LeakyRelu(0.2), FanMode::FanOut),
            (3.0 * 2.0 / 1.04 / 128.0_f64).sqrt()
        ));
    }
}
