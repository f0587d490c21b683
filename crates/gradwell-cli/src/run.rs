//! One training run ([`train_run`]): data, model, trainer and monitor, the outcome as a
//! [`RunSummary`], and the run folder (`--out`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use gradwell_monitor::{History, LayerGradNorms, Setup, StepRecord};
use gradwell_nn::{MemoryBudget, MemoryUse, Network};
use gradwell_train::lock::DirLock;
use gradwell_train::{EpochMetrics, Observer, Preprocess, ProgressMode, TrainError, Trainer};
use serde::{Deserialize, Serialize};

use crate::evaluate::{DATA_FILE, TrainedOn};
use crate::observe::{EvalObserver, MonitorObserver, StepEvaluation};
use crate::setup::RunFile;
use crate::{CliError, Result};

/// The file of a run folder that holds its [`RunSummary`].
pub const RUN_FILE: &str = "run.json";

/// What a run did, as `run.json` of its folder: what `gradwell report` and the lab read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run's name.
    pub name: String,
    /// The config, as TOML.
    pub config: String,
    /// The model, one line (`64-128-10 relu he-normal`).
    pub model: String,
    /// Hidden linear layers of the model (weights of two axes, minus the output layer).
    pub depth: usize,
    /// Test accuracy at the end (`None` when the run diverged before an evaluation).
    pub test_accuracy: Option<f64>,
    /// Test loss at the end.
    pub test_loss: Option<f64>,
    /// Every finished epoch.
    pub epochs: Vec<EpochMetrics>,
    /// Steps taken.
    pub steps: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Why the run stopped early: a non-finite loss or gradient.
    pub diverged: Option<String>,
    /// Where the first NaN or infinity appeared, in words.
    pub non_finite: Option<String>,
    /// The monitor's record of step 1, with layer statistics: the network at
    /// initialization on a real batch (before the first update).
    pub init: Option<StepRecord>,
    /// The largest global gradient norm (before clipping) over the steps; ∞ or NaN when
    /// one was not finite.
    #[serde(with = "json_float")]
    pub max_grad_norm: f64,
    /// The loss of each step.
    pub losses: Vec<(u64, f64)>,
    /// The global gradient norm (before clipping) of each step.
    pub grad_norms: Vec<(f64, f64)>,
    /// ‖∂L/∂W‖ of each layer with a weight at each check of the monitor (step 1, then
    /// every `[monitor] layer_every` steps): the report's layer × step heat map. Not in
    /// `run.json`: the run folder keeps it as `monitor/layer_grad_norms.csv`
    /// ([`LayerGradNorms::CSV_FILE`]), which [`RunSummary::read`] reads back; empty
    /// without a monitor or that file.
    #[serde(skip)]
    pub layer_grad_norms: LayerGradNorms,
    /// The largest difference between two hidden units' incoming weights and biases,
    /// relative to the largest weight, over the hidden linear layers at the end: 0 when
    /// every hidden layer's units are identical.
    pub unit_spread: f64,
    /// The monitor's findings as printed, with their steps.
    pub findings: Vec<String>,
    /// The evaluations in the middle of the run (`--eval-every`), in order (those of this
    /// process: a resumed run starts the list afresh).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluations: Vec<StepEvaluation>,
}

/// JSON has no NaN or ∞: they are written as strings.
mod json_float {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else {
            s.serialize_str(&x.to_string())
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum F {
            N(f64),
            S(String),
        }
        Ok(match F::deserialize(d)? {
            F::N(x) => x,
            F::S(s) => s.parse().unwrap_or(f64::NAN),
        })
    }
}

impl RunSummary {
    /// The run's config, read back from [`RunSummary::config`]; `None` when it does not
    /// parse (a `run.json` from an older version).
    pub fn run_file(&self) -> Option<RunFile> {
        toml::from_str(&self.config).ok()
    }

    /// Reads `run.json` from a run folder.
    ///
    /// # Errors
    /// A missing or malformed file.
    pub fn read(dir: &Path) -> Result<RunSummary> {
        let path = dir.join(RUN_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| CliError::file(&path, e))?;
        let mut summary: RunSummary =
            serde_json::from_str(&text).map_err(|e| CliError::file(&path, e))?;
        let table = dir.join(MONITOR_DIR).join(LayerGradNorms::CSV_FILE);
        if table.is_file() {
            let text = std::fs::read_to_string(&table).map_err(|e| CliError::file(&table, e))?;
            summary.layer_grad_norms =
                LayerGradNorms::from_csv(&text).map_err(|e| CliError::file(&table, e))?;
        }
        Ok(summary)
    }

