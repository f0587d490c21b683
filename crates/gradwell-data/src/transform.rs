use ndarray::{ArrayView2, ArrayViewMut2, Axis, Zip};
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{DataError, Result};

/// The default floor under a fitted standard deviation: Keras's `Normalization` layer
/// divides by `max(std, epsilon)` with `epsilon = 1e-7`, and so does
/// [`Transform::fit_standardize`] with this floor. A constant feature then maps to 0
/// instead of dividing by zero.
pub const DEFAULT_STD_FLOOR: f32 = 1e-7;

/// A fitted, serializable transform of feature values.
///
/// Fit it on the training set, then apply the same transform to the training and the test
/// set (fitting on the test set would leak it into training). It is plain data, so it can
/// be saved with a model (serde, tagged by `kind`) and applied to new inputs later.
///
/// ```
/// use gradwell_data::{digits, Transform, DEFAULT_STD_FLOOR};
///
/// let mut split = digits()?.split(0.2, 1, true)?;
/// let standardize = Transform::fit_standardize(split.train.features(), DEFAULT_STD_FLOOR)?;
/// split.apply(&standardize)?;
/// // Every feature of the training set now has mean 0 (up to rounding).
/// let means = split.train.features().mean_axis(ndarray::Axis(0)).unwrap();
/// assert!(means.iter().all(|m| m.abs() < 1e-4));
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transform {
    /// `x ↦ x · factor` for every value.
    Scale {
        /// The factor.
        factor: f32,
    },
    /// `x ↦ (x − min[j]) / range[j]` for feature `j`: the fitted data land in `[0, 1]`.
    MinMax {
        /// Per-feature minimum.
        min: Vec<f32>,
        /// Per-feature `max − min`; 1 for a constant feature.
        range: Vec<f32>,
    },
    /// `x ↦ (x − mean[j]) / std[j]` for feature `j`: the fitted data get mean 0 and
    /// standard deviation 1 (population standard deviation, as PyTorch's and Keras's
    /// normalization compute it).
    Standardize {
        /// Per-feature mean.
        mean: Vec<f32>,
        /// Per-feature standard deviation, at least the floor it was fitted with.
        std: Vec<f32>,
    },
}

impl Transform {
    /// Multiplies every value by `factor` (finite, non-zero).
    pub fn scale(factor: f32) -> Result<Transform> {
        if !factor.is_finite() || factor == 0.0 {
            return Err(DataError::invalid(
                "Transform::scale",
                format!("factor {factor} is not finite and non-zero"),
            ));
        }
        Ok(Transform::Scale { factor })
    }

    /// Divides every value by `max` (e.g. 255 for IDX pixels, 16 for the digits).
    pub fn divide_by(max: f32) -> Result<Transform> {
        if !max.is_finite() || max <= 0.0 {
            return Err(DataError::invalid(
                "Transform::divide_by",
                format!("{max} is not a finite positive divisor"),
            ));
        }
        Self::scale(1.0 / max)
    }

    /// Maps the range the source defines its values on ([`Dataset::value_range`]) onto
    /// `[0, 1]`, the same for every feature; errors if the range is not known.
    pub fn unit_range(ds: &Dataset) -> Result<Transform> {
        let Some((lo, hi)) = ds.value_range() else {
            return Err(DataError::invalid(
                "Transform::unit_range",
                format!(
                    "{}: the value range is not known; use fit_min_max",
                    ds.name()
                ),
            ));
        };
        let n = ds.num_features();
        Ok(Transform::MinMax {
            min: vec![lo; n],
            range: vec![hi - lo; n],
        })
    }

    /// Fits per-feature minimum and range on `features` (at least one row).
    pub fn fit_min_max(features: ArrayView2<'_, f32>) -> Result<Transform> {
        check_rows("Transform::fit_min_max", &features)?;
        let mut min = Vec::with_capacity(features.ncols());
        let mut range = Vec::with_capacity(features.ncols());
        for col in features.axis_iter(Axis(1)) {
            let lo = col.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = col.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            min.push(lo);
            range.push(if hi > lo { hi - lo } else { 1.0 });
        }
        Ok(Transform::MinMax { min, range })
    }

    /// Fits per-feature mean and standard deviation on `features` (at least one row),
    /// accumulating in `f64`; a standard deviation below `floor` (finite, positive; see
    /// [`DEFAULT_STD_FLOOR`]) is raised to it.
    pub fn fit_standardize(features: ArrayView2<'_, f32>, floor: f32) -> Result<Transform> {
        const CTX: &str = "Transform::fit_standardize";
        check_rows(CTX, &features)?;
        check_floor(CTX, floor)?;
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for col in features.axis_iter(Axis(1)) {
            let (m, s) = moments(col.iter());
            mean.push(m as f32);
            std.push((s as f32).max(floor));
        }
        Ok(Transform::Standardize { mean, std })
    }

