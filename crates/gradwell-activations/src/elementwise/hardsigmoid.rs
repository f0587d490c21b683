use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Spec, spec_name};
use crate::math::cst;
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// Hardsigmoid (`F.hardsigmoid`): relu6(x + 3)/6, i.e. 0 for x ≤ −3, 1 for x ≥ 3 and
/// x/6 + 1/2 between; f′ = 1/6 on the **open** interval (−3, 3) and 0 elsewhere, ±3
/// included (PyTorch's `hardsigmoid_backward`: `x > -3 && x < 3 ? grad/6 : 0`).
///
/// The value is PyTorch's min(max(x + 3, 0), 6)/6. PyTorch's CPU kernel multiplies by the
/// `float` constant 1/6 (0.1666666716…) even in `float64`; gradwell's f′ is 1/6 rounded to
/// the working type (docs/parity.md, deliberate differences).
///
/// Saturates: it reaches 1 at 3 with f′ = 0 beyond. It is exactly 0 on (−∞, −3], so a unit
/// whose input stays there is dead (as ReLU6's 0, not a saturation bound). PyTorch has no
/// gain for hardsigmoid; the gain is the second-moment gain (≈ 1.8978).
///
/// ```
/// use gradwell_activations::{Activation, ActivationInfo, ActivationKind, Hardsigmoid};
///
/// let k: ActivationKind = "hardsigmoid".parse()?;
/// assert_eq!(k, Hardsigmoid.into());
/// assert_eq!(k.value(0.0_f64), 0.5);
/// assert_eq!(k.derivative(3.0_f64), 0.0); // 0 at the kinks, as PyTorch
/// assert_eq!(k.derivative(2.0_f64), 1.0 / 6.0);
/// assert_eq!(k.torch_repr(), "Hardsigmoid()");
/// # Ok::<(), gradwell_activations::ActivationError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Hardsigmoid;

impl Hardsigmoid {
    /// Where f′ jumps: −3 and 3.
    pub const KINKS: [f64; 2] = [-3.0, 3.0];
}

impl ActivationInfo for Hardsigmoid {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        second_moment_gain(|x| self.value(x))
    }
    fn derivative_bound(&self) -> f64 {
        1.0 / 6.0
    }
    fn saturation(&self) -> Saturation {
        Saturation::reached(None, Some(1.0))
    }
    fn can_die(&self) -> bool {
        true
    }
    fn torch_class(&self) -> &'static str {
        "Hardsigmoid"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
    fn kinks(&self) -> Vec<f64> {
        Self::KINKS.to_vec()
    }
}

impl<F: Float> Activation<F> for Hardsigmoid {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        let six = cst::<F>(6.0);
        let t = x + cst(3.0);
        let t = if t < F::zero() { F::zero() } else { t };
        let t = if t > six { six } else { t };
        t / six
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        if (x > cst(-3.0)) & (x < cst(3.0)) {
            cst(1.0 / 6.0)
        } else {
            F::zero()
        }
    }
}

impl Spec for Hardsigmoid {
    const NAMES: &'static [&'static str] = &["hardsigmoid"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Hardsigmoid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's values: f′(±3) = 0, 1/6 just inside, f(0) = ½, clamped outside.
    #[test]
    fn values_and_kinks_like_pytorch() {
        let h = Hardsigmoid;
        assert_eq!(h.derivative(-3.0_f64), 0.0);
        assert_eq!(h.derivative(3.0_f64), 0.0);
        assert_eq!(h.derivative(-2.999_f64), 1.0 / 6.0);
        assert_eq!(h.derivative(2.999_f32), 1.0 / 6.0);
        assert_eq!(h.derivative(0.0_f64), 1.0 / 6.0);
        assert_eq!(h.value(0.0_f64), 0.5);
        assert_eq!(h.value(-3.0_f64), 0.0);
        assert_eq!(h.value(3.0_f64), 1.0);
        assert_eq!(h.value(1.5_f64), 0.75);
        assert_eq!(h.value(-800.0_f64), 0.0);
        assert_eq!(h.value(f64::MAX), 1.0);
        assert_eq!(h.value(-f64::MAX), 0.0);
        assert!(h.value(f64::NAN).is_nan());
    }

    /// Kinks at ±3; reaches 1 (saturated) and 0 below −3 (dead, not saturated).
    #[test]
    fn facts() {
        let h = Hardsigmoid;
        assert_eq!(h.kinks(), [-3.0, 3.0]);
        assert_eq!(h.saturation(), Saturation::reached(None, Some(1.0)));
        assert!(h.saturates() && h.can_die());
        assert_eq!(h.name(), "hardsigmoid");
        assert_eq!(h.torch_repr(), "Hardsigmoid()");
        assert_eq!(h.derivative_bound(), 1.0 / 6.0);
    }
}
