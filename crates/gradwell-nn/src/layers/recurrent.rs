//! What the recurrent layers share: [`RecurrentLayer`], a stack of `num_layers` recurrent
//! ops with PyTorch's parameters, and [`RecurrentOptions`], the settings common to
//! [`RnnSpec`](super::RnnSpec), [`LstmSpec`](super::LstmSpec) and
//! [`GruSpec`](super::GruSpec). One file per kind (`rnn.rs`, `lstm.rs`, `gru.rs`) holds the
//! settings type and what only that kind has.

use gradwell_autodiff::ops::Cell;
use gradwell_autodiff::{ParamId, ParamStore, Var};
use gradwell_init::{Init, InitInfo, Initializer, Uniform};
use gradwell_tensor::Float;
use ndarray::{ArrayD, Axis, IxDyn};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::linear::init_text;
use super::{BuildSite, PlanSite, Planned, join};
use crate::module::{Ctx, Module};
use crate::{NnError, Result};

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

/// The settings every recurrent layer has (`#[serde(flatten)]`ed into each kind's, so a
/// model file writes them beside the kind's own: `{ type = "lstm", hidden_size = 128 }`).
/// Fields left out take PyTorch's defaults. The layers always take batch-first input
/// (`[N, T, input_size]`, PyTorch's `batch_first=True`) and start from h₀ = c₀ = 0; the
/// input size is read from the previous layer's per-sample shape `[T, input_size]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecurrentOptions {
    /// The hidden size H (PyTorch's `hidden_size`), at least 1.
    pub hidden_size: usize,
    /// Stacked layers (PyTorch's `num_layers`, default 1): layer l > 0 reads layer l − 1's
    /// hidden states.
    #[serde(default = "one")]
    pub num_layers: usize,
    /// Whether there are biases `b_ih`, `b_hh` (default true).
    #[serde(default = "yes")]
    pub bias: bool,
    /// Truncated BPTT: cut the gradient between steps t − 1 and t wherever t is a multiple
    /// of this many steps, as PyTorch computes when the sequence is run in chunks of this
    /// length with `h.detach()` between them (see
    /// [`Recurrent`](gradwell_autodiff::ops::Recurrent)). Absent: full BPTT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<usize>,
    /// The initializer of each gate's `H×H` block of every recurrent weight `weight_hh_l*`,
    /// by name (`orthogonal`, as Keras's `recurrent_initializer='orthogonal'`; any
    /// [`Init`]). Absent: PyTorch's U(±1/√hidden_size), as every other weight and bias.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "init_text")]
    pub recurrent_init: Option<Init>,
}

impl RecurrentOptions {
    /// `hidden_size` units, with PyTorch's defaults for the rest.
    pub fn new(hidden_size: usize) -> Self {
        RecurrentOptions {
            hidden_size,
            num_layers: 1,
            bias: true,
            truncate: None,
            recurrent_init: None,
        }
    }
}

/// PyTorch's class of a layer of this cell.
pub(crate) fn torch_class(cell: Cell) -> &'static str {
    match cell {
        Cell::Elman(_) => "RNN",
        Cell::Lstm => "LSTM",
        Cell::Gru => "GRU",
    }
}

/// How errors name a layer of this cell: `LSTM(→128)`.
pub(crate) fn describe(cell: Cell, o: &RecurrentOptions) -> String {
    format!("{}(→{})", torch_class(cell), o.hidden_size)
}

/// Checks the settings against the per-sample input `[T, input_size]` and counts the
/// parameters and the values one sample keeps (the stacked layers' outputs and the op's
/// buffers).
pub(crate) fn plan(cell: Cell, o: &RecurrentOptions, at: &PlanSite<'_>) -> Result<Planned> {
    let &[steps, input_size] = at.input else {
        return Err(at.error(format!(
            "needs per-sample input [steps, features] (batch first), but {} produces shape {:?}",
            at.prev, at.input
        )));
    };
    if steps == 0 || input_size == 0 {
        return Err(at.error(format!(
            "needs a non-empty sequence, got shape {:?}",
            at.input
        )));
    }
    let h = o.hidden_size;
    if h == 0 {
        return Err(at.error("hidden_size must be at least 1"));
    }
    if o.num_layers == 0 {
        return Err(at.error("num_layers must be at least 1"));
    }
    if o.truncate == Some(0) {
        return Err(at.error("truncate (the BPTT chunk length) must be at least 1 step"));
    }
    if let Some(init) = &o.recurrent_init {
        InitInfo::law(init, &[h, h])
            .map_err(|e| at.error(format!("recurrent_init {init}: {e}")))?;
    }
    let too_large = || at.error(format!("hidden_size {h} is too large"));
    let gh = cell.gates().checked_mul(h).ok_or_else(too_large)?;
    let mut counts = Vec::new();
    for l in 0..o.num_layers {
        let width = if l == 0 { input_size } else { h };
        counts.push(at.count(&[gh, width])?);
        counts.push(at.count(&[gh, h])?);
        if o.bias {
            counts.push(at.count(&[2, gh])?);
        }
    }
    let per_step = cell.buffered_per_step(h).ok_or_else(too_large)?;
    let buffers = at.count(&[steps, o.num_layers, per_step])?;
    let inner = at.count(&[steps, o.num_layers - 1, h])?;
    Ok(Planned {
        extra_outputs: at.sum(&[buffers, inner])?,
        ..Planned::output(vec![steps, h]).trainable(at.sum(&counts)?)
    })
}

