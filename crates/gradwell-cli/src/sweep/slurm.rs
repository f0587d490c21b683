//! `gradwell sweep --slurm`: the sweep as a Slurm job array, `SWEEP_DIR/sweep.sbatch`, one
//! task per run not finished (the task's array index is the run's number), and with
//! `--submit` its submission through `sbatch --parsable`.
//!
//! The script:
//!
//! ```text
//! #!/bin/bash
//! #SBATCH --job-name=gradwell-<sweep>
//! #SBATCH --array=0-7%8                 (or 2,5,7%3: the runs to do, at most --jobs at once)
//! #SBATCH --chdir=<the sweep folder, absolute>
//! #SBATCH --output=<sweep folder>/runs/%a/output.log
//! #SBATCH --error=<sweep folder>/runs/%a/error.log
//! #SBATCH --time=01:00:00               (--time)
//! #SBATCH --cpus-per-task=1             (--cpus-per-task)
//! #SBATCH --mem=2G                      (--mem)
//! #SBATCH --partition=<p>               (--partition; the cluster's default without it)
//! k=$SLURM_ARRAY_TASK_ID
//! trap '... writes `stopped: ...` to runs/$k/status; exit 143' TERM
//! echo "running: Slurm task ${SLURM_ARRAY_JOB_ID}_$k" > runs/$k/status
//! '<gradwell>' train --config runs/$k/config.toml --out runs/$k \
//!     --checkpoint-dir runs/$k/checkpoints --resume
//! ... on run.json: writes `finished` to runs/$k/status (removing runs/$k/checkpoints first
//! ... when the sweep asks for it: remove_finished_checkpoints = true),
//! ... otherwise `failed: exit code N`; exits with train's code
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use crate::cli::RunnerArgs;
use crate::run::write_file;
use crate::sweep::{CHECKPOINT_DIR, RUNS_DIR, STATUS_FILE, Sweep, train_args};
use crate::{CliError, Result};

/// The job-array script's name in the sweep folder.
pub const SBATCH_FILE: &str = "sweep.sbatch";
/// A task's standard output, in its run folder.
pub const OUTPUT_LOG: &str = "output.log";
/// `--time` by default: an hour.
pub const DEFAULT_TIME: &str = "01:00:00";
/// `--mem` by default.
pub const DEFAULT_MEM: &str = "2G";
/// A task's status once Slurm ended it with SIGTERM (`scancel`, its time limit, preemption).
pub const STOPPED: &str = "stopped: ended by Slurm (cancelled, over its time limit or preempted)";
/// The state a task writes when it starts, before its `<job>_<index>` (Slurm's
/// `SLURM_ARRAY_JOB_ID` and the run's number): a report asks Slurm whether that task still
/// runs ([`task_alive`]), so that a task killed without a word (SIGKILL: out of memory,
/// its node lost) is told apart from one running.
pub const RUNNING_TASK: &str = "running: Slurm task ";
/// A run's state in a report when its status says [`RUNNING_TASK`] but Slurm has no such
/// task queued or running any more.
pub const LOST: &str = "lost: its Slurm task ended without a word (killed by SIGKILL: out of memory, or its node failed); run the sweep again to resume it";
/// `--cpus-per-task` by default.
pub const DEFAULT_CPUS: usize = 1;

/// A Slurm time limit (`--time`): `MINUTES`, `MINUTES:SECONDS`, `HOURS:MINUTES:SECONDS`,
/// `DAYS-HOURS`, `DAYS-HOURS:MINUTES` or `DAYS-HOURS:MINUTES:SECONDS`, as `sbatch` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmTime(String);

impl FromStr for SlurmTime {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!(
                "{s:?} is not a Slurm time: MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS, DAYS-HOURS, DAYS-HOURS:MINUTES or DAYS-HOURS:MINUTES:SECONDS (e.g. 01:30:00, 2-00)"
            )
        };
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit());
        let (days, rest) = match s.split_once('-') {
            Some((d, r)) => (Some(d), r),
            None => (None, s),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        let ok = days.is_none_or(digits)
            && parts.iter().all(|p| digits(p))
            && (1..=3).contains(&parts.len());
        let zero = s.bytes().all(|b| matches!(b, b'0' | b':' | b'-'));
        if ok && !zero {
            Ok(SlurmTime(s.to_string()))
        } else if ok {
            Err(format!("{s:?} is no time at all: give a limit above 0"))
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for SlurmTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Slurm memory request (`--mem`): a whole number above 0 with an optional unit `K`, `M`
/// (Slurm's default), `G` or `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmMem(String);

impl FromStr for SlurmMem {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let number = s.trim_end_matches(['K', 'M', 'G', 'T']);
        let unit_ok = s.len() - number.len() <= 1;
        match number.parse::<u64>() {
            Ok(n) if n > 0 && unit_ok && number.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(SlurmMem(s.to_string()))
            }
            _ => Err(format!(
                "{s:?} is not a Slurm memory size: a whole number above 0 with an optional unit K, M (the default), G or T, e.g. 2G or 500M"
            )),
        }
    }
}

