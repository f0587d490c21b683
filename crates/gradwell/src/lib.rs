//! gradwell: train deep neural networks whose gradients stay healthy — and see when they
//! don't.
//!
//! This facade re-exports every gradwell crate under one name, plus a [`prelude`] with the
//! types most programs use. Depend on a single crate instead (`gradwell-init`,
//! `gradwell-activations`, …) when you need only that part: each is usable on its own over
//! plain `ndarray` arrays.
//!
//! | module | crate | what it holds |
//! |---|---|---|
//! | [`tensor`] | `gradwell-tensor` | `Float`, strided matmul, broadcasting |
//! | [`autodiff`] | `gradwell-autodiff` | the tape, ops, parameters, gradient checking |
//! | [`activations`] | `gradwell-activations` | every activation and its derivative bounds |
//! | [`init`] | `gradwell-init` | Xavier, He, LeCun, orthogonal, … |
//! | [`norm`] | `gradwell-norm` | batch norm, layer norm |
//! | [`optim`] | `gradwell-optim` | optimizers, clipping, schedules |
//! | [`nn`] | `gradwell-nn` | layers, networks, losses, summaries, weights files |
//! | [`data`] | `gradwell-data` | IDX/CSV readers, digits, Fashion-MNIST, batches |
//! | [`monitor`] | `gradwell-monitor` | gradient-health figures, diagnosis, theory, plots |
//! | [`train`] | `gradwell-train` | the training loop and checkpoints |
//!
//! Features, all on by default; with `default-features = false` the crate depends on none
//! of these libraries:
//!
//! | feature | brings | without it |
//! |---|---|---|
//! | `plots` | plotters: [`monitor::line_plot`] and the other `monitor::plot_*` | the data of a plot ([`monitor::Series`]) only |
//! | `progress` | indicatif: a progress bar while training in a terminal | one log line per epoch |
//! | `toml` | toml: TOML model specs and training configs | JSON only |
//!
//! ```
//! use gradwell::prelude::*;
//!
//! // The seed model: 784-128-10, ReLU, He normal.
//! let mut mlp = MlpSpec::new(&[784, 128, 10], "relu".parse()?);
//! mlp.init = Some(Init::HE_NORMAL);
//! let mut net = Network::<f32>::build(&mlp.to_spec()?, 0)?;
//! let logits = net.predict(&ndarray::Array2::zeros((2, 784)).view())?;
//! assert_eq!(logits.dim(), (2, 10));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

pub use gradwell_activations as activations;
pub use gradwell_autodiff as autodiff;
pub use gradwell_data as data;
pub use gradwell_init as init;
pub use gradwell_monitor as monitor;
pub use gradwell_nn as nn;
pub use gradwell_norm as norm;
pub use gradwell_optim as optim;
pub use gradwell_tensor as tensor;
pub use gradwell_train as train;

/// The types most programs use.
pub mod prelude {
    pub use gradwell_activations::{Activation, ActivationInfo, ActivationKind};
    pub use gradwell_autodiff::{ParamStore, Tape, Var, gradcheck};
    pub use gradwell_data::Dataset;
    pub use gradwell_init::{Init, Initializer, Nonlinearity, calculate_gain};
    pub use gradwell_nn::{MlpSpec, ModelSpec, Module, Network};
    pub use gradwell_optim::{Optimizer, ParamSlot};
    pub use gradwell_tensor::{ClassLabel, Float};
    pub use gradwell_train::{TrainConfig, Trainer};
}

/// The README's examples, compiled and run as doctests so that they stay true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
