//! `ones`: every element 1.

use crate::registry::{Drawn, Entry, no_args};
use crate::{InitError, Law};

/// Every element 1 (PyTorch's `ones_`, Keras's `Ones`; alias `one`): for norm scales, not
/// weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ones;

impl Drawn for Ones {
    fn check(&self) -> Result<(), InitError> {
        Ok(())
    }
    fn law_for(&self, _shape: &[usize]) -> Result<Law, InitError> {
        Ok(Law::Constant { value: 1.0 })
    }
}

impl Entry for Ones {
    const NAMES: &'static [&'static str] = &["ones", "one"];
    const USAGE: &'static str = "ones";
    fn from_args(args: &[String]) -> Result<Self, String> {
        no_args(Self::NAMES[0], args).map(|()| Ones)
    }
    fn args(&self) -> Vec<String> {
        Vec::new()
    }
    fn examples() -> Vec<Self> {
        vec![Ones]
    }
}
