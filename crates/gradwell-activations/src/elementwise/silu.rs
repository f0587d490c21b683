use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Spec, spec_name};
use crate::math::sigmoid;
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// SiLU, also called swish (`F.silu`): x·σ(x); f′ = σ(x)(1 + x·σ(−x)), 0.5 at 0.
///
/// f″ = 0 where x·tanh(x/2) = 2, i.e. x = ±2.39936; sup |f′| = 1.0998393201288669… there
/// ([`Silu::DERIVATIVE_BOUND`], rounded up), and the minimum is −0.0998 at −2.39936.
/// σ(−x) replaces PyTorch's 1 − σ(x), equal in exact arithmetic but accurate for large x.
/// PyTorch has no gain for SiLU; the gain is the second-moment gain (≈ 1.6765).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Silu;

impl Silu {
    /// sup |f′| = 1.099839320128866917… (at x = 2.3993572805154677, in 40-digit
    /// arithmetic), rounded up at the 14th digit.
    pub const DERIVATIVE_BOUND: f64 = 1.099_839_320_128_9;
}

impl ActivationInfo for Silu {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        second_moment_gain(|x| self.value(x))
    }
    fn derivative_bound(&self) -> f64 {
        Self::DERIVATIVE_BOUND
    }
    fn saturation(&self) -> Saturation {
        Saturation::NONE
    }
    fn can_die(&self) -> bool {
        false
    }
    fn torch_class(&self) -> &'static str {
        "SiLU"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
}

impl<F: Float> Activation<F> for Silu {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        x * sigmoid(x)
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        sigmoid(x) * (F::one() + x * sigmoid(-x))
    }
}

impl Spec for Silu {
    const NAMES: &'static [&'static str] = &["silu", "swish"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Silu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_reached_at_the_stated_point() {
        let d: f64 = Silu.derivative(2.399_357_280_515_467_7);
        assert!(Silu::DERIVATIVE_BOUND >= d && Silu::DERIVATIVE_BOUND - d < 1e-13);
        assert_eq!(Silu.derivative(0.0_f64), 0.5);
    }

    #[test]
    fn finite_at_the_extremes() {
        assert_eq!(Silu.value(-1e4_f64), 0.0);
        assert_eq!(Silu.derivative(-f64::MAX), 0.0);
        assert_eq!(Silu.derivative(f64::MAX), 1.0);
    }

    /// Smooth, unbounded above, never exactly 0 on a half-line.
    #[test]
    fn facts() {
        assert!(Silu.kinks().is_empty());
        assert_eq!(Silu.saturation(), Saturation::NONE);
        assert!(!Silu.can_die());
        assert_eq!(Silu.torch_repr(), "SiLU()");
    }
}
