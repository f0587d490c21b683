//! `cargo xtask slurm-e2e`: `gradwell sweep --slurm --submit` against real Slurm daemons.
//!
//! It starts the local one-node cluster of [`crate::slurm`] (installing `slurm-wlm` and
//! `munge` if need be), builds the `gradwell` binary, and then:
//!
//! 1. submits a sweep of [`FIRST_RUNS`] short runs on the embedded digits (16-unit
//!    networks, one epoch each) as a job array, waits for the array, checks that Slurm
//!    completed every task, merges the sweep with `gradwell report SWEEP_DIR` and checks
//!    that every run is in the report's table, finished;
//! 2. submits a second sweep, whose run [`CANCELLED_RUN`] is long and writes a checkpoint
//!    every epoch; cancels that task (`scancel <job>_<k>`) once it runs and has a
//!    checkpoint, checks that Slurm recorded it cancelled and that the report lists it as
//!    stopped (not finished, and not `running`); re-runs the same `gradwell sweep --slurm --submit`, whose array then
//!    holds that run alone, and checks that it finishes, resumed from its checkpoint (its
//!    task's log says `resumed from`).
//!
//! Every wait is bounded ([`TIMEOUT`]); a failure prints the runs' task logs. The cluster
//! is stopped at the end, passed or failed.
//!
//! Starting the daemons needs root (munged runs as the `munge` user, slurmd as root):
//! without root the test is skipped with a message saying so, and succeeds. `.ci/run`
//! runs as root, so in CI it runs.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::time::{Duration, Instant};

use gradwell_cli::sweep::report::RUNS_CSV;
use gradwell_cli::sweep::slurm::{self as slurm_task, OUTPUT_LOG};
use gradwell_cli::sweep::{CHECKPOINT_DIR, ERROR_LOG, RUNS_DIR, STATUS_FILE, run_dir};

use crate::slurm::{self, Local};

/// The runs of the first sweep (at least eight, as the issue asks).
const FIRST_RUNS: usize = 8;
/// The longest wait for an array to leave the queue, or for a task to be caught running.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The first sweep: 2 activations × 4 seeds of a one-epoch, 16-unit network on the
/// embedded digits.
const FIRST_SWEEP: &str = r#"# The first sweep of `cargo xtask slurm-e2e`: 8 one-epoch runs.
name = "e2e-first"

[base.data]
source = "digits"

[base.model]
hidden = [16]

[base.train]
epochs = 1
batch_size = 64

[axes]
"model.activation" = ["relu", "tanh"]
"train.seed" = [0, 1, 2, 3]
"#;

/// The second sweep: a one-epoch run and a long one (run 1: 200 epochs of about 0.06 s in
/// a debug build), each writing a checkpoint every epoch (the sweep gives every run a
/// checkpoint directory), so that run 1 can be caught running and cancelled mid-run.
const SECOND_SWEEP: &str = r#"# The second sweep of `cargo xtask slurm-e2e`: run 1 is cancelled mid-run.
name = "e2e-resume"

[base.data]
source = "digits"

[base.model]
hidden = [16]

[base.train]
batch_size = 64

[axes]
"train.epochs" = [1, 200]
"#;

/// The run of [`SECOND_SWEEP`] that is cancelled.
const CANCELLED_RUN: usize = 1;

