use gradwell_tensor::Float;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Zip};

use crate::op::ensure_shape;
use crate::{Op, Result, Tape, Var};

/// Which element-wise function a [`Unary`] op computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryKind {
    /// `−x`
    Neg,
    /// `eˣ`
    Exp,
    /// `ln x`
    Log,
    /// `x²`
    Square,
    /// `x + c`
    AddScalar(f64),
    /// `c · x`
    MulScalar(f64),
}

/// An element-wise function of one input whose derivative needs only `x` and `y = f(x)`.
#[derive(Debug, Clone, Copy)]
pub struct Unary(pub UnaryKind);

impl<F: Float> Op<F> for Unary {
    fn name(&self) -> &'static str {
        match self.0 {
            UnaryKind::Neg => "neg",
            UnaryKind::Exp => "exp",
            UnaryKind::Log => "log",
            UnaryKind::Square => "square",
            UnaryKind::AddScalar(_) => "add_scalar",
            UnaryKind::MulScalar(_) => "mul_scalar",
        }
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        ensure_shape(out, x[0].shape());
        let z = Zip::from(out).and(&x[0]);
        match self.0 {
            UnaryKind::Neg => z.for_each(|y, &x| *y = -x),
            UnaryKind::Exp => z.for_each(|y, &x| *y = x.exp()),
            UnaryKind::Log => z.for_each(|y, &x| *y = x.ln()),
            UnaryKind::Square => z.for_each(|y, &x| *y = x * x),
            UnaryKind::AddScalar(c) => {
                let c = F::of(c);
                z.for_each(|y, &x| *y = x + c)
            }
            UnaryKind::MulScalar(c) => {
                let c = F::of(c);
                z.for_each(|y, &x| *y = x * c)
            }
        }
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        out: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let Some(dx) = grads[0].as_mut() else { return };
        let z = Zip::from(dx).and(g).and(&x[0]).and(out);
        match self.0 {
            UnaryKind::Neg => z.for_each(|d, &g, _, _| *d -= g),
            UnaryKind::Exp => z.for_each(|d, &g, _, &y| *d += g * y),
            UnaryKind::Log => z.for_each(|d, &g, &x, _| *d += g / x),
            UnaryKind::Square => {
                let two = F::of(2.0);
                z.for_each(|d, &g, &x, _| *d += two * x * g)
            }
            UnaryKind::AddScalar(_) => z.for_each(|d, &g, _, _| *d += g),
            UnaryKind::MulScalar(c) => {
                let c = F::of(c);
                z.for_each(|d, &g, _, _| *d += c * g)
            }
        }
    }
}

impl<F: Float> Tape<F> {
    /// `−x`.
    ///
    /// # Errors
    /// A stale handle.
    pub fn neg(&mut self, x: Var) -> Result<Var> {
        self.apply(Unary(UnaryKind::Neg), &[x])
    }

    /// `eˣ` element-wise.
    ///
    /// # Errors
    /// A stale handle.
    pub fn exp(&mut self, x: Var) -> Result<Var> {
        self.apply(Unary(UnaryKind::Exp), &[x])
    }

    /// `ln x` element-wise.
    ///
    /// # Errors
    /// A stale handle.
    pub fn log(&mut self, x: Var) -> Result<Var> {
        self.apply(Unary(UnaryKind::Log), &[x])
    }

    /// `x²` element-wise.
    ///
    /// # Errors
    /// A stale handle.
    pub fn square(&mut self, x: Var) -> Result<Var> {
        self.apply(Unary(UnaryKind::Square), &[x])
    }

    /// `x + c` element-wise.
    ///
    /// # Errors
    /// A stale handle.
    pub fn add_scalar(&mut self, x: Var, c: f64) -> Result<Var> {
        self.apply(Unary(UnaryKind::AddScalar(c)), &[x])
    }

    /// `c · x` element-wise.
    ///
    /// # Errors
    /// A stale handle.
    pub fn mul_scalar(&mut self, x: Var, c: f64) -> Result<Var> {
        self.apply(Unary(UnaryKind::MulScalar(c)), &[x])
    }
}
