use gradwell_init::{Nonlinearity, calculate_gain};
use num_traits::Float;

use super::{Spec, spec_name};
use crate::error::finite;
use crate::math::cst;
use crate::pyfmt::py_float;
use crate::{Activation, ActivationError, ActivationInfo, Saturation};

/// The leaky rectifier (`F.leaky_relu(x, negative_slope=0.01)`): x for x > 0, slope·x
/// otherwise; f′ = 1 for x > 0 and slope for x ≤ 0 (leaky′(0) = slope, as in PyTorch).
/// Gain √(2/(1 + slope²)) (PyTorch's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyRelu {
    pub(super) slope: f64,
}

impl LeakyRelu {
    /// PyTorch's default negative slope, 0.01.
    pub const DEFAULT_SLOPE: f64 = Nonlinearity::DEFAULT_LEAKY_SLOPE;

    /// A leaky rectifier with this negative slope; it must be finite (any sign, as in
    /// PyTorch).
    pub fn new(slope: f64) -> Result<Self, ActivationError> {
        Ok(LeakyRelu {
            slope: finite("leaky-relu", "slope", slope)?,
        })
    }

    /// The negative slope.
    pub fn slope(&self) -> f64 {
        self.slope
    }
}

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu {
            slope: Self::DEFAULT_SLOPE,
        }
    }
}

impl ActivationInfo for LeakyRelu {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        calculate_gain(Nonlinearity::LeakyRelu(self.slope))
    }
    fn derivative_bound(&self) -> f64 {
        self.slope.abs().max(1.0)
    }
    fn saturation(&self) -> Saturation {
        Saturation::NONE
    }
    fn can_die(&self) -> bool {
        self.slope == 0.0
    }
    fn torch_class(&self) -> &'static str {
        "LeakyReLU"
    }
    fn torch_args(&self) -> String {
        format!("negative_slope={}", py_float(self.slope))
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        Some(Nonlinearity::LeakyRelu(self.slope))
    }
    fn kinks(&self) -> Vec<f64> {
        vec![0.0]
    }
}

impl<F: Float> Activation<F> for LeakyRelu {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        if x > F::zero() {
            x
        } else {
            x * cst(self.slope)
        }
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        if x > F::zero() {
            F::one()
        } else {
            cst(self.slope)
        }
    }
    fn forward_slice(&self, x: &[F], y: &mut [F]) {
        let s: F = cst(self.slope);
        for (y, &x) in y.iter_mut().zip(x) {
            *y = if x > F::zero() { x } else { x * s };
        }
    }
    fn backward_slice(&self, x: &[F], _y: &[F], dy: &[F], dx: &mut [F]) {
        let s: F = cst(self.slope);
        for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
            *dx = *dx + if x > F::zero() { dy } else { dy * s };
        }
    }
}

impl Spec for LeakyRelu {
    const NAMES: &'static [&'static str] = &["leaky-relu"];
    const PARAMS: &'static [&'static str] = &["slope"];
    fn params(&self) -> Vec<f64> {
        vec![self.slope]
    }
    fn from_params(p: &[f64]) -> Result<Self, ActivationError> {
        LeakyRelu::new(p[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytorch_convention_at_the_kink() {
        let a = LeakyRelu::new(0.2).unwrap();
        assert_eq!(a.derivative(0.0_f64), 0.2);
        assert_eq!(a.value(-5.0_f64), -1.0);
        assert_eq!(LeakyRelu::default().derivative(-1.0_f64), 0.01);
    }

    #[test]
    fn rejects_non_finite_slope() {
        assert!(matches!(
            LeakyRelu::new(f64::NAN),
            Err(ActivationError::InvalidParam { param: "slope", .. })
        ));
    }

    #[test]
    fn gain_is_pytorch_leaky_gain() {
        assert_eq!(LeakyRelu::new(0.2).unwrap().gain(), 1.3867504905630728);
    }

    /// A kink at 0; units die only at slope 0, where it is ReLU; PyTorch's repr.
    #[test]
    fn facts() {
        assert_eq!(LeakyRelu::default().kinks(), [0.0]);
        assert_eq!(LeakyRelu::default().saturation(), Saturation::NONE);
        assert!(!LeakyRelu::default().can_die());
        assert!(!LeakyRelu::new(-0.5).unwrap().can_die());
        assert!(LeakyRelu::new(0.0).unwrap().can_die());
        assert_eq!(
            LeakyRelu::default().torch_repr(),
            "LeakyReLU(negative_slope=0.01)"
        );
        assert_eq!(
            LeakyRelu::new(1e-5).unwrap().torch_repr(),
            "LeakyReLU(negative_slope=1e-05)"
        );
    }
}
