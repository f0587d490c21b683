//! [`AlphaDropout`], the dropout of self-normalizing networks, and its settings
//! [`AlphaDropoutSpec`].

use gradwell_activations::Selu;
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
const CLASS: &str = "AlphaDropout";

/// Alpha dropout (Klambauer et al. 2017, `nn.AlphaDropout(p=0.5)`): in training, each
/// element is set with probability `p` to SELU's negative saturation value
/// α′ = −λα ([`Selu::LAMBDA`], [`Selu::ALPHA`]) instead of 0, and then every element is
/// mapped by a·x + b with
///
/// a = ((1 − p)(1 + p·α′²))^(−1/2),  b = −a·α′·p,
///
/// which keeps an input of mean 0 and variance 1 at mean 0 and variance 1, so that a SELU
/// network keeps its fixed point under dropout. A kept element becomes a·x + b and a dropped
/// one the constant a·α′ + b; the gradient is a on kept elements and 0 on dropped ones. In
/// evaluation, and for p = 0, it is the identity; for p = 1 every output is 0 (x times 0,
/// as PyTorch), with gradient 0. This is PyTorch's `_dropout_impl` with `alpha_dropout`
/// (`aten/src/ATen/native/Dropout.cpp`).
///
/// The mask comes from the forward context's seeded RNG, one draw per element as
/// [`super::Dropout`] draws it, so one seed gives one mask.
///
/// ```
/// use gradwell_nn::AlphaDropout;
///
/// let (a, b) = AlphaDropout::new(0.5)?.affine();
/// assert!((a - 0.8864).abs() < 1e-4 && (b - 0.7792).abs() < 1e-4);
/// // A dropped unit and a kept unit at 0 have mean 0 together, weighted by p and 1 − p.
/// let dropped = a * AlphaDropout::DROPPED_VALUE + b;
/// assert!((0.5 * dropped + 0.5 * b).abs() < 1e-12);
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AlphaDropout {
    p: f64,
}

impl AlphaDropout {
    /// PyTorch's default probability, 0.5.
    pub const DEFAULT_P: f64 = 0.5;

    /// The value a dropped element takes before the affine correction, α′ = −λα: SELU's
    /// limit as x → −∞.
    pub const DROPPED_VALUE: f64 = -Selu::LAMBDA * Selu::ALPHA;

    /// Alpha dropout with probability `p` in [0, 1] (PyTorch accepts 1).
    ///
    /// # Errors
    /// `p` outside [0, 1], or NaN.
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(NnError::Config(format!(
                "alpha dropout probability must be in [0, 1], got {p}"
            )));
        }
        Ok(AlphaDropout { p })
    }

    /// The probability of dropping an element.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The affine correction (a, b) of Klambauer et al.: a = ((1 − p)(1 + p·α′²))^(−1/2),
    /// b = −a·α′·p; (1, 0) for p = 0, and (∞, ∞) for p = 1, where the layer outputs 0
    /// instead.
    pub fn affine(&self) -> (f64, f64) {
        let (p, alpha) = (self.p, Self::DROPPED_VALUE);
        let a = 1.0 / ((1.0 - p) * (1.0 + p * alpha * alpha)).sqrt();
        (a, -a * alpha * p)
    }
}

impl Default for AlphaDropout {
    fn default() -> Self {
        AlphaDropout { p: Self::DEFAULT_P }
    }
}

impl<F: Float> Module<F> for AlphaDropout {
    fn kind(&self) -> &'static str {
        CLASS
    }

    fn repr(&self) -> String {
        format!("AlphaDropout(p={}, inplace=False)", py_float(self.p))
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        if !ctx.training || self.p == 0.0 {
            return Ok(x);
        }
        // An `IxDyn` keeps up to four axes inline: no allocation per step.
        let shape = IxDyn(ctx.tape.shape(x)?);
        if self.p == 1.0 {
            let zero = ctx.tape.input_with(shape.slice(), |m| m.fill(F::zero()));
            return Ok(ctx.tape.mul(x, zero)?);
        }
        let keep = 1.0 - self.p;
        let (a, b) = self.affine();
        let (scale, kept_shift, dropped_value) =
            (F::of(a), F::of(b), F::of(a * Self::DROPPED_VALUE + b));
        // The shift is drawn from a copy of the RNG taken before the mask: the same draws,
        // so both see the same elements dropped.
        let mut replay = ctx.rng.clone();
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
        let shift = ctx.tape.input_with(shape.slice(), |m| {
            m.mapv_inplace(|_| {
                if replay.random::<f64>() < keep {
                    kept_shift
                } else {
                    dropped_value
                }
            });
        });
        let scaled = ctx.tape.mul(x, mask)?;
        Ok(ctx.tape.add(scaled, shift)?)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
}

fn default_p() -> f64 {
    AlphaDropout::DEFAULT_P
}

/// An [`AlphaDropout`] layer in a model file (`type = "alpha_dropout"`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlphaDropoutSpec {
    /// The probability of dropping an element, in [0, 1] (PyTorch's 0.5 when left out).
    #[serde(default = "default_p")]
    pub p: f64,
}

impl Default for AlphaDropoutSpec {
    fn default() -> Self {
        AlphaDropoutSpec { p: default_p() }
    }
}

