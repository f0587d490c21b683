use gradwell_tensor::{Float, ShapeError, gemm};
use ndarray::{ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Ix2};

use crate::op::ensure_shape;
use crate::{Op, Result, Tape, Var};

/// The matrix product `op(A)·op(B)` of two 2-D values, where `op` transposes when asked.
/// Transposes are strided views handed to the kernel, never copies; the backward
/// accumulates both gradients in place with two more products.
///
/// An untransposed `A` may have more than two axes, `[d₁, …, dₖ, m]`: the product applies
/// to its last axis, as PyTorch's `x @ W` and `F.linear` do, its leading axes read as rows
/// (a view of the same memory, no copy), and the output is `[d₁, …, dₖ, n]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatMul {
    /// Use `Aᵀ` instead of `A`.
    pub transpose_a: bool,
    /// Use `Bᵀ` instead of `B` (as a linear layer does with its `[out, in]` weight).
    pub transpose_b: bool,
}

fn as_matrix<'a, F: Float>(
    x: &ArrayViewD<'a, F>,
    transpose: bool,
) -> Result<ArrayView2<'a, F>, ShapeError> {
    let m = x.clone().into_dimensionality::<Ix2>().map_err(|_| {
        ShapeError::invalid(
            "matmul",
            x.shape(),
            "matmul operands must be 2-D (use batched_matmul for more)",
        )
    })?;
    Ok(if transpose { m.reversed_axes() } else { m })
}

/// `A` as a matrix: an untransposed operand of more than two axes has its leading axes
/// read as rows (a view; tape values are in standard layout).
fn lhs_matrix<'a, F: Float>(
    x: &ArrayViewD<'a, F>,
    transpose: bool,
) -> Result<ArrayView2<'a, F>, ShapeError> {
    match x.shape() {
        [lead @ .., cols] if lead.len() > 1 && !transpose => {
            let rows = lead.iter().product::<usize>();
            Ok(x.clone()
                .into_shape_with_order((rows, *cols))
                .unwrap_or_else(|_| unreachable!("tape values are in standard layout")))
        }
        _ => as_matrix(x, transpose),
    }
}

/// A standard-layout value of two or more axes as `[product of the leading axes, last]`.
fn rows<'a, F: Float>(x: ArrayViewD<'a, F>) -> ArrayView2<'a, F> {
    let (lead, last) = x.shape().split_at(x.ndim().saturating_sub(1));
    let shape = (lead.iter().product(), last.first().copied().unwrap_or(1));
    x.into_shape_with_order(shape)
        .unwrap_or_else(|_| unreachable!("tape values are in standard layout"))
}

/// [`rows`], mutable.
fn rows_mut<'a, F: Float>(x: ArrayViewMutD<'a, F>) -> ArrayViewMut2<'a, F> {
    let (lead, last) = x.shape().split_at(x.ndim().saturating_sub(1));
    let shape = (lead.iter().product(), last.first().copied().unwrap_or(1));
    x.into_shape_with_order(shape)
        .unwrap_or_else(|_| unreachable!("tape gradients are in standard layout"))
}

