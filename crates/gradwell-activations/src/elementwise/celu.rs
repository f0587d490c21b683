use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Spec, spec_name};
use crate::error::finite;
use crate::math::cst;
use crate::pyfmt::py_float;
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// The continuously differentiable ELU (Barron 2017, `F.celu(x, alpha=1.0)`):
/// max(0, x) + min(0, α(e^{x/α} − 1)), i.e. x for x > 0 and α(e^{x/α} − 1) otherwise;
/// f′ = 1 for x > 0 and e^{x/α} for x ≤ 0, so f′ ∈ (0, 1] and celu′(0) = 1 for every α
/// (PyTorch's `elu_backward` with input scale 1/α: (1/α)·α·e^{x/α} at x ≤ 0). With α = 1
/// it is ELU.
///
/// The value is computed as PyTorch's kernel does, α·expm1(x·(1/α)) with 1/α rounded
/// once, so it saturates to −α without overflow. α must be positive: PyTorch rejects 0
/// and accepts a negative α, for which the negative side grows as −|α|e^{|x/α|} and
/// overflows to −∞ at a finite input (−800 with α = −1); gradwell rejects it, keeping
/// every value finite (docs/parity.md, deliberate differences).
///
/// Not saturating (f′ = 1 above 0; the negative side approaches −α, the unit's off state,
/// not 0), so no dead unit. A kink at 0 only in f″ (f′ is continuous there, which is the
/// point of CELU), listed so that the mean-field integrals split there. PyTorch has no
/// gain for CELU; the gain is the second-moment gain (≈ 1.2452 for α = 1, ELU's).
///
/// ```
/// use gradwell_activations::{Activation, ActivationInfo, ActivationKind, Celu};
///
/// let celu: ActivationKind = "celu:2".parse()?;
/// assert_eq!(celu, Celu::new(2.0)?.into());
/// assert_eq!(celu.derivative(0.0_f64), 1.0);
/// assert_eq!(celu.value(-1e4_f64), -2.0);
/// assert_eq!(celu.torch_repr(), "CELU(alpha=2.0)");
/// # Ok::<(), gradwell_activations::ActivationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Celu {
    alpha: f64,
}

impl Celu {
    /// PyTorch's default α, 1.
    pub const DEFAULT_ALPHA: f64 = 1.0;

    /// CELU with this α; it must be finite and positive.
    pub fn new(alpha: f64) -> Result<Self, ActivationError> {
        let alpha = finite("celu", "alpha", alpha)?;
        if alpha <= 0.0 {
            return Err(ActivationError::InvalidParam {
                activation: "celu",
                param: "alpha",
                value: alpha,
                why: "must be positive",
            });
        }
        Ok(Celu { alpha })
    }

    /// α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
}

impl Default for Celu {
    fn default() -> Self {
        Celu {
            alpha: Self::DEFAULT_ALPHA,
        }
    }
}

impl ActivationInfo for Celu {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        second_moment_gain(|x| self.value(x))
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
        "CELU"
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

impl<F: Float> Activation<F> for Celu {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        if x > F::zero() {
            x
        } else {
            cst::<F>(self.alpha) * (x * cst::<F>(1.0 / self.alpha)).exp_m1()
        }
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        if x > F::zero() {
            F::one()
        } else {
            (x * cst::<F>(1.0 / self.alpha)).exp()
        }
    }
}

impl Spec for Celu {
    const NAMES: &'static [&'static str] = &["celu"];
    const PARAMS: &'static [&'static str] = &["alpha"];
    fn params(&self) -> Vec<f64> {
        vec![self.alpha]
    }
    fn from_params(p: &[f64]) -> Result<Self, ActivationError> {
        Celu::new(p[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Elu;

    /// celu′(0) = 1 whatever α (PyTorch: `F.celu(torch.zeros(1), alpha=2.0)` backward gives
    /// 1.0), where ELU's is α: the continuity CELU is made for.
    #[test]
    fn derivative_at_zero_is_one() {
        for alpha in [0.5_f64, 1.0, 2.0, 49.0] {
            let c = Celu::new(alpha).unwrap();
            assert_eq!(c.derivative(0.0_f64), 1.0, "alpha {alpha}");
            assert_eq!(c.derivative(-0.0_f32), 1.0, "alpha {alpha}");
            assert_eq!(c.value(0.0_f64), 0.0);
        }
    }

    /// The formula, and α = 1 is ELU.
    #[test]
    fn values_and_derivatives() {
        let c = Celu::new(2.0).unwrap();
        for x in [-3.0_f64, -1.0, -0.25] {
            assert!(
                (c.value(x) - 2.0 * ((x / 2.0).exp() - 1.0)).abs() < 1e-15,
                "{x}"
            );
            assert!((c.derivative(x) - (x / 2.0).exp()).abs() < 1e-15, "{x}");
        }
        assert_eq!(c.value(1.5_f64), 1.5);
        assert_eq!(c.derivative(1.5_f64), 1.0);
        // PyTorch float64: F.celu(-3, alpha=2) = -1.5537396797031404, f′ = 0.22313016014842982.
        assert!((c.value(-3.0_f64) - -1.553_739_679_703_140_4).abs() < 1e-15);
        assert!((c.derivative(-3.0_f64) - 0.223_130_160_148_429_82).abs() < 1e-16);
        for x in [-5.0_f64, -1.0, -1e-3, 0.0, 2.0] {
            assert_eq!(Celu::default().value(x), Elu::default().value(x));
        }
    }

    /// Saturates to −α without overflow, f′ underflows to 0 rather than NaN.
    #[test]
    fn extremes() {
        let c = Celu::new(2.0).unwrap();
        assert_eq!(c.value(-1e4_f64), -2.0);
        assert_eq!(c.derivative(-1e4_f64), 0.0);
        assert_eq!(c.value(-f64::MAX), -2.0);
        let tiny = Celu::new(1e-300).unwrap();
        assert_eq!(tiny.value(-1.0_f64), -1e-300);
        assert_eq!(tiny.derivative(-1.0_f64), 0.0);
    }

    /// α must be finite and positive, named in the error.
    #[test]
    fn rejects_bad_alpha() {
        for alpha in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = Celu::new(alpha).unwrap_err();
            assert!(
                matches!(
                    err,
                    ActivationError::InvalidParam {
                        activation: "celu",
                        param: "alpha",
                        ..
                    }
                ),
                "{alpha}: {err}"
            );
        }
    }

    /// A kink at 0 (in f″), no saturation, no dead unit; name and PyTorch's repr.
    #[test]
    fn facts() {
        let c = Celu::new(1.5).unwrap();
        assert_eq!(c.kinks(), [0.0]);
        assert_eq!(c.saturation(), Saturation::NONE);
        assert!(!c.can_die() && !c.saturates());
        assert_eq!(c.alpha(), 1.5);
        assert_eq!(c.name(), "celu:1.5");
        assert_eq!(c.torch_repr(), "CELU(alpha=1.5)");
        assert_eq!(Celu::default().torch_repr(), "CELU(alpha=1.0)");
        assert_eq!(c.derivative_bound(), 1.0);
    }
}
