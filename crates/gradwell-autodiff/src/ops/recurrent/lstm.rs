//! The LSTM cell of `torch.nn.LSTM`, gates in PyTorch's order i, f, g, o:
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)    f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')
//! ```

use gradwell_activations::{Activation, Sigmoid, Tanh};
use gradwell_tensor::Float;

use super::{BackRow, FwdRow};

/// One sample's step forward: `gates` holds `W_ih x_t + b_ih` (4H) and becomes the
/// activated gates i, f, g, o; `extra` receives `c_t`.
pub(super) fn forward<F: Float>(r: FwdRow<'_, F>) {
    let n = r.h.len();
    let (i, rest) = r.gates.split_at_mut(n);
    let (f, rest) = rest.split_at_mut(n);
    let (g, o) = rest.split_at_mut(n);
    for k in 0..n {
        let ik = Sigmoid.value(i[k] + r.hh[k]);
        let fk = Sigmoid.value(f[k] + r.hh[n + k]);
        let gk = Tanh.value(g[k] + r.hh[2 * n + k]);
        let ok = Sigmoid.value(o[k] + r.hh[3 * n + k]);
        let c_prev = r.extra_prev.map_or(F::zero(), |c| c[k]);
        let c = fk * c_prev + ik * gk;
        r.extra[k] = c;
        r.h[k] = ok * Tanh.value(c);
        (i[k], f[k], g[k], o[k]) = (ik, fk, gk, ok);
    }
}

/// One sample's step backward. `dc` holds the gradient reaching `c_t` from step t + 1 and
/// leaves with the one reaching `c_{t−1}` (`dc_t ⊙ f`); the hidden-side and input-side
/// pre-activation gradients are equal.
pub(super) fn backward<F: Float>(r: BackRow<'_, F>) {
    let n = r.dh.len();
    let one = F::one();
    for k in 0..n {
        let (i, f, g, o) = (
            r.gates[k],
            r.gates[n + k],
            r.gates[2 * n + k],
            r.gates[3 * n + k],
        );
        let tc = Tanh.value(r.extra[k]);
        let dh = r.dh[k];
        let dc = r.dc[k] + dh * o * (one - tc * tc);
        let c_prev = r.extra_prev.map_or(F::zero(), |c| c[k]);
        let da = [
            dc * g * i * (one - i),
            dc * c_prev * f * (one - f),
            dc * i * (one - g * g),
            dh * tc * o * (one - o),
        ];
        for (q, d) in da.into_iter().enumerate() {
            r.dgi[q * n + k] = d;
            r.dgh[q * n + k] = d;
        }
        r.dc[k] = dc * f;
        r.dh_prev[k] = F::zero();
    }
}
