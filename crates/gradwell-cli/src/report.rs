//! The report folder: `index.html` (one self-contained interactive page, [`crate::page`]:
//! the claims table when the lab's runs are present, every figure as a chart, each run's
//! layer × step heat map of gradient norms, a table of the runs), `results.json`, one CSV
//! per run, and the figures as SVG files for papers (`plots/`).
//!
//! [`collect`] finds the runs, `figures` chooses what is drawn, [`write()`] writes the
//! folder; [`write_run_page`] writes the page of one run (`train --out`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use gradwell_monitor::{MeanField, PlainNet, PlotSpec, Series, StepRecord};
use serde::Serialize;

use crate::lab::{
    ADDING_LSTM, ADDING_RNN, CLIFF, CLIFF_CLIPPED, ClaimResult, RADII, Verdict, radius_run,
};
use crate::page::{self, Chart, Placed, RAW_SUFFIX, RunColours, THEORY_PREFIX, escape};
use crate::run::{RUN_FILE, RunSummary, epochs_csv, pretty, write_file};
use crate::{CliError, Result};
use gradwell_data::sequence::ADDING_BASELINE_MSE;

/// How deep [`collect`] looks for run folders below a folder it is given: a lab's folder
/// holds its runs in `runs/`, so a run is at most this many folders down.
const SEARCH_DEPTH: usize = 3;

/// The run folders (holding `run.json`) at or below `dir`, at most `depth` folders down,
/// not looking inside a run folder.
fn run_folders(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    if dir.join(RUN_FILE).is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    if depth == 0 {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::file(dir, e))?;
    let mut subs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subs.sort();
    for s in subs {
        run_folders(&s, depth - 1, out)?;
    }
    Ok(())
}

/// The run summaries in `dirs`: each a run folder (holding `run.json`, written by `gradwell
/// train --out`) or a folder with run folders below it (a lab's folder, a sweep's). Two runs
/// of one name (two folders both called `run`) are told apart by their folders.
///
/// # Errors
/// A folder that cannot be read, one with no run folder in it (all such folders named),
/// or a malformed `run.json`.
pub fn collect(dirs: &[PathBuf]) -> Result<Vec<RunSummary>> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut empty: Vec<String> = Vec::new();
    for d in dirs {
        if !d.is_dir() {
            return Err(CliError::file(
                d,
                "not a folder (give run folders written by `gradwell train --out DIR`, or folders of them)",
            ));
        }
        let before = found.len();
        run_folders(d, SEARCH_DEPTH, &mut found)?;
        if found.len() == before {
            empty.push(d.display().to_string());
        }
    }
    if !empty.is_empty() {
        return Err(CliError::Invalid(format!(
            "no run found in {}: a run folder holds {RUN_FILE} (write one with `gradwell train --out DIR`)",
            empty.join(", ")
        )));
    }
    found.dedup();
    let mut out = Vec::new();
    for f in &found {
        out.push(RunSummary::read(f)?);
    }
    let names: Vec<String> = out.iter().map(|r| r.name.clone()).collect();
    for (r, f) in out.iter_mut().zip(&found) {
        if names.iter().filter(|n| **n == r.name).count() > 1 {
            r.name = format!("{} ({})", r.name, f.display());
        }
    }
    Ok(out)
}

/// `results.json`: the claims and each run's figures.
#[derive(Debug, Serialize)]
struct Results<'a> {
    claims: &'a [ClaimResult],
    runs: Vec<RunFigures<'a>>,
}

#[derive(Debug, Serialize)]
struct RunFigures<'a> {
    name: &'a str,
    model: &'a str,
    test_accuracy: Option<f64>,
    diverged: Option<&'a str>,
    first_last_ratio: Option<f64>,
    max_grad_norm: String,
    unit_spread: f64,
    steps: u64,
    seconds: f64,
    findings: &'a [String],
}

