//! Batch normalization and layer normalization for gradwell, as fused differentiable ops
//! on the [`gradwell_autodiff::Tape`], with PyTorch's semantics and defaults.
//!
//! - [`BatchNorm`] (PyTorch's `BatchNorm1d`) over the feature axis of `[batch, features]`
//!   or `[batch, channels, length]`, with learnable γ and β, running statistics kept as
//!   non-trainable parameters under PyTorch's `state_dict` names, and a serializable
//!   [`BatchNormState`] for checkpoints.
//! - [`LayerNorm`] (PyTorch's `LayerNorm` over the last axis).
//! - The functional forms [`batch_norm_train`], [`batch_norm_eval`] and [`layer_norm`](fn@layer_norm)
//!   (PyTorch's `F.batch_norm` and `F.layer_norm`), for callers that own the parameters.
//! - Settings with PyTorch's defaults, checked once: [`BatchNormConfig`],
//!   [`LayerNormConfig`] ([`DEFAULT_EPS`], [`DEFAULT_MOMENTUM`]).
//!
//! # Design choice: one fused op per normalization
//!
//! Each normalization is a single op whose backward is the closed form
//! `dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))` (means over the normalized values), with
//! `dγ = Σ dy·x̂` and `dβ = Σ dy`, rather than a chain of mean, subtract, square, divide
//! ops. The op keeps only the per-channel (or per-row) mean and inverse standard
//! deviation and recomputes `x̂` from `x`, so a step allocates nothing of the input's size
//! beyond the output and gradient buffers the tape reuses. The trade-off: the statistics
//! are not separate values on the tape, so nothing can differentiate through them alone.
//!
//! The per-channel vectors themselves (statistics, coefficients, sums) belong to the op
//! and are handed on to the op recorded at the same tape position in the next step
//! (`Op::recycle`); [`BatchNorm`] updates its running statistics from the op's batch
//! statistics in place (`Tape::op_and_params_mut`). A training step therefore allocates
//! nothing in steady state. The functional [`batch_norm_train`] returns a copy of the
//! statistics, its one allocation.
//!
//! # PyTorch parity
//!
//! Matches `torch.nn.BatchNorm1d` and `torch.nn.functional.batch_norm`
//! (`torch/nn/modules/batchnorm.py`): biased variance to normalize, **unbiased**
//! (`×m/(m−1)`) variance in the running average, `running ← (1 − f)·running + f·batch`
//! with `f = momentum` (default 0.1) or `1/num_batches_tracked` when `momentum` is `None`,
//! running mean 0 and variance 1 at the start, eps 1e-5, the "Expected more than 1 value
//! per channel when training" error, and batch statistics in evaluation without tracked
//! statistics. Deliberate differences:
//! - `eps` must be finite and > 0 in evaluation too (PyTorch allows 0 there);
//! - `num_batches_tracked` is held in the float type (PyTorch: int64), exact to 2²⁴ in f32;
//! - [`LayerNorm`] normalizes the last axis only (PyTorch: any trailing shape);
//! - inputs of rank other than 2 or 3 (PyTorch's `BatchNorm2d/3d`) are refused.
//!
//! Keras' `BatchNormalization` differs more (momentum is the weight of the old value,
//! 0.99; eps 1e-3; biased running variance; no error on a batch of one).
#![doc(test(attr(deny(warnings))))]

mod batch_norm;
mod batch_op;
mod buffers;
mod config;
mod error;
mod layer_norm;
mod sum;

pub use batch_norm::{BatchNorm, BatchNormState};
pub use batch_op::{BatchStats, batch_norm_eval, batch_norm_train};
pub use config::{
    BatchNormConfig, DEFAULT_EPS, DEFAULT_MOMENTUM, DEFAULT_WEIGHT_INIT, LayerNormConfig,
};
pub use error::{NormError, Result};
pub use layer_norm::{LayerNorm, layer_norm};
