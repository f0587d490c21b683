//! [`Prelu`]: the parametric rectifier with learnable slopes, and its settings
//! [`PreluSpec`].

use gradwell_activations::Prelu as PreluMath;
use gradwell_autodiff::{Op, ParamId, ParamStore, Var, ensure_shape};
use gradwell_tensor::Float;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use serde::{Deserialize, Serialize};

use super::{BuildSite, LayerKind, PlanSite, Planned, join};
use crate::module::{Ctx, Module};
use crate::{NnError, Result};

/// PyTorch's class name.
const CLASS: &str = "PReLU";

/// The parametric rectifier: max(0, x) + a·min(0, x) with a learnable slope `a`, shared
/// (`num_parameters = 1`) or one per channel (axis 1 of the input: the feature of
/// `[batch, features]`), initialized to 0.25 as PyTorch's `nn.PReLU`.
#[derive(Debug, Clone)]
pub struct Prelu {
    /// The slope parameter, `[num_parameters]`.
    pub weight: ParamId,
    num_parameters: usize,
}

impl Prelu {
    /// A PReLU with `num_parameters` slopes (1 = shared) starting at `init`, named
    /// `{prefix}.weight`.
    ///
    /// # Errors
    /// A non-finite `init` or zero parameters.
    pub fn new<F: Float>(
        store: &mut ParamStore<F>,
        prefix: &str,
        num_parameters: usize,
        init: f64,
    ) -> Result<Self> {
        Self::check(num_parameters, init)?;
        let weight = store.add(
            join(prefix, "weight"),
            ArrayD::from_elem(IxDyn(&[num_parameters]), F::of(init)),
        );
        Ok(Prelu {
            weight,
            num_parameters,
        })
    }

    /// Checks the settings [`Prelu::new`] takes, allocating nothing.
    ///
    /// # Errors
    /// A non-finite `init` or zero parameters.
    pub(crate) fn check(num_parameters: usize, init: f64) -> Result<()> {
        PreluMath::new(init).map_err(|e| NnError::Config(e.to_string()))?;
        if num_parameters == 0 {
            return Err(NnError::Config(
                "PReLU needs at least one slope parameter".into(),
            ));
        }
        Ok(())
    }
}

/// The PReLU op, PyTorch's `F.prelu`: inputs `x` (`[batch, channels, …]`) and the slopes
/// (one shared, or one per channel of axis 1). The math is
/// [`gradwell_activations::Prelu`]'s (`x` for `x > 0`, `a·x` otherwise; ∂/∂x is `a` at 0,
/// ∂/∂a = min(0, x)), written here with the slope in the float type so that a diverged
/// (non-finite) slope shows in the output instead of being replaced.
#[derive(Debug, Clone, Copy)]
struct PreluOp;

/// The number of consecutive elements that share one slope, and the number of slopes
/// cycled through: `(inner, n)` such that element `k` uses slope `(k / inner) % n`.
fn prelu_layout(x: &[usize], slopes: usize) -> gradwell_autodiff::Result<(usize, usize)> {
    if slopes == 1 {
        return Ok((x.iter().product::<usize>().max(1), 1));
    }
    if x.len() < 2 || x[1] != slopes {
        return Err(gradwell_tensor::ShapeError::mismatch(
            "prelu",
            x,
            &[slopes],
            "one slope, or one per channel (axis 1)",
        )
        .into());
    }
    Ok((x[2..].iter().product::<usize>().max(1), slopes))
}

