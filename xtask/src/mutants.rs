//! `cargo xtask mutants [--base REV] [FILE...] [-- CARGO_MUTANTS_ARGS...]`: mutation
//! testing of the numeric crates with cargo-mutants, bounded so it fits in a working
//! session.
//!
//! - With files: every mutant of those files (e.g.
//!   `cargo xtask mutants crates/gradwell-optim/src/clip.rs`).
//! - Without: only the mutants on the lines that the working tree changes, against its
//!   merge base with `main` (or `--base REV`), in the numeric crates' sources
//!   ([`NUMERIC_SOURCES`]): cargo-mutants' `--in-diff`. Nothing changed there, nothing run.
//!
//! Each mutant is built and tested with `cargo test` on the package that holds it, one at
//! a time, in a copy of the tree that cargo-mutants makes (the first build there compiles
//! the dependencies too). The results are in `target/mutants/mutants.out/` (`caught.txt`,
//! `missed.txt`, `unviable.txt`, `timeout.txt`); the exit code is cargo-mutants' own (0
//! when every viable mutant was caught, 2 when some were missed, 3 on timeouts). Arguments
//! after `--` go to cargo-mutants as they are (`-- --jobs 2`, `-- --in-place`).
//!
//! Not part of `cargo xtask ci`: a whole file takes from a few minutes to an hour. When
//! cargo-mutants is not installed the command says so and exits 0.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::root;

/// The source folders of the numeric crates, whose mutants the diff mode tests.
pub const NUMERIC_SOURCES: [&str; 5] = [
    "crates/gradwell-tensor/src",
    "crates/gradwell-activations/src",
    "crates/gradwell-init/src",
    "crates/gradwell-norm/src",
    "crates/gradwell-optim/src",
];

/// What to mutate, from the command line.
#[derive(Debug, PartialEq)]
struct Request {
    /// Files named on the command line; empty for the diff mode.
    files: Vec<String>,
    /// The branch the diff mode compares with.
    base: String,
    /// Passed through to cargo-mutants.
    extra: Vec<String>,
}

fn parse(args: &[String]) -> Result<Request, String> {
    let mut req = Request {
        files: Vec::new(),
        base: "main".to_string(),
        extra: Vec::new(),
    };
    let mut base_given = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--" => {
                req.extra = it.by_ref().cloned().collect();
            }
            "--base" => {
                req.base = it
                    .next()
                    .ok_or("--base needs a revision, e.g. --base main")?
                    .clone();
                base_given = true;
            }
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "unknown flag {flag:?} (cargo-mutants' own flags go after `--`)"
                ));
            }
            file => req.files.push(file.to_string()),
        }
    }
    if !req.files.is_empty() && base_given {
        return Err("--base is for the diff mode; it cannot be combined with files".into());
    }
    Ok(req)
}

/// The cargo-mutants arguments for a request: the files (`--file` each) or the diff.
fn mutants_args(req: &Request, diff: Option<&Path>, out: &Path) -> Vec<String> {
    let mut args = vec![
        "mutants".to_string(),
        "--test-tool=cargo".to_string(),
        "--no-shuffle".to_string(),
        "--output".to_string(),
        out.display().to_string(),
    ];
    for f in &req.files {
        args.push("--file".to_string());
        args.push(f.clone());
    }
    if let Some(d) = diff {
        args.push("--in-diff".to_string());
        args.push(d.display().to_string());
    }
    args.extend(req.extra.iter().cloned());
    args
}

fn git(args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes the diff of the numeric crates' sources between the merge base with `base` and
/// the working tree to `path`; `false` when there is none.
fn write_diff(base: &str, path: &Path) -> Result<bool, String> {
    let merge_base = git(&["merge-base", base, "HEAD"])?;
    let mut args = vec!["diff", merge_base.trim(), "--"];
    args.extend(NUMERIC_SOURCES);
    let diff = git(&args)?;
    if diff.trim().is_empty() {
        return Ok(false);
    }
    std::fs::write(path, diff).map_err(|e| format!("could not write {}: {e}", path.display()))?;
    Ok(true)
}

fn installed(cargo: &str) -> bool {
    Command::new(cargo)
        .args(["mutants", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn main(args: &[String]) -> ExitCode {
    let req = match parse(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("xtask mutants: {e}");
            eprintln!(
                "usage: cargo xtask mutants [--base REV] [FILE...] [-- CARGO_MUTANTS_ARGS...]"
            );
            return ExitCode::from(2);
        }
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    if !installed(&cargo) {
        eprintln!(
            "xtask mutants: cargo-mutants is not installed (`cargo install cargo-mutants \
             --locked`); skipping"
        );
        return ExitCode::SUCCESS;
    }
    let out: PathBuf = root().join("target").join("mutants");
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("xtask mutants: could not create {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let diff = out.join("numeric.diff");
    let diff = if req.files.is_empty() {
        match write_diff(&req.base, &diff) {
            Ok(true) => Some(diff),
            Ok(false) => {
                eprintln!(
                    "xtask mutants: no change to the numeric crates' sources since {}; \
                     nothing to mutate",
                    req.base
                );
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("xtask mutants: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let args = mutants_args(&req, diff.as_deref(), &out);
    eprintln!("xtask mutants: cargo {}", args.join(" "));
    match Command::new(&cargo)
        .args(&args)
        .current_dir(root())
        .status()
    {
        Ok(s) => match s.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(c) => {
                eprintln!(
                    "xtask mutants: cargo-mutants exited with {c}; see {}",
                    out.join("mutants.out").display()
                );
                ExitCode::from(u8::try_from(c).unwrap_or(1))
            }
            None => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!("xtask mutants: could not run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn files_become_file_flags_and_extra_arguments_pass_through() {
        let req = parse(&strings(&["a.rs", "b.rs", "--", "--jobs", "2"])).unwrap();
        assert_eq!(req.files, strings(&["a.rs", "b.rs"]));
        let args = mutants_args(&req, None, Path::new("out"));
        let tail = strings(&["--file", "a.rs", "--file", "b.rs", "--jobs", "2"]);
        assert_eq!(args[args.len() - tail.len()..], tail[..]);
        assert!(!args.contains(&"--in-diff".to_string()));
    }

    #[test]
    fn no_file_is_the_diff_mode_against_main_or_base() {
        let req = parse(&[]).unwrap();
        assert_eq!((req.files.len(), req.base.as_str()), (0, "main"));
        let args = mutants_args(&req, Some(Path::new("d.diff")), Path::new("out"));
        assert_eq!(
            args[args.len() - 2..],
            strings(&["--in-diff", "d.diff"])[..]
        );
        assert_eq!(parse(&strings(&["--base", "v1"])).unwrap().base, "v1");
    }

    #[test]
    fn bad_arguments_are_named() {
        assert!(parse(&strings(&["--base"])).unwrap_err().contains("--base"));
        assert!(
            parse(&strings(&["--jobs", "2"]))
                .unwrap_err()
                .contains("--jobs")
        );
        let e = parse(&strings(&["--base", "v1", "a.rs"])).unwrap_err();
        assert!(e.contains("files"), "{e}");
    }

    #[test]
    fn the_numeric_sources_exist() {
        for dir in NUMERIC_SOURCES {
            assert!(root().join(dir).is_dir(), "{dir}");
        }
    }
}
