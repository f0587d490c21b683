//! [`LastStep`]: the final step of a sequence, `out[:, -1]`, and its settings
//! [`LastStepSpec`].

use gradwell_autodiff::{Op, Var, ensure_shape};
use gradwell_tensor::{Float, ShapeError};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};
use serde::{Deserialize, Serialize};

use super::{BuildSite, LayerKind, PlanSite, Planned};
use crate::module::{Ctx, Module};
use crate::{NnError, Result};

/// The class name; PyTorch has no class for it: its users write the slice `out[:, -1]`
/// in `forward`, or a one-line `LastStep` module, which this is.
const CLASS: &str = "LastStep";

/// `[N, T, F…]` → `[N, F…]`: the last step of every sequence (`x[:, -1]`), e.g. an RNN's
/// final hidden state for a classifier or regressor on the whole sequence. Its gradient
/// goes to the last step alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastStep;

/// The op of [`LastStep`]: `x[:, -1]` of a value with at least two axes.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastStepOp;

impl<F: Float> Op<F> for LastStepOp {
    fn name(&self) -> &'static str {
        "last_step"
    }

    fn forward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        out: &mut ArrayD<F>,
    ) -> gradwell_autodiff::Result<()> {
        let shape = x[0].shape();
        if shape.len() < 2 || shape[1] == 0 {
            return Err(ShapeError::invalid(
                "last_step",
                shape,
                "needs [batch, steps, …] with at least one step",
            )
            .into());
        }
        let mut out_shape = vec![shape[0]];
        out_shape.extend_from_slice(&shape[2..]);
        ensure_shape(out, &out_shape);
        let (t, w) = (shape[1], shape[2..].iter().product::<usize>());
        let (Some(xs), Some(o)) = (x[0].as_slice(), out.as_slice_mut()) else {
            unreachable!("tape values are in standard layout")
        };
        for (orow, xseq) in o
            .chunks_exact_mut(w.max(1))
            .zip(xs.chunks_exact((t * w).max(1)))
        {
            orow.copy_from_slice(&xseq[(t - 1) * w..]);
        }
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        _: &ArrayViewD<'_, F>,
        g: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let Some(dx) = grads[0].as_mut() else { return };
        let shape = x[0].shape();
        let (t, w) = (shape[1], shape[2..].iter().product::<usize>());
        let (Some(g), Some(dx)) = (g.as_slice(), dx.as_slice_mut()) else {
            unreachable!("tape values are in standard layout")
        };
        for (grow, dseq) in g
            .chunks_exact(w.max(1))
            .zip(dx.chunks_exact_mut((t * w).max(1)))
        {
            for (d, &g) in dseq[(t - 1) * w..].iter_mut().zip(grow) {
                *d += g;
            }
        }
    }
}

impl<F: Float> Module<F> for LastStep {
    fn kind(&self) -> &'static str {
        CLASS
    }

    fn repr(&self) -> String {
        "LastStep()".to_string()
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        Ok(ctx.tape.apply(LastStepOp, &[x])?)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input {
            [t, rest @ ..] if *t > 0 && !rest.is_empty() => Ok(rest.to_vec()),
            _ => Err(NnError::Config(format!(
                "LastStep needs per-sample input [steps, features…], got {input:?}"
            ))),
        }
    }
}

/// A [`LastStep`] layer in a model file (`type = "last_step"`): per sample `[T, F]` → `[F]`,
/// the final step. PyTorch has no class for it (its users slice `out[:, -1]`); the summary
/// calls it `LastStep`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastStepSpec {}

impl LayerKind for LastStepSpec {
    fn torch_class(&self) -> &'static str {
        CLASS
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        match at.input {
            [t, rest @ ..] if *t > 0 && !rest.is_empty() => Ok(Planned::output(rest.to_vec())),
            _ => Err(at.error(format!(
                "needs per-sample input [steps, features…], but {} produces shape {:?}",
                at.prev, at.input
            ))),
        }
    }

    fn build<F: Float>(&self, _: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        Ok(Box::new(LastStep))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        vec![
            (vec![4, 3], LastStepSpec {}),
            (vec![3, 2, 2], LastStepSpec {}),
        ]
    }
}
