//! A right-hand operand `B` copied once into the layout the matrix kernel reads, for many
//! products with the same `B` ([`PackedB`], [`gemm_packed`]): a recurrent layer multiplies
//! by the same recurrent weight at every time step, and packing it once per pass instead of
//! once per product saves the copy (for `X·Wᵀ`, a transpose) at every step.

use std::any::TypeId;

use ndarray::{ArrayView2, ArrayViewMut2};

#[cfg(target_arch = "x86_64")]
use crate::gemm::Raw;
use crate::{Float, ShapeError, gemm};

/// A `k×n` matrix `B` packed for [`gemm_packed`]. The buffer is kept between calls of
/// [`PackedB::pack`], so packing a matrix of the same size again allocates nothing.
///
/// With the AVX-512 kernel (f32 on a processor with AVX-512, unless
/// `GRADWELL_KERNEL=portable`) `B` is held in that kernel's panels of 64 columns; otherwise
/// as a row-major copy, multiplied by [`gemm`](fn@gemm).
///
/// ```
/// use gradwell_tensor::{PackedB, gemm, gemm_packed};
/// use ndarray::{Array2, array};
///
/// let w = array![[1.0_f32, 0.0, 1.0], [0.0, 1.0, 0.0]]; // [out, in]
/// let mut packed = PackedB::new();
/// packed.pack(&w.t()); // Wᵀ, packed once
/// for x in [array![[1.0_f32, 2.0, 3.0]], array![[0.0, 1.0, 0.0]]] {
///     let (mut y, mut z) = (Array2::zeros((1, 2)), Array2::zeros((1, 2)));
///     gemm_packed(1.0, &x.view(), &packed, 0.0, &mut y.view_mut())?;
///     gemm(1.0, &x.view(), &w.t(), 0.0, &mut z.view_mut())?;
///     assert_eq!(y, z);
/// }
/// # Ok::<(), gradwell_tensor::ShapeError>(())
/// ```
#[derive(Debug, Default)]
pub struct PackedB<F> {
    data: Vec<F>,
    k: usize,
    n: usize,
    /// Whether `data` holds the AVX-512 kernel's panels (else `B` row-major).
    panels: bool,
}

/// Whether `F` is `f32` and the AVX-512 kernel runs: then `B` is packed into its panels.
fn uses_panels<F: Float>() -> bool {
    TypeId::of::<F>() == TypeId::of::<f32>() && crate::avx512_enabled()
}

impl<F: Float> PackedB<F> {
    /// An empty operand (`0×0`); [`PackedB::pack`] fills it.
    pub fn new() -> Self {
        PackedB {
            data: Vec::new(),
            k: 0,
            n: 0,
            panels: false,
        }
    }

    /// Packs `b` (`k×n`, any strides), replacing what was packed before.
    pub fn pack(&mut self, b: &ArrayView2<'_, F>) {
        let (k, n) = b.dim();
        (self.k, self.n) = (k, n);
        self.panels = uses_panels::<F>();
        #[cfg(target_arch = "x86_64")]
        if self.panels {
            let len = crate::avx512::panels_len(k, n);
            self.data.resize(len, F::zero());
            self.data.truncate(len);
            if len > 0 {
                let (rs, cs) = (b.strides()[0], b.strides()[1]);
                // SAFETY: `uses_panels` checked that F is f32 (so the casts keep the element
                // type) and that the processor has AVX-512; `b` is an in-bounds k×n view
                // with these strides and `data` holds `panels_len(k, n)` elements of its own.
                #[allow(unsafe_code)]
                unsafe {
                    crate::avx512::pack_panels(
                        k,
                        n,
                        b.as_ptr().cast::<f32>(),
                        rs,
                        cs,
                        self.data.as_mut_ptr().cast::<f32>(),
                    );
                }
            }
            return;
        }
        self.data.clear();
        self.data.extend(b.rows().into_iter().flatten().copied());
    }

