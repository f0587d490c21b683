//! The checkpoint file: everything a run needs to continue exactly, in one file with a
//! checksum, written atomically.
//!
//! # Format (version 1)
//!
//! ```text
//! offset  size  field
//!      0     8  magic "GWCKPT\r\n"
//!      8     4  version, u32 little-endian (1)
//!     12     8  meta_len, u64 LE: bytes of the metadata (JSON)
//!     20     8  weights_len, u64 LE: bytes of the weights (safetensors)
//!     28     8  optim_len, u64 LE: bytes of the optimizer buffers (f32 LE)
//!     36     4  CRC-32 (IEEE) of bytes 0..36 followed by every byte from 40 on
//!     40        metadata, weights, optimizer buffers, back to back; nothing after
//! ```
//!
//! The metadata ([`CheckpointMeta`]) holds the config, the model spec, the step and
//! epoch, the batcher's and the dropout RNG's state, the schedule's state, the optimizer's
//! scalar state and the buffer layout, the running metrics of the epoch in progress and
//! the history of finished epochs. Floats in it are f64, which JSON carries exactly;
//! the f32 optimizer buffers are stored as raw bits. A loader checks the magic, the
//! version, that the declared lengths add up to the file's length (before allocating),
//! the checksum, and only then parses; then [`Checkpoint::check`] checks that every field
//! is one a run can be in, before a trainer allocates anything from it.
//!
//! # Canonical decoding
//!
//! A file that decodes re-encodes ([`Checkpoint::encode`]) to a file that decodes to the
//! same checkpoint. Where input could decode to something that does not survive that
//! round trip, the decoder refuses it rather than normalizing it: each parameter's
//! optimizer buffers must be listed in name order, each once (the order `encode` writes
//! them in, which is also the order of their values), and the metadata must come back
//! unchanged from re-encoding (a NaN hidden in text, such as the initializer
//! `constant:nan`, does not). Variations that decode to the same checkpoint (JSON spacing,
//! field order, fields left at their defaults) are accepted.
//!
//! # Which files are kept
//!
//! [`write()`] keeps the `keep` *valid* checkpoints with the highest steps and, whatever its
//! step, the one it has just written; it deletes older valid ones. A file that does not
//! decode (corrupt, truncated, unreadable) is neither counted nor deleted: it is left
//! alone for its owner to inspect, and cannot push a valid checkpoint out.

use std::path::{Path, PathBuf};

use gradwell_data::{BatcherState, LastBatch};
use gradwell_nn::ModelSpec;
use gradwell_optim::{Optimizer, OptimizerState, ParamState, ScheduleState, ScheduleUnit};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::observer::EpochMetrics;
use crate::{Result, TrainError};

/// The first eight bytes of every checkpoint.
pub const MAGIC: [u8; 8] = *b"GWCKPT\r\n";
/// The format version written.
pub const VERSION: u32 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 40;
/// Checkpoint files are named `checkpoint-<step>.gwck`.
pub const EXTENSION: &str = "gwck";
const PREFIX: &str = "checkpoint-";

/// The shape of the data a run was trained on, to refuse a checkpoint of another data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFingerprint {
    /// Training samples (after the validation split).
    pub train: usize,
    /// Validation samples.
    pub validation: usize,
    /// Features per sample.
    pub features: usize,
    /// Classes.
    pub classes: usize,
}

/// Sums over the batches of the epoch in progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Running {
    /// Σ batch loss × batch size.
    pub loss_sum: f64,
    /// Predictions that were right (samples, or steps not labelled blank).
    pub correct: u64,
    /// Predictions scored for the accuracy: the samples for one class per sample, the
    /// steps not labelled blank for a class per step, none for real targets (0 in
    /// checkpoints written before targets other than classes, where it was the samples).
    #[serde(default)]
    pub scored: u64,
    /// Samples seen.
    pub samples: u64,
}

/// One parameter's optimizer state without its buffers (which follow the metadata as raw
/// f32).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimParamMeta {
    /// The parameter's name.
    pub name: String,
    /// Its number of elements (each buffer's length).
    pub len: usize,
    /// Its step count.
    pub step: u64,
    /// Its buffers' names, in the order their values are stored.
    pub buffers: Vec<String>,
}

