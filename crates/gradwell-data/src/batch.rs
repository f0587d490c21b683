use std::fmt;
use std::str::FromStr;

use gradwell_tensor::ClassLabel;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, TargetKind};
use crate::error::{DataError, Result};
use crate::rng::shuffle;

/// What to do with the last batch of an epoch when the samples do not divide evenly.
///
/// Written `keep` or `drop` everywhere: [`Display`](fmt::Display), [`FromStr`] (case is
/// ignored, so older files' `Keep` still reads) and serde, which go through them.
///
/// ```
/// use gradwell_data::LastBatch;
///
/// assert_eq!("drop".parse::<LastBatch>()?, LastBatch::Drop);
/// assert_eq!(LastBatch::Keep.to_string(), "keep");
/// assert!("skip".parse::<LastBatch>().unwrap_err().to_string().contains("keep, drop"));
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LastBatch {
    /// Yield it, smaller than the others (PyTorch's `drop_last=False`, the default).
    #[default]
    Keep,
    /// Leave it out (PyTorch's `drop_last=True`); with shuffling, the samples left out
    /// change from epoch to epoch.
    Drop,
}

impl LastBatch {
    /// Every choice, in the order names are listed in errors.
    pub const ALL: [LastBatch; 2] = [LastBatch::Keep, LastBatch::Drop];

    /// The name it is written as.
    pub fn name(self) -> &'static str {
        match self {
            LastBatch::Keep => "keep",
            LastBatch::Drop => "drop",
        }
    }
}

impl fmt::Display for LastBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LastBatch {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self> {
        crate::builtin::parse_choice(s, &LastBatch::ALL, LastBatch::name).ok_or_else(|| {
            DataError::UnknownName {
                what: "last batch",
                name: s.to_string(),
                valid: LastBatch::ALL.map(LastBatch::name).join(", "),
            }
        })
    }
}

impl TryFrom<String> for LastBatch {
    type Error = DataError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<LastBatch> for String {
    fn from(l: LastBatch) -> String {
        l.name().to_string()
    }
}

/// Everything a [`Batcher`] needs to continue exactly where it was: saved in a checkpoint
/// (it is serde-serializable), it lets a resumed run see exactly the batches it would have
/// seen.
///
/// The random state saved is the RNG as it was at the start of the current epoch, before
/// that epoch's shuffle; [`Batcher::from_state`] repeats the shuffle to rebuild the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatcherState {
    /// Number of samples.
    pub len: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// What happens to the last, smaller batch.
    pub last: LastBatch,
    /// Whether each epoch is shuffled.
    pub shuffle: bool,
    /// The current epoch, from 0.
    pub epoch: u64,
    /// How many samples of the current epoch have been handed out.
    pub position: usize,
    /// The RNG at the start of the current epoch.
    pub epoch_rng: ChaCha8Rng,
}

/// Mini-batches over `len` samples: each epoch a new permutation from a seeded ChaCha8 RNG
/// (or the samples in order), cut into batches of `batch_size`.
///
/// [`Batcher::fill_batch`] copies a batch into buffers the caller keeps, so that a training
/// loop makes no allocation per step once the buffers have grown to a full batch.
/// [`Batcher::next_indices`] gives the sample indices instead. Either returns `None` once at
/// the end of each epoch; the call after it starts the next epoch.
///
/// ```
/// use gradwell_data::{digits, Batcher, LastBatch};
/// use ndarray::Array2;
///
/// let ds = digits()?;
/// let mut batcher = Batcher::new(ds.len(), 128, LastBatch::Keep, 42)?;
/// let (mut x, mut y) = (Array2::zeros((0, 0)), Vec::new());
/// let mut seen = 0;
/// while let Some(rows) = batcher.fill_batch(&ds, &mut x, &mut y)? {
///     assert_eq!((x.nrows(), y.len()), (rows, rows));
///     seen += rows;
/// }
/// assert_eq!(seen, 1797); // one epoch; 14 batches, the last of 5
/// assert_eq!(batcher.epoch(), 1);
///
/// // A batcher rebuilt from a saved state continues identically.
/// let mut resumed = gradwell_data::Batcher::from_state(batcher.state())?;
/// assert_eq!(resumed.next_indices(), batcher.next_indices());
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Batcher {
    state: BatcherState,
    /// The RNG after the current epoch's shuffle.
    rng: ChaCha8Rng,
    order: Vec<usize>,
}

