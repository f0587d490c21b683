//! [`GruSpec`]: the GRU (`torch.nn.GRU`) as a model file's `type = "gru"`.

use gradwell_autodiff::ops::Cell;
use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use super::recurrent::{self, RecurrentOptions};
use super::{BuildSite, LayerKind, PlanSite, Planned};
use crate::Result;
use crate::module::Module;

/// A GRU in a model file (`type = "gru"`), PyTorch's `nn.GRU(input_size, hidden_size, …,
/// batch_first=True)`, gates r, z, n in PyTorch's order with n = tanh(W_in x + b_in + r ⊙
/// (W_hn h + b_hn)); per-sample input `[T, input_size]`, output every hidden state
/// `[T, hidden_size]`. Built as a [`RecurrentLayer`](super::RecurrentLayer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GruSpec {
    /// The settings every recurrent layer has.
    #[serde(flatten)]
    pub options: RecurrentOptions,
}

impl GruSpec {
    /// `hidden_size` units, with PyTorch's defaults for the rest.
    pub fn new(hidden_size: usize) -> Self {
        GruSpec {
            options: RecurrentOptions::new(hidden_size),
        }
    }
}

impl LayerKind for GruSpec {
    fn torch_class(&self) -> &'static str {
        recurrent::torch_class(Cell::Gru)
    }

    fn describe(&self) -> Option<String> {
        Some(recurrent::describe(Cell::Gru, &self.options))
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        recurrent::plan(Cell::Gru, &self.options, at)
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        Ok(Box::new(recurrent::build(Cell::Gru, &self.options, at)?))
    }

    /// See [`RnnSpec`](super::RnnSpec)'s examples on truncation.
    fn examples() -> Vec<(Vec<usize>, Self)> {
        let orthogonal = "orthogonal".parse().expect("a valid initializer name");
        vec![
            (vec![4, 3], GruSpec::new(3)),
            (
                vec![3, 2],
                GruSpec {
                    options: RecurrentOptions {
                        num_layers: 2,
                        bias: false,
                        truncate: Some(3),
                        recurrent_init: Some(orthogonal),
                        ..RecurrentOptions::new(2)
                    },
                },
            ),
        ]
    }
}
