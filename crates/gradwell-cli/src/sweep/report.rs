//! `gradwell report SWEEP_DIR --out R`: a sweep folder's runs merged into one report.
//!
//! - `index.html`: one row per run (its axis values, its state, final test accuracy and
//!   loss, the gradient-health findings of the monitor), the runs that failed with the end
//!   of their `error.log`, and the figures inline;
//! - `runs.csv`: the same table;
//! - `plots/accuracy_by_<axis>.svg`: final test accuracy against each numeric axis (one
//!   line per combination of the other axes, or their mean when there are many);
//! - `plots/trainability.svg`: for a grid over depth and σ_w² of one activation that the
//!   mean-field theory covers (`gradwell-monitor`'s [`Criticality`]), the trainability heat
//!   map — mean final test accuracy per (σ_w², depth) cell, a diverged run counting as 0 —
//!   with the depth scale 6·ξ_c drawn over it (Schoenholz et al. 2017, Fig. 5). Depth is
//!   the number of hidden layers (`run.json`'s `depth`), σ_w² that of the hidden layers'
//!   initializer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use gradwell_monitor::{Criticality, PlotSpec, Series, TRAINABLE_DEPTH_FACTOR};

use crate::page::escape;
use crate::report::inline_svg;
use crate::run::{RunSummary, write_file};
use crate::sweep::{ERROR_LOG, STATUS_FILE, SWEEP_FILE, Sweep, is_finished, run_dir, show};
use crate::{CliError, Result};

/// The report's table as CSV, in the report folder.
pub const RUNS_CSV: &str = "runs.csv";

/// How many lines of a failed run's `error.log` the report shows.
const ERROR_LINES: usize = 5;

/// At most this many lines per accuracy figure; with more combinations of the other axes,
/// their mean is drawn.
const MAX_LINES: usize = 8;

/// Whether `dir` is a sweep folder (it holds `sweep.json`).
pub fn is_sweep(dir: &Path) -> bool {
    dir.join(SWEEP_FILE).is_file()
}

/// One run of the sweep as the report shows it.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// The run's number.
    pub index: usize,
    /// Its state: `finished`, `diverged`, `running`, `failed: ...` or `not run`.
    pub status: String,
    /// Its `run.json`, when it finished.
    pub summary: Option<RunSummary>,
    /// The end of its `error.log`, when it did not finish and has one.
    pub error: Option<String>,
}

/// The rows of every run of the sweep in `dir`.
///
/// # Errors
/// A `run.json` that cannot be read.
pub fn rows(dir: &Path, sweep: &Sweep) -> Result<Vec<RunRow>> {
    sweep
        .runs
        .iter()
        .map(|r| {
            let folder = run_dir(dir, r.index);
            if is_finished(dir, r.index) {
                let s = RunSummary::read(&folder)?;
                return Ok(RunRow {
                    index: r.index,
                    status: if s.diverged.is_some() {
                        "diverged"
                    } else {
                        "finished"
                    }
                    .into(),
                    summary: Some(s),
                    error: None,
                });
            }
            let status = std::fs::read_to_string(folder.join(STATUS_FILE))
                .map(|s| crate::sweep::slurm::checked_status(s.trim()))
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "not run".into());
            let error = std::fs::read_to_string(folder.join(ERROR_LOG))
                .ok()
                .map(|log| {
                    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
                    lines[lines.len().saturating_sub(ERROR_LINES)..].join("\n")
                });
            Ok(RunRow {
                index: r.index,
                status,
                summary: None,
                error: error.filter(|e| !e.is_empty()),
            })
        })
        .collect()
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn number(x: Option<f64>) -> String {
    x.map_or_else(String::new, |x| x.to_string())
}

/// Whether the sweep lists its runs (`[[run]]`): its tables then have a column of their
/// names.
fn lists(sweep: &Sweep) -> bool {
    sweep.runs.iter().any(|r| r.listed.is_some())
}

