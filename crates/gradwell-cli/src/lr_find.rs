//! `gradwell lr-find`: the learning-rate range test ([`gradwell_train::Trainer::lr_find`])
//! on the run that `gradwell train` with the same flags would make, printed as a table with
//! the suggested rate, and written as `lr_find.csv` and `lr_find.svg` with `--out`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use gradwell_train::{LrFindReport, LrRangeTest, TrainError, Trainer};

use crate::cli::LrFindArgs;
use crate::run::{Prepared, hold_dir, prepare, write_file};
use crate::setup::RunFile;
use crate::{CliError, Result};

/// The CSV file `--out` gets.
pub const CSV_FILE: &str = "lr_find.csv";

/// The plot `--out` gets.
pub const PLOT_FILE: &str = "lr_find.svg";

/// Rows of the printed table, about: every step's row is in the CSV.
const TABLE_ROWS: usize = 20;

/// The test's settings from the flags, over [`LrRangeTest::default`]; a bad value is
/// refused naming its flag.
///
/// # Errors
/// [`CliError::Flag`] for `--start-lr`, `--end-lr` or `--steps`.
pub fn settings(args: &LrFindArgs) -> Result<LrRangeTest> {
    let mut s = LrRangeTest::default();
    if let Some(v) = args.start_lr {
        s.start_lr = v;
    }
    if let Some(v) = args.end_lr {
        s.end_lr = v;
    }
    if let Some(n) = args.steps {
        s.steps = n;
    }
    s.validate().map_err(|e| match e {
        TrainError::Config { field, why } => {
            let (flag, value) = match field.as_str() {
                "start_lr" => ("--start-lr", s.start_lr.to_string()),
                "end_lr" => ("--end-lr", s.end_lr.to_string()),
                "steps" => ("--steps", s.steps.to_string()),
                // Settings without a flag keep their valid defaults.
                other => return CliError::Invalid(format!("lr-find: `{other}`: {why}")),
            };
            CliError::flag(flag, value, why)
        }
        other => other.into(),
    })?;
    Ok(s)
}

/// The run the flags (and `--config`) describe, checked.
///
/// # Errors
/// An unreadable or invalid config, a flag value out of range or unknown.
pub fn run_file(args: &LrFindArgs) -> Result<RunFile> {
    let mut run = match &args.setup.config {
        Some(path) => RunFile::from_file(path)?,
        None => RunFile::default(),
    };
    run.apply_setup_args(&args.setup)?;
    run.train
        .validate()
        .map_err(|e| CliError::Invalid(crate::one_line(e)))?;
    Ok(run)
}

/// Runs the range test that `args` describe and, with `--out`, writes its folder (created
/// and locked once the flags, the data and the model are known to be good). Returns the
/// report and the files written.
///
/// # Errors
/// Bad flags (naming them), data or model problems, a folder that cannot be used, files
/// that cannot be written.
pub fn lr_find(args: &LrFindArgs) -> Result<(LrFindReport, Vec<PathBuf>)> {
    let settings = settings(args)?;
    let mut run = run_file(args)?;
    let Prepared { split, net, .. } = prepare(&mut run, false)?;
    let _out_lock = args
        .out
        .as_deref()
        .map(|d| hold_dir("--out", d))
        .transpose()?;
    run.train.progress = gradwell_train::ProgressMode::Off;
    let mut trainer = Trainer::new(run.train.clone(), net, split.train, None)?;
    let report = trainer.lr_find(&settings)?;
    let written = match &args.out {
        Some(dir) => write_folder(dir, &report)?,
        None => Vec::new(),
    };
    Ok((report, written))
}

/// Writes `lr_find.csv` and (with the `plots` feature) `lr_find.svg` into `dir`.
fn write_folder(dir: &Path, report: &LrFindReport) -> Result<Vec<PathBuf>> {
    let csv = dir.join(CSV_FILE);
    write_file(&csv, report.to_csv())?;
    let mut written = vec![csv];
    #[cfg(feature = "plots")]
    {
        let plot = dir.join(PLOT_FILE);
        gradwell_monitor::plot_lr_range_test(&plot, &plot_series(report))?;
        written.push(plot);
    }
    Ok(written)
}

