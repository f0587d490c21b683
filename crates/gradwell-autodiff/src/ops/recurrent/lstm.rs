//! The LSTM cell of `torch.nn.LSTM`, gates in PyTorch's order i, f, g, o:
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)    f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')
//! ```

use gradwell_tensor::Float;

use super::{BackRow, FwdRow, sigmoid, tanh};

/// One sample's step forward: `gates` holds `W_ih x_t + b_ih` (4H) and becomes the
/// activated gates i, f, g, o; `extra` receives `c_t`. Loops over equal-length slices with
/// no library calls, so that they vectorize.
#[inline(always)]
pub(super) fn forward<F: Float>(r: FwdRow<'_, F>) {
    let n = r.h.len();
    let (i, rest) = r.gates.split_at_mut(n);
    let (f, rest) = rest.split_at_mut(n);
    let (g, o) = rest.split_at_mut(n);
    let o = &mut o[..n];
    let hh = &r.hh[..4 * n];
    let c = &mut r.extra[..n];
    let h = &mut r.h[..n];
    let (hi, rest) = hh.split_at(n);
    let (hf, rest) = rest.split_at(n);
    let (hg, ho) = rest.split_at(n);
    for (a, &b) in i.iter_mut().zip(hi) {
        *a = sigmoid(*a + b);
    }
    for (a, &b) in f.iter_mut().zip(hf) {
        *a = sigmoid(*a + b);
    }
    for (a, &b) in g.iter_mut().zip(hg) {
        *a = tanh(*a + b);
    }
    for (a, &b) in o.iter_mut().zip(ho) {
        *a = sigmoid(*a + b);
    }
    for ((c, &ik), &gk) in c.iter_mut().zip(&*i).zip(&*g) {
        *c = ik * gk;
    }
    if let Some(c_prev) = r.extra_prev {
        let c_prev = &c_prev[..n];
        for k in 0..n {
            c[k] += f[k] * c_prev[k];
        }
    }
    for ((h, &ok), &ck) in h.iter_mut().zip(&*o).zip(&*c) {
        *h = ok * tanh(ck);
    }
}

/// One sample's step backward. `dc` holds the gradient reaching `c_t` from step t + 1 and
/// leaves with the one reaching `c_{t−1}` (`dc_t ⊙ f`). The hidden-side and input-side
/// pre-activation gradients are equal: only `dgi` is written.
#[inline(always)]
pub(super) fn backward<F: Float>(r: BackRow<'_, F>) {
    let n = r.dh.len();
    let one = F::one();
    let (i, rest) = r.gates[..4 * n].split_at(n);
    let (f, rest) = rest.split_at(n);
    let (g, o) = rest.split_at(n);
    let (di, rest) = r.dgi[..4 * n].split_at_mut(n);
    let (df, rest) = rest.split_at_mut(n);
    let (dg, d_o) = rest.split_at_mut(n);
    let (c, dh, dcs) = (&r.extra[..n], &r.dh[..n], &mut r.dc[..n]);
    for k in 0..n {
        let tc = tanh(c[k]);
        let dc = dcs[k] + dh[k] * o[k] * (one - tc * tc);
        d_o[k] = dh[k] * tc * o[k] * (one - o[k]);
        di[k] = dc * g[k] * i[k] * (one - i[k]);
        dg[k] = dc * i[k] * (one - g[k] * g[k]);
        // With c_{t−1} = 0 (t = 0) the forget gate's gradient is 0.
        df[k] = F::zero();
        dcs[k] = dc;
    }
    if let Some(c_prev) = r.extra_prev {
        let c_prev = &c_prev[..n];
        for k in 0..n {
            df[k] = dcs[k] * c_prev[k] * f[k] * (one - f[k]);
        }
    }
    for k in 0..n {
        dcs[k] *= f[k];
    }
}
