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

/// What the samples of a data set are labelled with ([`Dataset::target_kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// One class label per sample (classification): [`Dataset::new`].
    Class,
    /// One class label per step of a sequence, `steps` labels per sample
    /// ([`Dataset::per_step`]). Every step counts in the loss; steps whose label is
    /// `blank` do not count in the accuracy (in the copy task, the accuracy is then that of
    /// the recall steps).
    StepClass {
        /// Labels per sample.
        steps: usize,
        /// The label of steps that do not count in the accuracy, if any.
        blank: Option<ClassLabel>,
    },
    /// `width` real values per sample (regression, [`Dataset::regression`]).
    Value {
        /// Values per sample.
        width: usize,
    },
}

/// A data set: one row of `f32` features per sample, its targets (a class index per
/// sample, a class index per step of a sequence, or real values: [`TargetKind`]), and what
/// is known about them.
///
/// The fields are checked once, by [`Dataset::new`], [`Dataset::per_step`] or
/// [`Dataset::regression`]: as many targets as rows, every label below the number of
/// classes, a feature shape whose size is the number of columns. They stay private so that
/// nothing breaks that afterwards.
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
    /// One label per sample ([`TargetKind::Class`]), `steps` per sample, sample after
    /// sample ([`TargetKind::StepClass`]), or none ([`TargetKind::Value`]).
    labels: Vec<ClassLabel>,
    /// `samples × width` for [`TargetKind::Value`], `samples × 0` otherwise.
    values: Array2<f32>,
    kind: TargetKind,
    num_classes: usize,
    feature_shape: Vec<usize>,
    class_names: Option<Vec<String>>,
    value_range: Option<(f32, f32)>,
    /// Whether each sample is a sequence (feature shape `[steps, features per step]`).
    sequence: bool,
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
        let rows = features.nrows();
        Self::with_labels(
            name.into(),
            features,
            labels,
            rows,
            num_classes,
            TargetKind::Class,
        )
    }

    /// A data set of sequences labelled step by step: `labels` holds one row of `steps`
    /// class labels per sample (`samples × steps`), each below `num_classes`; steps
    /// labelled `blank` count in the loss but not in the accuracy ([`TargetKind::StepClass`]).
    /// The feature shape is `[features]`; set `[steps, per_step]` with
    /// [`Dataset::with_feature_shape`].
    ///
    /// ```
    /// use gradwell_data::{Dataset, TargetKind};
    /// use ndarray::array;
    ///
    /// let ds = Dataset::per_step("echo", array![[0., 1.], [1., 1.]], array![[0, 1], [1, 1]], 2, None)?;
    /// assert_eq!(ds.target_kind(), TargetKind::StepClass { steps: 2, blank: None });
    /// assert_eq!(ds.labels(), &[0, 1, 1, 1]);
    /// # Ok::<(), gradwell_data::DataError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Dataset::new`] (the sample and step of a bad label named), a row count that
    /// differs from the features', no step, or a `blank` that is not a class.
    pub fn per_step(
        name: impl Into<String>,
        features: Array2<f32>,
        labels: Array2<ClassLabel>,
        num_classes: usize,
        blank: Option<ClassLabel>,
    ) -> Result<Self> {
        let name = name.into();
        let (rows, steps) = labels.dim();
        if rows != features.nrows() || steps == 0 {
            return Err(DataError::invalid(
                "Dataset::per_step",
                format!(
                    "{name}: labels of {rows} samples × {steps} steps for {} rows of features",
                    features.nrows()
                ),
            ));
        }
        if let Some(b) = blank
            && (b < 0 || b as usize >= num_classes)
        {
            return Err(DataError::invalid(
                "Dataset::per_step",
                format!("{name}: the blank label {b} is not one of {num_classes} classes"),
            ));
        }
        let flat: Vec<ClassLabel> = labels.iter().copied().collect();
        let kind = TargetKind::StepClass { steps, blank };
        Self::with_labels(name, features, flat, rows * steps, num_classes, kind)
    }

    /// A data set for regression: `values` holds one row of real targets per sample
    /// (`samples × width`, finite). It has no classes ([`Dataset::num_classes`] is 0).
    ///
    /// ```
    /// use gradwell_data::{Dataset, TargetKind};
    /// use ndarray::array;
    ///
    /// let ds = Dataset::regression("sum", array![[0.25, 0.5], [1., 1.]], array![[0.75], [2.]])?;
    /// assert_eq!((ds.len(), ds.target_kind(), ds.num_outputs()), (2, TargetKind::Value { width: 1 }, 1));
    /// # Ok::<(), gradwell_data::DataError>(())
    /// ```
    ///
    /// # Errors
    /// A row count that differs from the features', no value per sample, or a value that
    /// is not finite (naming the sample).
    pub fn regression(
        name: impl Into<String>,
        features: Array2<f32>,
        values: Array2<f32>,
    ) -> Result<Self> {
        const CTX: &str = "Dataset::regression";
        let name = name.into();
        let (rows, width) = values.dim();
        if rows != features.nrows() || width == 0 {
            return Err(DataError::invalid(
                CTX,
                format!(
                    "{name}: targets of {rows} samples × {width} values for {} rows of features",
                    features.nrows()
                ),
            ));
        }
        if let Some((i, v)) = values
            .rows()
            .into_iter()
            .enumerate()
            .find_map(|(i, r)| r.iter().find(|v| !v.is_finite()).map(|&v| (i, v)))
        {
            return Err(DataError::invalid(
                CTX,
                format!("{name}: target {v} of sample {i} is not finite"),
            ));
        }
        let feature_shape = vec![features.ncols()];
        Ok(Dataset {
            name,
            features,
            labels: Vec::new(),
            values,
            kind: TargetKind::Value { width },
            num_classes: 0,
            feature_shape,
            class_names: None,
            value_range: None,
            sequence: false,
        })
    }

    /// Checks `labels` (`expected` of them, each a class) and builds the data set.
    fn with_labels(
        name: String,
        features: Array2<f32>,
        labels: Vec<ClassLabel>,
        expected: usize,
        num_classes: usize,
        kind: TargetKind,
    ) -> Result<Self> {
        const CTX: &str = "Dataset::new";
        if labels.len() != expected {
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
        let steps = match kind {
            TargetKind::StepClass { steps, .. } => steps,
            TargetKind::Class | TargetKind::Value { .. } => 1,
        };
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
            let at = if steps > 1 {
                format!("sample {}, step {}", i / steps, i % steps)
            } else {
                format!("sample {i}")
            };
            return Err(DataError::invalid(
                CTX,
                format!("{name}: label {l} of {at} {why}"),
            ));
        }
        let feature_shape = vec![features.ncols()];
        let values = Array2::zeros((features.nrows(), 0));
        Ok(Dataset {
            name,
            features,
            labels,
            values,
            kind,
            num_classes,
            feature_shape,
            class_names: None,
            value_range: None,
            sequence: false,
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

    /// Marks each sample as a sequence of `steps` steps of `features / steps` values (the
    /// feature shape becomes `[steps, features per step]`), what recurrent models take.
    ///
    /// # Errors
    /// `steps` of 0 or that does not divide the number of features.
    pub fn into_sequences(self, steps: usize) -> Result<Self> {
        let per_step = match steps {
            0 => None,
            s => Some(self.num_features() / s).filter(|p| p * s == self.num_features() && *p > 0),
        };
        let Some(per_step) = per_step else {
            return Err(DataError::invalid(
                "Dataset::into_sequences",
                format!(
                    "{}: {} features per sample do not make sequences of {steps} steps",
                    self.name,
                    self.num_features()
                ),
            ));
        };
        let mut ds = self.with_feature_shape(vec![steps, per_step])?;
        ds.sequence = true;
        Ok(ds)
    }

    /// Whether each sample is a sequence, of feature shape `[steps, features per step]`
    /// ([`Dataset::into_sequences`]; the built-in sequence tasks are).
    pub fn is_sequence(&self) -> bool {
        self.sequence
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
        self.features.nrows()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.features.nrows() == 0
    }

    /// What the samples are labelled with.
    pub fn target_kind(&self) -> TargetKind {
        self.kind
    }

    /// The width of the output a model needs for these targets: the number of classes
    /// (per sample or per step), or the number of values per sample.
    pub fn num_outputs(&self) -> usize {
        match self.kind {
            TargetKind::Class | TargetKind::StepClass { .. } => self.num_classes,
            TargetKind::Value { width } => width,
        }
    }

    /// The real targets, `samples × width` ([`TargetKind::Value`]; `samples × 0` for
    /// class labels).
    pub fn values(&self) -> ArrayView2<'_, f32> {
        self.values.view()
    }

    /// Number of features per sample (columns).
    pub fn num_features(&self) -> usize {
        self.features.ncols()
    }

    /// Number of classes; every label is below it (0 for real targets).
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

    /// The class index of each sample; for [`TargetKind::StepClass`], of each step, sample
    /// after sample (`steps` per sample); empty for [`TargetKind::Value`].
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

    /// How many samples (for [`TargetKind::StepClass`], steps) each class has.
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
        let per = match self.kind {
            TargetKind::Class => 1,
            TargetKind::StepClass { steps, .. } => steps,
            TargetKind::Value { .. } => 0,
        };
        Ok(Dataset {
            name: format!("{}/{suffix}", self.name),
            features: self.features.select(Axis(0), indices),
            labels: indices
                .iter()
                .flat_map(|&i| self.labels[i * per..(i + 1) * per].iter().copied())
                .collect(),
            values: self.values.select(Axis(0), indices),
            kind: self.kind,
            num_classes: self.num_classes,
            feature_shape: self.feature_shape.clone(),
            class_names: self.class_names.clone(),
            value_range: self.value_range,
            sequence: self.sequence,
        })
    }

    /// Splits off a held-out part (a validation or test set) of `fraction` of the samples,
    /// chosen by a ChaCha8 RNG seeded with `seed`, so that one seed always gives the same
    /// split.
    ///
    /// With `stratified`, each class contributes `round(fraction × its count)` samples, so
    /// both parts keep the class proportions; targets other than one class per sample
    /// ([`TargetKind`]) have no class per sample, and are split as a whole. Both parts keep the original order of their
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
        let groups: Vec<Vec<usize>> = if stratified && self.kind == TargetKind::Class {
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
