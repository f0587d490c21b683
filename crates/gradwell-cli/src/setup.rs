//! A run as data: [`RunFile`] (the TOML of `--config` and of a run folder's `config.toml`),
//! the flags written over it, the data it names and the model it builds.

use std::path::{Path, PathBuf};

use gradwell_activations::ActivationKind;
use gradwell_data::csv::{CsvOptions, LabelColumn, read_csv};
use gradwell_data::{CsvProblem, DataError, Dataset, Source, Split};
use gradwell_init::Init;
use gradwell_nn::{LayerSpec, MlpSpec, ModelSpec};
use gradwell_optim::{AdagradConfig, AdamConfig, Curve, GradClip, NormType, PlateauConfig};
use gradwell_optim::{RmspropConfig, SgdConfig};
use gradwell_train::{
    CheckpointConfig, OptimizerConfig, Preprocess, ScheduleConfig, ScheduleUnit, TrainConfig,
};
use serde::{Deserialize, Serialize};

use crate::cli::{DataArgs, ModelArgs, TrainArgs};
use crate::{CliError, Result};

/// The hidden widths of the model `gradwell train` builds when none is given: one layer
/// of 256 units (ReLU, He init).
pub const DEFAULT_HIDDEN: &[usize] = &[256];

/// Epochs of `gradwell train` when neither a flag nor the config says.
pub const DEFAULT_EPOCHS: u64 = 20;

/// The training settings of `gradwell train` before flags and config: `gradwell-train`'s
/// defaults (Adam at PyTorch's 1e-3, batch 64, features scaled to [0, 1]) with
/// [`DEFAULT_EPOCHS`]. Measured: the default model reaches 0.967–0.989 test accuracy on
/// the digits over seeds 0–9.
pub fn default_train() -> TrainConfig {
    TrainConfig {
        epochs: DEFAULT_EPOCHS,
        ..TrainConfig::default()
    }
}

/// The fraction of a data set held out for testing when it ships without a test set.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// Per-layer statistics every this many steps, by default.
pub const DEFAULT_MONITOR_EVERY: usize = 10;

/// A whole run: data, model, training and monitor settings. Every section, and every
/// field, is optional: what a file leaves out keeps the command's default
/// ([`default_train`] for `[train]`); flags are written over it
/// ([`RunFile::apply_train_args`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunFile {
    /// The run's name, in reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the data come from.
    pub data: DataSection,
    /// The model as an MLP.
    pub model: ModelSection,
    /// Any model, as `gradwell-nn`'s layer list (instead of `[model]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<ModelSpec>,
    /// The monitor.
    pub monitor: MonitorSection,
    /// The training settings (`gradwell-train`'s `TrainConfig`).
    #[serde(deserialize_with = "train_over_defaults")]
    pub train: TrainConfig,
}

impl Default for RunFile {
    fn default() -> Self {
        RunFile {
            name: None,
            data: DataSection::default(),
            model: ModelSection::default(),
            network: None,
            monitor: MonitorSection::default(),
            train: default_train(),
        }
    }
}

/// `[train]` written over [`default_train`], field by field (a section such as
/// `[train.optimizer]` replaces the default's whole).
fn train_over_defaults<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<TrainConfig, D::Error> {
    use serde::de::Error;
    let user = toml::Table::deserialize(d)?;
    let mut base = toml::Table::try_from(default_train()).map_err(D::Error::custom)?;
    base.extend(user);
    toml::Value::Table(base)
        .try_into()
        .map_err(D::Error::custom)
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
    pub label_column: Option<String>,
    /// Held out for testing when the data ship without a test set.
    pub test_fraction: f64,
    /// The number of classes of a CSV file (labels below it; classes may lack samples);
    /// by default the labels present, which must be 0 to C − 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    /// The most a gzip data file may decompress to, in MiB (2^20 bytes).
    pub max_decompressed_mb: u64,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection {
            source: Source::Digits.name().to_string(),
            dir: None,
            label_column: None,
            test_fraction: DEFAULT_TEST_FRACTION,
            classes: None,
            max_decompressed_mb: DEFAULT_MAX_DECOMPRESSED_MB,
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
            _ => Err(CliError::flag(
                "--max-decompressed-mb",
                mb,
                "must be a whole number of MiB from 1 to 17592186044415",
            )),
        }
    }
}