impl LayerKind for AlphaDropoutSpec {
    fn torch_class(&self) -> &'static str {
        CLASS
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        at.in_layer(AlphaDropout::new(self.p))?;
        Ok(Planned::output(at.input.to_vec()))
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        Ok(Box::new(at.in_layer(AlphaDropout::new(self.p))?))
    }

    fn examples() -> Vec<(Vec<usize>, Self)> {
        vec![
            (vec![6], AlphaDropoutSpec::default()),
            (vec![2, 3], AlphaDropoutSpec { p: 0.2 }),
            (vec![3], AlphaDropoutSpec { p: 0.0 }),
            (vec![4], AlphaDropoutSpec { p: 1.0 }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::AlphaDropout;
    use crate::{ModelSpec, Network};

    fn net(toml: &str) -> crate::Result<Network<f64>> {
        Network::build(&ModelSpec::parse(toml)?, 0)
    }

    fn run(net: &mut Network<f64>, x: &ArrayD<f64>, training: bool, seed: u64) -> ArrayD<f64> {
        net.tape.reset();
        let v = net.tape.input(x.clone());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let y = net.forward(v, training, &mut rng, None).expect("runs");
        net.tape.value(y).to_owned()
    }

    /// a and b as PyTorch's `_dropout_impl` computes them with its constant
    /// α = 1.7580993408473766 (λα): a = 1/√((α²p + 1)(1 − p)), a kept element gets + α·a·p,
    /// a dropped one −α·a·(1 − p). Worked for p = 0.5: a = 0.886 404 9…, b = 0.779 193 9….
    #[test]
    fn affine_is_pytorchs() {
        let torch_alpha = 1.758_099_340_847_376_6;
        assert!((-AlphaDropout::DROPPED_VALUE - torch_alpha).abs() < 1e-15);
        for p in [0.05, 0.2, 0.5, 0.9] {
            let (a, b) = AlphaDropout::new(p).unwrap().affine();
            let want_a = 1.0 / ((torch_alpha * torch_alpha * p + 1.0) * (1.0 - p)).sqrt();
            assert!((a - want_a).abs() < 1e-14 * want_a, "p {p}: a {a}");
            assert!((b - torch_alpha * want_a * p).abs() < 1e-14, "p {p}: b {b}");
            let dropped = a * AlphaDropout::DROPPED_VALUE + b;
            assert!(
                (dropped - -torch_alpha * want_a * (1.0 - p)).abs() < 1e-14,
                "p {p}"
            );
        }
        let (a, b) = AlphaDropout::new(0.5).unwrap().affine();
        assert!(
            (a - 0.886_404_9).abs() < 1e-6 && (b - 0.779_193_9).abs() < 1e-6,
            "{a} {b}"
        );
        assert_eq!(AlphaDropout::new(0.0).unwrap().affine(), (1.0, 0.0));
    }

    /// The mean and variance it keeps: for x with mean 0 and variance 1, E[y] = (1 − p)·b +
    /// p·(aα′ + b) = 0 and E[y²] = (1 − p)(a² + b²) + p(aα′ + b)² = 1, exactly (the
    /// definition of a and b).
    #[test]
    fn keeps_zero_mean_unit_variance_in_closed_form() {
        for p in [0.05, 0.1, 0.5, 0.9] {
            let (a, b) = AlphaDropout::new(p).unwrap().affine();
            let d = a * AlphaDropout::DROPPED_VALUE + b;
            let mean = (1.0 - p) * b + p * d;
            let second = (1.0 - p) * (a * a + b * b) + p * d * d;
            assert!(mean.abs() < 1e-14 && (second - 1.0).abs() < 1e-14, "p {p}");
        }
    }

    /// In training each element is a·x + b or aα′ + b, dropped where the seeded stream's
    /// draw is at least 1 − p (the draws dropout makes); the identity in evaluation and
    /// for p = 0; zeros for p = 1.
    #[test]
    fn forward_values() {
        let x = ArrayD::from_shape_fn(IxDyn(&[4, 5]), |i| (i[0] * 5 + i[1]) as f64 * 0.3 - 3.0);
        let mut n =
            net("input_shape = [5]\nlayers = [{ type = \"alpha_dropout\", p = 0.4 }]\n").unwrap();
        let y = run(&mut n, &x, true, 7);
        let (a, b) = AlphaDropout::new(0.4).unwrap().affine();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut kept, mut dropped) = (0, 0);
        for (xi, yi) in x.iter().zip(&y) {
            let want = if rng.random::<f64>() < 0.6 {
                kept += 1;
                a * xi + b
            } else {
                dropped += 1;
                a * AlphaDropout::DROPPED_VALUE + b
            };
            assert!((yi - want).abs() < 1e-15, "{yi} vs {want}");
        }
        assert!(kept > 0 && dropped > 0, "{kept} kept, {dropped} dropped");
        assert_eq!(run(&mut n, &x, false, 7), x);

        let mut zero =
            net("input_shape = [5]\nlayers = [{ type = \"alpha_dropout\", p = 0.0 }]\n").unwrap();
        assert_eq!(run(&mut zero, &x, true, 7), x);
        let mut one =
            net("input_shape = [5]\nlayers = [{ type = \"alpha_dropout\", p = 1.0 }]\n").unwrap();
        assert!(run(&mut one, &x, true, 7).iter().all(|&v| v == 0.0));
        assert_eq!(run(&mut one, &x, false, 7), x);
    }

    /// PyTorch's repr, the default p, and errors naming the layer and the value.
    #[test]
    fn repr_default_and_errors() {
        let n = net("input_shape = [2]\nlayers = [{ type = \"alpha_dropout\" }]\n").unwrap();
        assert!(
            n.to_string()
                .contains("(0): AlphaDropout(p=0.5, inplace=False)"),
            "{n}"
        );
        for (p, shown) in [("1.5", "1.5"), ("-0.1", "-0.1"), ("nan", "NaN")] {
            let toml =
                format!("input_shape = [2]\nlayers = [{{ type = \"alpha_dropout\", p = {p} }}]\n");
            let err = net(&toml).unwrap_err().to_string();
            assert!(
                err.contains("layer 0 (AlphaDropout)")
                    && err.contains(shown)
                    && err.contains("[0, 1]"),
                "{err}"
            );
        }
    }
}
