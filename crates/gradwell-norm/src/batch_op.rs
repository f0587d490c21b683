//! The batch-norm ops (training with batch statistics, evaluation with given statistics)
//! and their functional entry points.
//!
//! Values are seen as `[n, c, l]` (`l = 1` for `[batch, features]`); channel `k` holds
//! `m = n·l` values. For `l = 1` every loop walks whole rows and keeps one accumulator per
//! channel, so the inner loop runs over contiguous memory across channels; for `l > 1` it
//! walks each channel's contiguous run of `l` values. Sums are accumulated in f64 (as
//! PyTorch's CPU kernels accumulate f32 in double).

use gradwell_autodiff::{Float, Op, ParamStore, Tape, Var, ensure_shape};
use gradwell_tensor::ShapeError;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

use crate::buffers::{Inputs, contiguous, filled, positions, refill, slice, targets};
use crate::config::check_eps;
use crate::sum::{sum_by, sum2_by};
use crate::{NormError, Result};

const OP: &str = "batch_norm";

/// The input seen as `[n, c, l]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) n: usize,
    pub(crate) c: usize,
    pub(crate) l: usize,
}

impl Layout {
    /// `[n, c]` or `[n, c, l]`; any other rank is an error.
    pub(crate) fn of(shape: &[usize]) -> Result<Self, ShapeError> {
        match *shape {
            [n, c] => Ok(Layout { n, c, l: 1 }),
            [n, c, l] => Ok(Layout { n, c, l }),
            _ => Err(ShapeError::invalid(
                OP,
                shape,
                format!(
                    "expected 2D [batch, features] or 3D [batch, channels, length] input, got {}D input",
                    shape.len()
                ),
            )),
        }
    }

    /// The number of values per channel, `m = n·l`.
    pub(crate) fn per_channel(self) -> usize {
        self.n * self.l
    }

    fn is_empty(self) -> bool {
        self.n == 0 || self.c == 0 || self.l == 0
    }
}

/// Calls `four` on each group of four consecutive rows of `c` values, then `one` on each
/// remaining row: a per-channel accumulator array is then read and written once per four
/// rows instead of once per row.
#[inline(always)]
fn rows_by_four<F, A: ?Sized>(
    x: &[F],
    c: usize,
    acc: &mut A,
    four: impl Fn(&mut A, [&[F]; 4]),
    one: impl Fn(&mut A, &[F]),
) {
    let mut quads = x.chunks_exact(4 * c);
    for q in &mut quads {
        let (r0, rest) = q.split_at(c);
        let (r1, rest) = rest.split_at(c);
        let (r2, r3) = rest.split_at(c);
        four(acc, [r0, r1, r2, r3]);
    }
    for row in quads.remainder().chunks_exact(c) {
        one(acc, row);
    }
}

/// Per-channel mean and **biased** variance (÷m), two passes in f64, into `mean` and
/// `var` (resized to `c`).
#[inline(always)]
fn moments<F: Float>(x: &[F], lay: Layout, mean: &mut Vec<f64>, var: &mut Vec<f64>) {
    let Layout { c, l, .. } = lay;
    filled(mean, c, 0.0);
    filled(var, c, 0.0);
    if lay.is_empty() {
        return;
    }
    let m = lay.per_channel() as f64;
    if l == 1 {
        rows_by_four(
            x,
            c,
            &mut mean[..],
            |mean, [r0, r1, r2, r3]| {
                for ((((s, &a), &b), &c), &d) in mean.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
                    *s += (a.as_f64() + b.as_f64()) + (c.as_f64() + d.as_f64());
                }
            },
            |mean, row| {
                for (s, &v) in mean.iter_mut().zip(row) {
                    *s += v.as_f64();
                }
            },
        );
    } else {
        for sample in x.chunks_exact(c * l) {
            for (s, run) in mean.iter_mut().zip(sample.chunks_exact(l)) {
                *s += sum_by(run, F::as_f64);
            }
        }
    }
    mean.iter_mut().for_each(|s| *s /= m);
    if l == 1 {
        let sq = |v: F, mu: f64| {
            let d = v.as_f64() - mu;
            d * d
        };
        rows_by_four(
            x,
            c,
            &mut var[..],
            |var, [r0, r1, r2, r3]| {
                for (((((s, &a), &b), &c), &d), &mu) in var
                    .iter_mut()
                    .zip(r0)
                    .zip(r1)
                    .zip(r2)
                    .zip(r3)
                    .zip(mean.iter())
                {
                    *s += (sq(a, mu) + sq(b, mu)) + (sq(c, mu) + sq(d, mu));
                }
            },
            |var, row| {
                for ((s, &v), &mu) in var.iter_mut().zip(row).zip(mean.iter()) {
                    *s += sq(v, mu);
                }
            },
        );
    } else {
        for sample in x.chunks_exact(c * l) {
            for ((s, run), &mu) in var.iter_mut().zip(sample.chunks_exact(l)).zip(mean.iter()) {
                *s += sum_by(run, |v| {
                    let d = v.as_f64() - mu;
                    d * d
                });
            }
        }
    }
    var.iter_mut().for_each(|s| *s /= m);
}

