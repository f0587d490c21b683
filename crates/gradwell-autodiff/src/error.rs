use gradwell_tensor::ShapeError;
use thiserror::Error;

/// What can go wrong when recording or differentiating a computation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AutodiffError {
    /// Operand shapes that do not fit the operation.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// `backward` was asked of a value that is not a single number.
    #[error(
        "backward needs a scalar (one element) to start from, got shape {0:?}; reduce it with sum or mean first"
    )]
    NotScalar(Vec<usize>),
    /// An argument of an operation that is not valid (e.g. a class label out of range).
    #[error("{op}: {why}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What was wrong.
        why: String,
    },
    /// A variable from another tape, or from before the last [`crate::Tape::reset`].
    #[error("variable #{0} is not on this tape (was the tape reset since it was made?)")]
    StaleVar(usize),
    /// A gradient was asked of a value that does not require one.
    #[error("variable #{index} has no gradient: {why}")]
    NoGrad {
        /// Its position on the tape.
        index: usize,
        /// Why it has none.
        why: &'static str,
    },
    /// A gradient was asked of a value that requires one, but no backward pass reached it.
    #[error(
        "variable #{0} requires a gradient but no backward pass since it was recorded reached it (the value the pass started from does not depend on it)"
    )]
    NotReached(usize),
    /// A linear-algebra routine that did not give an answer (e.g. the SVD of a matrix
    /// holding NaN or ∞).
    #[error("{0}")]
    Linalg(String),
}

impl AutodiffError {
    /// An [`AutodiffError::Invalid`].
    pub fn invalid(op: &'static str, why: impl Into<String>) -> Self {
        AutodiffError::Invalid {
            op,
            why: why.into(),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = AutodiffError> = std::result::Result<T, E>;
