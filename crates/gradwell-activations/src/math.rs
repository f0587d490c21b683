//! Numerically stable building blocks shared by several activations. Every function here is
//! finite for every finite input and branch-free apart from selects, so that loops over
//! slices can be vectorized.

use num_traits::Float;

/// An `f64` constant in the working type (exact for `f64`, rounded to nearest for `f32`).
#[inline(always)]
pub(crate) fn cst<F: Float>(v: f64) -> F {
    F::from(v).unwrap_or_else(F::nan)
}

/// The logistic sigmoid σ(x) = 1/(1+e^{−x}), computed from e^{−|x|} so that it neither
/// overflows nor loses relative accuracy on the negative side.
#[inline(always)]
pub(crate) fn sigmoid<F: Float>(x: F) -> F {
    let e = (-x.abs()).exp();
    let r = F::one() / (F::one() + e);
    if x >= F::zero() { r } else { e * r }
}

/// σ′(x) = σ(x)·σ(−x) = e/(1+e)² with e = e^{−|x|}: accurate on both tails, where the
/// textbook σ(1−σ) cancels to 0.
#[inline(always)]
pub(crate) fn sigmoid_derivative<F: Float>(x: F) -> F {
    let e = (-x.abs()).exp();
    let r = F::one() / (F::one() + e);
    // Near 0 the product can round one ulp above 1/4, its true supremum.
    (e * r * r).min(cst::<F>(0.25))
}

/// sech²(x) = 1 − tanh²(x) = 4e/(1+e)² with e = e^{−2|x|}: accurate on the tails, where
/// 1 − tanh² cancels.
#[inline(always)]
pub(crate) fn sech2<F: Float>(x: F) -> F {
    let a = x.abs();
    let e = (-(a + a)).exp();
    let r = F::one() / (F::one() + e);
    // Near 0 the product can round one ulp above 1, its true supremum.
    (cst::<F>(4.0) * e * r * r).min(F::one())
}

/// log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|}): no overflow for large x, no underflow to
/// a wrong value for very negative x.
#[inline(always)]
pub(crate) fn softplus<F: Float>(x: F) -> F {
    x.max(F::zero()) + (-x.abs()).exp().ln_1p()
}

/// The complementary error function, evaluated in `f64` by `libm` (then rounded to `F`).
#[inline]
pub(crate) fn erfc<F: Float>(x: F) -> F {
    cst(libm::erfc(x.to_f64().unwrap_or(f64::NAN)))
}

/// The standard normal density φ(x) = e^{−x²/2}/√(2π).
#[inline]
pub(crate) fn normal_pdf<F: Float>(x: F) -> F {
    let inv_sqrt_2pi = cst::<F>(0.398_942_280_401_432_7);
    inv_sqrt_2pi * (-(x * x) * cst(0.5)).exp()
}

/// The standard normal distribution function Φ(x) = ½·erfc(−x/√2), accurate on both tails
/// (½(1 + erf(x/√2)) cancels to 0 below about −8).
#[inline]
pub(crate) fn normal_cdf<F: Float>(x: F) -> F {
    cst::<F>(0.5) * erfc(-x * cst(std::f64::consts::FRAC_1_SQRT_2))
}
