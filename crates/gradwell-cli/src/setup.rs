//! A run as data: [`RunFile`] (the TOML of `--config` and of a run folder's `config.toml`),
//! the flags written over it, the data it names and the model it builds.

use std::path::{Path, PathBuf};

use gradwell_data::csv::{CsvOptions, LabelColumn, read_csv};
use gradwell_data::{CsvProblem, DataError, Dataset, Source, Split, TargetKind};
use gradwell_nn::{Head, MlpSpec, MlpWidths, ModelSpec, NnError, Widths};
use gradwell_optim::{GradClip, NormType, OptimizerKind};
use gradwell_train::{CheckpointConfig, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::cli::{DataArgs, ModelArgs, SetupArgs, TrainArgs};
use crate::{CliError, Result};

/// Per-layer statistics every this many steps, by default.
pub const DEFAULT_MONITOR_EVERY: usize = 10;

/// A whole run: data, model, training and monitor settings. Every section, and every
/// field, is optional: what a file leaves out keeps the default of the crate that owns it
/// (`gradwell-nn`'s `MlpSpec` for `[model]`, `gradwell-train`'s `TrainConfig` for
/// `[train]`); flags are written over it ([`RunFile::apply_train_args`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunFile {
    /// The run's name, in reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the data come from.
    pub data: DataSection,
    /// The model as an MLP (`gradwell-nn`'s [`MlpSpec`]: names as the flags write them).
    pub model: MlpSpec,
    /// Any model, as `gradwell-nn`'s layer list (instead of `[model]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<ModelSpec>,
    /// The monitor.
    pub monitor: MonitorSection,
    /// Evaluations in the middle of the run.
    #[serde(skip_serializing_if = "EvalSection::is_default")]
    pub eval: EvalSection,
    /// The training settings (`gradwell-train`'s `TrainConfig`).
    pub train: TrainConfig,
}

/// `[eval]`: evaluations between the steps of a run (the flag `--eval-every`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalSection {
    /// Evaluate the test set (and the validation part, if any) every this many steps,
    /// `>= 1`, in evaluation mode, without changing the run; none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
}

impl EvalSection {
    fn is_default(&self) -> bool {
        *self == EvalSection::default()
    }

    /// Checks the section; `flag` names where the value came from in the error.
    ///
    /// # Errors
    /// `every` of 0.
    pub fn validate(&self, flag: &str) -> Result<()> {
        match self.every {
            Some(0) => Err(CliError::flag(flag, 0, "must be at least 1")),
            _ => Ok(()),
        }
    }
}

/// `[data]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSection {
    /// `digits`, `fashion-mnist`, `mnist`, a directory of IDX files or a `.csv` file.
    pub source: String,
    /// Where `fashion-mnist` or `mnist` lie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// The CSV label column: `last`, an index or a header name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_column: Option<LabelColumn>,
    /// Held out for testing when the data ship without a test set.
    pub test_fraction: f64,
    /// The number of classes of a CSV file (labels below it; classes may lack samples);
    /// by default the labels present, which must be 0 to C − 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    /// The most a gzip data file may decompress to, in MiB (2^20 bytes).
    pub max_decompressed_mb: u64,
    /// Each line of a `.csv` file is a sequence of this many steps (its feature cells step
    /// after step, then the label).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_length: Option<usize>,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection {
            source: Source::default().to_string(),
            dir: None,
            label_column: None,
            test_fraction: gradwell_data::DEFAULT_TEST_FRACTION,
            classes: None,
            max_decompressed_mb: DEFAULT_MAX_DECOMPRESSED_MB,
            sequence_length: None,
        }
    }
}

/// The default of `--max-decompressed-mb` (`[data] max_decompressed_mb`): gradwell-data's
/// [`gradwell_data::DEFAULT_MAX_DECOMPRESSED`] in MiB.
pub const DEFAULT_MAX_DECOMPRESSED_MB: u64 = gradwell_data::DEFAULT_MAX_DECOMPRESSED >> 20;

impl DataSection {
    /// The limit on decompressed input in bytes.
    ///
    /// # Errors
    /// A limit of 0, or one too large to count in bytes.
    pub fn max_decompressed(&self) -> Result<u64> {
        let mb = self.max_decompressed_mb;
        match mb.checked_mul(1 << 20) {
            Some(bytes) if mb >= 1 => Ok(bytes),
            _ => Err(data_flag(
                "--max-decompressed-mb",
                "max_decompressed_mb",
                mb,
                "must be a whole number of MiB from 1 to 17592186044415",
            )),
        }
    }
}