impl fmt::Display for SlurmMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Slurm name (`--partition`, `--job-name`): letters, digits, `-`, `_`, `.` and, between
/// partitions, `,`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmName(String);

impl FromStr for SlurmName {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ','))
        {
            Ok(SlurmName(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a Slurm name: letters, digits, `-`, `_`, `.` (and `,` between partitions)"
            ))
        }
    }
}

impl fmt::Display for SlurmName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The array indices of `todo` (sorted run numbers), runs of consecutive numbers written
/// as ranges, with at most `limit` tasks at once: `0-7%8`, `2,5-6,9%3`.
pub fn array_spec(todo: &[usize], limit: usize) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < todo.len() {
        let mut j = i;
        while j + 1 < todo.len() && todo[j + 1] == todo[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            todo[i].to_string()
        } else {
            format!("{}-{}", todo[i], todo[j])
        });
        i = j + 1;
    }
    format!("{}%{}", parts.join(","), limit.max(1))
}

/// `s` quoted for the shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What the script needs besides the sweep.
#[derive(Debug, Clone)]
pub struct ScriptOptions {
    /// The sweep folder, absolute.
    pub dir: PathBuf,
    /// The `gradwell` executable, absolute.
    pub gradwell: PathBuf,
    /// The job's name.
    pub job_name: String,
    /// At most this many tasks at once.
    pub limit: usize,
    /// The partition, if not the cluster's default.
    pub partition: Option<SlurmName>,
    /// The time limit of each task.
    pub time: SlurmTime,
    /// CPUs of each task.
    pub cpus: usize,
    /// Memory of each task.
    pub mem: SlurmMem,
    /// Whether a task removes its run's checkpoints once the run finished
    /// ([`Sweep::remove_finished_checkpoints`]).
    pub remove_finished_checkpoints: bool,
}

/// The job-array script for the runs `todo` (not empty).
pub fn script(todo: &[usize], o: &ScriptOptions) -> String {
    let dir = o.dir.display();
    let mut s = format!(
        "#!/bin/bash\n\
         #SBATCH --job-name={}\n\
         #SBATCH --array={}\n\
         #SBATCH --chdir={dir}\n\
         #SBATCH --output={dir}/{RUNS_DIR}/%a/{OUTPUT_LOG}\n\
         #SBATCH --error={dir}/{RUNS_DIR}/%a/{}\n\
         #SBATCH --time={}\n\
         #SBATCH --cpus-per-task={}\n\
         #SBATCH --mem={}\n",
        o.job_name,
        array_spec(todo, o.limit),
        crate::sweep::ERROR_LOG,
        o.time,
        o.cpus,
        o.mem
    );
    if let Some(p) = &o.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    let args = train_args("$k")
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(" ");
    s.push_str(&format!(
        "# One task per run of the sweep: the array index is the run's number. A task that\n\
         # was stopped resumes from the run's newest checkpoint when the sweep is submitted again.\n\
         k=$SLURM_ARRAY_TASK_ID\n\
         # Slurm ends a task it cancels, times out or preempts with SIGTERM (to every process\n\
         # of the task): the status says so instead of staying `running`.\n\
         trap 'echo \"{STOPPED}\" > \"{RUNS_DIR}/$k/{STATUS_FILE}\"; exit 143' TERM\n\
         echo \"{RUNNING_TASK}${{SLURM_ARRAY_JOB_ID}}_$k\" > \"{RUNS_DIR}/$k/{STATUS_FILE}\"\n\
         {} {args}\n\
         rc=$?\n\
         if [ -f \"{RUNS_DIR}/$k/{}\" ]; then\n{}  echo finished > \"{RUNS_DIR}/$k/{STATUS_FILE}\"\n\
         else\n  echo \"failed: exit code $rc\" > \"{RUNS_DIR}/$k/{STATUS_FILE}\"\nfi\n\
         exit $rc\n",
        quote(&o.gradwell.display().to_string()),
        crate::run::RUN_FILE,
        if o.remove_finished_checkpoints {
            format!("  rm -rf \"{RUNS_DIR}/$k/{CHECKPOINT_DIR}\"\n")
        } else {
            String::new()
        },
    ));
    s
}

/// A path `#SBATCH` lines can hold: absolute, without blanks or `%` (Slurm's file-name
/// patterns).
fn check_path(flag: &str, p: &Path) -> Result<()> {
    let text = p.to_str().ok_or_else(|| {
        CliError::flag(
            flag,
            p.display(),
            "is not valid UTF-8, which a Slurm script cannot hold",
        )
    })?;
    if text
        .chars()
        .any(|c| c.is_whitespace() || c == '%' || c == '"')
    {
        return Err(CliError::flag(
            flag,
            text,
            "holds a blank, `%` or `\"`, which #SBATCH lines cannot hold: choose a path without",
        ));
    }
    Ok(())
}

