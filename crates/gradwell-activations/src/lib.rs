//! Activation functions for gradwell, each with its derivative, the supremum of that
//! derivative, whether it saturates, and the initialization gain that suits it — with
//! PyTorch's semantics, usable alone over plain [`ndarray`] arrays in `f32` or `f64`.
//!
//! - [`Activation<F>`]: `value`, `derivative`, and slice kernels (`forward_slice`,
//!   `derivative_slice`, `backward_slice`) that a generic autodiff op calls without
//!   knowing which activation it holds. [`ActivationInfo`] carries the float-independent
//!   facts: `name`, `gain`, `derivative_bound`, `saturates` and `saturation` (the bounds a
//!   monitor counts saturated outputs near, [`Saturation`]), `can_die` (dead units),
//!   `nonlinearity`, `kinks`, and PyTorch's module for it (`torch_class`, `torch_args`,
//!   `torch_repr`, numbers printed by [`pyfmt`]).
//! - One type per activation, each in a file of its own: the variants of
//!   [`ActivationKind`] ([`Relu`], [`LeakyRelu`], [`Gelu`], [`Softplus`]…), all re-exported
//!   here.
//! - [`ActivationKind`]: all of them in one serde-serializable enum, parsed from and printed
//!   as `relu`, `leaky-relu:0.2`, `softplus:2,20`…
//! - [`softmax`](fn@softmax), [`log_softmax`] along an axis, max-subtracted, and their backward
//!   products [`softmax_backward`], [`log_softmax_backward`]; each also in place
//!   ([`softmax_in_place`], [`log_softmax_in_place`]) or accumulating into a given gradient
//!   ([`softmax_backward_add`], [`log_softmax_backward_add`]), for allocation-free steps.
//!
//! This crate knows nothing of tensors, tapes or layers: it depends on `ndarray`,
//! `num-traits`, `libm` (for `erfc`) and `gradwell-init` (for PyTorch's gains).
//!
//! ```
//! use gradwell_activations::{Activation, ActivationArrayExt, ActivationInfo, Sigmoid};
//! use ndarray::array;
//!
//! let x = array![[-2.0_f64, 0.0], [1.0, 5.0]];
//! let y = Sigmoid.value_array(&x);
//! let d = Sigmoid.derivative_array(&x);
//! assert_eq!(y[[0, 1]], 0.5);
//! assert_eq!(d[[0, 1]], 0.25); // sigmoid′(0) = 1/4, its maximum
//! assert!(d.iter().all(|&g| g <= Sigmoid.derivative_bound()));
//! assert!(d[[1, 1]] < 7e-3); // saturated: sigmoid′(5) ≈ 6.6e-3
//!
//! // Backward accumulates dx += dy · f′(x), using the output where that is cheaper.
//! let (xs, ys) = ([0.0_f64, 5.0], [Sigmoid.value(0.0), Sigmoid.value(5.0)]);
//! let mut dx = [1.0, 1.0];
//! Sigmoid.backward_slice(&xs, &ys, &[2.0, 2.0], &mut dx);
//! assert_eq!(dx[0], 1.5);
//! ```
//!
//! # Conventions
//!
//! - **Kinks** follow PyTorch: relu′(0) = 0, leaky′(0) = slope, elu′(0) = α, selu′(0) = λα,
//!   celu′(0) = 1, hardtanh′ and relu6′ are 0 at their bounds, hardsigmoid′(±3) = 0,
//!   hardswish′(−3) = 0 and hardswish′(3) = 1. [`ActivationInfo::kinks`] lists the points.
//! - **Finite values for finite inputs.** Every value is finite for every finite input
//!   (sigmoid, SiLU, softplus, mish, ELU and GELU-tanh are written so that no exponential
//!   overflows into ∞/∞ or 0·∞). NaN propagates.
//! - **Backward from the output.** Where PyTorch's backward uses the output (sigmoid:
//!   y(1 − y); tanh: 1 − y²), [`Activation::backward_slice`] does too, so in `f32` a
//!   saturated sigmoid passes exactly 0, as in PyTorch; [`Activation::derivative`] uses a
//!   form accurate on the tails. ELU, SELU and CELU work from the input (α·eˣ), as
//!   `F.elu`/`F.selu`/`F.celu` do (only PyTorch's in-place `elu_` uses the output).
//! - **Saturation** ([`ActivationInfo::saturates`]) means f′ → 0 as x → +∞ (sigmoid, tanh,
//!   hardtanh, ReLU6, hardsigmoid). ReLU, ELU, softplus and the rest keep f′ → 1 there and are not
//!   saturating, even though their derivative vanishes on the negative side.
//!
//! # Gains
//!
//! [`ActivationInfo::gain`] returns PyTorch's `calculate_gain` wherever PyTorch defines
//! one: identity 1, sigmoid 1, tanh 5/3, ReLU √2, leaky ReLU √(2/(1 + slope²)), SELU 3/4.
//! PReLU at slope a gets the leaky-ReLU gain of a: it is what He et al. (2015) derived for
//! PReLU, and at a fixed slope PReLU *is* a leaky ReLU.
//!
//! For the others PyTorch raises an error, and gradwell uses the **second-moment gain**
//! `1/√E[f(z)²]`, z ~ N(0, 1) ([`second_moment_gain`]): the weights' variance `gain²/n`
//! then keeps a unit-variance pre-activation at unit variance from layer to layer. This is
//! the derivation behind PyTorch's own ReLU, leaky-ReLU and linear gains (the rule gives
//! exactly those), so the choice extends PyTorch rather than inventing a new principle.
//! It is computed from the activation's own parameters, so a changed α or β moves the gain:
//!
//! | activation | gain (defaults) |
//! |---|---|
//! | ELU (α = 1) | 1.2452 |
//! | GELU (exact) | 1.5335 |
//! | GELU (tanh) | 1.5336 |
//! | SiLU | 1.6765 |
//! | softplus (β = 1) | 1.0419 |
//! | mish | 1.4868 |
//! | ReLU6 | 1.4142 (√2: the cap at 6 is almost never reached) |
//! | hardtanh [−1, 1] | 1.3920 |
//! | CELU (α = 1) | 1.2452 (ELU's: with α = 1 they are one function) |
//! | hardsigmoid | 1.8978 |
//! | hardswish | 1.7367 |
//!
//! PyTorch's tanh (5/3), sigmoid (1) and SELU (3/4) gains do not follow this rule (it
//! would give 1.5925, 1.8462 and 1); they are kept for parity, and `nonlinearity()`
//! reports the PyTorch family so that an initializer can choose otherwise.
#![doc(test(attr(deny(warnings))))]

mod activation;
mod elementwise;
mod error;
mod gain;
mod math;
pub mod pyfmt;
mod softmax;

pub use activation::{Activation, ActivationArrayExt, ActivationInfo, Saturation};
// `ActivationKind` and every activation type, as the `elementwise!` list names them.
pub use elementwise::*;
pub use error::ActivationError;
pub use gain::second_moment_gain;
pub use gradwell_init::Nonlinearity;
pub use softmax::{
    log_softmax, log_softmax_backward, log_softmax_backward_add, log_softmax_in_place, softmax,
    softmax_backward, softmax_backward_add, softmax_in_place,
};
