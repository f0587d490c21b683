use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis};

use crate::{Float, ShapeError};

/// The general matrix product `C ← α·A·B + β·C` over views of any strides.
///
/// `A` (`m×k`) and `B` (`k×n`) may be transposed (`x.t()`), sliced or stepped views: their
/// strides are handed to the kernel, nothing is copied. With `beta = 1` the product is
/// accumulated into `C`, which is how gradients are summed in place; with `beta = 0` the
/// old contents of `C` are ignored (even NaN). Products with a zero dimension are handled:
/// `k = 0` leaves `β·C`.
///
/// # Errors
/// [`ShapeError::Mismatch`] when the inner dimensions differ or `C` is not `m×n`.
///
/// ```
/// use gradwell_tensor::gemm;
/// use ndarray::{array, Array2};
///
/// let x = array![[1.0_f32, 2.0, 3.0]];          // 1×3
/// let w = array![[1.0_f32, 0.0, 1.0], [0.0, 1.0, 0.0]]; // 2×3, PyTorch's [out, in]
/// let mut y = Array2::<f32>::zeros((1, 2));
/// gemm(1.0, &x.view(), &w.t(), 0.0, &mut y.view_mut())?; // y = x·Wᵀ
/// assert_eq!(y, array![[4.0, 2.0]]);
/// # Ok::<(), gradwell_tensor::ShapeError>(())
/// ```
pub fn gemm<F: Float>(
    alpha: F,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    beta: F,
    c: &mut ArrayViewMut2<'_, F>,
) -> Result<(), ShapeError> {
    let (m, k, n) = product_dims(a.shape(), b.shape())?;
    if c.dim() != (m, n) {
        return Err(ShapeError::mismatch(
            "matmul output",
            &[m, n],
            c.shape(),
            "the output must be rows(A) × cols(B)",
        ));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if beta == F::zero() {
            c.fill(F::zero());
        } else {
            c.mapv_inplace(|v| v * beta);
        }
        return Ok(());
    }
    let threads = crate::threads::threads_for(m, k, n);
    if threads > 1 {
        parallel_gemm(threads, alpha, a, b, beta, c);
    } else {
        #[allow(unsafe_code)]
        // SAFETY: ndarray views guarantee that every index within their dimensions is in
        // bounds with these strides, the dimensions were checked above, and `c` is a unique
        // mutable view so it cannot alias `a` or `b`.
        unsafe {
            kernel(m, k, n, alpha, Raw::of(a), Raw::of(b), beta, Raw::of_mut(c));
        }
    }
    Ok(())
}

/// The matrix product `A·B` into a new array.
///
/// # Errors
/// [`ShapeError::Mismatch`] when the inner dimensions differ.
pub fn matmul<F: Float>(
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
) -> Result<Array2<F>, ShapeError> {
    let (m, _, n) = product_dims(a.shape(), b.shape())?;
    let mut c = Array2::zeros((m, n));
    gemm(F::one(), a, b, F::zero(), &mut c.view_mut())?;
    Ok(c)
}

/// Batched 2-D products `C[i] ← α·A[i]·B[i] + β·C[i]` over the leading axis.
///
/// Either operand may have a batch of one, which is then shared by every product
/// (broadcast without copying). `out` must have the full batch.
///
/// # Errors
/// [`ShapeError::Mismatch`] when the batches, inner dimensions or output shape disagree.
///
/// ```
/// use gradwell_tensor::batched_matmul;
/// use ndarray::{Array3, array};
///
/// let a = Array3::<f64>::ones((4, 2, 3));
/// let b = array![[[1.0], [2.0], [3.0]]]; // one 3×1 matrix shared by the 4 products
/// let mut c = Array3::<f64>::zeros((4, 2, 1));
/// batched_matmul(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut())?;
/// assert!(c.iter().all(|&v| v == 6.0));
/// # Ok::<(), gradwell_tensor::ShapeError>(())
/// ```
pub fn batched_matmul<F: Float>(
    alpha: F,
    a: &ArrayView3<'_, F>,
    b: &ArrayView3<'_, F>,
    beta: F,
    out: &mut ArrayViewMut3<'_, F>,
) -> Result<(), ShapeError> {
    let (ba, bb, bc) = (a.len_of(Axis(0)), b.len_of(Axis(0)), out.len_of(Axis(0)));
    let batch = ba.max(bb);
    if (ba != batch && ba != 1) || (bb != batch && bb != 1) || bc != batch {
        return Err(ShapeError::mismatch(
            "batched matmul",
            a.shape(),
            b.shape(),
            format!("batch sizes {ba} and {bb} (output {bc}) do not broadcast"),
        ));
    }
    for i in 0..batch {
        let ai = a.index_axis(Axis(0), if ba == 1 { 0 } else { i });
        let bi = b.index_axis(Axis(0), if bb == 1 { 0 } else { i });
        gemm(alpha, &ai, &bi, beta, &mut out.index_axis_mut(Axis(0), i))?;
    }
    Ok(())
}

