//! Integration tests of the `gradwell` command: the built binary on bad input (one-line
//! errors, non-zero exits), the commands' output, and the lab's claims.

mod commands;
mod config;
mod errors;
mod eval;
mod lab;
mod limits;
mod lr_find;
mod meanfield;
mod outputs;
mod report;
mod sequences;
mod through_time;

use std::process::{Command, Output};

/// Runs the built `gradwell` binary with `args`.
pub fn gradwell(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(args)
        .output()
        .expect("the gradwell binary runs")
}

/// Standard output and standard error as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gradwell-cli-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