/// The optimizer's state without its buffers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimMeta {
    /// The optimizer's name.
    pub kind: String,
    /// Steps taken.
    pub steps: u64,
    /// The base learning rate.
    pub lr: f64,
    /// The momentum-like setting.
    pub momentum: Option<f64>,
    /// Per parameter, in order.
    pub params: Vec<OptimParamMeta>,
}

impl OptimMeta {
    /// The layout of `state`: its scalars, and per parameter its buffers' names in name
    /// order (the order their values are stored in).
    pub fn of(state: &OptimizerState<f32>) -> OptimMeta {
        OptimMeta {
            kind: state.kind.clone(),
            steps: state.steps,
            lr: state.lr,
            momentum: state.momentum,
            params: state
                .params
                .iter()
                .map(|p| OptimParamMeta {
                    name: p.name.clone(),
                    len: p.len,
                    step: p.step,
                    buffers: p.buffers.keys().cloned().collect(),
                })
                .collect(),
        }
    }
}

/// Everything in a checkpoint but the weights and the optimizer buffers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointMeta {
    /// The run's config.
    pub config: TrainConfig,
    /// The model.
    pub model: ModelSpec,
    /// The data's shape.
    pub data: DataFingerprint,
    /// Steps taken.
    pub step: u64,
    /// The batcher, mid-epoch (its epoch is the run's).
    pub batcher: BatcherState,
    /// The RNG dropout draws from.
    pub dropout_rng: ChaCha8Rng,
    /// The learning-rate schedule.
    pub schedule: ScheduleState,
    /// The optimizer's scalar state and buffer layout.
    pub optimizer: OptimMeta,
    /// The epoch in progress so far.
    pub running: Running,
    /// Finished epochs.
    pub history: Vec<EpochMetrics>,
}

/// A decoded checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The metadata.
    pub meta: CheckpointMeta,
    /// The network's weights, as safetensors bytes.
    pub weights: Vec<u8>,
    /// The optimizer's state, buffers included.
    pub optimizer: OptimizerState<f32>,
}

