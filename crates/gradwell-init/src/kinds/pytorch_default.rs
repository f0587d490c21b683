//! `pytorch-default`: the weight init of `nn.Linear` and `nn.ConvNd`.

use crate::registry::{Drawn, Entry, no_args};
use crate::{InitError, Law, VarianceScaling};

/// PyTorch's default for `nn.Linear` and `nn.ConvNd` weights, `kaiming_uniform_(w, a=√5)`:
/// gain 1/√3, so U(±1/√fan_in) and variance 1/(3·fan_in), a sixth of He's. Their biases'
/// default is [`PytorchDefaultBias`](crate::PytorchDefaultBias) (`pytorch-default-bias`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PytorchDefault;

impl Drawn for PytorchDefault {
    fn check(&self) -> Result<(), InitError> {
        Ok(())
    }
    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError> {
        VarianceScaling::pytorch_default().law_for(shape)
    }
}

impl Entry for PytorchDefault {
    const NAMES: &'static [&'static str] = &["pytorch-default"];
    const USAGE: &'static str = "pytorch-default";
    fn from_args(args: &[String]) -> Result<Self, String> {
        no_args(Self::NAMES[0], args).map(|()| PytorchDefault)
    }
    fn args(&self) -> Vec<String> {
        Vec::new()
    }
    fn examples() -> Vec<Self> {
        vec![PytorchDefault]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_is_u_of_one_over_root_fan_in() {
        let law = PytorchDefault.law_for(&[7, 50]).unwrap();
        let Law::Uniform { low, high } = law else {
            panic!("{law:?}")
        };
        assert!((high * 50.0_f64.sqrt() - 1.0).abs() < 1e-15 && low == -high);
    }
}
