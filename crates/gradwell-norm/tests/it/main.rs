//! Integration tests of gradwell-norm (one binary, modules by topic).
// `&[x.clone()]` reads better than `std::slice::from_ref(&x)` in these call lists.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod common;
mod errors;
mod gradcheck;
mod layer_norm;
mod properties;
mod recycle;
mod running;
mod state;
