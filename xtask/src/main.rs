//! Project automation, run as `cargo xtask <command>`:
//!
//! - `ci`: everything CI runs, on a fresh machine too: set-up (rustfmt and clippy, and on
//!   Debian as root the `dataset-fashion-mnist` package the Fashion-MNIST tests read and
//!   the `chromium`, `nodejs` and `npm` packages the browser test drives), then
//!   the checks, cheapest first — `cargo fmt --check`, `cargo clippy --workspace
//!   --all-targets -- -D warnings`, the facade built without its default features (no
//!   plots, progress bars or TOML), the documentation (`cargo doc --workspace --no-deps
//!   --document-private-items` with rustdoc's warnings denied: a broken intra-doc link
//!   fails, in private items too), the test suite,
//!   `cargo xtask verify`, `contrib`, `browser` and `slurm-e2e`.
//!   Then, where a nightly toolchain is installed, the bounded unsafe-code and fuzzing
//!   checks below (`miri`, and `fuzz` for [`CI_FUZZ_SECONDS`] per target); without a
//!   nightly they are skipped with a message saying so.
//! - `miri`: the tensor crate's tests (its unsafe kernels and thread pool) under Miri with
//!   strict provenance, on small products split across two threads (`cargo +nightly miri
//!   test`).
//! - `fuzz [SECONDS]`: builds the cargo-fuzz targets and runs each for `SECONDS` (default
//!   60) on a scratch copy of its seed corpus (`fuzz/corpus/`) plus the minimized corpus of
//!   the last campaign (`fuzz/corpus-min/<target>/`); any crash fails the step and leaves
//!   the input under `fuzz/artifacts/<target>/`.
//! - `verify`: the registry of statistical and numerical checks (see [`verify`]), printed
//!   as a table of name, statistic, threshold, p-value and verdict; exits non-zero if any
//!   check fails. `verify --list` prints the names; `verify <substring>` runs a subset.
//! - `mutants [--base REV] [FILE...]`: cargo-mutants on the given files, or on the lines of
//!   the numeric crates that the working tree changes against `main` (see [`mutants`]).
//!   Slow, so not part of `ci`; skipped with a message when cargo-mutants is missing.
//! - `contrib [--list] [--only NAME]`: follows each recipe of CONTRIBUTING.md (a new
//!   activation, initializer, optimizer, schedule, layer) in a scratch copy of the
//!   workspace, builds it, runs the checks the recipe names and prints how many files and
//!   lines it changed (see [`contrib`]). Part of `ci`, after `verify`.
//! - `browser`: generates HTML reports with the real binary and opens each in headless
//!   Chromium (Node and `playwright-core`, `tests/browser/`), failing on a console error,
//!   an empty chart or a report that does not finish drawing, and saving a screenshot of
//!   each (see [`browser`]). Part of `ci`, after `slurm-e2e`; skipped with a message only
//!   when Chromium is absent and cannot be installed.
//! - `slurm <start | stop | status>`: a one-node Slurm cluster on this machine, with its
//!   own generated `slurm.conf`, munge key, state and logs under `target/slurm/` (see
//!   [`slurm`]); installs Debian's `slurm-wlm` and `munge` when missing (root only).
//! - `slurm-e2e`: `gradwell sweep --slurm --submit` against that cluster: a sweep of eight
//!   runs through a job array into a merged report, then a task cancelled mid-run and
//!   resumed by re-running the sweep (see [`slurm_e2e`]). Needs root (skipped with a
//!   message without it). Part of `ci`, after `contrib`.

mod browser;
mod contrib;
mod mutants;
mod slurm;
mod slurm_e2e;
mod stats;
mod tidy;
mod verify;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("verify") => verify::main(&args[1..]),
        Some("miri") => status_code(miri()),
        Some("fuzz") => match args.get(1).map(|s| s.parse::<u64>()) {
            None => status_code(fuzz(60)),
            Some(Ok(seconds)) if seconds > 0 => status_code(fuzz(seconds)),
            Some(_) => {
                eprintln!("xtask fuzz: SECONDS must be a positive whole number of seconds");
                ExitCode::from(2)
            }
        },
        Some("mutants") => mutants::main(&args[1..]),
        Some("contrib") => contrib::main(&args[1..]),
        Some("browser") => status_code(browser::run()),
        Some("slurm") => slurm::main(&args[1..]),
        Some("slurm-e2e") => slurm_e2e::main(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | miri | fuzz [SECONDS] | verify [--list] [FILTER] | \
                 mutants [--base REV] [FILE...] | contrib [--list] [--only NAME] | browser | \
                 slurm <start | stop | status> | slurm-e2e>"
            );
            ExitCode::from(2)
        }
    }
}