/// A figure of the report: a file name (its SVG in `plots/`; its stem is the chart's id,
/// `chart-<slug>`), a caption and the series drawn. A series is tied to its run by its
/// name ([`page::SeriesRole`]): the run's name, `theory: <run>` or `<run> (raw)`.
pub(crate) struct Figure {
    pub(crate) file: &'static str,
    pub(crate) caption: &'static str,
    pub(crate) spec: PlotSpec<'static>,
    pub(crate) series: Vec<Series>,
}

/// The factor β of the exponential moving average that smooths the loss curves
/// ([`gradwell_train::SmoothedLoss`]): each step's smoothed loss keeps β of the previous
/// one, so it averages over about 1/(1−β) = 20 steps.
pub const LOSS_SMOOTHING: f64 = 0.95;

fn pick<'a>(runs: &'a [RunSummary], names: &[&str]) -> Vec<&'a RunSummary> {
    names
        .iter()
        .filter_map(|n| runs.iter().find(|r| r.name == *n))
        .collect()
}

fn accuracy_series(s: &RunSummary) -> Series {
    Series::new(
        s.name.clone(),
        s.epochs
            .iter()
            .filter_map(|e| {
                Some((
                    gradwell_train::epoch_number(e.epoch) as f64,
                    e.test?.accuracy?,
                ))
            })
            .collect(),
    )
}

/// Test MSE (the loss of a regression) by epoch.
fn mse_series(s: &RunSummary) -> Series {
    Series::new(
        s.name.clone(),
        s.epochs
            .iter()
            .filter_map(|e| Some((gradwell_train::epoch_number(e.epoch) as f64, e.test?.loss)))
            .collect(),
    )
}

/// A run's loss of each step (`<run> (raw)`) and the same smoothed (`<run>`, by
/// [`LOSS_SMOOTHING`]).
fn loss_series(s: &RunSummary) -> [Series; 2] {
    let mut smoother = gradwell_train::SmoothedLoss::new(LOSS_SMOOTHING);
    let smoothed = s
        .losses
        .iter()
        .map(|&(step, loss)| (step as f64, smoother.push(loss)))
        .collect();
    let raw = s
        .losses
        .iter()
        .map(|&(step, loss)| (step as f64, loss))
        .collect();
    [
        Series::new(format!("{}{RAW_SUFFIX}", s.name), raw),
        Series::new(s.name.clone(), smoothed),
    ]
}

/// What the mean-field theory predicts for a run at initialization, drawn beside what
/// the monitor measured at step 1: the standard deviation of each hidden activation
/// layer's output, and ‖∂L/∂W‖ of each weight layer (its prediction relative to the last
/// layer, [`gradwell_monitor::LayerPrediction::weight_grad_rel`], times the last layer's
/// measured norm). The input's second moment is the one that gives the first linear
/// layer's measured second moment (the theory starts from the measured first layer).
///
/// `None` where the theory does not apply: not a plain MLP (batch norm, residual
/// connections, dropout, a recurrent or custom network), an initializer without a
/// zero-mean variance, or no record of step 1.
fn theory(s: &RunSummary) -> Option<(Series, Series)> {
    let init = s.init.as_ref()?;
    let file = s.run_file()?;
    if file.network.is_some() {
        return None;
    }
    let weighted: Vec<_> = init
        .layers
        .iter()
        .filter(|l| l.weight_grad_norm.is_some())
        .collect();
    if weighted.is_empty() || weighted.iter().any(|l| l.kind != "Linear") {
        return None;
    }
    let weights: Vec<_> = init.params.iter().filter(|p| p.shape.len() == 2).collect();
    let (features, classes) = (weights.first()?.shape[1], weights.last()?.shape[0]);
    let mlp = file.model.fit(features, classes).ok()?;
    let mut plain = PlainNet::from_mlp(&mlp, 1.0).ok()?;
    let q0 = weighted[0].second_moment;
    plain.input_second_moment = ((q0 - plain.sigma_b2[0]) / plain.sigma_w2[0]).max(0.0);
    let predicted = plain.predict().ok()?;
    if predicted.len() != weighted.len() {
        return None;
    }
    let mf = MeanField::new(plain.activation).ok()?;
    let hidden = &predicted[..predicted.len() - 1];
    let std = hidden
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mean = mf.activation_mean(p.q);
            let var = mf.activation_second_moment(p.q) - mean * mean;
            ((i + 1) as f64, var.max(0.0).sqrt())
        })
        .collect();
    let last = weighted.last()?.weight_grad_norm?;
    let grad = predicted
        .iter()
        .enumerate()
        .map(|(i, p)| ((i + 1) as f64, p.weight_grad_rel * last))
        .collect();
    let name = format!("{THEORY_PREFIX}{}", s.name);
    Some((Series::new(name.clone(), std), Series::new(name, grad)))
}

