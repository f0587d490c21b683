use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Spec, spec_name};
use crate::error::finite;
use crate::math::cst;
use crate::pyfmt::py_float;
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// The exponential linear unit (`F.elu(x, alpha=1.0)`): x for x > 0, α(eˣ − 1) otherwise;
/// f′ = 1 for x > 0 and α·eˣ for x ≤ 0 (elu′(0) = α, as in PyTorch), so f′ ∈ (0, 1] for
/// α = 1.
///
/// Not saturating in the sense of [`ActivationInfo::saturates`]: the negative side
/// saturates to −α by design, but f′ = 1 on the positive side. PyTorch has no gain for
/// ELU; the gain is the second-moment gain (≈ 1.2452 for α = 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Elu {
    pub(super) alpha: f64,
}

impl Elu {
    /// PyTorch's default α, 1.
    pub const DEFAULT_ALPHA: f64 = 1.0;

    /// ELU with this α; it must be finite (any sign, as in PyTorch).
    pub fn new(alpha: f64) -> Result<Self, ActivationError> {
        Ok(Elu {
            alpha: finite("elu", "alpha", alpha)?,
        })
    }

    /// α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
}

impl Default for Elu {
    fn default() -> Self {
        Elu {
            alpha: Self::DEFAULT_ALPHA,
        }
    }
}

impl ActivationInfo for Elu {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        second_moment_gain(|x| self.value(x))
    }
    fn derivative_bound(&self) -> f64 {
        self.alpha.abs().max(1.0)
    }
    fn saturation(&self) -> Saturation {
        Saturation::NONE
    }
    fn can_die(&self) -> bool {
        self.alpha == 0.0
    }
    fn torch_class(&self) -> &'static str {
        "ELU"
    }
    fn torch_args(&self) -> String {
        format!("alpha={}", py_float(self.alpha))
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
    fn kinks(&self) -> Vec<f64> {
        vec![0.0]
    }
}

impl<F: Float> Activation<F> for Elu {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        if x > F::zero() {
            x
        } else {
            cst::<F>(self.alpha) * x.exp_m1()
        }
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        if x > F::zero() {
            F::one()
        } else {
            cst::<F>(self.alpha) * x.exp()
        }
    }
    // The slice backward is the default, from the input (α·eˣ), as PyTorch's `F.elu`
    // differentiates: only the in-place `elu_` works from the output (y + α), which
    // rounds to 0 where y rounds to −α.
}

impl Spec for Elu {
    const NAMES: &'static [&'static str] = &["elu"];
    const PARAMS: &'static [&'static str] = &["alpha"];
    fn params(&self) -> Vec<f64> {
        vec![self.alpha]
    }
    fn from_params(p: &[f64]) -> Result<Self, ActivationError> {
        Elu::new(p[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivative_at_zero_is_alpha() {
        assert_eq!(Elu::new(2.0).unwrap().derivative(0.0_f64), 2.0);
        assert_eq!(Elu::default().derivative(0.0_f64), 1.0);
    }

    /// At exactly x = 0 the slice backward takes the x ≤ 0 branch, α·e⁰ = α, as PyTorch (`F.elu(torch.zeros(1, requires_grad=True), alpha=2.0)` backward gives 2):
    /// with α ≠ 1 the other branch (1) would differ.
    #[test]
    fn backward_at_zero_is_alpha() {
        for alpha in [2.0_f64, 0.5, -0.5] {
            let elu = Elu::new(alpha).unwrap();
            let x = [0.0_f64, -0.0];
            let y = x.map(|x| elu.value(x));
            assert_eq!(y, [0.0, 0.0]);
            let mut dx = [1.0, 1.0];
            elu.backward_slice(&x, &y, &[3.0, 3.0], &mut dx);
            assert_eq!(dx, [1.0 + 3.0 * alpha; 2], "alpha {alpha}");
            let mut d = [0.0; 2];
            elu.derivative_slice(&x, &mut d);
            assert_eq!(d, [alpha; 2], "alpha {alpha}");
        }
    }

    /// α as given, and the name with it (what `ActivationKind` prints and parses).
    #[test]
    fn alpha_and_name() {
        for (alpha, name) in [(2.0, "elu:2"), (-0.5, "elu:-0.5"), (1.0, "elu:1")] {
            let elu = Elu::new(alpha).unwrap();
            assert_eq!(elu.alpha(), alpha);
            assert_eq!(elu.name(), name);
        }
    }

    #[test]
    fn saturates_to_minus_alpha_without_overflow() {
        assert_eq!(Elu::new(2.0).unwrap().value(-1e4_f64), -2.0);
        assert_eq!(Elu::default().derivative(-1e4_f64), 0.0);
        assert_eq!(Elu::default().derivative(1e4_f64), 1.0);
    }

    /// A kink at 0 (f″ jumps even at α = 1); saturates to −α below, which is no dead unit
    /// unless α = 0.
    #[test]
    fn facts() {
        assert_eq!(Elu::default().kinks(), [0.0]);
        assert_eq!(Elu::default().saturation(), Saturation::NONE);
        assert!(!Elu::default().can_die() && !Elu::new(-1.0).unwrap().can_die());
        assert!(Elu::new(0.0).unwrap().can_die());
        assert_eq!(Elu::default().torch_repr(), "ELU(alpha=1.0)");
        assert_eq!(Elu::new(0.5).unwrap().torch_repr(), "ELU(alpha=0.5)");
    }
}
