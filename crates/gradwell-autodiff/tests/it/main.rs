//! Integration tests of gradwell-autodiff (one binary, modules by topic).
// `&[x.clone()]` reads better than `std::slice::from_ref(&x)` in these call lists.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod activations;
mod gradcheck_ops;
mod jacobian;
mod losses;
mod recurrent;
mod tape;