    /// The final training accuracy (last epoch), if an epoch finished.
    pub fn train_accuracy(&self) -> Option<f64> {
        self.epochs.last().and_then(|e| e.train_accuracy)
    }
}

/// The folder of a run folder that holds the monitor's CSVs.
pub const MONITOR_DIR: &str = "monitor";

/// How a run is shown and where it goes.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The run folder.
    pub out: Option<PathBuf>,
    /// Print epoch lines and findings.
    pub verbose: bool,
    /// Continue from the newest checkpoint.
    pub resume: bool,
    /// Silence everything.
    pub quiet: bool,
    /// Write the run's interactive page, `index.html`, in its folder (`train --out`; the
    /// lab's runs are drawn in the lab's report instead, which keeps its folder small).
    pub page: bool,
}

/// The run's name: given, or the folder's, or `run`.
fn run_name(run: &RunFile, out: Option<&Path>) -> String {
    run.name.clone().unwrap_or_else(|| {
        out.and_then(|p| p.file_name())
            .map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned())
    })
}

/// Creates and locks `dir` for this run ([`DirLock`]), the error naming `flag` and the
/// path: a path that is a file or cannot be created, or a directory another run holds
/// (with its pid).
///
/// # Errors
/// [`CliError::Flag`] saying which.
pub fn hold_dir(flag: &str, dir: &Path) -> Result<DirLock> {
    DirLock::acquire(dir).map_err(|why| CliError::flag(flag, dir.display(), why.to_string()))
}

