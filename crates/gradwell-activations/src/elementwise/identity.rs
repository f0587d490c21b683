use gradwell_init::{Nonlinearity, calculate_gain};
use num_traits::Float;

use super::{Spec, spec_name};
use crate::{Activation, ActivationError, ActivationInfo, Saturation};

/// The identity f(x) = x (PyTorch's `nn.Identity`; "linear" in `calculate_gain`): f′ = 1,
/// gain 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Identity;

impl ActivationInfo for Identity {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        calculate_gain(Nonlinearity::Linear)
    }
    fn derivative_bound(&self) -> f64 {
        1.0
    }
    fn saturation(&self) -> Saturation {
        Saturation::NONE
    }
    fn can_die(&self) -> bool {
        false
    }
    fn torch_class(&self) -> &'static str {
        "Identity"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        Some(Nonlinearity::Linear)
    }
}

impl<F: Float> Activation<F> for Identity {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        x
    }
    #[inline(always)]
    fn derivative(&self, _x: F) -> F {
        F::one()
    }
    fn backward_slice(&self, _x: &[F], _y: &[F], dy: &[F], dx: &mut [F]) {
        for (dx, &dy) in dx.iter_mut().zip(dy) {
            *dx = *dx + dy;
        }
    }
}

impl Spec for Identity {
    const NAMES: &'static [&'static str] = &["identity", "linear"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_values_and_gradients_through() {
        assert_eq!(Identity.value(-3.5_f64), -3.5);
        assert_eq!(Identity.derivative(7.0_f64), 1.0);
        let mut dx = [1.0_f64, 2.0];
        Identity.backward_slice(&[5.0, -5.0], &[5.0, -5.0], &[0.5, -0.25], &mut dx);
        assert_eq!(dx, [1.5, 1.75]);
    }

    /// No kink, no saturation, no dead unit; PyTorch's `nn.Identity()`.
    #[test]
    fn facts() {
        assert!(Identity.kinks().is_empty());
        assert_eq!(Identity.saturation(), Saturation::NONE);
        assert!(!Identity.can_die());
        assert_eq!(Identity.torch_repr(), "Identity()");
    }
}