/// The workspace root, from this crate's manifest directory.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where Debian's `dataset-fashion-mnist` package puts the data.
const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Whether this process runs as root on a system with apt-get.
fn can_apt() -> bool {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    is_root && Path::new("/usr/bin/apt-get").exists()
}

/// `apt-get update` then `apt-get install -y PACKAGES`, non-interactive; true on success.
fn apt_install(packages: &[&str]) -> bool {
    eprintln!("xtask: installing {} with apt-get", packages.join(" "));
    let run = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut install = vec!["install", "-y"];
    install.extend_from_slice(packages);
    run(&["update"]) && run(&install)
}

/// Installs what the checks need and is missing: rustfmt and clippy through rustup, and
/// Fashion-MNIST, Chromium, Node.js and npm through apt when running as root on a
/// Debian-like system. Best effort: a missing tool shows up as a failing step afterwards,
/// with its own message.
fn setup() {
    browser::setup();
    let rustup = Command::new("rustup")
        .args(["component", "add", "rustfmt", "clippy"])
        .status();
    if rustup.is_err() {
        eprintln!("xtask ci: rustup not found; assuming rustfmt and clippy are installed");
    }
    if Path::new(FASHION_MNIST_DIR)
        .join("train-images-idx3-ubyte.gz")
        .exists()
    {
        return;
    }
    if can_apt() {
        if !apt_install(&["dataset-fashion-mnist"]) {
            eprintln!("xtask ci: could not install dataset-fashion-mnist");
        }
    } else {
        eprintln!(
            "xtask ci: Fashion-MNIST is not in {FASHION_MNIST_DIR}; install Debian's \
             dataset-fashion-mnist (as root) for the tests that read it"
        );
    }
}

/// Seconds each fuzz target runs in `cargo xtask ci`.
const CI_FUZZ_SECONDS: u64 = 20;

/// The fuzz targets (`fuzz/fuzz_targets/<name>.rs`) and the committed corpus each starts
/// from (`fuzz/corpus/<corpus>/`).
const FUZZ_TARGETS: [(&str, &str); 4] = [
    ("idx", "idx"),
    ("csv", "csv"),
    ("checkpoint", "checkpoint"),
    ("checkpoint_sealed", "checkpoint"),
];

/// `0` for success, `1` otherwise.
fn status_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs `cargo` with `args` (and `env`) in `dir`, echoing the command; true on success.
fn cargo_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> bool {
    let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    let shown = format!("{}cargo {}", shown.concat(), args.join(" "));
    eprintln!("xtask: {shown}");
    let status = Command::new("cargo")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .status();
    match status {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("xtask: `{shown}` failed ({s})");
            false
        }
        Err(e) => {
            eprintln!("xtask: could not run cargo: {e}");
            false
        }
    }
}