/// Each run's series of a record of step 1 (`measure`), each followed by its theory
/// (`which` of [`theory`]'s pair) where the theory applies.
fn at_init(
    runs: &[&RunSummary],
    measure: fn(&str, &StepRecord) -> Series,
    which: fn((Series, Series)) -> Series,
) -> Vec<Series> {
    let mut out = Vec::new();
    for s in runs {
        let Some(init) = &s.init else { continue };
        out.push(measure(&s.name, init));
        if let Some(t) = theory(s) {
            out.push(which(t));
        }
    }
    out
}

fn grad(n: &str, r: &StepRecord) -> Series {
    Series::grad_norm_by_layer(n, r)
}

fn act_std(n: &str, r: &StepRecord) -> Series {
    Series::activation_std_by_layer(n, r)
}

fn theory_std(t: (Series, Series)) -> Series {
    t.0
}

fn theory_grad(t: (Series, Series)) -> Series {
    t.1
}

/// The figures of any runs (those outside the lab's names): at initialization the
/// gradient norm and the activation std by layer beside the theory, the test accuracy by
/// epoch and the global gradient norm of each step. The file names start with `prefix`.
fn run_figures(runs: &[&RunSummary], prefix: Prefix) -> Vec<Figure> {
    let file = |plain: &'static str, other: &'static str| match prefix {
        Prefix::None => plain,
        Prefix::Other => other,
    };
    vec![
        Figure {
            file: file("grad_norm_by_layer.svg", "other_grad_norm_by_layer.svg"),
            caption: "‖∂L/∂W‖ of each weight layer at step 1, before the first update (log scale); dashed: the mean-field theory for the run's activation and initializers, where it applies (plain MLPs), started from the measured first layer.",
            spec: PlotSpec {
                title: "Gradient norm by layer at initialization",
                x_label: "weight layer",
                y_label: "‖∂L/∂W‖ (log scale)",
                log_y: true,
            },
            series: at_init(runs, grad, theory_grad),
        },
        Figure {
            file: file(
                "activation_std_by_layer.svg",
                "other_activation_std_by_layer.svg",
            ),
            caption: "Standard deviation of each activation layer's output at step 1 (log scale); dashed: the mean-field theory, where it applies.",
            spec: PlotSpec {
                title: "Activation std by layer at initialization",
                x_label: "activation layer",
                y_label: "std of output (log scale)",
                log_y: true,
            },
            series: at_init(runs, act_std, theory_std),
        },
        Figure {
            file: file("accuracy.svg", "other_accuracy.svg"),
            caption: "Test accuracy by epoch.",
            spec: PlotSpec {
                title: "Test accuracy",
                x_label: "epoch",
                y_label: "test accuracy",
                log_y: false,
            },
            series: runs
                .iter()
                .map(|s| accuracy_series(s))
                .filter(|s| !s.points.is_empty())
                .collect(),
        },
        Figure {
            file: file("grad_norm_per_step.svg", "other_grad_norm_per_step.svg"),
            caption: "Global gradient norm (before clipping) of each step (log scale).",
            spec: PlotSpec {
                title: "Global gradient norm per step",
                x_label: "step",
                y_label: "‖∇‖ before clipping (log scale)",
                log_y: true,
            },
            series: runs
                .iter()
                .map(|s| Series::new(s.name.clone(), s.grad_norms.clone()))
                .collect(),
        },
    ]
}

