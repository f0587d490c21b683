use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

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

    /// The general matrix product `C ← α·A·B + β·C` on raw strided storage, dispatched to
    /// the type's `matrixmultiply` kernel. `A` is `m×k`, `B` is `k×n`, `C` is `m×n`; each
    /// operand is given by a pointer to its element `[0, 0]` and its row and column strides
    /// in elements. When `β` is zero `C` is not read.
    ///
    /// # Safety
    /// The pointers and strides must describe in-bounds storage for the given dimensions,
    /// and `C` must not alias `A` or `B`. Use the safe [`crate::gemm`] instead.
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
    ($t:ty, $name:literal, $kernel:path) => {
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
impl_float!(f32, "f32", crate::avx512::sgemm);
#[cfg(not(target_arch = "x86_64"))]
impl_float!(f32, "f32", matrixmultiply::sgemm);
impl_float!(f64, "f64", matrixmultiply::dgemm);
