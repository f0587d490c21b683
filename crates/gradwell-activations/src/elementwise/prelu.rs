use gradwell_init::Nonlinearity;
use num_traits::Float;

use super::{LeakyRelu, Spec, spec_name};
use crate::error::finite;
use crate::{Activation, ActivationError, ActivationInfo, Saturation};

/// The math of PyTorch's `nn.PReLU(num_parameters=1, init=0.25)` at a given slope a:
/// max(0, x) + a·min(0, x); ∂f/∂x = 1 for x > 0 and a for x ≤ 0 (a at 0, as in PyTorch),
/// and ∂f/∂a = min(0, x) ([`Prelu::slope_derivative`]).
///
/// The slope is learned in the nn layer; here it is a fixed number. The gain is PyTorch's
/// leaky-ReLU gain √(2/(1 + a²)) at the current slope: He et al. (2015) derived exactly
/// this gain for PReLU, and at a given slope PReLU is a leaky ReLU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prelu {
    slope: f64,
}

impl Prelu {
    /// PyTorch's default initial slope, 0.25.
    pub const DEFAULT_INIT: f64 = 0.25;

    /// PReLU at this slope; it must be finite.
    pub fn new(slope: f64) -> Result<Self, ActivationError> {
        Ok(Prelu {
            slope: finite("prelu", "slope", slope)?,
        })
    }

    /// The leaky rectifier with the same slope, whose math PReLU shares.
    #[inline(always)]
    fn as_leaky(&self) -> LeakyRelu {
        LeakyRelu { slope: self.slope }
    }

    /// The slope a.
    pub fn slope(&self) -> f64 {
        self.slope
    }

    /// ∂f/∂a = min(0, x).
    #[inline(always)]
    pub fn slope_derivative<F: Float>(&self, x: F) -> F {
        if x < F::zero() { x } else { F::zero() }
    }

    /// The gradient of a slope shared by every element: Σᵢ `dy[i]·min(0, x[i])` (over the
    /// common prefix of the slices). Per-channel slopes sum per channel in the nn layer.
    pub fn slope_backward_slice<F: Float>(&self, x: &[F], dy: &[F]) -> F {
        let mut sum = F::zero();
        for (&x, &dy) in x.iter().zip(dy) {
            sum = sum + dy * self.slope_derivative(x);
        }
        sum
    }
}

impl Default for Prelu {
    fn default() -> Self {
        Prelu {
            slope: Self::DEFAULT_INIT,
        }
    }
}

impl ActivationInfo for Prelu {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        self.as_leaky().gain()
    }
    fn derivative_bound(&self) -> f64 {
        self.as_leaky().derivative_bound()
    }
    fn saturation(&self) -> Saturation {
        self.as_leaky().saturation()
    }
    fn can_die(&self) -> bool {
        self.as_leaky().can_die()
    }
    fn torch_class(&self) -> &'static str {
        "PReLU"
    }
    /// PyTorch's `nn.PReLU.extra_repr`, which prints the number of slopes (one here) and
    /// not the slope: `PReLU(num_parameters=1)` whatever `init` was.
    fn torch_args(&self) -> String {
        "num_parameters=1".to_string()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        self.as_leaky().nonlinearity()
    }
    fn kinks(&self) -> Vec<f64> {
        self.as_leaky().kinks()
    }
}

impl<F: Float> Activation<F> for Prelu {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        self.as_leaky().value(x)
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        self.as_leaky().derivative(x)
    }
    fn forward_slice(&self, x: &[F], y: &mut [F]) {
        self.as_leaky().forward_slice(x, y)
    }
    fn backward_slice(&self, x: &[F], y: &[F], dy: &[F], dx: &mut [F]) {
        self.as_leaky().backward_slice(x, y, dy, dx)
    }
}

impl Spec for Prelu {
    const NAMES: &'static [&'static str] = &["prelu"];
    const PARAMS: &'static [&'static str] = &["slope"];
    fn params(&self) -> Vec<f64> {
        vec![self.slope]
    }
    fn from_params(p: &[f64]) -> Result<Self, ActivationError> {
        Prelu::new(p[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_gradient_is_the_sum_over_negative_inputs() {
        let p = Prelu::default();
        let x = [-2.0_f64, 3.0, -0.5, 0.0];
        let dy = [1.0, 10.0, 4.0, 7.0];
        // Only x < 0 contributes: 1·(−2) + 4·(−0.5) = −4.
        assert_eq!(p.slope_backward_slice(&x, &dy), -4.0);
    }

    #[test]
    fn slope_derivative_matches_finite_difference_in_the_slope() {
        let x = -1.7_f64;
        let h = 1e-6;
        let f = |a: f64| Prelu::new(a).unwrap().value(x);
        let fd = (f(0.25 + h) - f(0.25 - h)) / (2.0 * h);
        assert!((fd - Prelu::default().slope_derivative(x)).abs() < 1e-9);
    }

    #[test]
    fn derivative_at_zero_is_the_slope() {
        assert_eq!(Prelu::default().derivative(0.0_f64), 0.25);
    }

    /// A leaky ReLU's facts at its slope; printed as PyTorch prints `nn.PReLU(init=a)`,
    /// without the slope.
    #[test]
    fn facts() {
        assert_eq!(Prelu::default().kinks(), [0.0]);
        assert_eq!(Prelu::default().saturation(), Saturation::NONE);
        assert!(!Prelu::default().can_die());
        assert!(Prelu::new(0.0).unwrap().can_die());
        assert_eq!(Prelu::default().torch_repr(), "PReLU(num_parameters=1)");
        assert_eq!(
            Prelu::new(-2.0).unwrap().torch_repr(),
            "PReLU(num_parameters=1)"
        );
    }
}