/// The caption of the loss figures (the smoothing stated once, from [`LOSS_SMOOTHING`]).
const LOSS_CAPTION: &str = "Training loss of each step (log scale): faint, as measured; solid, smoothed by an exponential moving average with β = 0.95 (bias-corrected: each point averages about the last 20 steps).";

/// Whether [`run_figures`]' files are named for a report of any runs or for the runs
/// beside the lab's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    /// `loss.svg`.
    None,
    /// `other_loss.svg`.
    Other,
}

/// The figures of `runs`: the lab's (each drawn from the lab's runs present), then those of
/// the other runs ([`run_figures`]); a figure without a series is left out.
pub(crate) fn figures(runs: &[RunSummary]) -> Vec<Figure> {
    let (lab_runs, others): (Vec<&RunSummary>, Vec<&RunSummary>) =
        runs.iter().partition(|r| crate::lab::is_lab_run(r));
    // The lab's figures draw the lab's runs only (picked by name among them): a run of
    // another's that shares a lab run's name is drawn with the other runs.
    let lab_owned: Vec<RunSummary> = lab_runs.iter().map(|r| (*r).clone()).collect();
    let runs = lab_owned.as_slice();
    let radius_names: Vec<String> = RADII.iter().map(|r| radius_run(*r)).collect();
    let radius_names: Vec<&str> = radius_names.iter().map(String::as_str).collect();
    let acc = |names: &[&str]| {
        pick(runs, names)
            .into_iter()
            .map(accuracy_series)
            .collect::<Vec<_>>()
    };
    let depth_runs = ["sigmoid-plain", "relu-he", "relu-xavier", "sigmoid-bn"];
    let mut figs = vec![
        Figure {
            file: "grad_norm_at_init.svg",
            caption: "Claims 1–4: ‖∂L/∂W‖ of each weight layer at initialization (log scale). The plain sigmoid network's gradient falls by orders of magnitude towards the input; ReLU with He keeps it level; batch norm restores it (its scale parameters count as weight layers of their own, hence the zigzag). Dashed: the mean-field theory of the plain networks, started from the measured first layer.",
            spec: PlotSpec {
                title: "Gradient norm by layer at initialization",
                x_label: "weight layer",
                y_label: "‖∂L/∂W‖ (log scale)",
                log_y: true,
            },
            series: at_init(&pick(runs, &depth_runs), grad, theory_grad),
        },
        Figure {
            file: "activation_std_at_init.svg",
            caption: "Claim 3: standard deviation of each activation layer's output at initialization. Under ReLU, Xavier halves the variance per layer; He keeps it. Dashed: the mean-field theory.",
            spec: PlotSpec {
                title: "Activation std by layer at initialization",
                x_label: "activation layer",
                y_label: "std of output",
                log_y: false,
            },
            series: at_init(
                &pick(runs, &["relu-he", "relu-xavier", "sigmoid-plain"]),
                act_std,
                theory_std,
            ),
        },
        Figure {
            file: "accuracy_depth.svg",
            caption: "Claims 1, 2 and 4: test accuracy by epoch of the deep networks.",
            spec: PlotSpec {
                title: "Test accuracy, deep networks",
                x_label: "epoch",
                y_label: "test accuracy",
                log_y: false,
            },
            series: acc(&[
                "sigmoid-plain",
                "relu-he",
                "relu-xavier",
                "sigmoid-bn",
                "sigmoid-bn-lr10x",
                "sigmoid-bn-poor-init",
            ]),
        },
        Figure {
            file: "residual.svg",
            caption: "Claim 5: ‖∂L/∂W‖ by layer at initialization of the much deeper networks, plain and residual (log scale). Dashed: the mean-field theory of the plain one.",
            spec: PlotSpec {
                title: "Much deeper: gradient norm by layer at initialization",
                x_label: "weight layer",
                y_label: "‖∂L/∂W‖ (log scale)",
                log_y: true,
            },
            series: at_init(
                &pick(runs, &["deep-plain", "deep-residual"]),
                grad,
                theory_grad,
            ),
        },
        Figure {
            file: "accuracy_residual.svg",
            caption: "Claim 5: test accuracy by epoch of the much deeper networks.",
            spec: PlotSpec {
                title: "Test accuracy, much deeper networks",
                x_label: "epoch",
                y_label: "test accuracy",
                log_y: false,
            },
            series: acc(&["deep-plain", "deep-residual"]),
        },
        Figure {
            file: "exploding.svg",
            caption: "Claim 6: global gradient norm (before clipping) of each step (log scale); an unclipped run's line ends where its loss or gradients became non-finite.",
            spec: PlotSpec {
                title: "Global gradient norm per step",
                x_label: "step",
                y_label: "‖∇‖ before clipping (log scale)",
                log_y: true,
            },
            series: pick(
                runs,
                &["big-init", "big-init-clipped", "high-lr", "high-lr-clipped"],
            )
            .into_iter()
            .map(|s| Series::new(s.name.clone(), s.grad_norms.clone()))
            .collect(),
        },
        Figure {
            file: "accuracy_symmetry.svg",
            caption: "Claim 7: test accuracy by epoch with a constant and a random initialization.",
            spec: PlotSpec {
                title: "Test accuracy, constant vs random init",
                x_label: "epoch",
                y_label: "test accuracy",
                log_y: false,
            },
            series: acc(&["constant-init", "random-init"]),
        },
        Figure {
            file: "through_time.svg",
            caption: "Claim 8: ‖∂L/∂h_t‖ at initialization against the lag T − t (log scale), one tanh RNN per spectral radius ρ of the recurrent matrix: straight lines, falling back through time for ρ < 1 and rising for ρ > 1.",
            spec: PlotSpec {
                title: "Gradient through time by spectral radius",
                x_label: "lag T − t (steps back from the last)",
                y_label: "‖∂L/∂h_t‖ (log scale)",
                log_y: true,
            },
            series: pick(runs, &radius_names)
                .into_iter()
                .filter_map(|s| {
                    let init = s.init.as_ref()?;
                    let g = init.through_time.first()?;
                    Some(Series::new(
                        s.name.clone(),
                        g.norms
                            .iter()
                            .rev()
                            .enumerate()
                            .filter(|(_, v)| **v > 0.0)
                            .map(|(lag, v)| (lag as f64, *v))
                            .collect(),
                    ))
                })
                .collect(),
        },
        Figure {
            file: "adding.svg",
            caption: "Claim 9: test MSE by epoch on the adding problem, the plain tanh RNN and the LSTM, beside the trivial answer's 1/6.",
            spec: PlotSpec {
                title: "Adding problem: test MSE",
                x_label: "epoch",
                y_label: "test MSE",
                log_y: false,
            },
            series: {
                let picked = pick(runs, &[ADDING_RNN, ADDING_LSTM]);
                let mut v: Vec<Series> = picked.iter().copied().map(mse_series).collect();
                if let Some(longest) = picked.iter().max_by_key(|s| s.epochs.len()) {
                    v.push(Series::new(
                        "baseline 1/6".to_string(),
                        longest
                            .epochs
                            .iter()
                            .map(|e| {
                                (
                                    gradwell_train::epoch_number(e.epoch) as f64,
                                    ADDING_BASELINE_MSE,
                                )
                            })
                            .collect(),
                    ));
                }
                v
            },
        },
        Figure {
            file: "cliff_loss.svg",
            caption: "Claim 10: training loss of each step (log scale) of the ReLU RNN on the cliff, unclipped and clipped; the unclipped run's line ends where its loss became non-finite.",
            spec: PlotSpec {
                title: "The cliff: loss per step",
                x_label: "step",
                y_label: "training loss (log scale)",
                log_y: true,
            },
            series: pick(runs, &[CLIFF, CLIFF_CLIPPED])
                .into_iter()
                .map(|s| {
                    Series::new(
                        s.name.clone(),
                        s.losses
                            .iter()
                            .filter(|(_, l)| l.is_finite())
                            .map(|(t, l)| (*t as f64, *l))
                            .collect(),
                    )
                })
                .collect(),
        },
        Figure {
            file: "cliff_grad_norm.svg",
            caption: "Claim 10: global gradient norm (before clipping) of each step (log scale), unclipped and clipped.",
            spec: PlotSpec {
                title: "The cliff: gradient norm per step",
                x_label: "step",
                y_label: "‖∇‖ before clipping (log scale)",
                log_y: true,
            },
            series: pick(runs, &[CLIFF, CLIFF_CLIPPED])
                .into_iter()
                .map(|s| Series::new(s.name.clone(), s.grad_norms.clone()))
                .collect(),
        },
    ];
    if !others.is_empty() {
        let prefix = if lab_runs.is_empty() {
            Prefix::None
        } else {
            Prefix::Other
        };
        figs.extend(run_figures(&others, prefix));
    }
    figs.retain(|f| f.series.iter().any(|s| !s.points.is_empty()));
    figs
}

