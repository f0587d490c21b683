//! Numbers and arrays for gradwell: the [`Float`] trait (f32 for training, f64 for
//! checking), matrix products that take strided and transposed operands without copying
//! ([`gemm`](fn@gemm), [`matmul`], [`batched_matmul`]), broadcasting element-wise arithmetic
//! ([`broadcast_shape`], [`zip_broadcast`], [`sum_to_shape`]) and reductions over axes
//! ([`sum_axis`], [`mean_axis`]), and the class-label type [`ClassLabel`] that data sets
//! and the tape share.
//!
//! Everything here works on plain [`ndarray`] arrays and knows nothing of autodiff,
//! layers or training. Shape problems are returned as a [`ShapeError`] that names both
//! shapes; nothing in this crate panics on a shape a caller passed.
//!
//! # Design choice: strides, not copies
//!
//! Products go through [`matrixmultiply`], which accepts arbitrary row and column strides.
//! A transposed operand is therefore just `a.t()` (a view with its strides swapped) and a
//! gradient can be accumulated in place with `beta = 1`. The cost is that operands must
//! be views with in-bounds strides, which ndarray guarantees.
//!
//! # Kernels
//!
//! On x86-64 processors with AVX-512, or else with AVX2 and FMA (see
//! [`Kernel::DEFAULT_ORDER`]), f32 products whose output
//! and one of whose operands have a unit stride (every product of a linear layer) run on
//! gradwell's own kernels, which read `A` and a row-major `B` where they lie (copying
//! blocks of `B` into panels only for products of many rows, and blocks of `A` only for
//! products of many columns) and transpose a `Bᵀ` (a linear layer's `X·Wᵀ`) in register
//! blocks, instead of packing both operands for every product; everything else runs on
//! `matrixmultiply`. [`vectorized`] gives element-wise loops elsewhere in gradwell
//! the same 16- or 8-lane instructions. [`active_kernel`] says which path ([`Kernel`])
//! runs; `GRADWELL_KERNEL=avx512|avx2|portable` forces one, for comparison (results are
//! equal to rounding: the products sum in another order).
//!
//! # Threads
//!
//! Products from [`PARALLEL_MIN_MACS`] multiply-adds up are split by columns (or rows, for
//! a narrow output) into one block per thread, each block one single-threaded kernel call,
//! run by the calling thread and a persistent pool of helpers; smaller products stay on
//! the calling thread. The count follows [`set_num_threads`], then `GRADWELL_NUM_THREADS`
//! or `MATMUL_NUM_THREADS`, then the available cores. `matrixmultiply`'s own threading is
//! not used: its thread count is fixed per process at the first product and it threads
//! small products too, which made two threads slower than one on the seed model.
//!
//! ```
//! use gradwell_tensor::{gemm, matmul};
//! use ndarray::array;
//!
//! let a = array![[1.0_f64, 2.0], [3.0, 4.0]];
//! let b = array![[5.0_f64, 6.0], [7.0, 8.0]];
//! assert_eq!(matmul(&a.view(), &b.view())?, array![[19.0, 22.0], [43.0, 50.0]]);
//!
//! // C = 1·Aᵀ·B + 1·C, with the transpose taken as a view: no copy.
//! let mut c = ndarray::Array2::<f64>::ones((2, 2));
//! gemm(1.0, &a.t(), &b.view(), 1.0, &mut c.view_mut())?;
//! assert_eq!(c, array![[27.0, 31.0], [39.0, 45.0]]);
//! # Ok::<(), gradwell_tensor::ShapeError>(())
//! ```
#![doc(test(attr(deny(warnings))))]

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod blocked;
mod broadcast;
mod error;
mod float;
mod gemm;
mod kernel;
mod label;
mod packed;
mod reduce;
mod threads;

