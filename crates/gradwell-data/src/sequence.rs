//! Built-in sequence tasks for recurrent networks, reproducible from a seed, with the
//! sequence length as the knob: the adding problem ([`adding`]) and the copy task
//! ([`copy`]), both of Hochreiter & Schmidhuber (1997) in the form of Le et al. (2015) and
//! Arjovsky et al. (2016). Each comes with the loss of the trivial answer a model that has
//! learnt nothing across time settles at ([`ADDING_BASELINE_MSE`],
//! [`copy_baseline_cross_entropy`]).
//!
//! The draws use only the raw output of a ChaCha8 RNG, as the rest of the crate's.

use ndarray::{Array2, Array3};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use crate::rng::{below, uniform};

/// The mean squared error of always predicting 1 on the adding problem, 1/6 ≈ 0.167: the
/// target is the sum of two independent U(0, 1) values, of mean 1 and variance 2/12. A
/// model stuck there has learnt nothing across time.
pub const ADDING_BASELINE_MSE: f64 = 1.0 / 6.0;

/// Symbols the copy task asks to remember.
pub const COPY_SYMBOLS: usize = 10;

/// The alphabet the copy task's symbols are drawn from (classes 0 to 7).
pub const COPY_ALPHABET: usize = 8;

/// The copy task's blank (class 8): the input between the symbols and the delimiter, and
/// the target of every step but the last [`COPY_SYMBOLS`].
pub const COPY_BLANK: i64 = 8;

/// The copy task's delimiter (class 9), the input that asks for the symbols back.
pub const COPY_DELIMITER: i64 = 9;

/// The copy task's categories (inputs one-hot over them, targets among them): the
/// alphabet, the blank and the delimiter.
pub const COPY_CLASSES: usize = COPY_ALPHABET + 2;

/// The mean cross-entropy per step of the copy task's trivial answer on a delay of
/// `steps`: blank with certainty wherever the target is blank, and a uniform guess among
/// the [`COPY_ALPHABET`] symbols on the [`COPY_SYMBOLS`] recall steps, `10·ln 8 / (T + 20)`.
///
/// ```
/// let b = gradwell_data::sequence::copy_baseline_cross_entropy(100);
/// assert!((b - 10.0 * 8f64.ln() / 120.0).abs() < 1e-12);
/// ```
pub fn copy_baseline_cross_entropy(steps: usize) -> f64 {
    COPY_SYMBOLS as f64 * (COPY_ALPHABET as f64).ln() / (steps + 2 * COPY_SYMBOLS) as f64
}

/// Training sequences of a built-in task unless the name says otherwise.
pub const DEFAULT_SEQUENCES: usize = 4000;

/// The seed of a built-in task's sequences unless the name says otherwise.
pub const DEFAULT_SEQUENCE_SEED: u64 = 0;

/// The test set of a built-in task has one sequence for every this many training ones
/// (at least one), drawn from another stream of the same seed.
pub const TEST_SEQUENCES_RATIO: usize = 4;

/// The longest sequence a built-in task makes (its length is the knob, not a file's).
pub const MAX_SEQUENCE_STEPS: usize = 100_000;

/// The most sequences a built-in task makes.
pub const MAX_SEQUENCES: usize = 1_000_000;

/// The ChaCha stream of the training part (the test part draws from stream 1).
pub(crate) const TRAIN_STREAM: u64 = 0;

/// The ChaCha stream of the test part.
pub(crate) const TEST_STREAM: u64 = 1;

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Checks the length and count of a built-in task, and that their features fit memory.
fn check(task: &str, steps: usize, min_steps: usize, samples: usize) -> Result<()> {
    if !(min_steps..=MAX_SEQUENCE_STEPS).contains(&steps) {
        return Err(DataError::invalid(
            "sequence task",
            format!(
                "{task}: a length of {steps} steps is not in {min_steps}..={MAX_SEQUENCE_STEPS}"
            ),
        ));
    }
    if !(1..=MAX_SEQUENCES).contains(&samples) {
        return Err(DataError::invalid(
            "sequence task",
            format!("{task}: {samples} sequences is not in 1..={MAX_SEQUENCES}"),
        ));
    }
    Ok(())
}