/// Whether Slurm still has the array task `task` (`<job>_<index>`) pending or running,
/// asked with `squeue`: `None` when it cannot be asked (no `squeue` here, or an answer
/// it cannot read).
pub fn task_alive(task: &str) -> Option<bool> {
    let out = Command::new("squeue")
        .args(["--noheader", "--jobs", task, "--format=%T"])
        .output()
        .ok()?;
    if !out.status.success() {
        // A job Slurm no longer holds: `slurm_load_jobs error: Invalid job id specified`.
        return String::from_utf8_lossy(&out.stderr)
            .contains("Invalid job id")
            .then_some(false);
    }
    // squeue lists the task while it is pending, running, suspended or completing.
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| !l.trim().is_empty()),
    )
}

/// A run's state as a report shows it: `status` as its file says, but for a Slurm task
/// that says it runs ([`RUNNING_TASK`]) and Slurm no longer has, [`LOST`]; when Slurm
/// cannot be asked, the status says so.
pub fn checked_status(status: &str) -> String {
    let Some(task) = status.strip_prefix(RUNNING_TASK) else {
        return status.to_string();
    };
    match task_alive(task.trim()) {
        Some(true) => status.to_string(),
        Some(false) => format!("{LOST} (task {})", task.trim()),
        None => format!("{status} (not checked: squeue cannot be asked here)"),
    }
}

/// Submits `script` with `sbatch --parsable`; the job id.
///
/// # Errors
/// `sbatch` missing or failing (with its standard error), or an answer that is no job id.
pub fn submit(script: &Path) -> Result<String> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .output()
        .map_err(|e| {
            CliError::Invalid(if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "--submit: `sbatch` is not on PATH (is this a Slurm login node?); {} is written: submit it where Slurm runs with `sbatch {}`",
                    script.display(),
                    script.display()
                )
            } else {
                format!("--submit: `sbatch` could not be started: {e}")
            })
        })?;
    let stderr = crate::one_line(String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        let code = out.status.code().map_or_else(
            || "killed by a signal".to_string(),
            |c| format!("exit code {c}"),
        );
        return Err(CliError::Invalid(format!(
            "--submit: `sbatch --parsable {}` failed ({code}): {}",
            script.display(),
            if stderr.is_empty() {
                "no message"
            } else {
                &stderr
            }
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    // `--parsable` prints `ID` or `ID;CLUSTER`.
    let id = stdout
        .lines()
        .next()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::Invalid(format!(
            "--submit: `sbatch --parsable` printed {:?}, not a job id",
            stdout.trim()
        )));
    }
    Ok(id.to_string())
}

/// `gradwell sweep --slurm [--submit]` (and `gradwell lab --slurm`): the job array of the
/// runs `todo` of `sweep`, whose folder `out` is written and locked.
pub(crate) fn command(args: &RunnerArgs, out: &Path, sweep: &Sweep, todo: &[usize]) -> Result<()> {
    let n = sweep.runs.len();
    if todo.is_empty() {
        println!(
            "sweep {}: all {n} runs finished; nothing to submit",
            sweep.name
        );
        return Ok(());
    }
    let dir = std::fs::canonicalize(out).map_err(|e| CliError::file(out, e))?;
    check_path("--out", &dir)?;
    let gradwell = match &args.gradwell {
        Some(p) => {
            let abs = std::fs::canonicalize(p)
                .map_err(|e| CliError::flag("--gradwell", p.display(), e.to_string()))?;
            if !abs.is_file() {
                return Err(CliError::flag("--gradwell", p.display(), "is not a file"));
            }
            abs
        }
        None => std::env::current_exe()
            .map_err(|e| CliError::Invalid(format!("the gradwell executable's path: {e}")))?,
    };
    check_path("--gradwell", &gradwell)?;
    let options = ScriptOptions {
        remove_finished_checkpoints: sweep.remove_finished_checkpoints,
        dir: dir.clone(),
        gradwell,
        job_name: args
            .job_name
            .as_ref()
            .map_or_else(|| format!("gradwell-{}", sweep.name), ToString::to_string),
        limit: args.jobs.unwrap_or(todo.len()),
        partition: args.partition.clone(),
        time: args
            .time
            .clone()
            .unwrap_or_else(|| SlurmTime(DEFAULT_TIME.into())),
        cpus: args.cpus_per_task.unwrap_or(DEFAULT_CPUS),
        mem: args
            .mem
            .clone()
            .unwrap_or_else(|| SlurmMem(DEFAULT_MEM.into())),
    };
    let path = dir.join(SBATCH_FILE);
    write_file(&path, script(todo, &options))?;
    eprintln!(
        "sweep {}: {} of {n} runs to do; job array written to {}",
        sweep.name,
        todo.len(),
        path.display()
    );
    if args.submit {
        let id = submit(&path)?;
        println!("submitted job array {id} ({} tasks)", todo.len());
    } else {
        println!("submit it with: sbatch {}", path.display());
    }
    Ok(())
}
