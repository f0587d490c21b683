//! Every initializer, one file each: its type, its text form ([`Entry`](crate::registry::Entry)),
//! its checks and its law ([`InitInfo`](crate::InitInfo), usually through
//! [`Drawn`](crate::registry::Drawn)), and unit tests of its law against the published
//! formula.
//!
//! Each file `NAME.rs` here holds the type `Name` (the file name in upper camel case) and
//! is one entry of [`Init`]: `build.rs` lists the files, and the `initializers!` list it
//! writes (included below) declares the variant, the parsing, the printing, the serde
//! form and the dispatch. A file needs its `mod` line below, beside the others: rustfmt,
//! cargo-mutants and the compiler find the file through it, and a file without one (or a
//! line without a file) does not compile.

use crate::registry::initializers;

mod constant;
mod eye;
mod he_normal;
mod he_uniform;
mod keras_he_normal;
mod lecun_normal;
mod lecun_uniform;
mod normal;
mod ones;
mod orthogonal;
mod pytorch_default;
mod pytorch_default_bias;
mod sparse;
mod truncated_normal;
mod uniform;
mod variance_scaling;
mod xavier_normal;
mod xavier_uniform;
mod zeros;

pub use variance_scaling::{Distribution, KERAS_TRUNCATION_CUT, KERAS_TRUNCATION_STD};

include!(concat!(env!("OUT_DIR"), "/kinds.rs"));
