//! Layers and networks for gradwell.
//!
//! - [`Module`]: forward on a tape ([`Ctx`] carries the tape, the train/eval mode, the
//!   dropout RNG and the monitor's taps), parameters visited by PyTorch-style dotted names
//!   (`0.weight`, `3.bias`, `1.running_mean`), parameter counts.
//! - Layers: [`Linear`] (PyTorch's `[out, in]` weight), [`Act`] (any activation),
//!   [`Prelu`], [`BatchNormLayer`], [`LayerNormLayer`], [`Dropout`], [`Flatten`],
//!   [`Softmax`], and the containers [`Sequential`] and [`Residual`].
//! - [`ModelSpec`]: a model as data (JSON or TOML), built with widths checked at build
//!   time; [`MlpSpec`] writes the common MLP in one call, choosing the initializer that
//!   suits its activation.
//! - [`Network`]: a built model with its parameters, a Keras-style [`Network::summary`],
//!   PyTorch's `print(model)` form as `Display`, and safetensors weights with PyTorch's
//!   names ([`Network::save_safetensors`], [`Network::load_safetensors`]).
//! - [`losses`]: cross-entropy on logits (label smoothing), NLL on log-probabilities, MSE,
//!   binary cross-entropy with logits; mean or sum.
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
mod io;
mod layers;
pub mod losses;
mod module;
mod network;
mod norm_layers;
mod pyfmt;
mod spec;

pub use check::NetworkGradCheck;
pub use error::{NnError, Result};
pub use io::write_atomic;
pub use layers::{
    Act, Dropout, Flatten, Linear, Prelu, Residual, Sequential, Softmax, run, torch_activation_repr,
};
pub use module::{Ctx, Module, Tap, all_params, count_params};
pub use network::Network;
pub use norm_layers::{BatchNormLayer, LayerNormLayer};
pub use spec::{Head, LayerSpec, MlpSpec, ModelSpec};
