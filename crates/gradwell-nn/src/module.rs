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

/// One layer's output recorded during a forward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Tap {
    /// The layer's path, PyTorch-style (`"3"`, `"2.body.1"`).
    pub path: String,
    /// The layer's type (`"Linear"`, `"Activation"`, …).
    pub kind: &'static str,
    /// The activation it applies, for activation layers.
    pub activation: Option<ActivationKind>,
    /// Its output on the tape.
    pub output: Var,
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

    /// The activation this layer applies, if it is an activation layer.
    fn activation(&self) -> Option<ActivationKind> {
        None
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
