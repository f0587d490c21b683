//! `gradwell sweep`: a grid of training runs from one file, run here or as a Slurm job
//! array, re-runnable until every run has finished.
//!
//! A sweep file (`SWEEP.toml`) holds a base run and its axes, its listed runs, or both:
//!
//! ```toml
//! name = "depth-lr"              # optional; the file's name without .toml by default
//! base = "digits.toml"           # a run config (as `train --config`), read beside this file
//! remove_finished_checkpoints = false   # optional; true removes a finished run's checkpoints
//! # or the base inline, as a [base] table holding the same TOML:
//! # [base.model]
//! # hidden = [64]
//! [axes]
//! "model.depth" = [2, 4, 8]                          # a list of values
//! "optimizer.lr" = { from = 1e-3, to = 1e-1, steps = 3, log = true }  # a range
//! seed = [0, 1]
//! ```
//!
//! - **Axes** ([`Axis`]): each key is a field of the run config, as a dotted path
//!   (`model.activation`, `train.epochs`, `data.test_fraction`); a path whose first part is
//!   not a section of the base but is a field of its `[train]` is read there (`seed`,
//!   `epochs`, `optimizer.lr`). Two paths are the sweep's own: [`DEPTH_AXIS`] (that many
//!   hidden layers, each as wide as the base's first hidden layer) and [`SIGMA_W2_AXIS`]
//!   (the weights drawn from N(0, σ_w²/fan_in), `variance-scaling:σ_w²,fan-in,normal`).
//!   A value is a list, or a range `{ from, to, steps, log }`: `steps` values from `from`
//!   to `to` inclusive, evenly spaced, or geometrically with `log = true` (both ends then
//!   above 0), to 12 significant digits; with whole-number ends the values are rounded to
//!   whole numbers.
//! - **Listed runs** ([`Listed`]): runs that are no grid (the lab's, `gradwell lab`) are
//!   listed as `[[run]]` tables, in order, each with a `name` and the fields it writes over
//!   the base, as dotted keys or nested tables (the paths of the axes: `model.activation`,
//!   `seed`, [`DEPTH_AXIS`]; a table is merged into the base's key by key, any other value,
//!   a list too, replaces the base's):
//!
//!   ```toml
//!   [[run]]
//!   name = "relu-he"
//!   model.activation = "relu"
//!   model.init = "he-normal"
//!   [[run]]
//!   name = "sigmoid-plain"
//!   model.activation = "sigmoid"
//!   ```
//!
//!   Each listed run keeps its name (in its `run.json` and the reports). Listed runs and
//!   axes combine: each listed run is run at every point of the axes' grid, as
//!   `<name>-<j>` (j the point's number in the grid). Refused, naming the run (its number
//!   in the list) and the field: a run without a name or with another run's name, a
//!   field both a run and an axis set, a field the run config does not have, `run = []`,
//!   and a file with neither axes nor runs.
//! - **Expansion** ([`Sweep::load`]): each listed run (or the base alone) times the
//!   Cartesian product of the axes in the file's order, the listed run the slowest digit
//!   and the last axis the fastest, numbered 0 to n−1. Every run's config is built and
//!   checked (as `train --config` checks a file) before anything is written or run; a
//!   refusal names the run, its listed name and axis values, and the field.
//! - **The sweep folder** ([`Sweep::prepare`]): `sweep.json` (the axes and, per run, its
//!   listed name, values and config) and `runs/<k>/config.toml`, a self-contained config
//!   of run k (named `<sweep>-<k>`, or after its listed run, its checkpoints in
//!   `runs/<k>/checkpoints`).
//! - **A run is finished** when `runs/<k>/run.json` exists: `train --out` writes it last,
//!   atomically, when training ends (a run that diverged writes it too: divergence is a
//!   result). Re-running the sweep skips the finished runs and runs the others again; each
//!   task resumes from its newest checkpoint ([`train_args`]: `--resume`), so a run killed
//!   mid-way continues where its last checkpoint left it. A finished run's checkpoints are
//!   kept, unless the file says `remove_finished_checkpoints = true` (as the lab's files
//!   do, to keep within their folder budget): then they are removed once the run finished
//!   (here and by the job array's task), its weights staying in its `model.safetensors`.
//! - `runs/<k>/status` says `running` (a Slurm task: [`slurm::RUNNING_TASK`] and its
//!   `<job>_<k>`, which the report checks with `squeue`, [`slurm::checked_status`]: a task
//!   killed by SIGKILL is [`slurm::LOST`]), `finished`, `failed: ...` or (a Slurm task ended
//!   by SIGTERM) [`slurm::STOPPED`], and `runs/<k>/error.log` holds the standard error of the
//!   run's last attempt (why it failed, or its epoch lines and findings).
//!
//! [`run_local`] runs the runs here, N child processes at once; [`slurm`] writes and
//! submits the job array; [`report`] merges a sweep folder into a report.

