//! Recurrent layers as one fused op per layer of a stack ([`Recurrent`]): the Elman RNN
//! (tanh or ReLU), the LSTM and the GRU of PyTorch, with backpropagation through time and,
//! optionally, truncated BPTT. One file per cell holds its step equations; this file holds
//! the driver they share (the products, the loop over time, the buffers).

mod elman;
mod gru;
mod lstm;

use gradwell_tensor::{Float, Isa, PackedB, ShapeError, gemm, gemm_packed};
use ndarray::{ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, ShapeBuilder};

pub use elman::RnnNonlinearity;

use crate::op::ensure_shape;
use crate::{AutodiffError, Op, Result, Tape, Var};

/// Which recurrent cell a [`Recurrent`] op runs, with PyTorch's equations and gate order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cell {
    /// `torch.nn.RNN`: `h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)`, one gate.
    Elman(RnnNonlinearity),
    /// `torch.nn.LSTM`: four gates i, f, g, o, and a cell state c.
    Lstm,
    /// `torch.nn.GRU`: three gates r, z, n, with n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
    Gru,
}

impl Cell {
    /// The number of gates G: the weights are `[G·H, I]` and `[G·H, H]`, the biases `[G·H]`
    /// (PyTorch's layout, the gates stacked in its order).
    pub fn gates(self) -> usize {
        match self {
            Cell::Elman(_) => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// Per sample, step and layer, how many values the op keeps in its own buffers during a
    /// training step (the gates, their gradients and the cell's extra values): what a
    /// memory estimate adds to the layer's output. `None` past `usize`.
    pub fn buffered_per_step(self, hidden: usize) -> Option<usize> {
        self.gates()
            .checked_mul(2)?
            .checked_mul(hidden)?
            .checked_add(self.extra_width(hidden))
    }

    /// Per sample and step, how many values besides the gates the backward pass needs
    /// (LSTM: c_t and tanh c_t; GRU: W_hn h_{t−1} + b_hn), for a hidden size `h`.
    fn extra_width(self, h: usize) -> usize {
        match self {
            Cell::Elman(_) => 0,
            Cell::Lstm => 2 * h,
            Cell::Gru => h,
        }
    }

    /// Whether each gate's pre-activation is the plain sum of the input side
    /// (`W_ih x_t + b_ih`) and the hidden side (`W_hh h_{t−1} + b_hh`) (Elman, LSTM). Then
    /// the forward pass accumulates the hidden side's product into the gates' rows and adds
    /// both biases in the cell's loop, and the two sides' gradients are equal: the backward
    /// pass keeps only the input side's and the cell writes no `dgh` and no `dh_prev`. The
    /// GRU's differ (its n gate multiplies the hidden side by r) and it has a direct path
    /// `dh ⊙ z` to `h_{t−1}`.
    fn shares_pre_activation_grad(self) -> bool {
        match self {
            Cell::Elman(_) | Cell::Lstm => true,
            Cell::Gru => false,
        }
    }

    /// Turns one row of input-side pre-activation gradients into the hidden side's, in
    /// place, given the row's activated gates (GRU: the n block times r; the others are
    /// equal already).
    #[inline(always)]
    fn hidden_side_in_place<F: Float>(self, gates: &[F], d: &mut [F]) {
        match self {
            Cell::Elman(_) | Cell::Lstm => {}
            Cell::Gru => gru::hidden_side_in_place(gates, d),
        }
    }

    /// The width of the cell-state gradient carried back through time (LSTM only).
    fn cell_state_width(self, h: usize) -> usize {
        match self {
            Cell::Elman(_) | Cell::Gru => 0,
            Cell::Lstm => h,
        }
    }

    #[inline(always)]
    fn forward_row<F: Float>(self, r: FwdRow<'_, F>) {
        match self {
            Cell::Elman(act) => elman::forward(act, r),
            Cell::Lstm => lstm::forward(r),
            Cell::Gru => gru::forward(r),
        }
    }

    #[inline(always)]
    fn backward_row<F: Float>(self, r: BackRow<'_, F>) {
        match self {
            Cell::Elman(act) => elman::backward(act, r),
            Cell::Lstm => lstm::backward(r),
            Cell::Gru => gru::backward(r),
        }
    }
}

/// One sample's step, forward: what a cell reads and writes.
pub(super) struct FwdRow<'a, F> {
    /// In: the pre-activations without the biases the cell adds from `hh`: `W_ih x_t +
    /// b_ih` (GRU), `W_ih x_t + W_hh h_{t−1}` (the cells that
    /// [sum the sides](Cell::shares_pre_activation_grad)). Out: the activated gates the
    /// backward pass reads.
    gates: &'a mut [F],
    /// What the cell adds to `gates` (G·H): `W_hh h_{t−1} + b_hh` (GRU), `b_ih + b_hh`
    /// (the cells that sum the sides; zeros without biases).
    hh: &'a [F],
    /// `h_{t−1}`; `None` at t = 0 (h₀ = 0).
    h_prev: Option<&'a [F]>,
    /// The previous step's extra values (LSTM: c_{t−1}); `None` at t = 0 (c₀ = 0).
    extra_prev: Option<&'a [F]>,
    /// Out: this step's extra values.
    extra: &'a mut [F],
    /// Out: `h_t` (H).
    h: &'a mut [F],
    /// What the instructions the step is compiled for can do (fused multiply-adds in the
    /// exponential where they are one instruction).
    isa: Isa,
}

/// One sample's step, backward.
pub(super) struct BackRow<'a, F> {
    /// The activated gates the forward pass stored.
    gates: &'a [F],
    /// This step's extra values.
    extra: &'a [F],
    /// The previous step's extra values; `None` at t = 0.
    extra_prev: Option<&'a [F]>,
    /// `h_{t−1}`; `None` at t = 0.
    h_prev: Option<&'a [F]>,
    /// The total gradient reaching `h_t`.
    dh: &'a [F],
    /// LSTM: in, the gradient reaching `c_t` from step t + 1; out, the one reaching
    /// `c_{t−1}`. Empty for the other cells.
    dc: &'a mut [F],
    /// Out: the gradient of the input-side pre-activations (`W_ih x_t + b_ih`).
    dgi: &'a mut [F],
    /// Out: the gradient of the hidden-side pre-activations (`W_hh h_{t−1} + b_hh`). Empty
    /// (and not written) when the cell [shares](Cell::shares_pre_activation_grad) it with
    /// the input side.
    dgh: &'a mut [F],
    /// Out: the gradient reaching `h_{t−1}` other than through `W_hh` (GRU's `dh ⊙ z`).
    /// Empty for the cells that share the pre-activation gradient (they have no such path).
    dh_prev: &'a mut [F],
}

