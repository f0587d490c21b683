//! `constant:V`: every element one value.

use serde::{Deserialize, Serialize};

use crate::registry::{Drawn, Entry, numbers, print};
use crate::{InitError, Law};

/// Every element set to one value (PyTorch's `constant_`). It breaks no symmetry: every
/// unit of a layer so initialized computes the same function and gets the same gradient,
/// so use it for biases and norm scales, not for weights. Infinite and NaN values are
/// allowed, as in PyTorch: they are not random.
///
/// ```
/// use gradwell_init::{Constant, Initializer};
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let b: ndarray::ArrayD<f64> = Constant::ZEROS.sample(&[4], &mut rng)?;
/// assert!(b.iter().all(|&x| x == 0.0));
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Constant {
    /// The value.
    pub value: f64,
}

impl Constant {
    /// Zeros (`zeros_`).
    pub const ZEROS: Constant = Constant { value: 0.0 };
    /// Ones (`ones_`).
    pub const ONES: Constant = Constant { value: 1.0 };
}

impl Drawn for Constant {
    fn check(&self) -> Result<(), InitError> {
        Ok(())
    }
    fn law_for(&self, _shape: &[usize]) -> Result<Law, InitError> {
        Ok(Law::Constant { value: self.value })
    }
}

impl Entry for Constant {
    const NAMES: &'static [&'static str] = &["constant"];
    const USAGE: &'static str = "constant:V";
    fn from_args(args: &[String]) -> Result<Self, String> {
        Ok(Constant {
            value: numbers(args, &[0.0], true)?[0],
        })
    }
    fn args(&self) -> Vec<String> {
        print(&[self.value])
    }
    fn examples() -> Vec<Self> {
        vec![Constant { value: -0.5 }]
    }
}