/// `[model]`: an MLP, with activation and initializers by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSection {
    /// All widths, input to output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widths: Option<Vec<usize>>,
    /// Only the hidden widths (input and output from the data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<usize>>,
    /// The hidden activation.
    pub activation: String,
    /// The weights' initializer; by default the one that suits the activation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
    /// The biases' initializer; by default PyTorch's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias_init: Option<String>,
    /// Batch norm before each hidden activation.
    pub batch_norm: bool,
    /// Residual connections around same-width hidden blocks.
    pub residual: bool,
    /// Dropout after each hidden activation.
    pub dropout: f64,
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            widths: None,
            hidden: None,
            activation: "relu".into(),
            init: None,
            bias_init: None,
            batch_norm: false,
            residual: false,
            dropout: 0.0,
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
}

impl Default for MonitorSection {
    fn default() -> Self {
        MonitorSection {
            enabled: true,
            layer_every: DEFAULT_MONITOR_EVERY,
        }
    }
}

/// A learning rate must be finite and positive; above this it is refused as a typo.
pub const MAX_LR: f64 = 100.0;

fn parse_name<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|e| CliError::flag(flag, text, crate::one_line(e)))
}

/// An activation by name, the error naming the flag and the valid names.
pub fn parse_activation(flag: &str, text: &str) -> Result<ActivationKind> {
    parse_name(flag, text)
}

/// An initializer by name, the error naming the flag and the valid names.
pub fn parse_init(flag: &str, text: &str) -> Result<Init> {
    parse_name(flag, text)
}

/// Widths written `784-128-10` (or with commas or `x`), each a whole number ≥ 1.
pub fn parse_widths(flag: &str, text: &str) -> Result<Vec<usize>> {
    // A leading `-` or a `--` is a negative width, not a separator.
    let bad = |why: &str| CliError::flag(flag, text, why);
    let mut widths = Vec::new();
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad("give widths such as 784-128-10"));
    }
    while !rest.is_empty() {
        let negative = rest.starts_with('-');
        let body = rest.trim_start_matches('-');
        let end = body.find(['-', ',', 'x', ' ']).unwrap_or(body.len());
        let (num, tail) = body.split_at(end);
        let n: i64 = num.trim().parse().map_err(|_| {
            bad("widths are whole numbers >= 1 separated by `-` or `,`, e.g. 784-128-10")
        })?;
        if negative || n <= 0 {
            return Err(bad(&format!(
                "every width must be a whole number >= 1, got {}{n}",
                if negative { "-" } else { "" }
            )));
        }
        widths.push(n as usize);
        rest = tail;
        if let Some(t) = rest.strip_prefix([',', 'x', ' ']) {
            rest = t;
        } else if let Some(t) = rest.strip_prefix('-')
            && !t.starts_with('-')
        {
            rest = t;
        }
    }
    Ok(widths)
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

fn check_non_negative(flag: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(CliError::flag(flag, v, "must be a finite number >= 0"))
    }
}

fn check_positive(flag: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(CliError::flag(flag, v, "must be a finite number > 0"))
    }
}

/// An optimizer with its defaults (PyTorch's), by name.
pub fn optimizer_by_name(name: &str) -> Result<OptimizerConfig> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "sgd" => OptimizerConfig::Sgd(SgdConfig::default()),
        "adam" => OptimizerConfig::Adam(AdamConfig::default()),
        "adamw" => OptimizerConfig::AdamW(AdamConfig::adamw()),
        "rmsprop" => OptimizerConfig::Rmsprop(RmspropConfig::default()),
        "adagrad" => OptimizerConfig::Adagrad(AdagradConfig::default()),
        _ => {
            return Err(CliError::flag(
                "--optimizer",
                name,
                "unknown optimizer; valid: sgd, adam, adamw, rmsprop, adagrad",
            ));
        }
    })
}

