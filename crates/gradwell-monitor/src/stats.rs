//! One-pass statistics of an array, and the per-layer rules for saturated and dead units.

use gradwell_activations::{ActivationInfo, ActivationKind};
use gradwell_tensor::Float;
use ndarray::ArrayViewD;
use serde::{Deserialize, Serialize};

use crate::Thresholds;

/// Statistics of one array, in one pass, accumulated in f64. Minimum, maximum, mean,
/// standard deviation and second moment are over the **finite** elements only (so one NaN
/// does not hide the rest); the non-finite ones are counted in `nan` and `inf`. With no
/// finite element they are 0.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TensorStats {
    /// The number of elements.
    pub len: usize,
    /// The smallest finite element.
    pub min: f64,
    /// The largest finite element.
    pub max: f64,
    /// The mean of the finite elements.
    pub mean: f64,
    /// The (population) standard deviation of the finite elements.
    pub std: f64,
    /// The mean of the squares of the finite elements.
    pub second_moment: f64,
    /// The L2 norm of the finite elements.
    pub l2: f64,
    /// The largest |x| among the finite elements.
    pub max_abs: f64,
    /// The number of elements exactly 0.
    pub zeros: usize,
    /// The number of NaNs.
    pub nan: usize,
    /// The number of infinities (either sign).
    pub inf: usize,
}

