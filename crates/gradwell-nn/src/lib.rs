//! Layers and networks for gradwell.
//!
//! - [`Module`]: forward on a tape ([`Ctx`] carries the tape, the train/eval mode, the
//!   dropout RNG and the monitor's taps), parameters visited by PyTorch-style dotted names
//!   (`0.weight`, `3.bias`, `1.running_mean`), parameter counts.
//! - Layers: [`Linear`] (PyTorch's `[out, in]` weight), [`Act`] (any activation),
//!   [`Prelu`], [`BatchNormLayer`], [`LayerNormLayer`], [`Dropout`], [`Flatten`],
//!   [`Softmax`], the recurrent [`RecurrentLayer`] (`rnn`, `lstm`, `gru`: PyTorch's
//!   `nn.RNN`/`LSTM`/`GRU` with `batch_first=True`) and [`LastStep`], and the containers
//!   [`Sequential`] and [`Residual`]; each in a file of its
//!   own with its settings type ([`LinearSpec`], …), registered once in the list that
//!   makes [`LayerSpec`] (see [`LayerSpec::examples`] for what the registry tests run).
//! - [`ModelSpec`]: a model as data (JSON or TOML), built with widths checked at build
//!   time; [`MlpSpec`] writes the common MLP in one call, choosing the initializer that
//!   suits its activation.
//! - [`ModelPlan`] ([`ModelSpec::plan`]): shapes and parameter counts per layer from the
//!   spec alone, with checked arithmetic and nothing allocated; the Keras summary is printed
//!   from it. [`MemoryBudget`] weighs a plan against the memory available (the kernel's
//!   `MemAvailable`, or `GRADWELL_MAX_MEMORY_MB`) for a [`MemoryUse`] (building, a batch,
//!   training): building refuses a model that cannot fit with [`NnError::TooLarge`], naming
//!   the layer, before allocating it.
//! - [`Network`]: a built model with its parameters, a Keras-style [`Network::summary`],
//!   PyTorch's `print(model)` form as `Display`, and safetensors weights with PyTorch's
//!   names ([`Network::save_safetensors`], [`Network::load_safetensors`]).
//! - [`losses`]: PyTorch's cross-entropy (class weights, `ignore_index`, label smoothing,
//!   probability targets, inputs `N×C×d₁…`), NLL, BCE with logits (`weight`,
//!   `pos_weight`) and MSE, each with reductions none, mean and sum and PyTorch's error
//!   messages.
//! - [`Network::gradcheck`]: the gradient of a loss through a whole network, with respect
//!   to every trainable parameter and the input, against finite differences (f64).
//! - [`Network::jacobian`], [`module_jacobian`], [`module_vjp`], [`module_jvp`]: the exact
//!   Jacobian of a network or a layer with respect to its input, and products with it
//!   (see [`JacobianMode`] for the batch and training mode); its singular values come
//!   from `gradwell_autodiff::SingularValues`.
//! - [`io`]: the workspace's one file writer, atomic (temporary file, fsync, rename), with
//!   the cleanup of temporary files that killed writes left.
//!
//! The examples `keras_seed` and `pytorch_seed` rebuild the two seed models from their
//! configs (`examples/*.toml`). The PyTorch interop fixtures (`fixtures/`) are made by
//! `fixtures/gen_torch_weights.sh`, which installs PyTorch in a local virtual environment,
//! writes PyTorch's weights and outputs, and checks that weights saved here load in
//! PyTorch; the tests read the committed fixtures and need no PyTorch.
//!
//! # PyTorch and Keras parity
//!
//! Names, defaults and formulas are PyTorch's: state_dict keys, `[out, in]` weights,
//! `Linear`'s default U(±1/√in) weight and bias, PReLU slopes on the channel axis (axis 1,
//! where Keras's `PReLU` has one slope per element unless `shared_axes` is given), the
//! `repr` of every layer as PyTorch 2.15 prints it. Deliberate differences:
//!
//! - Keras's `Dense` starts its bias at zero and folds its activation into the layer; here
//!   the bias follows PyTorch unless a `bias_init` is given, and an activation is a layer
//!   of its own (with PyTorch paths, `0 (Linear)`, in errors). [`Network::summary`] prints
//!   the model as Keras would: rows named `dense (Dense)`, `dense_1 (Dense)`, an
//!   activation that directly follows a linear layer written into its row. Keras's
//!   `he_normal` is truncated (`keras-he-normal`); PyTorch's `kaiming_normal_` is not
//!   (`he-normal`).
//! - The summary counts batch norm's running statistics as non-trainable parameters, as
//!   Keras does, but not PyTorch's `num_batches_tracked` counter (it is saved with the
//!   weights, as an int64, so PyTorch loads the file).
//! - Loading is strict where PyTorch's `load_state_dict` converts: an f64 tensor is refused
//!   by an f32 model (it would lose precision), while an f32 tensor loads exactly into an
//!   f64 model; every mismatch is reported at once and nothing is loaded.
//! - Dropout masks come from a seeded ChaCha8 stream: the same distribution as PyTorch's,
//!   not the same masks.
//! - An activation layer holding a fixed-slope `prelu:A` prints as PyTorch prints
//!   `nn.PReLU(init=A)`, `PReLU(num_parameters=1)`, but its slope is not learned
//!   (PyTorch's `PReLU` learns it, here [`Prelu`]); `LeakyReLU(negative_slope=A)` is the
//!   equivalent to build on that side.
//!
//! The seed's PyTorch model, printed as PyTorch prints it:
//!
//! ```
//! use gradwell_nn::{Head, MlpSpec, Network};
//!
//! let mut mlp = MlpSpec::new(&[784, 128, 10], "relu".parse()?);
//! mlp.init = Some("he-normal".parse()?);
//! mlp.head = Head::LogSoftmax;
//! let net = Network::<f32>::build(&mlp.to_spec()?, 0)?;
//! assert_eq!(net.to_string(), "\
//! Sequential(
//!   (0): Linear(in_features=784, out_features=128, bias=True)
//!   (1): ReLU()
//!   (2): Linear(in_features=128, out_features=10, bias=True)
//!   (3): LogSoftmax(dim=1)
//! )");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

mod check;
mod error;
pub mod io;
mod jacobian;
mod layers;
pub mod losses;
mod memory;
mod module;
mod network;
mod plan;
mod recurrent_stack;
mod spec;

pub use check::NetworkGradCheck;
pub use error::{NnError, Result};
pub use io::write_atomic;
pub use jacobian::{JacobianMode, module_jacobian, module_jvp, module_vjp};
// Every layer and its settings type, as the `layers!` registry lists them, and `LayerSpec`.
pub use layers::*;
pub use memory::{BudgetSource, FALLBACK_MEMORY_BUDGET, MAX_MEMORY_ENV, MemoryBudget, MemoryUse};
pub use module::{Ctx, LayerActivation, Module, Tap, all_params, count_params};
pub use network::Network;
pub use plan::{KerasLayer, LayerPlan, ModelPlan};
pub use recurrent_stack::{RecurrentCell, RecurrentStack};
pub use spec::{DEFAULT_HIDDEN, Head, MlpSpec, MlpWidths, ModelSpec, Widths};