/// Trains the run, with the monitor if it is enabled, and writes the run folder if asked.
/// A run that stops on a non-finite loss or gradient is an outcome, not an error: its
/// summary says so ([`RunSummary::diverged`]) and names where the first NaN or infinity
/// appeared.
///
/// The run folder and the checkpoint directory are created and locked once the data and
/// the model are known to be good, before any training: a bad path, or a directory another
/// run is using, is refused before the first step (and a refused flag, data set or model
/// leaves no folder behind). Every file of the run folder is written atomically, the
/// weights first.
///
/// # Errors
/// Data, model or config problems; directories that cannot be used; files that cannot be
/// written.
pub fn train_run(run: &RunFile, opts: &RunOptions) -> Result<RunSummary> {
    let started = Instant::now();
    let mut run = run.clone();
    let Prepared {
        split,
        data_name,
        spec,
        mlp,
        net,
    } = prepare(&mut run, opts.quiet)?;
    // The data and the model are good: take the directories before any training.
    let _out_lock = opts
        .out
        .as_deref()
        .map(|d| hold_dir("--out", d))
        .transpose()?;
    let _checkpoint_lock = run
        .train
        .checkpoint
        .dir
        .as_deref()
        .map(|d| hold_dir("--checkpoint-dir", d))
        .transpose()?;
    run.train.progress = if opts.quiet || !opts.verbose {
        ProgressMode::Off
    } else {
        ProgressMode::Auto
    };
    let name = run_name(&run, opts.out.as_deref());
    let model_line = match (&run.network, &run.model.recurrent) {
        (None, Some(r)) => describe_recurrent(r, &split.train),
        _ => describe_model(&spec, mlp.as_ref()),
    };
    if opts.verbose && !opts.quiet {
        eprintln!(
            "{name}: {model_line} on {data_name} ({} training, {} test samples, {} features, {})",
            split.train.len(),
            split.test.len(),
            split.train.num_features(),
            gradwell_train::targets::describe(&split.train)
        );
    }
    if opts.verbose
        && !opts.quiet
        && let Some(mapping) = split
            .train
            .class_names()
            .and_then(crate::evaluate::class_mapping)
    {
        eprintln!("{mapping}");
    }
    let mut trainer = Trainer::new(run.train.clone(), net, split.train, Some(split.test))?;
    if let Some(n) = run.train.steps
        && n > trainer.total_steps()
        && !opts.quiet
    {
        eprintln!(
            "note: --steps {n} is more than the {} steps of {} epochs; the run ends after {} epochs (raise --epochs to train by steps)",
            trainer.total_steps(),
            run.train.epochs,
            run.train.epochs
        );
    }
    if opts.resume {
        let outcome = trainer.resume()?;
        if !opts.quiet {
            for (_, why) in &outcome.skipped {
                eprintln!("warning: skipped {why}");
            }
            match &outcome.loaded {
                Some(p) => eprintln!(
                    "resumed from {} at step {}, {}",
                    p.display(),
                    trainer.step(),
                    trainer.epoch_position()
                ),
                None => eprintln!("no checkpoint to resume from; starting afresh"),
            }
            if trainer.is_finished() {
                eprintln!(
                    "the checkpoint is at the end of this run ({}): nothing is left to train; raise --steps or --epochs to continue it",
                    run_end(&run.train)
                );
            }
        }
    }
    let mut observer = run.monitor.enabled.then(|| {
        let mut setup = mlp.as_ref().map(Setup::of_mlp).unwrap_or_default();
        setup.clipping = run.train.clip.is_some();
        MonitorObserver::new(run.monitor.layer_every, opts.verbose && !opts.quiet, setup)
    });
    let mut evaluations = run
        .eval
        .every
        .map(|every| EvalObserver::new(every, opts.verbose && !opts.quiet));
    let result = {
        let mut observers: Vec<&mut dyn Observer> = Vec::new();
        if let Some(o) = observer.as_mut() {
            observers.push(o);
        }
        if let Some(e) = evaluations.as_mut() {
            observers.push(e);
        }
        trainer.run(&mut observers)
    };
    let (test, diverged) = match result {
        Ok(report) => (report.test, None),
        Err(e @ (TrainError::NonFiniteLoss { .. } | TrainError::NonFiniteGradient { .. })) => {
            (None, Some(e))
        }
        Err(e) => return Err(e.into()),
    };
    let non_finite = observer
        .as_ref()
        .and_then(MonitorObserver::non_finite)
        .map(ToString::to_string);
    let findings: Vec<String> = observer
        .as_ref()
        .map(|o| {
            o.log
                .iter()
                .map(|(s, f)| format!("step {s}: {}", crate::one_line(f)))
                .collect()
        })
        .unwrap_or_default();
    let history = observer.map(MonitorObserver::into_history);
    let net = trainer.network();
    let summary = RunSummary {
        name,
        config: run.to_toml()?,
        model: model_line,
        depth: count_weights(net).saturating_sub(1),
        test_accuracy: test.and_then(|t| t.accuracy),
        test_loss: test.map(|t| t.loss),
        epochs: trainer.history().to_vec(),
        steps: trainer.step(),
        seconds: started.elapsed().as_secs_f64(),
        diverged: diverged.as_ref().map(crate::one_line),
        non_finite,
        init: history
            .as_ref()
            .and_then(|h| h.steps.iter().find(|s| !s.layers.is_empty()).cloned()),
        max_grad_norm: history.as_ref().map_or(f64::NAN, max_grad_norm),
        losses: history.as_ref().map_or_else(Vec::new, |h| {
            h.steps.iter().map(|s| (s.step as u64, s.loss)).collect()
        }),
        grad_norms: history.as_ref().map_or_else(Vec::new, |h| {
            h.steps
                .iter()
                .filter(|s| s.global_grad_norm.is_finite())
                .map(|s| (s.step as f64, s.global_grad_norm))
                .collect()
        }),
        layer_grad_norms: history
            .as_ref()
            .map(History::layer_grad_norms)
            .unwrap_or_default(),
        unit_spread: unit_spread(net),
        findings,
        evaluations: evaluations.map(|e| e.rows).unwrap_or_default(),
    };
    if let Some(out) = &opts.out {
        let trained = TrainedOn::new(trainer.train_set(), trainer.transform());
        write_run_folder(
            out,
            &run,
            &summary,
            history.as_ref(),
            trainer.network(),
            &trained,
            opts.page,
        )?;
    }
    Ok(summary)
}

/// What a run trains on, once its data and model are known to be good.
pub struct Prepared {
    /// The training and test sets, as loaded (the trainer scales them).
    pub split: gradwell_data::Split,
    /// The data's name, as the run names it.
    pub data_name: String,
    /// The model.
    pub spec: gradwell_nn::ModelSpec,
    /// The model as an MLP, when it is one (for the theory).
    pub mlp: Option<gradwell_nn::MlpSpec>,
    /// The model, built with the run's seed.
    pub net: Network<f32>,
}

