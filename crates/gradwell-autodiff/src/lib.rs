//! Reverse-mode automatic differentiation for gradwell, generic over [`Float`] (f32 to
//! train, f64 to check).
//!
//! - A [`Tape`] records a computation as it runs; each recorded value is a [`Var`].
//! - An [`Op`] (forward, backward) is how every differentiable operation gets onto the
//!   tape — the built-in ones in [`ops`], activations, batch norm, losses, and any op a
//!   user writes.
//! - Persistent parameters live in a [`ParamStore`] (name, value, gradient), owned by the
//!   tape and read in place; gradients accumulate until [`ParamStore::zero_grad`].
//! - [`mod@gradcheck`] compares every backward against central finite differences in f64.
//! - Inputs can require a gradient ([`Tape::input_requires_grad`], [`Tape::input_grad`]);
//!   [`mod@jacobian`] gives vector-Jacobian and Jacobian-vector products, whole Jacobians
//!   of any computation on the tape, and their singular values (nalgebra's SVD).
//!
//! # Design choice: a reusable tape
//!
//! The tape keeps its buffers between steps: after [`Tape::reset`] the next step's values
//! and gradients land in the same allocations when the shapes repeat, as they do in
//! training. Backward passes *add* into gradient buffers, so matrix products accumulate in
//! place with `β = 1`. The price is that [`Var`]s are only valid until the next reset (a
//! stale one is detected and reported).
//!
//! ```
//! use gradwell_autodiff::Tape;
//! use ndarray::array;
//!
//! // One gradient of linear regression on two samples.
//! let mut tape = Tape::<f64>::new();
//! let w = tape.params_mut().add("w", array![[0.5, -0.5]].into_dyn());
//! let x = tape.input(array![[1.0, 2.0], [3.0, 4.0]].into_dyn());
//! let t = tape.input(array![[1.0], [2.0]].into_dyn());
//! let wv = tape.param(w);
//! let y = tape.matmul_t(x, wv)?;
//! let loss = tape.mse(y, t)?;
//! tape.backward(loss)?;
//! assert_eq!(tape.value(loss)[[]], 4.25);
//! assert_eq!(tape.params().grad(w), array![[-9.0, -13.0]].into_dyn());
//! # Ok::<(), gradwell_autodiff::AutodiffError>(())
//! ```
#![doc(test(attr(deny(warnings))))]

mod error;
pub mod gradcheck;
pub mod jacobian;
mod op;
pub mod ops;
mod param;
mod tape;

pub use error::{AutodiffError, Result};
pub use gradcheck::{GradCheck, GradCheckReport, JacobianCheck, gradcheck};
pub use gradwell_tensor::Float;
pub use jacobian::{Jacobian, SingularValues};
pub use op::{Op, ensure_shape};
pub use param::{ParamId, ParamStore};
pub use tape::{Tape, Var};