/// The weights of one layer of the stack.
#[derive(Debug, Clone, Copy)]
pub struct RecurrentWeights {
    /// `weight_ih_l{k}`, `[G·H, input]`.
    pub weight_ih: ParamId,
    /// `weight_hh_l{k}`, `[G·H, H]`.
    pub weight_hh: ParamId,
    /// `bias_ih_l{k}` and `bias_hh_l{k}`, `[G·H]` each, if the layer has biases.
    pub biases: Option<(ParamId, ParamId)>,
}

/// A stack of recurrent layers of one cell (PyTorch's `nn.RNN`, `nn.LSTM`, `nn.GRU` with
/// `batch_first=True`): `[N, T, input_size]` → every hidden state of the last layer
/// `[N, T, hidden_size]`. Each layer is one [`Recurrent`](gradwell_autodiff::ops::Recurrent)
/// op on the tape, whose per-step gradient norms can be read after a backward pass
/// (`tape.op_of::<Recurrent<F>>(output)`, the output of [`RecurrentLayer::forward_layers`]).
/// Parameters are named as PyTorch's: `{path}.weight_ih_l0`, `{path}.weight_hh_l0`,
/// `{path}.bias_ih_l0`, `{path}.bias_hh_l0`, then `_l1`, … in PyTorch's layouts, so
/// safetensors weights load into the same torch module with `load_state_dict`.
#[derive(Debug, Clone)]
pub struct RecurrentLayer {
    cell: Cell,
    input_size: usize,
    hidden_size: usize,
    truncate: Option<usize>,
    layers: Vec<RecurrentWeights>,
}

impl RecurrentLayer {
    /// Builds the stack, drawing every weight and bias from PyTorch's default
    /// U(±1/√hidden_size) in PyTorch's order (`weight_ih`, `weight_hh`, `bias_ih`,
    /// `bias_hh` of layer 0, then layer 1, …), except each gate's `H×H` block of the
    /// recurrent weights from `options.recurrent_init` when given.
    ///
    /// # Errors
    /// When an initializer fails.
    pub fn new<F: Float>(
        store: &mut ParamStore<F>,
        prefix: &str,
        cell: Cell,
        input_size: usize,
        options: &RecurrentOptions,
        rng: &mut dyn RngCore,
    ) -> Result<Self> {
        let h = options.hidden_size;
        let gh = cell.gates() * h;
        let stdv = if h > 0 { 1.0 / (h as f64).sqrt() } else { 0.0 };
        let default = Init::Uniform(Uniform {
            low: -stdv,
            high: stdv,
        });
        let mut draw = |store: &mut ParamStore<F>,
                        name: String,
                        shape: &[usize],
                        blocks: Option<&Init>|
         -> Result<ParamId> {
            let mut value = ArrayD::<F>::zeros(IxDyn(shape));
            let r = match blocks {
                None => default.fill(&mut value.view_mut(), rng),
                Some(init) => value
                    .axis_chunks_iter_mut(Axis(0), h)
                    .try_for_each(|mut block| init.fill(&mut block, rng)),
            };
            r.map_err(|source| NnError::Init {
                param: name.clone(),
                source,
            })?;
            Ok(store.add(name, value))
        };
        let mut layers = Vec::with_capacity(options.num_layers);
        for l in 0..options.num_layers {
            let width = if l == 0 { input_size } else { h };
            let name = |what: &str| join(prefix, &format!("{what}_l{l}"));
            let weight_ih = draw(store, name("weight_ih"), &[gh, width], None)?;
            let weight_hh = draw(
                store,
                name("weight_hh"),
                &[gh, h],
                options.recurrent_init.as_ref(),
            )?;
            let biases = if options.bias {
                let b_ih = draw(store, name("bias_ih"), &[gh], None)?;
                let b_hh = draw(store, name("bias_hh"), &[gh], None)?;
                Some((b_ih, b_hh))
            } else {
                None
            };
            layers.push(RecurrentWeights {
                weight_ih,
                weight_hh,
                biases,
            });
        }
        Ok(RecurrentLayer {
            cell,
            input_size,
            hidden_size: h,
            truncate: options.truncate,
            layers,
        })
    }