/// Loads the run's data and builds its model, as `train` and `lr-find` do: data without a
/// known value range are standardized instead of scaled to [0, 1] (said on stderr unless
/// `quiet`, and written into `run`), and a model that would not fit in memory for training
/// is refused before it is built.
///
/// # Errors
/// Data or model problems; a run too large for the memory available.
pub fn prepare(run: &mut RunFile, quiet: bool) -> Result<Prepared> {
    let split = run.load_data()?;
    let data_name = run.data.source.clone();
    // The model first: a model that does not fit the data is refused before any note.
    let (spec, mlp) = run.model_spec(&data_name, &split.train)?;
    if run.train.preprocess == Preprocess::UnitRange && split.train.value_range().is_none() {
        if !quiet {
            eprintln!(
                "note: `{data_name}` has no known value range; standardizing the features instead of scaling them to [0, 1]"
            );
        }
        run.train.preprocess = Preprocess::Standardize;
    }
    check_training_memory(run, &spec, split.train.len(), split.test.len())?;
    let net = Network::<f32>::build(&spec, run.train.seed)?;
    Ok(Prepared {
        split,
        data_name,
        spec,
        mlp,
        net,
    })
}

/// A run's end in words: `20 epochs`, or `20 epochs or 300 steps, whichever comes first`.
fn run_end(t: &gradwell_train::TrainConfig) -> String {
    match t.steps {
        Some(n) => format!("{} epochs or {n} steps, whichever comes first", t.epochs),
        None => format!("{} epochs", t.epochs),
    }
}

/// Refuses a run whose model, optimizer state and batches cannot fit in memory, before
/// anything is allocated for them: the parameters with their gradients and the optimizer's
/// buffers, and the layer outputs of a training batch (with gradients) and of an
/// evaluation batch.
///
/// # Errors
/// [`gradwell_nn::NnError::TooLarge`] naming the layer where the total passes the budget.
pub fn check_training_memory(
    run: &RunFile,
    spec: &gradwell_nn::ModelSpec,
    train_len: usize,
    test_len: usize,
) -> Result<u64> {
    let t = &run.train;
    let buffers = t.optimizer.state_buffers();
    let use_ = MemoryUse::training::<f32>(
        buffers,
        t.batch_size.min(train_len),
        t.eval_batch_size.min(train_len.max(test_len)),
    );
    Ok(MemoryBudget::detect()?.check(&spec.plan()?, &use_)?)
}

fn max_grad_norm(h: &History) -> f64 {
    if h.non_finite.is_some() {
        return f64::INFINITY;
    }
    h.steps
        .iter()
        .map(|s| s.global_grad_norm)
        .fold(0.0, |a, b| {
            if b.is_finite() {
                a.max(b)
            } else {
                f64::INFINITY
            }
        })
}

/// Weight matrices (two or more axes) of the network.
fn count_weights(net: &Network<f32>) -> usize {
    let store = net.tape.params();
    store
        .ids()
        .filter(|&id| store.is_trainable(id) && store.value(id).ndim() >= 2)
        .count()
}

/// The largest difference between two units' incoming weights (and biases) over the
/// hidden linear layers, relative to the largest absolute weight of the layer.
pub fn unit_spread(net: &Network<f32>) -> f64 {
    let store = net.tape.params();
    let weights: Vec<_> = store
        .ids()
        .filter(|&id| store.is_trainable(id) && store.value(id).ndim() == 2)
        .collect();
    let mut worst = 0.0f64;
    for &id in weights.iter().take(weights.len().saturating_sub(1)) {
        let w = store.value(id);
        let scale = w.iter().fold(0.0f64, |m, &x| m.max((x as f64).abs()));
        let rows = w.shape()[0];
        let bias = net
            .param(&store.name(id).replace("weight", "bias"))
            .map(|b| store.value(b).iter().map(|&x| x as f64).collect::<Vec<_>>());
        for r in 1..rows {
            let mut d = (0..w.shape()[1])
                .map(|c| (w[[r, c]] as f64 - w[[0, c]] as f64).abs())
                .fold(0.0, f64::max);
            if let Some(b) = &bias {
                d = d.max((b[r] - b[0]).abs());
            }
            if scale > 0.0 {
                worst = worst.max(d / scale);
            } else if d > 0.0 {
                worst = f64::INFINITY;
            }
        }
    }
    worst
}