impl Batcher {
    /// A shuffling batcher, seeded. Errors if `len` or `batch_size` is 0, or if
    /// [`LastBatch::Drop`] would leave no batch at all.
    pub fn new(len: usize, batch_size: usize, last: LastBatch, seed: u64) -> Result<Batcher> {
        Self::build(len, batch_size, last, true, ChaCha8Rng::seed_from_u64(seed))
    }

    /// A batcher that hands out the samples in order every epoch (for evaluation).
    pub fn sequential(len: usize, batch_size: usize, last: LastBatch) -> Result<Batcher> {
        Self::build(len, batch_size, last, false, ChaCha8Rng::seed_from_u64(0))
    }

    fn build(
        len: usize,
        batch_size: usize,
        last: LastBatch,
        shuffle: bool,
        rng: ChaCha8Rng,
    ) -> Result<Batcher> {
        Self::from_state(BatcherState {
            len,
            batch_size,
            last,
            shuffle,
            epoch: 0,
            position: 0,
            epoch_rng: rng,
        })
    }

    /// A batcher that continues from a saved [`BatcherState`]. Errors if the state is not
    /// one a batcher can be in.
    pub fn from_state(state: BatcherState) -> Result<Batcher> {
        const CTX: &str = "Batcher";
        if state.len == 0 || state.batch_size == 0 {
            return Err(DataError::invalid(
                CTX,
                format!(
                    "{} samples in batches of {}: both must be positive",
                    state.len, state.batch_size
                ),
            ));
        }
        let mut batcher = Batcher {
            rng: state.epoch_rng.clone(),
            order: (0..state.len).collect(),
            state,
        };
        if batcher.batches_per_epoch() == 0 {
            return Err(DataError::invalid(
                CTX,
                format!(
                    "dropping the last partial batch of {} samples in batches of {} leaves none",
                    batcher.state.len, batcher.state.batch_size
                ),
            ));
        }
        if batcher.state.position > batcher.epoch_end() {
            return Err(DataError::invalid(
                CTX,
                format!(
                    "position {} is past the epoch's end {}",
                    batcher.state.position,
                    batcher.epoch_end()
                ),
            ));
        }
        batcher.reorder();
        Ok(batcher)
    }

    /// The state to save in a checkpoint.
    pub fn state(&self) -> BatcherState {
        self.state.clone()
    }

    /// The current epoch, from 0.
    pub fn epoch(&self) -> u64 {
        self.state.epoch
    }

    /// How many samples of the current epoch have been handed out.
    pub fn position(&self) -> usize {
        self.state.position
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.state.len
    }

    /// Always false: a batcher has at least one sample.
    pub fn is_empty(&self) -> bool {
        self.state.len == 0
    }

    /// Samples per (full) batch.
    pub fn batch_size(&self) -> usize {
        self.state.batch_size
    }

    /// Batches in each epoch.
    pub fn batches_per_epoch(&self) -> usize {
        let (n, b) = (self.state.len, self.state.batch_size);
        match self.state.last {
            LastBatch::Keep => n.div_ceil(b),
            LastBatch::Drop => n / b,
        }
    }

    fn epoch_end(&self) -> usize {
        match self.state.last {
            LastBatch::Keep => self.state.len,
            LastBatch::Drop => self.state.len - self.state.len % self.state.batch_size,
        }
    }