/// `[monitor]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorSection {
    /// Whether the monitor runs.
    pub enabled: bool,
    /// Per-layer statistics every this many steps (and at step 1).
    pub layer_every: usize,
    /// How much of the monitor's history the run folder keeps (`summary`, the default, or
    /// `full`): [`gradwell_monitor::Detail`].
    pub detail: gradwell_monitor::Detail,
    /// Whether `train --out` writes the run's interactive page (`index.html`, the
    /// monitor's charts) in the run folder: true by default; the lab's sweep turns it off,
    /// as its report draws every run.
    #[serde(skip_serializing_if = "is_true")]
    pub page: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for MonitorSection {
    fn default() -> Self {
        MonitorSection {
            enabled: true,
            layer_every: DEFAULT_MONITOR_EVERY,
            detail: gradwell_monitor::Detail::default(),
            page: true,
        }
    }
}

fn parse_name<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|e| CliError::flag(flag, text, crate::one_line(e)))
}

fn check_fraction(flag: &str, v: f64, closed_low: bool) -> Result<f64> {
    let ok = v.is_finite() && v < 1.0 && if closed_low { v >= 0.0 } else { v > 0.0 };
    if ok {
        Ok(v)
    } else {
        Err(CliError::flag(
            flag,
            v,
            format!("must be in {}0, 1)", if closed_low { "[" } else { "(" }),
        ))
    }
}

/// Sets one setting of the optimizer from a flag, the error naming the flag.
fn set_flag<T: Serialize + std::fmt::Display>(
    optimizer: &mut OptimizerKind,
    flag: &str,
    setting: &str,
    value: T,
) -> Result<()> {
    optimizer
        .set(setting, &value)
        .map_err(|e| CliError::flag(flag, value, crate::one_line(e)))
}

