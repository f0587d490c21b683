use thiserror::Error;

/// Why an initializer could not fill an array, or why an initializer's name did not parse.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InitError {
    /// Fans (and so every variance-scaling initializer) need a shape of rank 2 or more.
    #[error(
        "{initializer}: fan-in and fan-out cannot be computed for shape {shape:?}, which has \
         fewer than 2 dimensions"
    )]
    RankTooLow {
        /// The initializer that needed the fans.
        initializer: &'static str,
        /// The shape it was given.
        shape: Vec<usize>,
    },
    /// The initializer works on matrices only (`eye`), or needs at least a matrix
    /// (`orthogonal`), and the shape is not one.
    #[error("{initializer}: shape {shape:?} is not valid here ({why})")]
    BadShape {
        /// The initializer.
        initializer: &'static str,
        /// The shape it was given.
        shape: Vec<usize>,
        /// What it needs instead.
        why: &'static str,
    },
    /// An initializer that reads the fan-in of a layer's weight (`pytorch-default-bias`)
    /// was asked to fill an array, or for its law, without one: a layer supplies it when
    /// the initializer is the layer's bias initializer (`Init::for_bias_of`).
    #[error(
        "{initializer}: its fan-in is the layer weight's, and no weight was given; use it as a \
         layer's bias initializer, or give the fan-in as {initializer}:FAN_IN"
    )]
    FanInUnknown {
        /// The initializer.
        initializer: &'static str,
    },
    /// A parameter is outside the values the initializer accepts.
    #[error("{initializer}: {parameter} = {value} is invalid ({why})")]
    BadParameter {
        /// The initializer.
        initializer: &'static str,
        /// The parameter's name.
        parameter: &'static str,
        /// The value given.
        value: f64,
        /// What is required of it.
        why: &'static str,
    },
    /// The shape's element count overflows `usize` (or the address space).
    #[error("shape {shape:?} has more elements than can be addressed")]
    ShapeTooLarge {
        /// The shape given.
        shape: Vec<usize>,
    },
    /// `calculate_gain` was given a nonlinearity name PyTorch does not know (PyTorch's
    /// message; names are PyTorch's, case-sensitive).
    #[error("Unsupported nonlinearity {name}")]
    UnsupportedNonlinearity {
        /// The name given.
        name: String,
    },
    /// `calculate_gain('leaky_relu', param)` with a `param` that is a bool or not a number
    /// (PyTorch's message).
    #[error("negative_slope {param} not a valid number")]
    InvalidNegativeSlope {
        /// The value, as Python's `str()` prints it.
        param: String,
    },
    /// A string names no initializer.
    #[error("unknown initializer {name:?}; valid names: {valid}")]
    UnknownName {
        /// The name given.
        name: String,
        /// Every valid name, comma-separated.
        valid: String,
    },
    /// A string names an initializer but its parameters do not parse.
    #[error("initializer {spec:?}: {why}")]
    BadSpec {
        /// The whole string given.
        spec: String,
        /// What was wrong with its parameters, and what they should look like.
        why: String,
    },
}
