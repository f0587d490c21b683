//! The command line: [`Cli`] and the arguments of each subcommand (clap derive). The help
//! texts teach: what each figure means and examples to start from.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gradwell_activations::ActivationKind;
use gradwell_data::LastBatch;
use gradwell_data::csv::LabelColumn;
use gradwell_init::Init;
use gradwell_nn::{MlpSpec, Widths};
use gradwell_train::{LrRangeTest, Preprocess};

use crate::{CliError, Result};

/// `gradwell`: train deep networks whose gradients stay healthy, and see when they do not.
#[derive(Debug, Parser)]
#[command(
    name = "gradwell",
    version,
    about = "Train deep networks whose gradients stay healthy, and see when they do not",
    long_about = "Train deep feed-forward networks and watch their gradients.\n\n\
        `probe` measures a network at initialization, layer by layer, beside what \
        signal-propagation theory predicts; `train` trains one with the gradient-health \
        monitor alongside, printing its findings (vanishing or exploding gradients, along the \
        depth or through time, a collapsing or exploding forward signal, symmetric units, dead \
        or saturated units, a learning rate too high or too low) when they change; `lr-find` \
        runs the learning-rate range test on the same setup and suggests a rate; `summary` \
        prints a model; `lab` runs the classic experiments on vanishing and exploding \
        gradients and writes a report; `report` merges run folders into that report; `sweep` \
        runs a grid of runs here or as a Slurm job array.",
    after_help = "Examples:\n  \
        gradwell train                                   # embedded digits, sensible defaults\n  \
        gradwell probe --depth 20 --width 128 --activation sigmoid --init xavier-normal\n  \
        gradwell train --data fashion-mnist --model 784-128-10 --activation relu \\\n      \
        --init he-normal --optimizer sgd --lr 0.1 --momentum 0.9 --epochs 5 --clip-norm 1.0 \\\n      \
        --weight-decay 1e-4\n  \
        gradwell lr-find --optimizer sgd --momentum 0.9 --out lr/\n  \
        gradwell summary --model 784-128-10 --activation relu\n  \
        gradwell lab --out report/",
    allow_negative_numbers = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure a deep network at initialization on a batch of real data.
    Probe(ProbeArgs),
    /// Train a network, with the gradient-health monitor alongside.
    Train(Box<TrainArgs>),
    /// Find a learning rate: the range test (Smith 2017) on the model, data and optimizer
    /// `train` would use.
    LrFind(Box<LrFindArgs>),
    /// Print a model's summary (Keras style, or PyTorch's print form).
    Summary(SummaryArgs),
    /// Run the standard experiments on vanishing and exploding gradients and write a report.
    Lab(LabArgs),
    /// Merge run folders (written by `train --out`) into a lab report.
    Report(ReportArgs),
    /// Run a grid of training runs (a base config and axes) here or as a Slurm job array.
    Sweep(Box<SweepArgs>),
    /// Evaluate a trained run on data: loss, accuracy and the confusion matrix.
    Eval(EvalArgs),
    /// Predict the class of every row of a CSV file with a trained run.
    Predict(PredictArgs),
}

/// The trained run `eval` and `predict` use: a folder written by `train --out`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// The run folder written by `train --out` (model.safetensors, config.toml, data.json).
    #[arg(long, value_name = "DIR")]
    pub run: Option<PathBuf>,
    /// The weights of a run folder (`DIR/model.safetensors`); the rest is read beside them.
    #[arg(long, value_name = "DIR/model.safetensors")]
    pub weights: Option<PathBuf>,
}

/// `gradwell eval`'s flags.
#[derive(Debug, Clone, Default, Args)]
#[command(
    after_help = "The model is rebuilt from the run folder's config.toml, loads its \
weights, and the data are scaled with the statistics fitted on the run's training set \
(data.json). Without --data the run's own test set is evaluated; a .csv file is evaluated \
whole; a named data set (digits, mnist) by its test part, split as the run split it. \
Class names are matched to the model's by name.

Examples:
  gradwell eval --run runs/digits
  gradwell eval --weights runs/iris/model.safetensors --data iris-test.csv --out eval.json"
)]
pub struct EvalArgs {
    /// The trained run.
    #[command(flatten)]
    pub run: RunArgs,
    /// The data (as train's --data); by default the run's test set.
    #[arg(long, value_name = "NAME|DIR|FILE.csv")]
    pub data: Option<String>,
    /// The CSV column holding the label (default: the run's).
    #[arg(long, value_name = "last|INDEX|NAME")]
    pub label_column: Option<LabelColumn>,
    /// Also write the figures and the confusion matrix as JSON.
    #[arg(long, value_name = "FILE.json")]
    pub out: Option<PathBuf>,
}

/// `gradwell predict`'s flags.
#[derive(Debug, Clone, Default, Args)]
#[command(
    after_help = "Prints one line per row: the predicted class (its name when the run \
was trained on class names, else its index) and its probability. A file with as many \
columns as the model has features has no label; one more column holds a label \
(--label-column, default last), which is ignored.

Examples:
  gradwell predict --run runs/iris --data new-flowers.csv
  gradwell predict --run runs/iris --data new-flowers.csv --out predictions.csv"
)]
pub struct PredictArgs {
    /// The trained run.
    #[command(flatten)]
    pub run: RunArgs,
    /// The CSV file of samples.
    #[arg(long, value_name = "FILE.csv")]
    pub data: String,
    /// The CSV column holding a label, when the file has one (default: the run's).
    #[arg(long, value_name = "last|INDEX|NAME")]
    pub label_column: Option<LabelColumn>,
    /// Write `prediction,probability` rows to this CSV file instead of printing them.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
}

