//! Non-finite provenance: where a NaN or an infinity first appeared, in the forward pass
//! (the op and the layer that produced it, with its inputs' statistics) and in the
//! backward pass (the first value, in backward order, whose gradient is non-finite).

use std::fmt;

use gradwell_autodiff::{ParamStore, Tape, Var};
use gradwell_nn::Tap;
use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use crate::TensorStats;

/// The layer a tape position belongs to: the first tap (in recording order) whose output
/// is at or after the position. Positions after the last tap (the loss) belong to no
/// layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// The layer's path (`"3"`, `"2.body.1"`).
    pub path: String,
    /// The layer's type as PyTorch names it (`"Linear"`, `"Sigmoid"`, …).
    pub kind: String,
    /// Which activation the layer is, in gradwell's spelling (`"leaky-relu:0.2"`,
    /// `"prelu"`, `"softmax"`), if it is one ([`gradwell_nn::LayerActivation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<String>,
}

/// `layer 3 (Linear)`; an activation by its gradwell name, `layer 4 (leaky-relu:0.2)`.
impl fmt::Display for LayerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.activation {
            Some(a) => write!(f, "layer {} ({a})", self.path),
            None => write!(f, "layer {} ({})", self.path, self.kind),
        }
    }
}

/// One input of the op that produced a non-finite value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputReport {
    /// The input's position on the tape.
    pub index: usize,
    /// The op that produced the input (`"param"` and `"input"` for leaves).
    pub op: String,
    /// The parameter's name, when the input is a parameter.
    pub param: Option<String>,
    /// The input's statistics (min, max, mean over its finite elements; NaN and ∞ counts).
    pub stats: TensorStats,
}

/// Where a value first became non-finite in the forward pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardOrigin {
    /// The value's position on the tape (recording order).
    pub index: usize,
    /// The op that produced it (`"matmul"`, `"activation"`, `"softmax_cross_entropy"`, …;
    /// `"input"` when the data itself holds a NaN, `"param"` for a parameter).
    pub op: String,
    /// The layer whose computation it is part of, when the forward pass was tapped.
    pub layer: Option<LayerRef>,
    /// The parameter's name, when the non-finite value is a parameter.
    pub param: Option<String>,
    /// The value's own statistics.
    pub stats: TensorStats,
    /// The op's inputs, all finite unless a leaf was non-finite.
    pub inputs: Vec<InputReport>,
}

impl fmt::Display for ForwardOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first non-finite value: output of op `{}` (tape position {})",
            self.op, self.index
        )?;
        if let Some(p) = &self.param {
            write!(f, ", parameter {p}")?;
        }
        match &self.layer {
            Some(l) => write!(f, " in {l}")?,
            None => write!(f, " outside the layers (loss or input)")?,
        }
        write!(
            f,
            ": {} NaN, {} infinite of {}",
            self.stats.nan, self.stats.inf, self.stats.len
        )?;
        for i in &self.inputs {
            write!(
                f,
                "; input {} (`{}`{}) min {:.4e} max {:.4e} mean {:.4e}, {} non-finite",
                i.index,
                i.op,
                i.param
                    .as_deref()
                    .map(|p| format!(" {p}"))
                    .unwrap_or_default(),
                i.stats.min,
                i.stats.max,
                i.stats.mean,
                i.stats.non_finite()
            )?;
        }
        Ok(())
    }
}

/// The first value, in backward order (from the loss towards the input), whose gradient
/// is non-finite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientOrigin {
    /// The value's position on the tape.
    pub index: usize,
    /// The op that produced the value (its backward received the non-finite gradient).
    pub op: String,
    /// The layer it belongs to, when tapped.
    pub layer: Option<LayerRef>,
    /// The parameter's name, when the value is a parameter.
    pub param: Option<String>,
    /// The gradient's statistics.
    pub stats: TensorStats,
    /// Whether the value itself (forward) was finite: if so, the non-finite number arose
    /// in the backward pass.
    pub value_finite: bool,
}

impl fmt::Display for GradientOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first non-finite gradient (backward order): of the output of op `{}` (tape position {})",
            self.op, self.index
        )?;
        if let Some(p) = &self.param {
            write!(f, ", parameter {p}")?;
        }
        if let Some(l) = &self.layer {
            write!(f, " in {l}")?;
        }
        write!(
            f,
            ": {} NaN, {} infinite of {}; the value itself was {}",
            self.stats.nan,
            self.stats.inf,
            self.stats.len,
            if self.value_finite {
                "finite (the overflow happened in the backward pass)"
            } else {
                "already non-finite"
            }
        )
    }
}

