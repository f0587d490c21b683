//! Range checks for hyper-parameters, each returning an error that names the value.

use crate::OptimError;

fn bad(owner: &'static str, name: &'static str, value: f64, rule: &'static str) -> OptimError {
    OptimError::InvalidHyperParameter {
        owner,
        name,
        value,
        rule,
    }
}

/// The value of [`MAX_LR`], written once for the constant and the error message.
macro_rules! max_lr {
    () => {
        100
    };
}

/// The largest learning rate accepted: a rate above it is taken for a typo (optimizers
/// diverge far below it on any normalized problem). PyTorch accepts any rate.
#[allow(
    clippy::unnecessary_cast,
    reason = "the literal is an integer, for the message"
)]
pub const MAX_LR: f64 = max_lr!() as f64;

/// A configured learning rate: `0 < lr <= MAX_LR`.
pub(crate) fn lr(owner: &'static str, name: &'static str, value: f64) -> Result<(), OptimError> {
    if value > 0.0 && value <= MAX_LR {
        Ok(())
    } else {
        Err(bad(
            owner,
            name,
            value,
            concat!("in (0, ", max_lr!(), "]; a larger rate is taken for a typo"),
        ))
    }
}

/// `value > 0` and finite.
pub(crate) fn positive(
    owner: &'static str,
    name: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    if value > 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(bad(owner, name, value, "> 0 and finite"))
    }
}

/// `value >= 0` and finite.
pub(crate) fn non_negative(
    owner: &'static str,
    name: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    if value >= 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(bad(owner, name, value, ">= 0 and finite"))
    }
}

/// `0 <= value < 1`.
pub(crate) fn unit_half_open(
    owner: &'static str,
    name: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(bad(owner, name, value, "in [0, 1)"))
    }
}

/// `0 <= value <= 1`.
pub(crate) fn unit_closed(
    owner: &'static str,
    name: &'static str,
    value: f64,
) -> Result<(), OptimError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(bad(owner, name, value, "in [0, 1]"))
    }
}

/// A count of steps `>= 1`.
pub(crate) fn count(owner: &'static str, name: &'static str, value: u64) -> Result<(), OptimError> {
    if value >= 1 {
        Ok(())
    } else {
        Err(bad(owner, name, value as f64, ">= 1"))
    }
}
