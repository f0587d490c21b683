//! The built-in ops, each with a method on [`crate::Tape`] that records it.

mod activation;
mod binary;
mod loss;
mod matmul;
mod recurrent;
mod reduce;
mod shape;
mod unary;

pub use activation::{ActivationOp, LogSoftmax, Softmax};
pub use binary::{Binary, BinaryKind};
pub use loss::{
    ClassLayout, Mse, Nll, Reduction, SoftmaxCrossEntropy, TargetKind, torch_broadcast_error,
};
pub use matmul::{BiasAdd, MatMul};
pub use recurrent::{Cell, Recurrent, RnnNonlinearity};
pub use reduce::{Mean, Sum};
pub use shape::{Reshape, Transpose};
pub use unary::{Unary, UnaryKind};