/// `y = (x − center[k])·a[k] + b[k]` for channel `k`. Centering first (rather than the
/// algebraically equal `x·a + (b − center·a)`) keeps f32 accurate when the mean is large
/// next to the spread.
#[inline(always)]
fn affine_forward<F: Float>(x: &[F], y: &mut [F], lay: Layout, center: &[F], a: &[F], b: &[F]) {
    let Layout { c, l, .. } = lay;
    if lay.is_empty() {
        return;
    }
    if l == 1 {
        for (yr, xr) in y.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
            for ((((y, &x), &mu), &a), &b) in yr.iter_mut().zip(xr).zip(center).zip(a).zip(b) {
                *y = (x - mu) * a + b;
            }
        }
    } else {
        for (ys, xs) in y.chunks_exact_mut(c * l).zip(x.chunks_exact(c * l)) {
            for (ch, (yr, xr)) in ys.chunks_exact_mut(l).zip(xs.chunks_exact(l)).enumerate() {
                let (mu, a, b) = (center[ch], a[ch], b[ch]);
                for (y, &x) in yr.iter_mut().zip(xr) {
                    *y = (x - mu) * a + b;
                }
            }
        }
    }
}

/// Per channel, `Σ dy` and `Σ dy·(x − center)`, in f64 (one pass), into `sdy` and `sdyx`
/// (resized to `c`).
#[inline(always)]
fn grad_sums<F: Float>(
    x: &[F],
    dy: &[F],
    lay: Layout,
    center: &[F],
    sdy: &mut Vec<f64>,
    sdyx: &mut Vec<f64>,
) {
    let Layout { c, l, .. } = lay;
    filled(sdy, c, 0.0);
    filled(sdyx, c, 0.0);
    if lay.is_empty() {
        return;
    }
    if l == 1 {
        // Four rows per pass over the accumulators (see `rows_by_four`).
        let (mut xq, mut gq) = (x.chunks_exact(4 * c), dy.chunks_exact(4 * c));
        for (xb, gb) in (&mut xq).zip(&mut gq) {
            let (x0, x1, x2, x3) = (&xb[..c], &xb[c..2 * c], &xb[2 * c..3 * c], &xb[3 * c..]);
            let (g0, g1, g2, g3) = (&gb[..c], &gb[c..2 * c], &gb[2 * c..3 * c], &gb[3 * c..]);
            let (s1, s2, mu) = (&mut sdy[..c], &mut sdyx[..c], &center[..c]);
            for j in 0..c {
                let g = [
                    g0[j].as_f64(),
                    g1[j].as_f64(),
                    g2[j].as_f64(),
                    g3[j].as_f64(),
                ];
                let d = [x0[j] - mu[j], x1[j] - mu[j], x2[j] - mu[j], x3[j] - mu[j]];
                s1[j] += (g[0] + g[1]) + (g[2] + g[3]);
                s2[j] += (g[0] * d[0].as_f64() + g[1] * d[1].as_f64())
                    + (g[2] * d[2].as_f64() + g[3] * d[3].as_f64());
            }
        }
        for (xr, gr) in xq
            .remainder()
            .chunks_exact(c)
            .zip(gq.remainder().chunks_exact(c))
        {
            for ((((s1, s2), &x), &g), &mu) in sdy
                .iter_mut()
                .zip(sdyx.iter_mut())
                .zip(xr)
                .zip(gr)
                .zip(center)
            {
                let g = g.as_f64();
                *s1 += g;
                *s2 += g * (x - mu).as_f64();
            }
        }
    } else {
        for (xs, gs) in x.chunks_exact(c * l).zip(dy.chunks_exact(c * l)) {
            for ((((s1, s2), xr), gr), &mu) in sdy
                .iter_mut()
                .zip(sdyx.iter_mut())
                .zip(xs.chunks_exact(l))
                .zip(gs.chunks_exact(l))
                .zip(center)
            {
                let (p, q) = sum2_by(l, |i| {
                    let g = gr[i].as_f64();
                    (g, g * (xr[i] - mu).as_f64())
                });
                *s1 += p;
                *s2 += q;
            }
        }
    }
}

