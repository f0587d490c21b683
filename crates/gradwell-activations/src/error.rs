use thiserror::Error;

/// What went wrong building or applying an activation, naming the activation or the
/// operation and the offending value.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ActivationError {
    /// A name that no activation has.
    #[error("unknown activation `{name}`; valid names: {valid}")]
    UnknownName {
        /// The name as given.
        name: String,
        /// Every valid name with its optional parameters, e.g. `leaky-relu[:slope]`.
        valid: String,
    },
    /// A parameter that is not a number.
    #[error("activation `{activation}`: parameter `{text}` is not a number")]
    BadNumber {
        /// The activation's canonical name.
        activation: &'static str,
        /// The text that failed to parse.
        text: String,
    },
    /// More parameters than the activation takes.
    #[error("activation `{activation}` takes at most {max} parameter(s) ({expected}), got {got}")]
    TooManyParams {
        /// The activation's canonical name.
        activation: &'static str,
        /// How many it takes.
        max: usize,
        /// Their names, comma-separated.
        expected: String,
        /// How many were given.
        got: usize,
    },
    /// A parameter outside its valid range.
    #[error("activation `{activation}`: {param} = {value} is invalid ({why})")]
    InvalidParam {
        /// The activation's canonical name.
        activation: &'static str,
        /// The parameter's name.
        param: &'static str,
        /// The value given.
        value: f64,
        /// What it must satisfy.
        why: &'static str,
    },
    /// An axis outside the array's dimensions.
    #[error("{op}: axis {axis} is out of range for shape {shape:?}")]
    Axis {
        /// The operation, e.g. `"softmax"`.
        op: &'static str,
        /// The axis asked for.
        axis: usize,
        /// The array's shape.
        shape: Vec<usize>,
    },
    /// Two arrays that must have the same shape do not.
    #[error("{op}: shapes {left:?} and {right:?} differ")]
    ShapeMismatch {
        /// The operation, e.g. `"softmax_backward"`.
        op: &'static str,
        /// The first array's shape (the forward output).
        left: Vec<usize>,
        /// The second array's shape (the output gradient).
        right: Vec<usize>,
    },
}

/// `Ok(value)` when it is finite, else an [`ActivationError::InvalidParam`].
pub(crate) fn finite(
    activation: &'static str,
    param: &'static str,
    value: f64,
) -> Result<f64, ActivationError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ActivationError::InvalidParam {
            activation,
            param,
            value,
            why: "must be finite",
        })
    }
}