/// One layer of a recurrent stack as one op: inputs `x` `[N, T, I]` (batch first),
/// `w_ih` `[G·H, I]`, `w_hh` `[G·H, H]` and optionally `b_ih`, `b_hh` `[G·H]` (both or
/// neither), output every hidden state `[N, T, H]`, with h₀ = c₀ = 0. The equations and the
/// gate order are PyTorch's ([`Cell`]).
///
/// Forward: one product for every `x_t·W_ihᵀ` (N·T rows), then one `h_{t−1}·W_hhᵀ` per
/// step, with `W_hhᵀ` packed once for all steps ([`PackedB`]) and, for the Elman RNN and
/// the LSTM, accumulated into that step's rows of the first product (the biases, summed
/// once, are added in the cell's loop). The activated gates (and the LSTM's cell states
/// and their tanh, the GRU's `W_hn h + b_hn`) are kept in buffers the op owns and hands on through [`Op::recycle`], so after the first
/// step of training the op allocates nothing. Backward: backpropagation through all steps
/// (one product per step carries the gradient to `h_{t−1}`, `W_hh` packed once), then one
/// product over all N·T rows for each weight's gradient (accumulated with `β = 1`) and one
/// for the input's; the biases' gradients are summed step by step.
///
/// **Truncated BPTT** ([`Recurrent::truncated`], k): the gradient flowing from `h_t` (and
/// `c_t`) to `h_{t−1}` (and `c_{t−1}`) is cut wherever t is a multiple of k. This is
/// exactly what PyTorch computes when the sequence is run in chunks of k steps with
/// `h = h.detach()` (and `c = c.detach()`) between chunks and the chunks' losses are
/// summed before one `backward()`: every weight still receives the gradient of every
/// step, but no gradient crosses a chunk boundary.
///
/// During backward the op records ‖∂L/∂h_t‖ for every t ([`Recurrent::step_grad_norms`]).
#[derive(Debug)]
pub struct Recurrent<F> {
    cell: Cell,
    truncate: Option<usize>,
    /// `[N, T, G·H]`: the activated gates of every sample and step.
    gates: Vec<F>,
    /// `[N, T, extra]`: see [`Cell::extra_width`].
    extra: Vec<F>,
    /// GRU: `[N, G·H]`, `h_{t−1}·W_hhᵀ + b_hh` of the step being computed. The cells that
    /// [sum the sides](Cell::shares_pre_activation_grad): `[G·H]`, `b_ih + b_hh`.
    hh: Vec<F>,
    /// `[N, T, G·H]`: the input-side pre-activation gradients.
    dgi: Vec<F>,
    /// `[N, G·H]`: the hidden-side pre-activation gradients of one step (GRU only; the
    /// other cells' are `dgi`'s).
    dgh: Vec<F>,
    /// `[N, H]`: the total gradient reaching `h_t`.
    dh: Vec<F>,
    /// `[N, H]`: the gradient carried to `h_{t−1}`.
    carry: Vec<F>,
    /// `[N, H]` (LSTM): the gradient carried to `c_{t−1}`.
    dc: Vec<F>,
    /// `[T]`: ‖∂L/∂h_t‖ of the last backward pass.
    norms: Vec<F>,
    /// `W_hhᵀ` (forward) or `W_hh` (backward), packed once for the products of every step.
    packed: PackedB<F>,
}

