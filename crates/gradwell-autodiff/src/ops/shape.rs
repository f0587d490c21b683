use gradwell_tensor::{Float, ShapeError};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

use crate::op::ensure_shape;
use crate::{Op, Result, Tape, Var};

/// The same elements (in row-major order) under a new shape of equal size.
#[derive(Debug, Clone, Default)]
pub struct Reshape {
    /// The new shape.
    pub shape: Vec<usize>,
}

/// Permutes the axes (`axes[i]` is the input axis that becomes output axis `i`); the
/// output is laid out contiguously.
#[derive(Debug, Clone, Default)]
pub struct Transpose {
    /// The permutation.
    pub axes: Vec<usize>,
}

impl<F: Float> Op<F> for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        if self.shape.iter().product::<usize>() != x[0].len() {
            return Err(ShapeError::mismatch(
                "reshape",
                x[0].shape(),
                &self.shape,
                "element counts differ",
            )
            .into());
        }
        ensure_shape(out, &self.shape);
        // Both are traversed in row-major order.
        for (o, &v) in out.iter_mut().zip(x[0].iter()) {
            *o = v;
        }
        Ok(())
    }

    fn backward(
        &mut self,
        _: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        if let Some(dx) = grads[0].as_mut() {
            for (d, &g) in dx.iter_mut().zip(g.iter()) {
                *d += g;
            }
        }
    }
}

impl<F: Float> Op<F> for Transpose {
    fn name(&self) -> &'static str {
        "transpose"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        let n = x[0].ndim();
        let mut seen = vec![false; n];
        let valid = self.axes.len() == n
            && self
                .axes
                .iter()
                .all(|&a| a < n && !std::mem::replace(&mut seen[a], true));
        if !valid {
            return Err(ShapeError::invalid(
                "transpose",
                x[0].shape(),
                format!("{:?} is not a permutation of its axes", self.axes),
            )
            .into());
        }
        let view = x[0].clone().permuted_axes(IxDyn(&self.axes));
        ensure_shape(out, view.shape());
        out.assign(&view);
        Ok(())
    }

    fn backward(
        &mut self,
        _: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        if let Some(dx) = grads[0].as_mut() {
            // Output axis i is input axis axes[i]: view dx with its axes permuted the same way.
            let dxp = dx.view_mut().permuted_axes(IxDyn(&self.axes));
            let mut dxp = dxp;
            dxp += g;
        }
    }
}

impl<F: Float> Tape<F> {
    /// The same elements under a new shape.
    ///
    /// # Errors
    /// When the element counts differ.
    pub fn reshape(&mut self, x: Var, shape: &[usize]) -> Result<Var> {
        self.apply(
            Reshape {
                shape: shape.to_vec(),
            },
            &[x],
        )
    }

    /// The transpose of a 2-D value (axes swapped), copied to a contiguous buffer. Prefer
    /// [`Tape::matmul_t`] inside products, which needs no copy.
    ///
    /// # Errors
    /// When `x` is not 2-D.
    pub fn transpose(&mut self, x: Var) -> Result<Var> {
        self.apply(Transpose { axes: vec![1, 0] }, &[x])
    }

    /// Permutes the axes of `x`.
    ///
    /// # Errors
    /// When `axes` is not a permutation of `x`'s axes.
    pub fn permute(&mut self, x: Var, axes: &[usize]) -> Result<Var> {
        self.apply(
            Transpose {
                axes: axes.to_vec(),
            },
            &[x],
        )
    }
}
