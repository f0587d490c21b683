use gradwell_autodiff::AutodiffError;
use thiserror::Error;

use crate::plan::human_bytes;

/// What can go wrong building, running, saving or loading a network.
#[derive(Debug, Error)]
pub enum NnError {
    /// An error from the computation (shapes, labels, …).
    #[error(transparent)]
    Autodiff(#[from] AutodiffError),
    /// Two consecutive layers whose widths do not fit.
    #[error("layer {next} expects {expected} input features but layer {prev} produces {got}")]
    WidthMismatch {
        /// The layer producing the features (path and type).
        prev: String,
        /// The layer consuming them.
        next: String,
        /// What `next` expects.
        expected: usize,
        /// What `prev` produces.
        got: usize,
    },
    /// A layer that could not be built from its settings.
    #[error("layer {layer}: {source}")]
    Layer {
        /// The layer's path and type, e.g. `2 (Dropout)`.
        layer: String,
        /// What was wrong with it.
        source: Box<NnError>,
    },
    /// A configuration value that is not valid, naming the field.
    #[error("invalid model configuration: {0}")]
    Config(String),
    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A weights file that does not match the model; every mismatch is listed and nothing
    /// was loaded.
    #[error("weights in {path} do not match the model (nothing was loaded):\n  {}", .problems.join("\n  "))]
    WeightsMismatch {
        /// The file.
        path: String,
        /// One line per mismatch.
        problems: Vec<String>,
    },
    /// A weights file that is not valid safetensors.
    #[error("{path}: not a valid safetensors file: {why}")]
    WeightsFormat {
        /// The file.
        path: String,
        /// The parser's complaint.
        why: String,
    },
    /// An initializer that could not fill a parameter.
    #[error("initializing {param}: {source}")]
    Init {
        /// The parameter's name.
        param: String,
        /// The cause.
        source: gradwell_init::InitError,
    },
    /// A model that needs more memory than the budget allows (see [`crate::MemoryBudget`]);
    /// nothing was allocated for it.
    #[error(
        "model too large for this machine: {purpose} it needs {} ({breakdown}), more than the \
         {} available ({budget}); {culprit}; use fewer or narrower layers{}, or set {} to \
         allow more",
        human_bytes(*.needed),
        human_bytes(*.available),
        if *.batches { " or smaller batches" } else { "" },
        crate::MAX_MEMORY_ENV
    )]
    TooLarge {
        /// What the memory is for (`"to build"`, `"to train"`, …).
        purpose: &'static str,
        /// The bytes needed.
        needed: u64,
        /// The bytes the budget allows.
        available: u64,
        /// Where the budget comes from.
        budget: crate::BudgetSource,
        /// The parts of the total, in words.
        breakdown: String,
        /// The layer where the total passes the budget, and the largest layer.
        culprit: String,
        /// Whether batches count (smaller batches would need less).
        batches: bool,
    },
    /// A batch-norm or layer-norm error.
    #[error(transparent)]
    Norm(#[from] gradwell_norm::NormError),
}

/// The result type of this crate.
pub type Result<T, E = NnError> = std::result::Result<T, E>;
