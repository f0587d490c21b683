//! The lab's report folder: `index.html` (the claims table and the plots as inline SVG, so
//! the file stands alone), `results.json`, one CSV per run, and the plots as SVG files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use gradwell_monitor::{PlotSpec, Series};
use serde::Serialize;

use crate::lab::{
    ADDING_LSTM, ADDING_RNN, CLIFF, CLIFF_CLIPPED, ClaimResult, RADII, Verdict, radius_run,
};
use crate::run::{RUN_FILE, RunSummary, epochs_csv, pretty, write_file};
use crate::{CliError, Result};
use gradwell_data::sequence::ADDING_BASELINE_MSE;

/// The run summaries in `dirs`: each a run folder (holding `run.json`) or a folder of run
/// folders.
///
/// # Errors
/// A folder that is neither, or a malformed `run.json`.
pub fn collect(dirs: &[PathBuf]) -> Result<Vec<RunSummary>> {
    let mut out = Vec::new();
    for d in dirs {
        if d.join(RUN_FILE).is_file() {
            out.push(RunSummary::read(d)?);
            continue;
        }
        let entries = std::fs::read_dir(d).map_err(|e| CliError::file(d, e))?;
        let mut subs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join(RUN_FILE).is_file())
            .collect();
        if subs.is_empty() {
            return Err(CliError::file(
                d,
                format!(
                    "no {RUN_FILE} here nor in its folders: not a run folder (write one with `gradwell train --out DIR`)"
                ),
            ));
        }
        subs.sort();
        for s in subs {
            out.push(RunSummary::read(&s)?);
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

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A figure of the report: a file name, a caption and the runs drawn.
struct Figure {
    file: &'static str,
    caption: &'static str,
    spec: PlotSpec<'static>,
    series: Vec<Series>,
}

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

fn figures(runs: &[RunSummary]) -> Vec<Figure> {
    let radius_names: Vec<String> = RADII.iter().map(|r| radius_run(*r)).collect();
    let radius_names: Vec<&str> = radius_names.iter().map(String::as_str).collect();
    let init = |names: &[&str], f: fn(&str, &gradwell_monitor::StepRecord) -> Series| {
        pick(runs, names)
            .into_iter()
            .filter_map(|s| Some(f(&s.name, s.init.as_ref()?)))
            .collect::<Vec<_>>()
    };
    let grad = |n: &str, r: &gradwell_monitor::StepRecord| Series::grad_norm_by_layer(n, r);
    let std = |n: &str, r: &gradwell_monitor::StepRecord| Series::activation_std_by_layer(n, r);
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
            caption: "Claims 1–4: ‖∂L/∂W‖ of each weight layer at initialization (log scale). The plain sigmoid network's gradient falls by orders of magnitude towards the input; ReLU with He keeps it level; batch norm restores it (its scale parameters count as weight layers of their own, hence the zigzag).",
            spec: PlotSpec {
                title: "Gradient norm by layer at initialization",
                x_label: "weight layer",
                y_label: "‖∂L/∂W‖ (log scale)",
                log_y: true,
            },
            series: init(&depth_runs, grad),
        },
        Figure {
            file: "activation_std_at_init.svg",
            caption: "Claim 3: standard deviation of each activation layer's output at initialization. Under ReLU, Xavier halves the variance per layer; He keeps it.",
            spec: PlotSpec {
                title: "Activation std by layer at initialization",
                x_label: "activation layer",
                y_label: "std of output",
                log_y: false,
            },
            series: init(&["relu-he", "relu-xavier", "sigmoid-plain"], std),
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
            caption: "Claim 5: ‖∂L/∂W‖ by layer at initialization of the much deeper networks, plain and residual (log scale).",
            spec: PlotSpec {
                title: "Much deeper: gradient norm by layer at initialization",
                x_label: "weight layer",
                y_label: "‖∂L/∂W‖ (log scale)",
                log_y: true,
            },
            series: init(&["deep-plain", "deep-residual"], grad),
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
            .map(|s| Series::new(s.name.clone(), grad_norms(s)))
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
                    let rho = init.recurrent_radius.first()?.radius?;
                    Some(Series::new(
                        format!("ρ = {rho:.1}"),
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
                .map(|s| Series::new(s.name.clone(), grad_norms(s)))
                .collect(),
        },
    ];
    // Runs outside the lab's names (a merged sweep of other runs) get one figure.
    let known: Vec<String> = crate::lab::runs(&crate::lab::Scale::QUICK)
        .into_iter()
        .map(|r| r.name)
        .collect();
    let others: Vec<Series> = runs
        .iter()
        .filter(|r| !known.contains(&r.name))
        .map(accuracy_series)
        .collect();
    if !others.is_empty() {
        figs.push(Figure {
            file: "accuracy_other.svg",
            caption: "Other runs: test accuracy by epoch.",
            spec: PlotSpec {
                title: "Test accuracy, other runs",
                x_label: "epoch",
                y_label: "test accuracy",
                log_y: false,
            },
            series: others,
        });
    }
    figs.retain(|f| !f.series.is_empty());
    figs
}

/// Draws `figure` to `path`; `false` (nothing drawn) in a build without plots (the
/// `plots` feature), whose report has no figures.
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

/// The global gradient norm of each step.
fn grad_norms(s: &RunSummary) -> Vec<(f64, f64)> {
    s.grad_norms.clone()
}

/// Writes the report folder `out`, every file atomically.
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
        let path = csv.join(format!("{}.csv", s.name));
        write_file(&path, epochs_csv(s))?;
    }
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>gradwell lab report</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}\n\
         table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 6px 8px; text-align: left; vertical-align: top; }}\n\
         th {{ background: #f4f4f4; }}\n\
         .pass {{ background: #d9f2d9; font-weight: bold; }}\n\
         .fail {{ background: #f8d0d0; font-weight: bold; }}\n\
         .not-run {{ background: #eee; }}\n\
         figure {{ margin: 2em 0; }}\n figcaption {{ font-size: 14px; color: #444; }}\n\
         svg {{ max-width: 100%; height: auto; }}\n\
         </style>\n</head>\n<body>\n<h1>gradwell lab report</h1>\n\
         <p>{} runs on the embedded digits and the adding problem (fixed seeds). Each claim is judged against a \
         criterion stated before the runs; the evidence is measured by the gradient-health \
         monitor (figures at initialization are the monitor's record of step 1, on a real \
         batch, before the first update).</p>\n\
         <table>\n<tr><th>#</th><th>claim</th><th>configuration</th><th>criterion</th>\
         <th>measured evidence</th><th>verdict</th></tr>\n",
        runs.len()
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
    for f in figures(runs) {
        let path = plots.join(f.file);
        if !draw(&path, &f)? {
            continue;
        }
        let svg = inline_svg(&path)?;
        let _ = writeln!(
            html,
            "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
            escape(f.caption)
        );
    }
    html.push_str("<h2>Runs</h2>\n<table>\n<tr><th>run</th><th>model</th><th>test accuracy</th>\
                   <th>‖∇W₁‖/‖∇W_L‖ at init</th><th>max ‖∇‖</th><th>steps</th><th>seconds</th></tr>\n");
    for s in runs {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2e}</td><td>{}</td><td>{:.1}</td></tr>",
            escape(&s.name),
            escape(&s.model),
            match (&s.diverged, s.test_accuracy) {
                (Some(_), _) => "diverged".to_string(),
                (None, Some(a)) => format!("{a:.3}"),
                (None, None) => "-".into(),
            },
            s.init
                .as_ref()
                .and_then(|i| i.first_last_ratio)
                .map_or("-".into(), |x| format!("{x:.2e}")),
            s.max_grad_norm,
            s.steps,
            s.seconds
        );
    }
    html.push_str("</table>\n</body>\n</html>\n");
    let path = out.join("index.html");
    write_file(&path, html)?;
    Ok(())
}
