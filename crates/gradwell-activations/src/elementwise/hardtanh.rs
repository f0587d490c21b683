use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{Spec, spec_name};
use crate::error::finite;
use crate::math::cst;
use crate::pyfmt::py_float;
use crate::{Activation, ActivationError, ActivationInfo, Saturation, second_moment_gain};

/// Hardtanh (`F.hardtanh(x, min_val=-1., max_val=1.)`): x clamped to [min, max]; f′ = 1 on
/// the **open** interval (min, max) and 0 elsewhere, bounds included (PyTorch's
/// convention; Keras-JAX gives 1 at the bounds).
///
/// Saturates: f′ = 0 beyond either bound. NaN inputs give NaN. PyTorch has no gain for
/// hardtanh; the gain is the second-moment gain (≈ 1.3920 for [−1, 1]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hardtanh {
    pub(super) min: f64,
    pub(super) max: f64,
}

impl Hardtanh {
    /// Hardtanh clamping to [min, max]; both finite, min < max.
    pub fn new(min: f64, max: f64) -> Result<Self, ActivationError> {
        let min = finite("hardtanh", "min", min)?;
        let max = finite("hardtanh", "max", max)?;
        if max <= min {
            return Err(ActivationError::InvalidParam {
                activation: "hardtanh",
                param: "max",
                value: max,
                why: "must be greater than min",
            });
        }
        Ok(Hardtanh { min, max })
    }

    /// The lower bound.
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The upper bound.
    pub fn max(&self) -> f64 {
        self.max
    }
}

impl Default for Hardtanh {
    /// PyTorch's defaults, [−1, 1].
    fn default() -> Self {
        Hardtanh {
            min: -1.0,
            max: 1.0,
        }
    }
}

impl ActivationInfo for Hardtanh {
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
        // A bound at 0 is where a unit dies (ReLU6 is hardtanh on [0, 6]).
        let lower = (self.min != 0.0).then_some(self.min);
        Saturation::reached(lower, Some(self.max))
    }
    fn can_die(&self) -> bool {
        self.min == 0.0
    }
    fn torch_class(&self) -> &'static str {
        "Hardtanh"
    }
    fn torch_args(&self) -> String {
        format!(
            "min_val={}, max_val={}",
            py_float(self.min),
            py_float(self.max)
        )
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        None
    }
    fn kinks(&self) -> Vec<f64> {
        vec![self.min, self.max]
    }
}

impl<F: Float> Activation<F> for Hardtanh {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        let (lo, hi) = (cst::<F>(self.min), cst::<F>(self.max));
        if x < lo {
            lo
        } else if x > hi {
            hi
        } else {
            x
        }
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        let (lo, hi) = (cst::<F>(self.min), cst::<F>(self.max));
        if (x <= lo) | (x >= hi) {
            F::zero()
        } else {
            F::one()
        }
    }
    fn forward_slice(&self, x: &[F], y: &mut [F]) {
        let (lo, hi) = (cst::<F>(self.min), cst::<F>(self.max));
        for (y, &x) in y.iter_mut().zip(x) {
            let t = if x < lo { lo } else { x };
            *y = if t > hi { hi } else { t };
        }
    }
    fn backward_slice(&self, x: &[F], _y: &[F], dy: &[F], dx: &mut [F]) {
        let (lo, hi) = (cst::<F>(self.min), cst::<F>(self.max));
        for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
            *dx = *dx + if (x <= lo) | (x >= hi) { F::zero() } else { dy };
        }
    }
}

impl Spec for Hardtanh {
    const NAMES: &'static [&'static str] = &["hardtanh"];
    const PARAMS: &'static [&'static str] = &["min", "max"];
    fn params(&self) -> Vec<f64> {
        vec![self.min, self.max]
    }
    fn from_params(p: &[f64]) -> Result<Self, ActivationError> {
        Hardtanh::new(p[0], p[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Relu6;

    #[test]
    fn zero_derivative_at_the_bounds() {
        let h = Hardtanh::default();
        assert_eq!(h.derivative(1.0_f64), 0.0);
        assert_eq!(h.derivative(-1.0_f64), 0.0);
        assert_eq!(h.derivative(0.999_f64), 1.0);
        assert_eq!(h.value(-7.0_f64), -1.0);
        assert!(h.value(f64::NAN).is_nan());
    }

    #[test]
    fn rejects_empty_interval() {
        assert!(matches!(
            Hardtanh::new(1.0, 1.0),
            Err(ActivationError::InvalidParam { param: "max", .. })
        ));
    }

    /// Kinks at both bounds, which it reaches; a bound at 0 is a dead side instead.
    #[test]
    fn facts() {
        let h = Hardtanh::default();
        assert_eq!(h.kinks(), [-1.0, 1.0]);
        assert_eq!(h.saturation(), Saturation::reached(Some(-1.0), Some(1.0)));
        assert!(h.saturates() && !h.can_die());
        let h = Hardtanh::new(0.0, 6.0).unwrap();
        assert_eq!(h.saturation(), Relu6.saturation());
        assert!(h.can_die());
        assert_eq!(
            Hardtanh::default().torch_repr(),
            "Hardtanh(min_val=-1.0, max_val=1.0)"
        );
        assert_eq!(
            Hardtanh::new(-0.5, 2.0).unwrap().torch_repr(),
            "Hardtanh(min_val=-0.5, max_val=2.0)"
        );
    }
}
