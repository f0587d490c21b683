//! `gradwell sweep`: expansion, validation, local runs, re-runs, the Slurm job array and its
//! submission (with a stand-in `sbatch`), and the report of a sweep folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gradwell_cli::sweep::{Sweep, slurm};

use crate::{gradwell, temp_dir, text};

/// Writes `text` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write the file");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A run config read back from its TOML.
fn run_of(config: &str) -> gradwell_cli::RunFile {
    toml::from_str(config).expect("a run config")
}

/// A tiny sweep of digits: a small net, one epoch, 2 × 2 runs.
const TINY: &str = r#"
name = "tiny"
[base]
data.source = "digits"
model.hidden = [16]
monitor.layer_every = 5
train.epochs = 1
train.batch_size = 128
[axes]
"model.depth" = [1, 2]
seed = [0, 1]
"#;

#[test]
fn expansion_is_the_product_in_the_files_order_last_axis_fastest() {
    let d = temp_dir("sweep-expand");
    let p = file(
        &d,
        "grid.toml",
        r#"
[base.model]
hidden = [8]
[axes]
"model.activation" = ["tanh", "relu"]
optimizer.lr = { from = 1e-3, to = 1e-1, steps = 3, log = true }
seed = { from = 0, to = 1, steps = 2 }
"#,
    );
    let sweep = Sweep::load(&p).expect("the sweep expands");
    assert_eq!(sweep.name, "grid");
    let paths: Vec<&str> = sweep.axes.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["model.activation", "optimizer.lr", "seed"]);
    assert_eq!(sweep.runs.len(), 2 * 3 * 2);
    // The log range: 1e-3, 1e-2, 1e-1, ends exact.
    let lrs: Vec<f64> = sweep.axes[1]
        .values
        .iter()
        .map(|v| v.as_float().unwrap())
        .collect();
    assert_eq!(lrs[0], 1e-3);
    assert!((lrs[1] - 1e-2).abs() < 1e-15, "{lrs:?}");
    assert_eq!(lrs[2], 1e-1);
    // Whole-number ends give whole numbers: seeds 0 and 1.
    assert_eq!(
        sweep.axes[2].values,
        [toml::Value::Integer(0), toml::Value::Integer(1)]
    );
    for (k, r) in sweep.runs.iter().enumerate() {
        assert_eq!(r.index, k);
        let (a, l, sd) = (k / 6, (k / 2) % 3, k % 2);
        let run = run_of(&r.config);
        assert_eq!(run.name.as_deref(), Some(format!("grid-{k}").as_str()));
        assert_eq!(
            run.model.activation.to_string(),
            ["tanh", "relu"][a],
            "run {k}"
        );
        assert_eq!(run.train.seed, sd as u64, "run {k}");
        assert_eq!(run.train.optimizer.lr(), lrs[l], "run {k}");
        assert_eq!(
            run.train.checkpoint.dir,
            Some(PathBuf::from(format!("runs/{k}/checkpoints")))
        );
    }
    assert_eq!(
        sweep.label(7),
        "model.activation=relu, optimizer.lr=0.001, seed=1"
    );
}

#[test]
fn linear_ranges_and_the_sweeps_own_axes() {
    let d = temp_dir("sweep-own-axes");
    let p = file(
        &d,
        "own.toml",
        r#"
name = "own"
[base.model]
hidden = [12]
activation = "tanh"
[axes]
"model.depth" = { from = 2, to = 6, steps = 3 }
"model.sigma_w2" = [1.5, 2.0]
"train.label_smoothing" = { from = 0.0, to = 0.2, steps = 3 }
"#,
    );
    let sweep = Sweep::load(&p).unwrap();
    assert_eq!(sweep.runs.len(), 3 * 2 * 3);
    let ls: Vec<f64> = sweep.axes[2]
        .values
        .iter()
        .map(|v| v.as_float().unwrap())
        .collect();
    assert_eq!(ls, [0.0, 0.1, 0.2]);
    let run = run_of(&sweep.runs[3 * 2 * 3 - 1].config);
    assert_eq!(
        run.model.widths,
        gradwell_nn::MlpWidths::Hidden(vec![12; 6])
    );
    assert_eq!(
        run.model.init,
        Some("variance-scaling:2,fan-in,normal".parse().unwrap())
    );
    let first = run_of(&sweep.runs[0].config);
    assert_eq!(
        first.model.widths,
        gradwell_nn::MlpWidths::Hidden(vec![12; 2])
    );
}