impl<F: Float> Op<F> for PreluOp {
    fn name(&self) -> &'static str {
        "prelu"
    }

    fn forward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        out: &mut ArrayD<F>,
    ) -> gradwell_autodiff::Result<()> {
        let (inner, n) = prelu_layout(x[0].shape(), x[1].len())?;
        ensure_shape(out, x[0].shape());
        let (Some(xs), Some(a), Some(ys)) = (x[0].as_slice(), x[1].as_slice(), out.as_slice_mut())
        else {
            unreachable!("tape values are in standard layout")
        };
        for (k, (ys, xs)) in ys.chunks_mut(inner).zip(xs.chunks(inner)).enumerate() {
            let a = a[k % n];
            for (y, &v) in ys.iter_mut().zip(xs) {
                *y = if v > F::zero() { v } else { a * v };
            }
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
        let Ok((inner, n)) = prelu_layout(x[0].shape(), x[1].len()) else {
            unreachable!("checked in forward")
        };
        let (Some(xs), Some(a), Some(gs)) = (x[0].as_slice(), x[1].as_slice(), g.as_slice()) else {
            unreachable!("tape values are in standard layout")
        };
        if let Some(dx) = grads[0].as_mut().and_then(|d| d.as_slice_mut()) {
            for (k, ((dx, xs), gs)) in dx
                .chunks_mut(inner)
                .zip(xs.chunks(inner))
                .zip(gs.chunks(inner))
                .enumerate()
            {
                let a = a[k % n];
                for ((d, &v), &g) in dx.iter_mut().zip(xs).zip(gs) {
                    *d += if v > F::zero() { g } else { g * a };
                }
            }
        }
        if let Some(da) = grads[1].as_mut().and_then(|d| d.as_slice_mut()) {
            for (k, (xs, gs)) in xs.chunks(inner).zip(gs.chunks(inner)).enumerate() {
                let s: F = xs
                    .iter()
                    .zip(gs)
                    .map(|(&v, &g)| g * PreluMath::default().slope_derivative(v))
                    .sum();
                da[k % n] += s;
            }
        }
    }
}

impl<F: Float> Module<F> for Prelu {
    fn kind(&self) -> &'static str {
        CLASS
    }

    fn repr(&self) -> String {
        format!("PReLU(num_parameters={})", self.num_parameters)
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        let a = ctx.tape.param(self.weight);
        Ok(ctx.tape.apply(PreluOp, &[x, a])?)
    }

    fn params(&self) -> Vec<ParamId> {
        vec![self.weight]
    }

    fn layer_activation(&self) -> Option<crate::LayerActivation> {
        Some(crate::LayerActivation::Prelu)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if self.num_parameters != 1 && input.first() != Some(&self.num_parameters) {
            return Err(NnError::Config(format!(
                "PReLU has {} slopes (one per channel) but the per-sample input has shape {input:?}",
                self.num_parameters
            )));
        }
        Ok(input.to_vec())
    }
}

fn one() -> usize {
    1
}

fn prelu_init() -> f64 {
    PreluMath::DEFAULT_INIT
}

/// A [`Prelu`] layer in a model file (`type = "prelu"`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreluSpec {
    /// 1 (shared) or the number of features.
    #[serde(default = "one")]
    pub num_parameters: usize,
    /// The initial slope (0.25).
    #[serde(default = "prelu_init")]
    pub init: f64,
}

impl Default for PreluSpec {
    /// PyTorch's `nn.PReLU()`: one shared slope starting at 0.25.
    fn default() -> Self {
        PreluSpec {
            num_parameters: one(),
            init: prelu_init(),
        }
    }
}

impl LayerKind for PreluSpec {
    fn torch_class(&self) -> &'static str {
        CLASS
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        at.in_layer(Prelu::check(self.num_parameters, self.init))?;
        if self.num_parameters != 1 && at.input.first() != Some(&self.num_parameters) {
            return Err(
                at.width_mismatch(self.num_parameters, at.input.first().copied().unwrap_or(0))
            );
        }
        Ok(Planned::output(at.input.to_vec()).trainable(self.num_parameters as u64))
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        let layer = Prelu::new(at.store, &at.plan.path, self.num_parameters, self.init);
        Ok(Box::new(at.in_layer(layer)?))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        vec![
            (vec![4], PreluSpec::default()),
            (
                vec![3],
                PreluSpec {
                    num_parameters: 3,
                    init: 0.1,
                },
            ),
            (
                vec![2, 3],
                PreluSpec {
                    num_parameters: 2,
                    init: -0.5,
                },
            ),
        ]
    }
}
