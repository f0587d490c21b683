//! `xavier-normal[:GAIN]`: Glorot normal, PyTorch's `xavier_normal_`.

use crate::initializer::finite;
use crate::registry::{Drawn, Entry, numbers, print_gain};
use crate::{InitError, Law, VarianceScaling};

/// Xavier/Glorot normal, PyTorch's `xavier_normal_(w, gain)`, untruncated:
/// N(0, 2·gain²/(fan_in + fan_out)). Keras's `GlorotNormal` is the truncated form,
/// `variance-scaling:1,fan-avg,truncated-normal`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XavierNormal {
    /// The gain (see [`calculate_gain`](crate::calculate_gain)); finite.
    pub gain: f64,
}

impl XavierNormal {
    /// As variance scaling.
    pub fn scaling(&self) -> VarianceScaling {
        VarianceScaling::xavier_normal(self.gain)
    }
}

impl Drawn for XavierNormal {
    fn check(&self) -> Result<(), InitError> {
        finite("xavier-normal", "gain", self.gain)?;
        self.scaling().check()
    }
    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError> {
        self.scaling().law_for(shape)
    }
}

impl Entry for XavierNormal {
    const NAMES: &'static [&'static str] = &["xavier-normal"];
    const USAGE: &'static str = "xavier-normal[:GAIN]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        Ok(XavierNormal {
            gain: numbers(args, &[1.0], false)?[0],
        })
    }
    fn args(&self) -> Vec<String> {
        print_gain(self.gain)
    }
    fn examples() -> Vec<Self> {
        // A gain other than 1, where gain², gain·1 and gain/gain all differ.
        vec![XavierNormal { gain: 1.0 }, XavierNormal { gain: 0.6 }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_is_glorots_formula() {
        // nn.Linear(30, 10): weight [10, 30], variance 2·gain²/(30 + 10).
        for gain in [1.0, 0.6] {
            let law = XavierNormal { gain }.law_for(&[10, 30]).unwrap();
            let Law::Normal { mean, std } = law else {
                panic!("{law:?}")
            };
            assert_eq!(mean, 0.0);
            assert!((std * std / (2.0 * gain * gain / 40.0) - 1.0).abs() < 1e-15);
        }
    }
}
