use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Spec, spec_name};
use crate::math::{sech2, sigmoid, softplus};
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// Mish (`F.mish`): x·tanh(softplus(x)); f′ = tanh(sp) + x·σ(x)·sech²(sp) with
/// sp = log(1 + eˣ), 0.6 at 0.
///
/// sup |f′| = 1.0884981612517279… at x = 1.49057 ([`Mish::DERIVATIVE_BOUND`], rounded up);
/// the minimum is −0.1125 at −2.25638. softplus is computed without overflow, so the value
/// is finite everywhere. PyTorch has no gain for mish; the gain is the second-moment gain
/// (≈ 1.4868).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mish;

impl Mish {
    /// sup |f′| = 1.0884981612517278612… (at x = 1.4905711794854285, in 40-digit
    /// arithmetic), rounded up at the 14th digit.
    pub const DERIVATIVE_BOUND: f64 = 1.088_498_161_251_8;
}

impl ActivationInfo for Mish {
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
        "Mish"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
}

impl<F: Float> Activation<F> for Mish {
    #[inline]
    fn value(&self, x: F) -> F {
        x * softplus(x).tanh()
    }
    #[inline]
    fn derivative(&self, x: F) -> F {
        let sp = softplus(x);
        sp.tanh() + x * sigmoid(x) * sech2(sp)
    }
}

impl Spec for Mish {
    const NAMES: &'static [&'static str] = &["mish"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Mish)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_reached_at_the_stated_point() {
        let d: f64 = Mish.derivative(1.490_571_179_485_428_5);
        assert!(Mish::DERIVATIVE_BOUND >= d && Mish::DERIVATIVE_BOUND - d < 1e-13);
        assert!((Mish.derivative(0.0_f64) - 0.6).abs() < 1e-15);
    }

    /// Smooth, unbounded above, never exactly 0 on a half-line.
    #[test]
    fn facts() {
        assert!(Mish.kinks().is_empty());
        assert_eq!(Mish.saturation(), Saturation::NONE);
        assert!(!Mish.can_die());
        assert_eq!(Mish.torch_repr(), "Mish()");
    }
}
