use std::marker::PhantomData;

use gradwell_autodiff::{Float, Op, ParamId, ParamStore, Tape, Var, ensure_shape};
use gradwell_tensor::ShapeError;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

use crate::batch_norm::param_name;
use crate::buffers::{Inputs, contiguous, filled, positions, slice, targets};
use crate::config::{check_eps, check_width};
use crate::sum::{sum_by, sum2_by};
use crate::{LayerNormConfig, NormError, Result};

const OP: &str = "layer_norm";

/// Layer norm over the last axis, fused: inputs `[x, weight?, bias?]`. Each row (the last
/// axis) is normalized with its own mean and biased variance, kept per row for the
/// backward pass, which recomputes `x̂` from `x`.
#[derive(Debug)]
struct LayerNormOp<F> {
    eps: f64,
    mean: Vec<F>,
    inv_std: Vec<F>,
    weight: Option<usize>,
    bias: Option<usize>,
    /// γ = 1 for the backward pass without weight.
    ones: Vec<F>,
}

impl<F: Float> Op<F> for LayerNormOp<F> {
    fn name(&self) -> &'static str {
        OP
    }

    fn recycle(&mut self, previous: &mut Self) {
        self.mean = std::mem::take(&mut previous.mean);
        self.inv_std = std::mem::take(&mut previous.inv_std);
        self.ones = std::mem::take(&mut previous.ones);
    }

    fn forward(
        &mut self,
        inputs: &[ArrayViewD<'_, F>],
        out: &mut ArrayD<F>,
    ) -> gradwell_autodiff::Result<()> {
        let x = &inputs[0];
        let d = *x.shape().last().ok_or_else(|| {
            ShapeError::invalid(OP, x.shape(), "the input needs at least one axis")
        })?;
        let affine = |i: Option<usize>, what: &str| -> gradwell_autodiff::Result<Option<&[F]>> {
            let Some(i) = i else { return Ok(None) };
            if inputs[i].shape() != [d] {
                return Err(ShapeError::mismatch(
                    OP,
                    x.shape(),
                    inputs[i].shape(),
                    format!("{what} must be [last axis] = [{d}]"),
                )
                .into());
            }
            Ok(Some(contiguous(OP, &inputs[i], what)?))
        };
        let gamma = affine(self.weight, "weight")?;
        let beta = affine(self.bias, "bias")?;
        let xs = contiguous(OP, x, "input")?;
        ensure_shape(out, x.shape());
        let ys = out
            .as_slice_mut()
            .unwrap_or_else(|| unreachable!("ensure_shape gives standard layout"));
        self.mean.clear();
        self.inv_std.clear();
        if d == 0 {
            return Ok(());
        }
        let (mean, inv_std, eps) = (&mut self.mean, &mut self.inv_std, self.eps);
        // Row statistics and the affine map, compiled for AVX-512 where present.
        gradwell_tensor::vectorized(
            #[inline(always)]
            || {
                let n = d as f64;
                for (xr, yr) in xs.chunks_exact(d).zip(ys.chunks_exact_mut(d)) {
                    let mu = sum_by(xr, F::as_f64) / n;
                    let var = sum_by(xr, |v| {
                        let e = v.as_f64() - mu;
                        e * e
                    }) / n;
                    let (mu, s) = (F::of(mu), F::of(1.0 / (var + eps).sqrt()));
                    mean.push(mu);
                    inv_std.push(s);
                    match (gamma, beta) {
                        (Some(g), Some(b)) => {
                            for (((y, &x), &g), &b) in yr.iter_mut().zip(xr).zip(g).zip(b) {
                                *y = (x - mu) * s * g + b;
                            }
                        }
                        (Some(g), None) => {
                            for ((y, &x), &g) in yr.iter_mut().zip(xr).zip(g) {
                                *y = (x - mu) * s * g;
                            }
                        }
                        (None, Some(b)) => {
                            for ((y, &x), &b) in yr.iter_mut().zip(xr).zip(b) {
                                *y = (x - mu) * s + b;
                            }
                        }
                        (None, None) => {
                            for (y, &x) in yr.iter_mut().zip(xr) {
                                *y = (x - mu) * s;
                            }
                        }
                    }
                }
            },
        );
        Ok(())
    }

    fn backward(
        &mut self,
        inputs: &[ArrayViewD<'_, F>],
        _output: &ArrayViewD<'_, F>,
        grad_output: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let x = slice(&inputs[0]);
        let dy = slice(grad_output);
        let d = inputs[0].shape().last().copied().unwrap_or(0);
        if d == 0 {
            return;
        }
        let gamma = match self.weight {
            Some(i) => slice(&inputs[i]),
            None => filled(&mut self.ones, d, F::one()),
        };
        let mut t = targets(grads);
        let mut dx = t[0].take();
        let mut dw = self.weight.and_then(|i| t[i].take());
        let mut db = self.bias.and_then(|i| t[i].take());
        let (mean, inv_std) = (&self.mean, &self.inv_std);
        gradwell_tensor::vectorized(
            #[inline(always)]
            || {
                let n = d as f64;
                for (row, (xr, gr)) in x.chunks_exact(d).zip(dy.chunks_exact(d)).enumerate() {
                    let (mu, s) = (mean[row], inv_std[row]);
                    if let Some(dw) = dw.as_deref_mut() {
                        for ((w, &x), &g) in dw.iter_mut().zip(xr).zip(gr) {
                            *w += g * (x - mu) * s;
                        }
                    }
                    if let Some(db) = db.as_deref_mut() {
                        for (b, &g) in db.iter_mut().zip(gr) {
                            *b += g;
                        }
                    }
                    if let Some(dx) = dx.as_deref_mut() {
                        // With g = dy·γ: dx = s·(g − mean(g) − x̂·mean(g·x̂)), x̂ = (x − μ)·s.
                        let (xr, gr, gamma) = (&xr[..d], &gr[..d], &gamma[..d]);
                        let (s1, s2) = sum2_by(d, |i| {
                            let g = (gr[i] * gamma[i]).as_f64();
                            (g, g * (xr[i] - mu).as_f64())
                        });
                        let b = F::of(s1 / n);
                        let k = F::of(s2 / n) * s * s;
                        let dr = &mut dx[row * d..(row + 1) * d];
                        for (((dx, &x), &g), &w) in dr.iter_mut().zip(xr).zip(gr).zip(gamma) {
                            *dx += s * (g * w - b - (x - mu) * k);
                        }
                    }
                }
            },
        );
    }
}

/// Layer normalization over the last axis, as one fused op: PyTorch's
/// `F.layer_norm(x, (x.shape[-1],), weight, bias, eps)`. Each row (every index of the
/// leading axes) is normalized with its own mean and biased variance,
/// `y = (x − μ)/√(σ² + eps)·γ + β`, with `γ`, `β` of the last axis' length (1 and 0 when
/// absent). Unlike batch norm, the same computation serves training and evaluation, and a
/// row of one value is allowed (its output is β).
///
/// # Errors
/// A shape error for a 0-dimensional input or a weight or bias whose shape is not
/// `[last axis]`; [`NormError::InvalidConfig`] for an `eps` that is not finite and > 0.
pub fn layer_norm<F: Float>(
    tape: &mut Tape<F>,
    x: Var,
    weight: Option<Var>,
    bias: Option<Var>,
    eps: f64,
) -> Result<Var> {
    check_eps(OP, eps)?;
    let (weight_at, bias_at) = positions(1, weight, bias);
    let op = LayerNormOp {
        eps,
        mean: Vec::new(),
        inv_std: Vec::new(),
        weight: weight_at,
        bias: bias_at,
        ones: Vec::new(),
    };
    Ok(tape.apply(op, Inputs::new(&[x], weight, bias).as_slice())?)
}

/// Layer normalization over the last axis: PyTorch's `LayerNorm(normalized_shape)` with a
/// one-element `normalized_shape` (the last axis; normalizing over several trailing axes
/// is a reshape away).
///
/// Parameters live in a [`ParamStore`] as `prefix.weight` (γ, init 1) and `prefix.bias`
/// (β, init 0), `[normalized]` each, when `elementwise_affine`.
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_norm::{LayerNorm, LayerNormConfig};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let ln = LayerNorm::new(tape.params_mut(), "ln", 2, LayerNormConfig::default())?;
/// let x = tape.input(array![[1.0, 3.0]].into_dyn()); // one row: a batch of one is fine
/// let y = ln.forward(&mut tape, x)?;
/// assert!((tape.value(y)[[0, 1]] - 1.0 / (1.0_f64 + 1e-5).sqrt()).abs() < 1e-15);
/// # Ok::<(), gradwell_norm::NormError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LayerNorm<F> {
    normalized: usize,
    config: LayerNormConfig,
    weight: Option<ParamId>,
    bias: Option<ParamId>,
    _float: PhantomData<fn() -> F>,
}

