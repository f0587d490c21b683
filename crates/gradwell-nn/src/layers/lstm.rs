//! [`LstmSpec`]: the LSTM (`torch.nn.LSTM`) as a model file's `type = "lstm"`, with the
//! option of a forget-gate bias.

use gradwell_autodiff::ops::Cell;
use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use super::recurrent::{self, RecurrentOptions};
use super::{BuildSite, LayerKind, PlanSite, Planned};
use crate::Result;
use crate::module::Module;

/// An LSTM in a model file (`type = "lstm"`), PyTorch's `nn.LSTM(input_size, hidden_size,
/// …, batch_first=True)`, gates i, f, g, o in PyTorch's order; per-sample input
/// `[T, input_size]`, output every hidden state `[T, hidden_size]`. Built as a
/// [`RecurrentLayer`](super::RecurrentLayer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmSpec {
    /// The settings every recurrent layer has.
    #[serde(flatten)]
    pub options: RecurrentOptions,
    /// The forget gate's bias at initialization. Absent (the default): PyTorch's, the
    /// forget slices drawn from U(±1/√hidden_size) like the rest. Given (1 is Jozefowicz
    /// et al. 2015's advice): after the default draw, the forget-gate slice (rows H..2H)
    /// of every layer's `bias_ih` is set to this value and that of `bias_hh` to 0, so the
    /// forget gate's total bias is exactly this value. Needs `bias = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forget_bias: Option<f64>,
}

impl LstmSpec {
    /// `hidden_size` units, with PyTorch's defaults for the rest.
    pub fn new(hidden_size: usize) -> Self {
        LstmSpec {
            options: RecurrentOptions::new(hidden_size),
            forget_bias: None,
        }
    }
}

impl LayerKind for LstmSpec {
    fn torch_class(&self) -> &'static str {
        recurrent::torch_class(Cell::Lstm)
    }

    fn describe(&self) -> Option<String> {
        Some(recurrent::describe(Cell::Lstm, &self.options))
    }

    fn plan(&self, at: &PlanSite<'_>) -> Result<Planned> {
        if let Some(b) = self.forget_bias {
            if !b.is_finite() {
                return Err(at.error(format!("forget_bias must be finite, got {b}")));
            }
            if !self.options.bias {
                return Err(at.error("forget_bias needs biases (bias = true)"));
            }
        }
        recurrent::plan(Cell::Lstm, &self.options, at)
    }

    fn build<F: Float>(&self, at: &mut BuildSite<'_, F>) -> Result<Box<dyn Module<F>>> {
        let layer = recurrent::build(Cell::Lstm, &self.options, at)?;
        if let Some(b) = self.forget_bias {
            layer.set_forget_bias(at.store, b);
        }
        Ok(Box::new(layer))
    }

    /// See [`RnnSpec`](super::RnnSpec)'s examples on truncation.
    fn examples() -> Vec<(Vec<usize>, Self)> {
        let orthogonal = "orthogonal".parse().expect("a valid initializer name");
        vec![
            (vec![4, 3], LstmSpec::new(3)),
            (
                vec![3, 2],
                LstmSpec {
                    options: RecurrentOptions {
                        num_layers: 2,
                        truncate: Some(3),
                        recurrent_init: Some(orthogonal),
                        ..RecurrentOptions::new(2)
                    },
                    forget_bias: Some(1.0),
                },
            ),
            (
                vec![2, 3],
                LstmSpec {
                    options: RecurrentOptions {
                        bias: false,
                        ..RecurrentOptions::new(2)
                    },
                    forget_bias: None,
                },
            ),
        ]
    }
}
