use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Spec, spec_name};
use crate::math::{cst, sech2};
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// GELU, tanh approximation (`F.gelu(x, approximate='tanh')`):
/// ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³); f′ = ½(1 + tanh u) + ½x·sech²(u)·√(2/π)(1 +
/// 3·0.044715x²), 0.5 at 0.
///
/// sup |f′| = 1.1289930686587718… at x = ±1.41850 ([`GeluTanh::DERIVATIVE_BOUND`], rounded
/// up). The polynomial factor of f′ is evaluated at x clamped to ±100, where sech²(u) is
/// already exactly 0 in `f32` and `f64`, so that x² never overflows into 0·∞. PyTorch has
/// no gain for GELU; the gain is the second-moment gain (≈ 1.5336).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GeluTanh;

impl GeluTanh {
    /// sup |f′| = 1.1289930686587717655… (at x = 1.4185040087908284, found by root-finding
    /// f″ in 40-digit arithmetic), rounded up at the 14th digit.
    pub const DERIVATIVE_BOUND: f64 = 1.128_993_068_658_8;
    /// √(2/π).
    const BETA: f64 = 0.797_884_560_802_865_4;
    /// The cubic coefficient.
    const KAPPA: f64 = 0.044715;
}

impl ActivationInfo for GeluTanh {
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
        "GELU"
    }
    fn torch_args(&self) -> String {
        "approximate='tanh'".to_string()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
}

impl<F: Float> Activation<F> for GeluTanh {
    #[inline]
    fn value(&self, x: F) -> F {
        let half: F = cst(0.5);
        let u = cst::<F>(Self::BETA) * (x + cst::<F>(Self::KAPPA) * x * x * x);
        half * x * (F::one() + u.tanh())
    }
    #[inline]
    fn derivative(&self, x: F) -> F {
        let half: F = cst(0.5);
        let u = cst::<F>(Self::BETA) * (x + cst::<F>(Self::KAPPA) * x * x * x);
        let xc = x.max(cst(-100.0)).min(cst(100.0));
        let du = cst::<F>(Self::BETA) * (F::one() + cst::<F>(3.0 * Self::KAPPA) * xc * xc);
        half * (F::one() + u.tanh()) + half * xc * sech2(u) * du
    }
}

impl Spec for GeluTanh {
    const NAMES: &'static [&'static str] = &["gelu-tanh"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(GeluTanh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_reached_at_the_stated_point() {
        let d: f64 = GeluTanh.derivative(1.418_504_008_790_828_4);
        assert!(GeluTanh::DERIVATIVE_BOUND >= d && GeluTanh::DERIVATIVE_BOUND - d < 1e-13);
    }

    #[test]
    fn finite_derivative_where_x_squared_overflows() {
        assert_eq!(GeluTanh.derivative(1e200_f64), 1.0);
        assert_eq!(GeluTanh.derivative(-1e200_f64), 0.0);
        assert_eq!(GeluTanh.derivative(1e30_f32), 1.0);
        assert_eq!(GeluTanh.derivative(0.0_f64), 0.5);
    }

    /// Smooth, unbounded above, never exactly 0 on a half-line.
    #[test]
    fn facts() {
        assert!(GeluTanh.kinks().is_empty());
        assert_eq!(GeluTanh.saturation(), Saturation::NONE);
        assert!(!GeluTanh.can_die());
        assert_eq!(GeluTanh.torch_repr(), "GELU(approximate='tanh')");
    }
}
