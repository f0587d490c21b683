use gradwell_tensor::{Float, check_axis};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, Zip};

use crate::op::ensure_shape;
use crate::{Op, Result, Tape, Var};

/// The sum of all elements (`axis: None`, a scalar of shape `[]`) or over one axis (which
/// is removed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sum {
    /// The axis to sum over, or every element.
    pub axis: Option<usize>,
}

/// The mean of all elements or over one axis, as [`Sum`] divided by the count.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mean {
    /// The axis to average over, or every element.
    pub axis: Option<usize>,
}

fn reduce_forward<F: Float>(
    axis: Option<usize>,
    scale_by_count: bool,
    x: &ArrayViewD<'_, F>,
    out: &mut ArrayD<F>,
) -> Result<()> {
    let op = if scale_by_count { "mean" } else { "sum" };
    match axis {
        None => {
            ensure_shape(out, &[]);
            let s: F = x.iter().copied().sum();
            let n = if scale_by_count {
                F::of(x.len() as f64)
            } else {
                F::one()
            };
            out.fill(s / n);
        }
        Some(a) => {
            check_axis(op, x.shape(), a)?;
            let mut shape = x.shape().to_vec();
            let n = shape.remove(a);
            ensure_shape(out, &shape);
            out.fill(F::zero());
            for lane in x.axis_iter(Axis(a)) {
                *out += &lane;
            }
            if scale_by_count {
                let n = F::of(n as f64);
                out.mapv_inplace(|v| v / n);
            }
        }
    }
    Ok(())
}

fn reduce_backward<F: Float>(
    axis: Option<usize>,
    scale_by_count: bool,
    x: &ArrayViewD<'_, F>,
    g: &ArrayViewD<'_, F>,
    dx: &mut ArrayViewMutD<'_, F>,
) {
    match axis {
        None => {
            let n = if scale_by_count {
                F::of(x.len() as f64)
            } else {
                F::one()
            };
            let gv = g.iter().next().copied().unwrap_or_else(F::zero) / n;
            dx.mapv_inplace(|d| d + gv);
        }
        Some(a) => {
            let n = if scale_by_count {
                F::of(x.len_of(Axis(a)) as f64)
            } else {
                F::one()
            };
            for mut lane in dx.axis_iter_mut(Axis(a)) {
                Zip::from(&mut lane).and(g).for_each(|d, &g| *d += g / n);
            }
        }
    }
}

impl<F: Float> Op<F> for Sum {
    fn name(&self) -> &'static str {
        "sum"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        reduce_forward(self.axis, false, &x[0], out)
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        if let Some(dx) = grads[0].as_mut() {
            reduce_backward(self.axis, false, &x[0], g, dx);
        }
    }
}

impl<F: Float> Op<F> for Mean {
    fn name(&self) -> &'static str {
        "mean"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        reduce_forward(self.axis, true, &x[0], out)
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        if let Some(dx) = grads[0].as_mut() {
            reduce_backward(self.axis, true, &x[0], g, dx);
        }
    }
}

impl<F: Float> Tape<F> {
    /// The sum of every element, as a scalar.
    ///
    /// # Errors
    /// A stale handle.
    pub fn sum(&mut self, x: Var) -> Result<Var> {
        self.apply(Sum { axis: None }, &[x])
    }

    /// The sum over `axis`, which is removed.
    ///
    /// # Errors
    /// An axis out of range.
    pub fn sum_axis(&mut self, x: Var, axis: usize) -> Result<Var> {
        self.apply(Sum { axis: Some(axis) }, &[x])
    }

    /// The mean of every element, as a scalar.
    ///
    /// # Errors
    /// A stale handle.
    pub fn mean(&mut self, x: Var) -> Result<Var> {
        self.apply(Mean { axis: None }, &[x])
    }

    /// The mean over `axis`, which is removed.
    ///
    /// # Errors
    /// An axis out of range.
    pub fn mean_axis(&mut self, x: Var, axis: usize) -> Result<Var> {
        self.apply(Mean { axis: Some(axis) }, &[x])
    }
}