/// A schedule written `constant`, `cosine[:ETA_MIN]`, `step:EPOCHS[,GAMMA]`,
/// `exponential:GAMMA` or `plateau`, advanced per epoch; the cosine spans `epochs`.
pub fn parse_schedule(text: &str, epochs: u64) -> Result<ScheduleConfig> {
    let bad = |why: String| CliError::flag("--schedule", text, why);
    let (name, args) = text.split_once(':').unwrap_or((text, ""));
    let nums: Vec<f64> = if args.is_empty() {
        Vec::new()
    } else {
        args.split(',')
            .map(|a| a.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(format!("`{args}` is not a list of numbers")))?
    };
    let curve = |c: std::result::Result<Curve, gradwell_optim::OptimError>| {
        c.map(|curve| ScheduleConfig::Curve {
            curve,
            per: ScheduleUnit::Epoch,
        })
        .map_err(|e| bad(crate::one_line(e)))
    };
    match (name.trim().to_ascii_lowercase().as_str(), nums.as_slice()) {
        ("constant", []) => Ok(ScheduleConfig::Constant),
        ("cosine", []) => curve(Curve::cosine(epochs, 0.0)),
        ("cosine", [eta]) => curve(Curve::cosine(epochs, *eta)),
        ("step", [size]) if *size >= 1.0 && size.fract() == 0.0 => {
            curve(Curve::step(*size as u64, 0.1))
        }
        ("step", [size, gamma]) if *size >= 1.0 && size.fract() == 0.0 => {
            curve(Curve::step(*size as u64, *gamma))
        }
        ("exponential", [gamma]) => curve(Curve::exponential(*gamma)),
        ("plateau", []) => Ok(ScheduleConfig::Plateau(PlateauConfig::default())),
        _ => Err(bad(
            "valid: constant, cosine[:ETA_MIN], step:EPOCHS[,GAMMA], exponential:GAMMA, plateau"
                .into(),
        )),
    }
}

/// An input scaling by name.
pub fn parse_preprocess(text: &str) -> Result<Preprocess> {
    Ok(
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "none" => Preprocess::None,
            "unit-range" => Preprocess::UnitRange,
            "standardize" => Preprocess::Standardize,
            "standardize-global" => Preprocess::StandardizeGlobal,
            _ => {
                return Err(CliError::flag(
                    "--preprocess",
                    text,
                    "valid: unit-range, standardize, standardize-global, none",
                ));
            }
        },
    )
}