/// Per-channel coefficients of the input gradient `dx += a·(dy − b − (x − center)·k)`.
struct DxCoefficients<'a, F> {
    a: &'a [F],
    b: &'a [F],
    k: &'a [F],
}

/// `dx += a[k]·(dy − b[k] − (x − center[k])·k[k])` for channel `k`.
#[inline(always)]
fn add_dx<F: Float>(
    dx: &mut [F],
    x: &[F],
    dy: &[F],
    lay: Layout,
    center: &[F],
    co: &DxCoefficients<'_, F>,
) {
    let Layout { c, l, .. } = lay;
    if lay.is_empty() {
        return;
    }
    if l == 1 {
        // Four rows per load of the per-channel coefficients.
        let (mut dq, mut xq, mut gq) = (
            dx.chunks_exact_mut(4 * c),
            x.chunks_exact(4 * c),
            dy.chunks_exact(4 * c),
        );
        for ((db, xb), gb) in (&mut dq).zip(&mut xq).zip(&mut gq) {
            let (d0, rest) = db.split_at_mut(c);
            let (d1, rest) = rest.split_at_mut(c);
            let (d2, d3) = rest.split_at_mut(c);
            let (d3, x, g) = (&mut d3[..c], &xb[..4 * c], &gb[..4 * c]);
            let (mu, a, b, k) = (&center[..c], &co.a[..c], &co.b[..c], &co.k[..c]);
            for j in 0..c {
                let (mu, a, b, k) = (mu[j], a[j], b[j], k[j]);
                d0[j] += a * (g[j] - b - (x[j] - mu) * k);
                d1[j] += a * (g[c + j] - b - (x[c + j] - mu) * k);
                d2[j] += a * (g[2 * c + j] - b - (x[2 * c + j] - mu) * k);
                d3[j] += a * (g[3 * c + j] - b - (x[3 * c + j] - mu) * k);
            }
        }
        for ((dr, xr), gr) in dq
            .into_remainder()
            .chunks_exact_mut(c)
            .zip(xq.remainder().chunks_exact(c))
            .zip(gq.remainder().chunks_exact(c))
        {
            for ((((((d, &x), &g), &mu), &a), &b), &k) in dr
                .iter_mut()
                .zip(xr)
                .zip(gr)
                .zip(center)
                .zip(co.a)
                .zip(co.b)
                .zip(co.k)
            {
                *d += a * (g - b - (x - mu) * k);
            }
        }
    } else {
        for ((ds, xs), gs) in dx
            .chunks_exact_mut(c * l)
            .zip(x.chunks_exact(c * l))
            .zip(dy.chunks_exact(c * l))
        {
            for (ch, ((dr, xr), gr)) in ds
                .chunks_exact_mut(l)
                .zip(xs.chunks_exact(l))
                .zip(gs.chunks_exact(l))
                .enumerate()
            {
                let (mu, a, b, k) = (center[ch], co.a[ch], co.b[ch], co.k[ch]);
                for ((d, &x), &g) in dr.iter_mut().zip(xr).zip(gr) {
                    *d += a * (g - b - (x - mu) * k);
                }
            }
        }
    }
}