    /// The cell.
    pub fn cell(&self) -> Cell {
        self.cell
    }

    /// The input size.
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    /// The hidden size.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// The truncation length of truncated BPTT, if any.
    pub fn truncate(&self) -> Option<usize> {
        self.truncate
    }

    /// Each layer's weights, layer 0 first.
    pub fn weights(&self) -> &[RecurrentWeights] {
        &self.layers
    }

    /// The forward pass, giving every layer's output (`[N, T, H]` each, the last one the
    /// layer's output): each is the output of a
    /// [`Recurrent`](gradwell_autodiff::ops::Recurrent) op.
    ///
    /// # Errors
    /// An input that is not `[N, T, input_size]`.
    pub fn forward_layers<F: Float>(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Vec<Var>> {
        let mut outputs = Vec::with_capacity(self.layers.len());
        let mut y = x;
        for w in &self.layers {
            let w_ih = ctx.tape.param(w.weight_ih);
            let w_hh = ctx.tape.param(w.weight_hh);
            let biases = w
                .biases
                .map(|(b_ih, b_hh)| (ctx.tape.param(b_ih), ctx.tape.param(b_hh)));
            y = ctx
                .tape
                .recurrent(self.cell, self.truncate, y, w_ih, w_hh, biases)?;
            outputs.push(y);
        }
        Ok(outputs)
    }

    /// Sets the forget gate's bias of every layer of an LSTM: `bias_ih`'s forget slice
    /// (rows H..2H, PyTorch's gate order i, f, g, o) to `value`, `bias_hh`'s to 0, so the
    /// forget gate's total bias is exactly `value`.
    pub(crate) fn set_forget_bias<F: Float>(&self, store: &mut ParamStore<F>, value: f64) {
        let h = self.hidden_size;
        for w in &self.layers {
            if let Some((b_ih, b_hh)) = w.biases {
                for (id, v) in [(b_ih, value), (b_hh, 0.0)] {
                    store
                        .value_mut(id)
                        .slice_axis_mut(Axis(0), (h..2 * h).into())
                        .fill(F::of(v));
                }
            }
        }
    }
}

impl<F: Float> Module<F> for RecurrentLayer {
    fn kind(&self) -> &'static str {
        torch_class(self.cell)
    }

    /// PyTorch's `RNNBase.extra_repr`: `LSTM(2, 128, batch_first=True)`, with
    /// `num_layers` and `bias` when not the defaults (PyTorch prints no `nonlinearity`).
    fn repr(&self) -> String {
        let mut s = format!(
            "{}({}, {}",
            torch_class(self.cell),
            self.input_size,
            self.hidden_size
        );
        if self.layers.len() != 1 {
            s += &format!(", num_layers={}", self.layers.len());
        }
        if self.layers.first().is_some_and(|w| w.biases.is_none()) {
            s += ", bias=False";
        }
        s + ", batch_first=True)"
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var> {
        let outputs = self.forward_layers(ctx, x)?;
        Ok(*outputs.last().unwrap_or(&x))
    }

    fn params(&self) -> Vec<ParamId> {
        self.layers
            .iter()
            .flat_map(|w| {
                [w.weight_ih, w.weight_hh]
                    .into_iter()
                    .chain(w.biases.into_iter().flat_map(|(a, b)| [a, b]))
            })
            .collect()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match *input {
            [steps, f] if f == self.input_size => Ok(vec![steps, self.hidden_size]),
            _ => Err(NnError::Config(format!(
                "{} expects per-sample input [steps, {}], got {input:?}",
                torch_class(self.cell),
                self.input_size
            ))),
        }
    }
}

/// Builds the planned layer.
pub(crate) fn build<F: Float>(
    cell: Cell,
    o: &RecurrentOptions,
    at: &mut BuildSite<'_, F>,
) -> Result<RecurrentLayer> {
    let &[_, input_size] = &at.plan.input_shape[..] else {
        return Err(NnError::Config(format!(
            "layer {}: needs per-sample input [steps, features], got {:?}",
            at.plan.label, at.plan.input_shape
        )));
    };
    RecurrentLayer::new(at.store, &at.plan.path, cell, input_size, o, at.rng)
}
