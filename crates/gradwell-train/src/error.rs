use std::path::PathBuf;

use thiserror::Error;

/// Everything that can stop a training run, each naming what was wrong and where.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A configuration value that is not valid; `field` is its dotted path in the config
    /// file (`batch_size`, `optimizer.momentum`, `checkpoint.keep`).
    #[error("invalid training config: `{field}`: {why}")]
    Config {
        /// The field, as written in the config file.
        field: String,
        /// What is wrong with its value.
        why: String,
    },
    /// A name of a choice ([`crate::Preprocess`], [`crate::ProgressMode`],
    /// [`gradwell_optim::ScheduleUnit`]) that is not known.
    #[error("unknown {what} `{name}`; valid: {valid}")]
    UnknownName {
        /// What was named, as the config field says it (`preprocess`).
        what: &'static str,
        /// The name given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// A config file that could not be parsed (the parser's message names the line and
    /// the field).
    #[error("{origin}: {why}")]
    ConfigFormat {
        /// The file, or the name given to text in memory.
        origin: String,
        /// The parser's complaint.
        why: String,
    },
    /// The loss of a training step is NaN or infinite.
    #[error("step {step} (epoch {epoch}): the loss is not finite ({value})")]
    NonFiniteLoss {
        /// The step (1 for the first).
        step: u64,
        /// The epoch, from 1 ([`crate::epoch_number`]), as the progress lines number it.
        epoch: u64,
        /// The loss.
        value: f64,
    },
    /// A gradient of a training step holds a NaN or an infinity; no weight was updated.
    #[error("step {step}: gradient of `{param}` is not finite ({kind})")]
    NonFiniteGradient {
        /// The step (1 for the first).
        step: u64,
        /// The first parameter (in store order) with a non-finite gradient.
        param: String,
        /// The index of its first non-finite element.
        index: usize,
        /// `NaN`, `inf` or `-inf`.
        kind: String,
    },
    /// A checkpoint file that is malformed, truncated or corrupt.
    #[error("{origin}: not a valid checkpoint: {why}")]
    Checkpoint {
        /// The file, or the name given to bytes in memory.
        origin: String,
        /// What is wrong with it.
        why: String,
    },
    /// A valid checkpoint that belongs to another run (another model, data or config).
    #[error("{origin}: the checkpoint does not fit this run: {why}")]
    CheckpointMismatch {
        /// The file.
        origin: String,
        /// What differs.
        why: String,
    },
    /// Resuming found checkpoint files in the directory but none that decodes; nothing
    /// was loaded and every file is left as it was. The message lists each file with the
    /// reason it was refused.
    #[error(
        "{}: none of the {} checkpoint files is valid, so there is nothing to resume from (every file is left in place): {}",
        .dir.display(),
        .refused.len(),
        .refused.iter().map(|(_, why)| why.as_str()).collect::<Vec<_>>().join("; ")
    )]
    NoValidCheckpoint {
        /// The checkpoint directory.
        dir: PathBuf,
        /// Each checkpoint file, newest first, with why it was refused (the error, which
        /// names the file).
        refused: Vec<(PathBuf, String)>,
    },
    /// A network that does not fit the data (input width, number of classes).
    #[error("the network does not fit the data: {0}")]
    Setup(String),
    /// A directory the run writes (`checkpoint.dir`) that it cannot use: not a directory,
    /// not writable, or held by another run (naming its pid).
    #[error("`{setting}` {dir}: {why}")]
    Directory {
        /// The config field that names it.
        setting: String,
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        #[source]
        why: crate::lock::DirError,
    },
    /// A file or directory that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A data error (batching, splitting, scaling).
    #[error(transparent)]
    Data(#[from] gradwell_data::DataError),
    /// A network error (shapes, weights).
    #[error(transparent)]
    Nn(#[from] gradwell_nn::NnError),
    /// An optimizer, schedule or clipping error.
    #[error(transparent)]
    Optim(#[from] gradwell_optim::OptimError),
    /// An autodiff error.
    #[error(transparent)]
    Autodiff(#[from] gradwell_autodiff::AutodiffError),
}

impl TrainError {
    pub(crate) fn config(field: impl Into<String>, why: impl Into<String>) -> Self {
        TrainError::Config {
            field: field.into(),
            why: why.into(),
        }
    }

    pub(crate) fn checkpoint(origin: &str, why: impl Into<String>) -> Self {
        TrainError::Checkpoint {
            origin: origin.to_string(),
            why: why.into(),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