/// The page's charts: each figure, the training loss of every run (raw and smoothed: too
/// many lines for a static plot, so on the page only), then each run's layer × step heat
/// map of ‖∂L/∂W‖ (under a heading of their own); what has nothing to draw is left out
/// ([`Chart::line`], [`Chart::heat`]).
fn charts(figs: &[Figure], runs: &[&RunSummary]) -> Vec<Placed> {
    let mut out: Vec<Placed> = Vec::new();
    let mut push = |slug: String, heading: Option<&str>, caption: &str, chart: Chart| {
        let mut unique = slug.clone();
        let mut k = 2;
        while out.iter().any(|p| p.slug == unique) {
            unique = format!("{slug}-{k}");
            k += 1;
        }
        out.push(Placed {
            slug: unique,
            heading: heading.map(str::to_string),
            caption: caption.to_string(),
            chart,
        });
    };
    for f in figs {
        let stem = Path::new(f.file)
            .file_stem()
            .map_or_else(|| f.file.into(), |s| s.to_string_lossy());
        if let Some(chart) = Chart::line(&f.spec, &f.series) {
            push(page::slug(&stem), None, f.caption, chart);
        }
    }
    let loss = PlotSpec {
        title: "Training loss per step",
        x_label: "step",
        y_label: "loss (log scale)",
        log_y: true,
    };
    let series: Vec<Series> = runs.iter().flat_map(|s| loss_series(s)).collect();
    if let Some(chart) = Chart::line(&loss, &series) {
        push("loss".into(), None, LOSS_CAPTION, chart);
    }
    let mut heading = Some("Gradient norms by layer over the training");
    for s in runs {
        let title = format!("‖∂L/∂W‖ by layer over the training: {}", s.name);
        if let Some(chart) = Chart::heat(title, &s.name, &s.layer_grad_norms) {
            push(
                format!("heat-{}", page::slug(&s.name)),
                heading.take(),
                HEAT_CAPTION,
                chart,
            );
        }
    }
    out
}