/// `64-128-10 relu he-normal`, or `custom network (N layers)` for a `[network]`.
fn describe_model(spec: &gradwell_nn::ModelSpec, mlp: Option<&gradwell_nn::MlpSpec>) -> String {
    match mlp {
        Some(mlp) => describe_mlp(mlp),
        None => format!("custom network ({} layers)", spec.layers.len()),
    }
}

/// Recurrent layers and their read-out on one line: `lstm:128, linear read-out of the last
/// step`, or `of every step` for a class per step.
pub fn describe_recurrent(r: &gradwell_nn::RecurrentStack, ds: &gradwell_data::Dataset) -> String {
    let at = match ds.target_kind() {
        gradwell_data::TargetKind::StepClass { .. } => "every step",
        gradwell_data::TargetKind::Class | gradwell_data::TargetKind::Value { .. } => {
            "the last step"
        }
    };
    format!("{r}, linear read-out of {at}")
}

/// An MLP on one line: `64-128-10 relu he-normal`, with batch norm (and γ's initial value
/// when it is not 1), residual connections (zero-initialized or not), dropout or alpha
/// dropout and the biases' initializer when set.
pub fn describe_mlp(mlp: &gradwell_nn::MlpSpec) -> String {
    let widths = match &mlp.widths {
        gradwell_nn::MlpWidths::All(w) => compress_widths(w),
        gradwell_nn::MlpWidths::Hidden(h) => format!("?-{}-?", compress_widths(h)),
    };
    let mut s = format!("{widths} {} {}", mlp.activation, mlp.weight_init());
    if mlp.batch_norm {
        s.push_str(" batch-norm");
        if mlp.batch_norm_weight_init != gradwell_nn::MlpSpec::default().batch_norm_weight_init {
            s.push_str(&format!(" (γ {})", mlp.batch_norm_weight_init));
        }
    }
    if mlp.residual {
        s.push_str(if mlp.zero_init_residual {
            " residual (zero-init)"
        } else {
            " residual"
        });
    }
    if mlp.dropout > 0.0 {
        s.push_str(&format!(" dropout {}", mlp.dropout));
    }
    if mlp.alpha_dropout > 0.0 {
        s.push_str(&format!(" alpha-dropout {}", mlp.alpha_dropout));
    }
    if let Some(b) = &mlp.bias_init {
        s.push_str(&format!(" bias {b}"));
    }
    s
}

/// `64-64-64-64-10` as `64-64×3-10`.
pub fn compress_widths(w: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let mut j = i;
        while j + 1 < w.len() && w[j + 1] == w[i] && j + 1 < w.len() - 1 && i > 0 {
            j += 1;
        }
        if j > i {
            parts.push(format!("{}×{}", w[i], j - i + 1));
        } else {
            parts.push(w[i].to_string());
        }
        i = j + 1;
    }
    parts.join("-")
}

/// Writes `bytes` to `path` atomically: a failed write leaves the previous file whole.
pub(crate) fn write_file(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    Ok(gradwell_nn::write_atomic(path, bytes.as_ref())?)
}

/// Writes the run folder: `model.safetensors` first (the weights are what a failure
/// afterwards must not lose), then `config.toml`, `data.json` (what the model was trained
/// on: [`TrainedOn`]), `run.json`, `metrics.json`, `monitor.json` and `monitor/*.csv` (as
/// much as `[monitor] detail` says), `epochs.csv`, the plots (with the `plots` feature) and,
/// with `page`, `index.html` (the run's interactive page,
/// [`crate::report::write_run_page`]), each file atomically.
fn write_run_folder(
    out: &Path,
    run: &RunFile,
    summary: &RunSummary,
    history: Option<&History>,
    net: &Network<f32>,
    trained: &TrainedOn,
    page: bool,
) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| CliError::file(out, e))?;
    net.save_safetensors(&out.join("model.safetensors"))?;
    let mut run = run.clone();
    run.name = Some(summary.name.clone());
    run.train.progress = ProgressMode::Auto;
    write_file(&out.join("config.toml"), run.to_toml()?)?;
    write_file(&out.join(DATA_FILE), pretty(trained))?;
    write_file(&out.join(RUN_FILE), pretty(summary))?;
    write_file(&out.join("metrics.json"), pretty(&summary.epochs))?;
    write_file(&out.join("epochs.csv"), epochs_csv(summary))?;
    if !summary.evaluations.is_empty() {
        write_file(&out.join("evaluations.csv"), evaluations_csv(summary))?;
    }
    if let Some(h) = history {
        h.write(
            run.monitor.detail,
            &out.join("monitor.json"),
            &out.join(MONITOR_DIR),
            summary.findings.clone(),
        )?;
    }
    #[cfg(feature = "plots")]
    write_plots(out, summary, history)?;
    if page {
        crate::report::write_run_page(out, summary)?;
    }
    Ok(())
}

