//! `gradwell`: probe, train, summarize, and run the lab on vanishing and exploding
//! gradients. Every refusal of the command is one line, `error: ...`, and a non-zero exit;
//! a command line clap cannot parse gets clap's own message, whole (with its tips, such as
//! "a similar subcommand exists", and the usage), and clap's exit code, 2.
//!
//! Output written to a closed pipe (`gradwell lab --list | head -1`) ends the process
//! quietly, as `cat` or `ls` end: killed by SIGPIPE, with no message (a shell reports
//! status 141). Every file the command writes is written atomically and its directory
//! locks are released by the system, so such an end leaves no half-written file.

use std::process::ExitCode;

use clap::Parser;
use gradwell_cli::cli::Cli;
use gradwell_cli::{Outcome, execute, one_line};

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` to standard output with 0, errors to standard error
            // with 2, as clap decides.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match execute(cli.command) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}", one_line(e));
            ExitCode::FAILURE
        }
    }
}

/// Gives SIGPIPE back its default action, ending the process, before anything is printed.
/// Rust's runtime ignores SIGPIPE, so that a write to a closed pipe fails with
/// `BrokenPipe` instead, and `println!`/`eprintln!` then panic ("failed printing to
/// stdout: Broken pipe", exit 101). With the default action no print, here or in the
/// crates the command drives, can panic that way: the process ends at the first write to
/// the closed pipe, as Unix tools do.
#[cfg(unix)]
#[allow(unsafe_code)]
fn restore_default_sigpipe() {
    // C's `signal(2)`, from the C library std links on every Unix. SIGPIPE is 13 and
    // SIG_DFL is 0 on every Unix Rust supports (Linux, macOS, the BSDs, illumos).
    unsafe extern "C" {
        fn signal(signum: std::ffi::c_int, handler: usize) -> usize;
    }
    const SIGPIPE: std::ffi::c_int = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: `signal` is called before any other thread exists, with a valid signal
    // number and SIG_DFL (no handler function); it touches no Rust memory.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

/// Elsewhere (Windows) there is no SIGPIPE; a write to a closed pipe is an error there.
#[cfg(not(unix))]
fn restore_default_sigpipe() {}
