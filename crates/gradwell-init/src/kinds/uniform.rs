//! `uniform[:LOW,HIGH]`: U[low, high].

use serde::{Deserialize, Serialize};

use crate::initializer::finite;
use crate::registry::{Drawn, Entry, numbers, print};
use crate::{InitError, Law};

/// U[low, high] (PyTorch's `uniform_(t, a, b)`, default U[0, 1]), any shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Uniform {
    /// The lower bound.
    pub low: f64,
    /// The upper bound, at least `low`.
    pub high: f64,
}

impl Default for Uniform {
    /// PyTorch's default, U[0, 1].
    fn default() -> Self {
        Uniform {
            low: 0.0,
            high: 1.0,
        }
    }
}

impl Drawn for Uniform {
    fn check(&self) -> Result<(), InitError> {
        let low = finite("uniform", "low", self.low)?;
        let high = finite("uniform", "high", self.high)?;
        if high < low {
            let why = "the upper bound must be at least the lower bound";
            return Err(InitError::BadParameter {
                initializer: "uniform",
                parameter: "high",
                value: high,
                why,
            });
        }
        Ok(())
    }
    fn law_for(&self, _shape: &[usize]) -> Result<Law, InitError> {
        Ok(Law::Uniform {
            low: self.low,
            high: self.high,
        })
    }
}

impl Entry for Uniform {
    const NAMES: &'static [&'static str] = &["uniform"];
    const USAGE: &'static str = "uniform[:LOW,HIGH]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        let d = Uniform::default();
        let p = numbers(args, &[d.low, d.high], false)?;
        Ok(Uniform {
            low: p[0],
            high: p[1],
        })
    }
    fn args(&self) -> Vec<String> {
        print(&[self.low, self.high])
    }
    fn examples() -> Vec<Self> {
        vec![
            Uniform::default(),
            Uniform {
                low: -0.3,
                high: 0.5,
            },
        ]
    }
}
