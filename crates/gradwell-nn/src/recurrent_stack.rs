//! [`RecurrentStack`]: recurrent layers as a command line or a `[model]` section names
//! them, `lstm:128` or `gru:64,64`, and the layers of a model file they stand for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use gradwell_autodiff::ops::RnnNonlinearity;
use gradwell_init::Init;

use crate::layers::{GruSpec, LastStepSpec, LayerSpec, LstmSpec, RecurrentOptions, RnnSpec};
use crate::{NnError, Result};

/// The kind of recurrent layer of a [`RecurrentStack`]: the model-file layer it builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecurrentCell {
    /// An Elman RNN with tanh (`rnn`; PyTorch's `nn.RNN`).
    Rnn,
    /// An Elman RNN with ReLU (`rnn-relu`; `nn.RNN(nonlinearity="relu")`).
    RnnRelu,
    /// An LSTM (`lstm`; `nn.LSTM`).
    Lstm,
    /// A GRU (`gru`; `nn.GRU`).
    Gru,
}

impl RecurrentCell {
    /// Every kind, in the order names are listed in errors.
    pub const ALL: [RecurrentCell; 4] = [
        RecurrentCell::Rnn,
        RecurrentCell::RnnRelu,
        RecurrentCell::Lstm,
        RecurrentCell::Gru,
    ];

    /// The name it is written as before the widths.
    pub fn name(self) -> &'static str {
        match self {
            RecurrentCell::Rnn => "rnn",
            RecurrentCell::RnnRelu => "rnn-relu",
            RecurrentCell::Lstm => "lstm",
            RecurrentCell::Gru => "gru",
        }
    }

    /// The model-file layer of `num_layers` layers of `hidden` units stacked, its
    /// recurrent weights drawn by `recurrent_init` when given, with PyTorch's defaults for
    /// the rest.
    fn layer(self, hidden: usize, num_layers: usize, recurrent_init: Option<Init>) -> LayerSpec {
        let options = RecurrentOptions {
            num_layers,
            recurrent_init,
            ..RecurrentOptions::new(hidden)
        };
        let rnn = |nonlinearity| {
            LayerSpec::Rnn(RnnSpec {
                options: options.clone(),
                nonlinearity,
            })
        };
        match self {
            RecurrentCell::Rnn => rnn(RnnNonlinearity::Tanh),
            RecurrentCell::RnnRelu => rnn(RnnNonlinearity::Relu),
            RecurrentCell::Lstm => LayerSpec::Lstm(LstmSpec {
                options,
                forget_bias: None,
            }),
            RecurrentCell::Gru => LayerSpec::Gru(GruSpec { options }),
        }
    }
}

/// Recurrent layers as text, `KIND:W[,W…]`: the kind ([`RecurrentCell`]: `rnn`,
/// `rnn-relu`, `lstm`, `gru`) and the hidden width of each stacked layer. Equal widths
/// in a row are one layer with `num_layers` (`lstm:128,128` is one `lstm` of
/// `num_layers = 2`, as PyTorch stacks them); a change of width starts another layer.
///
/// ```
/// use gradwell_nn::{RecurrentCell, RecurrentStack};
///
/// let s: RecurrentStack = "lstm:128,128".parse()?;
/// assert_eq!((s.cell, s.hidden.as_slice()), (RecurrentCell::Lstm, &[128, 128][..]));
/// assert_eq!(s.to_string(), "lstm:128,128");
/// assert!("lstm:0".parse::<RecurrentStack>().is_err());
/// # Ok::<(), gradwell_nn::NnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecurrentStack {
    /// The kind of layer.
    pub cell: RecurrentCell,
    /// The hidden width of each stacked layer, first to last (at least one).
    pub hidden: Vec<usize>,
}

impl RecurrentStack {
    /// The width of its output at each step: the last layer's hidden width.
    pub fn output_width(&self) -> usize {
        self.hidden.last().copied().unwrap_or(0)
    }

    /// The model-file layers it stands for: the recurrent layers (each with
    /// `recurrent_init` as its [`RecurrentOptions::recurrent_init`]), then (unless
    /// `per_step`) a `last_step` that keeps the final step's output.
    pub fn layers(&self, per_step: bool, recurrent_init: Option<Init>) -> Vec<LayerSpec> {
        let mut layers = Vec::new();
        let mut i = 0;
        while i < self.hidden.len() {
            let w = self.hidden[i];
            let run = self.hidden[i..].iter().take_while(|&&h| h == w).count();
            layers.push(self.cell.layer(w, run, recurrent_init));
            i += run;
        }
        if !per_step {
            layers.push(LayerSpec::LastStep(LastStepSpec {}));
        }
        layers
    }
}

impl FromStr for RecurrentStack {
    type Err = NnError;

    fn from_str(text: &str) -> Result<Self> {
        let valid = || {
            RecurrentCell::ALL
                .map(|c| format!("{}:W", c.name()))
                .join(", ")
        };
        let Some((kind, widths)) = text.split_once(':') else {
            return Err(NnError::Config(format!(
                "recurrent layers `{text}`: write KIND:W[,W...], KIND one of {}",
                valid()
            )));
        };
        let norm = |x: &str| x.trim().to_ascii_lowercase().replace('_', "-");
        let cell = RecurrentCell::ALL
            .into_iter()
            .find(|c| norm(c.name()) == norm(kind))
            .ok_or_else(|| {
                NnError::Config(format!(
                    "unknown recurrent layer `{}`; valid: {}",
                    kind.trim(),
                    valid()
                ))
            })?;
        let hidden = widths
            .split(',')
            .map(|w| match w.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(NnError::Config(format!(
                    "recurrent layers `{text}`: hidden width `{}` is not a whole number >= 1",
                    w.trim()
                ))),
            })
            .collect::<Result<Vec<usize>>>()?;
        Ok(RecurrentStack { cell, hidden })
    }
}

impl fmt::Display for RecurrentStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<String> = self.hidden.iter().map(ToString::to_string).collect();
        write!(f, "{}:{}", self.cell.name(), widths.join(","))
    }
}

impl TryFrom<String> for RecurrentStack {
    type Error = NnError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<RecurrentStack> for String {
    fn from(s: RecurrentStack) -> String {
        s.to_string()
    }
}
