//! Weight initializers for gradwell, usable alone over plain [`ndarray`] arrays.
//!
//! This crate depends on nothing of gradwell: someone with `ndarray` arrays and a
//! [`rand::Rng`] can use it as it is.
#![doc(test(attr(deny(warnings))))]

mod gain;

pub use gain::{Nonlinearity, calculate_gain};
