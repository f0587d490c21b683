//! The layers: [`Linear`], [`Act`], [`Prelu`], [`Softmax`], [`Dropout`], [`Flatten`], and
//! the containers [`Sequential`] and [`Residual`].

use gradwell_activations::pyfmt::py_float;
use gradwell_activations::{ActivationInfo, ActivationKind, Prelu as PreluMath};
use gradwell_autodiff::{Op, ParamId, ParamStore, Tape, Var, ensure_shape};
use gradwell_init::{Init, Initializer};
use gradwell_tensor::Float;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Dimension, IxDyn};
use rand::{Rng, RngCore};

use crate::module::{Ctx, Module, Tap};
use crate::{NnError, Result};

/// Fills a new parameter of `shape` with `init` and adds it to the store as `name`.
pub(crate) fn new_param<F: Float>(
    store: &mut ParamStore<F>,
    name: String,
    shape: &[usize],
    init: &dyn Initializer<F>,
    rng: &mut dyn RngCore,
) -> Result<ParamId> {
    let value = init.sample(shape, rng).map_err(|source| NnError::Init {
        param: name.clone(),
        source,
    })?;
    Ok(store.add(name, value))
}

/// Joins a path prefix and a local name with a dot, PyTorch's state_dict convention.
pub(crate) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn features_of(input: &[usize], layer: &str) -> Result<usize> {
    match input {
        [f] => Ok(*f),
        _ => Err(NnError::Config(format!(
            "{layer} needs flat per-sample input, got shape {input:?}; add a Flatten first"
        ))),
    }
}

/// `y = x·Wᵀ + b` with PyTorch's `[out_features, in_features]` weight.
#[derive(Debug, Clone)]
pub struct Linear {
    /// The weight, `[out, in]`.
    pub weight: ParamId,
    /// The bias, `[out]`, if any.
    pub bias: Option<ParamId>,
    in_features: usize,
    out_features: usize,
}

impl Linear {
    /// A linear layer whose weight is drawn from `init` and whose bias (if any) from
    /// `bias_init`, or PyTorch's default U(±1/√in_features) when `bias_init` is `None`.
    /// Parameters are named `{prefix}.weight` and `{prefix}.bias`.
    ///
    /// # Errors
    /// When an initializer fails (e.g. a zero width).
    #[allow(clippy::too_many_arguments)] // PyTorch's arguments plus the store, path and RNG
    pub fn new<F: Float>(
        store: &mut ParamStore<F>,
        prefix: &str,
        in_features: usize,
        out_features: usize,
        bias: bool,
        init: &Init,
        bias_init: Option<&Init>,
        rng: &mut dyn RngCore,
    ) -> Result<Self> {
        let weight = new_param(
            store,
            join(prefix, "weight"),
            &[out_features, in_features],
            init,
            rng,
        )?;
        let bias = if bias {
            let bound = if in_features > 0 {
                1.0 / (in_features as f64).sqrt()
            } else {
                0.0
            };
            let default = Init::Uniform {
                low: -bound,
                high: bound,
            };
            Some(new_param(
                store,
                join(prefix, "bias"),
                &[out_features],
                bias_init.unwrap_or(&default),
                rng,
            )?)
        } else {
            None
        };
        Ok(Linear {
            weight,
            bias,
            in_features,
            out_features,
        })
    }

    /// The number of input features.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// The number of output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }
}

/// PyTorch's name of each layer type, as [`Module::kind`] gives it and
/// [`crate::ModelPlan`] names the layers it has not built.
pub(crate) mod kind {
    pub(crate) const LINEAR: &str = "Linear";
    pub(crate) const PRELU: &str = "PReLU";
    pub(crate) const DROPOUT: &str = "Dropout";
    pub(crate) const FLATTEN: &str = "Flatten";
    pub(crate) const SOFTMAX: &str = "Softmax";
    pub(crate) const LOG_SOFTMAX: &str = "LogSoftmax";
    pub(crate) const RESIDUAL: &str = "Residual";
    pub(crate) const BATCH_NORM: &str = "BatchNorm1d";
    pub(crate) const LAYER_NORM: &str = "LayerNorm";
}

impl<F: Float> Module<F> for Linear {
    fn kind(&self) -> &'static str {
        kind::LINEAR
    }

    fn repr(&self) -> String {
        let bias = if self.bias.is_some() { "True" } else { "False" };
        format!(
            "Linear(in_features={}, out_features={}, bias={bias})",
            self.in_features, self.out_features
        )
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        let w = ctx.tape.param(self.weight);
        let y = ctx.tape.matmul_t(x, w)?;
        match self.bias {
            Some(b) => {
                let b = ctx.tape.param(b);
                Ok(ctx.tape.bias_add(y, b)?)
            }
            None => Ok(y),
        }
    }

    fn params(&self) -> Vec<ParamId> {
        std::iter::once(self.weight).chain(self.bias).collect()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let f = features_of(input, "Linear")?;
        if f != self.in_features {
            return Err(NnError::Config(format!(
                "Linear expects {} input features, got {f}",
                self.in_features
            )));
        }
        Ok(vec![self.out_features])
    }
}

/// An element-wise activation as a layer (fixed parameters; see [`Prelu`] for a learnable
/// slope).
#[derive(Debug, Clone, Copy)]
pub struct Act(pub ActivationKind);

impl<F: Float> Module<F> for Act {
    fn kind(&self) -> &'static str {
        self.0.torch_class()
    }

    fn repr(&self) -> String {
        self.0.torch_repr()
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        Ok(ctx.tape.activation(self.0, x)?)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn activation(&self) -> Option<ActivationKind> {
        Some(self.0)
    }
}

