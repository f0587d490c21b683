//! The Jacobian of a layer or a network with respect to its input, vector-Jacobian and
//! Jacobian-vector products, at a given input ([`module_jacobian`], [`module_vjp`],
//! [`module_jvp`], and the same on a [`Network`]).
//!
//! These run the module's forward pass on the tape once and differentiate it exactly in
//! reverse mode (`gradwell_autodiff::jacobian`, which states the conventions and the cost:
//! one backward pass per output element for a Jacobian or a JVP, one for a VJP). The
//! parameters' gradients are left alone.
//!
//! The batch and the training mode: [`JacobianMode`].

use gradwell_autodiff::jacobian::{self, Jacobian};
use gradwell_autodiff::{Tape, Var};
use gradwell_tensor::Float;
use ndarray::{ArrayD, ArrayViewD};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::module::{Ctx, Module};
use crate::{Network, Result};

/// The mode a layer or a network is differentiated in, and what the Jacobian of a batch is.
///
/// # The batch
///
/// The input is a whole batch, `[batch, sample axes…]`, and the Jacobian is that of the
/// flattened batch: shape `[batch, out…, batch, in…]` from [`Jacobian::to_array`](gradwell_autodiff::Jacobian::to_array), as
/// `torch.autograd.functional.jacobian(model, x)` gives for the same call. In evaluation
/// mode (the default, [`JacobianMode::default`]) samples do not interact, so the blocks
/// between different samples are zero and the singular values of the whole matrix are
/// those of the samples' blocks together; for one sample's input-output Jacobian, pass a
/// batch of one.
///
/// # Training mode
///
/// [`JacobianMode::training`] differentiates the function the network computes while
/// training: dropout with the masks of a ChaCha8 RNG seeded with the given seed (one
/// forward pass, so one fixed mask), and batch norm on the **batch's** statistics, through
/// which every sample's output depends on every sample's input — the blocks between
/// samples are not zero, and a batch of one is refused by batch norm (one value per
/// feature has no variance). Batch norm's running statistics, which a training forward
/// pass updates, are put back afterwards: the network is left as it was (PyTorch's same
/// call would update them once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JacobianMode {
    /// Training mode (dropout active, batch norm on the batch's statistics) or evaluation
    /// (the default).
    pub training: bool,
    /// Seeds the ChaCha8 RNG that dropout draws its mask from in training mode.
    pub seed: u64,
}

impl JacobianMode {
    /// Evaluation mode (the default).
    pub const EVAL: JacobianMode = JacobianMode {
        training: false,
        seed: 0,
    };

    /// Training mode, dropout's masks drawn from a ChaCha8 RNG seeded with `seed`.
    pub fn training(seed: u64) -> Self {
        JacobianMode {
            training: true,
            seed,
        }
    }
}

/// Runs `body` with a closure that records `module`'s forward pass in `mode`, and puts the
/// non-trainable tensors of the store (batch norm's running statistics and counter) back
/// as they were when the mode is training.
fn differentiate<F: Float, T>(
    module: &dyn Module<F>,
    tape: &mut Tape<F>,
    mode: JacobianMode,
    body: impl FnOnce(&mut Tape<F>, &mut dyn FnMut(&mut Tape<F>, Var) -> Result<Var>) -> Result<T>,
) -> Result<T> {
    let kept: Vec<_> = if mode.training {
        let store = tape.params();
        store
            .ids()
            .filter(|&id| !store.is_trainable(id))
            .map(|id| (id, store.value(id).to_owned()))
            .collect()
    } else {
        Vec::new()
    };
    let mut forward = |t: &mut Tape<F>, x: Var| {
        let mut rng = ChaCha8Rng::seed_from_u64(mode.seed);
        let mut ctx = Ctx {
            tape: t,
            training: mode.training,
            rng: &mut rng,
            taps: None,
        };
        module.forward(&mut ctx, x)
    };
    let out = body(tape, &mut forward);
    for (id, value) in kept {
        tape.params_mut().value_mut(id).assign(&value);
    }
    out
}