impl<F: Float> Op<F> for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        let a = lhs_matrix(&x[0], self.transpose_a)?;
        let b = as_matrix(&x[1], self.transpose_b)?;
        if a.ncols() != b.nrows() {
            return Err(ShapeError::mismatch(
                "matmul",
                a.shape(),
                b.shape(),
                format!("inner dimensions {} and {} differ", a.ncols(), b.nrows()),
            )
            .into());
        }
        let lead = &x[0].shape()[..x[0].ndim() - 1];
        if x[0].ndim() > 2 && !self.transpose_a {
            let same = out.ndim() == lead.len() + 1
                && out.shape()[..lead.len()] == *lead
                && out.shape()[lead.len()] == b.ncols();
            if !same {
                let mut shape = lead.to_vec();
                shape.push(b.ncols());
                ensure_shape(out, &shape);
            }
        } else {
            ensure_shape(out, &[a.nrows(), b.ncols()]);
        }
        let mut o = rows_mut(out.view_mut());
        gemm(F::one(), &a, &b, F::zero(), &mut o)?;
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _out: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let (Ok(a), Ok(b), Ok(g)) = (
            lhs_matrix(&x[0], self.transpose_a),
            as_matrix(&x[1], self.transpose_b),
            Ok::<_, ShapeError>(rows(g.clone())),
        ) else {
            unreachable!("forward checked the ranks")
        };
        let one = F::one();
        // With C = A'·B': dA' = G·B'ᵀ and dB' = A'ᵀ·G; a transposed operand receives the
        // transpose, written through a transposed view of its gradient.
        let r = (|| -> Result<(), ShapeError> {
            if let Some(da) = grads[0].as_mut() {
                let da = rows_mut(da.view_mut());
                let mut da = if self.transpose_a {
                    da.reversed_axes()
                } else {
                    da
                };
                gemm(one, &g, &b.t(), one, &mut da)?;
            }
            if let Some(db) = grads[1].as_mut() {
                let db = db
                    .view_mut()
                    .into_dimensionality::<Ix2>()
                    .unwrap_or_else(|_| unreachable!("shaped like B"));
                let mut db = if self.transpose_b {
                    db.reversed_axes()
                } else {
                    db
                };
                gemm(one, &a.t(), &g, one, &mut db)?;
            }
            Ok(())
        })();
        if let Err(e) = r {
            unreachable!("gradient shapes follow the forward's: {e}")
        }
    }
}

/// `x + b` where `b` has the length of `x`'s last axis and is added to every row: a
/// linear layer's bias. Its backward sums the gradient over all rows into `b`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BiasAdd;

impl<F: Float> Op<F> for BiasAdd {
    fn name(&self) -> &'static str {
        "bias_add"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        let (xs, bs) = (x[0].shape(), x[1].shape());
        if bs.len() != 1 || xs.last() != Some(&bs[0]) {
            return Err(ShapeError::mismatch(
                "bias_add",
                xs,
                bs,
                "the bias must be 1-D with the length of the input's last axis",
            )
            .into());
        }
        ensure_shape(out, xs);
        let (Some(xs), Some(b), Some(o)) = (x[0].as_slice(), x[1].as_slice(), out.as_slice_mut())
        else {
            unreachable!("tape values are in standard layout")
        };
        for (orow, xrow) in o.chunks_exact_mut(b.len()).zip(xs.chunks_exact(b.len())) {
            for ((o, &x), &b) in orow.iter_mut().zip(xrow).zip(b) {
                *o = x + b;
            }
        }
        Ok(())
    }

    fn backward(
        &mut self,
        _: &[ArrayViewD<'_, F>],
        _out: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        if let Some(dx) = grads[0].as_mut() {
            *dx += g;
        }
        if let Some(db) = grads[1].as_mut() {
            let (Some(g), Some(db)) = (g.as_slice(), db.as_slice_mut()) else {
                unreachable!("tape gradients are in standard layout")
            };
            for row in g.chunks_exact(db.len()) {
                for (d, &g) in db.iter_mut().zip(row) {
                    *d += g;
                }
            }
        }
    }
}

impl<F: Float> Tape<F> {
    /// The matrix product `a·b` of two 2-D values; `a` may have more axes, the product
    /// then applies to its last ([`MatMul`]).
    ///
    /// # Errors
    /// When an operand has fewer than 2 axes, `b` more, or the inner dimensions differ.
    pub fn matmul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.apply(MatMul::default(), &[a, b])
    }

    /// `a·bᵀ` without copying `b`: a linear layer's `x·Wᵀ` with PyTorch's `[out, in]` weight.
    /// `a` may have more axes (`[N, T, in]`): the product applies to its last, as
    /// `F.linear` does.
    ///
    /// # Errors
    /// When an operand has fewer than 2 axes, `b` more, or the inner dimensions differ.
    pub fn matmul_t(&mut self, a: Var, b: Var) -> Result<Var> {
        self.apply(
            MatMul {
                transpose_a: false,
                transpose_b: true,
            },
            &[a, b],
        )
    }

    /// `x + b`, with `b` added to every row (a bias).
    ///
    /// # Errors
    /// When `b` is not 1-D with the length of `x`'s last axis.
    pub fn bias_add(&mut self, x: Var, b: Var) -> Result<Var> {
        self.apply(BiasAdd, &[x, b])
    }
}
