use std::fmt;

use gradwell_activations::ActivationKind;
use gradwell_autodiff::{ParamId, ParamStore, Tape, Var};
use gradwell_tensor::Float;
use rand_chacha::ChaCha8Rng;

use crate::Result;

/// What a forward pass runs with: the tape, the mode, the RNG that dropout draws from, and
/// optionally a list that every layer appends its output to (for the gradient monitor).
pub struct Ctx<'a, F: Float> {
    /// The tape the computation is recorded on (it owns the parameters).
    pub tape: &'a mut Tape<F>,
    /// Training mode (dropout active, batch norm on batch statistics) or evaluation.
    pub training: bool,
    /// The seeded RNG of stochastic layers.
    pub rng: &'a mut ChaCha8Rng,
    /// When set, each layer of a [`crate::Sequential`] records its output here.
    pub taps: Option<&'a mut Vec<Tap>>,
}

/// One layer's output recorded during a forward pass: every layer of every
/// [`crate::Sequential`], those inside a residual block's branch included (before the
/// block's own).
#[derive(Debug, Clone, PartialEq)]
pub struct Tap {
    /// The layer's path, PyTorch-style (`"3"`, `"2.body.1"`).
    pub path: String,
    /// The layer's type as PyTorch names it (`"Linear"`, `"LeakyReLU"`, …).
    pub kind: &'static str,
    /// Which activation the layer is, in gradwell's spelling (`leaky-relu:0.2`, `prelu`,
    /// `softmax`), for a layer that is one ([`Module::layer_activation`]).
    pub activation: Option<LayerActivation>,
    /// Its output on the tape.
    pub output: Var,
}

/// Which activation a layer is. Printed in gradwell's spelling: an element-wise
/// activation of fixed parameters as the activation registry names it (`relu`,
/// `leaky-relu:0.2`, `prelu:0.25`); a layer that is an activation of another sort as a
/// model file's `type` names the layer (`prelu` for learnt slopes, `softmax`,
/// `log_softmax`).
///
/// ```
/// use gradwell_nn::LayerActivation;
///
/// let leaky = LayerActivation::Elementwise("leaky-relu:0.2".parse()?);
/// assert_eq!(leaky.to_string(), "leaky-relu:0.2");
/// assert_eq!(LayerActivation::Prelu.to_string(), "prelu");
/// assert_eq!(LayerActivation::LogSoftmax.to_string(), "log_softmax");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerActivation {
    /// An element-wise activation with fixed parameters (an activation layer).
    Elementwise(ActivationKind),
    /// PReLU with learnt slopes, one shared or one per channel (`type = "prelu"`).
    Prelu,
    /// Softmax over the features (`type = "softmax"`).
    Softmax,
    /// Log-softmax over the features (`type = "log_softmax"`).
    LogSoftmax,
}

impl LayerActivation {
    /// The element-wise activation whose fixed math the layer applies, if it is one: what
    /// questions about saturation and dead units are asked of.
    pub fn elementwise(&self) -> Option<ActivationKind> {
        match self {
            LayerActivation::Elementwise(kind) => Some(*kind),
            LayerActivation::Prelu | LayerActivation::Softmax | LayerActivation::LogSoftmax => None,
        }
    }
}

impl fmt::Display for LayerActivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerActivation::Elementwise(kind) => write!(f, "{kind}"),
            LayerActivation::Prelu => f.write_str(crate::layers::PRELU_TYPE),
            LayerActivation::Softmax => f.write_str(crate::layers::SOFTMAX_TYPE),
            LayerActivation::LogSoftmax => f.write_str(crate::layers::LOG_SOFTMAX_TYPE),
        }
    }
}

/// A layer or a network of layers.
///
/// A module holds only handles ([`ParamId`]) to its parameters, which live in the tape's
/// [`ParamStore`] under their full PyTorch-style names (`0.weight`, `3.bias`,
/// `2.bn.running_mean`). `forward` takes `&self`: everything that changes during training
/// (parameters, running statistics) is in the store.
pub trait Module<F: Float>: fmt::Debug + Send {
    /// The layer's type as PyTorch names it (`"Linear"`, `"ReLU"`, `"Sequential"`).
    fn kind(&self) -> &'static str;

    /// The PyTorch `repr` of this layer alone, e.g.
    /// `Linear(in_features=784, out_features=128, bias=True)`; containers give their
    /// type only and print their children.
    fn repr(&self) -> String;

    /// The forward pass.
    ///
    /// # Errors
    /// Shapes that do not fit the layer, or a norm layer's complaint.
    fn forward(&self, ctx: &mut Ctx<'_, F>, x: Var) -> Result<Var>;

    /// Its own parameters and statistics buffers (not its children's), as counted by
    /// [`count_params`]. Every tensor of the store is saved with the weights, whether
    /// listed here or not.
    fn params(&self) -> Vec<ParamId> {
        Vec::new()
    }

    /// Its direct children, with their local names.
    fn children(&self) -> Vec<(String, &dyn Module<F>)> {
        Vec::new()
    }

    /// The per-sample output shape for a per-sample input shape (the batch axis left out).
    ///
    /// # Errors
    /// When the input does not fit the layer.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;

    /// The element-wise activation of fixed parameters this layer applies, if it is an
    /// activation layer.
    fn activation(&self) -> Option<ActivationKind> {
        None
    }

    /// Which activation this layer is, if it is one ([`Tap::activation`]): by default its
    /// [`Module::activation`]; layers that are activations of another sort (PReLU's
    /// learnt slopes, softmax, log-softmax) say so.
    fn layer_activation(&self) -> Option<LayerActivation> {
        self.activation().map(LayerActivation::Elementwise)
    }
}

/// Every parameter of `module` and its descendants, depth first.
pub fn all_params<F: Float>(module: &dyn Module<F>) -> Vec<ParamId> {
    let mut out = module.params();
    for (_, c) in module.children() {
        out.extend(all_params(c));
    }
    out
}

/// The number of scalar parameters of `module` (and descendants) that are, or are not,
/// trainable.
pub fn count_params<F: Float>(module: &dyn Module<F>, store: &ParamStore<F>) -> (usize, usize) {
    let mut trainable = 0;
    let mut frozen = 0;
    for id in all_params(module) {
        let n = store.value(id).len();
        if store.is_trainable(id) {
            trainable += n;
        } else {
            frozen += n;
        }
    }
    (trainable, frozen)
}