/// Steps left out at the end of the plotted curve, as fastai's `plot_lr_find`
/// (`skip_end=5`): where the test stopped, the loss shoots up by orders of magnitude and
/// would flatten the valley that is read. The CSV has every step.
const PLOT_SKIP_END: usize = 5;

/// The smoothed loss against the rate (but its last [`PLOT_SKIP_END`] steps, unless it has
/// no more than twice as many), and each
/// suggestion as a point of its own at the smoothed loss of the step whose rate is
/// nearest (on the log scale).
#[cfg(feature = "plots")]
fn plot_series(report: &LrFindReport) -> Vec<gradwell_monitor::Series> {
    use gradwell_monitor::Series;
    let n = report.points.len();
    // A test that stopped within a few steps is drawn whole.
    let (shown, name) = if n > 2 * PLOT_SKIP_END {
        (
            &report.points[..n - PLOT_SKIP_END],
            format!("smoothed loss (the last {PLOT_SKIP_END} steps are in the CSV only)"),
        )
    } else {
        (&report.points[..], "smoothed loss".to_string())
    };
    let curve = shown.iter().map(|p| (p.lr, p.smoothed)).collect::<Vec<_>>();
    let mut series = vec![Series::new(name, curve)];
    let at = |lr: f64| {
        report
            .points
            .iter()
            .filter(|p| p.smoothed.is_finite())
            .min_by(|a, b| (a.lr / lr).ln().abs().total_cmp(&(b.lr / lr).ln().abs()))
            .map(|p| (lr, p.smoothed))
    };
    if let Some(s) = report.suggestion() {
        series.push(Series::new(
            format!("suggested {:.1e} (a tenth of the minimum's rate)", s.lr),
            at(s.lr).into_iter().collect(),
        ));
    }
    if let Some(s) = report.steepest {
        series.push(Series::new(
            format!("steepest fall {:.1e}", s.lr),
            at(s.lr).into_iter().collect(),
        ));
    }
    series
}

/// The report as text: what ran, a table of evenly spaced steps and the last (the CSV has
/// every step), why it stopped, and the suggestion with its rule.
pub fn render(report: &LrFindReport) -> String {
    let s = &report.settings;
    let mut out = format!(
        "learning-rate range test: {} steps from {:.1e} to {:.1e}, {} taken\n",
        s.steps,
        s.start_lr,
        s.end_lr,
        report.points.len()
    );
    out += "  step          lr        loss    smoothed\n";
    let every = report.points.len().div_ceil(TABLE_ROWS).max(1);
    let last = report.points.len().saturating_sub(1);
    for (i, p) in report.points.iter().enumerate() {
        if i % every == 0 || i == last {
            let _ = writeln!(
                out,
                "{:>6}  {:>10.3e}  {:>10.4}  {:>10.4}",
                p.step, p.lr, p.loss, p.smoothed
            );
        }
    }
    if let Some(why) = &report.stopped {
        let _ = writeln!(out, "stopped early: {why}");
    }
    match report.suggestion() {
        Some(m) => {
            let _ = writeln!(
                out,
                "suggested learning rate: {:.1e} (a tenth of {:.1e}, where the smoothed loss is lowest: {:.4})",
                m.lr, m.at.lr, m.at.smoothed
            );
        }
        None => {
            let _ = writeln!(
                out,
                "no suggestion: {} steps are too few to read the curve (the first tenth of the steps and the last five are left out); lower --start-lr or raise --steps",
                report.points.len()
            );
        }
    }
    if let Some(st) = report.steepest {
        let _ = writeln!(
            out,
            "steepest fall of the smoothed loss: at {:.1e} (shown, not suggested: it varies more from run to run)",
            st.lr
        );
    }
    out
}