/// Checks that input `i` of an op is `[c]` and contiguous, and returns it.
fn channel_input<'a, F: Float>(
    inputs: &'a [ArrayViewD<'_, F>],
    i: usize,
    c: usize,
    what: &str,
) -> gradwell_autodiff::Result<&'a [F]> {
    let v = &inputs[i];
    if v.shape() != [c] {
        return Err(ShapeError::mismatch(
            OP,
            inputs[0].shape(),
            v.shape(),
            format!("{what} must be [channels] = [{c}]"),
        )
        .into());
    }
    contiguous(OP, v, what)
}

/// [`channel_input`] for an optional input (the weight or bias).
fn optional_input<'a, F: Float>(
    inputs: &'a [ArrayViewD<'_, F>],
    i: Option<usize>,
    c: usize,
    what: &str,
) -> gradwell_autodiff::Result<Option<&'a [F]>> {
    i.map(|i| channel_input(inputs, i, c, what)).transpose()
}

/// `a[k] = γ[k]·s[k]`, with `γ = 1` without weight.
fn scale<F: Float>(a: &mut Vec<F>, gamma: Option<&[F]>, inv_std: &[F]) {
    match gamma {
        Some(g) => refill(a, g.iter().zip(inv_std).map(|(&g, &s)| g * s)),
        None => refill(a, inv_std.iter().map(|&s| F::one() * s)),
    }
}

/// The per-channel vectors of the batch-norm ops, reused from step to step (see
/// [`Op::recycle`]): after the first step a training step allocates none of them.
#[derive(Debug, Default)]
struct Scratch<F> {
    /// `1/√(var + eps)` per channel.
    inv_std: Vec<F>,
    /// `γ·inv_std` per channel: the forward's scale and the input gradient's.
    a: Vec<F>,
    /// Zeros: `β` without bias, and the evaluation op's `b` and `k` input-gradient
    /// coefficients.
    zeros: Vec<F>,
    /// `Σ dy` and `Σ dy·(x − center)` per channel.
    sdy: Vec<f64>,
    sdyx: Vec<f64>,
    /// The training op's `b` and `k` input-gradient coefficients.
    b: Vec<F>,
    k: Vec<F>,
}

/// Batch norm with the batch's own statistics (training), fused: inputs `[x, weight?,
/// bias?]`. The forward computes the per-channel mean and variance in f64 (kept for the
/// running statistics, see [`stats_and_store`]) and keeps the mean and inverse standard
/// deviation in `F` for the backward pass, which recomputes `x̂` from `x` instead of
/// storing it.
#[derive(Debug)]
pub(crate) struct BatchNormTrain<F> {
    eps: f64,
    weight: Option<usize>,
    bias: Option<usize>,
    stats: BatchStats,
    mean: Vec<F>,
    scratch: Scratch<F>,
}