pub use broadcast::{broadcast_shape, sum_to_shape, zip_broadcast, zip_broadcast_into};
pub use error::ShapeError;
pub use float::Float;
pub use gemm::{batched_matmul, batched_matmul_new, gemm, matmul};
pub use kernel::{Isa, KERNEL_ENV, Kernel, UnknownKernel, active_kernel};
pub use label::{ClassLabel, DEFAULT_IGNORE_INDEX};
pub use packed::{PackedB, gemm_packed};
pub use reduce::{check_axis, mean_axis, sum_axis, sum_map_f64, sum_squares_f64};
pub use threads::{PARALLEL_MIN_MACS, num_threads, set_num_threads};

/// Whether gradwell's AVX-512 code runs in this process: [`active_kernel`] is
/// [`Kernel::Avx512`].
///
/// ```
/// // Either way the results agree to rounding; this only says which code runs.
/// let _ = gradwell_tensor::avx512_enabled();
/// ```
pub fn avx512_enabled() -> bool {
    active_kernel() == Kernel::Avx512
}

/// Sets every element to zero: one `memset` when the array is contiguous in memory (in
/// any order), an element loop otherwise.
///
/// ```
/// let mut g = ndarray::Array2::<f32>::ones((3, 4));
/// gradwell_tensor::fill_zero(&mut g);
/// assert!(g.iter().all(|&v| v == 0.0));
/// ```
pub fn fill_zero<F: Float, D: ndarray::Dimension>(a: &mut ndarray::Array<F, D>) {
    match a.as_slice_memory_order_mut() {
        Some(s) => s.fill(F::zero()),
        None => a.fill(F::zero()),
    }
}

/// Runs `f` compiled for the active kernel path's vector instructions ([`active_kernel`]):
/// on x86-64 with AVX-512, `f` runs inside a function built for AVX-512, so the simple
/// element-wise loops inlined into it are vectorized sixteen `f32` lanes wide; with AVX2
/// and FMA, inside one built for those, eight lanes wide; on the portable path (and other
/// architectures) `f` just runs. The result is the same either way (the loops' arithmetic
/// does not change, only how many lanes run at once: Rust does not fuse a separate
/// multiply and add into an FMA; [`vectorized_with`] lets a loop fuse them where that is
/// one instruction).
///
/// Mark the closure and the loop's function `#[inline(always)]` so that they are
/// compiled inside (a closure or function that is not inlined keeps the baseline
/// instructions).
///
/// ```
/// #[inline(always)]
/// fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
///     for (y, x) in y.iter_mut().zip(x) {
///         *y += a * x;
///     }
/// }
/// let (x, mut y) = (vec![1.0_f32; 100], vec![2.0_f32; 100]);
/// gradwell_tensor::vectorized(
///     #[inline(always)]
///     || axpy(0.5, &x, &mut y),
/// );
/// assert!(y.iter().all(|&v| v == 2.5));
/// ```
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    kernel::vectorized_with(
        #[inline(always)]
        |_| f(),
    )
}

/// [`vectorized`], with `f` told what the instructions it is compiled for can do
/// ([`Isa`]): a constant on each path, so a branch on it costs nothing once `f` is inlined.
/// With [`Isa::mul_add`] a loop's multiply-adds are fused on the AVX-512 and AVX2 paths
/// (one instruction, one rounding) and stay a multiply and an add on the portable path of
/// an x86-64 processor without FMA, where `mul_add` would be a library call. Results then
/// differ between paths in the last bits.
///
/// ```
/// #[inline(always)]
/// fn axpy(isa: gradwell_tensor::Isa, a: f32, x: &[f32], y: &mut [f32]) {
///     for (y, &x) in y.iter_mut().zip(x) {
///         *y = isa.mul_add(a, x, *y);
///     }
/// }
/// let (x, mut y) = (vec![1.0_f32; 100], vec![2.0_f32; 100]);
/// gradwell_tensor::vectorized_with(
///     #[inline(always)]
///     |isa| axpy(isa, 0.5, &x, &mut y),
/// );
/// assert!(y.iter().all(|&v| v == 2.5));
/// ```
#[inline(always)]
pub fn vectorized_with<R>(f: impl FnOnce(Isa) -> R) -> R {
    kernel::vectorized_with(f)
}

/// Re-export of the array crate every gradwell crate speaks, so that users name one version.
pub use ndarray;
