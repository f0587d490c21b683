//! The `gradwell` command, as a library so that its tests and the lab call the same code
//! the binary runs.
//!
//! - [`cli`]: the command line (clap derive), with help texts that teach.
//! - [`setup`]: a run as data ([`RunFile`], the TOML of `--config`), the flags written over
//!   it, its data and its model.
//! - [`observe`]: [`MonitorObserver`], the gradient-health monitor plugged into
//!   `gradwell-train`'s `Observer` hook.
//! - [`run`]: one training run ([`train_run`]) and its folder; [`RunSummary`] is its
//!   `run.json`.
//! - [`lr_find`]: the learning-rate range test on the run `train` would make.
//! - [`probe`]: a network at initialization, beside the theory.
//! - [`lab`]: the standard experiments, each a claim with a criterion stated in advance;
//!   [`report`]: the report folder (an interactive, self-contained index.html drawn by
//!   [`page`], results.json, CSVs, SVG plots).
//! - [`sweep`]: a grid of runs from one file, run here or as a Slurm job array.
//!
//! The crate sits at the top of the workspace: it depends on every crate it drives, and
//! none depends on it. The trainer does not know the monitor; the bridge between the two
//! is [`MonitorObserver`], here.
//!
//! ```
//! use gradwell_cli::setup::RunFile;
//!
//! // The run `gradwell train --hidden 32 --epochs 5` would make, trained in-process.
//! let mut run = RunFile::default();
//! run.model.widths = gradwell_nn::MlpWidths::Hidden(vec![32]);
//! run.train.epochs = 5;
//! let summary = gradwell_cli::train_run(&run, &Default::default())?;
//! // Chance is 0.1; these 5 epochs reach 0.72 to 0.86 over seeds 0 to 11.
//! assert!(summary.test_accuracy.unwrap() > 0.6);
//! assert!(summary.init.is_some()); // the monitor's record of step 1, per layer
//! # Ok::<(), gradwell_cli::CliError>(())
//! ```
#![doc(test(attr(deny(warnings))))]

pub mod cli;
mod error;
pub mod evaluate;
pub mod lab;
pub mod lr_find;
pub mod observe;
pub mod page;
pub mod probe;
pub mod report;
pub mod run;
pub mod setup;
pub mod sweep;

use std::io::Write as _;

pub use error::{CliError, Result, one_line};
pub use observe::MonitorObserver;
pub use run::{RunOptions, RunSummary, train_run};
pub use setup::RunFile;

use cli::{Command, LabArgs, LrFindArgs, ReportArgs, SummaryArgs, TrainArgs};

/// What a command ends with: success, or a run that finished but failed (a diverged
/// training run), which exits non-zero after its output is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything went as asked.
    Success,
    /// The command finished but its result is a failure (exit code 1).
    Failed,
}

/// Runs a parsed command.
///
/// # Errors
/// Anything the command refuses; the binary prints it as one line.
pub fn execute(command: Command) -> Result<Outcome> {
    match command {
        Command::Probe(args) => {
            let report = probe::run_probe(&args)?;
            if args.json {
                println!("{}", run::pretty(&report));
            } else {
                print!("{}", probe::render(&report));
            }
            if let Some(path) = &args.plot {
                for p in probe::plot(&report, path)? {
                    eprintln!("plot written to {}", p.display());
                }
            }
            Ok(Outcome::Success)
        }
        Command::Train(args) => train(&args),
        Command::LrFind(args) => lr_find_command(&args),
        Command::Summary(args) => summary(&args),
        Command::Lab(args) => lab_command(&args),
        Command::Report(args) => report_command(&args),
        Command::Sweep(args) => sweep::command(&args),
        Command::Eval(args) => {
            print!("{}", evaluate::render_eval(&evaluate::eval(&args)?));
            Ok(Outcome::Success)
        }
        Command::Predict(args) => {
            print!("{}", evaluate::predict(&args)?);
            Ok(Outcome::Success)
        }
    }
}

/// The run that `gradwell train` flags (and `--config`) describe.
///
/// # Errors
/// An unreadable or invalid config, a flag value out of range or unknown.
pub fn run_file(args: &TrainArgs) -> Result<RunFile> {
    let mut run = match &args.setup.config {
        Some(path) => RunFile::from_file(path)?,
        None => RunFile::default(),
    };
    run.apply_train_args(args)?;
    Ok(run)
}

