//! The names of the config's choices ([`Preprocess`], [`ProgressMode`]):
//! one spelling, kebab-case, for [`Display`](fmt::Display), [`FromStr`], serde (which goes
//! through the other two), command-line flags and error messages.
//!
//! Parsing ignores surrounding blanks and case, and takes `_` for `-`, so the snake_case
//! names of files written before (`unit_range`) still read.

use std::fmt;
use std::str::FromStr;

use crate::config::{Preprocess, ProgressMode};
use crate::{Result, TrainError};

/// The choice among `all` named `text` under this module's rule, or an error listing the
/// valid names.
fn parse<T: Copy>(
    what: &'static str,
    text: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T> {
    let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
    all.iter()
        .copied()
        .find(|&c| name(c) == wanted)
        .ok_or_else(|| TrainError::UnknownName {
            what,
            name: text.to_string(),
            valid: all.iter().map(|&c| name(c)).collect::<Vec<_>>().join(", "),
        })
}

/// `ALL`, `name`, `Display`, `FromStr` and the `String` conversions serde uses, from one
/// table of names.
macro_rules! names {
    ($ty:ident, $what:literal, [$($variant:ident => $name:literal),+ $(,)?]) => {
        impl $ty {
            /// Every choice, in the order names are listed in errors.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The name it is written as.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = TrainError;

            fn from_str(s: &str) -> Result<Self> {
                parse($what, s, $ty::ALL, $ty::name)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = TrainError;

            fn try_from(s: String) -> Result<Self> {
                s.parse()
            }
        }

        impl From<$ty> for String {
            fn from(c: $ty) -> String {
                c.name().to_string()
            }
        }
    };
}

names!(Preprocess, "preprocess", [
    UnitRange => "unit-range",
    Standardize => "standardize",
    StandardizeGlobal => "standardize-global",
    None => "none",
]);

names!(ProgressMode, "progress", [
    Auto => "auto",
    Bar => "bar",
    Lines => "lines",
    Off => "off",
]);
