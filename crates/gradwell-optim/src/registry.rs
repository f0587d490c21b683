//! What the two registries share: how a registered choice (an optimizer or a schedule) is
//! named, written as text, read from a table, and changed one setting at a time.
//!
//! A registered type is plain serde data with a `Default`; the registry reads and writes it
//! through its serialized form, so the text form, the table form, the error messages and
//! [`OptimizerKind::set`](crate::OptimizerKind::set) work for every registered type without
//! code of its own.
//!
//! # Text form
//!
//! `name[:arg[,arg...]]`, where each `arg` is either a value, given in the order of
//! [`Registered::PARAMS`], or `setting=value`; values are JSON (`0.1`, `true`, `[30,60]`)
//! or a bare word (`step`, `max`). Names are kebab-case; case is ignored and `_` may stand
//! for `-`. Examples: `sgd:lr=0.1,momentum=0.9`, `step:30,0.5`, `cosine:0.01,per=step`.
//! The canonical form ([`std::fmt::Display`]) writes the canonical name, then the
//! positional settings up to the last one that differs from its default (or is
//! required), then every other setting that differs from its default, in name order. It
//! parses back to the same value.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::OptimError;

/// A type that a registry lists: its names and how it is written. Optimizers implement it
/// through [`UpdateRule`](crate::UpdateRule), schedules through
/// [`ScheduleRule`](crate::ScheduleRule).
///
/// Its serde form must be a table (a struct with named fields); its `Default` holds the
/// value of every setting that is left out (PyTorch's defaults).
pub trait Registered:
    Clone + Debug + PartialEq + Default + Serialize + DeserializeOwned + 'static
{
    /// Accepted names, kebab-case; the first is canonical, the others are aliases.
    const NAMES: &'static [&'static str];
    /// The settings that may be given by position in the text form, in that order.
    const PARAMS: &'static [&'static str] = &[];
    /// The settings that have no default and must be given.
    const REQUIRED: &'static [&'static str] = &[];

    /// Checks every setting (each against its range, and the combinations), naming the
    /// first bad one. Called whenever a value is parsed, read or built.
    ///
    /// # Errors
    /// The first setting out of range, as [`OptimError::InvalidHyperParameter`] or
    /// [`OptimError::InvalidConfig`].
    fn check(&self) -> Result<(), OptimError>;
}

/// The settings given for a registered type: positional (`None`) or named.
pub(crate) type Args = Vec<(Option<String>, Value)>;

/// Normalizes a name as typed: trimmed, lower case, `_` as `-`.
pub(crate) fn normalize(name: &str) -> String {
    name.trim().to_lowercase().replace('_', "-")
}

/// Splits `name[:args]` into the name and its arguments.
pub(crate) fn split_text(text: &str) -> Result<(String, Args), String> {
    let (name, rest) = match text.split_once(':') {
        Some((n, r)) => (n, Some(r)),
        None => (text, None),
    };
    let mut args = Vec::new();
    if let Some(rest) = rest {
        for part in split_top_level(rest)? {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("an empty setting in `{text}`"));
            }
            match part.split_once('=') {
                Some((k, v)) if is_key(k) => {
                    args.push((Some(k.trim().to_string()), value_of(v.trim())));
                }
                _ => args.push((None, value_of(part))),
            }
        }
    }
    Ok((normalize(name), args))
}

