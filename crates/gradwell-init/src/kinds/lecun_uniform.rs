//! `lecun-uniform`: U(±√(3/fan_in)), Keras's `LecunUniform`.

use crate::registry::{Drawn, Entry, no_args};
use crate::{InitError, Law, VarianceScaling};

/// LeCun uniform (Keras's `LecunUniform`): U(±√(3/fan_in)), variance 1/fan_in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LecunUniform;

impl Drawn for LecunUniform {
    fn check(&self) -> Result<(), InitError> {
        Ok(())
    }
    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError> {
        VarianceScaling::lecun_uniform().law_for(shape)
    }
}

impl Entry for LecunUniform {
    const NAMES: &'static [&'static str] = &["lecun-uniform"];
    const USAGE: &'static str = "lecun-uniform";
    fn from_args(args: &[String]) -> Result<Self, String> {
        no_args(Self::NAMES[0], args).map(|()| LecunUniform)
    }
    fn args(&self) -> Vec<String> {
        Vec::new()
    }
    fn examples() -> Vec<Self> {
        vec![LecunUniform]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_is_lecuns_formula() {
        let law = LecunUniform.law_for(&[10, 128]).unwrap();
        let Law::Uniform { low, high } = law else {
            panic!("{law:?}")
        };
        assert!((high / (3.0_f64 / 128.0).sqrt() - 1.0).abs() < 1e-15 && low == -high);
    }
}
