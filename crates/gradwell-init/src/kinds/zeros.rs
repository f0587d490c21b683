//! `zeros`: every element 0.

use crate::registry::{Drawn, Entry, no_args};
use crate::{InitError, Law};

/// Every element 0 (PyTorch's `zeros_`, Keras's `Zeros`; alias `zero`). It breaks no
/// symmetry: use it for biases, not weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Zeros;

impl Drawn for Zeros {
    fn check(&self) -> Result<(), InitError> {
        Ok(())
    }
    fn law_for(&self, _shape: &[usize]) -> Result<Law, InitError> {
        Ok(Law::Constant { value: 0.0 })
    }
}

impl Entry for Zeros {
    const NAMES: &'static [&'static str] = &["zeros", "zero"];
    const USAGE: &'static str = "zeros";
    fn from_args(args: &[String]) -> Result<Self, String> {
        no_args(Self::NAMES[0], args).map(|()| Zeros)
    }
    fn args(&self) -> Vec<String> {
        Vec::new()
    }
    fn examples() -> Vec<Self> {
        vec![Zeros]
    }
}