/// The Jacobian of `module`'s output with respect to its input `x` (a batch), the
/// module's parameters living in `tape`'s store (see [`JacobianMode`] for the batch and
/// the modes).
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_nn::{JacobianMode, Linear, module_jacobian};
/// use ndarray::{ArrayD, Ix2};
/// use rand::SeedableRng;
///
/// let mut tape = Tape::<f64>::new();
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let init = "xavier-normal".parse()?;
/// let layer = Linear::new(tape.params_mut(), "0", 3, 2, true, &init, None, &mut rng)?;
/// let x = ArrayD::zeros(vec![1, 3]);
/// let j = module_jacobian(&layer, &mut tape, &x.view(), JacobianMode::EVAL)?;
/// // A linear layer's Jacobian is its weight.
/// assert_eq!(j.matrix, tape.params().value(layer.weight).into_dimensionality::<Ix2>()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A forward pass that fails (a shape the module does not take, batch norm on a batch of
/// one in training mode).
pub fn module_jacobian<F: Float>(
    module: &dyn Module<F>,
    tape: &mut Tape<F>,
    x: &ArrayViewD<'_, F>,
    mode: JacobianMode,
) -> Result<Jacobian<F>> {
    differentiate(module, tape, mode, |t, f| jacobian::jacobian(t, x, f))
}

/// The vector-Jacobian product `(module(x), uᵀJ)`, `u` shaped like the output: one
/// backward pass.
///
/// # Errors
/// As [`module_jacobian`], and a `u` not shaped like the output.
pub fn module_vjp<F: Float>(
    module: &dyn Module<F>,
    tape: &mut Tape<F>,
    x: &ArrayViewD<'_, F>,
    u: &ArrayViewD<'_, F>,
    mode: JacobianMode,
) -> Result<(ArrayD<F>, ArrayD<F>)> {
    differentiate(module, tape, mode, |t, f| jacobian::vjp(t, x, u, f))
}

/// The Jacobian-vector product `(module(x), J·v)`, `v` shaped like `x`: computed in reverse
/// mode, one backward pass per output element.
///
/// # Errors
/// As [`module_jacobian`], and a `v` not shaped like `x`.
pub fn module_jvp<F: Float>(
    module: &dyn Module<F>,
    tape: &mut Tape<F>,
    x: &ArrayViewD<'_, F>,
    v: &ArrayViewD<'_, F>,
    mode: JacobianMode,
) -> Result<(ArrayD<F>, ArrayD<F>)> {
    differentiate(module, tape, mode, |t, f| jacobian::jvp(t, x, v, f))
}

impl<F: Float> Network<F> {
    /// The Jacobian of the network's output with respect to its input batch `x`, in
    /// evaluation mode ([`module_jacobian`]; [`Network::jacobian_in`] for another mode).
    /// Its singular values: [`Jacobian::singular_values`].
    ///
    /// ```
    /// use gradwell_nn::{MlpSpec, Network};
    /// use ndarray::ArrayD;
    ///
    /// let net_spec = MlpSpec::new(&[4, 8, 3], "tanh".parse()?).to_spec()?;
    /// let mut net = Network::<f64>::build(&net_spec, 0)?;
    /// let j = net.jacobian(&ArrayD::from_elem(vec![1, 4], 0.5).view())?;
    /// assert_eq!(j.to_array().shape(), &[1, 3, 1, 4]);
    /// let s = j.singular_values()?;
    /// assert_eq!(s.values.len(), 3);
    /// assert!(s.max() >= s.min() && s.condition() >= 1.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`module_jacobian`].
    pub fn jacobian(&mut self, x: &ArrayViewD<'_, F>) -> Result<Jacobian<F>> {
        self.jacobian_in(x, JacobianMode::EVAL)
    }

    /// [`Network::jacobian`] in a given mode.
    ///
    /// # Errors
    /// As [`module_jacobian`].
    pub fn jacobian_in(
        &mut self,
        x: &ArrayViewD<'_, F>,
        mode: JacobianMode,
    ) -> Result<Jacobian<F>> {
        let (root, tape) = self.root_and_tape();
        module_jacobian(root, tape, x, mode)
    }

    /// The vector-Jacobian product `(network(x), uᵀJ)` in `mode` ([`module_vjp`]).
    ///
    /// # Errors
    /// As [`module_vjp`].
    pub fn vjp(
        &mut self,
        x: &ArrayViewD<'_, F>,
        u: &ArrayViewD<'_, F>,
        mode: JacobianMode,
    ) -> Result<(ArrayD<F>, ArrayD<F>)> {
        let (root, tape) = self.root_and_tape();
        module_vjp(root, tape, x, u, mode)
    }

    /// The Jacobian-vector product `(network(x), J·v)` in `mode` ([`module_jvp`]).
    ///
    /// # Errors
    /// As [`module_jvp`].
    pub fn jvp(
        &mut self,
        x: &ArrayViewD<'_, F>,
        v: &ArrayViewD<'_, F>,
        mode: JacobianMode,
    ) -> Result<(ArrayD<F>, ArrayD<F>)> {
        let (root, tape) = self.root_and_tape();
        module_jvp(root, tape, x, v, mode)
    }
}