#[test]
fn bad_axes_and_values_are_refused_naming_them() {
    let d = temp_dir("sweep-refusals");
    let out = d.join("out");
    let cases: &[(&str, &[&str])] = &[
        // An unknown field: named, with the valid ones.
        (
            "[axes]\n\"model.dept\" = [1, 2]\n",
            &["run 0 (model.dept=1)", "dept", "activation"],
        ),
        // A value the config refuses: the run, its values and the field.
        (
            "[axes]\nseed = [0]\nbatch_size = [32, 0]\n",
            &["run 1 (seed=0, batch_size=0)", "batch_size"],
        ),
        (
            "[axes]\n\"model.activation\" = [\"tanh\", \"tanhh\"]\n",
            &["run 1 (model.activation=tanhh)", "model.activation"],
        ),
        ("[axes]\nseed = 3\n", &["axes.seed", "list of values"]),
        ("[axes]\nseed = []\n", &["axes.seed", "empty"]),
        (
            "[axes]\nseed = { from = 0, to = 3 }\n",
            &["axes.seed", "`steps`"],
        ),
        (
            "[axes]\nlr = { from = 0.0, to = 1.0, steps = 3, log = true }\n",
            &["axes.lr", "log range", "above 0"],
        ),
        (
            "[axes]\nseed = { from = 0, to = 2, steps = 5 }\n",
            &["axes.seed", "repeat"],
        ),
        (
            "[axes]\nseed = { from = 0, to = 2, stepz = 5 }\n",
            &["axes.seed", "unknown key `stepz`", "from, to, steps, log"],
        ),
        ("name = \"x\"\n", &["no [axes]"]),
        (
            "[axes]\n\"model.depth\" = [2]\n[base.model]\nwidths = [64, 10]\n",
            &["model.depth", "model.hidden"],
        ),
    ];
    for (i, (sweep, wanted)) in cases.iter().enumerate() {
        let p = file(&d, &format!("bad{i}.toml"), sweep);
        let o = gradwell(&["sweep", s(&p), "--out", s(&out)]);
        let (_, err) = text(&o);
        assert!(!o.status.success(), "case {i} was accepted");
        assert_eq!(err.lines().count(), 1, "case {i}: {err}");
        for w in *wanted {
            assert!(err.contains(w), "case {i}: {w:?} not in {err}");
        }
        // Nothing was written for a refused sweep: every config is checked first.
        assert!(!out.join("sweep.json").exists(), "case {i}");
    }
}

