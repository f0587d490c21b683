//! The class-label type shared by the data sets and the tape.

/// A class label: the index of a class, signed like PyTorch's `int64` targets so that a
/// negative `ignore_index` (PyTorch's default is [`DEFAULT_IGNORE_INDEX`], −100) can be
/// passed alongside real labels.
///
/// Data sets hold labels of this type (always `0..classes`; a negative label in a file is
/// an error there), and `Tape::labels` of gradwell-autodiff takes them.
///
/// ```
/// use gradwell_tensor::{ClassLabel, DEFAULT_IGNORE_INDEX};
///
/// let labels: [ClassLabel; 3] = [2, DEFAULT_IGNORE_INDEX, 0];
/// assert_eq!(labels.iter().filter(|&&l| l != DEFAULT_IGNORE_INDEX).count(), 2);
/// ```
pub type ClassLabel = i64;

/// PyTorch's default `ignore_index` of `cross_entropy` and `nll_loss`: a target equal to
/// it contributes neither loss nor gradient.
///
/// ```
/// assert_eq!(gradwell_tensor::DEFAULT_IGNORE_INDEX, -100);
/// ```
pub const DEFAULT_IGNORE_INDEX: ClassLabel = -100;
