//! [`CliError`]: everything the command can refuse, each naming the value and what is
//! valid, printed as one line.

use std::path::PathBuf;

use thiserror::Error;

/// What went wrong, naming the flag or file and the value.
#[derive(Debug, Error)]
pub enum CliError {
    /// A flag's value (or the same setting in a config file) that is not valid.
    #[error("{flag} {value}: {why}")]
    Flag {
        /// The flag as typed (`--lr`) or the config field (`model.widths`).
        flag: String,
        /// The value given.
        value: String,
        /// What is wrong and what is valid.
        why: String,
    },
    /// A combination of settings that does not fit (a model that does not fit the data).
    #[error("{0}")]
    Invalid(String),
    /// A file or directory that could not be read or written, or whose contents are
    /// invalid.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// The reason.
        why: String,
    },
    /// A data error (a missing data set, a malformed file).
    #[error(transparent)]
    Data(#[from] gradwell_data::DataError),
    /// A model error.
    #[error(transparent)]
    Nn(#[from] gradwell_nn::NnError),
    /// A training error.
    #[error(transparent)]
    Train(#[from] gradwell_train::TrainError),
    /// A monitor error (plots, LSUV).
    #[error(transparent)]
    Monitor(#[from] gradwell_monitor::MonitorError),
}

/// The result of the command's operations.
pub type Result<T> = std::result::Result<T, CliError>;

impl CliError {
    /// A bad value of `flag`.
    pub fn flag(flag: &str, value: impl ToString, why: impl Into<String>) -> Self {
        CliError::Flag {
            flag: flag.to_string(),
            value: value.to_string(),
            why: why.into(),
        }
    }

    /// A file problem.
    pub fn file(path: impl Into<PathBuf>, why: impl ToString) -> Self {
        CliError::File {
            path: path.into(),
            why: why.to_string(),
        }
    }
}

/// The message on one line: line breaks (some parsers' messages have them) become `; `,
/// runs of blanks one space.
///
/// ```
/// assert_eq!(gradwell_cli::one_line("a\n\n  b"), "a; b");
/// ```
pub fn one_line(message: impl std::fmt::Display) -> String {
    message
        .to_string()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
