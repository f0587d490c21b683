use thiserror::Error;

/// What can go wrong while monitoring, predicting, initializing or plotting.
#[derive(Debug, Error)]
pub enum MonitorError {
    /// An error from the network (shapes, configuration, a norm layer's complaint).
    #[error(transparent)]
    Nn(#[from] gradwell_nn::NnError),
    /// An error from the tape (shapes, labels).
    #[error(transparent)]
    Autodiff(#[from] gradwell_autodiff::AutodiffError),
    /// An initializer that could not fill or describe a weight.
    #[error("initializer: {0}")]
    Init(#[from] gradwell_init::InitError),
    /// An argument that is not valid, naming it and why.
    #[error("invalid {what}: {why}")]
    Invalid {
        /// The argument.
        what: &'static str,
        /// Why it is not valid.
        why: String,
    },
    /// A model the mean-field theory does not describe (batch norm, residual blocks,
    /// weights with a non-zero mean, …).
    #[error("the signal-propagation theory does not cover this model: {0}")]
    NotPlain(String),
    /// LSUV could not bring a layer's output variance to 1.
    #[error(
        "LSUV did not converge at layer {layer}: output variance {variance:.6} after \
         {iterations} iterations (target 1 ± {tolerance})"
    )]
    LsuvDidNotConverge {
        /// The layer's path.
        layer: String,
        /// Its output variance after the last iteration.
        variance: f64,
        /// The iterations spent.
        iterations: usize,
        /// The tolerance asked for.
        tolerance: f64,
    },
    /// A file that could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A record that could not be serialized.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The plotting library's complaint.
    #[error("plot {path}: {why}")]
    Plot {
        /// The file being drawn.
        path: String,
        /// The cause.
        why: String,
    },
}

/// The result type of this crate.
pub type Result<T, E = MonitorError> = std::result::Result<T, E>;

impl MonitorError {
    pub(crate) fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        MonitorError::Invalid {
            what,
            why: why.into(),
        }
    }
}