impl Checkpoint {
    /// Builds a checkpoint from its parts (the optimizer's buffer layout is taken from its
    /// state).
    pub fn new(
        meta_without_optimizer: CheckpointMeta,
        weights: Vec<u8>,
        optimizer: OptimizerState<f32>,
    ) -> Self {
        let mut meta = meta_without_optimizer;
        meta.optimizer = OptimMeta::of(&optimizer);
        Checkpoint {
            meta,
            weights,
            optimizer,
        }
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data to memory cannot fail.
        let meta = serde_json::to_vec(&self.meta).unwrap_or_default();
        let mut optim = Vec::new();
        for p in &self.optimizer.params {
            for b in p.buffers.values() {
                optim.extend(b.iter().flat_map(|x| x.to_bits().to_le_bytes()));
            }
        }
        let mut out =
            Vec::with_capacity(HEADER_LEN + meta.len() + self.weights.len() + optim.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        for len in [meta.len(), self.weights.len(), optim.len()] {
            out.extend_from_slice(&(len as u64).to_le_bytes());
        }
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&meta);
        out.extend_from_slice(&self.weights);
        out.extend_from_slice(&optim);
        let crc = checksum(&out);
        out[36..40].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Checks every byte of `bytes` and decodes them; `origin` names them in errors.
    /// Never panics, and allocates nothing beyond what the bytes hold. A checkpoint it
    /// returns has passed [`Checkpoint::check`], and encodes to bytes that decode to the
    /// same checkpoint: input that would not survive that round trip (optimizer buffers
    /// out of name order, a NaN in text) is refused rather than normalized (see "Canonical
    /// decoding" in the module documentation).
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] saying what is wrong: too short, wrong magic, unknown
    /// version, lengths that do not add up to the file's (truncated or extended), a
    /// checksum mismatch (corrupt), contents that do not parse, or a field that
    /// [`Checkpoint::check`] refuses (naming it).
    pub fn decode(bytes: &[u8], origin: &str) -> Result<Checkpoint> {
        let bad = |why: String| TrainError::checkpoint(origin, why);
        if bytes.len() < HEADER_LEN {
            return Err(bad(format!(
                "{} bytes, shorter than the {HEADER_LEN}-byte header (truncated)",
                bytes.len()
            )));
        }
        if bytes[..8] != MAGIC {
            return Err(bad("wrong magic number (not a gradwell checkpoint)".into()));
        }
        let u64_at = |at: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let mut v = [0; 4];
        v.copy_from_slice(&bytes[8..12]);
        let version = u32::from_le_bytes(v);
        if version != VERSION {
            return Err(bad(format!(
                "format version {version}; this build reads version {VERSION}"
            )));
        }
        let (meta_len, weights_len, optim_len) = (u64_at(12), u64_at(20), u64_at(28));
        let declared = [meta_len, weights_len, optim_len]
            .iter()
            .try_fold(HEADER_LEN as u64, |a, &b| a.checked_add(b));
        if declared != Some(bytes.len() as u64) {
            return Err(bad(format!(
                "the header declares {} bytes but there are {} (truncated or extended)",
                declared.map_or_else(|| "more than 2^64".to_string(), |d| d.to_string()),
                bytes.len()
            )));
        }
        v.copy_from_slice(&bytes[36..40]);
        let stored = u32::from_le_bytes(v);
        let actual = checksum(bytes);
        if stored != actual {
            return Err(bad(format!(
                "checksum mismatch (stored {stored:08x}, computed {actual:08x}): the file is corrupt"
            )));
        }
        // The lengths add up to the file's, so each fits in usize.
        let (meta_len, weights_len) = (meta_len as usize, weights_len as usize);
        let meta_bytes = &bytes[HEADER_LEN..HEADER_LEN + meta_len];
        let weights = &bytes[HEADER_LEN + meta_len..HEADER_LEN + meta_len + weights_len];
        let optim = &bytes[HEADER_LEN + meta_len + weights_len..];
        let meta: CheckpointMeta =
            serde_json::from_slice(meta_bytes).map_err(|e| bad(format!("metadata: {e}")))?;
        let optimizer = decode_optimizer(&meta.optimizer, optim).map_err(bad)?;
        let checkpoint = Checkpoint {
            meta,
            weights: weights.to_vec(),
            optimizer,
        };
        checkpoint.check(origin)?;
        Ok(checkpoint)
    }

    /// Checks that every field is one a training run can be in, without allocating from
    /// any of them: the config is valid; the batcher agrees with the data's size and the
    /// config (samples, batch size, last batch, shuffling) and its position, epoch and the
    /// step count with each other, with the history and with the step budget (a run never
    /// steps past `config.steps`); the running sums with the
    /// position; the schedule's and the optimizer's step counts with the run's; the
    /// schedule's state loads into the configured schedule; the optimizer state loads into
    /// the configured optimizer (so no buffer value is non-finite and no second moment
    /// negative) and the metadata's layout describes it, buffers in name order; every
    /// floating-point weight is finite; and the metadata survives re-encoding. Comparing
    /// the checkpoint with a run (model, data, config) is [`crate::Trainer::restore`]'s
    /// business. `origin` names the checkpoint in errors.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] naming the first field that is wrong.
    pub fn check(&self, origin: &str) -> Result<()> {
        self.verified(origin).map(|_| ())
    }

    /// [`Checkpoint::check`], returning the optimizer that the check builds from the
    /// config and loads the state into: what a resumed run continues with.
    pub(crate) fn verified(&self, origin: &str) -> Result<Box<dyn Optimizer<f32>>> {
        let bad = |why: String| TrainError::checkpoint(origin, why);
        let meta = &self.meta;
        meta.config
            .validate()
            .map_err(|e| bad(format!("metadata: {e}")))?;
        check_progress(meta).map_err(|e| bad(format!("metadata: {e}")))?;
        check_optimizer_layout(&meta.optimizer, &self.optimizer).map_err(&bad)?;
        let mut optimizer = meta
            .config
            .build_optimizer()
            .map_err(|e| bad(format!("metadata: {e}")))?;
        optimizer
            .load_state(&self.optimizer)
            .map_err(|e| bad(format!("optimizer state: {e}")))?;
        check_weights(&self.weights).map_err(|e| bad(format!("weights: {e}")))?;
        check_round_trip(meta).map_err(|e| bad(format!("metadata: {e}")))?;
        Ok(optimizer)
    }
}

