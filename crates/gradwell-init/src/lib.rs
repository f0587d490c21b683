//! Weight initializers for gradwell, usable alone over plain [`ndarray`] arrays.
//!
//! This crate depends on nothing of gradwell: someone with `ndarray` arrays and a
//! [`rand::Rng`] can use it as it is. Reference semantics are PyTorch's
//! (`torch/nn/init.py`); where Keras differs, both forms are offered and named.
//!
//! # Core types
//!
//! - [`Initializer`]: fills an array from an RNG the caller owns (object-safe, generic
//!   over the element type). A zero-element array is left as it is.
//! - [`Fans`] and [`Layout`]: fan-in and fan-out from a shape, PyTorch's `[out, in,
//!   *kernel]` by default, Keras's `[*kernel, in, out]` on request.
//! - [`VarianceScaling`]: the one mechanism behind Xavier/Glorot, He/Kaiming and LeCun — a
//!   scale, a [`FanMode`] and a [`Distribution`] (normal, Keras's corrected truncated
//!   normal, uniform). Those names are its constructors, with gains from
//!   [`calculate_gain`]; so are [`VarianceScaling::keras_he_normal`] and PyTorch's default
//!   layer init [`VarianceScaling::pytorch_default`] (a sixth of He's variance).
//! - [`calculate_gain`] by [`Nonlinearity`], and [`calculate_gain_named`] by PyTorch's own
//!   string names (`'leaky_relu'`, `'conv_transpose2d'`, …) with PyTorch's checks and
//!   messages.
//! - [`Init`]: every initializer by name with its parameters, for configs and command
//!   lines (serde as the string, `FromStr`, `Display`), and [`Init::suited_to`] to pick one
//!   for an activation. It is a registry: each initializer is one file of `src/kinds/`
//!   holding one type ([`HeNormal`], [`Uniform`], [`Orthogonal`], …; [`INIT_NAMES`] lists
//!   them all), and [`Init`], its parsing, printing and serde form are generated from the
//!   list of them.
//! - [`InitInfo`] and [`Law`]: each initializer's facts — its parameters' validity and the
//!   law of its elements for a shape (uniform, normal, truncated normal, constant; `None`
//!   for orthogonal, eye and sparse), with the [`Moments`] the monitor's mean-field theory
//!   reads, and the bound of a uniform one ([`InitInfo::uniform_bound`]).
//!   An initializer with a law fills by sampling that law, so what it declares is what it
//!   draws, and the variance tests and `cargo xtask verify` check every law they are given
//!   by the registry.
//!
//! # Design choice: sample in f64, round once
//!
//! Every initializer draws in f64 and rounds to the array's element type once, so f32 and
//! f64 arrays filled from the same seed hold the same values up to rounding, bounds hold
//! after rounding, and orthogonality is computed to f64 precision. The price is a little
//! speed for f32, irrelevant next to training. Normal variates come from `rand_distr`'s
//! `StandardNormal` (a ziggurat), uniform ones from `rand`'s 53-bit `f64`, both from the
//! caller's RNG.
//!
//! ```
//! use gradwell_init::{Init, Initializer, Nonlinearity};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! let init = Init::suited_to(Nonlinearity::Relu); // He normal
//! let w: ndarray::ArrayD<f32> = init.sample(&[128, 784], &mut rng)?; // nn.Linear(784, 128)
//! let var = w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / w.len() as f64;
//! assert!((var / (2.0 / 784.0) - 1.0).abs() < 0.05);
//! # Ok::<(), gradwell_init::InitError>(())
//! ```
#![doc(test(attr(deny(warnings))))]

mod error;
mod fan;
mod gain;
mod initializer;
mod kinds;
mod law;
mod registry;
mod sample;

pub use error::InitError;
pub use fan::{FanMode, Fans, Layout};
pub use gain::{GainParam, Nonlinearity, calculate_gain, calculate_gain_named};
pub use initializer::Initializer;
pub use kinds::*;
pub use law::{Law, Moments};
pub use registry::InitInfo;
