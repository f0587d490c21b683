//! Integration tests of `gradwell-nn`, in one binary.

mod alpha_dropout;
mod common;
mod config;
mod display;
mod gradcheck;
mod jacobian;
mod losses;
mod memory;
mod recurrent;
mod recurrent_stack;
mod registry;
mod rnn_parity;
mod summary;
mod torch;
mod weights;