pub mod report;
pub mod slurm;

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::cli::{RunnerArgs, SweepArgs};
use crate::run::{RUN_FILE, RunSummary, hold_dir, pretty, write_file};
use crate::setup::RunFile;
use crate::{CliError, Outcome, Result};

/// The sweep folder's record of the expansion: [`Sweep`] as JSON.
pub const SWEEP_FILE: &str = "sweep.json";
/// The folder of the sweep folder holding one folder per run, named by its number.
pub const RUNS_DIR: &str = "runs";
/// A run folder's config.
pub const CONFIG_FILE: &str = "config.toml";
/// A run folder's state: `running` (a Slurm task: [`slurm::RUNNING_TASK`]), `finished`,
/// `failed: ...` or [`slurm::STOPPED`].
pub const STATUS_FILE: &str = "status";
/// The standard error of a run's last attempt, whatever its end (a Slurm task's too).
pub const ERROR_LOG: &str = "error.log";
/// A run's checkpoint directory, inside its run folder.
pub const CHECKPOINT_DIR: &str = "checkpoints";
/// The sweep's own axis: this many hidden layers, each as wide as the first hidden layer
/// of the base (`model.hidden`, which must be given).
pub const DEPTH_AXIS: &str = "model.depth";
/// The sweep's own axis: weights from N(0, σ_w²/fan_in), i.e. `model.init =
/// "variance-scaling:σ_w²,fan-in,normal"`.
pub const SIGMA_W2_AXIS: &str = "model.sigma_w2";

/// One axis: a config field and its values, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// The field's dotted path, as the sweep file writes it (`optimizer.lr`).
    pub path: String,
    /// The values, in order.
    pub values: Vec<toml::Value>,
}

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRun {
    /// Its number, 0 to n−1: its folder is `runs/<index>`.
    pub index: usize,
    /// The name of the listed run (`[[run]]`) it comes from, if the sweep lists runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<String>,
    /// Its value on each axis, in the axes' order.
    pub values: Vec<toml::Value>,
    /// Its config, as written to `runs/<index>/config.toml`.
    pub config: String,
}

/// An expanded sweep: what `sweep.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// The sweep's name (its runs are `<name>-<k>`).
    pub name: String,
    /// The axes, in the file's order.
    pub axes: Vec<Axis>,
    /// Every run, in order.
    pub runs: Vec<SweepRun>,
    /// Whether a run's checkpoints are removed once it finished (the file's
    /// `remove_finished_checkpoints`, off by default: a user's checkpoints are kept, so a
    /// finished run can still be trained further with `--resume`).
    #[serde(default)]
    pub remove_finished_checkpoints: bool,
}

/// The sweep file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    name: Option<String>,
    base: Option<toml::Value>,
    axes: Option<Node>,
    run: Option<Vec<toml::Table>>,
    remove_finished_checkpoints: Option<bool>,
}

/// A listed run (`[[run]]`): its name and the fields it writes over the base, as dotted
/// paths.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Its fields, as dotted paths (`model.activation`), each with its value.
    pub fields: Vec<(String, toml::Value)>,
}

/// The leaves of `table` as dotted paths below `prefix`: a table is walked into, any
/// other value (a list too) is a leaf.
pub(crate) fn leaves(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => leaves(&path, t, out),
            other => out.push((path, other.clone())),
        }
    }
}

/// The listed runs of a sweep file, in order: each named (a name no other run has), with
/// at least its name.
fn listed_runs(runs: Vec<toml::Table>) -> std::result::Result<Vec<Listed>, String> {
    let mut out: Vec<Listed> = Vec::with_capacity(runs.len());
    for (i, mut t) in runs.into_iter().enumerate() {
        let name = match t.remove("name") {
            Some(toml::Value::String(n)) => n,
            Some(other) => return Err(format!("run {i}: name = {other} is not a string")),
            None => {
                return Err(format!(
                    "run {i} has no name: give each [[run]] a name = \"...\" (its runs' name in run.json and the report)"
                ));
            }
        };
        check_name(&name).map_err(|why| format!("run {i}: name {name:?}: {why}"))?;
        if let Some(j) = out.iter().position(|l| l.name == name) {
            return Err(format!(
                "run {i}: name {name:?} is also run {j}'s: each listed run needs its own name"
            ));
        }
        let mut fields = Vec::new();
        leaves("", &t, &mut fields);
        out.push(Listed { name, fields });
    }
    Ok(out)
}

