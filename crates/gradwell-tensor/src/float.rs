use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use crate::Isa;

/// The element type of every gradwell array: implemented for `f32` (training) and `f64`
/// (gradient checks and statistics).
///
/// It gathers what the numerical code needs — [`num_traits::Float`] arithmetic, ndarray's
/// [`ndarray::LinalgScalar`] and [`ndarray::ScalarOperand`], compound assignment — plus
/// lossless-enough conversions to and from `f64` ([`Float::of`], [`Float::as_f64`]) and the
/// entry point of the matrix kernel for the type ([`Float::gemm_raw`]).
///
/// ```
/// use gradwell_tensor::Float;
///
/// fn half<F: Float>(x: F) -> F {
///     x * F::of(0.5)
/// }
/// assert_eq!(half(3.0_f32), 1.5);
/// assert_eq!(f64::NAME, "f64");
/// ```
pub trait Float:
    num_traits::Float
    + num_traits::FromPrimitive
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Default
    + Debug
    + Display
    + LowerExp
    + Send
    + Sync
    + serde::Serialize
    + serde::de::DeserializeOwned
    + 'static
{
    /// The type's name as it appears in files (`"f32"` or `"f64"`).
    const NAME: &'static str;

    /// Converts an `f64` constant to this type (rounding to nearest for `f32`).
    fn of(x: f64) -> Self;

    /// Widens (or keeps) this value as an `f64`.
    fn as_f64(self) -> f64;

    /// e^x by arithmetic only (no call into the math library), so that a loop over a slice
    /// of it is vectorized, e.g. inside [`crate::vectorized_with`], whose [`Isa`] says
    /// whether the multiply-adds are fused. `f32`: range reduction by ln 2 and a degree-7
    /// polynomial, within 2 ulp of e^x for x in [−87, 88] (the input is clamped to that
    /// range: below it the result is about 1.6e-38, above it about 1.7e38, never 0 or ∞;
    /// NaN stays NaN). `f64`: the standard library's `exp`.
    ///
    /// ```
    /// use gradwell_tensor::{Float, Isa};
    ///
    /// let e = 1.0_f32.exp_vectorizable(Isa::PORTABLE);
    /// assert!((e - std::f32::consts::E).abs() <= 2.0 * f32::EPSILON * e);
    /// ```
    fn exp_vectorizable(self, isa: Isa) -> Self;

    /// The general matrix product `C ← α·A·B + β·C` on raw strided storage, dispatched to
    /// the type's kernel (f32: the [`crate::active_kernel`] path; f64: `matrixmultiply`). `A` is `m×k`, `B` is `k×n`, `C` is `m×n`; each
    /// operand is given by a pointer to its element `[0, 0]` and its row and column strides
    /// in elements. When `β` is zero `C` is not read.
    ///
    /// # Safety
    /// The pointers and strides must describe in-bounds storage for the given dimensions,
    /// and `C` must not alias `A` or `B`. Use the safe [`crate::gemm`](fn@crate::gemm) instead.
    #[allow(clippy::too_many_arguments, unsafe_code)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );
}

macro_rules! impl_float {
    ($t:ty, $name:literal, $kernel:path, $exp:path) => {
        impl Float for $t {
            const NAME: &'static str = $name;

            #[inline(always)]
            fn of(x: f64) -> Self {
                x as $t
            }

            #[inline(always)]
            fn as_f64(self) -> f64 {
                self as f64
            }

            #[inline(always)]
            fn exp_vectorizable(self, isa: Isa) -> Self {
                $exp(self, isa)
            }

            /// # Safety
            /// As [`Float::gemm_raw`].
            #[allow(unsafe_code)]
            #[inline]
            unsafe fn gemm_raw(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: *const Self,
                rsa: isize,
                csa: isize,
                b: *const Self,
                rsb: isize,
                csb: isize,
                beta: Self,
                c: *mut Self,
                rsc: isize,
                csc: isize,
            ) {
                // SAFETY: forwarded verbatim; the caller upholds the kernel's contract.
                unsafe { $kernel(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
impl_float!(f32, "f32", crate::kernel::sgemm, exp_f32);
#[cfg(not(target_arch = "x86_64"))]
impl_float!(f32, "f32", matrixmultiply::sgemm, exp_f32);
impl_float!(f64, "f64", matrixmultiply::dgemm, exp_f64);

/// [`Float::exp_vectorizable`] for `f32`: x = k·ln 2 + r with |r| ≤ ln 2 / 2 (k rounded to
/// nearest by the 1.5·2²³ trick, ln 2 split in two parts so that r is exact), e^r by its
/// Taylor polynomial to degree 7 (truncation error below 3e-9), and 2^k put into the
/// exponent bits. Only arithmetic and bit moves: vectorizes. With [`Isa::fma`] its ten
/// multiply-adds are fused: about a third fewer instructions.
#[inline(always)]
fn exp_f32(x: f32, isa: Isa) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer.
    // ln 2 = LN2_HI + LN2_LO, LN2_HI with few enough bits that k·LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4; // exactly 0.693359375 (= 355/512)
    const LN2_LO: f32 = -2.121_944_4e-4;
    // NaN passes `clamp` unchanged and poisons the result.
    let x = x.clamp(-87.0, 88.0);
    let t = isa.mul_add(x, std::f32::consts::LOG2_E, ROUND);
    let k = t - ROUND;
    let r = isa.mul_add(-k, LN2_LO, isa.mul_add(-k, LN2_HI, x));
    let mut p: f32 = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = isa.mul_add(p, r, c);
    }
    // The low bits of `t` hold k (offset by 2²²); k lies in [−126, 127].
    let k = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let scale = f32::from_bits(((k + 127) as u32) << 23);
    p * scale
}

/// [`Float::exp_vectorizable`] for `f64`: the standard library's `exp` (gradient checks).
#[inline(always)]
fn exp_f64(x: f64, _: Isa) -> f64 {
    x.exp()
}

#[cfg(test)]
mod tests {
    use super::Float;
    use crate::Isa;

    /// The vectorizable f32 exp stays within 2 ulp (relative 2.4e-7) of the exact value
    /// across its whole range, its multiply-adds fused or not, and saturates instead of
    /// overflowing. Not under Miri, whose
    /// `f64::exp` is deliberately inexact (so the reference and the f64 identity are not
    /// what this test compares against) and which takes minutes over the 128 k points.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn f32_exp_is_accurate_over_its_range() {
        for isa in [Isa::with_fma(false), Isa::with_fma(true)] {
            let mut worst = 0.0_f64;
            let mut x = -87.0_f32;
            while x <= 88.0 {
                let got = f64::from(x.exp_vectorizable(isa));
                let want = f64::from(x).exp();
                worst = worst.max((got / want - 1.0).abs());
                x += 0.001_37;
            }
            assert!(worst < 2.4e-7, "{isa:?}: worst relative error {worst:e}");
            assert!(1000.0_f32.exp_vectorizable(isa).is_finite());
            assert!((-1000.0_f32).exp_vectorizable(isa) > 0.0);
            assert!(f32::NAN.exp_vectorizable(isa).is_nan());
            assert_eq!(0.0_f32.exp_vectorizable(isa), 1.0);
            assert_eq!(1.5_f64.exp_vectorizable(isa), 1.5_f64.exp());
        }
    }
}