impl<F: Float> LayerNorm<F> {
    /// A layer normalizing a last axis of length `normalized`, its parameters added to
    /// `store` under `prefix`.
    ///
    /// # Errors
    /// [`NormError::InvalidConfig`] for an invalid `eps` or `normalized = 0`.
    pub fn new(
        store: &mut ParamStore<F>,
        prefix: &str,
        normalized: usize,
        config: LayerNormConfig,
    ) -> Result<Self> {
        config.validate()?;
        check_width(OP, "normalized", normalized)?;
        let vec = |v: f64| ArrayD::from_elem(IxDyn(&[normalized]), F::of(v));
        let weight = config
            .elementwise_affine
            .then(|| store.add(param_name(prefix, "weight"), vec(1.0)));
        let bias = (config.elementwise_affine && config.bias)
            .then(|| store.add(param_name(prefix, "bias"), vec(0.0)));
        Ok(LayerNorm {
            normalized,
            config,
            weight,
            bias,
            _float: PhantomData,
        })
    }

    /// The length of the normalized (last) axis.
    pub fn normalized(&self) -> usize {
        self.normalized
    }

    /// The settings.
    pub fn config(&self) -> &LayerNormConfig {
        &self.config
    }

    /// The scale γ, when affine.
    pub fn weight(&self) -> Option<ParamId> {
        self.weight
    }