impl<F: Float> Recurrent<F> {
    /// The op for `cell`, with full backpropagation through time.
    pub fn new(cell: Cell) -> Self {
        Recurrent {
            cell,
            truncate: None,
            gates: Vec::new(),
            extra: Vec::new(),
            hh: Vec::new(),
            dgi: Vec::new(),
            dgh: Vec::new(),
            dh: Vec::new(),
            carry: Vec::new(),
            dc: Vec::new(),
            norms: Vec::new(),
            packed: PackedB::new(),
        }
    }

    /// With truncated BPTT every `k` steps (`None`: none); see [`Recurrent`]. `k = 0` is
    /// refused when the op runs.
    pub fn truncated(self, k: Option<usize>) -> Self {
        Recurrent {
            truncate: k,
            ..self
        }
    }

    /// The cell.
    pub fn cell(&self) -> Cell {
        self.cell
    }

    /// The truncation length k of truncated BPTT, if any.
    pub fn truncate(&self) -> Option<usize> {
        self.truncate
    }

    /// ‖∂L/∂h_t‖ for t = 0 … T − 1, from the last backward pass: the Frobenius norm over
    /// the batch of the total gradient reaching the hidden state of step t (from the output
    /// at t and from step t + 1, the latter cut at truncation points). The monitor through
    /// time reads it, to show how the gradient decays or grows with the time lag. Empty
    /// before the first backward pass after a forward; after a Jacobian's repeated backward
    /// passes it holds the last pass's.
    pub fn step_grad_norms(&self) -> &[F] {
        &self.norms
    }

