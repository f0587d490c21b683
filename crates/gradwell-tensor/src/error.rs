use thiserror::Error;

/// A shape that does not fit an operation, naming the operation and every shape involved.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShapeError {
    /// Two shapes that the operation needs to agree do not.
    #[error("{op}: shapes {left:?} and {right:?} are incompatible ({why})")]
    Mismatch {
        /// The operation, e.g. `"matmul"`.
        op: &'static str,
        /// The first operand's shape.
        left: Vec<usize>,
        /// The second operand's shape.
        right: Vec<usize>,
        /// What had to agree, e.g. `"inner dimensions 3 and 4 differ"`.
        why: String,
    },
    /// An axis outside the array's dimensions.
    #[error("{op}: axis {axis} is out of range for shape {shape:?}")]
    Axis {
        /// The operation.
        op: &'static str,
        /// The axis asked for.
        axis: usize,
        /// The array's shape.
        shape: Vec<usize>,
    },
    /// An operand of the wrong rank or size.
    #[error("{op}: shape {shape:?} is not valid here ({why})")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// The offending shape.
        shape: Vec<usize>,
        /// What was expected.
        why: String,
    },
}

impl ShapeError {
    /// A [`ShapeError::Mismatch`] built from two shapes.
    pub fn mismatch(
        op: &'static str,
        left: &[usize],
        right: &[usize],
        why: impl Into<String>,
    ) -> Self {
        ShapeError::Mismatch {
            op,
            left: left.to_vec(),
            right: right.to_vec(),
            why: why.into(),
        }
    }

    /// A [`ShapeError::Invalid`] for one shape.
    pub fn invalid(op: &'static str, shape: &[usize], why: impl Into<String>) -> Self {
        ShapeError::Invalid {
            op,
            shape: shape.to_vec(),
            why: why.into(),
        }
    }
}
