//! `normal[:MEAN,STD]`: N(mean, std²).

use serde::{Deserialize, Serialize};

use crate::initializer::finite;
use crate::registry::{Drawn, Entry, numbers, print};
use crate::{InitError, Law};

/// N(mean, std²), untruncated (PyTorch's `normal_(t, mean, std)`, default N(0, 1)), any
/// shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normal {
    /// The mean.
    pub mean: f64,
    /// The standard deviation, at least 0.
    pub std: f64,
}

impl Default for Normal {
    /// PyTorch's default, N(0, 1).
    fn default() -> Self {
        Normal {
            mean: 0.0,
            std: 1.0,
        }
    }
}

impl Drawn for Normal {
    fn check(&self) -> Result<(), InitError> {
        finite("normal", "mean", self.mean)?;
        let std = finite("normal", "std", self.std)?;
        if std < 0.0 {
            let why = "a standard deviation must be at least 0";
            return Err(InitError::BadParameter {
                initializer: "normal",
                parameter: "std",
                value: std,
                why,
            });
        }
        Ok(())
    }
    fn law_for(&self, _shape: &[usize]) -> Result<Law, InitError> {
        Ok(Law::Normal {
            mean: self.mean,
            std: self.std,
        })
    }
}

impl Entry for Normal {
    const NAMES: &'static [&'static str] = &["normal"];
    const USAGE: &'static str = "normal[:MEAN,STD]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        let d = Normal::default();
        let p = numbers(args, &[d.mean, d.std], false)?;
        Ok(Normal {
            mean: p[0],
            std: p[1],
        })
    }
    fn args(&self) -> Vec<String> {
        print(&[self.mean, self.std])
    }
    fn examples() -> Vec<Self> {
        vec![
            Normal::default(),
            Normal {
                mean: 0.1,
                std: 0.02,
            },
        ]
    }
}