/// The batcher, the step and epoch counts, the running sums and the schedule's state
/// against each other and the config (all integer comparisons: nothing is allocated).
fn check_progress(meta: &CheckpointMeta) -> std::result::Result<(), String> {
    let (b, config) = (&meta.batcher, &meta.config);
    let differs =
        |field: &str, value: &dyn std::fmt::Debug, other: &str, expected: &dyn std::fmt::Debug| {
            Err(format!(
                "`{field}` is {value:?} but `{other}` is {expected:?}"
            ))
        };
    if b.len != meta.data.train {
        return differs("batcher.len", &b.len, "data.train", &meta.data.train);
    }
    if b.batch_size != config.batch_size {
        return differs(
            "batcher.batch_size",
            &b.batch_size,
            "config.batch_size",
            &config.batch_size,
        );
    }
    if b.last != config.last_batch {
        return differs(
            "batcher.last",
            &b.last,
            "config.last_batch",
            &config.last_batch,
        );
    }
    if !b.shuffle {
        return Err("`batcher.shuffle` is false, but training always shuffles".into());
    }
    // `config.validate` has made the batch size at least 1.
    let per_epoch = match b.last {
        LastBatch::Keep => b.len.div_ceil(b.batch_size),
        LastBatch::Drop => b.len / b.batch_size,
    };
    if per_epoch == 0 {
        return Err(format!(
            "`batcher`: {} samples in batches of {} ({:?} the last) make no batch",
            b.len, b.batch_size, b.last
        ));
    }
    let epoch_end = match b.last {
        LastBatch::Keep => b.len,
        LastBatch::Drop => per_epoch * b.batch_size,
    };
    if b.position > epoch_end {
        return Err(format!(
            "`batcher.position` {} is past the epoch's end {epoch_end}",
            b.position
        ));
    }
    let epochs = meta.history.len() as u64;
    if b.epoch != epochs {
        return Err(format!(
            "`batcher.epoch` is {} but `history` holds {epochs} finished epochs",
            b.epoch
        ));
    }
    let handed_out = b
        .epoch
        .checked_mul(per_epoch as u64)
        .and_then(|n| n.checked_add(b.position.div_ceil(b.batch_size) as u64));
    if handed_out.is_none_or(|n| meta.step > n) {
        return Err(format!(
            "`step` {} is more than the batches handed out ({} epochs of {per_epoch}, and {} samples of this one)",
            meta.step, b.epoch, b.position
        ));
    }
    if let Some(budget) = config.steps
        && meta.step > budget
    {
        return Err(format!(
            "`step` {} is past the run's step budget `config.steps` {budget}",
            meta.step
        ));
    }
    let mut previous = 0;
    for (i, e) in meta.history.iter().enumerate() {
        if e.epoch != i as u64 {
            return Err(format!("`history[{i}].epoch` is {}", e.epoch));
        }
        if e.steps < previous || e.steps > meta.step {
            return Err(format!(
                "`history[{i}].steps` {} is not between the previous epoch's {previous} and `step` {}",
                e.steps, meta.step
            ));
        }
        previous = e.steps;
    }
    let r = &meta.running;
    if r.samples > b.position as u64 {
        return Err(format!(
            "`running.samples` {} is more than the {} samples of this epoch handed out",
            r.samples, b.position
        ));
    }
    let (field, scored) = if r.scored > 0 {
        ("running.scored", r.scored)
    } else {
        ("running.samples", r.samples)
    };
    if r.correct > scored {
        return Err(format!(
            "`running.correct` {} is more than `{field}` {scored}",
            r.correct
        ));
    }
    if !(r.loss_sum >= 0.0 && r.loss_sum.is_finite()) {
        return Err(format!(
            "`running.loss_sum` {} is not a finite sum of losses (>= 0)",
            r.loss_sum
        ));
    }
    if meta.optimizer.steps > meta.step {
        return Err(format!(
            "`optimizer.steps` {} is more than `step` {}",
            meta.optimizer.steps, meta.step
        ));
    }
    let (bound, unit) = match config.schedule.per {
        ScheduleUnit::Step => (meta.step, "steps"),
        ScheduleUnit::Epoch => (epochs, "epochs"),
    };
    if meta.schedule.steps > bound {
        return Err(format!(
            "`schedule.steps` {} is more than the {bound} {unit} taken",
            meta.schedule.steps
        ));
    }
    config
        .build_schedule(per_epoch as u64)
        .map_err(|e| e.to_string())?
        .load_state(&meta.schedule)
        .map_err(|e| format!("`schedule`: {e}"))
}

