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
//! the checksum, and only then parses.

use std::path::{Path, PathBuf};

use gradwell_data::BatcherState;
use gradwell_nn::ModelSpec;
use gradwell_optim::{OptimizerState, ParamState, ScheduleState};
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
    /// Samples classified correctly.
    pub correct: u64,
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
        meta.optimizer = OptimMeta {
            kind: optimizer.kind.clone(),
            steps: optimizer.steps,
            lr: optimizer.lr,
            momentum: optimizer.momentum,
            params: optimizer
                .params
                .iter()
                .map(|p| OptimParamMeta {
                    name: p.name.clone(),
                    len: p.len,
                    step: p.step,
                    buffers: p.buffers.keys().cloned().collect(),
                })
                .collect(),
        };
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
    /// Never panics, and allocates nothing beyond what the bytes hold.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] saying what is wrong: too short, wrong magic, unknown
    /// version, lengths that do not add up to the file's (truncated or extended), a
    /// checksum mismatch (corrupt), or contents that do not parse or do not agree.
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
        meta.config
            .validate()
            .map_err(|e| bad(format!("metadata: {e}")))?;
        safetensors::SafeTensors::deserialize(weights).map_err(|e| bad(format!("weights: {e}")))?;
        let optimizer = decode_optimizer(&meta.optimizer, optim).map_err(bad)?;
        Ok(Checkpoint {
            meta,
            weights: weights.to_vec(),
            optimizer,
        })
    }
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
            let b: Vec<f32> = values.by_ref().take(p.len).collect();
            if let Some(i) = b.iter().position(|x| !x.is_finite()) {
                return Err(format!(
                    "optimizer buffer `{name}` of `{}` holds a non-finite value at {i}",
                    p.name
                ));
            }
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

/// Writes `checkpoint` into `dir` atomically (temporary file, fsync, rename) and deletes
/// all but the newest `keep` checkpoints; returns the file written.
///
/// # Errors
/// [`TrainError::Io`] or the atomic writer's error.
pub fn write(dir: &Path, checkpoint: &Checkpoint, keep: usize) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(file_name(checkpoint.meta.step));
    gradwell_nn::write_atomic(&path, &checkpoint.encode())?;
    for (_, old) in list(dir)?.into_iter().skip(keep.max(1)) {
        let _ = std::fs::remove_file(old);
    }
    Ok(path)
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
