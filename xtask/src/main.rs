//! Project automation, run as `cargo xtask <command>`:
//!
//! - `ci`: everything CI runs, on a fresh machine too: set-up (rustfmt and clippy, and on
//!   Debian as root the `dataset-fashion-mnist` package the Fashion-MNIST tests read), then
//!   the checks, cheapest first — `cargo fmt --check`, `cargo clippy --workspace
//!   --all-targets -- -D warnings`, the test suite, and `cargo xtask verify`.
//! - `verify`: the registry of statistical and numerical checks (see [`verify`]), printed
//!   as a table of name, statistic, threshold, p-value and verdict; exits non-zero if any
//!   check fails. `verify --list` prints the names; `verify <substring>` runs a subset.
//! - `mutants [--base REV] [FILE...]`: cargo-mutants on the given files, or on the lines of
//!   the numeric crates that the working tree changes against `main` (see [`mutants`]).
//!   Slow, so not part of `ci`; skipped with a message when cargo-mutants is missing.

mod mutants;
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
        Some("mutants") => mutants::main(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | verify [--list] [FILTER] | mutants [--base REV] [FILE...]>"
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

/// Installs what the checks need and is missing: rustfmt and clippy through rustup, and
/// Fashion-MNIST through apt when running as root on a Debian-like system. Best effort: a
/// missing tool shows up as a failing step afterwards, with its own message.
fn setup() {
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
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if is_root && Path::new("/usr/bin/apt-get").exists() {
        eprintln!("xtask ci: installing dataset-fashion-mnist");
        let run = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if !(run(&["update"]) && run(&["install", "-y", "dataset-fashion-mnist"])) {
            eprintln!("xtask ci: could not install dataset-fashion-mnist");
        }
    } else {
        eprintln!(
            "xtask ci: Fashion-MNIST is not in {FASHION_MNIST_DIR}; install Debian's \
             dataset-fashion-mnist (as root) for the tests that read it"
        );
    }
}

fn ci() -> ExitCode {
    setup();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    // (arguments, environment): the tensor tests run a second time on the portable kernel,
    // which the AVX-512 kernels replace on processors that have them.
    type Env<'a> = &'a [(&'a str, &'a str)];
    let portable: Env<'_> = &[("GRADWELL_KERNEL", "portable")];
    let steps: [(&[&str], Env<'_>); 5] = [
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
        (&["test", "--workspace"], &[]),
        (&["test", "--package", "gradwell-tensor"], portable),
        (
            &["run", "--quiet", "--package", "xtask", "--", "verify"],
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
    ExitCode::SUCCESS
}