impl RunFile {
    /// Reads a run config (TOML). Every name and setting is checked as it is read, by the
    /// type that owns it.
    ///
    /// # Errors
    /// A missing or unreadable file, TOML that does not parse, a value that is not valid or
    /// an unknown field (the message names the line and the field, `model.activation`), or
    /// an invalid training config.
    pub fn from_file(path: &Path) -> Result<RunFile> {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::file(path, e))?;
        RunFile::from_toml_text(&text, path)
    }

    /// Reads a run config from TOML text, checked as [`RunFile::from_file`] checks a file;
    /// `origin` names the text in errors (as the file's path does).
    ///
    /// # Errors
    /// As [`RunFile::from_file`], but for reading the file.
    pub fn from_toml_text(text: &str, origin: &Path) -> Result<RunFile> {
        let run = RunFile::parse_toml(text, origin)?;
        run.check(origin)?;
        Ok(run)
    }

    /// Parses a run config from TOML text without [`RunFile::check`]ing it; `origin` names
    /// the text in errors, which name the line and the field.
    ///
    /// # Errors
    /// TOML that does not parse, an unknown field or a value its type refuses.
    pub fn parse_toml(text: &str, origin: &Path) -> Result<RunFile> {
        toml::from_str(text).map_err(|e| toml_error(origin, text, e))
    }

    /// The checks of a config read from a file beyond its parsing (the training settings,
    /// `[eval]`), the error naming `origin`.
    ///
    /// # Errors
    /// The first value refused, naming its field.
    pub fn check(&self, origin: &Path) -> Result<()> {
        self.train
            .validate()
            .map_err(|e| CliError::file(origin, crate::one_line(e)))?;
        self.eval
            .validate("eval.every")
            .map_err(|e| CliError::file(origin, crate::one_line(e)))
    }

    /// The run as TOML (a file `--config` reads back).
    ///
    /// # Errors
    /// Never for a valid run.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| CliError::Invalid(format!("config TOML: {e}")))
    }

    /// Writes the data flags over the run.
    pub fn apply_data_args(&mut self, a: &DataArgs) -> Result<()> {
        if let Some(d) = &a.data {
            self.data.source = d.clone();
        }
        if let Some(d) = &a.data_dir {
            self.data.dir = Some(d.clone());
        }
        if let Some(l) = &a.label_column {
            self.data.label_column = Some(l.clone());
        }
        if let Some(f) = a.test_fraction {
            self.data.test_fraction = check_fraction("--test-fraction", f, false)?;
        }
        if let Some(n) = a.classes {
            if n == 0 {
                return Err(CliError::flag("--classes", n, "must be at least 1"));
            }
            self.data.classes = Some(n);
        }
        if let Some(t) = a.sequence_length {
            self.data.sequence_length = Some(t);
        }
        if let Some(mb) = a.max_decompressed_mb {
            self.data.max_decompressed_mb = mb;
            self.data.max_decompressed()?;
        }
        Ok(())
    }

    /// Writes the model flags over the run (a `--model` or `--hidden` replaces a
    /// `[network]`).
    ///
    /// # Errors
    /// A setting the MLP refuses, naming the flag.
    pub fn apply_model_args(&mut self, a: &ModelArgs) -> Result<()> {
        a.apply(&mut self.model)?;
        if a.model.is_some() || a.hidden.is_some() {
            self.network = None;
        }
        Ok(())
    }

    /// Writes every `train` flag over the run, checking each value and naming the flag.
    pub fn apply_train_args(&mut self, a: &TrainArgs) -> Result<()> {
        if let Some(n) = &a.name {
            self.name = Some(n.clone());
        }
        self.apply_setup_args(&a.setup)?;
        let t = &mut self.train;
        if let Some(n) = a.epochs {
            if n == 0 {
                return Err(CliError::flag("--epochs", n, "must be at least 1"));
            }
            t.epochs = n;
        }
        if let Some(n) = a.steps {
            if n == 0 {
                return Err(CliError::flag("--steps", n, "must be at least 1"));
            }
            t.steps = Some(n);
        }
        if let Some(s) = &a.schedule {
            t.schedule = parse_name("--schedule", s)?;
        }
        if let Some(d) = &a.checkpoint_dir {
            t.checkpoint = CheckpointConfig {
                dir: Some(d.clone()),
                ..t.checkpoint.clone()
            };
        }
        if let Some(n) = a.checkpoint_every {
            if n == 0 {
                return Err(CliError::flag(
                    "--checkpoint-every",
                    n,
                    "must be at least 1",
                ));
            }
            if t.checkpoint.dir.is_none() {
                return Err(CliError::flag(
                    "--checkpoint-every",
                    n,
                    "needs --checkpoint-dir to say where checkpoints go",
                ));
            }
            t.checkpoint.every_steps = Some(n);
        }
        if a.no_monitor {
            self.monitor.enabled = false;
        }
        if let Some(n) = a.monitor_every {
            if n == 0 {
                return Err(CliError::flag("--monitor-every", n, "must be at least 1"));
            }
            self.monitor.layer_every = n;
        }
        if let Some(d) = a.monitor_detail {
            self.monitor.detail = d;
        }
        if let Some(n) = a.eval_every {
            self.eval.every = Some(n);
            self.eval.validate("--eval-every")?;
        }
        self.train
            .validate()
            .map_err(|e| CliError::Invalid(crate::one_line(e)))?;
        Ok(())
    }

    /// Writes the flags that `train` and `lr-find` share (all but `--config`, which names
    /// the file the run was read from) over the run, checking each value and naming the
    /// flag. The caller checks the whole training config once every flag is written.
    pub fn apply_setup_args(&mut self, a: &SetupArgs) -> Result<()> {
        self.apply_data_args(&a.data)?;
        self.apply_model_args(&a.model)?;
        let t = &mut self.train;
        if let Some(n) = a.batch_size {
            if n == 0 {
                return Err(CliError::flag("--batch-size", n, "must be at least 1"));
            }
            t.batch_size = n;
        }
        if let Some(l) = a.last_batch {
            t.last_batch = l;
        }
        if let Some(s) = a.seed {
            t.seed = s;
        }
        if let Some(name) = &a.optimizer {
            t.optimizer = parse_name("--optimizer", name)?;
        }
        // Each is one setting of whichever optimizer is chosen, checked by gradwell-optim.
        if let Some(lr) = a.lr {
            set_flag(&mut t.optimizer, "--lr", "lr", lr)?;
        }
        if let Some(m) = a.momentum {
            set_flag(&mut t.optimizer, "--momentum", "momentum", m)?;
        }
        if a.nesterov {
            set_flag(&mut t.optimizer, "--nesterov", "nesterov", true)?;
        }
        if let Some(wd) = a.weight_decay {
            set_flag(&mut t.optimizer, "--weight-decay", "weight_decay", wd)?;
        }
        // GradClip checks its own bounds.
        if let Some(c) = a.clip_norm {
            t.clip = Some(
                GradClip::norm(c, NormType::L2)
                    .map_err(|e| CliError::flag("--clip-norm", c, crate::one_line(e)))?,
            );
        }
        if let Some(c) = a.clip_value {
            t.clip = Some(
                GradClip::value(c)
                    .map_err(|e| CliError::flag("--clip-value", c, crate::one_line(e)))?,
            );
        }
        if let Some(e) = a.label_smoothing {
            t.label_smoothing = check_fraction("--label-smoothing", e, true)?;
        }
        if let Some(p) = a.preprocess {
            t.preprocess = p;
        }
        if let Some(f) = a.validation_fraction {
            t.validation_fraction = check_fraction("--validation-fraction", f, true)?;
        }
        Ok(())
    }

    /// Loads the data: training and test sets.
    ///
    /// # Errors
    /// An unknown name, a missing file or directory, malformed data.
    pub fn load_data(&self) -> Result<Split> {
        load_data(&self.data, self.train.seed)
    }

    /// The model for the data set `ds` (named `data_name`): the `[network]` spec; or the
    /// `[model]` MLP fitted to the data's features and outputs ([`MlpSpec::fit`]), which
    /// is returned too, for the theory; or, with recurrent layers in `[model]`, those
    /// layers and a read-out of the last step or of every step ([`MlpSpec::sequence_spec`]).
    ///
    /// # Errors
    /// Widths that do not fit the data (naming both), a head other than logits, recurrent
    /// layers on data that are not sequences, an MLP for a class at every step.
    pub fn model_spec(
        &self,
        data_name: &str,
        ds: &Dataset,
    ) -> Result<(ModelSpec, Option<MlpSpec>)> {
        let (features, outputs) = (ds.num_features(), ds.num_outputs());
        if let Some(net) = &self.network {
            let inputs: usize = net.input_shape.iter().product();
            if inputs != features {
                return Err(CliError::Invalid(format!(
                    "the network takes {inputs} inputs but `{data_name}` has {features} features per sample"
                )));
            }
            return Ok((net.clone(), None));
        }
        let per_step = match ds.target_kind() {
            TargetKind::StepClass { .. } => true,
            TargetKind::Class | TargetKind::Value { .. } => false,
        };
        if let Some(r) = &self.model.recurrent {
            let flag = "--model (model.recurrent)";
            let &[steps, per_step_features] = ds.feature_shape() else {
                return Err(CliError::flag(
                    flag,
                    r,
                    format!(
                        "recurrent layers take sequences, but `{data_name}` has samples of shape {:?}, not sequences: use a sequence task (adding:T, copy:T) or a .csv file with --sequence-length",
                        ds.feature_shape()
                    ),
                ));
            };
            if !ds.is_sequence() {
                return Err(CliError::flag(
                    flag,
                    r,
                    format!(
                        "recurrent layers take sequences, but the samples of `{data_name}` (shape [{steps}, {per_step_features}]) are not sequences: use a sequence task (adding:T, copy:T) or a .csv file with --sequence-length"
                    ),
                ));
            }
            let spec = self
                .model
                .sequence_spec(steps, per_step_features, outputs, per_step)
                .map_err(|e| CliError::flag(flag, r, nn_why(e)))?;
            return Ok((spec, None));
        }
        if per_step {
            return Err(CliError::Invalid(format!(
                "`{data_name}` has {}: an MLP gives one output per sample; use recurrent layers with a read-out at every step (--model lstm:128)",
                gradwell_train::targets::describe(ds)
            )));
        }
        let m = &self.model;
        if m.head != Head::Logits {
            return Err(CliError::flag(
                "model.head",
                serde_json::to_string(&m.head).unwrap_or_default(),
                "gradwell train trains a classifier on its logits: leave `head` out (logits)",
            ));
        }
        let mlp = m.fit(features, outputs).map_err(|e| {
            let why = nn_why(e);
            match &m.widths {
                MlpWidths::All(w) => CliError::flag(
                    "--model (model.widths)",
                    Widths(w.clone()),
                    format!("{why} (the data: `{data_name}`)"),
                ),
                MlpWidths::Hidden(_) => CliError::Invalid(format!("`{data_name}`: {why}")),
            }
        })?;
        Ok((mlp.to_spec()?, Some(mlp)))
    }
}