/// What the runs span: `19 listed runs`, `model.depth (3 values) × seed (2 values)`, or
/// both (`4 listed runs × seed (2 values)`).
fn shape(sweep: &Sweep) -> String {
    let grid: usize = sweep.axes.iter().map(|a| a.values.len()).product();
    let listed = lists(sweep).then(|| format!("{} listed runs", sweep.runs.len() / grid.max(1)));
    listed
        .into_iter()
        .chain(
            sweep
                .axes
                .iter()
                .map(|a| format!("{} ({} values)", a.path, a.values.len())),
        )
        .collect::<Vec<_>>()
        .join(" × ")
}

/// `runs.csv`: one row per run (with a `name` column when the sweep lists its runs).
pub fn csv(sweep: &Sweep, rows: &[RunRow]) -> String {
    let mut out = String::from("run");
    if lists(sweep) {
        out.push_str(",name");
    }
    for a in &sweep.axes {
        out.push(',');
        out.push_str(&csv_cell(&a.path));
    }
    out.push_str(",status,test_accuracy,test_loss,max_grad_norm,first_last_ratio,steps,seconds,findings,error\n");
    for (r, row) in sweep.runs.iter().zip(rows) {
        let mut cells = vec![r.index.to_string()];
        if lists(sweep) {
            cells.push(csv_cell(r.listed.as_deref().unwrap_or("")));
        }
        cells.extend(r.values.iter().map(|v| csv_cell(&show(v))));
        cells.push(csv_cell(&row.status));
        let s = row.summary.as_ref();
        cells.push(number(s.and_then(|s| s.test_accuracy)));
        cells.push(number(s.and_then(|s| s.test_loss)));
        cells.push(number(s.map(|s| s.max_grad_norm)));
        cells.push(number(
            s.and_then(|s| s.init.as_ref().and_then(|i| i.first_last_ratio)),
        ));
        cells.push(s.map_or_else(String::new, |s| s.steps.to_string()));
        cells.push(number(s.map(|s| s.seconds)));
        cells.push(csv_cell(
            &s.map_or_else(String::new, |s| s.findings.join(" | ")),
        ));
        cells.push(csv_cell(row.error.as_deref().unwrap_or("")));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A figure of the sweep report: its file (in `plots/`) and caption.
struct Drawn {
    file: PathBuf,
    caption: String,
}

/// A value as a number, if it is one.
fn numeric(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

/// Final test accuracy against each numeric axis with two values or more.
fn accuracy_figures(plots: &Path, sweep: &Sweep, rows: &[RunRow]) -> Result<Vec<Drawn>> {
    let mut drawn = Vec::new();
    for (i, axis) in sweep.axes.iter().enumerate() {
        let xs: Option<Vec<f64>> = axis.values.iter().map(numeric).collect();
        let Some(xs) = xs else { continue };
        if xs.len() < 2 {
            continue;
        }
        // One line per combination of the other axes' values.
        let mut lines: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (r, row) in sweep.runs.iter().zip(rows) {
            let Some(acc) = row.summary.as_ref().and_then(|s| s.test_accuracy) else {
                continue;
            };
            let Some(x) = numeric(&r.values[i]) else {
                continue;
            };
            let others: Vec<String> = sweep
                .axes
                .iter()
                .zip(&r.values)
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (a, v))| format!("{}={}", a.path, show(v)))
                .collect();
            lines.entry(others.join(", ")).or_default().push((x, acc));
        }
        if lines.is_empty() {
            continue;
        }
        let mut series: Vec<Series> = if lines.len() <= MAX_LINES {
            lines
                .into_iter()
                .map(|(name, pts)| {
                    Series::new(
                        if name.is_empty() {
                            "test accuracy".into()
                        } else {
                            name
                        },
                        pts,
                    )
                })
                .collect()
        } else {
            let mut by_x: BTreeMap<u64, (f64, f64, usize)> = BTreeMap::new();
            for (x, a) in lines.into_values().flatten() {
                let e = by_x.entry(x.to_bits()).or_insert((x, 0.0, 0));
                e.1 += a;
                e.2 += 1;
            }
            vec![Series::new(
                "mean over the other axes",
                by_x.into_values()
                    .map(|(x, s, n)| (x, s / n as f64))
                    .collect(),
            )]
        };
        for s in &mut series {
            s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        let file = plots.join(format!(
            "accuracy_by_{}.svg",
            axis.path
                .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_")
        ));
        let title = format!("Final test accuracy by {}", axis.path);
        let spec = PlotSpec {
            title: &title,
            x_label: &axis.path,
            y_label: "final test accuracy",
            log_y: false,
        };
        if draw_lines(&file, &spec, &series)? {
            drawn.push(Drawn {
                file,
                caption: format!(
                    "Final test accuracy of each finished run against {} (runs that diverged have none and are left out).",
                    axis.path
                ),
            });
        }
    }
    Ok(drawn)
}

#[cfg(feature = "plots")]
fn draw_lines(path: &Path, spec: &PlotSpec<'_>, series: &[Series]) -> Result<bool> {
    gradwell_monitor::line_plot(path, spec, series)?;
    Ok(true)
}

#[cfg(not(feature = "plots"))]
fn draw_lines(_: &Path, _: &PlotSpec<'_>, _: &[Series]) -> Result<bool> {
    Ok(false)
}

/// The trainability grid of a sweep's finished runs: (σ_w², depth, accuracy) per run, if
/// they share one activation and σ_b² the theory covers and span at least two depths and
/// two σ_w².
pub struct Trainability {
    /// The runs' activation.
    pub activation: gradwell_activations::ActivationKind,
    /// σ_b² of the runs' biases.
    pub sigma_b2: f64,
    /// The σ_w² values, increasing.
    pub sigma_w2: Vec<f64>,
    /// The depths, increasing.
    pub depths: Vec<f64>,
    /// `cells[depth][σ_w²]`: the mean final test accuracy there (a diverged run as 0).
    pub cells: Vec<Vec<Option<f64>>>,
}

impl Trainability {
    /// The grid of `rows`, if they form one.
    pub fn of(rows: &[RunRow]) -> Option<Trainability> {
        let mut points = Vec::new();
        let mut activation = None;
        let mut sigma_b2 = None;
        for s in rows.iter().filter_map(|r| r.summary.as_ref()) {
            let model = crate::lab::run_model(s)?;
            // To 12 significant digits: the initializer's variance times the fan-in is σ_w²
            // up to rounding (0.29999999999999993 for 0.3), and the cells group by it.
            let sw2: f64 = format!("{:.11e}", crate::lab::sigma_w2(s)?).parse().ok()?;
            let width = match &model.widths {
                gradwell_nn::MlpWidths::Hidden(h) => *h.first()?,
                gradwell_nn::MlpWidths::All(_) => return None,
            };
            let sb2 = gradwell_monitor::bias_sigma2(model.bias_init.as_ref(), width, width).ok()?;
            if *activation.get_or_insert(model.activation) != model.activation {
                return None;
            }
            if (*sigma_b2.get_or_insert(sb2) - sb2).abs() > 1e-12 {
                return None;
            }
            let acc = if s.diverged.is_some() {
                Some(0.0)
            } else {
                s.test_accuracy
            };
            points.push((sw2, s.depth as f64, acc?));
        }
        let (activation, sigma_b2) = (activation?, sigma_b2?);
        // The theory covers the activation.
        gradwell_monitor::MeanField::new(activation).ok()?;
        let distinct = |f: fn(&(f64, f64, f64)) -> f64| {
            let mut v: Vec<f64> = points.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let sigma_w2 = distinct(|p| p.0);
        let depths = distinct(|p| p.1);
        if sigma_w2.len() < 2 || depths.len() < 2 {
            return None;
        }
        let mut sums = vec![vec![(0.0, 0usize); sigma_w2.len()]; depths.len()];
        for (sw, d, a) in points {
            let c = sigma_w2.iter().position(|&x| x == sw)?;
            let r = depths.iter().position(|&x| x == d)?;
            sums[r][c].0 += a;
            sums[r][c].1 += 1;
        }
        let cells = sums
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|(s, n)| (n > 0).then(|| s / n as f64))
                    .collect()
            })
            .collect();
        Some(Trainability {
            activation,
            sigma_b2,
            sigma_w2,
            depths,
            cells,
        })
    }

    /// The curve depth = 6·ξ_c(σ_w²) over the grid's σ_w² span (NaN where ξ_c is
    /// infinite or the theory has no fixed point).
    pub fn depth_scale_curve(&self) -> Vec<(f64, f64)> {
        let (a, b) = (self.sigma_w2[0], self.sigma_w2[self.sigma_w2.len() - 1]);
        // Half a cell beyond the first and last columns, as the map is drawn.
        let pad = (b - a) / (2.0 * (self.sigma_w2.len() - 1) as f64);
        let (a, b) = ((a - pad).max(1e-6), b + pad);
        const POINTS: usize = 400;
        (0..=POINTS)
            .map(|i| {
                let sw2 = a + (b - a) * i as f64 / POINTS as f64;
                let depth = Criticality::new(self.activation, sw2, self.sigma_b2, 1.0)
                    .ok()
                    .and_then(|c| c.trainable_depth())
                    .unwrap_or(f64::NAN);
                (sw2, depth)
            })
            .collect()
    }
}

