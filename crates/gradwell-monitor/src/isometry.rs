//! [`JacobianSpread`]: how far a network's input-output Jacobian is from dynamical isometry
//! (Saxe et al. 2014, Pennington, Schoenholz and Ganguli 2017): the spread of its singular
//! values at one input, in plain words.

use std::fmt;

use gradwell_autodiff::SingularValues;
use serde::Serialize;

use crate::Thresholds;

/// The singular values of a network's input-output Jacobian at one sample, summarized.
///
/// Dynamical isometry is every singular value near 1: a signal and its gradient keep their
/// size through the network in every direction, which is what lets very deep networks
/// train fast. The verdict uses [`Thresholds::isometry_factor`].
///
/// ```
/// use gradwell_autodiff::SingularValues;
/// use gradwell_monitor::{JacobianSpread, Thresholds};
///
/// let s = SingularValues { values: vec![2.1, 0.3, 3e-5] };
/// let spread = JacobianSpread::of(&s, &Thresholds::default());
/// assert!(!spread.near_isometry);
/// assert!(spread.to_string().starts_with(
///     "the input-output Jacobian's 3 singular values span 3.0e-5 … 2.1 (condition 7.0e4"
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JacobianSpread {
    /// How many singular values (min of the input and output widths).
    pub count: usize,
    /// The largest singular value.
    pub max: f64,
    /// The smallest.
    pub min: f64,
    /// The mean of σ² (1 at isometry).
    pub mean_square: f64,
    /// σ_max / σ_min (∞ when σ_min is 0).
    pub condition: f64,
    /// Whether every singular value lies within `isometry_factor` of 1.
    pub near_isometry: bool,
    /// The factor the verdict used.
    pub isometry_factor: f64,
}

impl JacobianSpread {
    /// The summary of `s`, judged with `thresholds`.
    pub fn of(s: &SingularValues, thresholds: &Thresholds) -> Self {
        let f = thresholds.isometry_factor;
        JacobianSpread {
            count: s.values.len(),
            max: s.max(),
            min: s.min(),
            mean_square: s.mean_square(),
            condition: s.condition(),
            near_isometry: s.max() <= f && s.min() >= 1.0 / f,
            isometry_factor: f,
        }
    }

    /// The input-output Jacobian of `net` at the first sample of `x` (`[batch, features]`)
    /// in evaluation mode, summarized (the `svd` feature, on by default).
    ///
    /// # Errors
    /// An empty batch, a forward pass that fails, or a Jacobian holding NaN or ∞.
    #[cfg(feature = "svd")]
    pub fn measure<F: gradwell_tensor::Float>(
        net: &mut gradwell_nn::Network<F>,
        x: &ndarray::ArrayView2<'_, F>,
        thresholds: &Thresholds,
    ) -> crate::Result<Self> {
        if x.nrows() == 0 {
            return Err(crate::MonitorError::Invalid {
                what: "batch",
                why: "the Jacobian needs at least one sample".into(),
            });
        }
        let sample = x.slice(ndarray::s![0..1, ..]).into_dyn();
        let j = net.jacobian(&sample)?;
        Ok(Self::of(&j.singular_values()?, thresholds))
    }
}

/// Figures like 3.0e-5, 0.12 or 2.1: two significant digits, scientific outside
/// [0.01, 1000).
fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    // Round to two significant digits first, so that 0.99999 prints as 1.0.
    let scale = 10f64.powi(1 - x.abs().log10().floor() as i32);
    let r = (x * scale).round() / scale;
    if (0.01..1000.0).contains(&r.abs()) {
        let digits = (1 - r.abs().log10().floor() as i32).max(0) as usize;
        format!("{r:.digits$}")
    } else {
        format!("{x:.1e}")
    }
}

/// One paragraph: the span, the condition, the mean σ², the verdict and the cure.
impl fmt::Display for JacobianSpread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the input-output Jacobian's {} singular values span {} … {} (condition {}, mean σ² {}): ",
            self.count,
            short(self.min),
            short(self.max),
            short(self.condition),
            short(self.mean_square)
        )?;
        let k = self.isometry_factor;
        if self.near_isometry {
            write!(
                f,
                "near dynamical isometry (every one within a factor {k} of 1): signals and gradients keep their size in every direction"
            )
        } else {
            let trend = if self.max < 1.0 {
                "every direction shrinks: signals and gradients vanish through the network"
            } else if self.min > 1.0 {
                "every direction grows: signals and gradients explode through the network"
            } else {
                "some directions grow and others shrink"
            };
            write!(
                f,
                "far from dynamical isometry (not all within a factor {k} of 1); {trend}. Orthogonal weights with the gain that puts the network at the edge of chaos (χ₁ = 1) keep them near 1 (Pennington et al. 2017)"
            )
        }
    }
}