fn is_key(k: &str) -> bool {
    let k = k.trim();
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits on commas outside brackets, braces and quotes.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let (mut depth, mut quoted, mut escaped, mut start) = (0i32, false, false, 0);
    let mut parts = Vec::new();
    for (i, c) in text.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("`{c}` without its opening bracket in `{text}`"));
                }
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 || quoted {
        return Err(format!("unclosed bracket or quote in `{text}`"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

/// A value as typed: JSON, else a number in Rust's syntax (`.5`), else a bare word.
fn value_of(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    if let Some(n) = text
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

/// A value as the text form writes it: a bare word when it reads back as the same string,
/// JSON otherwise.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s)
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && value_of(s) == *v =>
        {
            s.clone()
        }
        other => other.to_string(),
    }
}

/// The serialized settings of `t` as a table.
pub(crate) fn table<T: Serialize>(t: &T) -> Map<String, Value> {
    match serde_json::to_value(t) {
        Ok(Value::Object(m)) => m,
        // A registered type is a struct with named fields, which serializes to a table.
        _ => Map::new(),
    }
}

/// `base` with `args` written over it, then checked. `fresh` says that `base` is the
/// default (parsing from a name), so that required settings must be among `args`.
pub(crate) fn apply<T: Registered>(base: &T, args: Args, fresh: bool) -> Result<T, OptimError> {
    let owner = T::NAMES[0];
    let mut map = table(base);
    let mut named = false;
    let mut given = Vec::new();
    for (i, (key, value)) in args.into_iter().enumerate() {
        let key = match key {
            Some(k) => {
                named = true;
                k
            }
            None if named => {
                return Err(OptimError::BadSetting {
                    owner,
                    setting: format!("value {}", i + 1),
                    why: "comes after a named setting: values by position come first".into(),
                });
            }
            None => match T::PARAMS.get(i) {
                Some(p) => (*p).to_string(),
                None => {
                    return Err(OptimError::BadSetting {
                        owner,
                        setting: format!("value {}", i + 1),
                        why: if T::PARAMS.is_empty() {
                            format!("is not named: {owner} takes `setting=value` only")
                        } else {
                            format!(
                                "is one too many: write {}, or name the setting (`setting=value`)",
                                usage::<T>()
                            )
                        },
                    });
                }
            },
        };
        if !map.contains_key(&key) {
            return Err(OptimError::UnknownSetting {
                owner,
                setting: key,
                known: known::<T>(),
                hint: String::new(),
            });
        }
        if given.contains(&key) {
            return Err(OptimError::BadSetting {
                owner,
                setting: key,
                why: "is given twice".into(),
            });
        }
        given.push(key.clone());
        map.insert(key, value);
    }
    if fresh && let Some(missing) = T::REQUIRED.iter().find(|r| !given.iter().any(|g| g == *r)) {
        return Err(OptimError::BadSetting {
            owner,
            setting: (*missing).to_string(),
            why: format!("has no default: write it, e.g. {}", usage::<T>()),
        });
    }
    let base_map = table(base);
    let value: T = serde_json::from_value(Value::Object(map.clone())).map_err(|e| {
        // serde_json names no field for a wrong type: find the setting that fails alone.
        let alone = |key: &String| {
            let mut one = base_map.clone();
            one.insert(key.clone(), map[key].clone());
            serde_json::from_value::<T>(Value::Object(one)).err()
        };
        let (setting, e) = given
            .iter()
            .find_map(|g| alone(g).map(|e| (g.clone(), e)))
            .unwrap_or_else(|| (given.join(", "), e));
        OptimError::BadSetting {
            owner,
            setting,
            why: format!("has the wrong type: {e}"),
        }
    })?;
    value.check()?;
    Ok(value)
}

/// The setting names of `T`, in name order, comma-separated.
pub(crate) fn known<T: Registered>() -> String {
    table(&T::default())
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

/// `name:p1[,p2]` with required settings outside brackets and aliases in parentheses,
/// e.g. `step:step_size[,gamma]`, `cosine[:eta_min] (or cosine-annealing)`.
pub(crate) fn usage<T: Registered>() -> String {
    let mut s = T::NAMES[0].to_string();
    s.push_str(&usage_params::<T>());
    if T::NAMES.len() > 1 {
        s.push_str(&format!(" (or {})", T::NAMES[1..].join(", ")));
    }
    s
}

fn usage_params<T: Registered>() -> String {
    let mut s = String::new();
    let mut open = 0;
    for (i, p) in T::PARAMS.iter().enumerate() {
        let sep = if i == 0 { ':' } else { ',' };
        if T::REQUIRED.contains(p) && open == 0 {
            s.push(sep);
        } else {
            s.push('[');
            s.push(sep);
            open += 1;
        }
        s.push_str(p);
    }
    s.push_str(&"]".repeat(open));
    s
}

/// The canonical text of `t` (see the module documentation).
pub(crate) fn text<T: Registered>(t: &T) -> String {
    let defaults = table(&T::default());
    let values = table(t);
    let differs = |k: &str| T::REQUIRED.contains(&k) || values.get(k) != defaults.get(k);
    let mut out = T::NAMES[0].to_string();
    let mut args: Vec<String> = Vec::new();
    let last = T::PARAMS
        .iter()
        .rposition(|p| differs(p))
        .map_or(0, |i| i + 1);
    for p in &T::PARAMS[..last] {
        args.push(text_of(values.get(*p).unwrap_or(&Value::Null)));
    }
    for (k, v) in &values {
        if !T::PARAMS.contains(&k.as_str()) && differs(k) {
            args.push(format!("{k}={}", text_of(v)));
        }
    }
    if !args.is_empty() {
        out.push(':');
        out.push_str(&args.join(","));
    }
    out
}

/// `t`'s table with its canonical name under `kind`, without null settings (TOML has no
/// null; a setting left out reads back as its default, which is what null stands for).
pub(crate) fn tagged<T: Registered>(t: &T) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(T::NAMES[0].into()));
    for (k, v) in table(t) {
        if !v.is_null() {
            out.insert(k, strip_nulls(v));
        }
    }
    out
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// A table read as a registered choice: its `kind` (a string) and its other settings.
pub(crate) fn untag(what: &'static str, value: Value) -> Result<(String, Args), OptimError> {
    let bad = |why: String| OptimError::BadSetting {
        owner: what,
        setting: "kind".into(),
        why,
    };
    let Value::Object(mut fields) = value else {
        return Err(bad(format!(
            "a {what} is a name (\"{}\") or a table with a `kind`, not {value}",
            if what == "optimizer" { "sgd" } else { "cosine" }
        )));
    };
    let kind = match fields.remove("kind") {
        Some(Value::String(kind)) => kind,
        Some(other) => return Err(bad(format!("must be a string, not {other}"))),
        None => return Err(bad("is missing".into())),
    };
    Ok((
        normalize(&kind),
        fields.into_iter().map(|(k, v)| (Some(k), v)).collect(),
    ))
}

/// Generates a registry enum over `Variant(module::Config)` entries: the re-export of each
/// module's public items, the enum and its `From`s, `defaults`, `valid_names`, dispatch by name, the canonical text,
/// the table form (serde), `set`, and a visitor trait through which the owner adds what is
/// particular to the registry (building). `$what` names the kind of thing in messages.
macro_rules! registry {
    (
        $(#[$meta:meta])*
        $vis:vis enum $kind:ident: $rule:ident as $what:literal, visitor $visitor:ident {
            $($variant:ident($module:ident :: $cfg:ident)),* $(,)?
        }
    ) => {
        // A module with two entries (adam: Adam and AdamW) is re-exported twice.
        $(#[allow(unused_imports)] pub use $module::*;)*

        /// Something done with the registered type of a value, whatever it is.
        pub(crate) trait $visitor {
            /// The result.
            type Out;
            /// Does it with `c`.
            fn visit<C: $rule>(self, c: &C) -> Self::Out;
        }

        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis enum $kind {
            $(
                #[doc = concat!("With its settings, [`", stringify!($cfg), "`].")]
                $variant($cfg),
            )*
        }

        $(impl From<$cfg> for $kind {
            fn from(c: $cfg) -> Self {
                $kind::$variant(c)
            }
        })*

        impl $kind {
            /// Runs `v` with the registered value inside.
            pub(crate) fn visit<V: $visitor>(&self, v: V) -> V::Out {
                match self { $($kind::$variant(c) => v.visit(c),)* }
            }

            /// One of each, with its defaults (PyTorch's), in the registry's order.
            pub fn defaults() -> Vec<$kind> {
                vec![$($kind::$variant(<$cfg>::default())),*]
            }

            /// Every name with its positional settings, comma-separated, as errors list
            /// them.
            pub fn valid_names() -> String {
                [$($crate::registry::usage::<$cfg>()),*].join(", ")
            }

            /// The canonical name.
            pub fn name(&self) -> &'static str {
                match self { $($kind::$variant(_) => <$cfg as $crate::Registered>::NAMES[0],)* }
            }

            /// Checks every setting.
            ///
            /// # Errors
            /// The first setting out of range, naming it.
            pub fn check(&self) -> Result<(), $crate::OptimError> {
                match self { $($kind::$variant(c) => $crate::Registered::check(c),)* }
            }

            /// Sets one setting by its name, through its serde form; on any error (a
            /// setting it does not have, a value of the wrong type or out of range) it
            /// changes nothing and the error names the setting and lists the valid ones.
            ///
            /// # Errors
            /// [`OptimError::UnknownSetting`]($crate::OptimError::UnknownSetting),
            /// [`OptimError::BadSetting`]($crate::OptimError::BadSetting) or a range error.
            pub fn set(&mut self, setting: &str, value: impl serde::Serialize) -> Result<(), $crate::OptimError> {
                let value = serde_json::to_value(value).map_err(|e| $crate::OptimError::BadSetting {
                    owner: self.name(),
                    setting: setting.to_string(),
                    why: e.to_string(),
                })?;
                let args = vec![(Some(setting.to_string()), value)];
                let new = match self {
                    $($kind::$variant(c) => $crate::registry::apply(c, args, false).map($kind::$variant),)*
                };
                *self = new.map_err(Self::with_hint)?;
                Ok(())
            }

            /// Names the others that have a setting this one lacks.
            fn with_hint(e: $crate::OptimError) -> $crate::OptimError {
                match e {
                    $crate::OptimError::UnknownSetting { owner, setting, known, .. } => {
                        let having: Vec<&str> = Self::defaults()
                            .iter()
                            .filter(|d| d.table().contains_key(&setting))
                            .map(Self::name)
                            .collect();
                        let hint = if having.is_empty() {
                            format!("; no {} has it", $what)
                        } else {
                            format!("; {}s that have it: {}", $what, having.join(", "))
                        };
                        $crate::OptimError::UnknownSetting { owner, setting, known, hint }
                    }
                    other => other,
                }
            }

            /// Reads a (normalized) name with its settings.
            fn from_parts(name: &str, args: $crate::registry::Args) -> Result<Self, $crate::OptimError> {
                $(if <$cfg as $crate::Registered>::NAMES.contains(&name) {
                    return $crate::registry::apply(&<$cfg>::default(), args, true)
                        .map($kind::$variant)
                        .map_err(Self::with_hint);
                })*
                Err($crate::OptimError::UnknownName {
                    what: $what,
                    name: name.to_string(),
                    valid: Self::valid_names(),
                })
            }

            /// The settings as a table (without `kind`).
            fn table(&self) -> serde_json::Map<String, serde_json::Value> {
                match self { $($kind::$variant(c) => $crate::registry::table(c),)* }
            }

            /// The table form: `kind` and every setting.
            fn tagged(&self) -> serde_json::Map<String, serde_json::Value> {
                match self { $($kind::$variant(c) => $crate::registry::tagged(c),)* }
            }

            /// Reads the text form (a string) or the table form (a table with `kind`), as
            /// serde does, with the error as an [`OptimError`]($crate::OptimError) naming
            /// the setting.
            ///
            /// # Errors
            /// An unknown name or setting, a value of the wrong type or out of range.
            pub fn from_value(value: serde_json::Value) -> Result<Self, $crate::OptimError> {
                match value {
                    serde_json::Value::String(s) => s.parse(),
                    other => {
                        let (name, args) = $crate::registry::untag($what, other)?;
                        Self::from_parts(&name, args)
                    }
                }
            }
        }

        impl std::str::FromStr for $kind {
            type Err = $crate::OptimError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let (name, args) = $crate::registry::split_text(s).map_err(|why| {
                    $crate::OptimError::BadSetting {
                        owner: $what,
                        setting: format!("`{s}`"),
                        why: format!("does not parse: {why}"),
                    }
                })?;
                Self::from_parts(&name, args)
            }
        }

        impl std::fmt::Display for $kind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self { $($kind::$variant(c) => f.write_str(&$crate::registry::text(c)),)* }
            }
        }

        impl serde::Serialize for $kind {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.tagged().serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $kind {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                Self::from_value(serde_json::Value::deserialize(d)?).map_err(D::Error::custom)
            }
        }
    };
}
pub(crate) use registry;