/// The run folder's plots (SVG): gradient norm and activation std by layer at step 1 and
/// the loss, from the monitor's history, and the test accuracy by epoch.
#[cfg(feature = "plots")]
fn write_plots(out: &Path, summary: &RunSummary, history: Option<&History>) -> Result<()> {
    use gradwell_monitor::{
        Series, plot_accuracy, plot_activation_std_by_layer, plot_grad_norm_by_layer, plot_loss,
    };
    if let Some(h) = history {
        if let Some(init) = &summary.init {
            plot_grad_norm_by_layer(
                &out.join("grad_norm_by_layer.svg"),
                &[Series::grad_norm_by_layer("step 1", init)],
            )?;
            plot_activation_std_by_layer(
                &out.join("activation_std_by_layer.svg"),
                &[Series::activation_std_by_layer("step 1", init)],
            )?;
        }
        plot_loss(&out.join("loss.svg"), &[Series::loss(&summary.name, h)])?;
    }
    let accuracy: Vec<(f64, f64)> = summary
        .epochs
        .iter()
        .filter_map(|e| {
            Some((
                gradwell_train::epoch_number(e.epoch) as f64,
                e.test?.accuracy?,
            ))
        })
        .collect();
    // Real targets have no accuracy (their loss, the MSE, is in loss.svg): no empty plot.
    if !accuracy.is_empty() {
        plot_accuracy(
            &out.join("accuracy.svg"),
            &[Series::new(format!("{} (test)", summary.name), accuracy)],
        )?;
    }
    Ok(())
}

/// A CSV cell of an accuracy: empty where there is none (real targets, whose loss is the
/// mean squared error).
fn cell(accuracy: Option<f64>) -> String {
    accuracy.map_or_else(String::new, |a| a.to_string())
}

/// One row per epoch: `epoch,steps,lr,train_loss,train_accuracy,test_loss,test_accuracy`
/// (the accuracies empty for real targets, whose loss is the mean squared error).
pub fn epochs_csv(s: &RunSummary) -> String {
    let mut out =
        String::from("run,epoch,steps,lr,train_loss,train_accuracy,test_loss,test_accuracy\n");
    for e in &s.epochs {
        let (tl, ta) = e.test.map_or((String::new(), String::new()), |t| {
            (t.loss.to_string(), cell(t.accuracy))
        });
        out.push_str(&format!(
            "{},{},{},{},{},{},{tl},{ta}\n",
            s.name,
            gradwell_train::epoch_number(e.epoch),
            e.steps,
            e.lr,
            e.train_loss,
            cell(e.train_accuracy)
        ));
    }
    out
}

/// One row per evaluation in the middle of the run (`--eval-every`):
/// `run,step,epoch,test_loss,test_accuracy,validation_loss,validation_accuracy` (the epoch
/// from 1, as in `epochs.csv`; a part the run does not have is left empty).
pub fn evaluations_csv(s: &RunSummary) -> String {
    let mut out = String::from(
        "run,step,epoch,test_loss,test_accuracy,validation_loss,validation_accuracy\n",
    );
    let cells = |m: Option<gradwell_train::EvalMetrics>| {
        m.map_or((String::new(), String::new()), |m| {
            (m.loss.to_string(), cell(m.accuracy))
        })
    };
    for e in &s.evaluations {
        let ((tl, ta), (vl, va)) = (cells(e.test), cells(e.validation));
        out.push_str(&format!(
            "{},{},{},{tl},{ta},{vl},{va}\n",
            s.name,
            e.step,
            gradwell_train::epoch_number(e.epoch)
        ));
    }
    out
}

/// Pretty JSON (the types written here always serialize).
pub(crate) fn pretty<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