impl RunFile {
    /// Reads a run config (TOML).
    ///
    /// # Errors
    /// A missing or unreadable file, TOML that does not parse or names an unknown field
    /// (the message names the line), or an invalid training config.
    pub fn from_file(path: &Path) -> Result<RunFile> {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::file(path, e))?;
        let run: RunFile =
            toml::from_str(&text).map_err(|e| CliError::file(path, crate::one_line(e)))?;
        run.train
            .validate()
            .map_err(|e| CliError::file(path, crate::one_line(e)))?;
        Ok(run)
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
        if let Some(mb) = a.max_decompressed_mb {
            self.data.max_decompressed_mb = mb;
            self.data.max_decompressed()?;
        }
        Ok(())
    }

    /// Writes the model flags over the run; each name is checked here.
    pub fn apply_model_args(&mut self, a: &ModelArgs) -> Result<()> {
        let m = &mut self.model;
        if let Some(w) = &a.model {
            m.widths = Some(parse_widths("--model", w)?);
            m.hidden = None;
        }
        if let Some(h) = &a.hidden {
            m.hidden = Some(parse_widths("--hidden", h)?);
            m.widths = None;
        }
        if let Some(x) = &a.activation {
            parse_activation("--activation", x)?;
            m.activation = x.clone();
        }
        if let Some(x) = &a.init {
            parse_init("--init", x)?;
            m.init = Some(x.clone());
        }
        if let Some(x) = &a.bias_init {
            parse_init("--bias-init", x)?;
            m.bias_init = Some(x.clone());
        }
        m.batch_norm |= a.batch_norm;
        m.residual |= a.residual;
        if let Some(p) = a.dropout {
            m.dropout = check_fraction("--dropout", p, true)?;
        }
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
        self.apply_data_args(&a.data)?;
        self.apply_model_args(&a.model)?;
        let t = &mut self.train;
        if let Some(n) = a.epochs {
            if n == 0 {
                return Err(CliError::flag("--epochs", n, "must be at least 1"));
            }
            t.epochs = n;
        }
        if let Some(n) = a.batch_size {
            if n == 0 {
                return Err(CliError::flag("--batch-size", n, "must be at least 1"));
            }
            t.batch_size = n;
        }
        if let Some(s) = a.seed {
            t.seed = s;
        }
        if let Some(name) = &a.optimizer {
            t.optimizer = optimizer_by_name(name)?;
        }
        if let Some(lr) = a.lr {
            if !(lr.is_finite() && lr > 0.0 && lr <= MAX_LR) {
                return Err(CliError::flag(
                    "--lr",
                    lr,
                    format!(
                        "the learning rate must be a number in (0, {MAX_LR}] (e.g. 0.1 for SGD, 0.001 for Adam)"
                    ),
                ));
            }
            match &mut t.optimizer {
                OptimizerConfig::Sgd(c) => c.lr = lr,
                OptimizerConfig::Adam(c) | OptimizerConfig::AdamW(c) => c.lr = lr,
                OptimizerConfig::Rmsprop(c) => c.lr = lr,
                OptimizerConfig::Adagrad(c) => c.lr = lr,
            }
        }
        if let Some(m) = a.momentum {
            let m = check_fraction("--momentum", m, true)?;
            match &mut t.optimizer {
                OptimizerConfig::Sgd(c) => c.momentum = m,
                OptimizerConfig::Rmsprop(c) => c.momentum = m,
                other => {
                    return Err(CliError::flag(
                        "--momentum",
                        m,
                        format!(
                            "momentum applies to sgd and rmsprop, not {} (set --optimizer sgd)",
                            other.kind()
                        ),
                    ));
                }
            }
        }
        if a.nesterov {
            match &mut t.optimizer {
                OptimizerConfig::Sgd(c) => c.nesterov = true,
                other => {
                    return Err(CliError::flag(
                        "--nesterov",
                        other.kind(),
                        "Nesterov momentum applies to sgd only",
                    ));
                }
            }
        }
        if let Some(wd) = a.weight_decay {
            let wd = check_non_negative("--weight-decay", wd)?;
            match &mut t.optimizer {
                OptimizerConfig::Sgd(c) => c.weight_decay = wd,
                OptimizerConfig::Adam(c) | OptimizerConfig::AdamW(c) => c.weight_decay = wd,
                OptimizerConfig::Rmsprop(c) => c.weight_decay = wd,
                OptimizerConfig::Adagrad(c) => c.weight_decay = wd,
            }
        }
        if let Some(c) = a.clip_norm {
            let c = check_positive("--clip-norm", c)?;
            t.clip = Some(
                GradClip::norm(c, NormType::L2)
                    .map_err(|e| CliError::flag("--clip-norm", c, crate::one_line(e)))?,
            );
        }
        if let Some(c) = a.clip_value {
            let c = check_positive("--clip-value", c)?;
            t.clip = Some(
                GradClip::value(c)
                    .map_err(|e| CliError::flag("--clip-value", c, crate::one_line(e)))?,
            );
        }
        if let Some(s) = &a.schedule {
            t.schedule = parse_schedule(s, t.epochs)?;
        }
        if let Some(e) = a.label_smoothing {
            t.label_smoothing = check_fraction("--label-smoothing", e, true)?;
        }
        if let Some(p) = &a.preprocess {
            t.preprocess = parse_preprocess(p)?;
        }
        if let Some(f) = a.validation_fraction {
            t.validation_fraction = check_fraction("--validation-fraction", f, true)?;
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
        self.train
            .validate()
            .map_err(|e| CliError::Invalid(crate::one_line(e)))?;
        Ok(())
    }

    /// Loads the data: training and test sets.
    ///
    /// # Errors
    /// An unknown name, a missing file or directory, malformed data.
    pub fn load_data(&self) -> Result<Split> {
        load_data(&self.data, self.train.seed)
    }

    /// The model for data of `features` inputs and `classes` classes: the `[network]`
    /// spec, or the `[model]` MLP (with [`DEFAULT_HIDDEN`] when it gives no widths). The
    /// MLP is returned too, for the theory.
    ///
    /// # Errors
    /// Widths that do not fit the data (naming both), unknown names, invalid settings.
    pub fn model_spec(
        &self,
        data_name: &str,
        features: usize,
        classes: usize,
    ) -> Result<(ModelSpec, Option<MlpSpec>)> {
        if let Some(net) = &self.network {
            let inputs: usize = net.input_shape.iter().product();
            if inputs != features {
                return Err(CliError::Invalid(format!(
                    "the network takes {inputs} inputs but `{data_name}` has {features} features per sample"
                )));
            }
            return Ok((net.clone(), None));
        }
        let m = &self.model;
        let widths = match (&m.widths, &m.hidden) {
            (Some(w), _) => {
                let first = w.first().copied().unwrap_or(0);
                let last = w.last().copied().unwrap_or(0);
                if w.len() < 2 {
                    return Err(CliError::flag(
                        "--model",
                        join_widths(w),
                        "give the input, hidden and output widths, e.g. 64-128-10",
                    ));
                }
                if first != features {
                    return Err(CliError::flag(
                        "--model",
                        join_widths(w),
                        format!(
                            "the model's first width is {first} but `{data_name}` has {features} features per sample; start it with {features} (e.g. {features}-128-{classes}) or give only the hidden widths with --hidden"
                        ),
                    ));
                }
                if last != classes {
                    return Err(CliError::flag(
                        "--model",
                        join_widths(w),
                        format!(
                            "the model's last width is {last} but `{data_name}` has {classes} classes; end it with {classes}"
                        ),
                    ));
                }
                w.clone()
            }
            (None, hidden) => {
                let hidden = hidden.as_deref().unwrap_or(DEFAULT_HIDDEN);
                let mut w = vec![features];
                w.extend_from_slice(hidden);
                w.push(classes);
                w
            }
        };
        if let Some(z) = widths.iter().find(|&&w| w == 0) {
            return Err(CliError::flag(
                "model.widths",
                z,
                "every width must be at least 1",
            ));
        }
        let mut mlp = MlpSpec::new(&widths, parse_activation("--activation", &m.activation)?);
        mlp.init = m
            .init
            .as_deref()
            .map(|i| parse_init("--init", i))
            .transpose()?;
        mlp.batch_norm = m.batch_norm;
        mlp.residual = m.residual;
        mlp.dropout = check_fraction("--dropout", m.dropout, true)?;
        let mut spec = mlp.to_spec()?;
        if let Some(b) = &m.bias_init {
            let b = parse_init("--bias-init", b)?;
            set_bias_init(&mut spec.layers, b);
        }
        Ok((spec, Some(mlp)))
    }

    /// The biases' initializer given, if any.
    ///
    /// # Errors
    /// An unknown name.
    pub fn bias_init(&self) -> Result<Option<Init>> {
        self.model
            .bias_init
            .as_deref()
            .map(|b| parse_init("--bias-init", b))
            .transpose()
    }
}