    /// Checks the inputs; gives N, T, I and H.
    fn dims(&self, x: &[ArrayViewD<'_, F>]) -> Result<(usize, usize, usize, usize)> {
        if x.len() != 3 && x.len() != 5 {
            return Err(AutodiffError::invalid(
                "recurrent",
                format!(
                    "takes x, w_ih, w_hh and optionally b_ih, b_hh (3 or 5 inputs), got {}",
                    x.len()
                ),
            ));
        }
        if self.truncate == Some(0) {
            return Err(AutodiffError::invalid(
                "recurrent",
                "the truncation length of truncated BPTT must be at least 1 step",
            ));
        }
        let [n, t, i] = *x[0].shape() else {
            return Err(ShapeError::invalid(
                "recurrent",
                x[0].shape(),
                "the input must be [batch, steps, features] (batch first)",
            )
            .into());
        };
        if t == 0 {
            return Err(ShapeError::invalid(
                "recurrent",
                x[0].shape(),
                "the sequence must have at least one step",
            )
            .into());
        }
        let g = self.cell.gates();
        let &[gh, h] = x[2].shape() else {
            return Err(ShapeError::invalid("recurrent", x[2].shape(), "w_hh must be 2-D").into());
        };
        if h == 0 || gh != g * h {
            return Err(ShapeError::invalid(
                "recurrent",
                x[2].shape(),
                format!("w_hh must be [{g}·H, H] with H ≥ 1 for this cell"),
            )
            .into());
        }
        if x[1].shape() != [gh, i] {
            return Err(ShapeError::mismatch(
                "recurrent",
                x[1].shape(),
                &[gh, i],
                "w_ih must be [G·H, input features]",
            )
            .into());
        }
        for b in x.iter().skip(3) {
            if b.shape() != [gh] {
                return Err(ShapeError::mismatch(
                    "recurrent",
                    b.shape(),
                    &[gh],
                    "the biases must be [G·H]",
                )
                .into());
            }
        }
        Ok((n, t, i, h))
    }
}

/// σ(x) = 1/(1 + e^{−x}), with [`Float::exp_vectorizable`] so that a loop of it
/// vectorizes. Finite everywhere and without a branch: in `f32` e^{−x} is at most about
/// 1.7e38 (the exponential clamps its input), in `f64` an infinite e^{−x} gives 0; the
/// sum and the reciprocal keep σ's relative accuracy on both sides of 0.
#[inline(always)]
fn sigmoid<F: Float>(isa: Isa, x: F) -> F {
    F::one() / (F::one() + (-x).exp_vectorizable(isa))
}

/// tanh(x). In `f32`, with [`Float::exp_vectorizable`] so that a loop of it vectorizes:
/// (1 − e)/(1 + e) with e = e^{−2|x|}, the sign of x, and below |x| = 1/8 (where 1 − e
/// would cancel) its Taylor polynomial to x⁷ (relative error below 2e-10, far under f32's
/// rounding). In `f64` (gradient checks), the standard library's `tanh`.
#[inline(always)]
fn tanh<F: Float>(isa: Isa, x: F) -> F {
    if F::epsilon() < F::of(1e-10) {
        return x.tanh();
    }
    let a = x.abs();
    let e = (-(a + a)).exp_vectorizable(isa);
    let big = (F::one() - e) / (F::one() + e);
    let x2 = x * x;
    let poly = isa.mul_add(x2, F::of(-17.0 / 315.0), F::of(2.0 / 15.0));
    let poly = isa.mul_add(x2, poly, F::of(-1.0 / 3.0));
    let small = x * isa.mul_add(x2, poly, F::one());
    if a < F::of(0.125) {
        small
    } else if x < F::zero() {
        -big
    } else {
        big
    }
}

/// Resizes without giving capacity back, so a repeated shape allocates nothing.
fn resize<F: Float>(v: &mut Vec<F>, n: usize) {
    v.resize(n, F::zero());
    v.truncate(n);
}

/// A standard-layout tape value as a flat slice.
fn flat<'a, F>(a: &'a ArrayViewD<'_, F>) -> &'a [F] {
    a.as_slice()
        .unwrap_or_else(|| unreachable!("tape values are in standard layout"))
}

/// `rows × cols` over `data`, consecutive rows `stride` apart.
fn mat<F>(data: &[F], rows: usize, cols: usize, stride: usize) -> ArrayView2<'_, F> {
    ArrayView2::from_shape((rows, cols).strides((stride, 1)), data)
        .unwrap_or_else(|e| unreachable!("the buffers are sized for their views: {e}"))
}

/// [`mat`], mutable.
fn mat_mut<F>(data: &mut [F], rows: usize, cols: usize, stride: usize) -> ArrayViewMut2<'_, F> {
    ArrayViewMut2::from_shape((rows, cols).strides((stride, 1)), data)
        .unwrap_or_else(|e| unreachable!("the buffers are sized for their views: {e}"))
}

