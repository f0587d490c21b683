//! Integration tests of gradwell-activations: one binary, one module per area.

mod common;
mod derivatives;
mod kind;
mod reference;
mod saturation;
mod slices;
mod softmax;
mod torch;
