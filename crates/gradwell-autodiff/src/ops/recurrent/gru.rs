//! The GRU cell of `torch.nn.GRU`, gates in PyTorch's order r, z, n:
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)    z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```

use gradwell_activations::{Activation, Sigmoid, Tanh};
use gradwell_tensor::Float;

use super::{BackRow, FwdRow};

/// One sample's step forward: `gates` holds `W_ih x_t + b_ih` (3H) and becomes the
/// activated gates r, z, n; `extra` receives `W_hn h_{t−1} + b_hn`, which the backward
/// pass needs for r's gradient.
pub(super) fn forward<F: Float>(r: FwdRow<'_, F>) {
    let n = r.h.len();
    let one = F::one();
    let (gr, rest) = r.gates.split_at_mut(n);
    let (gz, gn) = rest.split_at_mut(n);
    for k in 0..n {
        let rk = Sigmoid.value(gr[k] + r.hh[k]);
        let zk = Sigmoid.value(gz[k] + r.hh[n + k]);
        let hn = r.hh[2 * n + k];
        let nk = Tanh.value(gn[k] + rk * hn);
        let h_prev = r.h_prev.map_or(F::zero(), |h| h[k]);
        r.extra[k] = hn;
        r.h[k] = (one - zk) * nk + zk * h_prev;
        (gr[k], gz[k], gn[k]) = (rk, zk, nk);
    }
}

/// One sample's step backward: the input-side gradient of n's pre-activation is `dâ_n`, the
/// hidden side's `dâ_n ⊙ r`; `dh_prev` receives the direct path `dh ⊙ z`.
pub(super) fn backward<F: Float>(r: BackRow<'_, F>) {
    let n = r.dh.len();
    let one = F::one();
    for k in 0..n {
        let (rk, zk, nk) = (r.gates[k], r.gates[n + k], r.gates[2 * n + k]);
        let dh = r.dh[k];
        let h_prev = r.h_prev.map_or(F::zero(), |h| h[k]);
        let da_n = dh * (one - zk) * (one - nk * nk);
        let da_r = da_n * r.extra[k] * rk * (one - rk);
        let da_z = dh * (h_prev - nk) * zk * (one - zk);
        r.dgi[k] = da_r;
        r.dgi[n + k] = da_z;
        r.dgi[2 * n + k] = da_n;
        r.dgh[k] = da_r;
        r.dgh[n + k] = da_z;
        r.dgh[2 * n + k] = da_n * rk;
        r.dh_prev[k] = dh * zk;
    }
}

/// Turns one row's input-side pre-activation gradients into the hidden side's in place:
/// r's and z's are equal, n's hidden side is `dâ_n ⊙ r` (`gates` the row's activated r, z,
/// n).
#[inline(always)]
pub(super) fn hidden_side_in_place<F: Float>(gates: &[F], d: &mut [F]) {
    let n = gates.len() / 3;
    for (d, &r) in d[2 * n..3 * n].iter_mut().zip(&gates[..n]) {
        *d *= r;
    }
}
