//! The Elman cell of `torch.nn.RNN`: `h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`, with
//! `act` tanh or ReLU ([`RnnNonlinearity`]).

use std::fmt;
use std::str::FromStr;

use gradwell_activations::{Activation, Relu, Tanh};
use gradwell_tensor::Float;

use super::{BackRow, FwdRow};
use crate::AutodiffError;

/// The nonlinearity of an Elman cell, PyTorch's `nonlinearity='tanh' | 'relu'`, spelled
/// `tanh` and `relu` in files and flags.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub enum RnnNonlinearity {
    /// tanh, PyTorch's default.
    #[default]
    Tanh,
    /// ReLU (derivative 0 at 0, as PyTorch's).
    Relu,
}

impl RnnNonlinearity {
    /// Every value, in the order errors list them.
    pub const ALL: [RnnNonlinearity; 2] = [RnnNonlinearity::Tanh, RnnNonlinearity::Relu];

    /// The name, as PyTorch spells it (`tanh`, `relu`).
    pub fn name(self) -> &'static str {
        match self {
            RnnNonlinearity::Tanh => "tanh",
            RnnNonlinearity::Relu => "relu",
        }
    }
}

impl fmt::Display for RnnNonlinearity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RnnNonlinearity {
    type Err = AutodiffError;

    /// `tanh` or `relu`, case ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        RnnNonlinearity::ALL
            .into_iter()
            .find(|n| n.name() == lower)
            .ok_or_else(|| {
                AutodiffError::invalid(
                    "rnn",
                    format!("unknown nonlinearity {s:?}; expected one of: tanh, relu"),
                )
            })
    }
}

impl TryFrom<String> for RnnNonlinearity {
    type Error = AutodiffError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RnnNonlinearity> for String {
    fn from(n: RnnNonlinearity) -> String {
        n.name().to_string()
    }
}

/// One sample's step forward: `gates` holds `W_ih x_t + b_ih` and becomes `h_t`.
pub(super) fn forward<F: Float>(act: RnnNonlinearity, r: FwdRow<'_, F>) {
    for ((g, &hh), h) in r.gates.iter_mut().zip(r.hh).zip(r.h.iter_mut()) {
        let a = *g + hh;
        *h = match act {
            RnnNonlinearity::Tanh => Tanh.value(a),
            RnnNonlinearity::Relu => Relu.value(a),
        };
        *g = *h;
    }
}

/// One sample's step backward: `dgi = dh ⊙ act′` (the hidden side's gradient is the
/// same), the derivative read from the output (1 − h² for tanh, h > 0 for ReLU), as
/// PyTorch's backward does.
pub(super) fn backward<F: Float>(act: RnnNonlinearity, r: BackRow<'_, F>) {
    let one = F::one();
    for ((&h, &dh), dgi) in r.gates.iter().zip(r.dh).zip(r.dgi.iter_mut()) {
        *dgi = match act {
            RnnNonlinearity::Tanh => dh * (one - h * h),
            RnnNonlinearity::Relu => {
                if h > F::zero() {
                    dh
                } else {
                    F::zero()
                }
            }
        };
    }
}
