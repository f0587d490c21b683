use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Spec, spec_name};
use crate::error::finite;
use crate::math::{cst, sigmoid, softplus};
use crate::pyfmt::py_float;
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// Softplus (`F.softplus(x, beta=1.0, threshold=20.0)`): (1/β)·log(1 + e^{βx}), and
/// **exactly x when βx > threshold**, as PyTorch; f′ = σ(βx), and exactly 1 above the
/// threshold.
///
/// Below the threshold it is computed as (max(βx, 0) + log1p(e^{−|βx|}))/β, equal to
/// PyTorch's log1p(e^{βx})/β but finite for any threshold. Not saturating in the sense of
/// [`ActivationInfo::saturates`]: f′ → 1 for large x. PyTorch has no gain for softplus;
/// the gain is the second-moment gain (≈ 1.0419 for the defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Softplus {
    beta: f64,
    threshold: f64,
}

impl Softplus {
    /// PyTorch's default β, 1.
    pub const DEFAULT_BETA: f64 = 1.0;
    /// PyTorch's default threshold, 20.
    pub const DEFAULT_THRESHOLD: f64 = 20.0;

    /// Softplus with this β (finite and positive) and threshold (finite).
    pub fn new(beta: f64, threshold: f64) -> Result<Self, ActivationError> {
        let beta = finite("softplus", "beta", beta)?;
        if beta <= 0.0 {
            return Err(ActivationError::InvalidParam {
                activation: "softplus",
                param: "beta",
                value: beta,
                why: "must be positive",
            });
        }
        Ok(Softplus {
            beta,
            threshold: finite("softplus", "threshold", threshold)?,
        })
    }

    /// β.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The threshold on βx above which the value is x.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
}

impl Default for Softplus {
    fn default() -> Self {
        Softplus {
            beta: Self::DEFAULT_BETA,
            threshold: Self::DEFAULT_THRESHOLD,
        }
    }
}

impl ActivationInfo for Softplus {
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
        "Softplus"
    }
    fn torch_args(&self) -> String {
        format!(
            "beta={}, threshold={}",
            py_float(self.beta),
            py_float(self.threshold)
        )
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
    /// Where PyTorch switches to the identity, x = threshold/β: the value jumps there by
    /// log1p(e^{−threshold})/β (2.1e-9 for the defaults).
    fn kinks(&self) -> Vec<f64> {
        vec![self.threshold / self.beta]
    }
}

impl<F: Float> Activation<F> for Softplus {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        let z = cst::<F>(self.beta) * x;
        if z > cst(self.threshold) {
            x
        } else {
            softplus(z) / cst(self.beta)
        }
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        let z = cst::<F>(self.beta) * x;
        if z > cst(self.threshold) {
            F::one()
        } else {
            sigmoid(z)
        }
    }
}

impl Spec for Softplus {
    const NAMES: &'static [&'static str] = &["softplus"];
    const PARAMS: &'static [&'static str] = &["beta", "threshold"];
    fn params(&self) -> Vec<f64> {
        vec![self.beta, self.threshold]
    }
    fn from_params(p: &[f64]) -> Result<Self, ActivationError> {
        Softplus::new(p[0], p[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_above_threshold_like_pytorch() {
        let s = Softplus::default();
        assert_eq!(s.value(21.0_f64), 21.0);
        assert_eq!(s.derivative(21.0_f64), 1.0);
        assert_eq!(s.derivative(0.0_f64), 0.5);
        assert_eq!(s.value(0.0_f64), std::f64::consts::LN_2);
        let b = Softplus::new(2.0, 20.0).unwrap();
        assert_eq!(b.value(10.5_f64), 10.5);
        assert!(b.value(9.5_f64) > 9.5);
    }

    #[test]
    fn finite_with_a_huge_threshold() {
        let s = Softplus::new(1.0, 1e6).unwrap();
        assert_eq!(s.value(1e4_f64), 1e4);
        assert_eq!(s.value(-1e4_f64), 0.0);
    }

    #[test]
    fn rejects_non_positive_beta() {
        assert!(matches!(
            Softplus::new(0.0, 20.0),
            Err(ActivationError::InvalidParam { param: "beta", .. })
        ));
        assert!(Softplus::new(1.0, f64::INFINITY).is_err());
    }

    /// Its one "kink" is PyTorch's switch to the identity at threshold/β; positive
    /// everywhere (no dead unit), unbounded above.
    #[test]
    fn facts() {
        assert_eq!(Softplus::default().kinks(), [20.0]);
        assert_eq!(Softplus::new(0.5, 5.0).unwrap().kinks(), [10.0]);
        assert_eq!(Softplus::default().saturation(), Saturation::NONE);
        assert!(!Softplus::default().can_die());
        assert_eq!(
            Softplus::default().torch_repr(),
            "Softplus(beta=1.0, threshold=20.0)"
        );
        assert_eq!(
            Softplus::new(2.0, 15.0).unwrap().torch_repr(),
            "Softplus(beta=2.0, threshold=15.0)"
        );
    }
}