impl<F: Float> Op<F> for BatchNormTrain<F> {
    fn name(&self) -> &'static str {
        OP
    }

    fn recycle(&mut self, previous: &mut Self) {
        self.stats.mean = std::mem::take(&mut previous.stats.mean);
        self.stats.var = std::mem::take(&mut previous.stats.var);
        self.mean = std::mem::take(&mut previous.mean);
        self.scratch = std::mem::take(&mut previous.scratch);
    }

    fn forward(
        &mut self,
        inputs: &[ArrayViewD<'_, F>],
        out: &mut ArrayD<F>,
    ) -> gradwell_autodiff::Result<()> {
        let x = &inputs[0];
        let lay = Layout::of(x.shape())?;
        let gamma = optional_input(inputs, self.weight, lay.c, "weight")?;
        let beta = optional_input(inputs, self.bias, lay.c, "bias")?;
        let xs = contiguous(OP, x, "input")?;
        let (stats, s) = (&mut self.stats, &mut self.scratch);
        gradwell_tensor::vectorized(
            #[inline(always)]
            || moments(xs, lay, &mut stats.mean, &mut stats.var),
        );
        stats.count = lay.per_channel();
        refill(&mut self.mean, stats.mean.iter().map(|&m| F::of(m)));
        let eps = self.eps;
        refill(
            &mut s.inv_std,
            stats.var.iter().map(|&v| F::of(1.0 / (v + eps).sqrt())),
        );
        // y = (x − μ)·a + β with a = γ·s.
        scale(&mut s.a, gamma, &s.inv_std);
        let beta = match beta {
            Some(b) => b,
            None => filled(&mut s.zeros, lay.c, F::zero()),
        };
        ensure_shape(out, x.shape());
        let y = out
            .as_slice_mut()
            .unwrap_or_else(|| unreachable!("ensure_shape gives standard layout"));
        gradwell_tensor::vectorized(
            #[inline(always)]
            || affine_forward(xs, y, lay, &self.mean, &s.a, beta),
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
        let Ok(lay) = Layout::of(inputs[0].shape()) else {
            unreachable!("checked in forward")
        };
        let s = &mut self.scratch;
        let mut t = targets(grads);
        // Σ dy and Σ dy·(x − μ); Σ dy·x̂ = s·Σ dy·(x − μ).
        gradwell_tensor::vectorized(
            #[inline(always)]
            || grad_sums(x, dy, lay, &self.mean, &mut s.sdy, &mut s.sdyx),
        );
        if let Some(dw) = self.weight.and_then(|i| t[i].take()) {
            for ((d, &s2), &s) in dw.iter_mut().zip(&s.sdyx).zip(&s.inv_std) {
                *d += F::of(s2) * s;
            }
        }
        if let Some(db) = self.bias.and_then(|i| t[i].take()) {
            for (d, &s1) in db.iter_mut().zip(&s.sdy) {
                *d += F::of(s1);
            }
        }
        if let Some(dx) = t[0].take() {
            // dx = γ·s·(dy − mean(dy) − x̂·mean(dy·x̂)), x̂ = (x − μ)·s.
            let m = lay.per_channel() as f64;
            scale(&mut s.a, self.weight.map(|i| slice(&inputs[i])), &s.inv_std);
            refill(&mut s.b, s.sdy.iter().map(|&s1| F::of(s1 / m)));
            refill(
                &mut s.k,
                s.sdyx
                    .iter()
                    .zip(&s.inv_std)
                    .map(|(&s2, &s)| F::of(s2 / m) * s * s),
            );
            let co = DxCoefficients {
                a: &s.a,
                b: &s.b,
                k: &s.k,
            };
            gradwell_tensor::vectorized(
                #[inline(always)]
                || add_dx(dx, x, dy, lay, &self.mean, &co),
            );
        }
    }
}

/// Batch norm with given statistics (evaluation): inputs `[x, mean, var, weight?, bias?]`,
/// the statistics being constants of the affine map `y = (x − mean)/√(var + eps)·γ + β`
/// (they get gradients too, should anyone make them trainable).
#[derive(Debug)]
struct BatchNormEval<F> {
    eps: F,
    weight: Option<usize>,
    bias: Option<usize>,
    scratch: Scratch<F>,
}

impl<F: Float> BatchNormEval<F> {
    /// The per-channel mean (an input) and, into `inv_std`, `1/√(var + eps)`.
    fn stats<'a>(
        eps: F,
        inputs: &'a [ArrayViewD<'_, F>],
        c: usize,
        inv_std: &mut Vec<F>,
    ) -> gradwell_autodiff::Result<&'a [F]> {
        let mean = channel_input(inputs, 1, c, "running_mean")?;
        let var = channel_input(inputs, 2, c, "running_var")?;
        refill(inv_std, var.iter().map(|&v| F::one() / (v + eps).sqrt()));
        Ok(mean)
    }
}