/// The caption of the heat maps.
const HEAT_CAPTION: &str = "‖∂L/∂W‖ of each weight layer (rows, the input side on top) at each check of the monitor (columns: step 1, then every `layer_every` steps), on a logarithmic colour scale; grey where it was not measured or not finite. Hover to read a cell.";

/// The SVG file at `path` as an element to write inside HTML (from its `<svg` on).
///
/// # Errors
/// A file that cannot be read.
pub(crate) fn inline_svg(path: &Path) -> Result<String> {
    let svg = std::fs::read_to_string(path).map_err(|e| CliError::file(path, e))?;
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg.trim_start().to_string(),
    })
}

/// Draws `figure` to `path`; `false` (nothing drawn) in a build without plots (the
/// `plots` feature), whose report has no SVG files.
fn draw(path: &Path, figure: &Figure) -> Result<bool> {
    #[cfg(feature = "plots")]
    {
        gradwell_monitor::line_plot(path, &figure.spec, &figure.series)?;
        Ok(true)
    }
    #[cfg(not(feature = "plots"))]
    {
        let _ = (path, &figure.spec, &figure.series);
        Ok(false)
    }
}

/// The claims worth showing for `runs`: those with at least one of their runs present
/// (a claim with some missing says which in its evidence). Empty when none of the lab's
/// runs is present: the report then compares runs without claims.
pub fn claims_present(results: Vec<ClaimResult>, runs: &[RunSummary]) -> Vec<ClaimResult> {
    results
        .into_iter()
        .filter(|c| c.runs.iter().any(|n| runs.iter().any(|r| &r.name == n)))
        .collect()
}

