//! Integration tests of `gradwell-nn`, in one binary.

mod common;
mod config;
mod display;
mod gradcheck;
mod losses;
mod memory;
mod registry;
mod summary;
mod torch;
mod weights;