impl<F: Float> Op<F> for BatchNormEval<F> {
    fn name(&self) -> &'static str {
        "batch_norm_eval"
    }

    fn recycle(&mut self, previous: &mut Self) {
        self.scratch = std::mem::take(&mut previous.scratch);
    }

    fn forward(
        &mut self,
        inputs: &[ArrayViewD<'_, F>],
        out: &mut ArrayD<F>,
    ) -> gradwell_autodiff::Result<()> {
        let x = &inputs[0];
        let lay = Layout::of(x.shape())?;
        let s = &mut self.scratch;
        let mean = Self::stats(self.eps, inputs, lay.c, &mut s.inv_std)?;
        let gamma = optional_input(inputs, self.weight, lay.c, "weight")?;
        let beta = optional_input(inputs, self.bias, lay.c, "bias")?;
        scale(&mut s.a, gamma, &s.inv_std);
        let beta = match beta {
            Some(b) => b,
            None => filled(&mut s.zeros, lay.c, F::zero()),
        };
        ensure_shape(out, x.shape());
        let y = out
            .as_slice_mut()
            .unwrap_or_else(|| unreachable!("ensure_shape gives standard layout"));
        let xs = contiguous(OP, x, "input")?;
        gradwell_tensor::vectorized(
            #[inline(always)]
            || affine_forward(xs, y, lay, mean, &s.a, beta),
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
        let Ok(lay) = Layout::of(inputs[0].shape()) else {
            unreachable!("checked in forward")
        };
        let s = &mut self.scratch;
        let Ok(mean) = Self::stats(self.eps, inputs, lay.c, &mut s.inv_std) else {
            unreachable!("checked in forward")
        };
        let gamma = self.weight.map(|i| slice(&inputs[i]));
        scale(&mut s.a, gamma, &s.inv_std);
        let mut t = targets(grads);
        if t[1..].iter().any(Option::is_some) {
            gradwell_tensor::vectorized(
                #[inline(always)]
                || grad_sums(x, dy, lay, mean, &mut s.sdy, &mut s.sdyx),
            );
            if let Some(d) = t[1].take() {
                // ∂y/∂mean = −a
                for ((d, &s1), &a) in d.iter_mut().zip(&s.sdy).zip(&s.a) {
                    *d -= F::of(s1) * a;
                }
            }
            if let Some(d) = t[2].take() {
                // ∂y/∂var = −½·γ·(x − mean)·s³
                for (k, (d, &s2)) in d.iter_mut().zip(&s.sdyx).enumerate() {
                    let (g, s) = (gamma.map_or(F::one(), |g| g[k]), s.inv_std[k]);
                    *d -= F::of(0.5 * s2) * g * s * s * s;
                }
            }
            if let Some(d) = self.weight.and_then(|i| t[i].take()) {
                for ((d, &s2), &s) in d.iter_mut().zip(&s.sdyx).zip(&s.inv_std) {
                    *d += F::of(s2) * s;
                }
            }
            if let Some(d) = self.bias.and_then(|i| t[i].take()) {
                for (d, &s1) in d.iter_mut().zip(&s.sdy) {
                    *d += F::of(s1);
                }
            }
        }
        if let Some(dx) = t[0].take() {
            let zeros = filled(&mut s.zeros, lay.c, F::zero());
            let co = DxCoefficients {
                a: &s.a,
                b: zeros,
                k: zeros,
            };
            gradwell_tensor::vectorized(
                #[inline(always)]
                || add_dx(dx, x, dy, lay, mean, &co),
            );
        }
    }
}

/// The statistics of one training batch, per channel: what the running averages are
/// updated with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchStats {
    /// The batch mean.
    pub mean: Vec<f64>,
    /// The **biased** batch variance (÷m), the one the output is normalized with.
    pub var: Vec<f64>,
    /// The number of values per channel, `m = batch·length`.
    pub count: usize,
}

impl BatchStats {
    /// The **unbiased** batch variance `var·m/(m − 1)`, the one PyTorch's running variance
    /// averages.
    pub fn unbiased_var(&self) -> impl Iterator<Item = f64> + '_ {
        let m = self.count as f64;
        self.var.iter().map(move |&v| v * m / (m - 1.0))
    }
}