/// The reason of a `gradwell-nn` error, without its prefix for a setting.
fn nn_why(e: NnError) -> String {
    match e {
        NnError::Config(why) => why,
        other => crate::one_line(other),
    }
}

/// A TOML error of the file `path` (whose text is `text`) on one line, naming the line and
/// the field, e.g. "line 3: unknown activation \`rellu\`; valid: …; in \`model.activation\`".
fn toml_error(path: &Path, text: &str, mut e: toml::de::Error) -> CliError {
    let line = e.span().map(|s| {
        let end = s.start.min(text.len());
        text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    });
    // Without the text, the message ends with the field's dotted path.
    e.set_input(None);
    let why = crate::one_line(e);
    CliError::file(
        path,
        match line {
            Some(l) => format!("line {l}: {why}"),
            None => why,
        },
    )
}

/// A bad value of a `[data]` setting, naming both the flag and the config `field` that
/// give it.
fn data_flag(
    flag: &str,
    field: &str,
    value: impl ToString,
    why: impl std::fmt::Display,
) -> CliError {
    CliError::flag(flag, value, format!("{why} ({field} in [data])"))
}

/// Loads the data a `[data]` section names; a set without a test part is split with
/// `seed`.
///
/// # Errors
/// An unknown name (listing the valid ones), a missing file or directory, malformed data.
pub fn load_data(d: &DataSection, seed: u64) -> Result<Split> {
    let src = d.source.trim();
    let limit = d.max_decompressed()?;
    let lower = src.to_ascii_lowercase();
    let csv = lower.ends_with(".csv") || lower.ends_with(".csv.gz");
    if let Some(n) = d.classes
        && !csv
    {
        return Err(data_flag(
            "--classes",
            "classes",
            n,
            format!("applies to a .csv file; `{src}` has its classes fixed"),
        ));
    }
    if let Some(t) = d.sequence_length
        && !csv
    {
        return Err(data_flag(
            "--sequence-length",
            "sequence_length",
            t,
            format!("applies to a .csv file; `{src}` has its shape fixed"),
        ));
    }
    let named = src.parse::<Source>();
    if let Ok(source) = named {
        return Ok(source
            .load(d.dir.as_deref(), limit)
            .map_err(|e| match (source, &d.dir) {
                (Source::Mnist, None) => data_flag(
                    "--data",
                    "source",
                    src,
                    "MNIST has no default location: name the directory holding its four IDX files with --data-dir",
                ),
                _ => data_error(e),
            })?
            .into_split(d.test_fraction, seed)?);
    }
    let path = Path::new(src);
    if path.is_dir() {
        return Ok(Source::Mnist
            .load(Some(path), limit)
            .map_err(data_error)?
            .into_split(d.test_fraction, seed)?);
    }
    if csv {
        if !path.is_file() {
            return Err(data_flag("--data", "source", src, "no such file"));
        }
        let label = d.label_column.clone().unwrap_or_default();
        let mut opts = CsvOptions::default().label(label).max_decompressed(limit);
        opts.num_classes = d.classes;
        let mut ds: Dataset = read_csv(path, &opts).map_err(data_error)?;
        if let Some(t) = d.sequence_length {
            ds = ds.into_sequences(t).map_err(|e| {
                data_flag(
                    "--sequence-length",
                    "sequence_length",
                    t,
                    crate::one_line(e),
                )
            })?;
        }
        return Ok(ds.split(d.test_fraction, seed, true)?);
    }
    let unknown = named.err().map_or_else(String::new, crate::one_line);
    Err(data_flag(
        "--data",
        "source",
        src,
        format!("{unknown}; or a directory of IDX files, or a .csv file (none is at that path)"),
    ))
}

/// A data error, with the flag that changes the outcome where there is one: the limit on
/// decompressed input (`--max-decompressed-mb`), the number of classes (`--classes`).
fn data_error(e: DataError) -> CliError {
    let hint = match &e {
        DataError::TooLarge { .. } => {
            "; if the file is genuine, raise the limit with --max-decompressed-mb MB \
             (max_decompressed_mb in [data])"
        }
        DataError::Csv {
            problem: CsvProblem::LabelGap { .. },
            ..
        } => " with --classes N (classes in [data])",
        DataError::Csv {
            problem: CsvProblem::NamesWithNumClasses { .. },
            ..
        } => {
            "; leave out --classes (classes in [data]): the names in the label column \
             (--label-column) are the classes"
        }
        _ => return e.into(),
    };
    CliError::Invalid(format!("{e}{hint}"))
}