/// The adding problem: `samples` sequences of `steps` steps of 2 features (feature shape
/// `[steps, 2]`, value range (0, 1)). Channel 0 is uniform in [0, 1); channel 1 is a marker,
/// 1 at exactly two steps, one drawn uniformly from the first `steps / 2` steps and one
/// from the rest, 0 elsewhere. The target is the sum of the two marked values, a real
/// number ([`crate::TargetKind::Value`] of width 1). Predicting 1 always scores
/// [`ADDING_BASELINE_MSE`]. `stream` 0 is the training part, 1 the test part.
///
/// ```
/// let ds = gradwell_data::sequence::adding(50, 100, 7, 0)?;
/// assert_eq!((ds.len(), ds.feature_shape()), (100, &[50usize, 2][..]));
/// let markers: f32 = ds.features().row(0).iter().skip(1).step_by(2).sum();
/// assert_eq!(markers, 2.0);
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
///
/// # Errors
/// `steps` below 2 or above [`MAX_SEQUENCE_STEPS`], `samples` of 0 or above
/// [`MAX_SEQUENCES`].
pub fn adding(steps: usize, samples: usize, seed: u64, stream: u64) -> Result<Dataset> {
    check("adding", steps, 2, samples)?;
    let mut rng = rng(seed, stream);
    let half = steps / 2;
    let mut x = Array3::<f32>::zeros((samples, steps, 2));
    let mut y = Array2::<f32>::zeros((samples, 1));
    for n in 0..samples {
        for t in 0..steps {
            x[[n, t, 0]] = uniform(&mut rng) as f32;
        }
        let first = below(&mut rng, half as u64) as usize;
        let second = half + below(&mut rng, (steps - half) as u64) as usize;
        x[[n, first, 1]] = 1.0;
        x[[n, second, 1]] = 1.0;
        y[[n, 0]] = x[[n, first, 0]] + x[[n, second, 0]];
    }
    let features = x
        .into_shape_with_order((samples, steps * 2))
        .map_err(|e| DataError::invalid("adding", e.to_string()))?;
    Dataset::regression(format!("adding:{steps}"), features, y)?
        .into_sequences(steps)?
        .with_value_range(0.0, 1.0)
}

/// The copy task: `samples` sequences of `steps + 20` steps, one-hot over
/// [`COPY_CLASSES`] categories (feature shape `[steps + 20, 10]`, value range (0, 1)):
/// [`COPY_SYMBOLS`] symbols drawn uniformly from the [`COPY_ALPHABET`], then `steps − 1`
/// blanks, the delimiter, and [`COPY_SYMBOLS`] blanks. The target of each step
/// ([`crate::TargetKind::StepClass`]) is blank, except on the last [`COPY_SYMBOLS`] steps,
/// which must reproduce the symbols in order. Every step counts in the loss (as in
/// PyTorch practice); the blank steps do not count in the accuracy, which is then the
/// recall accuracy. The trivial answer scores [`copy_baseline_cross_entropy`].
///
/// ```
/// use gradwell_data::sequence::{copy, COPY_BLANK};
///
/// let ds = copy(5, 3, 0, 0)?;
/// assert_eq!(ds.feature_shape(), &[25, 10]);
/// let targets = &ds.labels()[..25];
/// assert!(targets[..15].iter().all(|&l| l == COPY_BLANK));
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
///
/// # Errors
/// `steps` of 0 or above [`MAX_SEQUENCE_STEPS`], `samples` of 0 or above
/// [`MAX_SEQUENCES`].
pub fn copy(steps: usize, samples: usize, seed: u64, stream: u64) -> Result<Dataset> {
    check("copy", steps, 1, samples)?;
    let mut rng = rng(seed, stream);
    let len = steps + 2 * COPY_SYMBOLS;
    let mut x = Array3::<f32>::zeros((samples, len, COPY_CLASSES));
    let mut y = Array2::<i64>::from_elem((samples, len), COPY_BLANK);
    for n in 0..samples {
        let mut inputs = vec![COPY_BLANK; len];
        for k in 0..COPY_SYMBOLS {
            let symbol = below(&mut rng, COPY_ALPHABET as u64) as i64;
            inputs[k] = symbol;
            y[[n, len - COPY_SYMBOLS + k]] = symbol;
        }
        inputs[COPY_SYMBOLS + steps - 1] = COPY_DELIMITER;
        for (t, &c) in inputs.iter().enumerate() {
            x[[n, t, c as usize]] = 1.0;
        }
    }
    let features = x
        .into_shape_with_order((samples, len * COPY_CLASSES))
        .map_err(|e| DataError::invalid("copy", e.to_string()))?;
    Dataset::per_step(
        format!("copy:{steps}"),
        features,
        y,
        COPY_CLASSES,
        Some(COPY_BLANK),
    )?
    .into_sequences(len)?
    .with_value_range(0.0, 1.0)
}