/// Checks that an optional per-channel parameter on the tape is `[c]`.
fn check_param<F: Float>(
    tape: &Tape<F>,
    p: Option<Var>,
    x_shape: &[usize],
    c: usize,
    what: &str,
) -> Result<()> {
    if let Some(p) = p {
        let s = tape.shape(p)?;
        if s != [c] {
            return Err(ShapeError::mismatch(
                OP,
                x_shape,
                s,
                format!("{what} must be [channels] = [{c}]"),
            )
            .into());
        }
    }
    Ok(())
}

/// Batch normalization with the batch's own statistics, as one fused op: PyTorch's
/// `F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)`.
///
/// `x` is `[batch, channels]` or `[batch, channels, length]`; each channel is normalized
/// with its mean and **biased** variance over the `m = batch·length` values,
/// `y = (x − μ)/√(σ² + eps)·γ + β`, where `γ` and `β` (`[channels]`) default to 1 and 0
/// when absent. Returns the output and a copy of the batch statistics (for running
/// averages; [`crate::BatchNorm`] reads them in place instead).
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_norm::batch_norm_train;
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let x = tape.input(array![[1.0, 10.0], [3.0, 30.0]].into_dyn());
/// let (y, stats) = batch_norm_train(&mut tape, x, None, None, 1e-5)?;
/// assert_eq!(stats.mean, vec![2.0, 20.0]);
/// assert_eq!(stats.var, vec![1.0, 100.0]);
/// assert!((tape.value(y)[[1, 0]] - 1.0 / (1.0_f64 + 1e-5).sqrt()).abs() < 1e-15);
/// # Ok::<(), gradwell_norm::NormError>(())
/// ```
///
/// # Errors
/// [`NormError::TooFewValues`] when a channel has a single value (`m ≤ 1`), as PyTorch;
/// a shape error for an input that is not 2D or 3D or a weight or bias that is not
/// `[channels]`; [`NormError::InvalidConfig`] for an `eps` that is not finite and > 0.
pub fn batch_norm_train<F: Float>(
    tape: &mut Tape<F>,
    x: Var,
    weight: Option<Var>,
    bias: Option<Var>,
    eps: f64,
) -> Result<(Var, BatchStats)> {
    let y = record_train(tape, x, weight, bias, eps)?;
    let stats = stats_and_store(tape, y).0.clone();
    Ok((y, stats))
}

/// [`batch_norm_train`] without the copy of the statistics: checks the arguments, records
/// the training op and returns its output (see [`stats_and_store`] for the statistics).
pub(crate) fn record_train<F: Float>(
    tape: &mut Tape<F>,
    x: Var,
    weight: Option<Var>,
    bias: Option<Var>,
    eps: f64,
) -> Result<Var> {
    check_eps(OP, eps)?;
    let shape = tape.shape(x)?;
    let lay = Layout::of(shape)?;
    if lay.per_channel() <= 1 {
        return Err(NormError::TooFewValues {
            shape: shape.to_vec(),
        });
    }
    check_param(tape, weight, shape, lay.c, "weight")?;
    check_param(tape, bias, shape, lay.c, "bias")?;
    let (w, b) = positions(1, weight, bias);
    let op = BatchNormTrain {
        eps,
        weight: w,
        bias: b,
        stats: BatchStats::default(),
        mean: Vec::new(),
        scratch: Scratch::default(),
    };
    Ok(tape.apply(op, Inputs::new(&[x], weight, bias).as_slice())?)
}

/// The batch statistics computed by the training op that produced `y` (in place, not
/// copied), with the tape's store: what a layer updates its running statistics from.
pub(crate) fn stats_and_store<F: Float>(
    tape: &mut Tape<F>,
    y: Var,
) -> (&BatchStats, &mut ParamStore<F>) {
    let (op, store) = tape
        .op_and_params_mut::<BatchNormTrain<F>>(y)
        .unwrap_or_else(|| unreachable!("`y` is the output of a training batch-norm op"));
    (&op.stats, store)
}