    /// `(k, n)`: the shape of the packed matrix.
    pub fn dim(&self) -> (usize, usize) {
        (self.k, self.n)
    }
}

/// `C ← α·A·B + β·C` with `B` packed once by [`PackedB::pack`]: the same product as
/// [`gemm`](fn@gemm)`(alpha, a, b, beta, c)`, split across threads as `gemm` splits it (by blocks of
/// columns), without copying `B` again. `A` may have any strides; `C` must have unit column
/// stride (a row-major matrix or a block of rows of one).
///
/// # Errors
/// [`ShapeError::Mismatch`] when the inner dimensions differ or `C` is not `m×n`;
/// [`ShapeError::Invalid`] when `C`'s columns are not contiguous.
pub fn gemm_packed<F: Float>(
    alpha: F,
    a: &ArrayView2<'_, F>,
    b: &PackedB<F>,
    beta: F,
    c: &mut ArrayViewMut2<'_, F>,
) -> Result<(), ShapeError> {
    let (k, n) = b.dim();
    let m = a.nrows();
    if a.ncols() != k || c.dim() != (m, n) {
        return Err(ShapeError::mismatch(
            "packed matmul",
            a.shape(),
            c.shape(),
            format!("A must be m×{k} and C m×{n} for a packed {k}×{n} B"),
        ));
    }
    if !b.panels || m == 0 || n == 0 || k == 0 {
        // A row-major copy, or nothing to multiply (k = 0 leaves β·C): `gemm` does it.
        let rows = if b.panels { 0 } else { k };
        let data = if b.panels { &[][..] } else { &b.data[..] };
        let view = ArrayView2::from_shape((rows, n), data)
            .unwrap_or_else(|e| unreachable!("the copy holds k×n elements: {e}"));
        return gemm(alpha, a, &view, beta, c);
    }
    if n > 1 && c.strides()[1] != 1 {
        return Err(ShapeError::invalid(
            "packed matmul",
            c.shape(),
            "the output of a product with a packed B must have contiguous rows",
        ));
    }
    #[cfg(target_arch = "x86_64")]
    {
        use crate::avx512::{PANEL_WIDTH, gemm_panels};
        let threads = crate::threads::threads_for(m, k, n);
        // Each thread takes whole panels of columns.
        let chunk = n.div_ceil(threads).next_multiple_of(PANEL_WIDTH);
        let parts = n.div_ceil(chunk);
        let (ra, rc) = (Raw::of(a), Raw::of_mut(c));
        let panels = Raw {
            addr: b.data.as_ptr().cast::<u8>().cast_mut(),
            rs: 0,
            cs: 0,
        };
        let (alpha, beta) = (alpha.as_f64() as f32, beta.as_f64() as f32);
        let part = |i: usize| {
            // Whole operands captured (their fields alone are not `Sync`).
            let (ra, rc, panels) = (&ra, &rc, &panels);
            let start = i * chunk;
            let size = chunk.min(n - start);
            // SAFETY: `panels` is true only for f32 with the AVX-512 kernel on, so the
            // pointers keep their element type and the processor has AVX-512F; `a` is an
            // in-bounds m×k view, the panels of columns start..start + size begin at
            // element start·k (start is a multiple of the panel width), and parts write
            // disjoint column blocks of `c`, which is held mutably (unit column stride
            // checked above) and aliases neither operand.
            #[allow(unsafe_code)]
            unsafe {
                gemm_panels(
                    m,
                    k,
                    size,
                    alpha,
                    ra.addr.cast::<f32>().cast_const(),
                    ra.rs,
                    ra.cs,
                    panels.addr.cast::<f32>().cast_const().add(start * k),
                    beta,
                    rc.shifted::<F>(0, start).addr.cast::<f32>(),
                    rc.rs,
                );
            }
        };
        if parts > 1 {
            crate::threads::run_parts(threads - 1, parts, &part);
        } else {
            part(0);
        }
        Ok(())
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("packed panels exist only with the AVX-512 kernel")
}