/// Where the data come from.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// The data: `digits` (embedded, the default), `fashion-mnist`, `mnist`, a directory
    /// holding the four IDX files of MNIST's layout, a `.csv` file (one sample per line,
    /// numeric features, an integer label or a class name such as
    /// `setosa`: names are numbered in sorted order), or a built-in sequence task: `adding:T` (the
    /// adding problem, sequences of T steps, a real target, MSE; predicting 1 scores 1/6)
    /// or `copy:T` (the copy task, a delay of T, a class per step; accuracy is on the 10
    /// recall steps), each `TASK:T,N` for N training sequences (default 4000; a test set of
    /// N/4) and `TASK:T,N,SEED` for another seed (default 0).
    #[arg(long, value_name = "NAME|DIR|FILE.csv|adding:T|copy:T")]
    pub data: Option<String>,
    /// Where `fashion-mnist` or `mnist` lie (Fashion-MNIST defaults to Debian's
    /// `dataset-fashion-mnist` location; MNIST has no default).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The CSV column holding the label: `last` (default), a 0-based index, or a header name.
    #[arg(long, value_name = "last|INDEX|NAME")]
    pub label_column: Option<LabelColumn>,
    /// Fraction held out as the test set, for data that ship without one (digits, CSV);
    /// default 0.2.
    #[arg(long, value_name = "F")]
    pub test_fraction: Option<f64>,
    /// The number of classes of a CSV file, when some classes have no sample in it: labels
    /// must then be below N. Without it the classes are the labels present, which must be
    /// 0 to C-1 with every class present (a gap is an error naming its line).
    #[arg(long, value_name = "N")]
    pub classes: Option<usize>,
    /// Read each line of a `.csv` file as a sequence of T steps: its feature cells, step
    /// after step (T times the features per step), then the label; for recurrent models.
    #[arg(long, value_name = "T")]
    pub sequence_length: Option<usize>,
    /// The most a gzip data file (`.csv.gz`, IDX `.gz`) may decompress to, in MiB
    /// (default 256, which every real data set fits); a file that decompresses to more is
    /// refused without being inflated further.
    #[arg(long, value_name = "MB")]
    pub max_decompressed_mb: Option<u64>,
}

/// The model, as an MLP: each flag sets the field of the same name of `[model]`
/// (`gradwell-nn`'s `MlpSpec`).
#[derive(Debug, Clone, Default, Args)]
pub struct ModelArgs {
    /// All widths, input to output, e.g. `784-128-10` (the first must be the data's number
    /// of features, the last its number of classes); or recurrent layers for sequence
    /// data, `rnn:128`, `rnn-relu:128`, `lstm:128`, `gru:128` (`lstm:128,128` stacks two),
    /// followed by the last step's linear read-out (one target per sample) or a linear
    /// read-out at every step (a class per step, e.g. `copy:T`).
    #[arg(long, value_name = "W-W-...-W|KIND:W,...", conflicts_with = "hidden")]
    pub model: Option<ModelFlag>,
    /// Only the hidden widths, e.g. `128` or `256,128`; input and output widths come from
    /// the data.
    #[arg(long, value_name = "W,W,...")]
    pub hidden: Option<Widths>,
    /// The layers' settings.
    #[command(flatten)]
    pub mlp: MlpArgs,
    /// Dropout probability after each hidden activation, in [0, 1].
    #[arg(long, value_name = "P")]
    pub dropout: Option<f64>,
    /// Alpha dropout probability after each hidden activation, in [0, 1]: the dropout of
    /// SELU networks (Klambauer et al. 2017), which keeps their mean and variance; not
    /// with --dropout.
    #[arg(long, value_name = "P")]
    pub alpha_dropout: Option<f64>,
}

impl ModelArgs {
    /// Writes the flags over `m`, which is valid; each flag given is checked, the error
    /// naming it.
    ///
    /// # Errors
    /// A setting the MLP refuses ([`MlpSpec::validate`]).
    pub fn apply(&self, m: &mut MlpSpec) -> Result<()> {
        match &self.model {
            Some(ModelFlag::Widths(w)) => {
                m.widths = gradwell_nn::MlpWidths::All(w.0.clone());
                m.recurrent = None;
                m.recurrent_init = None;
                check(m, "--model", Some(w))?;
            }
            Some(ModelFlag::Recurrent(r)) => {
                // The recurrent layers, then a linear read-out from their width.
                m.widths = gradwell_nn::MlpWidths::Hidden(Vec::new());
                m.recurrent = Some(r.clone());
                check(m, "--model", Some(r))?;
            }
            None => {}
        }
        if let Some(h) = &self.hidden {
            m.widths = gradwell_nn::MlpWidths::Hidden(h.0.clone());
        }
        self.mlp.apply(m)?;
        if let Some(p) = self.dropout {
            m.dropout = p;
            check(m, "--dropout", Some(p))?;
        }
        if let Some(p) = self.alpha_dropout {
            m.alpha_dropout = p;
            check(m, "--alpha-dropout", Some(p))?;
        }
        Ok(())
    }
}

