//! `eye`: the identity matrix, PyTorch's `eye_`.

use ndarray::ArrayViewMutD;
use num_traits::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::registry::{Entry, no_args};
use crate::{InitError, InitInfo, Initializer, Law};

/// The identity matrix, as PyTorch's `eye_`: ones on the main diagonal, zeros elsewhere;
/// non-square matrices get ones at `(i, i)` for `i < min(rows, cols)`. Matrices only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Eye;

/// Checks that the shape is a matrix's.
fn matrix(shape: &[usize]) -> Result<(), InitError> {
    if shape.len() == 2 {
        Ok(())
    } else {
        let why = "eye needs a 2-D shape";
        Err(InitError::BadShape {
            initializer: "eye",
            shape: shape.to_vec(),
            why,
        })
    }
}

impl InitInfo for Eye {
    fn validate(&self) -> Result<(), InitError> {
        Ok(())
    }

    /// `None`: the elements are not identically distributed.
    fn law(&self, shape: &[usize]) -> Result<Option<Law>, InitError> {
        matrix(shape).map(|()| None)
    }
}

impl Entry for Eye {
    const NAMES: &'static [&'static str] = &["eye"];
    const USAGE: &'static str = "eye";
    fn from_args(args: &[String]) -> Result<Self, String> {
        no_args(Self::NAMES[0], args).map(|()| Eye)
    }
    fn args(&self) -> Vec<String> {
        Vec::new()
    }
    fn examples() -> Vec<Self> {
        vec![Eye]
    }
}

impl<F: Float> Initializer<F> for Eye {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, _rng: &mut dyn RngCore) -> Result<(), InitError> {
        matrix(a.shape())?;
        for (index, x) in a.indexed_iter_mut() {
            *x = if index[0] == index[1] {
                F::one()
            } else {
                F::zero()
            };
        }
        Ok(())
    }
}