fn train(args: &TrainArgs) -> Result<Outcome> {
    let run = run_file(args)?;
    let opts = RunOptions {
        out: args.out.clone(),
        verbose: !args.quiet,
        resume: args.resume,
        quiet: args.quiet,
        page: run.monitor.page,
    };
    let s = train_run(&run, &opts)?;
    if let Some(d) = &s.diverged {
        if let Some(nf) = &s.non_finite {
            eprintln!("{nf}");
        }
        if let Some(out) = &args.out {
            eprintln!("run folder written to {}", out.display());
        }
        eprintln!("error: training stopped: {d}");
        return Ok(Outcome::Failed);
    }
    if !args.quiet {
        eprintln!("{} steps in {:.1} s", s.steps, s.seconds);
        if let Some(out) = &args.out {
            eprintln!("run folder written to {}", out.display());
        }
    }
    match (s.test_accuracy, s.test_loss) {
        (None, Some(mse)) => println!("test mse: {mse:.4}"),
        (acc, _) => println!("test accuracy: {:.4}", acc.unwrap_or(f64::NAN)),
    }
    let _ = std::io::stdout().flush();
    Ok(Outcome::Success)
}

fn lr_find_command(args: &LrFindArgs) -> Result<Outcome> {
    let (report, written) = lr_find::lr_find(args)?;
    print!("{}", lr_find::render(&report));
    let _ = std::io::stdout().flush();
    for path in written {
        eprintln!("written: {}", path.display());
    }
    Ok(Outcome::Success)
}

fn summary(args: &SummaryArgs) -> Result<Outcome> {
    let mut run = match &args.config {
        Some(path) => RunFile::from_file(path)?,
        None => RunFile::default(),
    };
    run.apply_data_args(&args.data)?;
    run.apply_model_args(&args.model)?;
    // With all widths given (or a whole network), the model is printed as given; only
    // `--hidden` (or no widths) needs the data for its input and output widths.
    let spec = match (&run.model.widths, &run.network) {
        (_, Some(net)) => net.clone(),
        (gradwell_nn::MlpWidths::All(w), None) if args.data.data.is_none() => {
            let (f, c) = (w[0], w[w.len() - 1]);
            let stand_in = gradwell_data::Dataset::new(
                "the model",
                ndarray::Array2::zeros((1, f)),
                vec![0],
                c,
            )?;
            run.model_spec("the model", &stand_in)?.0
        }
        _ => {
            let split = run.load_data()?;
            run.model_spec(&run.data.source, &split.train)?.0
        }
    };
    if args.pytorch {
        // PyTorch's form prints the built layers: the model is built (and refused if the
        // machine cannot hold it).
        let net = gradwell_nn::Network::<f32>::build(&spec, run.train.seed)?;
        println!("{net}");
    } else {
        // Keras's form is printed from the plan: no weight is allocated, so the summary of
        // a model too large to build costs nothing, and says so.
        let plan = spec.plan()?;
        print!("{}", plan.summary::<f32>());
        let budget = gradwell_nn::MemoryBudget::detect()?;
        if let Err(e) = budget.check(&plan, &gradwell_nn::MemoryUse::build::<f32>()) {
            eprintln!("note: {}", one_line(e));
        }
    }
    Ok(Outcome::Success)
}

