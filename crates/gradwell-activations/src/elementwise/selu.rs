use gradwell_init::{Nonlinearity, calculate_gain};
use num_traits::Float;

use super::{Elu, Spec, spec_name};
use crate::math::cst;
use crate::{Activation, ActivationError, ActivationInfo, Saturation};

/// The scaled ELU of self-normalizing networks (`F.selu`): λ·elu(x, α) with PyTorch's exact
/// constants [`Selu::ALPHA`] and [`Selu::LAMBDA`]; f′ = λ for x > 0 and λα·eˣ for x ≤ 0, so
/// sup |f′| = λα ≈ 1.7581, reached at 0 (PyTorch's selu′(0) = λα).
///
/// Gain 3/4, PyTorch's empirical value; PyTorch's docs advise the linear gain 1 (LeCun
/// init) for self-normalizing networks, which is also the second-moment gain of SELU.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Selu;

impl Selu {
    /// α = 1.6732632423543772848170429916717 (Klambauer et al., PyTorch's constant).
    pub const ALPHA: f64 = 1.673_263_242_354_377_3;
    /// λ = 1.0507009873554804934193349852946 (Klambauer et al., PyTorch's constant).
    pub const LAMBDA: f64 = 1.050_700_987_355_480_5;
    /// The ELU that SELU scales.
    const ELU: Elu = Elu { alpha: Self::ALPHA };
}

impl ActivationInfo for Selu {
    fn name(&self) -> String {
        spec_name(self)
    }
    fn gain(&self) -> f64 {
        calculate_gain(Nonlinearity::Selu)
    }
    fn derivative_bound(&self) -> f64 {
        Self::LAMBDA * Self::ALPHA
    }
    fn saturation(&self) -> Saturation {
        Saturation::NONE
    }
    fn can_die(&self) -> bool {
        false
    }
    fn torch_class(&self) -> &'static str {
        "SELU"
    }
    fn torch_args(&self) -> String {
        String::new()
    }
    fn nonlinearity(&self) -> Option<Nonlinearity> {
        Some(Nonlinearity::Selu)
    }
    fn kinks(&self) -> Vec<f64> {
        vec![0.0]
    }
}

impl<F: Float> Activation<F> for Selu {
    #[inline(always)]
    fn value(&self, x: F) -> F {
        cst::<F>(Self::LAMBDA) * Self::ELU.value(x)
    }
    #[inline(always)]
    fn derivative(&self, x: F) -> F {
        cst::<F>(Self::LAMBDA) * Self::ELU.derivative(x)
    }
    // The slice backward is the default, from the input (λα·eˣ), as PyTorch's `F.selu`
    // differentiates (only the in-place `selu_` works from the output).
}

impl Spec for Selu {
    const NAMES: &'static [&'static str] = &["selu"];
    const PARAMS: &'static [&'static str] = &[];
    fn params(&self) -> Vec<f64> {
        Vec::new()
    }
    fn from_params(_: &[f64]) -> Result<Self, ActivationError> {
        Ok(Selu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's selu′(0) = λα = 1.7580993 (printed to 8 digits).
    #[test]
    fn derivative_at_zero_is_lambda_alpha() {
        assert!((Selu.derivative(0.0_f64) - 1.758_099_3).abs() < 1e-7);
    }

    /// The second-moment gain of SELU is 1 (its fixed point), unlike PyTorch's 3/4.
    #[test]
    fn self_normalizing_second_moment() {
        let g = crate::second_moment_gain(|x| Selu.value(x));
        assert!((g - 1.0).abs() < 1e-6, "{g}");
    }

    /// A kink at 0; saturates to −λα below (not 0: no dead unit), unbounded above.
    #[test]
    fn facts() {
        assert_eq!(Selu.kinks(), [0.0]);
        assert_eq!(Selu.saturation(), Saturation::NONE);
        assert!(!Selu.can_die());
        assert_eq!(Selu.torch_repr(), "SELU()");
    }
}
