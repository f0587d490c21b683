use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Spec, spec_name};
use crate::math::{normal_cdf, normal_pdf};
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// The Gaussian error linear unit, exact form (`F.gelu(x, approximate='none')`):
/// x·Φ(x) = ½x(1 + erf(x/√2)); f′ = Φ(x) + x·φ(x), 0.5 at 0.
///
/// f″ = φ(x)(2 − x²) vanishes at ±√2, so sup |f′| = Φ(√2) + √2·φ(√2) = 1.12890414518515…
/// (stated rounded up, [`Gelu::DERIVATIVE_BOUND`]); the minimum, −0.1289, is at −√2.
/// Φ is computed as ½·erfc(−x/√2), which keeps the negative tail accurate where PyTorch's
/// ½(1 + erf) rounds to 0. PyTorch has no gain for GELU; the gain is the second-moment
/// gain (≈ 1.5335).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gelu;

impl Gelu {
    /// Φ(√2) + √2·φ(√2) = 1.1289041451851547863…, rounded up at the 14th digit so that
    /// it also bounds every rounded evaluation.
    pub const DERIVATIVE_BOUND: f64 = 1.128_904_145_185_2;
}

impl ActivationInfo for Gelu {
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
        "approximate='none'".to_string()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
}

impl<F: Float> Activation<F> for Gelu {
    #[inline]
    fn value(&self, x: F) -> F {
        x * normal_cdf(x)
    }
    #[inline]
    fn derivative(&self, x: F) -> F {
        normal_cdf(x) + x * normal_pdf(x)
    }
}

impl Spec for Gelu {
    const NAMES: &'static [&'static str] = &["gelu"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Gelu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::SQRT_2;

    #[test]
    fn bound_is_the_closed_form_rounded_up() {
        let closed: f64 = Gelu.derivative(SQRT_2);
        assert!(Gelu::DERIVATIVE_BOUND >= closed);
        assert!(Gelu::DERIVATIVE_BOUND - closed < 1e-13);
    }

    #[test]
    fn slope_half_at_zero_and_accurate_negative_tail() {
        assert_eq!(Gelu.derivative(0.0_f64), 0.5);
        // gelu(−10) = −10·Φ(−10) = −7.619853024160526e-23 (mpmath); ½(1+erf) would give 0.
        let v: f64 = Gelu.value(-10.0);
        assert!((v / -7.619_853_024_160_526e-23 - 1.0).abs() < 1e-12, "{v}");
    }

    /// Smooth, unbounded above, never exactly 0 on a half-line.
    #[test]
    fn facts() {
        assert!(Gelu.kinks().is_empty());
        assert_eq!(Gelu.saturation(), Saturation::NONE);
        assert!(!Gelu.can_die());
        assert_eq!(Gelu.torch_repr(), "GELU(approximate='none')");
    }
}
