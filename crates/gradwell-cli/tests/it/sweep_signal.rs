//! The job-array script when Slurm ends a task: SIGTERM to every process of the task
//! (`scancel`, a time limit, preemption) leaves the run's status saying so, not `running`.
//! The script runs here under bash, as Slurm would run it, with a stand-in `gradwell` that
//! waits to be killed.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gradwell_cli::sweep::{RUNS_DIR, STATUS_FILE, slurm};

use crate::{gradwell, temp_dir, text};

/// Polls `cond` every 50 ms for at most `limit`; whether it came true.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A one-run sweep folder in `d` whose job-array task runs a stand-in `gradwell` that
/// says it started and waits to be killed; the task started as Slurm would start it, as
/// array task `77_0`, once the stand-in runs. Returns the task and the run's status file.
fn start_task(d: &Path) -> (std::process::Child, std::path::PathBuf) {
    let sweep = d.join("one.toml");
    std::fs::write(
        &sweep,
        "[base]\ndata.source = \"digits\"\nmodel.hidden = [8]\n[axes]\nseed = [0]\n",
    )
    .unwrap();
    // The stand-in says it started, then waits for its signal.
    let fake = d.join("fake-gradwell");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho started > \"$1.started\"\nexec sleep 60\n",
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    let out = d.join("sw");
    let o = gradwell(&[
        "sweep",
        sweep.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--slurm",
        "--gradwell",
        fake.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let status = out.join(RUNS_DIR).join("0").join(STATUS_FILE);
    // The stand-in's first argument is `train`: it marks `<sweep folder>/train.started`.
    let started = out.join("train.started");
    let task = Command::new("bash")
        .arg(out.join(slurm::SBATCH_FILE))
        .current_dir(&out)
        .env("SLURM_ARRAY_TASK_ID", "0")
        .env("SLURM_ARRAY_JOB_ID", "77")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("bash runs the script");
    assert!(
        wait_until(Duration::from_secs(20), || started.exists()),
        "the task did not start"
    );
    // The task names itself, for a report to ask Slurm about it.
    assert_eq!(read(&status), "running: Slurm task 77_0");
    (task, status)
}

/// Sends `signal` to every process of `task`'s group, as Slurm (or the kernel's OOM
/// killer, with SIGKILL) does; the task's exit.
fn kill_task(mut task: std::process::Child, signal: &str) -> std::process::ExitStatus {
    let group = format!("-{}", task.id());
    let killed = Command::new("kill")
        .args([signal, "--", &group])
        .status()
        .unwrap();
    assert!(killed.success());
    task.wait().unwrap()
}

#[test]
fn a_task_ended_by_sigterm_is_marked_stopped_not_running() {
    let d = temp_dir("sweep-sigterm");
    let (task, status) = start_task(&d);
    let code = kill_task(task, "-TERM");
    assert_eq!(code.code(), Some(143), "{code}");
    assert_eq!(read(&status), slurm::STOPPED);
}

/// SIGKILL (the OOM killer, a lost node) leaves no trap to run: the status still says the
/// task runs. The report asks Slurm (`squeue`, a stand-in here) and tells a task Slurm no
/// longer has (lost) from one it still runs.
#[test]
fn a_task_killed_by_sigkill_is_told_apart_by_asking_slurm() {
    let d = temp_dir("sweep-sigkill");
    let (task, status) = start_task(&d);
    let code = kill_task(task, "-KILL");
    assert_eq!(code.code(), None, "{code}");
    assert_eq!(read(&status), "running: Slurm task 77_0");
    let out = d.join("sw");
    let report_with = |squeue_prints: &str, name: &str| {
        let bin = d.join(name);
        std::fs::create_dir_all(&bin).unwrap();
        let fake = bin.join("squeue");
        // It checks what it is asked: the task the status names.
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\ncase \"$*\" in *\"--jobs 77_0 \"*) printf '{squeue_prints}' ;; *) echo \"unexpected: $*\" >&2; exit 2 ;; esac\n"
            ),
        )
        .unwrap();
        Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
        let report = d.join(format!("report-{name}"));
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let o = Command::new(env!("CARGO_BIN_EXE_gradwell"))
            .args([
                "report",
                out.to_str().unwrap(),
                "--out",
                report.to_str().unwrap(),
            ])
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o).1);
        let csv = std::fs::read_to_string(report.join("runs.csv")).unwrap();
        csv.lines().nth(1).unwrap().to_string()
    };
    // Slurm no longer has the task: it was killed without a word.
    let row = report_with("", "gone");
    assert!(row.contains(slurm::LOST), "{row}");
    assert!(row.contains("task 77_0"), "{row}");
    // Slurm still runs it: it runs.
    let row = report_with("RUNNING\\n", "alive");
    assert!(row.contains(",running: Slurm task 77_0,"), "{row}");
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
