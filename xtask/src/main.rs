//! Project automation, run as `cargo xtask <command>`:
//!
//! - `ci`: everything CI runs, on a fresh machine too: set-up (rustfmt and clippy, and on
//!   Debian as root the `dataset-fashion-mnist` package the Fashion-MNIST tests read), then
//!   the checks, cheapest first — `cargo fmt --check`, `cargo clippy --workspace
//!   --all-targets -- -D warnings`, the test suite, and `cargo xtask verify`.
//! - `verify`: the registry of statistical and numerical checks (see [`verify`]), printed
//!   as a table of name, statistic, threshold, p-value and verdict; exits non-zero if any
//!   check fails. `verify --list` prints the names; `verify <substring>` runs a subset.

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
        _ => {
            eprintln!("usage: cargo xtask <ci | verify [--list] [FILTER]>");
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

fn ci() -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let steps: [&[&str]; 3] = [
        &["fmt", "--all", "--", "--check"],
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &["test", "--workspace"],
    ];
    for step in steps {
        eprintln!("xtask ci: cargo {}", step.join(" "));
        match Command::new(&cargo).args(step).current_dir(root()).status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("xtask ci: `cargo {}` failed ({s})", step.join(" "));
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
