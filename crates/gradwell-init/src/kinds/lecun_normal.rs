//! `lecun-normal`: N(0, 1/fan_in), PyTorch's form.

use crate::registry::{Drawn, Entry, no_args};
use crate::{InitError, Law, VarianceScaling};

/// LeCun normal, PyTorch's form (`kaiming_normal_(w, nonlinearity='linear')`):
/// N(0, 1/fan_in), untruncated. Keras's `LecunNormal` is the truncated variant,
/// `variance-scaling:1,fan-in,truncated-normal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LecunNormal;

impl Drawn for LecunNormal {
    fn check(&self) -> Result<(), InitError> {
        Ok(())
    }
    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError> {
        VarianceScaling::lecun_normal().law_for(shape)
    }
}

impl Entry for LecunNormal {
    const NAMES: &'static [&'static str] = &["lecun-normal"];
    const USAGE: &'static str = "lecun-normal";
    fn from_args(args: &[String]) -> Result<Self, String> {
        no_args(Self::NAMES[0], args).map(|()| LecunNormal)
    }
    fn args(&self) -> Vec<String> {
        Vec::new()
    }
    fn examples() -> Vec<Self> {
        vec![LecunNormal]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_is_lecuns_formula() {
        let law = LecunNormal.law_for(&[10, 128]).unwrap();
        let Law::Normal { mean: 0.0, std } = law else {
            panic!("{law:?}")
        };
        assert!((std * std * 128.0 - 1.0).abs() < 1e-15);
    }
}
