use thiserror::Error;

/// Everything that can go wrong in this crate; each variant names the offending value,
/// parameter or setting.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OptimError {
    /// A hyper-parameter outside its valid range, caught when the optimizer, schedule or
    /// clipping rule is built.
    #[error("{owner}: {name} = {value} is invalid (must be {rule})")]
    InvalidHyperParameter {
        /// What was being built, e.g. `"SGD"` or `"OneCycleLR"`.
        owner: &'static str,
        /// The hyper-parameter, e.g. `"momentum"`.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The rule it broke, e.g. `"in [0, 1)"`.
        rule: &'static str,
    },
    /// A name that no registered optimizer or schedule has.
    #[error("unknown {what} `{name}`; valid: {valid}")]
    UnknownName {
        /// `"optimizer"` or `"schedule"`.
        what: &'static str,
        /// The name as given (normalized).
        name: String,
        /// Every valid name with its positional settings, from the registry.
        valid: String,
    },
    /// A setting that this optimizer or schedule does not have.
    #[error("{setting} is not a setting of {owner}; it has: {known}{hint}")]
    UnknownSetting {
        /// The optimizer or schedule (its canonical name).
        owner: &'static str,
        /// The setting given.
        setting: String,
        /// Its settings, comma-separated.
        known: String,
        /// Which others have the setting, if any (may be empty).
        hint: String,
    },
    /// A setting given in a form that cannot be read: the wrong type, twice, missing when
    /// it has no default, or text that does not parse.
    #[error("{owner}: {setting} {why}")]
    BadSetting {
        /// The optimizer or schedule (its canonical name), or the kind of thing.
        owner: &'static str,
        /// The setting (or the text) concerned.
        setting: String,
        /// What is wrong.
        why: String,
    },
    /// A combination of settings that cannot work together (e.g. Nesterov without
    /// momentum), or a malformed list (milestones out of order).
    #[error("{owner}: {why}")]
    InvalidConfig {
        /// What was being built.
        owner: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A parameter whose value and gradient slices differ in length.
    #[error("parameter `{name}`: value has {value} elements but gradient has {grad}")]
    LengthMismatch {
        /// The parameter.
        name: String,
        /// Length of the value slice.
        value: usize,
        /// Length of the gradient slice.
        grad: usize,
    },
    /// A NaN or infinite gradient: the step was refused and no weight was changed.
    #[error(
        "parameter `{name}`: gradient element {index} is {value}; step refused, no weight was updated"
    )]
    NonFiniteGradient {
        /// The first parameter with a non-finite gradient.
        name: String,
        /// The index of its first non-finite element.
        index: usize,
        /// That element.
        value: f64,
    },
    /// The same parameter name given twice in one step.
    #[error("parameter `{name}` appears more than once in one step")]
    DuplicateParameter {
        /// The repeated name.
        name: String,
    },
    /// Optimizer state whose length does not match the parameter it is keyed to.
    #[error(
        "parameter `{name}`: optimizer state has {state} elements but the parameter has {param}"
    )]
    StateMismatch {
        /// The parameter.
        name: String,
        /// Length of the stored state.
        state: usize,
        /// Length of the parameter.
        param: usize,
    },
    /// After restoring state, a parameter the state does not know (or the state names one
    /// the step was not given): the state belongs to a different model.
    #[error("restored optimizer state does not fit the model: {why}")]
    StateModelMismatch {
        /// Which name is missing on which side.
        why: String,
    },
    /// State that cannot be loaded into this optimizer (other kind, other buffers).
    #[error("cannot load optimizer state: {why}")]
    BadState {
        /// What is wrong with it.
        why: String,
    },
    /// The total gradient norm is NaN or infinite and clipping was asked to fail on that;
    /// no gradient was modified.
    #[error(
        "total gradient norm is {norm} (first non-finite gradient in `{param}`); gradients left unchanged"
    )]
    NonFiniteNorm {
        /// The total norm.
        norm: f64,
        /// The first parameter whose gradient holds a non-finite element (empty if the
        /// norm overflowed from finite elements).
        param: String,
    },
    /// An optimizer without a momentum-like setting was asked to set one (e.g. by a
    /// one-cycle schedule cycling momentum).
    #[error("{optimizer} has no momentum to set{why}")]
    NoMomentum {
        /// The optimizer.
        optimizer: &'static str,
        /// Extra detail (may be empty).
        why: &'static str,
    },
    /// A schedule error: stepped past its end, missing metric, or state of another kind.
    #[error("{schedule}: {why}")]
    Schedule {
        /// The schedule.
        schedule: &'static str,
        /// What went wrong.
        why: String,
    },
}