/// `cargo xtask slurm-e2e`.
pub fn main(_args: &[String]) -> ExitCode {
    if !slurm::is_root() {
        eprintln!("xtask slurm-e2e: skipped: {}", slurm::NEEDS_ROOT);
        return ExitCode::SUCCESS;
    }
    let local = Local::of_workspace();
    let started = Instant::now();
    let outcome = local.start().and_then(|()| run(&local));
    let stopped = local.stop();
    match (outcome, stopped) {
        (Ok(()), Ok(())) => {
            eprintln!(
                "xtask slurm-e2e: passed in {:.0} s",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        (Err(e), _) | (Ok(()), Err(e)) => {
            eprintln!("xtask slurm-e2e: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Both phases, on a started cluster.
fn run(local: &Local) -> Result<(), String> {
    if !crate::cargo_in(
        &crate::root(),
        &["build", "--package", "gradwell-cli", "--bin", "gradwell"],
        &[],
    ) {
        return Err("could not build gradwell".into());
    }
    let work = crate::root().join("target").join("slurm-e2e");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let e2e = E2e {
        local,
        gradwell: crate::root().join("target").join("debug").join("gradwell"),
        work,
    };
    e2e.first()?;
    e2e.second()
}

/// What the phases share.
struct E2e<'a> {
    local: &'a Local,
    gradwell: PathBuf,
    work: PathBuf,
}

impl E2e<'_> {
    /// Phase 1: every run of a sweep of [`FIRST_RUNS`] runs completes through Slurm and is
    /// in the report, finished.
    fn first(&self) -> Result<(), String> {
        let (file, dir) = self.sweep_files("first", FIRST_SWEEP)?;
        let (job, tasks) = self.submit(&file, &dir)?;
        if tasks != FIRST_RUNS {
            return Err(format!("submitted {tasks} tasks, not {FIRST_RUNS}"));
        }
        self.wait_array(job, &dir)?;
        let states = self.task_states(job)?;
        for k in 0..FIRST_RUNS {
            if status_of(&states, k) != Some("COMPLETED") {
                return Err(self.with_task_logs(
                    &dir,
                    format!("task {job}_{k} did not complete; the array's tasks: {states:?}"),
                ));
            }
        }
        let report = self.report(&dir)?;
        if report.len() != FIRST_RUNS {
            return Err(format!(
                "the report has {} runs, not {FIRST_RUNS}: {report:?}",
                report.len()
            ));
        }
        for k in 0..FIRST_RUNS {
            if status_of(&report, k) != Some("finished") {
                return Err(format!("run {k} is not finished in the report: {report:?}"));
            }
        }
        eprintln!(
            "xtask slurm-e2e: phase 1 passed: {FIRST_RUNS} runs as job array {job}, all finished in the report"
        );
        Ok(())
    }

    /// Phase 2: a task cancelled mid-run is listed unfinished, and submitting the sweep
    /// again completes it from its checkpoint.
    fn second(&self) -> Result<(), String> {
        let (file, dir) = self.sweep_files("second", SECOND_SWEEP)?;
        let (job, _) = self.submit(&file, &dir)?;
        let task = format!("{job}_{CANCELLED_RUN}");
        self.wait_running_with_checkpoint(job, &dir)?;
        eprintln!("xtask slurm-e2e: cancelling {task} mid-run");
        output(self.local.client("scancel").arg(&task))?;
        self.wait_array(job, &dir)?;
        let states = self.task_states(job)?;
        if status_of(&states, CANCELLED_RUN) != Some("CANCELLED") {
            return Err(format!("task {task} is not cancelled: {states:?}"));
        }
        let report = self.report(&dir)?;
        if status_of(&report, 0) != Some("finished") {
            return Err(format!("run 0 is not finished in the report: {report:?}"));
        }
        // Not finished, and not `running` either: the task's script records its SIGTERM.
        if status_of(&report, CANCELLED_RUN) != Some(slurm_task::STOPPED) {
            return Err(format!(
                "the cancelled run {CANCELLED_RUN} is not listed as stopped: {report:?}"
            ));
        }
        let (again, tasks) = self.submit(&file, &dir)?;
        if tasks != 1 {
            return Err(format!(
                "the second submission queued {tasks} tasks; only run {CANCELLED_RUN} was left"
            ));
        }
        self.wait_array(again, &dir)?;
        if status_of(&self.task_states(again)?, CANCELLED_RUN) != Some("COMPLETED") {
            return Err(self.with_task_logs(
                &dir,
                format!("task {again}_{CANCELLED_RUN} did not complete"),
            ));
        }
        if !task_log(&dir, CANCELLED_RUN).contains("resumed from") {
            return Err(self.with_task_logs(
                &dir,
                format!("run {CANCELLED_RUN} did not resume from its checkpoint"),
            ));
        }
        let report = self.report(&dir)?;
        for k in [0, CANCELLED_RUN] {
            if status_of(&report, k) != Some("finished") {
                return Err(format!(
                    "run {k} is not finished after the second submission: {report:?}"
                ));
            }
        }
        eprintln!(
            "xtask slurm-e2e: phase 2 passed: {task} cancelled mid-run, listed stopped, \
             resumed from its checkpoint as job {again}_{CANCELLED_RUN} and finished"
        );
        Ok(())
    }

    /// Writes a sweep file; returns it and the sweep's folder.
    fn sweep_files(&self, name: &str, text: &str) -> Result<(PathBuf, PathBuf), String> {
        let file = self.work.join(format!("{name}.toml"));
        std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        Ok((file, self.work.join(name)))
    }

    /// `gradwell sweep FILE --out DIR --slurm --submit`; the job id and task count it prints.
    fn submit(&self, file: &Path, dir: &Path) -> Result<(u64, usize), String> {
        let out = self.gradwell(&[
            "sweep".as_ref(),
            file.as_os_str(),
            "--out".as_ref(),
            dir.as_os_str(),
            "--slurm".as_ref(),
            "--submit".as_ref(),
            "--partition".as_ref(),
            slurm::PARTITION.as_ref(),
            // Less than any machine's memory (the default asks for 2G).
            "--mem".as_ref(),
            "200M".as_ref(),
            "--time".as_ref(),
            "00:10:00".as_ref(),
        ])?;
        let submitted = parse_submitted(&out)
            .ok_or_else(|| format!("no `submitted job array <ID> (<n> tasks)` line in:\n{out}"))?;
        eprintln!("xtask slurm-e2e: {}", out.trim());
        Ok(submitted)
    }

    /// Runs `gradwell`, aimed at the local cluster; its standard output, or an error with
    /// both outputs.
    fn gradwell(&self, args: &[&OsStr]) -> Result<String, String> {
        let mut c = Command::new(&self.gradwell);
        c.args(args).env("SLURM_CONF", self.local.conf());
        let o = output(&mut c)?;
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// `gradwell report DIR --out R`; each run's number and status in the report's table
    /// (`runs.csv`).
    fn report(&self, dir: &Path) -> Result<Vec<(usize, String)>, String> {
        let name = dir.file_name().and_then(OsStr::to_str).unwrap_or("sweep");
        let out = self.work.join(format!("report-{name}"));
        let _ = std::fs::remove_dir_all(&out);
        let printed = self.gradwell(&[
            "report".as_ref(),
            dir.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])?;
        eprintln!("xtask slurm-e2e: report: {}", printed.trim());
        let table = out.join(RUNS_CSV);
        let text = std::fs::read_to_string(&table)
            .map_err(|e| format!("cannot read {}: {e}", table.display()))?;
        statuses(&text)
            .ok_or_else(|| format!("{} lacks a run or status column:\n{text}", table.display()))
    }

    /// Polls `squeue` until job `job` has left the queue.
    fn wait_array(&self, job: u64, dir: &Path) -> Result<(), String> {
        let end = Instant::now() + TIMEOUT;
        loop {
            let queued = output(self.local.client("squeue").args([
                "-h",
                "-r",
                "-o",
                "%i %T",
                "-j",
                &job.to_string(),
            ]));
            match queued {
                // squeue refuses a job id the controller has forgotten.
                Err(_) => return Ok(()),
                Ok(o) if o.stdout.iter().all(u8::is_ascii_whitespace) => return Ok(()),
                Ok(_) => {}
            }
            if Instant::now() > end {
                return Err(self.with_task_logs(
                    dir,
                    format!("job {job} still queued after {} s", TIMEOUT.as_secs()),
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Waits until task [`CANCELLED_RUN`] of `job` runs and has written a checkpoint.
    fn wait_running_with_checkpoint(&self, job: u64, dir: &Path) -> Result<(), String> {
        let task = format!("{job}_{CANCELLED_RUN}");
        let end = Instant::now() + TIMEOUT;
        let mut seen = String::new();
        loop {
            let state = output(
                self.local
                    .client("squeue")
                    .args(["-h", "-o", "%T", "-j", &task]),
            )
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
            if state == "RUNNING" && has_checkpoint(dir, CANCELLED_RUN) {
                return Ok(());
            }
            // A task that has left the queue was not caught running.
            if (state.is_empty() && !seen.is_empty()) || Instant::now() > end {
                return Err(self.with_task_logs(
                    dir,
                    format!(
                        "task {task} was not caught running with a checkpoint (last state {seen:?})"
                    ),
                ));
            }
            if !state.is_empty() {
                seen = state;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Each task of `job` and its state, from `scontrol show job` (without accounting,
    /// the controller is the record; it keeps a finished job for `MinJobAge`, 300 s).
    fn task_states(&self, job: u64) -> Result<Vec<(usize, String)>, String> {
        let o = output(self.local.client("scontrol").args([
            "show",
            "job",
            "--oneliner",
            &job.to_string(),
        ]))?;
        Ok(task_states(&String::from_utf8_lossy(&o.stdout)))
    }

    /// `why`, followed by what each run's task wrote.
    fn with_task_logs(&self, dir: &Path, why: String) -> String {
        let mut runs: Vec<usize> = std::fs::read_dir(dir.join(RUNS_DIR))
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        runs.sort_unstable();
        let mut s = why;
        for k in runs {
            s.push_str(&format!("\n--- run {k}\n{}", task_log(dir, k)));
        }
        s
    }
}

/// Reads `submitted job array <ID> (<n> tasks)`.
fn parse_submitted(out: &str) -> Option<(u64, usize)> {
    out.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("submitted job array ")?;
        let (id, rest) = rest.split_once(' ')?;
        let n = rest.strip_prefix('(')?.split_whitespace().next()?;
        Some((id.parse().ok()?, n.parse().ok()?))
    })
}

/// The `ArrayTaskId` and `JobState` of each line of `scontrol show job --oneliner`.
fn task_states(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .filter_map(|line| {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
            };
            Some((
                field("ArrayTaskId")?.parse().ok()?,
                field("JobState")?.to_string(),
            ))
        })
        .collect()
}

/// Each run's number and status in the report's `runs.csv`, found by the header's `run`
/// and `status` columns.
fn statuses(csv: &str) -> Option<Vec<(usize, String)>> {
    let mut records = csv_records(csv).into_iter();
    let header = records.next()?;
    let run = header.iter().position(|h| h == "run")?;
    let status = header.iter().position(|h| h == "status")?;
    records
        .map(|r| Some((r.get(run)?.parse().ok()?, r.get(status)?.clone())))
        .collect()
}

/// The records of a CSV text: cells separated by commas, records by line breaks, a quoted
/// cell holding commas, line breaks and doubled quotes.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !record.is_empty() {
        record.push(cell);
        records.push(record);
    }
    records
}

/// The state of run or task `k` in a list of them.
fn status_of(list: &[(usize, String)], k: usize) -> Option<&str> {
    list.iter().find(|(r, _)| *r == k).map(|(_, s)| s.as_str())
}

/// Whether run `k`'s checkpoint directory holds a checkpoint.
fn has_checkpoint(dir: &Path, k: usize) -> bool {
    gradwell_train::checkpoint::list(&run_dir(dir, k).join(CHECKPOINT_DIR))
        .is_ok_and(|l| !l.is_empty())
}

/// What run `k`'s last task wrote: its status, standard output and standard error.
fn task_log(dir: &Path, k: usize) -> String {
    let folder = run_dir(dir, k);
    let mut s = String::new();
    for name in [STATUS_FILE, OUTPUT_LOG, ERROR_LOG] {
        if let Ok(text) = std::fs::read_to_string(folder.join(name)) {
            s.push_str(&format!("[{name}]\n{text}"));
        }
    }
    s
}

/// Runs a command; its output, or an error naming the command with both outputs.
fn output(c: &mut Command) -> Result<Output, String> {
    let shown = format!("{c:?}");
    let o = c.output().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if o.status.success() {
        Ok(o)
    } else {
        Err(format!(
            "{shown} failed ({}):\n{}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_submitted_line_is_read() {
        assert_eq!(
            parse_submitted("note\nsubmitted job array 42 (8 tasks)\n"),
            Some((42, 8))
        );
        assert_eq!(parse_submitted("submitted job array x (8 tasks)"), None);
    }

    #[test]
    fn task_states_are_read_from_scontrol() {
        let text = "JobId=5 ArrayJobId=4 ArrayTaskId=1 JobName=x JobState=CANCELLED Reason=None\n\
                    JobId=4 ArrayJobId=4 ArrayTaskId=0 JobName=x JobState=COMPLETED Reason=None\n";
        assert_eq!(
            task_states(text),
            vec![(1, "CANCELLED".to_string()), (0, "COMPLETED".to_string())]
        );
    }

    #[test]
    fn statuses_are_read_from_the_report_table() {
        let csv = "run,train.epochs,status,test_accuracy,findings,error\n\
                   0,1,finished,0.5,\"x, \"\"y\"\"\",\n1,200,running,,,\"a, b\nc\"\n2,1,finished,,,\n";
        let s = statuses(csv).unwrap();
        assert_eq!(status_of(&s, 0), Some("finished"));
        assert_eq!(status_of(&s, 1), Some("running"));
        assert_eq!(status_of(&s, 2), Some("finished"));
        assert_eq!(s.len(), 3);
        assert_eq!(csv_records(csv)[1][4], "x, \"y\"");
        assert_eq!(statuses("run,x\n0,1\n"), None);
    }
}
