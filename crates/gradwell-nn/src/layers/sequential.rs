//! [`Sequential`]: layers in order (the root of every network and a residual block's
//! branch), and [`run`].

use gradwell_autodiff::{Tape, Var};
use gradwell_tensor::Float;

use super::join;
use crate::Result;
use crate::module::{Ctx, Module, Tap};

/// Layers applied in order; each layer's output (and its path) is recorded in
/// [`Ctx::taps`] when the monitor asks.
#[derive(Debug, Default)]
pub struct Sequential<F: Float> {
    path: String,
    layers: Vec<Box<dyn Module<F>>>,
}

impl<F: Float> Sequential<F> {
    /// An empty container whose children are named `{path}.0`, `{path}.1`, ….
    pub fn new(path: impl Into<String>) -> Self {
        Sequential {
            path: path.into(),
            layers: Vec::new(),
        }
    }

    /// Appends a layer.
    pub fn push(&mut self, layer: impl Module<F> + 'static) {
        self.layers.push(Box::new(layer));
    }

    /// Appends a boxed layer.
    pub fn push_boxed(&mut self, layer: Box<dyn Module<F>>) {
        self.layers.push(layer);
    }

    /// The layers.
    pub fn layers(&self) -> &[Box<dyn Module<F>>] {
        &self.layers
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there is no layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The path of the layer at `index` (`"3"`, or `"2.body.3"` when nested).
    pub fn child_path(&self, index: usize) -> String {
        join(&self.path, &index.to_string())
    }
}

impl<F: Float> Module<F> for Sequential<F> {
    fn kind(&self) -> &'static str {
        "Sequential"
    }

    fn repr(&self) -> String {
        "Sequential".to_string()
    }

    fn forward(&self, ctx: &mut Ctx<'_, F>, mut x: Var) -> Result<Var> {
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(ctx, x)?;
            if let Some(taps) = ctx.taps.as_deref_mut() {
                taps.push(Tap {
                    path: self.child_path(i),
                    kind: layer.kind(),
                    activation: layer.layer_activation(),
                    output: x,
                });
            }
        }
        Ok(x)
    }

    fn children(&self) -> Vec<(String, &dyn Module<F>)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l.as_ref()))
            .collect()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.layers
            .iter()
            .try_fold(input.to_vec(), |shape, l| l.output_shape(&shape))
    }
}

/// A forward pass of `module` on a fresh context (no taps), for tests and inference.
///
/// # Errors
/// As the module's forward.
pub fn run<F: Float>(
    module: &dyn Module<F>,
    tape: &mut Tape<F>,
    x: Var,
    training: bool,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Result<Var> {
    let mut ctx = Ctx {
        tape,
        training,
        rng,
        taps: None,
    };
    module.forward(&mut ctx, x)
}
