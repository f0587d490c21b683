//! `cargo xtask browser`: the reports opened in headless Chromium.
//!
//! Generates HTML reports with the real `gradwell` binary (debug build) into
//! `target/browser/reports/`: two short `train --out` runs on the embedded digits and the
//! `report` comparing them (the lab's report is drawn by the same page; its fifteen runs
//! would take minutes in a debug build). Then `tests/browser/check.mjs` (Node, with
//! `playwright-core` driving the system's Chromium: no browser download) opens each
//! `index.html` from `file://`, checks it, and saves a full-page screenshot of each into
//! `target/browser/screenshots/`; the checker first shows on a fixture page, and on the
//! first report with a console error injected, that it fails where it should (see the
//! script's header for every check).
//!
//! What it needs, and what happens without it:
//! - Chromium (`CHROMIUM=/path`, or `chromium`, `chromium-browser`, `google-chrome` on
//!   `PATH`): installed with apt (Debian's `chromium`) as root on a Debian-like system;
//!   when it is absent and cannot be installed, the step is skipped with a message saying
//!   so (CI installs it, so there it runs).
//! - Node.js and npm: installed with apt (`nodejs`, `npm`) likewise; absent and not
//!   installable, the step fails naming them.
//! - `tests/browser/node_modules`: `npm ci` (from the committed `package-lock.json`) when
//!   it is missing or holds another `playwright-core` than the lock file; once installed,
//!   the test runs offline.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{apt_install, can_apt, cargo_in, root};

/// The Chromium executables looked for on `PATH`, in order.
const CHROMIUM_NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// How long the checker waits for a report to finish rendering, in milliseconds.
const RENDER_TIMEOUT_MS: &str = "30000";

/// The file called `name` in a directory of `PATH`, if any.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Chromium: `CHROMIUM` when set (it must exist), else the first of [`CHROMIUM_NAMES`]
/// on `PATH`.
fn find_chromium() -> Result<Option<PathBuf>, String> {
    if let Some(given) = std::env::var_os("CHROMIUM") {
        let given = PathBuf::from(given);
        return if given.is_file() {
            Ok(Some(given))
        } else {
            Err(format!(
                "CHROMIUM={} is not a file (unset it to look on PATH)",
                given.display()
            ))
        };
    }
    Ok(CHROMIUM_NAMES.iter().find_map(|n| on_path(n)))
}

/// Installs Chromium, Node.js and npm with apt where missing (as root with apt; otherwise
/// nothing): `cargo xtask ci`'s set-up.
pub fn setup() {
    if !can_apt() {
        return;
    }
    let mut missing = Vec::new();
    if matches!(find_chromium(), Ok(None)) {
        missing.push("chromium");
    }
    if on_path("node").is_none() {
        missing.push("nodejs");
    }
    if on_path("npm").is_none() {
        missing.push("npm");
    }
    if !missing.is_empty() && !apt_install(&missing) {
        eprintln!("xtask: could not install {}", missing.join(" "));
    }
}

/// The version of `playwright-core` a `package-lock.json` or a `package.json` names.
fn playwright_version(file: &Path, lock: bool) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let v = if lock {
        &json["packages"]["node_modules/playwright-core"]["version"]
    } else {
        &json["version"]
    };
    v.as_str().map(str::to_string)
}

/// Runs `program args` in `dir`, echoing it; true on success.
fn run_in(dir: &Path, program: &Path, args: &[&str]) -> bool {
    let shown = format!("{} {}", program.display(), args.join(" "));
    eprintln!("xtask browser: {shown}");
    match Command::new(program).args(args).current_dir(dir).status() {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("xtask browser: `{shown}` failed ({s})");
            false
        }
        Err(e) => {
            eprintln!("xtask browser: could not run {}: {e}", program.display());
            false
        }
    }
}

/// The workspace's target directory (`CARGO_TARGET_DIR` when set).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root().join(d) })
        .unwrap_or_else(|| root().join("target"))
}

/// The browser test; true when it passed or was skipped for want of Chromium.
pub fn run() -> bool {
    let chromium = match find_chromium() {
        Ok(Some(c)) => Some(c),
        Ok(None) if can_apt() && apt_install(&["chromium"]) => find_chromium().ok().flatten(),
        Ok(None) => None,
        Err(why) => {
            eprintln!("xtask browser: {why}");
            return false;
        }
    };
    let Some(chromium) = chromium else {
        eprintln!(
            "xtask browser: skipped: no Chromium found ({} on PATH, or CHROMIUM=/path) and \
             it cannot be installed here (as root on Debian: apt-get install chromium)",
            CHROMIUM_NAMES.join(", ")
        );
        return true;
    };
    if (on_path("node").is_none() || on_path("npm").is_none())
        && can_apt()
        && !apt_install(&["nodejs", "npm"])
    {
        eprintln!("xtask browser: could not install nodejs and npm");
    }
    let (Some(node), Some(npm)) = (on_path("node"), on_path("npm")) else {
        eprintln!(
            "xtask browser: Node.js and npm are needed (not found on PATH): install them \
             (Debian: apt-get install nodejs npm)"
        );
        return false;
    };
    let dir = root().join("tests").join("browser");
    let wanted = playwright_version(&dir.join("package-lock.json"), true);
    let have = playwright_version(
        &dir.join("node_modules/playwright-core/package.json"),
        false,
    );
    if wanted.is_none() {
        eprintln!("xtask browser: tests/browser/package-lock.json names no playwright-core");
        return false;
    }
    if have != wanted
        && !run_in(
            &dir,
            &npm,
            &["ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        )
    {
        return false;
    }
    if !cargo_in(
        &root(),
        &["build", "--package", "gradwell-cli", "--bin", "gradwell"],
        &[],
    ) {
        return false;
    }
    let gradwell = target_dir().join("debug").join("gradwell");
    let work = target_dir().join("browser");
    let reports = work.join("reports");
    let _ = std::fs::remove_dir_all(&reports);
    let out = |name: &str| reports.join(name).to_string_lossy().into_owned();
    let (relu, sigmoid, compare) = (out("relu-he"), out("sigmoid"), out("compare"));
    let commands: [Vec<&str>; 3] = [
        vec!["train", "--quiet", "--epochs", "3", "--out", &relu],
        vec![
            "train",
            "--quiet",
            "--epochs",
            "3",
            "--activation",
            "sigmoid",
            "--hidden",
            "64,64,64",
            "--out",
            &sigmoid,
        ],
        vec!["report", &relu, &sigmoid, "--out", &compare],
    ];
    for args in &commands {
        if !run_in(&root(), &gradwell, args) {
            return false;
        }
    }
    let mut pages = Vec::new();
    for (name, folder) in [("train", &relu), ("report", &compare)] {
        let index = Path::new(folder).join("index.html");
        if !index.is_file() {
            eprintln!(
                "xtask browser: `gradwell {name}` wrote no {}",
                index.display()
            );
            return false;
        }
        pages.push(format!("{name}={}", index.display()));
    }
    let shots = work.join("screenshots").to_string_lossy().into_owned();
    let chromium = chromium.to_string_lossy().into_owned();
    let mut args = vec![
        "check.mjs",
        "--chromium",
        &chromium,
        "--out",
        &shots,
        "--timeout",
        RENDER_TIMEOUT_MS,
    ];
    args.extend(pages.iter().map(String::as_str));
    run_in(&dir, &node, &args)
}
