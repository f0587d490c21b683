use gradwell_init::{Nonlinearity, calculate_gain};
use num_traits::Float;

use super::{Spec, spec_name};
use crate::{Activation, ActivationError, ActivationInfo, Saturation};

/// The rectifier max(0, x) (`F.relu`): f′ = 1 for x > 0, 0 otherwise (relu′(0) = 0, as in
/// PyTorch). Gain √2 (PyTorch's).
///
/// NaN inputs give NaN (as PyTorch's `clamp_min`), so a diverged pre-activation is not
/// hidden.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Relu;

impl ActivationInfo for Relu {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        calculate_gain(Nonlinearity::Relu)
    }
    fn derivative_bound(&self) -> f64 {
        1.0
    }
    fn saturation(&self) -> Saturation {
        Saturation::NONE
    }
    fn can_die(&self) -> bool {
        true
    }
    fn torch_class(&self) -> &'static str {
        "ReLU"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        Some(Nonlinearity::Relu)
    }
    fn kinks(&self) -> Vec<f64> {
        vec![0.0]
    }
}

impl<F: Float> Activation<F> for Relu {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        if x < F::zero() { F::zero() } else { x }
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        if x > F::zero() { F::one() } else { F::zero() }
    }
    #[inline(always)]
    fn backward_slice(&self, x: &[F], _y: &[F], dy: &[F], dx: &mut [F]) {
        for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
            *dx = *dx + if x > F::zero() { dy } else { F::zero() };
        }
    }
}

impl Spec for Relu {
    const NAMES: &'static [&'static str] = &["relu"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Relu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytorch_convention_at_the_kink() {
        assert_eq!(Relu.value(0.0_f64), 0.0);
        assert_eq!(Relu.derivative(0.0_f64), 0.0);
        assert_eq!(Relu.derivative(1e-300_f64), 1.0);
        assert_eq!(Relu.value(-2.0_f32), 0.0);
    }

    #[test]
    fn nan_propagates() {
        assert!(Relu.value(f64::NAN).is_nan());
    }

    /// A kink at 0; exactly 0 on the negative half-line (units can die), unbounded above.
    #[test]
    fn facts() {
        assert_eq!(Relu.kinks(), [0.0]);
        assert_eq!(Relu.saturation(), Saturation::NONE);
        assert!(Relu.can_die() && !Relu.saturates());
        assert_eq!(Relu.torch_repr(), "ReLU()");
    }
}
