//! `xavier-uniform[:GAIN]`: Glorot uniform, PyTorch's `xavier_uniform_`.

use crate::initializer::finite;
use crate::registry::{Drawn, Entry, numbers, print_gain};
use crate::{InitError, Law, VarianceScaling};

/// Xavier/Glorot uniform, PyTorch's `xavier_uniform_(w, gain)` (Keras's `GlorotUniform` for
/// gain 1): U(±gain·√(6/(fan_in + fan_out))).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XavierUniform {
    /// The gain (see [`calculate_gain`](crate::calculate_gain)); finite.
    pub gain: f64,
}

impl XavierUniform {
    /// As variance scaling.
    pub fn scaling(&self) -> VarianceScaling {
        VarianceScaling::xavier_uniform(self.gain)
    }
}

impl Drawn for XavierUniform {
    fn check(&self) -> Result<(), InitError> {
        finite("xavier-uniform", "gain", self.gain)?;
        self.scaling().check()
    }
    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError> {
        self.scaling().law_for(shape)
    }
}

impl Entry for XavierUniform {
    const NAMES: &'static [&'static str] = &["xavier-uniform"];
    const USAGE: &'static str = "xavier-uniform[:GAIN]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        Ok(XavierUniform {
            gain: numbers(args, &[1.0], false)?[0],
        })
    }
    fn args(&self) -> Vec<String> {
        print_gain(self.gain)
    }
    fn examples() -> Vec<Self> {
        // tanh's gain, 5/3.
        vec![
            XavierUniform { gain: 1.0 },
            XavierUniform { gain: 5.0 / 3.0 },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_is_glorots_formula() {
        // A conv weight [16, 8, 3, 3]: fans 72 and 144, bound gain·√(6/216).
        let gain = 5.0 / 3.0;
        let law = XavierUniform { gain }.law_for(&[16, 8, 3, 3]).unwrap();
        let Law::Uniform { low, high } = law else {
            panic!("{law:?}")
        };
        assert!((high / (gain * (6.0_f64 / 216.0).sqrt()) - 1.0).abs() < 1e-15);
        assert_eq!(low, -high);
    }
}
