//! `keras-he-normal`: Keras's `HeNormal`, truncated at 2σ and corrected.

use crate::registry::{Drawn, Entry, no_args};
use crate::{InitError, Law, VarianceScaling};

/// He normal, Keras's form (`keras.initializers.HeNormal`): variance 2/fan_in from a normal
/// N(0, σ₀²) cut at ±2σ₀, σ₀ = √(2/fan_in) / [`KERAS_TRUNCATION_STD`](crate::KERAS_TRUNCATION_STD).
/// Shapes are read in PyTorch's layout; for Keras-layout kernels write
/// `variance-scaling:2,fan-in,truncated-normal,keras`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KerasHeNormal;

impl Drawn for KerasHeNormal {
    fn check(&self) -> Result<(), InitError> {
        Ok(())
    }
    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError> {
        VarianceScaling::keras_he_normal().law_for(shape)
    }
}

impl Entry for KerasHeNormal {
    const NAMES: &'static [&'static str] = &["keras-he-normal"];
    const USAGE: &'static str = "keras-he-normal";
    fn from_args(args: &[String]) -> Result<Self, String> {
        no_args(Self::NAMES[0], args).map(|()| KerasHeNormal)
    }
    fn args(&self) -> Vec<String> {
        Vec::new()
    }
    fn examples() -> Vec<Self> {
        vec![KerasHeNormal]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_is_keras_truncated_normal() {
        // [128, 784]: σ₀ = √(2/784)/0.8796…, cut at ±2σ₀; the law's variance is 2/784.
        let law = KerasHeNormal.law_for(&[128, 784]).unwrap();
        let sigma0 = (2.0_f64 / 784.0).sqrt() / 0.879_625_661_034_239_8;
        let Law::TruncatedNormal {
            mean: 0.0,
            std,
            a,
            b,
        } = law
        else {
            panic!("{law:?}")
        };
        assert!((std / sigma0 - 1.0).abs() < 1e-15);
        assert!((b / (2.0 * sigma0) - 1.0).abs() < 1e-15 && a == -b);
        assert!((law.variance() * 784.0 / 2.0 - 1.0).abs() < 1e-14);
    }
}
