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

#[test]
fn a_task_ended_by_sigterm_is_marked_stopped_not_running() {
    let d = temp_dir("sweep-sigterm");
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
    let mut task = Command::new("bash")
        .arg(out.join(slurm::SBATCH_FILE))
        .current_dir(&out)
        .env("SLURM_ARRAY_TASK_ID", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("bash runs the script");
    assert!(
        wait_until(Duration::from_secs(20), || started.exists()),
        "the task did not start"
    );
    assert_eq!(read(&status), "running");
    // As Slurm does: SIGTERM to every process of the task.
    let group = format!("-{}", task.id());
    let killed = Command::new("kill")
        .args(["-TERM", "--", &group])
        .status()
        .unwrap();
    assert!(killed.success());
    let code = task.wait().unwrap();
    assert_eq!(code.code(), Some(143), "{code}");
    assert_eq!(read(&status), slurm::STOPPED);
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
