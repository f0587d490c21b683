use gradwell_init::{Nonlinearity, calculate_gain};
use num_traits::Float;

use super::{Spec, spec_name};
use crate::math::sech2;
use crate::{Activation, ActivationError, ActivationInfo, Saturation};

/// The hyperbolic tangent (`torch.tanh`): tanh′ = 1 − tanh² = sech² ≤ 1, with equality only
/// at 0; saturates on both sides. Gain 5/3 (PyTorch's).
///
/// [`derivative`](Activation::derivative) is computed as sech²(x) = 4e/(1 + e)², e = e^{−2|x|},
/// accurate on the tails; [`backward_slice`](Activation::backward_slice) uses 1 − y² from the
/// output like PyTorch (exactly 0 where y rounds to ±1: for |x| ≥ 9.01 in `f32`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tanh;

impl ActivationInfo for Tanh {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        calculate_gain(Nonlinearity::Tanh)
    }
    fn derivative_bound(&self) -> f64 {
        1.0
    }
    fn saturation(&self) -> Saturation {
        Saturation::approached(Some(-1.0), Some(1.0))
    }
    fn can_die(&self) -> bool {
        false
    }
    fn torch_class(&self) -> &'static str {
        "Tanh"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        Some(Nonlinearity::Tanh)
    }
}

impl<F: Float> Activation<F> for Tanh {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        x.tanh()
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        sech2(x)
    }
    fn backward_slice(&self, _x: &[F], y: &[F], dy: &[F], dx: &mut [F]) {
        for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
            *dx = *dx + dy * (F::one() - y * y);
        }
    }
}

impl Spec for Tanh {
    const NAMES: &'static [&'static str] = &["tanh"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Tanh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_one_at_zero() {
        assert_eq!(Tanh.derivative(0.0_f64), 1.0);
    }

    #[test]
    fn derivative_equals_one_minus_square_where_that_is_accurate() {
        for x in [-2.0_f64, -0.3, 0.7, 1.5] {
            let t = x.tanh();
            assert!((Tanh.derivative(x) - (1.0 - t * t)).abs() < 1e-15, "{x}");
        }
    }

    /// Smooth; approaches ±1; no dead unit.
    #[test]
    fn facts() {
        assert!(Tanh.kinks().is_empty());
        assert_eq!(
            Tanh.saturation(),
            Saturation::approached(Some(-1.0), Some(1.0))
        );
        assert!(Tanh.saturates() && !Tanh.can_die());
        assert_eq!(Tanh.torch_repr(), "Tanh()");
    }
}