/// The metadata's optimizer layout against the state it describes; a parameter's
/// buffers listed out of name order are refused (the canonical order).
fn check_optimizer_layout(
    meta: &OptimMeta,
    state: &OptimizerState<f32>,
) -> std::result::Result<(), String> {
    let layout = OptimMeta::of(state);
    if meta == &layout {
        return Ok(());
    }
    for (i, (m, l)) in meta.params.iter().zip(&layout.params).enumerate() {
        if m == l {
            continue;
        }
        let mut sorted = m.buffers.clone();
        sorted.sort();
        if m.buffers != l.buffers && sorted == l.buffers {
            return Err(format!(
                "`optimizer.params[{i}].buffers` of `{}` are listed as {:?}: this format lists them in name order, {:?}",
                m.name, m.buffers, l.buffers
            ));
        }
        return Err(format!(
            "`optimizer.params[{i}]` in the metadata does not describe the state of `{}`",
            l.name
        ));
    }
    Err("`optimizer` in the metadata does not describe the optimizer state".into())
}

/// Every floating-point tensor of the weights is finite (tensors in name order, so that
/// the first named is always the same).
fn check_weights(bytes: &[u8]) -> std::result::Result<(), String> {
    use safetensors::Dtype;
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let mut names = st.names();
    names.sort_unstable();
    for name in names {
        let t = st.tensor(name).map_err(|e| e.to_string())?;
        let first_bad = match t.dtype() {
            Dtype::F32 => t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .enumerate()
                .find(|(_, x)| !x.is_finite()),
            Dtype::F64 => t
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .enumerate()
                .find(|(_, x)| !x.is_finite()),
            _ => None,
        };
        if let Some((i, x)) = first_bad {
            return Err(format!(
                "`{name}` holds {x} at element {i}, which is not finite"
            ));
        }
    }
    Ok(())
}

/// The metadata encodes to JSON that decodes to the same metadata; otherwise the first
/// top-level field (or model layer) that changes is named.
fn check_round_trip(meta: &CheckpointMeta) -> std::result::Result<(), String> {
    let again: Option<CheckpointMeta> = serde_json::to_vec(meta)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let Some(again) = again else {
        return Err("it does not survive re-encoding".into());
    };
    if again == *meta {
        return Ok(());
    }
    let layer = meta
        .model
        .layers
        .iter()
        .zip(&again.model.layers)
        .position(|(a, b)| a != b)
        .map(|i| format!("model.layers[{i}]"));
    let field = [
        ("config", meta.config == again.config),
        ("model", meta.model == again.model),
        ("data", meta.data == again.data),
        ("batcher", meta.batcher == again.batcher),
        ("dropout_rng", meta.dropout_rng == again.dropout_rng),
        ("schedule", meta.schedule == again.schedule),
        ("optimizer", meta.optimizer == again.optimizer),
        ("running", meta.running == again.running),
        ("history", meta.history == again.history),
        ("step", meta.step == again.step),
    ]
    .iter()
    .find(|(_, same)| !same)
    .map_or_else(
        || "metadata".to_string(),
        |(name, _)| match (*name, layer) {
            ("model", Some(layer)) => layer,
            (name, _) => name.to_string(),
        },
    );
    Err(format!(
        "`{field}` does not survive re-encoding (it holds a value, such as NaN, that its text form does not carry exactly)"
    ))
}