impl TensorStats {
    /// The statistics of `a`.
    ///
    /// ```
    /// use gradwell_monitor::TensorStats;
    /// let a = ndarray::array![3.0_f64, -4.0, 0.0, f64::NAN].into_dyn();
    /// let s = TensorStats::of(&a.view());
    /// assert_eq!((s.l2, s.max_abs, s.zeros, s.nan), (5.0, 4.0, 1, 1));
    /// assert!((s.mean - (-1.0 / 3.0)).abs() < 1e-15);
    /// ```
    pub fn of<F: Float>(a: &ArrayViewD<'_, F>) -> Self {
        let mut s = TensorStats {
            len: a.len(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            ..TensorStats::default()
        };
        let (mut sum, mut sq, mut n) = (0.0_f64, 0.0_f64, 0usize);
        let mut visit = |x: f64| {
            if x.is_nan() {
                s.nan += 1;
            } else if x.is_infinite() {
                s.inf += 1;
            } else {
                if x == 0.0 {
                    s.zeros += 1;
                }
                sum += x;
                sq += x * x;
                n += 1;
                s.min = s.min.min(x);
                s.max = s.max.max(x);
            }
        };
        match a.as_slice_memory_order() {
            Some(xs) => xs.iter().for_each(|x| visit(x.as_f64())),
            None => a.iter().for_each(|x| visit(x.as_f64())),
        }
        if n == 0 {
            s.min = 0.0;
            s.max = 0.0;
            return s;
        }
        s.mean = sum / n as f64;
        s.second_moment = sq / n as f64;
        s.std = (s.second_moment - s.mean * s.mean).max(0.0).sqrt();
        s.l2 = sq.sqrt();
        s.max_abs = s.max.abs().max(s.min.abs());
        s
    }

    /// NaNs plus infinities.
    pub fn non_finite(&self) -> usize {
        self.nan + self.inf
    }

    /// The fraction of elements exactly 0 (0 for an empty array).
    pub fn zero_fraction(&self) -> f64 {
        fraction(self.zeros, self.len)
    }
}

pub(crate) fn fraction(count: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

/// The rule deciding whether an output `y` of `activation` is saturated, or `None` for an
/// activation that does not saturate: the activation's own bounds
/// ([`ActivationInfo::saturation`]) with [`Thresholds::saturation_margin`].
pub fn saturation_rule(
    activation: &ActivationKind,
    thresholds: &Thresholds,
) -> Option<Box<dyn Fn(f64) -> bool>> {
    let bounds = activation.saturation();
    let margin = thresholds.saturation_margin;
    bounds
        .exists()
        .then(|| Box::new(move |y| bounds.contains(y, margin)) as Box<dyn Fn(f64) -> bool>)
}

/// Unit-level statistics of a layer output `[batch, units…]`, or of a sequence's
/// `[batch, steps, units]` (a unit is then a feature, the same at every step): the
/// fraction of units that are 0 for every sample (and step) of the batch, and the
/// fraction of outputs for which `saturated` holds (when given).
pub(crate) fn unit_stats<F: Float>(
    y: &ArrayViewD<'_, F>,
    saturated: Option<&dyn Fn(f64) -> bool>,
) -> (f64, Option<f64>) {
    let units = match y.shape() {
        [_, _, features] => *features,
        shape => y.len() / shape.first().copied().unwrap_or(1).max(1),
    };
    let mut alive = vec![false; units];
    let mut sat = 0usize;
    let mut visit = |k: usize, x: f64| {
        if x != 0.0 {
            alive[k % units.max(1)] = true;
        }
        if let Some(f) = saturated
            && f(x)
        {
            sat += 1;
        }
    };
    match y.as_slice() {
        Some(xs) => xs
            .iter()
            .enumerate()
            .for_each(|(k, x)| visit(k, x.as_f64())),
        None => y.iter().enumerate().for_each(|(k, x)| visit(k, x.as_f64())),
    }
    let dead = alive.iter().filter(|a| !**a).count();
    (
        fraction(dead, units),
        saturated.map(|_| fraction(sat, y.len())),
    )
}

/// How far a layer output `[batch, units…]`'s units are from being copies of one another:
/// each unit's output centred over the batch, the spread across the units of each sample's
/// centred outputs, relative to their spread across the samples,
/// √(Σ_b Σ_u (z_bu − z̄_b)² / Σ_b Σ_u z_bu²) with z_bu = y_bu − mean_b y_bu and z̄_b the mean
/// over the units. 0 when every unit computes the same function up to a constant offset
/// (what identical initial weights give), about 1 when the units are independent. `None`
/// with fewer than two samples or two units, a non-finite output, or outputs that do not
/// vary over the batch.
///
/// ```
/// use gradwell_monitor::unit_spread;
/// // Three units, each the same function of the sample plus its own offset.
/// let same = ndarray::array![[1.0_f64, 2.0, 3.0], [2.0, 3.0, 4.0], [4.0, 5.0, 6.0]];
/// assert!(unit_spread(&same.view().into_dyn()).unwrap() < 1e-12);
/// let different = ndarray::array![[1.0_f64, 0.0], [0.0, 1.0]];
/// assert_eq!(unit_spread(&different.view().into_dyn()), Some(1.0));
/// ```
pub fn unit_spread<F: Float>(y: &ArrayViewD<'_, F>) -> Option<f64> {
    let batch = *y.shape().first()?;
    if batch < 2 || y.is_empty() {
        return None;
    }
    let units = y.len() / batch;
    if units < 2 {
        return None;
    }
    let rows = y.to_shape((batch, units)).ok()?;
    let mut mean = vec![0.0_f64; units];
    for row in rows.rows() {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += x.as_f64();
        }
    }
    if mean.iter().any(|m| !m.is_finite()) {
        return None;
    }
    mean.iter_mut().for_each(|m| *m /= batch as f64);
    let (mut across_units, mut total) = (0.0_f64, 0.0_f64);
    let mut z = vec![0.0_f64; units];
    for row in rows.rows() {
        for ((z, x), m) in z.iter_mut().zip(row).zip(&mean) {
            *z = x.as_f64() - m;
        }
        let zbar = z.iter().sum::<f64>() / units as f64;
        across_units += z.iter().map(|z| (z - zbar) * (z - zbar)).sum::<f64>();
        total += z.iter().map(|z| z * z).sum::<f64>();
    }
    (total > 0.0 && total.is_finite()).then(|| (across_units / total).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn a_unit_of_a_sequence_is_a_feature_alive_at_any_step() {
        // [batch 2, steps 2, features 2]: feature 0 is zero at step 0 only, feature 1
        // everywhere.
        let y = array![[[0.0f32, 0.0], [1.0, 0.0]], [[0.0, 0.0], [2.0, 0.0]]].into_dyn();
        assert_eq!(unit_stats(&y.view(), None).0, 0.5);
        let flat = array![[0.0f32, 1.0], [0.0, 0.0]].into_dyn();
        assert_eq!(unit_stats(&flat.view(), None).0, 0.5);
    }
}