/// The runs as a plain-text table (the report's output when no claim applies).
pub fn runs_table(runs: &[RunSummary]) -> String {
    let mut s = String::new();
    for r in runs {
        let _ = writeln!(
            s,
            "{}: {}; test accuracy {}; {} steps",
            r.name,
            r.model,
            accuracy_cell(r),
            r.steps
        );
    }
    s
}

fn accuracy_cell(s: &RunSummary) -> String {
    match (&s.diverged, s.test_accuracy) {
        (Some(_), _) => "diverged".to_string(),
        (None, Some(a)) => format!("{a:.3}"),
        (None, None) => "-".into(),
    }
}

/// The HTML table of the runs, with their colours.
fn runs_html(runs: &[RunSummary], colours: &RunColours) -> String {
    let mut html = String::from(
        "<h2>Runs</h2>\n<table>\n<tr><th>run</th><th>model</th><th>test accuracy</th>\
         <th>‖∇W₁‖/‖∇W_L‖ at init</th><th>max ‖∇‖</th><th>steps</th><th>seconds</th></tr>\n",
    );
    for s in runs {
        let _ = writeln!(
            html,
            "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2e}</td><td>{}</td><td>{:.1}</td></tr>",
            colours.get(&s.name).unwrap_or("#555"),
            escape(&s.name),
            escape(&s.model),
            accuracy_cell(s),
            s.init
                .as_ref()
                .and_then(|i| i.first_last_ratio)
                .map_or("-".into(), |x| format!("{x:.2e}")),
            s.max_grad_norm,
            s.steps,
            s.seconds
        );
    }
    html.push_str("</table>\n");
    html
}

/// The claims table, and which claims are not shown.
fn claims_html(results: &[ClaimResult]) -> String {
    let mut html = String::from(
        "<h2>Claims</h2>\n<table>\n<tr><th>#</th><th>claim</th><th>configuration</th><th>criterion</th>\
         <th>measured evidence</th><th>verdict</th></tr>\n",
    );
    for r in results {
        let class = match r.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotRun => "not-run",
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            r.id,
            escape(&r.claim),
            escape(&r.configuration),
            escape(&r.criterion),
            escape(&r.evidence),
            r.verdict
        );
    }
    html.push_str("</table>\n");
    let hidden: Vec<String> = (1..=crate::lab::CLAIMS.len())
        .filter(|id| results.iter().all(|r| r.id != *id))
        .map(|id| id.to_string())
        .collect();
    if !hidden.is_empty() {
        let _ = writeln!(
            html,
            "<p>Not shown: claim{} {}, none of whose runs is in this report.</p>",
            if hidden.len() == 1 { "" } else { "s" },
            hidden.join(", ")
        );
    }
    html
}

