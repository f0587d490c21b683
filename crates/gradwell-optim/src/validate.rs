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