fn join_widths(w: &[usize]) -> String {
    w.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

/// Sets the bias initializer of every linear layer, inside residual blocks too.
pub fn set_bias_init(layers: &mut [LayerSpec], init: Init) {
    for l in layers {
        match l {
            LayerSpec::Linear(linear) => linear.bias_init = Some(init),
            LayerSpec::Residual(residual) => set_bias_init(&mut residual.layers, init),
            _ => {}
        }
    }
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
        return Err(CliError::flag(
            "--classes",
            n,
            format!("applies to a .csv file; `{src}` has its classes fixed"),
        ));
    }
    if let Ok(source) = src.parse::<Source>() {
        return Ok(source
            .load(d.dir.as_deref(), limit)
            .map_err(|e| match (source, &d.dir) {
                (Source::Mnist, None) => CliError::flag(
                    "--data",
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
            return Err(CliError::flag("--data", src, "no such file"));
        }
        let label = match d.label_column.as_deref().map(str::trim) {
            None | Some("last") => LabelColumn::Last,
            Some(x) => match x.parse::<usize>() {
                Ok(i) => LabelColumn::Index(i),
                Err(_) => LabelColumn::Name(x.to_string()),
            },
        };
        let mut opts = CsvOptions::default().label(label).max_decompressed(limit);
        opts.num_classes = d.classes;
        let ds: Dataset = read_csv(path, &opts).map_err(data_error)?;
        return Ok(ds.split(d.test_fraction, seed, true)?);
    }
    Err(CliError::flag(
        "--data",
        src,
        format!(
            "not a known data set nor an existing directory or .csv file; valid: {}, a directory of IDX files, a .csv file",
            Source::ALL.map(Source::name).join(", ")
        ),
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
        _ => return e.into(),
    };
    CliError::Invalid(format!("{e}{hint}"))
}