/// The MLP's layer settings, shared by `train`, `summary` and `probe`: each flag sets the
/// field of the same name of `[model]` (`gradwell-nn`'s `MlpSpec`).
#[derive(Debug, Clone, Default, Args)]
pub struct MlpArgs {
    /// The hidden layers' activation (its help lists every one, from the registry).
    #[arg(long, value_name = "NAME", help = activation_help())]
    pub activation: Option<ActivationKind>,
    /// The weights' initializer (its help lists every one, from the registry).
    #[arg(long, value_name = "NAME", help = init_help())]
    pub init: Option<Init>,
    /// The biases' initializer (e.g. `zeros`); by default PyTorch's U(±1/√fan_in).
    #[arg(long, value_name = "NAME")]
    pub bias_init: Option<Init>,
    /// Batch normalization between each hidden linear layer and its activation.
    #[arg(long)]
    pub batch_norm: bool,
    /// The value batch norm's scale γ starts at (default PyTorch's 1); needs --batch-norm.
    #[arg(long, value_name = "V")]
    pub batch_norm_weight_init: Option<f64>,
    /// A residual (skip) connection around each hidden block whose width does not change.
    #[arg(long)]
    pub residual: bool,
    /// Start each residual branch at zero: its batch norm's γ (with --batch-norm) or its
    /// linear layer's weights ("zero-init residual", Goyal et al. 2017); needs --residual.
    #[arg(long)]
    pub zero_init_residual: bool,
    /// The recurrent layers' recurrent weights' initializer (each gate's H×H block of
    /// `weight_hh_l*`), e.g. `orthogonal` or `orthogonal:0.9` (spectral radius 0.9); by
    /// default PyTorch's U(±1/√hidden). Needs recurrent layers (--model lstm:128).
    #[arg(long, value_name = "NAME")]
    pub recurrent_init: Option<Init>,
}

impl MlpArgs {
    /// Writes the flags over `m`, which is valid; each flag given is checked, the error
    /// naming it.
    ///
    /// # Errors
    /// A setting the MLP refuses ([`MlpSpec::validate`]).
    pub fn apply(&self, m: &mut MlpSpec) -> Result<()> {
        if let Some(a) = self.activation {
            m.activation = a;
        }
        if let Some(i) = self.init {
            m.init = Some(i);
        }
        if let Some(b) = self.bias_init {
            m.bias_init = Some(b);
        }
        if self.batch_norm {
            m.batch_norm = true;
            check(m, "--batch-norm", None::<&str>)?;
        }
        m.residual |= self.residual;
        if self.zero_init_residual {
            m.zero_init_residual = true;
            check(m, "--zero-init-residual", None::<&str>)?;
        }
        if let Some(v) = self.batch_norm_weight_init {
            m.batch_norm_weight_init = v;
            check(m, "--batch-norm-weight-init", Some(v))?;
        }
        if let Some(i) = self.recurrent_init {
            m.recurrent_init = Some(i);
            check(m, "--recurrent-init", Some(i))?;
        }
        Ok(())
    }
}

/// What `--model` gives: all the widths of an MLP (`784-128-10`), or recurrent layers
/// (`lstm:128`), each parsed by `gradwell-nn`, which owns them; a `:` tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelFlag {
    /// All widths of an MLP.
    Widths(Widths),
    /// Recurrent layers.
    Recurrent(gradwell_nn::RecurrentStack),
}

impl std::str::FromStr for ModelFlag {
    type Err = gradwell_nn::NnError;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        if text.contains(':') {
            text.parse().map(ModelFlag::Recurrent)
        } else {
            text.parse().map(ModelFlag::Widths)
        }
    }
}

impl std::fmt::Display for ModelFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelFlag::Widths(w) => w.fmt(f),
            ModelFlag::Recurrent(r) => r.fmt(f),
        }
    }
}

/// `m` checked after `flag` (with its value, if it takes one) was written over it (it was
/// valid before), the error naming the flag.
fn check(m: &MlpSpec, flag: &str, value: Option<impl ToString>) -> Result<()> {
    m.validate().map_err(|e| {
        let why = match e {
            gradwell_nn::NnError::Config(why) => why,
            other => crate::one_line(other),
        };
        match value {
            Some(v) => CliError::flag(flag, v, why),
            None => CliError::Invalid(format!("{flag}: {why}")),
        }
    })
}

/// `gradwell probe`.
#[derive(Debug, Clone, Args)]
#[command(after_help = probe_help(), allow_negative_numbers = true)]
pub struct ProbeArgs {
    /// Hidden layers (each a linear layer and an activation); the output layer comes on top.
    #[arg(long, default_value = "20", value_name = "N", value_parser = positive)]
    pub depth: usize,
    /// Width of every hidden layer.
    #[arg(long, default_value = "128", value_name = "N", value_parser = positive)]
    pub width: usize,
    /// Recurrent layers instead of the deep MLP, for sequence data: `rnn:W`,
    /// `rnn-relu:W`, `lstm:W`, `gru:W` (`lstm:128,128` stacks two), with a linear read-out
    /// (of the last step, or of every step for a class per step); --depth and --width
    /// then do not apply.
    #[arg(long, value_name = "KIND:W,...")]
    pub model: Option<gradwell_nn::RecurrentStack>,
    /// The layers' settings.
    #[command(flatten)]
    pub mlp: MlpArgs,
    /// Re-initialize with LSUV (orthogonal, then each layer scaled to unit output
    /// variance on the batch) before measuring.
    #[arg(long)]
    pub lsuv: bool,
    /// Where the batch comes from.
    #[command(flatten)]
    pub data: DataArgs,
    /// Samples in the probed batch.
    #[arg(long, default_value = "256", value_name = "N", value_parser = positive)]
    pub batch_size: usize,
    /// Seeds the weights and the batch.
    #[arg(long, default_value = "0", value_name = "N")]
    pub seed: u64,
    /// Also draw the gradient norm and the activation std by layer (`.svg` or `.png`;
    /// the activation plot is written beside it with `-activations` in its name).
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub plot: Option<PathBuf>,
    /// Print the figures as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also take the exact input-output Jacobian at the batch's first sample (evaluation
    /// mode) and print the spread of its singular values: how far the network is from
    /// dynamical isometry.
    #[arg(long)]
    pub jacobian: bool,
}

