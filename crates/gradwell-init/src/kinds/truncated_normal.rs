//! `trunc-normal[:MEAN,STD,A,B]`: PyTorch's `trunc_normal_`, absolute bounds.

use serde::{Deserialize, Serialize};

use crate::initializer::finite;
use crate::registry::{Drawn, Entry, numbers, print};
use crate::{InitError, Law};

/// N(mean, std²) restricted to **absolute** bounds [a, b], as PyTorch's
/// `trunc_normal_(t, mean, std, a, b)` (defaults 0, 1, −2, 2), written
/// `trunc-normal[:MEAN,STD,A,B]`. The bounds are not multiples of `std`: with `std = 0.02`
/// and the default bounds nothing is cut. For Keras-style truncation at ±2σ with the
/// variance corrected, use
/// [`Distribution::TruncatedNormal`](crate::Distribution::TruncatedNormal). Samples never
/// leave [a, b]; their variance is below std².
///
/// Sampling is by rejection, as PyTorch's since it dropped the inverse-CDF method (which
/// leaked values at the bounds in float32); either bound may be infinite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TruncatedNormal {
    /// The mean of the normal before truncation.
    pub mean: f64,
    /// The standard deviation of the normal before truncation, above 0.
    pub std: f64,
    /// The lower bound, in the samples' own units.
    pub a: f64,
    /// The upper bound, above `a`.
    pub b: f64,
}

impl Default for TruncatedNormal {
    /// PyTorch's defaults: mean 0, std 1, bounds [−2, 2].
    fn default() -> Self {
        TruncatedNormal {
            mean: 0.0,
            std: 1.0,
            a: -2.0,
            b: 2.0,
        }
    }
}

impl Drawn for TruncatedNormal {
    fn check(&self) -> Result<(), InitError> {
        const NAME: &str = "trunc-normal";
        finite(NAME, "mean", self.mean)?;
        let std = finite(NAME, "std", self.std)?;
        let bad = |parameter, value, why| InitError::BadParameter {
            initializer: NAME,
            parameter,
            value,
            why,
        };
        if std <= 0.0 {
            return Err(bad("std", std, "must be above 0"));
        }
        if self.a.is_nan() || self.a == f64::INFINITY {
            return Err(bad("a", self.a, "must be a number below +inf"));
        }
        if self.b.is_nan() || self.b <= self.a {
            return Err(bad("b", self.b, "must be above a"));
        }
        Ok(())
    }
    fn law_for(&self, _shape: &[usize]) -> Result<Law, InitError> {
        Ok(Law::TruncatedNormal {
            mean: self.mean,
            std: self.std,
            a: self.a,
            b: self.b,
        })
    }
}

impl Entry for TruncatedNormal {
    const NAMES: &'static [&'static str] = &["trunc-normal"];
    const USAGE: &'static str = "trunc-normal[:MEAN,STD,A,B]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        let d = TruncatedNormal::default();
        let p = numbers(args, &[d.mean, d.std, d.a, d.b], false)?;
        Ok(TruncatedNormal {
            mean: p[0],
            std: p[1],
            a: p[2],
            b: p[3],
        })
    }
    fn args(&self) -> Vec<String> {
        print(&[self.mean, self.std, self.a, self.b])
    }
    fn examples() -> Vec<Self> {
        // Each regime of the sampler: most of the mass inside, a narrow interval off the
        // mean, a far tail with an infinite side.
        let (mean, std) = (0.5, 1.0);
        vec![
            TruncatedNormal::default(),
            TruncatedNormal {
                mean,
                std,
                a: 2.0,
                b: 4.0,
            },
            TruncatedNormal {
                mean,
                std,
                a: 2.5,
                b: f64::INFINITY,
            },
        ]
    }
}