    /// The shift β, when affine with bias.
    pub fn bias(&self) -> Option<ParamId> {
        self.bias
    }

    /// Normalizes each row of `x` over its last axis (the same in training and
    /// evaluation). The tape's store must be the one the layer was built on.
    ///
    /// # Errors
    /// [`NormError::Features`] when the last axis is not the layer's length (or `x` is
    /// 0-dimensional); [`NormError::ForeignStore`] for a store without the layer's
    /// parameters.
    pub fn forward(&self, tape: &mut Tape<F>, x: Var) -> Result<Var> {
        for (id, param) in [(self.weight, "weight"), (self.bias, "bias")] {
            if let Some(id) = id
                && (id.index() >= tape.params().len()
                    || tape.params().value(id).shape() != [self.normalized])
            {
                return Err(NormError::ForeignStore { layer: OP, param });
            }
        }
        let shape = tape.shape(x)?;
        let got = shape.last().copied().unwrap_or(0);
        if shape.is_empty() || got != self.normalized {
            return Err(NormError::Features {
                layer: OP,
                axis: shape.len().saturating_sub(1),
                shape: shape.to_vec(),
                expected: self.normalized,
                got,
            });
        }
        let w = self.weight.map(|id| tape.param(id));
        let b = self.bias.map(|id| tape.param(id));
        layer_norm(tape, x, w, b, self.config.eps)
    }
}
