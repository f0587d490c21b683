//! [`RnnSpec`]: the Elman RNN (`torch.nn.RNN`), tanh or ReLU, as a model file's
//! `type = "rnn"`.

use gradwell_autodiff::ops::{Cell, RnnNonlinearity};
use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use super::recurrent::{self, RecurrentOptions};
use super::{BuildSite, LayerKind, PlanSite, Planned};
use crate::Result;
use crate::module::Module;

/// An Elman RNN in a model file (`type = "rnn"`): `h_t = act(W_ih x_t + b_ih + W_hh h_{t−1}
/// + b_hh)`, PyTorch's `nn.RNN(input_size, hidden_size, …, batch_first=True)`; per-sample
/// input `[T, input_size]`, output every hidden state `[T, hidden_size]`. Built as a
/// [`RecurrentLayer`](super::RecurrentLayer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RnnSpec {
    /// The settings every recurrent layer has.
    #[serde(flatten)]
    pub options: RecurrentOptions,
    /// `tanh` (default) or `relu`, PyTorch's `nonlinearity`.
    #[serde(default)]
    pub nonlinearity: RnnNonlinearity,
}

impl RnnSpec {
    /// `hidden_size` tanh units, with PyTorch's defaults for the rest.
    pub fn new(hidden_size: usize) -> Self {
        RnnSpec {
            options: RecurrentOptions::new(hidden_size),
            nonlinearity: RnnNonlinearity::default(),
        }
    }

    fn cell(&self) -> Cell {
        Cell::Elman(self.nonlinearity)
    }
}

impl LayerKind for RnnSpec {
    fn torch_class(&self) -> &'static str {
        recurrent::torch_class(self.cell())
    }

    fn describe(&self) -> Option<String> {
        Some(recurrent::describe(self.cell(), &self.options))
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        recurrent::plan(self.cell(), &self.options, at)
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        Ok(Box::new(recurrent::build(self.cell(), &self.options, at)?))
    }

    /// Truncation is given as the sequence length (no cut) where the generic gradient
    /// check runs: a truncated gradient is by design not the derivative, and is held to
    /// the detached-chunk computation by gradwell-autodiff's tests instead.
    fn examples() -> Vec<(Vec<usize>, Self)> {
        let orthogonal = "orthogonal".parse().expect("a valid initializer name");
        vec![
            (vec![4, 3], RnnSpec::new(5)),
            (
                vec![3, 2],
                RnnSpec {
                    options: RecurrentOptions {
                        num_layers: 2,
                        bias: false,
                        truncate: Some(3),
                        recurrent_init: Some(orthogonal),
                        ..RecurrentOptions::new(4)
                    },
                    nonlinearity: RnnNonlinearity::Relu,
                },
            ),
        ]
    }
}