/// A value of the `[axes]` table (its tables' keys come sorted: [`key_places`] gives the
/// file's order back).
#[derive(Debug, Clone)]
enum Node {
    Value(toml::Value),
    Table(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of values, a range or a table of axes")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Node, E> {
                Ok(Node::Value(toml::Value::Boolean(v)))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Node, E> {
                Ok(Node::Value(toml::Value::Integer(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Node, E> {
                i64::try_from(v)
                    .map(|v| Node::Value(toml::Value::Integer(v)))
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Node, E> {
                Ok(Node::Value(toml::Value::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Node, E> {
                Ok(Node::Value(toml::Value::String(v.to_string())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> std::result::Result<Node, A::Error> {
                let mut values = Vec::new();
                while let Some(v) = a.next_element::<toml::Value>()? {
                    values.push(v);
                }
                Ok(Node::Value(toml::Value::Array(values)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> std::result::Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Node>()? {
                    entries.push((k, v));
                }
                Ok(Node::Table(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// The keys of a range table.
const RANGE_KEYS: [&str; 4] = ["from", "to", "steps", "log"];

/// The axes of `node`, whose path is `prefix`, in the file's order.
fn axes_of(prefix: &str, node: &Node, out: &mut Vec<Axis>) -> Result<()> {
    let field = |why: String| CliError::Invalid(format!("axes.{prefix}: {why}"));
    match node {
        Node::Value(toml::Value::Array(values)) => {
            if values.is_empty() {
                return Err(field("the list of values is empty".into()));
            }
            out.push(Axis {
                path: prefix.to_string(),
                values: values.clone(),
            });
        }
        Node::Value(v) => {
            return Err(field(format!(
                "{v} is one value: give a list of values ([{v}] for one) or a range {{ from, to, steps, log }}"
            )));
        }
        Node::Table(entries) if entries.iter().any(|(k, _)| k == "from") => {
            out.push(Axis {
                path: prefix.to_string(),
                values: range(entries).map_err(field)?,
            });
        }
        Node::Table(entries) => {
            if entries.is_empty() && !prefix.is_empty() {
                return Err(field(
                    "an empty table: give a list of values or a range".into(),
                ));
            }
            for (k, v) in entries {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                axes_of(&path, v, out)?;
            }
        }
    }
    Ok(())
}

/// Where each axis's key stands in the sweep file's text (byte offsets), by its path.
fn key_places(text: &str) -> Vec<(String, usize)> {
    fn walk(prefix: &str, table: &toml::de::DeTable<'_>, out: &mut Vec<(String, usize)>) {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            match v.get_ref() {
                toml::de::DeValue::Table(t) if !t.keys().any(|k| k.get_ref() == "from") => {
                    walk(&path, t, out);
                }
                _ => out.push((path, k.span().start)),
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(doc) = toml::de::DeTable::parse(text)
        && let Some(axes) = doc.get_ref().iter().find(|(k, _)| k.get_ref() == "axes")
        && let toml::de::DeValue::Table(t) = axes.1.get_ref()
    {
        walk("", t, &mut out);
    }
    out
}

/// The values of a range `{ from, to, steps, log }`.
fn range(entries: &[(String, Node)]) -> std::result::Result<Vec<toml::Value>, String> {
    let usage = "a range is { from = A, to = B, steps = N } with optional log = true";
    let mut from = None;
    let mut to = None;
    let mut steps = None;
    let mut log = false;
    for (k, v) in entries {
        let Node::Value(v) = v else {
            return Err(format!("`{k}` is a table; {usage}"));
        };
        match (k.as_str(), v) {
            ("from", toml::Value::Integer(_) | toml::Value::Float(_)) => from = Some(v.clone()),
            ("to", toml::Value::Integer(_) | toml::Value::Float(_)) => to = Some(v.clone()),
            ("steps", toml::Value::Integer(n)) if *n >= 1 => steps = Some(*n as usize),
            ("log", toml::Value::Boolean(b)) => log = *b,
            ("from" | "to", _) => return Err(format!("`{k}` = {v} is not a number; {usage}")),
            ("steps", _) => return Err(format!("`steps` = {v} must be a whole number >= 1")),
            ("log", _) => return Err(format!("`log` = {v} must be true or false")),
            _ => {
                return Err(format!(
                    "unknown key `{k}`; valid: {}; {usage}",
                    RANGE_KEYS.join(", ")
                ));
            }
        }
    }
    let (Some(from), Some(to), Some(steps)) = (from, to, steps) else {
        return Err(format!("`from`, `to` and `steps` are all needed; {usage}"));
    };
    let whole = from.is_integer() && to.is_integer();
    let num = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
    let (a, b) = (num(&from).unwrap_or(f64::NAN), num(&to).unwrap_or(f64::NAN));
    if !a.is_finite() || !b.is_finite() {
        return Err(format!("`from` and `to` must be finite; {usage}"));
    }
    if log && !(a > 0.0 && b > 0.0) {
        return Err(format!(
            "a log range needs `from` and `to` above 0, got {a} and {b}"
        ));
    }
    let at = |i: usize| -> f64 {
        if steps == 1 || i == 0 {
            return a;
        }
        if i == steps - 1 {
            return b;
        }
        let t = i as f64 / (steps - 1) as f64;
        if log {
            (a.ln() + (b.ln() - a.ln()) * t).exp()
        } else {
            a + (b - a) * t
        }
    };
    if whole {
        let values: Vec<i64> = (0..steps).map(|i| at(i).round() as i64).collect();
        if values.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!(
                "{steps} whole numbers from {a} to {b} repeat ({}): give fewer steps or a list",
                values
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(values.into_iter().map(toml::Value::Integer).collect())
    } else {
        // To 12 significant digits: 3.3, not 3.3000000000000003, in configs and labels.
        let round = |x: f64| format!("{x:.11e}").parse().unwrap_or(x);
        Ok((0..steps)
            .map(|i| toml::Value::Float(round(at(i))))
            .collect())
    }
}

/// `path` inside the base table: a path whose first part is not a key of the base but is
/// one of its `[train]` is read in `[train]`.
fn resolve(base: &toml::Table, path: &str) -> String {
    let first = path.split('.').next().unwrap_or(path);
    let in_train = base
        .get("train")
        .and_then(toml::Value::as_table)
        .is_some_and(|t| t.contains_key(first));
    if !base.contains_key(first) && in_train {
        format!("train.{path}")
    } else {
        path.to_string()
    }
}

/// Sets `path` (dotted) of `table` to `value`, creating the tables on the way.
fn set_path(
    table: &mut toml::Table,
    path: &str,
    value: toml::Value,
) -> std::result::Result<(), String> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or(path);
    let mut t = table;
    let mut at = String::new();
    for p in parts {
        at = if at.is_empty() {
            p.to_string()
        } else {
            format!("{at}.{p}")
        };
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{at}` is not a table in the base, so it has no `{last}`"))?;
    }
    t.insert(last.to_string(), value);
    Ok(())
}

/// A value as a label writes it: strings without quotes.
pub(crate) fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Sweep {
    /// Reads a sweep file and expands it, every run's config built and checked.
    ///
    /// # Errors
    /// A file that cannot be read or parsed, an axis that is not a list or a range, or a
    /// run whose config is refused (naming the run, its values and the field).
    pub fn load(path: &Path) -> Result<Sweep> {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::file(path, e))?;
        Sweep::from_text(&text, path)
    }

    /// A sweep file's text, read from `path` (which names the sweep when the file does
    /// not, and beside which a `base = "run.toml"` is read), expanded as [`Sweep::load`]
    /// expands it.
    ///
    /// # Errors
    /// As [`Sweep::load`].
    pub fn from_text(text: &str, path: &Path) -> Result<Sweep> {
        let file: SweepFile = toml::from_str(text).map_err(|e| {
            let mut e = e;
            e.set_input(None);
            CliError::file(path, crate::one_line(e))
        })?;
        let name = match file.name {
            Some(n) => n,
            None => path
                .file_stem()
                .map_or_else(|| "sweep".into(), |s| s.to_string_lossy().into_owned()),
        };
        check_name(&name).map_err(|why| CliError::file(path, format!("name {name:?}: {why}")))?;
        let (base_text, origin) = match file.base {
            None => (String::new(), path.to_path_buf()),
            Some(toml::Value::String(p)) => {
                let p = path.parent().unwrap_or(Path::new("")).join(p);
                let text = std::fs::read_to_string(&p).map_err(|e| CliError::file(&p, e))?;
                (text, p)
            }
            Some(toml::Value::Table(t)) => (
                toml::to_string(&t).map_err(|e| CliError::file(path, e))?,
                path.join("[base]"),
            ),
            Some(other) => {
                return Err(CliError::file(
                    path,
                    format!(
                        "base = {other}: give a run config's path (base = \"run.toml\") or a [base] table"
                    ),
                ));
            }
        };
        let mut base = RunFile::parse_toml(&base_text, &origin)?;
        // Each run keeps its checkpoints in its own folder ([`run_config`]), whatever the
        // base says: `checkpoint.every_steps` may be given without a directory.
        base.train.checkpoint.dir = Some(PathBuf::from(RUNS_DIR));
        base.check(&origin)?;
        let mut axes = Vec::new();
        if let Some(node) = &file.axes {
            axes_of("", node, &mut axes).map_err(|e| CliError::file(path, e))?;
        }
        // The table's keys come sorted; the file's order is that of their places in the text.
        let places = key_places(text);
        axes.sort_by_key(|a| places.iter().find(|(p, _)| *p == a.path).map(|(_, at)| *at));
        let listed = match file.run {
            Some(runs) if runs.is_empty() => {
                return Err(CliError::file(
                    path,
                    "run = []: list at least one run as a [[run]] table, or leave `run` out",
                ));
            }
            Some(runs) => listed_runs(runs).map_err(|e| CliError::file(path, e))?,
            None => Vec::new(),
        };
        if axes.is_empty() && listed.is_empty() {
            return Err(CliError::file(
                path,
                "no [axes] and no [[run]]: give at least one axis (e.g. seed = [0, 1, 2]) or one listed run",
            ));
        }
        let mut sweep = Sweep::expand(name, &base, listed, axes)?;
        sweep.remove_finished_checkpoints = file.remove_finished_checkpoints.unwrap_or(false);
        Ok(sweep)
    }

    /// The runs of `listed` (none: the base alone) times the Cartesian product of `axes`
    /// over `base`, the listed run the slower digit, the last axis the fastest, each
    /// config checked; finished runs keep their checkpoints.
    ///
    /// # Errors
    /// A run that sets a field an axis sets too, or a run whose config is refused, naming the run, its values and the field.
    pub fn expand(
        name: String,
        base: &RunFile,
        listed: Vec<Listed>,
        axes: Vec<Axis>,
    ) -> Result<Sweep> {
        let toml::Value::Table(base_table) = toml::Value::try_from(base)
            .map_err(|e| CliError::Invalid(format!("the base config: {e}")))?
        else {
            return Err(CliError::Invalid("the base config is not a table".into()));
        };
        for (i, l) in listed.iter().enumerate() {
            for (path, _) in &l.fields {
                let field = resolve(&base_table, path);
                if let Some(a) = axes.iter().find(|a| resolve(&base_table, &a.path) == field) {
                    return Err(CliError::Invalid(format!(
                        "run {i} ({}): {path} is also the axis {}: set a field in one place, the run or the axes",
                        l.name, a.path
                    )));
                }
            }
        }
        let grid = axes.iter().map(|a| a.values.len()).product::<usize>();
        let lists: Vec<Option<&Listed>> = if listed.is_empty() {
            vec![None]
        } else {
            listed.iter().map(Some).collect()
        };
        let mut runs = Vec::with_capacity(lists.len() * grid);
        for l in lists {
            for point in 0..grid {
                let index = runs.len();
                // Mixed radix, the last axis the fastest digit.
                let mut rest = point;
                let mut values = vec![toml::Value::Boolean(false); axes.len()];
                for (i, a) in axes.iter().enumerate().rev() {
                    values[i] = a.values[rest % a.values.len()].clone();
                    rest /= a.values.len();
                }
                // Unique: listed names are, and a grid point's number is a number.
                let run_name = match l {
                    None => format!("{name}-{index}"),
                    Some(l) if axes.is_empty() => l.name.clone(),
                    Some(l) => format!("{}-{point}", l.name),
                };
                let mut fields: Vec<(String, String, toml::Value)> = l
                    .map(|l| {
                        l.fields
                            .iter()
                            .map(|(p, v)| (format!("run.{p}"), p.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                fields.extend(
                    axes.iter()
                        .zip(&values)
                        .map(|(a, v)| (format!("axes.{}", a.path), a.path.clone(), v.clone())),
                );
                let origin = format!(
                    "run {index} ({})",
                    label(l.map(|l| l.name.as_str()), &axes, &values)
                );
                let config = run_config(&run_name, &origin, &base_table, &fields, index)?;
                runs.push(SweepRun {
                    index,
                    listed: l.map(|l| l.name.clone()),
                    values,
                    config,
                });
            }
        }
        Ok(Sweep {
            name,
            axes,
            runs,
            remove_finished_checkpoints: false,
        })
    }

    /// Run `k`'s listed run's name and values: `name, path=value, ...`.
    pub fn label(&self, k: usize) -> String {
        let r = &self.runs[k];
        label(r.listed.as_deref(), &self.axes, &r.values)
    }

    /// Writes the sweep folder `dir` (locked by the caller): `sweep.json`, and the config of
    /// every run not finished; returns the numbers of those runs, in order.
    ///
    /// # Errors
    /// A folder that holds another sweep (its `sweep.json` differs), files that cannot be
    /// written.
    pub fn prepare(&self, dir: &Path) -> Result<Vec<usize>> {
        let record = dir.join(SWEEP_FILE);
        if record.is_file() {
            let old = Sweep::read(dir)?;
            if old != *self {
                let why = match old.runs.iter().zip(&self.runs).find(|(a, b)| a != b) {
                    _ if old.axes != self.axes => "its axes differ".to_string(),
                    Some((a, _)) => format!("run {} differs", a.index),
                    None => format!(
                        "it has {} runs, this sweep {}",
                        old.runs.len(),
                        self.runs.len()
                    ),
                };
                return Err(CliError::flag(
                    "--out",
                    dir.display(),
                    format!(
                        "holds another sweep ({SWEEP_FILE}: {why}); give another --out, or remove the folder to start this sweep afresh"
                    ),
                ));
            }
        }
        write_file(&record, pretty(self))?;
        let mut todo = Vec::new();
        for r in &self.runs {
            if is_finished(dir, r.index) {
                continue;
            }
            let run_dir = run_dir(dir, r.index);
            std::fs::create_dir_all(&run_dir).map_err(|e| CliError::file(&run_dir, e))?;
            write_file(&run_dir.join(CONFIG_FILE), &r.config)?;
            todo.push(r.index);
        }
        Ok(todo)
    }

    /// Reads `sweep.json` of a sweep folder.
    ///
    /// # Errors
    /// A missing or malformed file.
    pub fn read(dir: &Path) -> Result<Sweep> {
        let path = dir.join(SWEEP_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| CliError::file(&path, e))?;
        serde_json::from_str(&text).map_err(|e| CliError::file(&path, e))
    }
}

/// `listed, path=value, ...` of one run.
fn label(listed: Option<&str>, axes: &[Axis], values: &[toml::Value]) -> String {
    listed
        .map(str::to_string)
        .into_iter()
        .chain(
            axes.iter()
                .zip(values)
                .map(|(a, v)| format!("{}={}", a.path, show(v))),
        )
        .collect::<Vec<_>>()
        .join(", ")
}

/// A sweep's name becomes its runs' names and Slurm's job name: letters, digits, `-`,
/// `_` and `.`.
fn check_name(name: &str) -> std::result::Result<(), String> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(())
    } else {
        Err("a sweep's name is letters, digits, `-`, `_` and `.`".into())
    }
}

/// The config of run `index`, named `name`: `base` with `fields` written over it, each
/// `(where, path, value)` (`where` is how the file names the field: `axes.seed`,
/// `run.model.activation`), as TOML, checked; errors name `origin` (the run).
fn run_config(
    name: &str,
    origin: &str,
    base: &toml::Table,
    fields: &[(String, String, toml::Value)],
    index: usize,
) -> Result<String> {
    let origin = PathBuf::from(origin);
    let refuse = |why: String| CliError::file(&origin, why);
    let mut table = base.clone();
    table.insert("name".into(), toml::Value::String(name.to_string()));
    let mut own = Vec::new();
    for (at, path, v) in fields {
        if path == DEPTH_AXIS || path == SIGMA_W2_AXIS {
            own.push((path, v));
            continue;
        }
        set_path(&mut table, &resolve(base, path), v.clone())
            .map_err(|why| refuse(format!("{at}: {why}")))?;
    }
    // The sweep's own axes last: the depth repeats the width the other axes left.
    for (path, v) in own {
        let model = table
            .entry("model")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(model) = model.as_table_mut() else {
            return Err(refuse("`model` is not a table".into()));
        };
        if path == DEPTH_AXIS {
            let depth = v
                .as_integer()
                .and_then(|d| usize::try_from(d).ok())
                .ok_or_else(|| {
                    refuse(format!(
                        "{DEPTH_AXIS} = {v}: a depth is a whole number >= 0"
                    ))
                })?;
            let width = model
                .get("hidden")
                .and_then(toml::Value::as_array)
                .and_then(|h| h.first())
                .cloned()
                .ok_or_else(|| {
                    refuse(format!(
                        "{DEPTH_AXIS} repeats the width of the first hidden layer: give the base's `model.hidden` (e.g. hidden = [64])"
                    ))
                })?;
            model.insert("hidden".into(), toml::Value::Array(vec![width; depth]));
        } else {
            let s = v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| {
                    refuse(format!("{SIGMA_W2_AXIS} = {v}: σ_w² is a number above 0"))
                })?;
            model.insert(
                "init".into(),
                toml::Value::String(format!("variance-scaling:{s},fan-in,normal")),
            );
        }
    }
    absolute_data_paths(&mut table).map_err(refuse)?;
    // Every run keeps its checkpoints in its own folder (paths are the sweep folder's).
    set_path(
        &mut table,
        "train.checkpoint.dir",
        toml::Value::String(format!("{RUNS_DIR}/{index}/{CHECKPOINT_DIR}")),
    )
    .map_err(refuse)?;
    let text = toml::to_string(&table).map_err(|e| refuse(e.to_string()))?;
    // Parsed without the generated text, so that an error names the field, not a line.
    let run: RunFile = toml::from_str(&text).map_err(|mut e| {
        e.set_input(None);
        refuse(crate::one_line(e))
    })?;
    run.check(&origin)?;
    if run.network.is_none() {
        run.model
            .validate()
            .map_err(|e| refuse(format!("in `model`: {}", crate::one_line(e))))?;
    }
    run.to_toml()
}

/// Makes a run's relative data paths (`data.source` when it names a file or folder, and
/// `data.dir`) absolute against the current directory, where `train --config` would read
/// them: the runs run in the sweep folder, maybe on another machine.
fn absolute_data_paths(table: &mut toml::Table) -> std::result::Result<(), String> {
    let Some(data) = table.get_mut("data").and_then(toml::Value::as_table_mut) else {
        return Ok(());
    };
    for key in ["source", "dir"] {
        let Some(toml::Value::String(p)) = data.get(key) else {
            continue;
        };
        if key == "source" && p.parse::<gradwell_data::Source>().is_ok() {
            continue;
        }
        if Path::new(p).is_relative() {
            let abs = std::path::absolute(p).map_err(|e| format!("data.{key} = {p:?}: {e}"))?;
            let abs = abs
                .to_str()
                .ok_or_else(|| format!("data.{key}: {} is not valid UTF-8", abs.display()))?
                .to_string();
            data.insert(key.into(), toml::Value::String(abs));
        }
    }
    Ok(())
}

/// Run `k`'s folder in the sweep folder `dir`.
pub fn run_dir(dir: &Path, k: usize) -> PathBuf {
    dir.join(RUNS_DIR).join(k.to_string())
}

/// Whether run `k` has finished: its `run.json` exists.
pub fn is_finished(dir: &Path, k: usize) -> bool {
    run_dir(dir, k).join(RUN_FILE).is_file()
}

/// The `gradwell` arguments of run `k` (a number, or a shell variable holding one), run in
/// the sweep folder: train from its config into its folder, resuming from its newest
/// checkpoint if there is one.
pub fn train_args(k: &str) -> Vec<String> {
    let run = format!("{RUNS_DIR}/{k}");
    vec![
        "train".into(),
        "--config".into(),
        format!("{run}/{CONFIG_FILE}"),
        "--out".into(),
        run.clone(),
        "--checkpoint-dir".into(),
        format!("{run}/{CHECKPOINT_DIR}"),
        "--resume".into(),
    ]
}

/// What the local runs came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LocalOutcome {
    /// Runs that finished now.
    pub finished: Vec<usize>,
    /// Runs that failed now.
    pub failed: Vec<usize>,
}

/// Runs `todo` of the sweep in `dir` here, `jobs` child processes of `exe` (`gradwell`) at
/// once, printing a line as each ends.
///
/// # Errors
/// A status or log file that cannot be written.
pub fn run_local(
    sweep: &Sweep,
    dir: &Path,
    todo: &[usize],
    jobs: usize,
    exe: &Path,
) -> Result<LocalOutcome> {
    let queue = Mutex::new(todo.iter().copied().collect::<VecDeque<usize>>());
    let outcome = Mutex::new(LocalOutcome::default());
    let errors = Mutex::new(Vec::<CliError>::new());
    let total = todo.len();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, total.max(1)) {
            s.spawn(|| {
                loop {
                    let Some(k) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front()
                    else {
                        break;
                    };
                    match run_one(dir, k, exe, sweep.remove_finished_checkpoints) {
                        Ok(line) => {
                            let mut o = outcome.lock().unwrap_or_else(|p| p.into_inner());
                            let done = o.finished.len() + o.failed.len() + 1;
                            let ok = is_finished(dir, k);
                            if ok {
                                o.finished.push(k);
                            } else {
                                o.failed.push(k);
                            }
                            eprintln!("[{done}/{total}] run {k} ({}): {line}", sweep.label(k));
                        }
                        Err(e) => errors.lock().unwrap_or_else(|p| p.into_inner()).push(e),
                    }
                }
            });
        }
    });
    if let Some(e) = errors.into_inner().unwrap_or_else(|p| p.into_inner()).pop() {
        return Err(e);
    }
    Ok(outcome.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Removes the checkpoints of a finished run (its folder `run`) of a sweep that asks for
/// it ([`Sweep::remove_finished_checkpoints`]): the sweep never resumes it, and its
/// weights are in its `model.safetensors`.
///
/// # Errors
/// A checkpoint folder that cannot be removed.
fn remove_checkpoints(run: &Path) -> Result<()> {
    let dir = run.join(CHECKPOINT_DIR);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CliError::file(&dir, e)),
        _ => Ok(()),
    }
}

/// Runs run `k` as a child process; its line of progress.
fn run_one(dir: &Path, k: usize, exe: &Path, remove_checkpoints_when_done: bool) -> Result<String> {
    let run = run_dir(dir, k);
    let status = run.join(STATUS_FILE);
    write_file(&status, "running\n")?;
    let output = Command::new(exe)
        .args(train_args(&k.to_string()))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let log = run.join(ERROR_LOG);
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            let why = format!("failed: {} could not be started: {e}", exe.display());
            write_file(&log, format!("{why}\n"))?;
            write_file(&status, format!("{why}\n"))?;
            return Ok(why);
        }
    };
    // As a Slurm task's: the standard error of the last attempt, whatever its end.
    write_file(&log, &output.stderr)?;
    if is_finished(dir, k) {
        if remove_checkpoints_when_done {
            remove_checkpoints(&run)?;
        }
        write_file(&status, "finished\n")?;
        let s = RunSummary::read(&run)?;
        return Ok(match (&s.diverged, s.test_accuracy, s.test_loss) {
            (Some(d), _, _) => format!("finished, diverged: {d}"),
            (None, Some(a), _) => format!("finished, test accuracy {a:.4} in {:.1} s", s.seconds),
            (None, None, l) => format!(
                "finished, test loss {:.4} in {:.1} s",
                l.unwrap_or(f64::NAN),
                s.seconds
            ),
        });
    }
    let why = match output.status.code() {
        Some(c) => format!("failed: exit code {c}"),
        None => "failed: killed by a signal".to_string(),
    };
    write_file(&status, format!("{why}\n"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Ok(format!("{why}: {last} (see {})", log.display()))
}

/// What [`run_sweep`] came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// The runs not finished went to Slurm as a job array (written, and submitted with
    /// `--submit`): they run later.
    Slurm,
    /// Every run has finished, now or before.
    Finished,
    /// These runs failed here (their errors are in their `error.log`).
    Failed(Vec<usize>),
}

/// Runs the runs of `sweep` that have not finished in its folder `out` (locked by the
/// caller): here, `--jobs` child processes at once, or as a Slurm job array with
/// `--slurm`, printing what it does. `gradwell sweep` and `gradwell lab` both run their
/// sweep through it.
///
/// # Errors
/// A folder that holds another sweep, files that cannot be written, a Slurm option or
/// submission that fails.
pub fn run_sweep(sweep: &Sweep, out: &Path, args: &RunnerArgs) -> Result<Ran> {
    let todo = sweep.prepare(out)?;
    let n = sweep.runs.len();
    let skipped = n - todo.len();
    if args.slurm {
        slurm::command(args, out, sweep, &todo)?;
        return Ok(if todo.is_empty() {
            Ran::Finished
        } else {
            Ran::Slurm
        });
    }
    if todo.is_empty() {
        println!(
            "sweep {}: all {n} runs finished; nothing to run",
            sweep.name
        );
        return Ok(Ran::Finished);
    }
    if skipped > 0 {
        eprintln!(
            "sweep {}: {skipped} of {n} runs finished before; running the other {}",
            sweep.name,
            todo.len()
        );
    }
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Invalid(format!("the gradwell executable's path: {e}")))?;
    let o = run_local(sweep, out, &todo, args.jobs.unwrap_or(1), &exe)?;
    println!(
        "sweep {}: {} finished, {} failed, {skipped} finished before, of {n} runs; merge them with `gradwell report {} --out REPORT_DIR`",
        sweep.name,
        o.finished.len(),
        o.failed.len(),
        out.display()
    );
    if o.failed.is_empty() {
        return Ok(Ran::Finished);
    }
    eprintln!(
        "error: {} runs failed ({}); their errors are in {RUNS_DIR}/<k>/{ERROR_LOG}; run the sweep again to retry them",
        o.failed.len(),
        o.failed
            .iter()
            .map(|&k| sweep.runs[k]
                .listed
                .as_ref()
                .map_or_else(|| k.to_string(), |name| format!("{k} {name}")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Ran::Failed(o.failed))
}

/// `gradwell sweep`.
///
/// # Errors
/// A sweep file or folder that is refused, a Slurm option or submission that fails.
pub fn command(args: &SweepArgs) -> Result<Outcome> {
    let sweep = Sweep::load(&args.file)?;
    let _lock = hold_dir("--out", &args.out)?;
    Ok(match run_sweep(&sweep, &args.out, &args.run)? {
        Ran::Slurm | Ran::Finished => Outcome::Success,
        Ran::Failed(_) => Outcome::Failed,
    })
}
