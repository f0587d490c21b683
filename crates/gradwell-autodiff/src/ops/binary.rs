use gradwell_tensor::{Float, broadcast_shape, sum_to_shape, zip_broadcast_into};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, Zip};

use crate::op::ensure_shape;
use crate::{Op, Result, Tape, Var};

/// Which element-wise binary operation a [`Binary`] op computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryKind {
    /// `a + b`
    Add,
    /// `a − b`
    Sub,
    /// `a · b`
    Mul,
    /// `a / b`
    Div,
}

/// Element-wise `a ∘ b` with broadcasting (NumPy/PyTorch rules); the gradient of a
/// broadcast operand is summed back to its shape.
#[derive(Debug, Clone, Copy)]
pub struct Binary(pub BinaryKind);

impl BinaryKind {
    fn apply<F: Float>(self, a: F, b: F) -> F {
        match self {
            BinaryKind::Add => a + b,
            BinaryKind::Sub => a - b,
            BinaryKind::Mul => a * b,
            BinaryKind::Div => a / b,
        }
    }

    /// ∂(a∘b)/∂a and ∂(a∘b)/∂b at (a, b).
    fn partials<F: Float>(self, a: F, b: F) -> (F, F) {
        match self {
            BinaryKind::Add => (F::one(), F::one()),
            BinaryKind::Sub => (F::one(), -F::one()),
            BinaryKind::Mul => (b, a),
            BinaryKind::Div => (F::one() / b, -a / (b * b)),
        }
    }
}

impl<F: Float> Op<F> for Binary {
    fn name(&self) -> &'static str {
        match self.0 {
            BinaryKind::Add => "add",
            BinaryKind::Sub => "sub",
            BinaryKind::Mul => "mul",
            BinaryKind::Div => "div",
        }
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        let kind = self.0;
        if x[0].shape() == x[1].shape() {
            ensure_shape(out, x[0].shape());
            Zip::from(out)
                .and(&x[0])
                .and(&x[1])
                .for_each(|o, &a, &b| *o = kind.apply(a, b));
        } else {
            ensure_shape(out, &broadcast_shape(x[0].shape(), x[1].shape())?);
            zip_broadcast_into(&x[0], &x[1], &mut out.view_mut(), |a, b| kind.apply(a, b))?;
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
        let kind = self.0;
        let same = x[0].shape() == x[1].shape();
        for side in 0..2 {
            let Some(dst) = grads[side].as_mut() else {
                continue;
            };
            let pick = |a: F, b: F| {
                let (da, db) = kind.partials(a, b);
                if side == 0 { da } else { db }
            };
            if same {
                Zip::from(dst)
                    .and(g)
                    .and(&x[0])
                    .and(&x[1])
                    .for_each(|d, &g, &a, &b| *d += g * pick(a, b));
            } else {
                // Broadcast both operands to the output's shape, form the full partial,
                // then sum it back to this operand's shape.
                let full = IxDyn(out.shape());
                let (Some(a), Some(b)) = (x[0].broadcast(full.clone()), x[1].broadcast(full))
                else {
                    unreachable!("forward checked that the operands broadcast to the output")
                };
                let mut part = g.to_owned();
                Zip::from(&mut part)
                    .and(&a)
                    .and(&b)
                    .for_each(|p, &a, &b| *p *= pick(a, b));
                let summed = sum_to_shape(&part.view(), x[side].shape()).unwrap_or_else(|e| {
                    unreachable!("operand shape broadcasts to the output: {e}")
                });
                *dst += &summed;
            }
        }
    }
}

impl<F: Float> Tape<F> {
    /// `a + b`, broadcasting.
    ///
    /// # Errors
    /// When the shapes do not broadcast.
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        self.apply(Binary(BinaryKind::Add), &[a, b])
    }

    /// `a − b`, broadcasting.
    ///
    /// # Errors
    /// When the shapes do not broadcast.
    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var> {
        self.apply(Binary(BinaryKind::Sub), &[a, b])
    }

    /// `a · b` element-wise, broadcasting.
    ///
    /// # Errors
    /// When the shapes do not broadcast.
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.apply(Binary(BinaryKind::Mul), &[a, b])
    }

    /// `a / b` element-wise, broadcasting.
    ///
    /// # Errors
    /// When the shapes do not broadcast.
    pub fn div(&mut self, a: Var, b: Var) -> Result<Var> {
        self.apply(Binary(BinaryKind::Div), &[a, b])
    }
}