/// Writes the report folder `out`, every file atomically: `results.json`, `csv/`, the
/// SVG figures in `plots/` (with the `plots` feature) and `index.html`. `results` are the
/// claims to show ([`claims_present`]); with none, the page compares the runs without
/// claims.
///
/// # Errors
/// Files that cannot be written, plots that cannot be drawn.
pub fn write(out: &Path, results: &[ClaimResult], runs: &[RunSummary]) -> Result<()> {
    let plots = out.join("plots");
    let csv = out.join("csv");
    for d in [out, &plots, &csv] {
        std::fs::create_dir_all(d).map_err(|e| CliError::file(d, e))?;
    }
    let results_json = Results {
        claims: results,
        runs: runs
            .iter()
            .map(|s| RunFigures {
                name: &s.name,
                model: &s.model,
                test_accuracy: s.test_accuracy,
                diverged: s.diverged.as_deref(),
                first_last_ratio: s.init.as_ref().and_then(|i| i.first_last_ratio),
                max_grad_norm: format!("{:e}", s.max_grad_norm),
                unit_spread: s.unit_spread,
                steps: s.steps,
                seconds: s.seconds,
                findings: &s.findings,
            })
            .collect(),
    };
    let path = out.join("results.json");
    write_file(&path, pretty(&results_json))?;
    for s in runs {
        let path = csv.join(format!("{}.csv", page::slug(&s.name)));
        write_file(&path, epochs_csv(s))?;
    }
    let figs = figures(runs);
    for f in &figs {
        draw(&plots.join(f.file), f)?;
    }
    let colours = RunColours::new(runs.iter().map(|r| r.name.as_str()));
    let all: Vec<&RunSummary> = runs.iter().collect();
    let (title, before) = if results.is_empty() {
        (
            "gradwell report".to_string(),
            format!(
                "<p>{} runs compared. The figures at initialization are the gradient-health \
                 monitor's record of step 1, on a real batch, before the first update. The \
                 charts work offline: everything is in this one file.</p>\n",
                runs.len()
            ),
        )
    } else {
        (
            "gradwell lab report".to_string(),
            format!(
                "<p>{} runs on the embedded digits and the adding problem (fixed seeds). Each claim is judged against a \
                 criterion stated before the runs; the evidence is measured by the gradient-health \
                 monitor (figures at initialization are the monitor's record of step 1, on a real \
                 batch, before the first update). The charts work offline: everything is in this \
                 one file.</p>\n{}",
                runs.len(),
                claims_html(results)
            ),
        )
    };
    let html = page::render(
        &title,
        &before,
        &colours,
        &charts(&figs, &all),
        &runs_html(runs, &colours),
    );
    write_file(&out.join("index.html"), html)?;
    Ok(())
}

/// The page of one run, `index.html` in its folder (`train --out`): its figures
/// (`run_figures`: the theory beside the measured curves at initialization, accuracy,
/// loss smoothed and raw, gradient norm per step) and its layer × step heat map.
///
/// # Errors
/// A file that cannot be written.
pub fn write_run_page(out: &Path, run: &RunSummary) -> Result<()> {
    let colours = RunColours::new([run.name.as_str()]);
    let mut figs = run_figures(&[run], Prefix::None);
    figs.retain(|f| f.series.iter().any(|s| !s.points.is_empty()));
    let mut before = format!(
        "<p>{}; {} steps in {:.1} s; test accuracy {}.</p>\n",
        escape(&run.model),
        run.steps,
        run.seconds,
        accuracy_cell(run)
    );
    if let Some(d) = &run.diverged {
        let _ = writeln!(before, "<p><b>Training stopped:</b> {}</p>", escape(d));
    }
    if !run.findings.is_empty() {
        before.push_str("<h2>Findings</h2>\n<ul>\n");
        for f in &run.findings {
            let _ = writeln!(before, "<li>{}</li>", escape(f));
        }
        before.push_str("</ul>\n");
    }
    let html = page::render(
        &format!("gradwell run: {}", run.name),
        &before,
        &colours,
        &charts(&figs, &[run]),
        "",
    );
    write_file(&out.join("index.html"), html)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The caption states the smoothing the curves are drawn with.
    #[test]
    fn the_loss_caption_states_the_smoothing() {
        assert!(LOSS_CAPTION.contains(&format!("β = {LOSS_SMOOTHING}")));
        let span = (1.0 / (1.0 - LOSS_SMOOTHING)).round();
        assert!(LOSS_CAPTION.contains(&format!("the last {span} steps")));
    }
}