    /// Fits one mean and one standard deviation over all values of `features` (as the
    /// usual MNIST recipe's `Normalize((0.1307,), (0.3081,))` does), used for every
    /// feature; `floor` as in [`Transform::fit_standardize`].
    pub fn fit_standardize_global(features: ArrayView2<'_, f32>, floor: f32) -> Result<Transform> {
        const CTX: &str = "Transform::fit_standardize_global";
        check_rows(CTX, &features)?;
        check_floor(CTX, floor)?;
        let (m, s) = moments(features.iter());
        let n = features.ncols();
        Ok(Transform::Standardize {
            mean: vec![m as f32; n],
            std: vec![(s as f32).max(floor); n],
        })
    }

    /// The number of features the transform was fitted on (`None` for [`Transform::Scale`],
    /// which fits any).
    pub fn num_features(&self) -> Option<usize> {
        match self {
            Transform::Scale { .. } => None,
            Transform::MinMax { min, .. } => Some(min.len()),
            Transform::Standardize { mean, .. } => Some(mean.len()),
        }
    }

    /// Checks that the transform is well formed (it may come from a file) and fits `ncols`
    /// features.
    fn check(&self, ncols: usize) -> Result<()> {
        const CTX: &str = "Transform::apply";
        let (shift, div) = match self {
            Transform::Scale { factor } => {
                return if factor.is_finite() && *factor != 0.0 {
                    Ok(())
                } else {
                    Err(DataError::invalid(
                        CTX,
                        format!("scale factor {factor} is not usable"),
                    ))
                };
            }
            Transform::MinMax { min, range } => (min, range),
            Transform::Standardize { mean, std } => (mean, std),
        };
        if shift.len() != ncols || div.len() != ncols {
            return Err(DataError::invalid(
                CTX,
                format!(
                    "fitted on {} and {} values, applied to {ncols} features",
                    shift.len(),
                    div.len()
                ),
            ));
        }
        if let Some(j) =
            (0..ncols).find(|&j| !(shift[j].is_finite() && div[j].is_finite() && div[j] > 0.0))
        {
            return Err(DataError::invalid(
                CTX,
                format!(
                    "feature {j}: offset {} and divisor {} are not usable",
                    shift[j], div[j]
                ),
            ));
        }
        Ok(())
    }

    /// Applies the transform in place to `features` (`samples × features`).
    pub fn apply(&self, mut features: ArrayViewMut2<'_, f32>) -> Result<()> {
        self.check(features.ncols())?;
        match self {
            Transform::Scale { factor } => features.mapv_inplace(|x| x * factor),
            Transform::MinMax {
                min: shift,
                range: div,
            }
            | Transform::Standardize {
                mean: shift,
                std: div,
            } => {
                for mut row in features.rows_mut() {
                    Zip::from(&mut row)
                        .and(&ndarray::aview1(shift))
                        .and(&ndarray::aview1(div))
                        .for_each(|x, &s, &d| *x = (*x - s) / d);
                }
            }
        }
        Ok(())
    }

    /// Applies the transform in place to a data set's features, and updates its
    /// [`Dataset::value_range`] (kept where the transform maps it to a known range, cleared
    /// otherwise).
    pub fn apply_to(&self, ds: &mut Dataset) -> Result<()> {
        self.apply(ds.features_mut())?;
        let range = ds.value_range().and_then(|(lo, hi)| match self {
            Transform::Scale { factor } => {
                let (a, b) = (lo * factor, hi * factor);
                Some((a.min(b), a.max(b)))
            }
            Transform::MinMax { min, range } => {
                let uniform =
                    min.iter().all(|&m| m == min[0]) && range.iter().all(|&r| r == range[0]);
                (uniform && !min.is_empty())
                    .then(|| ((lo - min[0]) / range[0], (hi - min[0]) / range[0]))
            }
            Transform::Standardize { .. } => None,
        });
        ds.set_value_range(range.filter(|(lo, hi)| lo < hi));
        Ok(())
    }
}

fn check_rows(ctx: &'static str, features: &ArrayView2<'_, f32>) -> Result<()> {
    if features.nrows() == 0 {
        return Err(DataError::invalid(ctx, "cannot fit on zero samples"));
    }
    if features.iter().any(|x| !x.is_finite()) {
        return Err(DataError::invalid(ctx, "cannot fit on non-finite values"));
    }
    Ok(())
}

fn check_floor(ctx: &'static str, floor: f32) -> Result<()> {
    if floor.is_finite() && floor > 0.0 {
        Ok(())
    } else {
        Err(DataError::invalid(
            ctx,
            format!("floor {floor} is not finite and positive"),
        ))
    }
}

/// Mean and population standard deviation, two-pass in `f64`.
fn moments<'a>(values: impl Iterator<Item = &'a f32> + Clone) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0.0f64);
    for &v in values.clone() {
        n += 1;
        sum += f64::from(v);
    }
    let mean = sum / n as f64;
    let var = values.map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n as f64;
    (mean, var.sqrt())
}
