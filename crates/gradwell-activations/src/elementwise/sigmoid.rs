use gradwell_init::{Nonlinearity, calculate_gain};
use num_traits::Float;

use super::{Spec, spec_name};
use crate::math::{sigmoid, sigmoid_derivative};
use crate::{Activation, ActivationError, ActivationInfo, Saturation};

/// The logistic sigmoid σ(x) = 1/(1 + e^{−x}) (`torch.sigmoid`): σ′ = σ(1 − σ) ≤ 1/4, with
/// equality only at 0; saturates on both sides. Gain 1 (PyTorch's).
///
/// The value is computed from e^{−|x|}, so it is finite for every finite input;
/// [`derivative`](Activation::derivative) is computed as e^{−|x|}/(1 + e^{−|x|})², accurate on
/// both tails, while [`backward_slice`](Activation::backward_slice) uses y(1 − y) from the
/// output like PyTorch (exactly 0 where y rounds to 1: for x ≥ 16.64 in `f32`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sigmoid;

impl ActivationInfo for Sigmoid {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        calculate_gain(Nonlinearity::Sigmoid)
    }
    fn derivative_bound(&self) -> f64 {
        0.25
    }
    fn saturation(&self) -> Saturation {
        Saturation::approached(Some(0.0), Some(1.0))
    }
    fn can_die(&self) -> bool {
        false
    }
    fn torch_class(&self) -> &'static str {
        "Sigmoid"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        Some(Nonlinearity::Sigmoid)
    }
}

impl<F: Float> Activation<F> for Sigmoid {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        sigmoid(x)
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        sigmoid_derivative(x)
    }
    fn backward_slice(&self, _x: &[F], y: &[F], dy: &[F], dx: &mut [F]) {
        for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
            *dx = *dx + dy * y * (F::one() - y);
        }
    }
}

impl Spec for Sigmoid {
    const NAMES: &'static [&'static str] = &["sigmoid"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Sigmoid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maximum_slope_is_a_quarter_at_zero() {
        assert_eq!(Sigmoid.value(0.0_f64), 0.5);
        assert_eq!(Sigmoid.derivative(0.0_f64), 0.25);
    }

    #[test]
    fn symmetric_and_finite_on_both_tails() {
        // σ(−x) = 1 − σ(x); at −40 the textbook 1/(1+e^{40}) and ours agree, at −800 the
        // exponential overflows but the value must stay finite (0).
        let x = 3.7_f64;
        assert!((Sigmoid.value(-x) - (1.0 - Sigmoid.value(x))).abs() < 1e-16);
        assert_eq!(Sigmoid.value(-800.0_f64), 0.0);
        assert_eq!(Sigmoid.value(800.0_f64), 1.0);
        // σ′(40) = e^{−40}/(1+e^{−40})² ≈ 4.248e-18, lost by σ(1−σ) but kept here.
        let d = Sigmoid.derivative(40.0_f64);
        assert!((d / 4.248_354_255_291_589e-18 - 1.0).abs() < 1e-12, "{d}");
    }

    #[test]
    fn backward_from_output_rounds_to_zero_like_pytorch_in_f32() {
        let x = [17.0_f32];
        let y = [Sigmoid.value(17.0_f32)];
        assert_eq!(y[0], 1.0);
        let mut dx = [0.0_f32];
        Sigmoid.backward_slice(&x, &y, &[1.0], &mut dx);
        assert_eq!(dx[0], 0.0);
    }

    /// Smooth; approaches 0 and 1 (a monitor counts outputs near them as saturated); never
    /// exactly 0 on a half-line, so no dead unit.
    #[test]
    fn facts() {
        assert!(Sigmoid.kinks().is_empty());
        assert_eq!(
            Sigmoid.saturation(),
            Saturation::approached(Some(0.0), Some(1.0))
        );
        assert!(Sigmoid.saturates() && !Sigmoid.can_die());
        assert_eq!(Sigmoid.torch_repr(), "Sigmoid()");
    }
}