/// The first non-finite event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NonFinite {
    /// The step it was seen at.
    pub step: usize,
    /// Where it first appeared in the forward pass, if a forward value was non-finite.
    pub forward: Option<ForwardOrigin>,
    /// Where it first appeared in the backward pass, if a gradient was non-finite.
    pub gradient: Option<GradientOrigin>,
}

impl fmt::Display for NonFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {}: ", self.step)?;
        match (&self.forward, &self.gradient) {
            (Some(fw), Some(g)) => write!(f, "{fw}; {g}"),
            (Some(fw), None) => write!(f, "{fw}"),
            (None, Some(g)) => write!(f, "{g}"),
            (None, None) => write!(f, "no non-finite value on the tape"),
        }
    }
}

/// Maps tape positions to layers by the taps' output positions.
fn layer_of(taps: &[Tap], index: usize) -> Option<LayerRef> {
    // Taps of nested containers come before their parent's, so the first tap at or after
    // the position is the innermost layer that covers it.
    taps.iter()
        .filter(|t| t.output.index() >= index)
        .min_by_key(|t| t.output.index())
        .map(|t| LayerRef {
            path: t.path.clone(),
            kind: t.kind.to_string(),
            activation: t.activation.map(|a| a.to_string()),
        })
}

/// The parameter whose value a tape position reads in place, found by address (parameters
/// are never copied onto the tape).
fn param_name<F: Float>(tape: &Tape<F>, store: &ParamStore<F>, v: Var) -> Option<String> {
    if tape.op_name(v) != Some("param") {
        return None;
    }
    let ptr = tape.value(v).as_ptr();
    store
        .ids()
        .find(|&id| store.value(id).as_ptr() == ptr)
        .map(|id| store.name(id).to_string())
}

fn op_of<F: Float>(tape: &Tape<F>, v: Var) -> String {
    tape.op_name(v).unwrap_or("op").to_string()
}

fn is_finite<F: Float>(a: &ndarray::ArrayViewD<'_, F>) -> bool {
    a.iter().all(|x| x.as_f64().is_finite())
}

/// The first value on the tape, in recording order, with a NaN or infinite element: the
/// op that made it, its layer (from `taps`), and its inputs' statistics. `None` when every
/// value is finite.
///
/// This walks the whole tape once; call it when something non-finite was noticed, not at
/// every step.
pub fn forward_origin<F: Float>(tape: &Tape<F>, taps: &[Tap]) -> Option<ForwardOrigin> {
    let store = tape.params();
    for i in 0..tape.len() {
        let v = tape.var_at(i)?;
        let value = tape.value(v);
        if is_finite(&value) {
            continue;
        }
        let inputs = tape
            .inputs_of(v)
            .iter()
            .filter_map(|&j| tape.var_at(j))
            .map(|u| InputReport {
                index: u.index(),
                op: op_of(tape, u),
                param: param_name(tape, store, u),
                stats: TensorStats::of(&tape.value(u)),
            })
            .collect();
        return Some(ForwardOrigin {
            index: i,
            op: op_of(tape, v),
            layer: layer_of(taps, i),
            param: param_name(tape, store, v),
            stats: TensorStats::of(&value),
            inputs,
        });
    }
    None
}

/// The first value, in backward order (from the last position down), whose gradient from
/// the last backward pass is non-finite. `None` when every gradient is finite.
pub fn gradient_origin<F: Float>(tape: &Tape<F>, taps: &[Tap]) -> Option<GradientOrigin> {
    let store = tape.params();
    for i in (0..tape.len()).rev() {
        let v = tape.var_at(i)?;
        let Some(g) = tape.grad(v) else { continue };
        if is_finite(&g) {
            continue;
        }
        return Some(GradientOrigin {
            index: i,
            op: op_of(tape, v),
            layer: layer_of(taps, i),
            param: param_name(tape, store, v),
            stats: TensorStats::of(&g),
            value_finite: is_finite(&tape.value(v)),
        });
    }
    None
}

/// Both origins, as one event at `step`; `None` when the tape holds nothing non-finite.
pub fn trace_non_finite<F: Float>(tape: &Tape<F>, taps: &[Tap], step: usize) -> Option<NonFinite> {
    let forward = forward_origin(tape, taps);
    let gradient = gradient_origin(tape, taps);
    (forward.is_some() || gradient.is_some()).then_some(NonFinite {
        step,
        forward,
        gradient,
    })
}