#[cfg(feature = "plots")]
fn trainability_figure(plots: &Path, rows: &[RunRow]) -> Result<Option<Drawn>> {
    let Some(t) = Trainability::of(rows) else {
        return Ok(None);
    };
    let file = plots.join("trainability.svg");
    let title = format!("Trainability: {} networks", t.activation);
    let map = gradwell_monitor::HeatMap {
        spec: PlotSpec {
            title: &title,
            x_label: "σ_w²",
            y_label: "depth (hidden layers)",
            log_y: false,
        },
        xs: t.sigma_w2.clone(),
        ys: t.depths.clone(),
        cells: t.cells.clone(),
        range: (0.0, 1.0),
        lines: vec![Series::new(
            format!("{TRAINABLE_DEPTH_FACTOR}·ξ_c (mean field)"),
            t.depth_scale_curve(),
        )],
    };
    gradwell_monitor::heat_map(&file, &map)?;
    Ok(Some(Drawn {
        file,
        caption: format!(
            "Mean final test accuracy per cell of depth × σ_w² ({}, σ_b² = {:.4}; a diverged run counts as 0), with the mean-field depth scale {TRAINABLE_DEPTH_FACTOR}·ξ_c drawn over it: Schoenholz et al. (2017) found networks trainable up to about that depth. The curve rises towards σ_w² at the order-to-chaos transition, where ξ_c is infinite.",
            t.activation, t.sigma_b2
        ),
    }))
}

