//! `cargo xtask verify`: a registry of named checks, each printed with its statistic, its
//! threshold, its p-value where it is a statistical test, and its verdict.
//!
//! Two kinds of check:
//! - **bounds** ([`Outcome::bound`]): a deterministic figure against a threshold (a
//!   derivative bound on a dense grid, an orthogonality residual, a matmul error);
//! - **tests** ([`Outcome::test`]): a statistical test on samples drawn from a fixed seed,
//!   reporting a p-value.
//!
//! The family-wise false-alarm rate of a whole run is controlled by Bonferroni's rule: with
//! `m` statistical tests, each passes when its p-value is at least [`FAMILY_ALPHA`]` / m`,
//! so the chance that a correct implementation fails any test is at most [`FAMILY_ALPHA`]
//! (and, because seeds are fixed, a run that passes once passes every time).
//!
//! Adding checks: write a function returning `Vec<Check>` in a module of this folder and
//! list it in [`registry`].

mod activations;
mod init;
mod norm;
mod optim;
mod tensor;

use std::process::ExitCode;

/// The family-wise probability that a correct implementation fails any statistical test.
pub const FAMILY_ALPHA: f64 = 1e-3;

/// One named check.
pub struct Check {
    /// Unique name, `area/what` (e.g. `init/he-normal/ks [128x784]`).
    pub name: String,
    /// Runs the check.
    pub run: Box<dyn Fn() -> Outcome>,
}

impl Check {
    /// A check from a name and a closure.
    pub fn new(name: impl Into<String>, run: impl Fn() -> Outcome + 'static) -> Self {
        Check {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// What a check measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A deterministic figure against a threshold.
    Bound {
        /// The measured figure.
        statistic: f64,
        /// The threshold, as printed (e.g. `<= 0.25`).
        threshold: String,
        /// Whether the figure is within the threshold.
        pass: bool,
    },
    /// A statistical test on seeded samples.
    Test {
        /// The test statistic (e.g. the KS distance).
        statistic: f64,
        /// Its p-value under the null hypothesis that the implementation is right.
        p_value: f64,
    },
}

impl Outcome {
    /// A bound: `statistic <= limit` passes.
    pub fn at_most(statistic: f64, limit: f64) -> Self {
        Outcome::bound(statistic, format!("<= {limit:.3e}"), statistic <= limit)
    }

    /// A bound with its own verdict; NaN never passes.
    pub fn bound(statistic: f64, threshold: impl Into<String>, pass: bool) -> Self {
        Outcome::Bound {
            statistic,
            threshold: threshold.into(),
            pass: pass && !statistic.is_nan(),
        }
    }

    /// A statistical test.
    pub fn test(statistic: f64, p_value: f64) -> Self {
        Outcome::Test { statistic, p_value }
    }
}

/// Every check, in a stable order.
pub fn registry() -> Vec<Check> {
    let mut all = Vec::new();
    all.extend(tensor::checks());
    all.extend(activations::checks());
    all.extend(init::checks());
    all.extend(optim::checks());
    all.extend(norm::checks());
    all
}

/// Runs the checks whose names contain `filter`; returns (name, outcome, pass) rows.
pub fn run(filter: &str) -> Vec<(String, Outcome, bool)> {
    let checks: Vec<Check> = registry()
        .into_iter()
        .filter(|c| c.name.contains(filter))
        .collect();
    let outcomes: Vec<(String, Outcome)> =
        checks.iter().map(|c| (c.name.clone(), (c.run)())).collect();
    let tests = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Test { .. }))
        .count();
    let alpha = FAMILY_ALPHA / tests.max(1) as f64;
    outcomes
        .into_iter()
        .map(|(name, o)| {
            let pass = match &o {
                Outcome::Bound { pass, .. } => *pass,
                Outcome::Test { p_value, .. } => *p_value >= alpha,
            };
            (name, o, pass)
        })
        .collect()
}

/// Entry point of `cargo xtask verify`.
pub fn main(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--list") {
        for c in registry() {
            println!("{}", c.name);
        }
        return ExitCode::SUCCESS;
    }
    let filter = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or("", String::as_str);
    let rows = run(filter);
    let tests = rows
        .iter()
        .filter(|(_, o, _)| matches!(o, Outcome::Test { .. }))
        .count();
    let alpha = FAMILY_ALPHA / tests.max(1) as f64;
    let width = rows
        .iter()
        .map(|(n, _, _)| n.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:width$}  {:>12}  {:>14}  {:>10}  verdict",
        "name", "statistic", "threshold", "p-value"
    );
    for (name, o, pass) in &rows {
        let (stat, thr, p) = match o {
            Outcome::Bound {
                statistic,
                threshold,
                ..
            } => (*statistic, threshold.clone(), "-".to_string()),
            Outcome::Test { statistic, p_value } => (
                *statistic,
                format!("p >= {alpha:.1e}"),
                format!("{p_value:.3e}"),
            ),
        };
        let verdict = if *pass { "pass" } else { "FAIL" };
        println!("{name:width$}  {stat:>12.4e}  {thr:>14}  {p:>10}  {verdict}");
    }
    let failed = rows.iter().filter(|(_, _, p)| !p).count();
    println!(
        "\n{} checks, {} statistical (family-wise false-alarm rate <= {FAMILY_ALPHA}, Bonferroni: each test at {alpha:.1e}); {failed} failed",
        rows.len(),
        tests
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