/// Batch normalization with given statistics, as one op: PyTorch's
/// `F.batch_norm(x, running_mean, running_var, weight, bias, training=False, eps=eps)`,
/// the affine map `y = (x − mean)/√(var + eps)·γ + β` per channel. Any batch size is
/// accepted, one included.
///
/// # Errors
/// A shape error for an input that is not 2D or 3D or a statistic, weight or bias that is
/// not `[channels]`; [`NormError::InvalidConfig`] for an `eps` that is not finite and > 0.
pub fn batch_norm_eval<F: Float>(
    tape: &mut Tape<F>,
    x: Var,
    mean: Var,
    var: Var,
    weight: Option<Var>,
    bias: Option<Var>,
    eps: f64,
) -> Result<Var> {
    check_eps(OP, eps)?;
    let shape = tape.shape(x)?;
    let lay = Layout::of(shape)?;
    check_param(tape, Some(mean), shape, lay.c, "running_mean")?;
    check_param(tape, Some(var), shape, lay.c, "running_var")?;
    check_param(tape, weight, shape, lay.c, "weight")?;
    check_param(tape, bias, shape, lay.c, "bias")?;
    let (w, b) = positions(3, weight, bias);
    let op = BatchNormEval {
        eps: F::of(eps),
        weight: w,
        bias: b,
        scratch: Scratch::default(),
    };
    Ok(tape.apply(op, Inputs::new(&[x, mean, var], weight, bias).as_slice())?)
}

#[cfg(test)]
mod tests {
    use ndarray::IxDyn;

    use super::*;

    /// Records a training op and an evaluation op at the same tape positions as the step
    /// before, on `c` channels (the input a parameter, so that the ops are recorded for
    /// backward), and returns both outputs.
    fn step(tape: &mut Tape<f64>, c: usize) -> (Var, Var) {
        tape.reset();
        let value = ArrayD::from_shape_fn(IxDyn(&[4, c]), |i| (i[0] * c + i[1]) as f64 * 0.1);
        let id = tape.params_mut().add(format!("x{c}"), value);
        let x = tape.param(id);
        let (y, _) = batch_norm_train(tape, x, None, None, 1e-5).unwrap();
        let mean = tape.input(ArrayD::zeros(IxDyn(&[c])));
        let var = tape.input(ArrayD::ones(IxDyn(&[c])));
        let z = batch_norm_eval(tape, x, mean, var, None, None, 1e-5).unwrap();
        (y, z)
    }

    /// A reused tape hands each op the buffers of last step's op at its position, so a
    /// steady-state step allocates none: after a step on 8 channels, the ops of a step on
    /// 3 channels still hold buffers of capacity 8 (fresh ones would be sized for 3).
    #[test]
    fn ops_take_the_previous_steps_buffers() {
        let mut tape = Tape::<f64>::new();
        step(&mut tape, 8);
        let (y, z) = step(&mut tape, 3);
        let train = tape.op_of::<BatchNormTrain<f64>>(y).unwrap();
        let s = &train.scratch;
        let held = [
            train.stats.mean.capacity(),
            train.stats.var.capacity(),
            train.mean.capacity(),
            s.inv_std.capacity(),
            s.a.capacity(),
            s.zeros.capacity(),
        ];
        assert!(held.iter().all(|&n| n >= 8), "training op: {held:?}");
        assert_eq!(train.stats.mean.len(), 3);
        let eval = tape.op_of::<BatchNormEval<f64>>(z).unwrap();
        let s = &eval.scratch;
        let held = [s.inv_std.capacity(), s.a.capacity(), s.zeros.capacity()];
        assert!(held.iter().all(|&n| n >= 8), "evaluation op: {held:?}");
        assert_eq!(s.inv_std.len(), 3);
        // And each op is named as PyTorch's function is.
        assert_eq!(tape.op_name(y), Some(OP));
        assert_eq!(tape.op_name(z), Some("batch_norm_eval"));
    }
}
