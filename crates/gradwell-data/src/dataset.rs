use std::collections::BTreeSet;

use gradwell_tensor::ClassLabel;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{DataError, Result};
use crate::rng::shuffle;
use crate::transform::Transform;

/// The most classes a data set may have (2^20). It keeps a stray label such as 4294967295
/// in a small file from implying billions of classes, and the per-class tables that
/// follow from them.
pub const MAX_CLASSES: usize = 1 << 20;

/// Where labels read without a declared number of classes skip a class: the first label
/// above the first class with no sample, where it first appears, and the classes missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LabelGap {
    /// The first label above the gap.
    pub label: ClassLabel,
    /// Its first position in `labels`.
    pub index: usize,
    /// The first and last class with no sample.
    pub missing: (ClassLabel, ClassLabel),
}

/// The first gap in `labels` when the classes are the labels present: `None` when they are
/// exactly 0 to C − 1, each with a sample. A stray label such as 1000000 among digits would
/// otherwise make a million classes, and a model with a million outputs.
pub(crate) fn first_label_gap(labels: &[ClassLabel]) -> Option<LabelGap> {
    let present: BTreeSet<ClassLabel> = labels.iter().copied().collect();
    let mut next: ClassLabel = 0;
    for &label in &present {
        if label != next {
            let index = labels.iter().position(|&l| l == label)?;
            return Some(LabelGap {
                label,
                index,
                missing: (next, label - 1),
            });
        }
        next = label.checked_add(1)?;
    }
    None
}

/// A labelled data set for classification: one row of `f32` features per sample, one class
/// index per sample, and what is known about them.
///
/// The fields are checked once, by [`Dataset::new`]: as many labels as rows, every label
/// below the number of classes, a feature shape whose size is the number of columns. They
/// stay private so that nothing breaks that afterwards.
///
/// ```
/// use gradwell_data::Dataset;
/// use ndarray::array;
///
/// let ds = Dataset::new("xor", array![[0., 0.], [0., 1.], [1., 0.], [1., 1.]], vec![0, 1, 1, 0], 2)?;
/// assert_eq!((ds.len(), ds.num_features(), ds.num_classes()), (4, 2, 2));
/// assert_eq!(ds.class_counts(), vec![2, 2]);
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    name: String,
    features: Array2<f32>,
    labels: Vec<ClassLabel>,
    num_classes: usize,
    feature_shape: Vec<usize>,
    class_names: Option<Vec<String>>,
    value_range: Option<(f32, f32)>,
}

/// A training set and a test set that a source ships separately (MNIST, Fashion-MNIST), or
/// that [`Dataset::split`] made.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The part to learn from.
    pub train: Dataset,
    /// The held-out part.
    pub test: Dataset,
}

impl Split {
    /// Applies one transform to both parts (fit it on `train` first: see [`Transform`]).
    pub fn apply(&mut self, transform: &Transform) -> Result<()> {
        transform.apply_to(&mut self.train)?;
        transform.apply_to(&mut self.test)
    }
}