/// Runs `gradwell` with `args` in `dir`, with `path` first on PATH.
fn gradwell_with_path(args: &[&str], path_first: &Path) -> Output {
    let path = format!(
        "{}:{}",
        path_first.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(args)
        .env("PATH", path)
        .output()
        .expect("the gradwell binary runs")
}

#[test]
fn a_tiny_sweep_runs_here_and_reruns_only_what_did_not_finish() {
    let d = temp_dir("sweep-local");
    let out = d.join("sw");
    // Two data sets: the embedded digits, and a CSV file that does not exist yet, so the
    // runs on it fail (after passing the checks: data are read by the run).
    let csv = d.join("later.csv");
    let sweep = file(
        &d,
        "tiny.toml",
        &TINY
            .replace(
                "seed = [0, 1]",
                &format!("\"data.source\" = [\"digits\", {:?}]", s(&csv)),
            )
            // CSV features have no known range to scale to [0, 1].
            .replace(
                "train.epochs = 1",
                "train.epochs = 1\ntrain.preprocess = \"standardize\"",
            ),
    );
    let o = gradwell(&["sweep", s(&sweep), "--out", s(&out), "--jobs", "2"]);
    let (stdout, stderr) = text(&o);
    assert!(
        !o.status.success(),
        "a failed run makes the sweep fail: {stderr}"
    );
    assert!(
        stdout.contains("2 finished, 2 failed, 0 finished before, of 4 runs"),
        "{stdout}"
    );
    // A finished run keeps its weights and, by default, its checkpoints (a user's
    // checkpoints are not removed unless the sweep file asks for it).
    for k in [0, 2] {
        let run = out.join(format!("runs/{k}"));
        assert!(run.join("model.safetensors").is_file(), "run {k}");
        assert!(run.join("checkpoints").is_dir(), "run {k}");
    }
    assert_eq!(
        stderr.matches("] run ").count(),
        4,
        "a line per run: {stderr}"
    );
    for k in [0, 2] {
        let r = out.join(format!("runs/{k}"));
        assert!(r.join("run.json").is_file(), "run {k}: {stderr}");
        assert_eq!(
            std::fs::read_to_string(r.join("status")).unwrap(),
            "finished\n"
        );
        let log = std::fs::read_to_string(r.join("error.log")).unwrap();
        assert!(!log.contains("error:"), "run {k}: {log}");
    }
    for k in [1, 3] {
        let r = out.join(format!("runs/{k}"));
        assert!(!r.join("run.json").exists());
        assert_eq!(
            std::fs::read_to_string(r.join("status")).unwrap(),
            "failed: exit code 1\n"
        );
        let log = std::fs::read_to_string(r.join("error.log")).unwrap();
        assert!(log.contains("later.csv"), "run {k}: {log}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 4);
    assert_eq!(json["axes"][0]["path"], "model.depth");
    // The report lists the failed runs with their error.
    let report = d.join("report");
    let o = gradwell(&["report", s(&out), "--out", s(&report)]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(html.contains("later.csv"), "the failed runs' errors");
    let table = std::fs::read_to_string(report.join("runs.csv")).unwrap();
    let mut lines = table.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("run,model.depth,data.source,status,test_accuracy,test_loss"),
        "{table}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert!(rows[0].starts_with("0,1,digits,finished,0."), "{table}");
    assert!(rows[1].starts_with("1,1,"), "{table}");
    assert!(rows[1].contains(",failed: exit code 1,,"), "{table}");

    // The data appear; the sweep again runs only the two that failed.
    let mut rows = String::new();
    for i in 0..60 {
        rows.push_str(&format!("{},{},{}\n", i % 7, (i * 3) % 5, i % 2));
    }
    std::fs::write(&csv, rows).unwrap();
    let before = std::fs::metadata(out.join("runs/0/run.json"))
        .unwrap()
        .modified()
        .unwrap();
    let o = gradwell(&["sweep", s(&sweep), "--out", s(&out), "--jobs", "2"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("2 of 4 runs finished before"), "{stderr}");
    assert!(
        stdout.contains("2 finished, 0 failed, 2 finished before, of 4 runs"),
        "{stdout}"
    );
    for k in 0..4 {
        assert!(out.join(format!("runs/{k}/run.json")).is_file());
    }
    let after = std::fs::metadata(out.join("runs/0/run.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "a finished run is not run again");
    // Nothing is left to do.
    let o = gradwell(&["sweep", s(&sweep), "--out", s(&out)]);
    let (stdout, _) = text(&o);
    assert!(o.status.success());
    assert!(stdout.contains("all 4 runs finished"), "{stdout}");
    // A changed sweep file is refused in that folder.
    let changed = file(&d, "changed.toml", &TINY.replace("[1, 2]", "[1, 3]"));
    let o = gradwell(&["sweep", s(&changed), "--out", s(&out)]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("holds another sweep"), "{err}");
}

#[test]
fn the_job_array_script_holds_the_directives_and_only_the_runs_to_do() {
    let d = temp_dir("sweep-sbatch");
    let out = d.join("sw");
    let sweep = file(&d, "tiny.toml", TINY);
    let o = gradwell(&[
        "sweep",
        s(&sweep),
        "--out",
        s(&out),
        "--slurm",
        "--partition",
        "debug",
        "--time",
        "0-00:10",
        "--mem",
        "500M",
        "--cpus-per-task",
        "2",
        "--jobs",
        "3",
        "--gradwell",
        env!("CARGO_BIN_EXE_gradwell"),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("sbatch "), "{stdout}");
    let dir = std::fs::canonicalize(&out).unwrap();
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_gradwell")).unwrap();
    for line in [
        "#!/bin/bash".to_string(),
        "#SBATCH --job-name=gradwell-tiny".into(),
        "#SBATCH --array=0-3%3".into(),
        format!("#SBATCH --chdir={}", dir.display()),
        format!("#SBATCH --output={}/runs/%a/output.log", dir.display()),
        format!("#SBATCH --error={}/runs/%a/error.log", dir.display()),
        "#SBATCH --partition=debug".into(),
        "#SBATCH --time=0-00:10".into(),
        "#SBATCH --cpus-per-task=2".into(),
        "#SBATCH --mem=500M".into(),
        "k=$SLURM_ARRAY_TASK_ID".into(),
        format!(
            "'{}' \"train\" \"--config\" \"runs/$k/config.toml\" \"--out\" \"runs/$k\" \"--checkpoint-dir\" \"runs/$k/checkpoints\" \"--resume\"",
            exe.display()
        ),
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "{line:?} not in:\n{script}"
        );
    }
    // A finished run's checkpoints are kept unless the sweep file asks for their removal.
    assert!(!script.contains("rm -rf"), "{script}");
    let pruning = file(
        &d,
        "pruning.toml",
        &format!("remove_finished_checkpoints = true{TINY}"),
    );
    let out2 = d.join("sw2");
    let o = gradwell(&[
        "sweep",
        s(&pruning),
        "--out",
        s(&out2),
        "--slurm",
        "--gradwell",
        env!("CARGO_BIN_EXE_gradwell"),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let pruned = std::fs::read_to_string(out2.join("sweep.sbatch")).unwrap();
    assert!(
        pruned
            .lines()
            .any(|l| l == "  rm -rf \"runs/$k/checkpoints\""),
        "{pruned}"
    );
    for k in 0..4 {
        assert!(out.join(format!("runs/{k}/config.toml")).is_file());
    }
    // Runs 1 and 2 finish (here, by the same command a task runs): the array holds 0 and 3.
    for k in [1, 2] {
        let mut args = gradwell_cli::sweep::train_args(&k.to_string());
        args.push("--quiet".into());
        let o = Command::new(env!("CARGO_BIN_EXE_gradwell"))
            .args(&args)
            .current_dir(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o).1);
    }
    let o = gradwell(&["sweep", s(&sweep), "--out", s(&out), "--slurm"]);
    assert!(o.status.success(), "{}", text(&o).1);
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(script.contains("\n#SBATCH --array=0,3%2\n"), "{script}");
    assert!(
        script.contains("\n#SBATCH --time=01:00:00\n"),
        "the default: {script}"
    );
    assert!(
        !script.contains("--partition"),
        "the cluster's default: {script}"
    );
}

#[test]
fn array_specs_collapse_consecutive_runs() {
    assert_eq!(slurm::array_spec(&[0, 1, 2, 3], 4), "0-3%4");
    assert_eq!(slurm::array_spec(&[2, 5, 7], 4), "2,5,7%4");
    assert_eq!(slurm::array_spec(&[0, 1, 4, 6, 7, 8], 2), "0-1,4,6-8%2");
}

#[test]
fn slurm_values_are_checked() {
    for good in ["30", "30:00", "01:30:00", "2-00", "2-12:00", "1-00:00:00"] {
        assert!(good.parse::<slurm::SlurmTime>().is_ok(), "{good}");
    }
    for bad in ["", "1h", "1:2:3:4", "-1", "0", "00:00:00", "1-", "a-1"] {
        assert!(bad.parse::<slurm::SlurmTime>().is_err(), "{bad}");
    }
    for good in ["1", "500M", "2G", "1T", "1024K"] {
        assert!(good.parse::<slurm::SlurmMem>().is_ok(), "{good}");
    }
    for bad in ["", "0", "0G", "2GB", "G", "-1G", "1.5G"] {
        assert!(bad.parse::<slurm::SlurmMem>().is_err(), "{bad}");
    }
    let d = temp_dir("sweep-slurm-flags");
    let sweep = file(&d, "tiny.toml", TINY);
    let out = d.join("sw");
    for (flag, value) in [
        ("--time", "1h"),
        ("--mem", "2GB"),
        ("--partition", "a b"),
        ("--cpus-per-task", "0"),
    ] {
        let o = gradwell(&["sweep", s(&sweep), "--out", s(&out), "--slurm", flag, value]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(flag) && err.contains(value), "{err}");
    }
    // --submit without --slurm is refused.
    let o = gradwell(&["sweep", s(&sweep), "--out", s(&out), "--submit"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A stand-in `sbatch` in its own folder: records its arguments to `args.txt`, prints
/// `out` and exits with `code` (writing `err` to standard error).
fn fake_sbatch(dir: &Path, out: &str, err: &str, code: i32) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("sbatch");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\necho '{out}'\necho '{err}' >&2\nexit {code}\n",
            dir.join("args.txt").display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn submit_calls_sbatch_and_prints_the_job_id() {
    let d = temp_dir("sweep-submit");
    let out = d.join("sw");
    let sweep = file(&d, "tiny.toml", TINY);
    let bin = fake_sbatch(&d, "4242;cluster", "", 0);
    let o = gradwell_with_path(
        &["sweep", s(&sweep), "--out", s(&out), "--slurm", "--submit"],
        &bin,
    );
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("submitted job array 4242 (4 tasks)"),
        "{stdout}"
    );
    let args = std::fs::read_to_string(d.join("args.txt")).unwrap();
    let script = std::fs::canonicalize(&out).unwrap().join("sweep.sbatch");
    assert_eq!(args, format!("--parsable\n{}\n", script.display()));

    // sbatch refusing: its message, and a non-zero exit.
    let d2 = temp_dir("sweep-submit-fails");
    let bin = fake_sbatch(
        &d2,
        "",
        "sbatch: error: invalid partition specified: nope",
        1,
    );
    let o = gradwell_with_path(
        &[
            "sweep",
            s(&sweep),
            "--out",
            s(&d2.join("sw")),
            "--slurm",
            "--submit",
        ],
        &bin,
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("invalid partition specified: nope"), "{err}");
    assert!(err.contains("exit code 1"), "{err}");

    // No sbatch at all.
    let empty = temp_dir("sweep-no-sbatch");
    let o = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args([
            "sweep",
            s(&sweep),
            "--out",
            s(&empty.join("sw")),
            "--slurm",
            "--submit",
        ])
        .env("PATH", s(&empty))
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("`sbatch` is not on PATH"), "{err}");
}

#[test]
fn a_stopped_task_resumes_from_its_checkpoint_when_the_sweep_runs_again() {
    let d = temp_dir("sweep-resume");
    let out = d.join("sw");
    let sweep = file(
        &d,
        "long.toml",
        r#"
[base]
model.hidden = [32]
train.epochs = 40
train.checkpoint.every_steps = 2
[axes]
seed = [0]
"#,
    );
    // The folder, as `--slurm` leaves it for the tasks.
    let o = gradwell(&["sweep", s(&sweep), "--out", s(&out), "--slurm"]);
    assert!(o.status.success(), "{}", text(&o).1);
    // The task, as Slurm would run it, stopped once it has written a checkpoint.
    let mut task = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(gradwell_cli::sweep::train_args("0"))
        .current_dir(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let checkpoints = out.join("runs/0/checkpoints");
    let written = || {
        std::fs::read_dir(&checkpoints).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                // A checkpoint, not the temporary file it is written to first.
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with("checkpoint-") && name.ends_with(".gwck")
            })
        })
    };
    while !written() {
        assert!(task.try_wait().unwrap().is_none(), "the task ended early");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    task.kill().unwrap();
    task.wait().unwrap();
    assert!(
        !out.join("runs/0/run.json").exists(),
        "the task finished before it could be stopped: lengthen the run"
    );
    // The sweep again, here: the run continues from its checkpoint and finishes.
    let o = gradwell(&["sweep", s(&sweep), "--out", s(&out)]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("1 finished, 0 failed"), "{stdout}");
    let log = std::fs::read_to_string(out.join("runs/0/error.log")).unwrap();
    let at: u64 = log
        .split("at step ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `resumed from ... at step N` in {log}"));
    assert!(at >= 2, "{log}");
    let summary = gradwell_cli::RunSummary::read(&out.join("runs/0")).unwrap();
    assert!(
        summary.steps > at,
        "{} steps after resuming at {at}",
        summary.steps
    );
    assert_eq!(summary.epochs.len(), 40);
}

#[test]
fn the_report_of_a_depth_by_sigma_w2_grid_draws_the_trainability_map() {
    use gradwell_cli::sweep::report::{Trainability, rows};
    let d = temp_dir("sweep-trainability");
    let out = d.join("sw");
    let sweep = file(
        &d,
        "grid.toml",
        r#"
[base]
model.hidden = [8]
model.activation = "tanh"
model.bias_init = "zeros"
train.epochs = 1
train.steps = 3
[axes]
"model.depth" = [1, 5]
"model.sigma_w2" = [0.3, 0.6]
"#,
    );
    let o = gradwell(&["sweep", s(&sweep), "--out", s(&out), "--jobs", "2"]);
    assert!(o.status.success(), "{}", text(&o).1);
    let report = d.join("report");
    let o = gradwell(&["report", s(&out), "--out", s(&report)]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("4 of 4 runs finished"), "{stdout}");

    let sw = Sweep::read(&out).unwrap();
    let rows = rows(&out, &sw).unwrap();
    let t = Trainability::of(&rows).expect("a depth × σ_w² grid");
    assert_eq!(t.depths, [1.0, 5.0]);
    assert_eq!(t.sigma_w2, [0.3, 0.6]);
    assert_eq!(t.sigma_b2, 0.0);
    // Each cell is its run's final accuracy (one run per cell here).
    for (r, row) in sw.runs.iter().zip(&rows) {
        let (di, si) = (r.index / 2, r.index % 2);
        assert_eq!(
            t.cells[di][si],
            row.summary.as_ref().unwrap().test_accuracy,
            "run {}",
            r.index
        );
    }
    // The curve is the mean-field depth scale of the runs' activation and σ_b².
    let curve = t.depth_scale_curve();
    let tanh = "tanh".parse().unwrap();
    for &(sw2, depth) in curve.iter().step_by(50) {
        let want = gradwell_monitor::Criticality::new(tanh, sw2, 0.0, 1.0)
            .unwrap()
            .trainable_depth()
            .unwrap();
        assert_eq!(depth, want);
    }
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(report.join("plots/trainability.svg").is_file());
    assert!(html.contains("mean-field depth scale 6·ξ_c"), "the caption");
    assert!(html.contains("6·ξ_c (mean field)"), "the curve's legend");
    assert!(report.join("plots/accuracy_by_model_depth.svg").is_file());
    assert!(
        report
            .join("plots/accuracy_by_model_sigma_w2.svg")
            .is_file()
    );
}

#[test]
fn the_shipped_sweep_files_expand() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sweeps");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            let sweep = Sweep::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert!(sweep.runs.len() >= 2, "{}", p.display());
            seen += 1;
        }
    }
    assert!(seen >= 2, "the example sweeps in {}", dir.display());
}

/// A sweep that lists its runs: each `[[run]]` written over the base in the file's order,
/// keeping its name; dotted keys and nested tables alike, the sweep's own axes too.
#[test]
fn listed_runs_keep_their_names_and_order_and_write_over_the_base() {
    let d = temp_dir("sweep-listed");
    let p = file(
        &d,
        "listed.toml",
        r#"
name = "pair"
[base]
data.source = "digits"
model.hidden = [16]
model.activation = "tanh"
train.epochs = 1
[[run]]
name = "relu-deep"
model.activation = "relu"
"model.depth" = 3
seed = 4
[[run]]
name = "plain"
[[run]]
name = "sgd"
[run.train]
optimizer = "sgd:lr=0.1"
batch_size = 8
"#,
    );
    let sweep = Sweep::load(&p).expect("the sweep expands");
    assert!(sweep.axes.is_empty());
    assert_eq!(sweep.runs.len(), 3);
    let runs: Vec<_> = sweep.runs.iter().map(|r| run_of(&r.config)).collect();
    let names: Vec<_> = runs.iter().map(|r| r.name.clone().unwrap()).collect();
    assert_eq!(names, ["relu-deep", "plain", "sgd"]);
    assert_eq!(sweep.runs[2].listed.as_deref(), Some("sgd"));
    assert_eq!(sweep.label(0), "relu-deep");
    // Run 0: its fields over the base, the depth repeating the base's width.
    assert_eq!(runs[0].model.activation.to_string(), "relu");
    assert_eq!(
        runs[0].model.widths,
        gradwell_nn::MlpWidths::Hidden(vec![16; 3])
    );
    assert_eq!(runs[0].train.seed, 4);
    // Run 1: the base alone.
    assert_eq!(runs[1].model.activation.to_string(), "tanh");
    assert_eq!(
        runs[1].model.widths,
        gradwell_nn::MlpWidths::Hidden(vec![16])
    );
    assert_eq!(runs[1].train.seed, 0);
    // Run 2: a nested table, the optimizer replaced whole by its text form.
    assert_eq!(runs[2].train.optimizer.to_string(), "sgd:lr=0.1");
    assert_eq!(runs[2].train.batch_size, 8);
    assert_eq!(runs[2].train.epochs, 1);
    for (k, r) in runs.iter().enumerate() {
        assert_eq!(
            r.train.checkpoint.dir,
            Some(PathBuf::from(format!("runs/{k}/checkpoints")))
        );
    }
}

/// Listed runs and axes combine: each listed run at every point of the grid, the listed
/// run the slowest digit, named `<name>-<point>`.
#[test]
fn listed_runs_times_the_axes() {
    let d = temp_dir("sweep-listed-axes");
    let p = file(
        &d,
        "both.toml",
        r#"
[base]
model.hidden = [8]
[[run]]
name = "tanh"
model.activation = "tanh"
[[run]]
name = "relu"
model.activation = "relu"
[axes]
seed = [0, 1, 2]
"#,
    );
    let sweep = Sweep::load(&p).expect("the sweep expands");
    assert_eq!(sweep.runs.len(), 6);
    for (k, r) in sweep.runs.iter().enumerate() {
        let run = run_of(&r.config);
        let (l, seed) = (k / 3, k % 3);
        let listed = ["tanh", "relu"][l];
        assert_eq!(
            run.name.as_deref(),
            Some(format!("{listed}-{seed}").as_str())
        );
        assert_eq!(run.model.activation.to_string(), listed);
        assert_eq!(run.train.seed, seed as u64);
        assert_eq!(sweep.label(k), format!("{listed}, seed={seed}"));
    }
}

/// Listed runs that are ambiguous or invalid are refused before anything is written, in
/// one line naming the run and the field.
#[test]
fn bad_listed_runs_are_refused_naming_the_run_and_the_field() {
    let d = temp_dir("sweep-listed-refusals");
    let out = d.join("out");
    let base = "[base]\nmodel.hidden = [8]\n";
    let cases: &[(&str, &[&str])] = &[
        (
            "[[run]]\nname = \"a\"\n[[run]]\nname = \"a\"\n",
            &["run 1", "\"a\"", "run 0"],
        ),
        ("[[run]]\nseed = 1\n", &["run 0", "no name"]),
        ("[[run]]\nname = 3\n", &["run 0", "not a string"]),
        ("[[run]]\nname = \"a b\"\n", &["run 0", "letters, digits"]),
        (
            "[[run]]\nname = \"a\"\nmodel.activaton = \"relu\"\n",
            &["run 0 (a)", "activaton"],
        ),
        (
            "[[run]]\nname = \"a\"\n[[run]]\nname = \"b\"\nmodel.activation = \"tanhh\"\n",
            &["run 1 (b)", "model.activation"],
        ),
        (
            "[[run]]\nname = \"a\"\nseed = 1\n[axes]\nseed = [0, 1]\n",
            &["run 0 (a)", "seed", "also the axis"],
        ),
        (
            "[[run]]\nname = \"a\"\ntrain.seed = 1\n[axes]\nseed = [0, 1]\n",
            &["run 0 (a)", "train.seed", "also the axis seed"],
        ),
        ("run = []\n", &["run = []"]),
        ("name = \"x\"\n", &["no [axes] and no [[run]]"]),
    ];
    for (i, (sweep, wanted)) in cases.iter().enumerate() {
        let p = file(&d, &format!("bad{i}.toml"), &format!("{sweep}{base}"));
        let o = gradwell(&["sweep", s(&p), "--out", s(&out)]);
        let (_, err) = text(&o);
        assert!(!o.status.success(), "case {i} was accepted");
        assert_eq!(err.lines().count(), 1, "case {i}: {err}");
        for w in *wanted {
            assert!(err.contains(w), "case {i}: {w:?} not in {err}");
        }
        assert!(!out.join("sweep.json").exists(), "case {i}");
    }
}
