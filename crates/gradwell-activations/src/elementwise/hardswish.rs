use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Hardsigmoid, Spec, spec_name};
use crate::math::cst;
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// Hardswish (Howard et al. 2019, `F.hardswish`): x·relu6(x + 3)/6, i.e. 0 for x ≤ −3, x
/// for x ≥ 3 and x(x + 3)/6 between; f′ = 0 for x < −3, x/3 + 1/2 on (−3, 3), 1 for
/// x > 3, and at the kinks PyTorch's `hardswish_backward` values: f′(−3) = 0 (`x <= -3`
/// gives 0) and f′(3) = 1 (`x < 3` takes the middle branch, so 3 takes the last).
///
/// f′ ranges over [−½, 3/2): its supremum 3/2 is approached as x → 3⁻ and not reached,
/// since f′(3) = 1. Above 3 the value is x itself (PyTorch computes x·6/6, which can be one
/// ulp away and overflows beyond f64::MAX/6; gradwell's stays finite).
///
/// Not saturating (f′ = 1 above 3). It is exactly 0 on (−∞, −3], so a unit whose input stays
/// there is dead. PyTorch has no gain for hardswish; the gain is the second-moment gain
/// (≈ 1.7367).
///
/// ```
/// use gradwell_activations::{Activation, ActivationInfo, ActivationKind, Hardswish};
///
/// let k: ActivationKind = "hardswish".parse()?;
/// assert_eq!(k, Hardswish.into());
/// assert_eq!(k.value(-1.0_f64), -1.0 / 3.0);
/// assert_eq!(k.derivative(-3.0_f64), 0.0);
/// assert_eq!(k.derivative(3.0_f64), 1.0);
/// assert_eq!(k.torch_repr(), "Hardswish()");
/// # Ok::<(), gradwell_activations::ActivationError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Hardswish;

impl ActivationInfo for Hardswish {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        second_moment_gain(|x| self.value(x))
    }
    fn derivative_bound(&self) -> f64 {
        1.5
    }
    fn saturation(&self) -> Saturation {
        Saturation::NONE
    }
    fn can_die(&self) -> bool {
        true
    }
    fn torch_class(&self) -> &'static str {
        "Hardswish"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
    fn kinks(&self) -> Vec<f64> {
        Hardsigmoid::KINKS.to_vec()
    }
}

impl<F: Float> Activation<F> for Hardswish {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        let three = cst::<F>(3.0);
        if x >= three {
            x
        } else if x > -three {
            x * (x + three) / cst(6.0)
        } else {
            // 0 times x, as PyTorch: −0 for negative x, NaN for NaN.
            x * F::zero()
        }
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        let three = cst::<F>(3.0);
        if x <= -three {
            F::zero()
        } else if x < three {
            x / three + cst(0.5)
        } else {
            F::one()
        }
    }
}

impl Spec for Hardswish {
    const NAMES: &'static [&'static str] = &["hardswish"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Hardswish)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's values at and around the kinks: f′(−3) = 0, f′(3) = 1, and the middle
    /// branch's limits −½ and 3/2 just inside.
    #[test]
    fn kinks_like_pytorch() {
        let h = Hardswish;
        assert_eq!(h.derivative(-3.0_f64), 0.0);
        assert_eq!(h.derivative(3.0_f64), 1.0);
        assert_eq!(h.derivative(-3.0_f32), 0.0);
        assert_eq!(h.derivative(3.0_f32), 1.0);
        assert!((h.derivative(-2.999_999_f64) - -0.5).abs() < 1e-6);
        assert!((h.derivative(2.999_999_f64) - 1.5).abs() < 1e-6);
        assert_eq!(h.derivative(0.0_f64), 0.5);
        assert_eq!(h.derivative(-800.0_f64), 0.0);
        assert_eq!(h.derivative(800.0_f64), 1.0);
    }

    /// The value: x(x + 3)/6 between the kinks, 0 below, x above, finite everywhere.
    #[test]
    fn values() {
        let h = Hardswish;
        assert_eq!(h.value(-1.0_f64), -1.0 / 3.0);
        assert_eq!(h.value(1.5_f64), 1.125);
        assert_eq!(h.value(-3.0_f64), 0.0);
        assert_eq!(h.value(3.0_f64), 3.0);
        assert_eq!(h.value(-800.0_f64), 0.0);
        assert_eq!(h.value(800.0_f64), 800.0);
        assert_eq!(h.value(f64::MAX), f64::MAX);
        assert_eq!(h.value(-f64::MAX), 0.0);
        assert!(h.value(f64::NAN).is_nan());
    }

    /// Kinks at ±3; not saturating; dead below −3; PyTorch's repr; the bound 3/2.
    #[test]
    fn facts() {
        let h = Hardswish;
        assert_eq!(h.kinks(), [-3.0, 3.0]);
        assert_eq!(h.saturation(), Saturation::NONE);
        assert!(!h.saturates() && h.can_die());
        assert_eq!(h.name(), "hardswish");
        assert_eq!(h.torch_repr(), "Hardswish()");
        assert_eq!(h.derivative_bound(), 1.5);
    }
}
