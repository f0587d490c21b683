use gradwell_autodiff::AutodiffError;
use gradwell_tensor::ShapeError;
use thiserror::Error;

/// What can go wrong when building or running a normalization layer.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum NormError {
    /// A setting out of its range (e.g. a negative `eps`, a momentum above 1, zero features).
    #[error("{layer}: invalid setting {field} = {value} ({why})")]
    InvalidConfig {
        /// The layer (`"batch_norm"` or `"layer_norm"`).
        layer: &'static str,
        /// The setting.
        field: &'static str,
        /// Its value, as given.
        value: String,
        /// The allowed range.
        why: &'static str,
    },
    /// Batch statistics asked of a single value per channel, as PyTorch refuses them: the
    /// batch variance would be 0 and the output all β.
    #[error(
        "Expected more than 1 value per channel when training, got input size {shape:?} \
         (batch norm needs at least 2 values per channel, batch × length, to compute batch statistics)"
    )]
    TooFewValues {
        /// The input's shape.
        shape: Vec<usize>,
    },
    /// The input's feature (channel) axis does not have the layer's width.
    #[error(
        "{layer}: input of shape {shape:?} has {got} features on axis {axis}, the layer has {expected}"
    )]
    Features {
        /// The layer.
        layer: &'static str,
        /// The input's shape.
        shape: Vec<usize>,
        /// The axis that holds the features.
        axis: usize,
        /// The layer's width.
        expected: usize,
        /// The input's width.
        got: usize,
    },
    /// A layer used with a parameter store that does not hold its parameters.
    #[error(
        "{layer}: the parameter store does not hold this layer's parameter `{param}` \
         (was the layer built on another store?)"
    )]
    ForeignStore {
        /// The layer.
        layer: &'static str,
        /// The parameter looked for.
        param: &'static str,
    },
    /// A saved state that does not fit the layer.
    #[error("{layer}: cannot load state: {why}")]
    InvalidState {
        /// The layer.
        layer: &'static str,
        /// What did not fit.
        why: String,
    },
    /// An input or parameter of the wrong shape.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// An error of the tape (e.g. a stale variable).
    #[error(transparent)]
    Autodiff(#[from] AutodiffError),
}

/// The result type of this crate.
pub type Result<T, E = NormError> = std::result::Result<T, E>;