/// Adds `rows` rows of `data`, `stride` apart and as long as `sum`, into `sum` (a bias's
/// gradient), if that gradient is wanted.
fn add_rows<F: Float>(
    sum: Option<&mut ArrayViewMutD<'_, F>>,
    data: &[F],
    rows: usize,
    stride: usize,
) {
    let Some(sum) = sum else { return };
    let sum = flat_mut(sum);
    gradwell_tensor::vectorized(
        #[inline(always)]
        || {
            for r in 0..rows {
                let row = &data[r * stride..r * stride + sum.len()];
                for (s, &v) in sum.iter_mut().zip(row) {
                    *s += v;
                }
            }
        },
    );
}

fn product(r: Result<(), ShapeError>) {
    if let Err(e) = r {
        unreachable!("the product's shapes follow the checked inputs: {e}")
    }
}

impl<F: Float> Op<F> for Recurrent<F> {
    fn name(&self) -> &'static str {
        match self.cell {
            Cell::Elman(_) => "rnn",
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
        }
    }

    fn recycle(&mut self, previous: &mut Self) {
        let take = std::mem::take::<Vec<F>>;
        self.gates = take(&mut previous.gates);
        self.extra = take(&mut previous.extra);
        self.hh = take(&mut previous.hh);
        self.dgi = take(&mut previous.dgi);
        self.dgh = take(&mut previous.dgh);
        self.dh = take(&mut previous.dh);
        self.carry = take(&mut previous.carry);
        self.dc = take(&mut previous.dc);
        self.norms = take(&mut previous.norms);
        self.packed = std::mem::take(&mut previous.packed);
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, F>], out: &mut ArrayD<F>) -> Result<()> {
        let (n, t, i, h) = self.dims(x)?;
        let cell = self.cell;
        let gh = cell.gates() * h;
        let ew = cell.extra_width(h);
        let shared = cell.shares_pre_activation_grad();
        ensure_shape(out, &[n, t, h]);
        resize(&mut self.gates, n * t * gh);
        resize(&mut self.extra, n * t * ew);
        resize(&mut self.hh, if shared { gh } else { n * gh });
        self.norms.clear();
        if n == 0 {
            return Ok(());
        }
        let w_ih = mat(flat(&x[1]), gh, i, i);
        self.packed.pack(&mat(flat(&x[2]), gh, h, h).t());
        let (b_ih, b_hh) = match x.get(3..5) {
            Some([b_ih, b_hh]) => (Some(flat(b_ih)), Some(flat(b_hh))),
            _ => (None, None),
        };
        // Every step's input product at once: N·T rows.
        let xs = mat(flat(&x[0]), n * t, i, i);
        product(gemm(
            F::one(),
            &xs,
            &w_ih.t(),
            F::zero(),
            &mut mat_mut(&mut self.gates, n * t, gh, gh),
        ));
        if shared {
            // Both biases, summed once: the cell adds them to every row.
            match (b_ih, b_hh) {
                (Some(b_ih), Some(b_hh)) => {
                    for ((s, &a), &b) in self.hh.iter_mut().zip(b_ih).zip(b_hh) {
                        *s = a + b;
                    }
                }
                _ => self.hh.fill(F::zero()),
            }
        } else if let Some(b) = b_ih {
            let gates = &mut self.gates;
            gradwell_tensor::vectorized(
                #[inline(always)]
                || {
                    for row in gates.chunks_exact_mut(gh) {
                        row.iter_mut().zip(b).for_each(|(g, &b)| *g += b);
                    }
                },
            );
        }
        let Some(ys) = out.as_slice_mut() else {
            unreachable!("shaped above in standard layout")
        };
        for step in 0..t {
            if !shared {
                for row in self.hh.chunks_exact_mut(gh) {
                    match b_hh {
                        Some(b) => row.copy_from_slice(b),
                        None => row.fill(F::zero()),
                    }
                }
            }
            if step > 0 {
                // h_{t−1} of every sample: rows T·H apart in the output; added to this
                // step's rows of the gates (T·G·H apart) or to `hh`.
                let h_prev = mat(&ys[(step - 1) * h..], n, h, t * h);
                let mut dst = if shared {
                    mat_mut(&mut self.gates[step * gh..], n, gh, t * gh)
                } else {
                    mat_mut(&mut self.hh, n, gh, gh)
                };
                product(gemm_packed(
                    F::one(),
                    &h_prev,
                    &self.packed,
                    F::one(),
                    &mut dst,
                ));
            }
            let hh_stride = if shared { 0 } else { gh };
            let (gates, hh, extra) = (&mut self.gates, &self.hh, &mut self.extra);
            gradwell_tensor::vectorized_with(
                #[inline(always)]
                |isa| {
                    for s in 0..n {
                        let row = s * t + step;
                        let (ys_before, ys_here) = ys.split_at_mut(row * h);
                        let (ex_before, ex_here) = extra.split_at_mut(row * ew);
                        cell.forward_row(FwdRow {
                            gates: &mut gates[row * gh..(row + 1) * gh],
                            hh: &hh[s * hh_stride..s * hh_stride + gh],
                            h_prev: (step > 0).then(|| &ys_before[(row - 1) * h..]),
                            extra_prev: (step > 0).then(|| &ex_before[(row - 1) * ew..]),
                            extra: &mut ex_here[..ew],
                            h: &mut ys_here[..h],
                            isa,
                        });
                    }
                },
            );
        }
        Ok(())
    }

    fn backward(
        &mut self,
        x: &[ArrayViewD<'_, F>],
        out: &ArrayViewD<'_, F>,
        grad_out: &ArrayViewD<'_, F>,
        grads: &mut [Option<ArrayViewMutD<'_, F>>],
    ) {
        let [n, t, i] = *x[0].shape() else {
            unreachable!("forward checked the input's rank")
        };
        let h = x[2].shape()[1];
        let cell = self.cell;
        let gh = cell.gates() * h;
        let ew = cell.extra_width(h);
        let cw = cell.cell_state_width(h);
        let shared = cell.shares_pre_activation_grad();
        // The hidden side's gradient of one step and the direct path to h_{t−1} (GRU).
        let dgh_len = if shared { 0 } else { n * gh };
        resize(&mut self.dgi, n * t * gh);
        resize(&mut self.dgh, dgh_len);
        resize(&mut self.dh, n * h);
        resize(&mut self.carry, n * h);
        resize(&mut self.dc, n * cw);
        resize(&mut self.norms, t);
        self.carry.fill(F::zero());
        self.dc.fill(F::zero());
        let ys = flat(out);
        let dys = flat(grad_out);
        self.packed.pack(&mat(flat(&x[2]), gh, h, h));
        let one = F::one();
        let (grads_x, grads_w) = grads.split_at_mut(3);
        let (mut db_ih, mut db_hh) = match grads_w {
            [db_ih, db_hh] => (db_ih.as_mut(), db_hh.as_mut()),
            _ => (None, None),
        };
        for step in (0..t).rev() {
            // The total gradient reaching h_t: from the output and from step t + 1. Its
            // squares are summed in f64: in f32, elements near 1e-25 (a gradient that has
            // decayed through a hundred steps) would square to 0 though the norm is
            // representable.
            let (dh, carry) = (&mut self.dh, &self.carry);
            let sq = gradwell_tensor::vectorized(
                #[inline(always)]
                || {
                    for s in 0..n {
                        let row = s * t + step;
                        let dy = &dys[row * h..(row + 1) * h];
                        let carry = &carry[s * h..(s + 1) * h];
                        for ((d, &dy), &c) in dh[s * h..(s + 1) * h].iter_mut().zip(dy).zip(carry) {
                            *d = dy + c;
                        }
                    }
                    gradwell_tensor::sum_squares_f64(dh)
                },
            );
            self.norms[step] = F::of(sq.sqrt());
            let dgh_w = if shared { 0 } else { gh };
            let direct_w = if shared { 0 } else { h };
            gradwell_tensor::vectorized(
                #[inline(always)]
                || {
                    for s in 0..n {
                        let row = s * t + step;
                        cell.backward_row(BackRow {
                            gates: &self.gates[row * gh..(row + 1) * gh],
                            extra: &self.extra[row * ew..(row + 1) * ew],
                            extra_prev: (step > 0).then(|| &self.extra[(row - 1) * ew..row * ew]),
                            h_prev: (step > 0).then(|| &ys[(row - 1) * h..row * h]),
                            dh: &self.dh[s * h..(s + 1) * h],
                            dc: &mut self.dc[s * cw..(s + 1) * cw],
                            dgi: &mut self.dgi[row * gh..(row + 1) * gh],
                            dgh: &mut self.dgh[s * dgh_w..(s + 1) * dgh_w],
                            dh_prev: &mut self.carry[s * direct_w..(s + 1) * direct_w],
                        });
                    }
                },
            );
            // This step's rows of the pre-activation gradients, while they are in cache:
            // the input side's rows T·G·H apart in `dgi`, the hidden side's there too or
            // in `dgh`.
            let (dgi_step, dgi_stride) = (&self.dgi[step * gh..], t * gh);
            let (dgh_step, dgh_stride) = if shared {
                (dgi_step, dgi_stride)
            } else {
                (&self.dgh[..], gh)
            };
            add_rows(db_ih.as_deref_mut(), dgi_step, n, dgi_stride);
            add_rows(db_hh.as_deref_mut(), dgh_step, n, dgh_stride);
            if step == 0 {
                break;
            }
            if self.truncate.is_some_and(|k| step % k == 0) {
                // A chunk boundary: nothing flows into h_{t−1} or c_{t−1}.
                self.carry.fill(F::zero());
                self.dc.fill(F::zero());
            } else {
                // The GRU's direct path is in `carry` already; the others' starts from 0.
                let beta = if shared { F::zero() } else { one };
                let dgh = mat(dgh_step, n, gh, dgh_stride);
                let mut carry = mat_mut(&mut self.carry, n, h, h);
                product(gemm_packed(one, &dgh, &self.packed, beta, &mut carry));
            }
        }
        let dgi = mat(&self.dgi, n * t, gh, gh);
        if let Some(dw_ih) = grads_x[1].as_mut() {
            let xs = mat(flat(&x[0]), n * t, i, i);
            let mut dw = mat_mut(flat_mut(dw_ih), gh, i, i);
            product(gemm(one, &dgi.t(), &xs, one, &mut dw));
        }
        if let Some(dx) = grads_x[0].as_mut() {
            let w_ih = mat(flat(&x[1]), gh, i, i);
            let mut dx = mat_mut(flat_mut(dx), n * t, i, i);
            product(gemm(one, &dgi, &w_ih, one, &mut dx));
        }
        if let Some(dw_hh) = grads_x[2].as_mut()
            && t > 1
        {
            // dW_hh = Σ_t dgh_tᵀ·h_{t−1} as one product over the rows of all samples and
            // steps: `dgi` turned into the hidden side's gradient, row s·T + t paired with
            // the output's row s·T + t − 1 (h_{t−1} of the same sample). Rows with t = 0
            // (h_{−1} = 0, paired with the previous sample's last step) are zeroed: `dgi`
            // is not read again in this pass.
            gradwell_tensor::vectorized(
                #[inline(always)]
                || {
                    for (row, d) in self.dgi.chunks_exact_mut(gh).enumerate() {
                        if row % t == 0 {
                            d.fill(F::zero());
                        } else {
                            cell.hidden_side_in_place(&self.gates[row * gh..(row + 1) * gh], d);
                        }
                    }
                },
            );
            let rows = n * t - 1;
            let dgh = mat(&self.dgi[gh..], rows, gh, gh);
            let h_prev = mat(ys, rows, h, h);
            let mut dw = mat_mut(flat_mut(dw_hh), gh, h, h);
            product(gemm(one, &dgh.t(), &h_prev, one, &mut dw));
        }
    }
}

/// A standard-layout gradient as a flat slice.
fn flat_mut<'a, F>(a: &'a mut ArrayViewMutD<'_, F>) -> &'a mut [F] {
    a.as_slice_mut()
        .unwrap_or_else(|| unreachable!("tape gradients are in standard layout"))
}

impl<F: Float> Tape<F> {
    /// One recurrent layer ([`Recurrent`]): `x` `[N, T, I]`, `w_ih` `[G·H, I]`, `w_hh`
    /// `[G·H, H]` and the biases `(b_ih, b_hh)` `[G·H]` if any; gives every hidden state
    /// `[N, T, H]`. The hidden size H is read from `w_hh`. `truncate` is the k of truncated
    /// BPTT. Read the per-step gradient norms afterwards with
    /// `tape.op_of::<Recurrent<F>>(output)`.
    ///
    /// ```
    /// use gradwell_autodiff::Tape;
    /// use gradwell_autodiff::ops::{Cell, Recurrent};
    /// use ndarray::{ArrayD, IxDyn};
    ///
    /// let mut tape = Tape::<f64>::new();
    /// let w_ih = tape.params_mut().add("weight_ih_l0", ArrayD::from_elem(IxDyn(&[4, 2]), 0.1));
    /// let w_hh = tape.params_mut().add("weight_hh_l0", ArrayD::from_elem(IxDyn(&[4, 1]), 0.5));
    /// let x = tape.input(ArrayD::from_elem(IxDyn(&[3, 5, 2]), 1.0)); // 3 samples, 5 steps
    /// let (w_ih, w_hh) = (tape.param(w_ih), tape.param(w_hh));
    /// let y = tape.recurrent(Cell::Lstm, None, x, w_ih, w_hh, None)?;
    /// assert_eq!(tape.shape(y)?, &[3, 5, 1]);
    /// let loss = tape.sum(y)?;
    /// tape.backward(loss)?;
    /// let op = tape.op_of::<Recurrent<f64>>(y).unwrap();
    /// assert_eq!(op.step_grad_norms().len(), 5);
    /// # Ok::<(), gradwell_autodiff::AutodiffError>(())
    /// ```
    ///
    /// # Errors
    /// Shapes that do not fit (see [`Recurrent`]), no step, or `truncate = Some(0)`.
    pub fn recurrent(
        &mut self,
        cell: Cell,
        truncate: Option<usize>,
        x: Var,
        w_ih: Var,
        w_hh: Var,
        biases: Option<(Var, Var)>,
    ) -> Result<Var> {
        let op = Recurrent::new(cell).truncated(truncate);
        match biases {
            Some((b_ih, b_hh)) => self.apply(op, &[x, w_ih, w_hh, b_ih, b_hh]),
            None => self.apply(op, &[x, w_ih, w_hh]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Cell, Recurrent, RnnNonlinearity};
    use crate::Tape;
    use ndarray::{ArrayD, IxDyn};

    impl<F> Recurrent<F> {
        /// Where each buffer's memory is.
        fn buffers(&self) -> Vec<(*const F, usize)> {
            [
                &self.gates,
                &self.extra,
                &self.hh,
                &self.dgi,
                &self.dgh,
                &self.dh,
                &self.carry,
                &self.dc,
                &self.norms,
            ]
            .iter()
            .map(|v| (v.as_ptr(), v.capacity()))
            .collect()
        }
    }

    /// After the first step, every training step runs in the buffers of the first: the
    /// op's memory is handed on through `recycle`, never allocated again.
    #[test]
    fn a_repeated_step_reuses_every_buffer() {
        for cell in [Cell::Elman(RnnNonlinearity::Tanh), Cell::Lstm, Cell::Gru] {
            let mut tape = Tape::<f64>::new();
            let gh = cell.gates() * 3;
            let w_ih = tape
                .params_mut()
                .add("w_ih", ArrayD::from_elem(IxDyn(&[gh, 2]), 0.1));
            let w_hh = tape
                .params_mut()
                .add("w_hh", ArrayD::from_elem(IxDyn(&[gh, 3]), -0.2));
            let x = ArrayD::from_elem(IxDyn(&[4, 6, 2]), 0.5);
            let mut first = None;
            for step in 0..4 {
                tape.reset();
                let xv = tape.input_view(&x.view());
                let (a, b) = (tape.param(w_ih), tape.param(w_hh));
                let y = tape.recurrent(cell, Some(2), xv, a, b, None).unwrap();
                let loss = tape.sum(y).unwrap();
                tape.backward(loss).unwrap();
                let buffers = tape.op_of::<Recurrent<f64>>(y).unwrap().buffers();
                match &first {
                    None => first = Some(buffers),
                    Some(first) => assert_eq!(&buffers, first, "{cell:?}, step {step}"),
                }
            }
        }
    }
}