/// Rebuilds the optimizer state from its metadata and raw buffers.
fn decode_optimizer(
    meta: &OptimMeta,
    raw: &[u8],
) -> std::result::Result<OptimizerState<f32>, String> {
    let mut need: u64 = 0;
    for p in &meta.params {
        let n = (p.len as u64)
            .checked_mul(p.buffers.len() as u64)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| format!("optimizer state of `{}` is impossibly large", p.name))?;
        need = need
            .checked_add(n)
            .ok_or("optimizer state is impossibly large")?;
    }
    if need != raw.len() as u64 {
        return Err(format!(
            "optimizer buffers: the metadata describes {need} bytes but there are {}",
            raw.len()
        ));
    }
    let mut values = raw
        .chunks_exact(4)
        .map(|c| f32::from_bits(u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    let mut params = Vec::with_capacity(meta.params.len());
    for p in &meta.params {
        let mut buffers = std::collections::BTreeMap::new();
        for name in &p.buffers {
            // The values are checked by the optimizer's `load_state` in `Checkpoint::check`.
            let b: Vec<f32> = values.by_ref().take(p.len).collect();
            if buffers.insert(name.clone(), b).is_some() {
                return Err(format!(
                    "optimizer buffer `{name}` of `{}` appears twice",
                    p.name
                ));
            }
        }
        params.push(ParamState {
            name: p.name.clone(),
            len: p.len,
            step: p.step,
            buffers,
        });
    }
    Ok(OptimizerState {
        kind: meta.kind.clone(),
        steps: meta.steps,
        lr: meta.lr,
        momentum: meta.momentum,
        params,
    })
}

/// Writes the checksum of `bytes` into its header (when there is a whole header), so that
/// a fuzzer's input reaches the decoder behind the checksum.
pub(crate) fn seal(bytes: &mut [u8]) {
    if bytes.len() >= HEADER_LEN {
        let crc = checksum(bytes);
        bytes[36..40].copy_from_slice(&crc.to_le_bytes());
    }
}

/// CRC-32 of the header (without its checksum field) and the payload.
fn checksum(bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[..36]);
    h.update(&bytes[HEADER_LEN..]);
    h.finalize()
}

/// The file name of the checkpoint after `step` steps.
pub fn file_name(step: u64) -> String {
    format!("{PREFIX}{step:012}.{EXTENSION}")
}

/// The checkpoints in `dir` with their steps, newest (highest step) first. Temporary files
/// of interrupted writes and other files are ignored; a missing directory has none.
///
/// # Errors
/// [`TrainError::Io`] if the directory exists but cannot be read.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(TrainError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let step = name
            .strip_prefix(PREFIX)
            .and_then(|s| s.strip_suffix(&format!(".{EXTENSION}")))
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(step) = step {
            found.push((step, entry.path()));
        }
    }
    found.sort_by_key(|c| std::cmp::Reverse(c.0));
    Ok(found)
}

/// Writes `checkpoint` into `dir` atomically (temporary file, fsync, rename), after
/// decoding the bytes in memory (a checkpoint that could not be read back is an error,
/// not a file), then prunes:
/// keeps the `keep` (at least 1) valid checkpoints with the highest steps and, whatever its
/// step, the file just written, and deletes the other valid ones. A checkpoint file that
/// does not [`read`] (corrupt, truncated, unreadable) is neither counted nor deleted.
/// Returns the file written.
///
/// # Errors
/// [`TrainError::Io`], the atomic writer's error, or [`Checkpoint::decode`]'s error for a
/// checkpoint that would not read back.
pub fn write(dir: &Path, checkpoint: &Checkpoint, keep: usize) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(file_name(checkpoint.meta.step));
    let bytes = checkpoint.encode();
    Checkpoint::decode(&bytes, &path.display().to_string())?;
    gradwell_nn::write_atomic(&path, &bytes)?;
    prune(dir, &path, keep.max(1))?;
    Ok(path)
}

/// Deletes the valid checkpoints of `dir` beyond the `keep` with the highest steps, never
/// `written`; files that do not decode are left alone and not counted.
fn prune(dir: &Path, written: &Path, keep: usize) -> Result<()> {
    let mut kept = 0;
    for (_, path) in list(dir)? {
        let is_written = path == written;
        if !is_written && read(&path).is_err() {
            continue;
        }
        if kept < keep {
            kept += 1;
        } else if !is_written {
            let _ = std::fs::remove_file(path);
        }
    }
    Ok(())
}

/// Reads and decodes one checkpoint file.
///
/// # Errors
/// [`TrainError::Io`], or [`Checkpoint::decode`]'s errors naming the file.
pub fn read(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Checkpoint::decode(&bytes, &path.display().to_string())
}