/// Allocating form of [`batched_matmul`].
///
/// # Errors
/// As [`batched_matmul`].
pub fn batched_matmul_new<F: Float>(
    a: &ArrayView3<'_, F>,
    b: &ArrayView3<'_, F>,
) -> Result<Array3<F>, ShapeError> {
    let batch = a.len_of(Axis(0)).max(b.len_of(Axis(0)));
    let mut out = Array3::zeros((batch, a.len_of(Axis(1)), b.len_of(Axis(2))));
    batched_matmul(F::one(), a, b, F::zero(), &mut out.view_mut())?;
    Ok(out)
}

/// A matrix operand as the kernel takes it: the address of element `[0, 0]` and the row
/// and column strides (in elements). The address stays a pointer (so that Miri can check
/// every access against the allocation it came from, under strict provenance), and the
/// operand may be handed to the helper threads of a split product.
#[derive(Clone, Copy)]
pub(crate) struct Raw {
    pub(crate) addr: *mut u8,
    pub(crate) rs: isize,
    pub(crate) cs: isize,
}

// SAFETY: a `Raw` is only dereferenced inside `kernel` and `gemm_packed`, whose callers guarantee that the
// storage outlives the call and that concurrent parts write disjoint blocks of `C`.
#[allow(unsafe_code)]
unsafe impl Send for Raw {}
// SAFETY: as for `Send`; a shared `Raw` is only read.
#[allow(unsafe_code)]
unsafe impl Sync for Raw {}

impl Raw {
    /// An input operand.
    pub(crate) fn of<F, S: ndarray::RawData<Elem = F>>(
        m: &ndarray::ArrayBase<S, ndarray::Ix2>,
    ) -> Self {
        Raw {
            addr: m.as_ptr().cast::<u8>().cast_mut(),
            rs: m.strides()[0],
            cs: m.strides()[1],
        }
    }

    /// The output operand: its address taken through the unique mutable view.
    pub(crate) fn of_mut<F>(m: &mut ArrayViewMut2<'_, F>) -> Self {
        Raw {
            addr: m.as_mut_ptr().cast::<u8>(),
            ..Raw::of(m)
        }
    }

    /// The operand starting `rows` rows and `cols` columns further on.
    pub(crate) fn shifted<F>(self, rows: usize, cols: usize) -> Self {
        let elements = rows as isize * self.rs + cols as isize * self.cs;
        Raw {
            addr: self
                .addr
                .wrapping_offset(elements * size_of::<F>() as isize),
            ..self
        }
    }
}

/// One single-threaded `m×k` by `k×n` kernel call.
///
/// # Safety
/// Each operand must address in-bounds storage for its dimensions with its strides, and
/// `c` must be writable and alias neither `a` nor `b`.
#[allow(unsafe_code, clippy::too_many_arguments)]
unsafe fn kernel<F: Float>(
    m: usize,
    k: usize,
    n: usize,
    alpha: F,
    a: Raw,
    b: Raw,
    beta: F,
    c: Raw,
) {
    // SAFETY: the caller's contract is the kernel's.
    unsafe {
        F::gemm_raw(
            m,
            k,
            n,
            alpha,
            a.addr.cast::<F>().cast_const(),
            a.rs,
            a.cs,
            b.addr.cast::<F>().cast_const(),
            b.rs,
            b.cs,
            beta,
            c.addr.cast::<F>(),
            c.rs,
            c.cs,
        );
    }
}

/// The product split into `threads` blocks of columns of `C` (or of rows, when `C` has
/// fewer than 32 columns), each one single-threaded kernel call, run by the calling
/// thread and the persistent helpers ([`crate::threads`]). Splitting by columns gives each
/// thread the same rows of a linear layer's weight in the forward and backward products.
/// Blocks are cut at multiples of 16 so that each keeps whole vectors.
fn parallel_gemm<F: Float>(
    threads: usize,
    alpha: F,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    beta: F,
    c: &mut ArrayViewMut2<'_, F>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    let by_rows = n < 32;
    let len = if by_rows { m } else { n };
    let chunk = len.div_ceil(threads).next_multiple_of(16);
    let parts = len.div_ceil(chunk);
    let (ra, rb, rc) = (Raw::of(a), Raw::of(b), Raw::of_mut(c));
    let part = |i: usize| {
        let start = i * chunk;
        let size = chunk.min(len - start);
        #[allow(unsafe_code)]
        // SAFETY: the part is the block of rows (columns) `start..start + size` of the
        // checked operands, in bounds with their strides; parts write disjoint blocks of
        // `C`, which the caller holds mutably and which aliases neither `A` nor `B`.
        unsafe {
            if by_rows {
                let (a, c) = (ra.shifted::<F>(start, 0), rc.shifted::<F>(start, 0));
                kernel(size, k, n, alpha, a, rb, beta, c);
            } else {
                let (b, c) = (rb.shifted::<F>(0, start), rc.shifted::<F>(0, start));
                kernel(m, k, size, alpha, ra, b, beta, c);
            }
        }
    };
    crate::threads::run_parts(threads - 1, parts, &part);
}

/// `(m, k, n)` of the product of an `m×k` and a `k×n` matrix, or the error naming both.
fn product_dims(a: &[usize], b: &[usize]) -> Result<(usize, usize, usize), ShapeError> {
    if a[1] != b[0] {
        return Err(ShapeError::mismatch(
            "matmul",
            a,
            b,
            format!("inner dimensions {} and {} differ", a[1], b[0]),
        ));
    }
    Ok((a[0], a[1], b[1]))
}
