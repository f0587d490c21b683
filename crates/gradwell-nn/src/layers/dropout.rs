//! [`Dropout`], and its settings [`DropoutSpec`].

use gradwell_activations::pyfmt::py_float;
use gradwell_autodiff::Var;
use gradwell_tensor::Float;
use ndarray::{Dimension, IxDyn};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{BuildSite, LayerKind, PlanSite, Planned};
use crate::module::{Ctx, Module};
use crate::{NnError, Result};

/// PyTorch's class name.
const CLASS: &str = "Dropout";

/// Inverted dropout: in training, each element is zeroed with probability `p` and the
/// survivors are scaled by 1/(1 − p); in evaluation it is the identity. The mask is drawn
/// from the forward context's seeded RNG. With `p = 1` (which PyTorch accepts) training
/// multiplies the input by zero, as PyTorch does: zeros (NaN stays NaN) and a zero gradient.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    p: f64,
}

impl Dropout {
    /// Dropout with probability `p` in [0, 1] (PyTorch accepts 1).
    ///
    /// # Errors
    /// `p` outside [0, 1].
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(NnError::Config(format!(
                "dropout probability must be in [0, 1], got {p}"
            )));
        }
        Ok(Dropout { p })
    }
}

impl<F: Float> Module<F> for Dropout {
    fn kind(&self) -> &'static str {
        CLASS
    }

    fn repr(&self) -> String {
        format!("Dropout(p={}, inplace=False)", py_float(self.p))
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        if !ctx.training || self.p == 0.0 {
            return Ok(x);
        }
        // An `IxDyn` keeps up to four axes inline: no allocation per step.
        let shape = IxDyn(ctx.tape.shape(x)?);
        if self.p == 1.0 {
            // PyTorch: `input * zeros` without drawing a mask.
            let zero = ctx.tape.input_with(shape.slice(), |m| m.fill(F::zero()));
            return Ok(ctx.tape.mul(x, zero)?);
        }
        let keep = 1.0 - self.p;
        let scale = F::of(1.0 / keep);
        let rng = &mut *ctx.rng;
        let mask = ctx.tape.input_with(shape.slice(), |m| {
            m.mapv_inplace(|_| {
                if rng.random::<f64>() < keep {
                    scale
                } else {
                    F::zero()
                }
            });
        });
        Ok(ctx.tape.mul(x, mask)?)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
}

/// A [`Dropout`] layer in a model file (`type = "dropout"`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutSpec {
    /// The probability of zeroing an element, in [0, 1].
    pub p: f64,
}

impl LayerKind for DropoutSpec {
    fn torch_class(&self) -> &'static str {
        CLASS
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        at.in_layer(Dropout::new(self.p))?;
        Ok(Planned::output(at.input.to_vec()))
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        Ok(Box::new(at.in_layer(Dropout::new(self.p))?))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        vec![
            (vec![5], DropoutSpec { p: 0.3 }),
            (vec![2, 2], DropoutSpec { p: 0.0 }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use crate::{ModelSpec, Network};

    /// p = 1, which PyTorch accepts: training gives `x·0` (−2 → −0, NaN and ∞ → NaN, as
    /// `nn.Dropout(1.0)` prints them) and a zero gradient; evaluation is the identity.
    #[test]
    fn p_one_zeroes_the_input_and_its_gradient() {
        let spec =
            ModelSpec::parse("input_shape = [4]\nlayers = [{ type = \"dropout\", p = 1.0 }]\n")
                .expect("parses");
        let mut net = Network::<f64>::build(&spec, 0).expect("p = 1 builds, as in PyTorch");
        assert_eq!(
            net.to_string(),
            "Sequential(\n  (0): Dropout(p=1.0, inplace=False)\n)"
        );
        let x = array![[f64::NAN, f64::INFINITY, -2.0, 3.0]].into_dyn();
        for training in [true, false] {
            net.tape.reset();
            let v = net.tape.input_requires_grad(x.clone());
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let y = net.forward(v, training, &mut rng, None).expect("runs");
            let out = net.tape.value(y).to_owned();
            let total = net.tape.sum(y).expect("sums");
            net.tape.backward(total).expect("backward");
            let grad = net.tape.input_grad(v).expect("a gradient").to_owned();
            if training {
                assert!(out[[0, 0]].is_nan() && out[[0, 1]].is_nan(), "{out}");
                assert_eq!(
                    out.iter().skip(2).map(|v| v.to_bits()).collect::<Vec<_>>(),
                    [(-0.0f64).to_bits(), 0.0f64.to_bits()]
                );
                assert!(grad.iter().all(|&g| g == 0.0), "{grad}");
            } else {
                assert_eq!(out.iter().skip(2).copied().collect::<Vec<_>>(), [-2.0, 3.0]);
                assert!(grad.iter().all(|&g| g == 1.0), "{grad}");
            }
        }
    }
}