/// Whether rustup has a nightly toolchain (cargo-fuzz and Miri need one).
fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The tensor crate's tests under Miri (installing the component when missing): small
/// products (see the tests' `cfg(miri)` sizes), the threading threshold lowered so that
/// they split across two threads. Leaks are ignored: the helper pool's threads live for
/// the whole process by design.
fn miri() -> bool {
    if !has_nightly() {
        eprintln!("xtask miri: skipped: no nightly toolchain (`rustup toolchain install nightly`)");
        return true;
    }
    let added = Command::new("rustup")
        .args([
            "component",
            "add",
            "--toolchain",
            "nightly",
            "miri",
            "rust-src",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !added {
        eprintln!("xtask miri: could not install the miri component");
        return false;
    }
    cargo_in(
        &root(),
        &["+nightly", "miri", "test", "--package", "gradwell-tensor"],
        &[
            (
                "MIRIFLAGS",
                "-Zmiri-ignore-leaks -Zmiri-disable-isolation -Zmiri-num-cpus=2 -Zmiri-strict-provenance",
            ),
            ("GRADWELL_NUM_THREADS", "2"),
            ("GRADWELL_PARALLEL_MIN_MACS", "256"),
        ],
    )
}

/// Builds the fuzz targets with cargo-fuzz (installing it when missing) and runs each for
/// `seconds` on a scratch copy of its corpus, so that the committed corpus stays the
/// minimized one. Needs a nightly toolchain; skipped with a message without one.
fn fuzz(seconds: u64) -> bool {
    if !has_nightly() {
        eprintln!("xtask fuzz: skipped: no nightly toolchain (`rustup toolchain install nightly`)");
        return true;
    }
    let have_cargo_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_cargo_fuzz && !cargo_in(&root(), &["install", "cargo-fuzz", "--locked"], &[]) {
        return false;
    }
    let fuzz_dir = root().join("fuzz");
    // The workspace's one target directory, in a folder of its own (sanitizer flags).
    let target_dir = root().join("target").join("fuzz");
    let target_dir = target_dir.to_string_lossy().into_owned();
    let build = [
        "+nightly",
        "fuzz",
        "build",
        "-O",
        "--target-dir",
        &target_dir,
    ];
    if !cargo_in(&fuzz_dir, &build, &[]) {
        return false;
    }
    let scratch = root().join("target").join("fuzz-scratch");
    let time = format!("-max_total_time={seconds}");
    FUZZ_TARGETS.iter().all(|&(target, corpus)| {
        let work = scratch.join(target);
        let _ = std::fs::remove_dir_all(&work);
        if let Err(e) = copy_dir(&fuzz_dir.join("corpus").join(corpus), &work) {
            eprintln!("xtask fuzz: could not copy the {corpus} corpus: {e}");
            return false;
        }
        let artifacts = format!("-artifact_prefix=artifacts/{target}/");
        let _ = std::fs::create_dir_all(fuzz_dir.join("artifacts").join(target));
        let work = work.to_string_lossy().into_owned();
        // The campaign's minimized corpus is read too (libFuzzer writes new inputs only
        // into the first directory).
        let kept = fuzz_dir.join("corpus-min").join(target);
        let kept = kept.to_string_lossy().into_owned();
        cargo_in(
            &fuzz_dir,
            &[
                "+nightly",
                "fuzz",
                "run",
                "-O",
                target,
                &work,
                &kept,
                "--",
                &time,
                &artifacts,
                "-rss_limit_mb=2048",
                "-timeout=10",
            ],
            &[],
        )
    })
}

/// Copies the files of `from` into a new directory `to`.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))?;
    }
    Ok(())
}

fn ci() -> ExitCode {
    setup();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    // (arguments, environment): the tensor tests run again on the AVX2 and the portable
    // kernels, which the AVX-512 kernels replace on processors that have them (a path the
    // processor lacks falls back to the widest it has, with a note on stderr).
    type Env<'a> = &'a [(&'a str, &'a str)];
    let avx2: Env<'_> = &[("GRADWELL_KERNEL", "avx2")];
    let portable: Env<'_> = &[("GRADWELL_KERNEL", "portable")];
    let docs: Env<'_> = &[("RUSTDOCFLAGS", "-D warnings")];
    let steps: [(&[&str], Env<'_>); 11] = [
        (&["fmt", "--all", "--", "--check"], &[]),
        (
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        ),
        (
            &["build", "--package", "gradwell", "--no-default-features"],
            &[],
        ),
        (
            &[
                "doc",
                "--workspace",
                "--no-deps",
                "--document-private-items",
            ],
            docs,
        ),
        (&["test", "--workspace"], &[]),
        (&["test", "--package", "gradwell-tensor"], avx2),
        (
            &["test", "--package", "gradwell-benches", "--test", "alloc"],
            avx2,
        ),
        (&["test", "--package", "gradwell-tensor"], portable),
        (
            &["run", "--quiet", "--package", "xtask", "--", "verify"],
            &[],
        ),
        (
            &["run", "--quiet", "--package", "xtask", "--", "contrib"],
            &[],
        ),
        (
            &["run", "--quiet", "--package", "xtask", "--", "slurm-e2e"],
            &[],
        ),
    ];
    for (step, env) in steps {
        let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        let shown = format!("{}cargo {}", shown.concat(), step.join(" "));
        eprintln!("xtask ci: {shown}");
        let status = Command::new(&cargo)
            .args(step)
            .envs(env.iter().copied())
            .current_dir(root())
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("xtask ci: `{shown}` failed ({s})");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("xtask ci: could not run cargo: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    status_code(browser::run() && miri() && fuzz(CI_FUZZ_SECONDS))
}
