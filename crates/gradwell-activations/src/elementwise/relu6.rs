use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Hardtanh, Spec, spec_name};
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// ReLU6 (`F.relu6`): min(max(0, x), 6), i.e. hardtanh on [0, 6]; f′ = 1 on (0, 6) and 0
/// elsewhere, including x = 0 and x = 6 (PyTorch's convention).
///
/// Saturates: f′ = 0 above 6. PyTorch has no gain for ReLU6; the gain is the second-moment
/// gain, √2 to 9 digits since a unit-variance input almost never exceeds 6.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Relu6;

impl Relu6 {
    /// The hardtanh that ReLU6 is.
    const CLAMP: Hardtanh = Hardtanh { min: 0.0, max: 6.0 };
}

impl ActivationInfo for Relu6 {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        second_moment_gain(|x| self.value(x))
    }
    fn derivative_bound(&self) -> f64 {
        Self::CLAMP.derivative_bound()
    }
    fn saturation(&self) -> Saturation {
        Self::CLAMP.saturation()
    }
    fn can_die(&self) -> bool {
        Self::CLAMP.can_die()
    }
    fn torch_class(&self) -> &'static str {
        "ReLU6"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
    fn kinks(&self) -> Vec<f64> {
        Self::CLAMP.kinks()
    }
}

impl<F: Float> Activation<F> for Relu6 {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        Self::CLAMP.value(x)
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        Self::CLAMP.derivative(x)
    }
    fn forward_slice(&self, x: &[F], y: &mut [F]) {
        Self::CLAMP.forward_slice(x, y)
    }
    fn backward_slice(&self, x: &[F], y: &[F], dy: &[F], dx: &mut [F]) {
        Self::CLAMP.backward_slice(x, y, dy, dx)
    }
}

impl Spec for Relu6 {
    const NAMES: &'static [&'static str] = &["relu6"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Relu6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_derivative_at_zero_and_six() {
        assert_eq!(Relu6.derivative(0.0_f64), 0.0);
        assert_eq!(Relu6.derivative(6.0_f64), 0.0);
        assert_eq!(Relu6.derivative(3.0_f64), 1.0);
        assert_eq!(Relu6.value(9.0_f64), 6.0);
    }

    #[test]
    fn gain_is_relu_gain_to_nine_digits() {
        assert!((Relu6.gain() - 2.0_f64.sqrt()).abs() < 1e-8);
    }

    /// Kinks at 0 and 6; reaches 6 (saturated) and is 0 on the negative side (dead, not
    /// saturated): hardtanh on [0, 6].
    #[test]
    fn facts() {
        assert_eq!(Relu6.kinks(), [0.0, 6.0]);
        assert_eq!(Relu6.saturation(), Saturation::reached(None, Some(6.0)));
        assert!(Relu6.saturates() && Relu6.can_die());
        assert_eq!(Relu6.torch_repr(), "ReLU6()");
    }
}
