//! The LSTM cell of `torch.nn.LSTM`, gates in PyTorch's order i, f, g, o:
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)    f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')
//! ```

use gradwell_tensor::{Float, Isa};

use super::{BackRow, FwdRow, sigmoid, tanh};

/// One sample's step forward: `gates` holds the pre-activations without the biases, `hh`
/// the biases (see [`FwdRow`]); `gates` becomes the activated gates i, f, g, o and `extra`
/// receives `c_t` and `tanh c_t` (which the backward pass reads instead of recomputing
/// it). One pass over the H units, with no library calls, so that it vectorizes.
#[inline(always)]
pub(super) fn forward<F: Float>(r: FwdRow<'_, F>) {
    match r.extra_prev {
        Some(prev) => forward_from::<F, true>(r.isa, r.gates, r.hh, prev, r.extra, r.h),
        // c₀ = 0: `c_prev` is not read.
        None => forward_from::<F, false>(r.isa, r.gates, r.hh, &[], r.extra, r.h),
    }
}

/// [`forward`], with c_{t−1} read from `prev` when `HAS_PREV` (else c_{t−1} = 0).
#[inline(always)]
fn forward_from<F: Float, const HAS_PREV: bool>(
    isa: Isa,
    gates: &mut [F],
    hh: &[F],
    prev: &[F],
    extra: &mut [F],
    h: &mut [F],
) {
    let n = h.len();
    let (i, rest) = gates.split_at_mut(n);
    let (f, rest) = rest.split_at_mut(n);
    let (g, o) = rest.split_at_mut(n);
    let o = &mut o[..n];
    let (hi, rest) = hh[..4 * n].split_at(n);
    let (hf, rest) = rest.split_at(n);
    let (hg, ho) = rest.split_at(n);
    let (c, tc) = extra[..2 * n].split_at_mut(n);
    let c_prev = if HAS_PREV { &prev[..n] } else { &[][..] };
    for k in 0..n {
        let ik = sigmoid(isa, i[k] + hi[k]);
        let fk = sigmoid(isa, f[k] + hf[k]);
        let gk = tanh(isa, g[k] + hg[k]);
        let ok = sigmoid(isa, o[k] + ho[k]);
        let ck = if HAS_PREV {
            fk * c_prev[k] + ik * gk
        } else {
            ik * gk
        };
        let tk = tanh(isa, ck);
        (i[k], f[k], g[k], o[k]) = (ik, fk, gk, ok);
        (c[k], tc[k]) = (ck, tk);
        h[k] = ok * tk;
    }
}

/// One sample's step backward. `dc` holds the gradient reaching `c_t` from step t + 1 and
/// leaves with the one reaching `c_{t−1}` (`dc_t ⊙ f`). The hidden-side and input-side
/// pre-activation gradients are equal: only `dgi` is written.
#[inline(always)]
pub(super) fn backward<F: Float>(r: BackRow<'_, F>) {
    match r.extra_prev {
        Some(prev) => backward_from::<F, true>(r.gates, r.extra, prev, r.dh, r.dc, r.dgi),
        // c₋₁ = 0: the forget gate's gradient is 0.
        None => backward_from::<F, false>(r.gates, r.extra, &[], r.dh, r.dc, r.dgi),
    }
}

/// [`backward`], with c_{t−1} read from `prev` when `HAS_PREV` (else c_{t−1} = 0).
#[inline(always)]
fn backward_from<F: Float, const HAS_PREV: bool>(
    gates: &[F],
    extra: &[F],
    prev: &[F],
    dh: &[F],
    dcs: &mut [F],
    dgi: &mut [F],
) {
    let n = dh.len();
    let one = F::one();
    let (i, rest) = gates[..4 * n].split_at(n);
    let (f, rest) = rest.split_at(n);
    let (g, o) = rest.split_at(n);
    let (di, rest) = dgi[..4 * n].split_at_mut(n);
    let (df, rest) = rest.split_at_mut(n);
    let (dg, d_o) = rest.split_at_mut(n);
    let tc = &extra[n..2 * n];
    let dcs = &mut dcs[..n];
    let c_prev = if HAS_PREV { &prev[..n] } else { &[][..] };
    for k in 0..n {
        let (ik, fk, gk, ok, tk) = (i[k], f[k], g[k], o[k], tc[k]);
        let dc = dcs[k] + dh[k] * ok * (one - tk * tk);
        d_o[k] = dh[k] * tk * ok * (one - ok);
        di[k] = dc * gk * ik * (one - ik);
        dg[k] = dc * ik * (one - gk * gk);
        df[k] = if HAS_PREV {
            dc * c_prev[k] * fk * (one - fk)
        } else {
            F::zero()
        };
        dcs[k] = dc * fk;
    }
}