    /// Rebuilds the order of the current epoch from the RNG at its start.
    fn reorder(&mut self) {
        for (i, slot) in self.order.iter_mut().enumerate() {
            *slot = i;
        }
        self.rng = self.state.epoch_rng.clone();
        if self.state.shuffle {
            shuffle(&mut self.order, &mut self.rng);
        }
    }

    /// The sample indices of the next batch, or `None` at the end of an epoch (the call
    /// after it starts the next epoch, with a new shuffle).
    pub fn next_indices(&mut self) -> Option<&[usize]> {
        let end = self.epoch_end();
        let start = self.state.position;
        if start >= end {
            self.state.epoch += 1;
            self.state.position = 0;
            self.state.epoch_rng = self.rng.clone();
            self.reorder();
            return None;
        }
        let stop = (start + self.state.batch_size).min(end);
        self.state.position = stop;
        Some(&self.order[start..stop])
    }

    /// Copies the next batch of `ds` into `features` (reshaped to `rows × ds.num_features()`
    /// if needed, reusing its memory) and `labels` (one per row, or for
    /// [`TargetKind::StepClass`] `steps` per row, row after row; none for real targets),
    /// and returns the number of rows, or `None` at the end of an epoch. For real targets,
    /// use [`Batcher::fill_batch_values`].
    ///
    /// Once the buffers have held a full batch, this allocates nothing. Errors (without
    /// advancing) if `ds` does not have the batcher's number of samples.
    pub fn fill_batch(
        &mut self,
        ds: &Dataset,
        features: &mut Array2<f32>,
        labels: &mut Vec<ClassLabel>,
    ) -> Result<Option<usize>> {
        self.fill(ds, features, labels, None)
    }

    /// As [`Batcher::fill_batch`], and also copies the batch's real targets
    /// ([`TargetKind::Value`]) into `values`, row after row (`rows × width`; cleared for
    /// class labels).
    pub fn fill_batch_values(
        &mut self,
        ds: &Dataset,
        features: &mut Array2<f32>,
        labels: &mut Vec<ClassLabel>,
        values: &mut Vec<f32>,
    ) -> Result<Option<usize>> {
        self.fill(ds, features, labels, Some(values))
    }

    fn fill(
        &mut self,
        ds: &Dataset,
        features: &mut Array2<f32>,
        labels: &mut Vec<ClassLabel>,
        values: Option<&mut Vec<f32>>,
    ) -> Result<Option<usize>> {
        if ds.len() != self.state.len {
            return Err(DataError::invalid(
                "Batcher::fill_batch",
                format!(
                    "{} has {} samples; the batcher has {}",
                    ds.name(),
                    ds.len(),
                    self.state.len
                ),
            ));
        }
        let Some(indices) = self.next_indices() else {
            return Ok(None);
        };
        let (rows, cols) = (indices.len(), ds.num_features());
        if features.dim() != (rows, cols) || !features.is_standard_layout() {
            let (mut buf, _) = std::mem::take(features).into_raw_vec_and_offset();
            buf.clear();
            buf.resize(rows * cols, 0.0);
            *features = Array2::from_shape_vec((rows, cols), buf)
                .map_err(|e| DataError::invalid("Batcher::fill_batch", e.to_string()))?;
        }
        let source = ds.features();
        for (mut dst, &i) in features.rows_mut().into_iter().zip(indices) {
            dst.assign(&source.row(i));
        }
        let per = match ds.target_kind() {
            TargetKind::Class => 1,
            TargetKind::StepClass { steps, .. } => steps,
            TargetKind::Value { .. } => 0,
        };
        let all = ds.labels();
        labels.clear();
        for &i in indices {
            labels.extend_from_slice(&all[i * per..(i + 1) * per]);
        }
        if let Some(values) = values {
            let all = ds.values();
            values.clear();
            for &i in indices {
                values.extend(all.row(i).iter().copied());
            }
        }
        Ok(Some(rows))
    }
}