/// The help text after `gradwell probe`'s flags.
fn probe_help() -> String {
    format!(
        "\
What the table shows, for each layer's output on one batch at initialization:
  mean, std      of the layer's outputs over the batch and the units
  sat %          sigmoid/tanh outputs near their asymptotes, where the derivative is ~0
  dead %         ReLU units that output 0 for every sample of the batch (they pass no gradient)
  |dL/dout|      norm of the loss gradient reaching the layer's output
  |dL/dW|        norm of the gradient of the layer's weight

With --jacobian, the singular values of the network's input-output Jacobian at one sample
(evaluation mode, exact), their span, condition and mean square: near dynamical isometry
when every one lies within the printed factor of 1, so that signals and gradients keep
their size in every direction.

A healthy deep network keeps |dL/dW| within a small factor from first layer to last. When
the first layer's is orders of magnitude below the last's, gradients vanish: early layers
barely learn. The theory column is mean-field signal propagation: q = E[h^2] of each linear
output and the gradient trend predicted for a plain network (no batch norm, no residual):
for ReLU with He init q is preserved, with Xavier it halves per layer; sigmoid's derivative
is at most 1/4, so each sigmoid layer shrinks the gradient by a factor of at most 1/4 times
the weights' gain.

The order-to-chaos section (Schoenholz et al. 2017) reads the hidden layers' sigma_w^2 and
sigma_b^2: chi_1 < 1 is the ordered phase (inputs become alike, gradients vanish), chi_1 > 1
the chaotic one (inputs decorrelate, gradients explode), chi_1 = 1 the edge of chaos. The
depth scales xi_q and xi_c are how many layers the variance and the correlation of two
inputs take to settle; the paper's networks trained when their depth was at most about
6 xi_c, an empirical rule that the probe states beside this network's depth.

{findings}
Examples:
  gradwell probe --depth 20 --width 128 --activation sigmoid --init xavier-normal
  gradwell probe --depth 20 --width 128 --activation relu --init he-normal
  gradwell probe --depth 20 --activation relu --init xavier-normal --bias-init zeros
  gradwell probe --depth 20 --activation sigmoid --batch-norm --plot probe.svg
  gradwell probe --depth 50 --activation relu --init pytorch-default --residual
  gradwell probe --depth 30 --activation tanh --init orthogonal --jacobian
  gradwell probe --data copy:20 --model gru:64",
        findings = findings_help()
    )
}