#[cfg(not(feature = "plots"))]
fn trainability_figure(_: &Path, _: &[RunRow]) -> Result<Option<Drawn>> {
    Ok(None)
}

/// Writes the report of `sweep`, whose runs' states are `rows` (read once by [`rows`]),
/// into `out`: `index.html`, `runs.csv` and the figures in `plots/`, each file atomically.
///
/// # Errors
/// Files that cannot be written, plots that cannot be drawn.
pub fn write(sweep: &Sweep, rows: &[RunRow], out: &Path) -> Result<()> {
    let plots = out.join("plots");
    for d in [out, &plots] {
        std::fs::create_dir_all(d).map_err(|e| CliError::file(d, e))?;
    }
    write_file(&out.join(RUNS_CSV), csv(sweep, rows))?;
    let mut figures = Vec::new();
    figures.extend(trainability_figure(&plots, rows)?);
    figures.extend(accuracy_figures(&plots, sweep, rows)?);
    let finished = rows.iter().filter(|r| r.summary.is_some()).count();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>gradwell sweep {name}</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 1200px; margin: 2em auto; color: #222; }}\n\
         table {{ border-collapse: collapse; width: 100%; font-size: 13px; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; }}\n\
         th {{ background: #f4f4f4; }}\n\
         .failed {{ background: #f8d0d0; }}\n .diverged {{ background: #fbe7c6; }}\n\
         pre {{ white-space: pre-wrap; margin: 0; }}\n\
         figure {{ margin: 2em 0; }}\n figcaption {{ font-size: 14px; color: #444; }}\n\
         svg {{ max-width: 100%; height: auto; }}\n\
         </style>\n</head>\n<body>\n<h1>gradwell sweep {name}</h1>\n\
         <p>{n} runs over {shape}; {finished} finished (the table is also in runs.csv).</p>\n",
        name = escape(&sweep.name),
        n = sweep.runs.len(),
        shape = escape(&shape(sweep)),
    );
    for f in &figures {
        let _ = writeln!(
            html,
            "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>",
            inline_svg(&f.file)?,
            escape(&f.caption)
        );
    }
    html.push_str("<h2>Runs</h2>\n<table>\n<tr><th>run</th>");
    if lists(sweep) {
        html.push_str("<th>name</th>");
    }
    for a in &sweep.axes {
        let _ = write!(html, "<th>{}</th>", escape(&a.path));
    }
    html.push_str(
        "<th>status</th><th>test accuracy</th><th>test loss</th><th>gradient health</th></tr>\n",
    );
    for (r, row) in sweep.runs.iter().zip(rows) {
        let class = match row.status.as_str() {
            "finished" => "",
            "diverged" => " class=\"diverged\"",
            _ => " class=\"failed\"",
        };
        let _ = write!(html, "<tr{class}><td>{}</td>", r.index);
        if lists(sweep) {
            let _ = write!(
                html,
                "<td>{}</td>",
                escape(r.listed.as_deref().unwrap_or(""))
            );
        }
        for v in &r.values {
            let _ = write!(html, "<td>{}</td>", escape(&show(v)));
        }
        let s = row.summary.as_ref();
        let findings = match s {
            Some(s) if s.findings.is_empty() => "no findings".to_string(),
            Some(s) => s
                .findings
                .iter()
                .map(|f| escape(f))
                .collect::<Vec<_>>()
                .join("<br>"),
            None => String::new(),
        };
        let _ = writeln!(
            html,
            "<td>{}</td><td>{}</td><td>{}</td><td>{findings}</td></tr>",
            escape(&row.status),
            s.and_then(|s| s.test_accuracy)
                .map_or("-".into(), |a| format!("{a:.4}")),
            s.and_then(|s| s.test_loss)
                .map_or("-".into(), |l| format!("{l:.4}")),
        );
    }
    html.push_str("</table>\n");
    let failed: Vec<(&RunRow, String)> = rows
        .iter()
        .filter(|r| r.summary.is_none())
        .map(|r| (r, sweep.label(r.index)))
        .collect();
    if !failed.is_empty() {
        html.push_str(
            "<h2>Runs not finished</h2>\n<p>Run the sweep again to run them (a stopped run resumes from its newest checkpoint).</p>\n\
             <table>\n<tr><th>run</th><th>values</th><th>status</th><th>error</th></tr>\n",
        );
        for (r, label) in failed {
            let _ = writeln!(
                html,
                "<tr class=\"failed\"><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                r.index,
                escape(&label),
                escape(&r.status),
                escape(r.error.as_deref().unwrap_or(""))
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str("</body>\n</html>\n");
    write_file(&out.join("index.html"), html)?;
    Ok(())
}