/// Softmax or log-softmax over the feature axis (`dim=1` of `[batch, features]`).
#[derive(Debug, Clone, Copy)]
pub struct Softmax {
    /// Log-softmax instead of softmax.
    pub log: bool,
}

impl<F: Float> Module<F> for Softmax {
    fn kind(&self) -> &'static str {
        if self.log {
            kind::LOG_SOFTMAX
        } else {
            kind::SOFTMAX
        }
    }

    fn repr(&self) -> String {
        format!("{}(dim=1)", <Self as Module<F>>::kind(self))
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        Ok(if self.log {
            ctx.tape.log_softmax(x, 1)?
        } else {
            ctx.tape.softmax(x, 1)?
        })
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
}

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
        kind::PRELU
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

/// Inverted dropout: in training, each element is zeroed with probability `p` and the
/// survivors are scaled by 1/(1 − p); in evaluation it is the identity. The mask is drawn
/// from the forward context's seeded RNG.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    p: f64,
}

impl Dropout {
    /// Dropout with probability `p` in [0, 1).
    ///
    /// # Errors
    /// `p` outside [0, 1).
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(NnError::Config(format!(
                "dropout probability must be in [0, 1), got {p}"
            )));
        }
        Ok(Dropout { p })
    }
}

impl<F: Float> Module<F> for Dropout {
    fn kind(&self) -> &'static str {
        kind::DROPOUT
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

/// Flattens every axis but the batch axis: `[batch, a, b, …]` → `[batch, a·b·…]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flatten;

impl<F: Float> Module<F> for Flatten {
    fn kind(&self) -> &'static str {
        kind::FLATTEN
    }

    fn repr(&self) -> String {
        "Flatten(start_dim=1, end_dim=-1)".to_string()
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        let shape = ctx.tape.shape(x)?;
        if shape.len() == 2 {
            return Ok(x);
        }
        let batch = shape.first().copied().unwrap_or(1);
        let rest: usize = shape.iter().skip(1).product();
        Ok(ctx.tape.reshape(x, &[batch, rest])?)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input.iter().product()])
    }
}

/// Layers applied in order; each layer's output (and its path) is recorded in
/// [`Ctx::taps`] when the monitor asks.
#[derive(Debug, Default)]
pub struct Sequential<F: Float> {
    path: String,
    layers: Vec<Box<dyn Module<F>>>,
}

impl<F: Float> Sequential<F> {
    /// An empty container whose children are named `{path}.0`, `{path}.1`, ….
    pub fn new(path: impl Into<String>) -> Self {
        Sequential {
            path: path.into(),
            layers: Vec::new(),
        }
    }

    /// Appends a layer.
    pub fn push(&mut self, layer: impl Module<F> + 'static) {
        self.layers.push(Box::new(layer));
    }

    /// Appends a boxed layer.
    pub fn push_boxed(&mut self, layer: Box<dyn Module<F>>) {
        self.layers.push(layer);
    }

    /// The layers.
    pub fn layers(&self) -> &[Box<dyn Module<F>>] {
        &self.layers
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there is no layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The path of the layer at `index` (`"3"`, or `"2.body.3"` when nested).
    pub fn child_path(&self, index: usize) -> String {
        join(&self.path, &index.to_string())
    }
}

impl<F: Float> Module<F> for Sequential<F> {
    fn kind(&self) -> &'static str {
        "Sequential"
    }

    fn repr(&self) -> String {
        "Sequential".to_string()
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, mut x: Var) -> Result<Var> {
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(ctx, x)?;
            if let Some(taps) = ctx.taps.as_deref_mut() {
                taps.push(Tap {
                    path: self.child_path(i),
                    kind: layer.kind(),
                    activation: layer.activation(),
                    output: x,
                });
            }
        }
        Ok(x)
    }

    fn children(&self) -> Vec<(String, &dyn Module<F>)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.as_ref()))
            .collect()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.layers
            .iter()
            .try_fold(input.to_vec(), |shape, l| l.output_shape(&shape))
    }
}

/// A residual block `y = f(x) + x`, or `y = f(x) + P·x` with a linear projection `P`
/// (no bias) when `f` changes the width. The identity path lets gradients reach early
/// layers undiminished, which is why very deep networks train with it.
#[derive(Debug)]
pub struct Residual<F: Float> {
    /// The residual branch `f`.
    pub body: Sequential<F>,
    /// The projection of the skip path, if the widths differ.
    pub projection: Option<Linear>,
}

impl<F: Float> Module<F> for Residual<F> {
    fn kind(&self) -> &'static str {
        kind::RESIDUAL
    }

    fn repr(&self) -> String {
        "Residual".to_string()
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        let fx = self.body.forward(ctx, x)?;
        let skip = match &self.projection {
            Some(p) => p.forward(ctx, x)?,
            None => x,
        };
        Ok(ctx.tape.add(fx, skip)?)
    }

    fn children(&self) -> Vec<(String, &dyn Module<F>)> {
        let mut c: Vec<(String, &dyn Module<F>)> = vec![("body".to_string(), &self.body)];
        if let Some(p) = &self.projection {
            c.push(("projection".to_string(), p));
        }
        c
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.body.output_shape(input)
    }
}

/// A forward pass of `module` on a fresh context (no taps), for tests and inference.
///
/// # Errors
/// As the module's forward.
pub fn run<F: Float>(
    module: &dyn Module<F>,
    tape: &mut Tape<F>,
    x: Var,
    training: bool,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Result<Var> {
    let mut ctx = Ctx {
        tape,
        training,
        rng,
        taps: None,
    };
    module.forward(&mut ctx, x)
}