/// What the diagnosis finds and how its cures are chosen, with the thresholds of
/// `gradwell-monitor`'s `Thresholds`: part of `probe`'s and `train`'s help.
fn findings_help() -> String {
    let th = gradwell_monitor::Thresholds::default();
    format!(
        "\
The diagnosis names, with the measured figure and its threshold: vanishing or exploding
gradients (|dW| of the first weight over the last's below {vanish:e} or above {explode:e});
a forward signal that collapses or explodes (the std of the last hidden activation over
the first's below {collapse:e} or above {explosion:e}); symmetric units (every unit of a
layer computing the same function, as a constant initialization leaves them: their spread
across units below {sym:e} of that across samples; said instead of the vanishing and
exploding gradients it causes); dead or saturated units; parameters without gradient; a
learning rate too high or too low; a rising loss; NaN or inf. Each finding lists cures
fitted to the network: what it already does is left out (a sigmoid network with Xavier
weights is not told to use Xavier), what addresses the cause comes first (residual
connections for gradients that grow through batch norm in a deep plain network), and a
cure two findings share is printed once.
",
        vanish = th.vanishing_ratio,
        explode = th.exploding_ratio,
        collapse = th.signal_collapse,
        explosion = th.signal_explosion,
        sym = th.symmetric_units,
    )
}

/// The run's setup that `train` and `lr-find` share: the config file, the data, the model,
/// the optimizer and how batches are made. Each flag is written over the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct SetupArgs {
    /// A TOML file holding the run: `[data]`, `[model]` (or `[network]`), `[train]`,
    /// `[monitor]` (see `crates/gradwell-cli/examples/digits.toml`); flags override it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The model.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The optimizer by name, optionally with settings: sgd, adam (default), adamw, …
    /// (an unknown name lists them all); sgd:lr=0.1,momentum=0.9 sets two settings.
    #[arg(long, value_name = "NAME[:SETTINGS]")]
    pub optimizer: Option<String>,
    /// Learning rate, in (0, 100] (defaults: PyTorch's, 1e-3 for Adam).
    #[arg(long, value_name = "LR")]
    pub lr: Option<f64>,
    /// Momentum, in [0, 1) (an optimizer that has it: sgd, rmsprop).
    #[arg(long, value_name = "M")]
    pub momentum: Option<f64>,
    /// Nesterov momentum (sgd, with --momentum).
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay λ: L2 added to the gradient (decoupled for adamw).
    #[arg(long, value_name = "L")]
    pub weight_decay: Option<f64>,
    /// Samples per mini-batch (default 64).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// The last, smaller batch of an epoch: keep (default) or drop.
    #[arg(long, value_name = "keep|drop")]
    pub last_batch: Option<LastBatch>,
    /// Clip the global gradient norm to this value before each step.
    #[arg(long, value_name = "MAX", conflicts_with = "clip_value")]
    pub clip_norm: Option<f64>,
    /// Clamp each gradient element into [-V, V] before each step.
    #[arg(long, value_name = "V")]
    pub clip_value: Option<f64>,
    /// Label smoothing ε of the training loss, in [0, 1).
    #[arg(long, value_name = "EPS")]
    pub label_smoothing: Option<f64>,
    /// Input scaling: unit-range (pixels to [0, 1], the default when the data's range is
    /// known), standardize (each feature to mean 0, std 1; the default for CSV),
    /// standardize-global, none.
    #[arg(long, value_name = "HOW")]
    pub preprocess: Option<Preprocess>,
    /// Fraction of the training set held out for validation.
    #[arg(long, value_name = "F")]
    pub validation_fraction: Option<f64>,
    /// Seeds the weights, the test split, shuffling and dropout (default 0).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// `gradwell train`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = train_help(), allow_negative_numbers = true)]
pub struct TrainArgs {
    /// The config file, the data, the model and the optimizer.
    #[command(flatten)]
    pub setup: SetupArgs,
    /// The run's name (in reports); default the `--out` folder's name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Passes over the training set.
    #[arg(long, value_name = "N", help = format!("Passes over the training set (default {})", gradwell_train::DEFAULT_EPOCHS))]
    pub epochs: Option<u64>,
    /// Stop after N optimizer steps, in the middle of an epoch if need be; with --epochs
    /// the run ends at whichever comes first (to train by steps alone, give enough
    /// epochs). A schedule over the run (cosine, one-cycle, …) spans these N steps.
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Learning-rate schedule, per epoch: constant, cosine or cosine:ETA_MIN (over the
    /// run), step:EPOCHS or step:EPOCHS,GAMMA, exponential:GAMMA, plateau, … (an unknown
    /// name lists them all); add per=step to advance it every step (cosine:per=step).
    #[arg(long, value_name = "SCHEDULE")]
    pub schedule: Option<String>,
    /// Write checkpoints (weights, optimizer, RNG and position) here, at each epoch's end;
    /// the newest few valid ones are kept (corrupt files are left alone, never counted).
    /// Created and locked before training: a second run on the same directory is refused.
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Also write a checkpoint every N steps.
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<u64>,
    /// Continue from the newest valid checkpoint in `--checkpoint-dir`, exactly where it
    /// stopped. With no checkpoint file there, start afresh; with checkpoint files but none
    /// valid, refuse (listing each and why) and leave them all in place.
    #[arg(long, requires = "checkpoint_dir")]
    pub resume: bool,
    /// Switch the gradient-health monitor off.
    #[arg(long)]
    pub no_monitor: bool,
    /// Per-layer statistics every N steps (and at step 1); default 10.
    #[arg(long, value_name = "N")]
    pub monitor_every: Option<usize>,
    /// How much of the monitor's history --out keeps: summary (the default: monitor.json
    /// holds the steps recorded, the metrics and the findings;
    /// monitor/steps.csv every step; the per-parameter, per-layer and update tables at ten
    /// detailed steps spread over the run) or full (every record, in monitor.json and the
    /// CSVs; tens of MB for a long deep run).
    #[arg(long, value_name = "DETAIL")]
    pub monitor_detail: Option<gradwell_monitor::Detail>,
    /// Also evaluate the test set (and the validation part, if any) every N steps, in
    /// evaluation mode and without changing the run: one row per evaluation in run.json
    /// and evaluations.csv of --out.
    #[arg(long, value_name = "N")]
    pub eval_every: Option<u64>,
    /// Write the run's report here: model.safetensors (first), config.toml, metrics.json,
    /// run.json, monitor.json, monitor/*.csv (as much as --monitor-detail says),
    /// evaluations.csv (with --eval-every), plots (SVG), each file atomically. Created
    /// and locked before training: a bad path or a folder in use is refused at once.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print only the final accuracy (no epoch lines, no findings).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `gradwell lr-find`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = lr_find_help(), allow_negative_numbers = true)]
pub struct LrFindArgs {
    /// The config file, the data, the model and the optimizer, as for `train`.
    #[command(flatten)]
    pub setup: SetupArgs,
    /// The first step's learning rate.
    #[arg(long, value_name = "LR", help = format!("The first step's learning rate, in (0, 100] (default {:e})", LrRangeTest::default().start_lr))]
    pub start_lr: Option<f64>,
    /// The last step's learning rate.
    #[arg(long, value_name = "LR", help = format!("The last step's learning rate, above --start-lr and at most 100 (default {})", LrRangeTest::default().end_lr))]
    pub end_lr: Option<f64>,
    /// Steps of the test.
    #[arg(long, value_name = "N", help = format!("Steps of the test, at least 2 (default {}); it stops earlier if the loss diverges", LrRangeTest::default().steps))]
    pub steps: Option<u64>,
    /// Write lr_find.csv (every step: rate, loss, smoothed loss) and lr_find.svg (the
    /// smoothed loss against the rate on a log axis, the suggestion marked, the last five
    /// steps left out as fastai's plot does) here, each atomically.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The help text after `gradwell lr-find`'s flags; the defaults and the rules it states come
/// from `gradwell-train`'s `LrRangeTest`.
fn lr_find_help() -> String {
    let d = LrRangeTest::default();
    format!(
        "\
The learning-rate range test (Smith 2017, \"Cyclical Learning Rates for Training Neural
Networks\"; the defaults are fastai's lr_find): training steps on the model, data and
optimizer that `gradwell train` with the same flags or --config would use, with the rate
growing geometrically from --start-lr to --end-lr, one batch per step. Each step's loss is
smoothed (an exponential moving average, beta = {beta}, with bias correction). The test stops
early when the smoothed loss exceeds {div} times the best so far, or when a loss or gradient
is not finite. The optimizer's own rate (--lr) and the run's schedule are set aside: the test sets the
rate. Nothing is saved: train with `gradwell train` afterwards, at the rate you choose.

The suggestion is a tenth of the rate at which the smoothed loss is lowest (fastai's
\"minimum\" rule): at the minimum the loss is about to turn up, a tenth of it is still on the
falling part. The rate of the steepest fall (against log lr) is printed beside it; on the
digits it varied more from seed to seed. Both leave out the first tenth of the steps and
the last five. Read the curve too: a good rate lies where the loss falls steadily, below the
valley's bottom.

Examples:
  gradwell lr-find
  gradwell lr-find --optimizer sgd --momentum 0.9 --out lr/
  gradwell lr-find --hidden 256,128 --activation gelu --steps 200 --start-lr 1e-6 --end-lr 1
  gradwell lr-find --config crates/gradwell-cli/examples/digits.toml --out lr/",
        beta = d.smoothing,
        div = d.divergence,
    )
}

/// The help text after `gradwell train`'s flags; the defaults it names come from the
/// crates that own them.
fn train_help() -> String {
    format!(
        "\
Trains a classifier (cross-entropy on logits) and prints the final test accuracy. With the
monitor on (the default), the gradients of every step are measured before clipping (global
norm, per-parameter norms, NaN/inf), every layer's outputs every --monitor-every steps, and
each optimizer step's update-to-weight ratio |dw|/|w| (healthy near 1e-3). The findings
are judged at each of those checks; a finding is printed once it has held for {hold}
checks in a row, and `no longer: ...` once it has stopped holding for {hold} checks in a
row, so a figure hovering at its threshold does not make its finding come and go, e.g.:
  step 20: warning: vanishing gradients — |dW| of the first weight (0.weight) is 3.1e-7 times
  that of the last ...
    cure: use a non-saturating activation (ReLU, leaky ReLU, ELU, GELU)
When a loss or gradient becomes NaN or infinite, the run stops and names the forward op and
layer where the first non-finite value appeared.

{findings}
Before anything is allocated, the memory the run needs (parameters, gradients, optimizer
buffers, the layer outputs of a batch) is weighed against the memory available
(MemAvailable, or GRADWELL_MAX_MEMORY_MB in MiB): a run that cannot fit is refused, naming
the layer. A gzip data file may decompress to at most --max-decompressed-mb (256 MiB).

The default model is one hidden layer of 256 ReLU units with He initialization; with the
defaults (Adam, lr 1e-3, {epochs} epochs, batch 64, features scaled to [0, 1]) it reaches
0.97-0.99 test accuracy on the embedded digits in well under a second (release build).

Config file (TOML), every section optional, flags override it:
  name = \"digits-sgd\"
  [data]
  source = \"digits\"          # or fashion-mnist, mnist, a directory, a .csv file,
                              # adding:T[,N[,SEED]], copy:T[,N[,SEED]]
  # sequence_length = 10      # a .csv line as a sequence of 10 steps, as --sequence-length
  test_fraction = 0.2
  max_decompressed_mb = 256   # most a gzip data file may decompress to
  [model]
  hidden = [256]              # or widths = [64, 256, 10]
  # recurrent = \"lstm:128\"    # recurrent layers first, as --model lstm:128 (then hidden
                              # defaults to none: a linear read-out)
  activation = \"relu\"         # names as the flags write them: leaky-relu:0.2, ...
  init = \"he-normal\"
  bias_init = \"zeros\"
  [train]                     # any field of gradwell-train's TrainConfig
  epochs = 20
  # steps = 300               # a step budget, as --steps: epochs or steps, whichever ends first
  preprocess = \"unit-range\"   # standardize, standardize-global, none
  last_batch = \"keep\"         # or drop
  schedule = \"cosine\"         # as --schedule; or a table with kind
  [train.optimizer]           # or optimizer = \"sgd:lr=0.1,momentum=0.9\", as --optimizer
  kind = \"sgd\"
  lr = 0.1
  momentum = 0.9
  [monitor]
  enabled = true
  layer_every = 10
  detail = \"summary\"          # or full, as --monitor-detail
  [eval]
  every = 100                 # as --eval-every

Examples:
  gradwell train
  gradwell train --hidden 256,128 --activation gelu --epochs 20 --out runs/gelu
  gradwell train --data fashion-mnist --model 784-128-10 --activation relu --init he-normal \\
      --optimizer sgd --lr 0.1 --momentum 0.9 --epochs 5 --clip-norm 1.0 --weight-decay 1e-4
  gradwell train --data my.csv --label-column species --preprocess standardize
  gradwell train --data adding:100 --model lstm:128 --clip-norm 1.0
  gradwell train --data copy:20 --model gru:64 --out runs/copy
  gradwell train --steps 300 --epochs 100 --schedule cosine:per=step --eval-every 50 --out runs/s300
  gradwell train --config crates/gradwell-cli/examples/digits.toml --checkpoint-dir ck/
  gradwell train --config crates/gradwell-cli/examples/digits.toml --checkpoint-dir ck/ --resume",
        epochs = gradwell_train::DEFAULT_EPOCHS,
        hold = gradwell_monitor::Thresholds::default().finding_hold,
        findings = findings_help()
    )
}

/// `gradwell summary`.
#[derive(Debug, Clone, Args)]
#[command(
    allow_negative_numbers = true,
    after_help = "\
The Keras-style summary lists each layer (PyTorch path and type), its output shape and its
parameter count, then the totals: trainable parameters (weights and biases, batch norm's
scale and shift) and non-trainable ones (batch norm's running statistics). It is computed
from the model's description without allocating any weight, so a model too large to build
is summarized too, with a note saying how much memory building it needs. --pytorch prints
the model as PyTorch's print(model) does, which builds it (and refuses a model larger than
the memory available; GRADWELL_MAX_MEMORY_MB sets that budget in MiB).

Examples:
  gradwell summary --model 784-128-10 --activation relu
  gradwell summary --model 784-128-10 --activation relu --pytorch
  gradwell summary --hidden 64,64 --batch-norm --residual
  gradwell summary --config crates/gradwell-cli/examples/digits.toml"
)]
pub struct SummaryArgs {
    /// A run config (TOML) whose model to print.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// The model.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The data (for `--hidden`: the input and output widths).
    #[command(flatten)]
    pub data: DataArgs,
    /// Print Keras's model.summary() table (the default): layers named as Keras names
    /// them (dense, dense_1, …), an activation written into the Dense it follows.
    #[arg(long, conflicts_with = "pytorch")]
    pub keras: bool,
    /// Print PyTorch's print(model) form instead.
    #[arg(long)]
    pub pytorch: bool,
}

/// `gradwell lab`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
The experiments, each a claim checked against a criterion stated in advance:
  1. a deep plain sigmoid network has vanishing gradients and barely learns;
  2. the same depth with ReLU and He init keeps gradient norms within a small factor, and learns;
  3. Xavier under ReLU loses signal with depth as theory predicts (variance halves per layer),
     He does not;
  4. batch normalization lets the deep sigmoid network learn, at a 10x learning rate and from
     a poor initialization too;
  5. residual connections let a much deeper network train where the plain one does not
     (its runs clip: the residual network's gradient norm at init is far above the exploding
     threshold; with the last layer of each block at zero it starts sane and trains unclipped);
  6. a too-large initialization or learning rate gives huge or non-finite gradients; clipping
     by norm (with L2) keeps training finite and learning;
  7. a constant initialization never breaks symmetry: hidden units stay identical;
  8. a tanh RNN's gradient through time shrinks geometrically when the recurrent matrix's
     spectral radius is below 1 and grows when it is above, at the mean-field rate;
  9. on the adding problem at a length where the plain tanh RNN stays at the trivial
     baseline (MSE 1/6), an LSTM solves it (MSE below 0.05);
 10. Pascanu's cliff: without clipping a step from the cliff throws the loss up; with norm
     clipping it does not.
Claims 1-7 run on the embedded digits, 8-10 on the adding problem, all with fixed seeds.

The lab is a sweep (see `gradwell sweep --help`): its runs listed as [[run]] tables in a
sweep file shipped with gradwell (crates/gradwell-cli/lab/lab.toml, lab-quick.toml with
--quick; --write-sweep FILE writes it). The folder is a sweep folder: sweep.json and
runs/<k>/, one run folder per run in the file's order, each with its config.toml, status
and error.log. Running the lab again in it skips the runs that finished and resumes the
others from their newest checkpoint. --jobs N runs N at once here; --slurm writes
OUT/sweep.sbatch, a Slurm job array of the runs not finished (--submit submits it), with
the flags of `gradwell sweep --slurm`. When every run has finished, the lab writes its
report into the folder: index.html (plots inline), results.json, one CSV per run; after a
job array, `gradwell lab --out DIR` again (or `gradwell report DIR --out REPORT`) judges
the claims.

Examples:
  gradwell lab --out report/ --jobs 2
  gradwell lab --out /shared/lab --slurm --submit --time 00:30:00 --mem 1G
  gradwell lab --out /shared/lab                 # after the array: the claims and the report
  gradwell lab --write-sweep lab.toml            # the sweep file, for `gradwell sweep`
  gradwell lab --list --out sweep/ > jobs.txt    # one `gradwell train` command per line
  gradwell report sweep/runs/* --out report/     # merge the folders those commands wrote")]
pub struct LabArgs {
    /// The lab's folder: a sweep folder (sweep.json, `runs/<k>/`), and the report once every
    /// run has finished.
    #[arg(long, default_value = "report", value_name = "DIR")]
    pub out: PathBuf,
    /// Print each run as a standalone `gradwell train` command (writing to
    /// `OUT/runs/NAME`) instead of running them.
    #[arg(long, conflicts_with = "write_sweep")]
    pub list: bool,
    /// Write the lab's sweep file (its runs as `[[run]]` tables) to FILE (`-`: standard
    /// output) instead of running it.
    #[arg(long, value_name = "FILE")]
    pub write_sweep: Option<PathBuf>,
    /// A smaller, faster lab (40 layers for the much deeper pair, 6 epochs but for the
    /// 10×-rate pair of claim 6, whose explosion builds up over 20; the adding problem of
    /// claim 9 at length 20 for 4 epochs instead of 30 for 8), whose accuracy claims are
    /// judged against the plain sigmoid run of the same scale (it must beat it by 0.2)
    /// instead of fixed accuracies; the tests run both scales.
    #[arg(long)]
    pub quick: bool,
    /// Where the runs run: here, or as a Slurm job array.
    #[command(flatten)]
    pub run: RunnerArgs,
}

/// `gradwell report`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Each DIR is a run folder written by `gradwell train --out DIR` (it holds run.json), or a
folder of such folders. The runs are matched to the lab's claims by name and settings;
claims whose runs are missing are reported as not run. A sweep folder (written by
`gradwell sweep`, it holds sweep.json), given alone, gets the sweep's report instead:
index.html and runs.csv, one row per run with its axis values, the runs not finished with
their errors, accuracy against each numeric axis and, for a depth x sigma_w2 grid, the
trainability heat map with the mean-field depth scale 6*xi_c over it. The lab's sweep
folder (`gradwell lab --out DIR`, or `gradwell sweep` of the lab's file) gets the lab's
report, its claims judged, with runs.csv listing every run's state.

Example:
  gradwell report sweep/runs/* --out report/")]
pub struct ReportArgs {
    /// Run folders, or folders of run folders.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The report folder.
    #[arg(long, default_value = "report", value_name = "DIR")]
    pub out: PathBuf,
}

/// `gradwell sweep`.
#[derive(Debug, Clone, Args)]
#[command(after_help = sweep_help())]
pub struct SweepArgs {
    /// The sweep file: a base run config and its axes.
    #[arg(value_name = "SWEEP.toml")]
    pub file: PathBuf,
    /// The sweep folder: sweep.json, `runs/<k>/` (each run's config.toml and, once it has
    /// run, its run folder), sweep.sbatch with --slurm. Running the sweep again in it skips
    /// the runs that finished.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Where the runs run: here, or as a Slurm job array.
    #[command(flatten)]
    pub run: RunnerArgs,
}

/// How a sweep's runs are run (`gradwell sweep`, `gradwell lab`): here, `--jobs` at once,
/// or as a Slurm job array (`--slurm`), with the same flags for both commands.
#[derive(Debug, Clone, Default, Args)]
pub struct RunnerArgs {
    /// Runs at once: child processes here (default 1), or with --slurm the most tasks of
    /// the array running at once (the array's `%N`; default all).
    #[arg(long, value_name = "N", value_parser = positive)]
    pub jobs: Option<usize>,
    /// Write SWEEP_DIR/sweep.sbatch, a Slurm job array of the runs not finished, instead
    /// of running them here.
    #[arg(long)]
    pub slurm: bool,
    /// Submit the job array with `sbatch --parsable` and print its job id.
    #[arg(long, requires = "slurm")]
    pub submit: bool,
    /// The Slurm partition (default: the cluster's default partition).
    #[arg(long, value_name = "NAME", requires = "slurm")]
    pub partition: Option<crate::sweep::slurm::SlurmName>,
    /// Each task's time limit, as sbatch reads it (default 01:00:00).
    #[arg(long, value_name = "TIME", requires = "slurm")]
    pub time: Option<crate::sweep::slurm::SlurmTime>,
    /// CPUs of each task (default 1).
    #[arg(long, value_name = "N", value_parser = positive, requires = "slurm")]
    pub cpus_per_task: Option<usize>,
    /// Memory of each task, e.g. 2G or 500M (default 2G).
    #[arg(long, value_name = "SIZE", requires = "slurm")]
    pub mem: Option<crate::sweep::slurm::SlurmMem>,
    /// The job's name (default `gradwell-<sweep name>`).
    #[arg(long, value_name = "NAME", requires = "slurm")]
    pub job_name: Option<crate::sweep::slurm::SlurmName>,
    /// The gradwell executable the tasks run (default: this one), as the cluster's nodes
    /// see it.
    #[arg(long, value_name = "PATH", requires = "slurm")]
    pub gradwell: Option<PathBuf>,
}

/// The help text after `gradwell sweep`'s flags.
fn sweep_help() -> String {
    use crate::sweep::slurm::{DEFAULT_CPUS, DEFAULT_MEM, DEFAULT_TIME};
    use crate::sweep::{DEPTH_AXIS, SIGMA_W2_AXIS};
    format!(
        "\
A sweep file holds a base run (the TOML of `train --config`, inline as [base] or as
base = \"run.toml\", read beside the sweep file) and [axes]: each key a config field
(`model.activation`, `train.epochs`; a field of [train] may drop the `train.`: `seed`,
`optimizer.lr`), each value a list or a range {{ from, to, steps, log = true }}. The sweep's
own axes: {DEPTH_AXIS} (hidden layers as wide as the base's first) and {SIGMA_W2_AXIS}
(weights from N(0, sigma_w2/fan_in)). Runs that are no grid are listed as [[run]] tables
instead (or too), each with a name (kept as the run's) and the fields it writes over the
base (`gradwell lab --write-sweep -` prints the lab's, so listed). The runs are the listed
runs (or the base) times the axes' Cartesian product, the last axis varying fastest,
numbered from 0; each config is checked before any run starts.

A run has finished when runs/<k>/run.json exists. Running the sweep again skips those and
runs the others again, each resuming from its newest checkpoint (a checkpoint is written at
each epoch's end; set train.checkpoint.every_steps in the base for more; a finished run's
checkpoints are kept, or removed when the sweep file says remove_finished_checkpoints = true). The standard error of a run's last attempt is
in runs/<k>/error.log, its state in runs/<k>/status; the command exits non-zero if any run
failed (a run that diverged has finished: its divergence is its result). `gradwell report SWEEP_DIR --out DIR` merges the runs into one report.

With --slurm, sweep.sbatch is a job array of the runs not finished (the array index is the
run's number), each task `gradwell train --config runs/$SLURM_ARRAY_TASK_ID/config.toml
--out runs/$SLURM_ARRAY_TASK_ID ...` in the sweep folder; defaults: --time {DEFAULT_TIME},
--cpus-per-task {DEFAULT_CPUS}, --mem {DEFAULT_MEM}, the cluster's default partition.

Example sweep file:
  [base]
  data.source = \"digits\"
  model.hidden = [64]
  train.epochs = 1
  [axes]
  \"model.depth\" = [2, 4]
  seed = {{ from = 0, to = 2, steps = 3 }}

Examples:
  gradwell sweep crates/gradwell-cli/examples/sweeps/depth-lr.toml --out sweeps/depth-lr --jobs 2
  gradwell sweep crates/gradwell-cli/examples/sweeps/depth-lr.toml --out sweeps/depth-lr \\
      --slurm --submit \\
      --partition cpu --time 00:20:00 --mem 1G --jobs 16
  gradwell report sweeps/depth-lr --out report/"
    )
}

/// A whole number ≥ 1, for clap.
/// `--init`'s help: every initializer with its parameters, as `gradwell-init` registers
/// them.
fn activation_help() -> String {
    format!(
        "The hidden layers' activation (default relu): {}",
        ActivationKind::valid_names()
    )
}

fn init_help() -> String {
    format!(
        "The weights' initializer: {}; by default the one that suits the activation (He for \
         the ReLU family, Xavier for sigmoid and tanh, LeCun for SELU)",
        gradwell_init::INIT_NAMES.join(", ")
    )
}

fn positive(s: &str) -> std::result::Result<usize, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n as usize),
        Ok(n) => Err(format!("must be a whole number >= 1, got {n}")),
        Err(_) => Err("must be a whole number >= 1".into()),
    }
}