fn lab_command(args: &LabArgs) -> Result<Outcome> {
    let scale = if args.quick {
        lab::Scale::QUICK
    } else {
        lab::Scale::FULL
    };
    let quick = if args.quick { " --quick" } else { "" };
    if let Some(path) = &args.write_sweep {
        let text = lab::sweep_text(&scale)?;
        if path.as_os_str() == "-" {
            print!("{text}");
        } else {
            run::write_file(path, text)?;
            eprintln!("the lab's sweep written to {}", path.display());
        }
        return Ok(Outcome::Success);
    }
    if args.list {
        let runs = lab::runs(&scale);
        for r in &runs {
            println!("{}", r.command(&args.out.join("runs")));
        }
        eprintln!(
            "the same {} runs as a sweep: `gradwell lab{quick} --out DIR` runs them (--jobs N here, --slurm as a Slurm job array); `gradwell lab{quick} --write-sweep FILE` writes its file ({}/{}.toml)",
            runs.len(),
            lab::SWEEP_FILES,
            scale.name
        );
        return Ok(Outcome::Success);
    }
    let sweep = lab::sweep(&scale)?;
    let _out_lock = run::hold_dir("--out", &args.out)?;
    let started = std::time::Instant::now();
    match sweep::run_sweep(&sweep, &args.out, &args.run)? {
        sweep::Ran::Finished => {}
        sweep::Ran::Slurm => {
            eprintln!(
                "when the job array has finished, `gradwell lab{quick} --out {}` (or `gradwell report {} --out REPORT_DIR`) judges the claims",
                args.out.display(),
                args.out.display()
            );
            return Ok(Outcome::Success);
        }
        sweep::Ran::Failed(_) => {
            eprintln!("lab: no report until every run has finished");
            return Ok(Outcome::Failed);
        }
    }
    let summaries = sweep
        .runs
        .iter()
        .map(|r| RunSummary::read(&sweep::run_dir(&args.out, r.index)))
        .collect::<Result<Vec<_>>>()?;
    let results = lab::evaluate(&summaries);
    // The report first: a reader that closes the pipe early ends the process at the print.
    report::write(&args.out, &results, &summaries)?;
    print!("{}", lab::table(&results));
    eprintln!(
        "lab: {} runs ({:.0} s this time); report written to {}",
        summaries.len(),
        started.elapsed().as_secs_f64(),
        args.out.join("index.html").display()
    );
    Ok(if results.iter().all(|r| r.verdict != lab::Verdict::Fail) {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

fn report_command(args: &ReportArgs) -> Result<Outcome> {
    if let Some(outcome) = sweep_report(args)? {
        return Ok(outcome);
    }
    let summaries = report::collect(&args.dirs)?;
    let _out_lock = run::hold_dir("--out", &args.out)?;
    // Claims are judged on the lab's runs only, not on a run that shares a lab run's name.
    let lab_runs: Vec<RunSummary> = summaries
        .iter()
        .filter(|s| lab::is_lab_run(s))
        .cloned()
        .collect();
    let results = report::claims_present(lab::evaluate(&lab_runs), &lab_runs);
    // The report first: a reader that closes the pipe early ends the process at the print.
    report::write(&args.out, &results, &summaries)?;
    if results.is_empty() {
        print!("{}", report::runs_table(&summaries));
    } else {
        print!("{}", lab::table(&results));
    }
    eprintln!(
        "report of {} runs written to {}",
        summaries.len(),
        args.out.join("index.html").display()
    );
    Ok(Outcome::Success)
}

/// `gradwell report SWEEP_DIR`: the sweep's report, if the folder given is a sweep folder.
fn sweep_report(args: &ReportArgs) -> Result<Option<Outcome>> {
    let Some(dir) = args.dirs.iter().find(|d| sweep::report::is_sweep(d)) else {
        return Ok(None);
    };
    if args.dirs.len() > 1 {
        return Err(CliError::file(
            dir,
            "a sweep folder is reported alone: give it as the only folder",
        ));
    }
    let _out_lock = run::hold_dir("--out", &args.out)?;
    let sweep = sweep::Sweep::read(dir)?;
    let rows = sweep::report::rows(dir, &sweep)?;
    let summaries: Vec<RunSummary> = rows.iter().filter_map(|r| r.summary.clone()).collect();
    // The lab's sweep (`gradwell lab`, or `gradwell sweep` of its file) gets the lab's
    // report, its claims judged on the lab's runs; any other sweep the sweep's report.
    let lab_runs: Vec<RunSummary> = summaries
        .iter()
        .filter(|s| lab::is_lab_run(s))
        .cloned()
        .collect();
    let lab = !lab_runs.is_empty();
    if lab {
        let results = report::claims_present(lab::evaluate(&lab_runs), &lab_runs);
        report::write(&args.out, &results, &summaries)?;
        run::write_file(
            &args.out.join(sweep::report::RUNS_CSV),
            sweep::report::csv(&sweep, &rows),
        )?;
        print!("{}", lab::table(&results));
    } else {
        sweep::report::write(&sweep, &rows, &args.out)?;
    }
    let finished = summaries.len();
    println!(
        "sweep {}: {finished} of {} runs finished, {} not",
        sweep.name,
        rows.len(),
        rows.len() - finished
    );
    eprintln!(
        "report of sweep {} written to {}",
        sweep.name,
        args.out.join("index.html").display()
    );
    Ok(Some(Outcome::Success))
}