impl Dataset {
    /// A data set from features (`samples × features`), labels and the number of classes.
    /// The feature shape is `[features]`; see [`Dataset::with_feature_shape`] for images.
    ///
    /// Errors if the label count differs from the row count, if a label is negative or
    /// not below `num_classes`, or if `num_classes` is 0 or above [`MAX_CLASSES`].
    pub fn new(
        name: impl Into<String>,
        features: Array2<f32>,
        labels: Vec<ClassLabel>,
        num_classes: usize,
    ) -> Result<Self> {
        const CTX: &str = "Dataset::new";
        let name = name.into();
        if labels.len() != features.nrows() {
            return Err(DataError::invalid(
                CTX,
                format!(
                    "{name}: {} labels for {} rows",
                    labels.len(),
                    features.nrows()
                ),
            ));
        }
        if num_classes == 0 || num_classes > MAX_CLASSES {
            return Err(DataError::invalid(
                CTX,
                format!("{name}: {num_classes} classes is not in 1..={MAX_CLASSES}"),
            ));
        }
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| l < 0 || l as usize >= num_classes)
        {
            let why = if l < 0 {
                "is negative".to_string()
            } else {
                format!("is not below {num_classes} classes")
            };
            return Err(DataError::invalid(
                CTX,
                format!("{name}: label {l} of sample {i} {why}"),
            ));
        }
        let feature_shape = vec![features.ncols()];
        Ok(Dataset {
            name,
            features,
            labels,
            num_classes,
            feature_shape,
            class_names: None,
            value_range: None,
        })
    }

    /// Sets the shape of one sample (e.g. `[28, 28]`); its product must be the number of
    /// feature columns.
    pub fn with_feature_shape(mut self, shape: Vec<usize>) -> Result<Self> {
        let size = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if size != Some(self.num_features()) {
            return Err(DataError::invalid(
                "Dataset::with_feature_shape",
                format!(
                    "{}: shape {shape:?} does not hold {} features",
                    self.name,
                    self.num_features()
                ),
            ));
        }
        self.feature_shape = shape;
        Ok(self)
    }

    /// Names the classes; there must be one name per class.
    pub fn with_class_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if names.len() != self.num_classes {
            return Err(DataError::invalid(
                "Dataset::with_class_names",
                format!(
                    "{}: {} names for {} classes",
                    self.name,
                    names.len(),
                    self.num_classes
                ),
            ));
        }
        self.class_names = Some(names);
        Ok(self)
    }

    /// Records the range the source defines its values on (e.g. `(0.0, 16.0)` for the
    /// digits' pixel counts, `(0.0, 255.0)` for IDX bytes), which [`Transform::unit_range`]
    /// uses. Errors unless `lo < hi` and both are finite.
    pub fn with_value_range(mut self, lo: f32, hi: f32) -> Result<Self> {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(DataError::invalid(
                "Dataset::with_value_range",
                format!(
                    "{}: ({lo}, {hi}) is not a finite range with lo < hi",
                    self.name
                ),
            ));
        }
        self.value_range = Some((lo, hi));
        Ok(self)
    }

    /// The data set's name, e.g. `"digits"` or `"fashion-mnist/train"`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of features per sample (columns).
    pub fn num_features(&self) -> usize {
        self.features.ncols()
    }

    /// Number of classes; every label is below it.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// The features, `samples × features`.
    pub fn features(&self) -> ArrayView2<'_, f32> {
        self.features.view()
    }

    /// The features as a mutable view (values can change, the shape cannot).
    pub fn features_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        self.features.view_mut()
    }

    /// The class index of each sample.
    pub fn labels(&self) -> &[ClassLabel] {
        &self.labels
    }

    /// The shape of one sample, e.g. `[8, 8]`; its product is [`Dataset::num_features`].
    pub fn feature_shape(&self) -> &[usize] {
        &self.feature_shape
    }

    /// The class names, when the source has them.
    pub fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }

    /// The range the source defines its values on, when known (it is cleared by transforms
    /// that do not map it to a known range).
    pub fn value_range(&self) -> Option<(f32, f32)> {
        self.value_range
    }

    pub(crate) fn set_value_range(&mut self, range: Option<(f32, f32)>) {
        self.value_range = range;
    }

    /// Consumes the data set, giving its features and labels.
    pub fn into_parts(self) -> (Array2<f32>, Vec<ClassLabel>) {
        (self.features, self.labels)
    }

    /// How many samples each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The samples at `indices`, in that order, as a new data set with the same classes,
    /// shape and names. `suffix` is appended to the name after a `/`.
    pub fn subset(&self, indices: &[usize], suffix: &str) -> Result<Dataset> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::invalid(
                "Dataset::subset",
                format!(
                    "{}: index {bad} is out of range for {} samples",
                    self.name,
                    self.len()
                ),
            ));
        }
        Ok(Dataset {
            name: format!("{}/{suffix}", self.name),
            features: self.features.select(Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            num_classes: self.num_classes,
            feature_shape: self.feature_shape.clone(),
            class_names: self.class_names.clone(),
            value_range: self.value_range,
        })
    }

    /// Splits off a held-out part (a validation or test set) of `fraction` of the samples,
    /// chosen by a ChaCha8 RNG seeded with `seed`, so that one seed always gives the same
    /// split.
    ///
    /// With `stratified`, each class contributes `round(fraction × its count)` samples, so
    /// both parts keep the class proportions. Both parts keep the original order of their
    /// samples. The held-out part is [`Split::test`] (named `<name>/test`); the rest is
    /// [`Split::train`].
    ///
    /// Errors unless `0 < fraction < 1` and both parts end up non-empty.
    ///
    /// ```
    /// use gradwell_data::digits;
    ///
    /// let split = digits()?.split(0.2, 7, true)?;
    /// assert_eq!(split.train.len() + split.test.len(), 1797);
    /// assert_eq!(split, digits()?.split(0.2, 7, true)?); // same seed, same split
    /// # Ok::<(), gradwell_data::DataError>(())
    /// ```
    pub fn split(&self, fraction: f64, seed: u64, stratified: bool) -> Result<Split> {
        const CTX: &str = "Dataset::split";
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(DataError::invalid(
                CTX,
                format!("fraction {fraction} is not in (0, 1)"),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut held = vec![false; self.len()];
        let groups: Vec<Vec<usize>> = if stratified {
            let mut by_class = vec![Vec::new(); self.num_classes];
            for (i, &l) in self.labels.iter().enumerate() {
                by_class[l as usize].push(i);
            }
            by_class
        } else {
            vec![(0..self.len()).collect()]
        };
        for mut group in groups {
            shuffle(&mut group, &mut rng);
            let take = (fraction * group.len() as f64).round() as usize;
            for &i in &group[..take] {
                held[i] = true;
            }
        }
        let (test_idx, train_idx): (Vec<usize>, Vec<usize>) =
            (0..self.len()).partition(|&i| held[i]);
        if test_idx.is_empty() || train_idx.is_empty() {
            return Err(DataError::invalid(
                CTX,
                format!(
                    "{}: fraction {fraction} of {} samples leaves a part empty",
                    self.name,
                    self.len()
                ),
            ));
        }
        Ok(Split {
            train: self.subset(&train_idx, "train")?,
            test: self.subset(&test_idx, "test")?,
        })
    }
}
