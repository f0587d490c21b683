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
        kernel(alpha, a, b, beta, c);
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

/// One single-threaded kernel call on checked, non-empty operands.
fn kernel<F: Float>(
    alpha: F,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    beta: F,
    c: &mut ArrayViewMut2<'_, F>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    let [rsa, csa] = [a.strides()[0], a.strides()[1]];
    let [rsb, csb] = [b.strides()[0], b.strides()[1]];
    let [rsc, csc] = [c.strides()[0], c.strides()[1]];
    #[allow(unsafe_code)]
    // SAFETY: ndarray views guarantee that every index within their dimensions is in
    // bounds with these strides, `as_ptr` points at element [0, 0], the caller checked that
    // the dimensions agree, and `c` is a unique mutable view so it cannot alias `a` or `b`.
    unsafe {
        F::gemm_raw(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            rsc,
            csc,
        );
    }
}

/// The product split into `threads` blocks of rows of `C` (or of columns, when `C` is
/// wider than tall), each one single-threaded kernel call, run by the calling thread and
/// the persistent helpers ([`crate::threads`]). Blocks are cut at multiples of 16 so that
/// each keeps whole vectors.
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
    let [rsa, csa] = [a.strides()[0], a.strides()[1]];
    let [rsb, csb] = [b.strides()[0], b.strides()[1]];
    let [rsc, csc] = [c.strides()[0], c.strides()[1]];
    // Addresses travel as integers so that the closure is `Sync`; each part writes its own
    // rows (or columns) of `C` only.
    let (pa, pb, pc) = (
        a.as_ptr() as usize,
        b.as_ptr() as usize,
        c.as_mut_ptr() as usize,
    );
    let part = |i: usize| {
        let start = i * chunk;
        let size = chunk.min(len - start);
        let (mi, ni) = if by_rows { (size, n) } else { (m, size) };
        let (oa, ob, oc) = if by_rows {
            (start as isize * rsa, 0, start as isize * rsc)
        } else {
            (0, start as isize * csb, start as isize * csc)
        };
        #[allow(unsafe_code)]
        // SAFETY: the part is the block of rows (columns) `start..start + size` of the
        // checked operands, in bounds with their strides; parts write disjoint blocks of
        // `C`, which the caller holds mutably and which aliases neither `A` nor `B`.
        unsafe {
            F::gemm_raw(
                mi,
                k,
                ni,
                alpha,
                (pa as *const F).offset(oa),
                rsa,
                csa,
                (pb as *const F).offset(ob),
                rsb,
                csb,
                beta,
                (pc as *mut F).offset(oc),
                rsc,
                csc,
            );
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
