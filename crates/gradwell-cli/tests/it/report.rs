//! The interactive report (`index.html` of `train --out` and `gradwell report`), read as
//! text: self-contained, the licence of its charting library, a chart element per chart
//! with data in the embedded JSON, one colour per run; and `gradwell report`'s refusals.
//! (The page drawn in a browser is the browser test's.)

use std::path::Path;

use serde_json::Value;

use crate::errors::refuses;
use crate::{gradwell, temp_dir, text};

/// Trains `args` into `out` (a short run), which must succeed.
fn train(out: &Path, args: &[&str]) {
    let mut all = vec![
        "train",
        "--quiet",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let o = gradwell(&all);
    assert!(o.status.success(), "{all:?}: {}", text(&o).1);
}

/// The page's data blob.
fn blob(html: &str) -> Value {
    let open = "<script id=\"gw-data\" type=\"application/json\">";
    let start = html.find(open).expect("the data blob") + open.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("the blob is JSON")
}

/// The ids of the `gw-chart` elements, in order.
fn chart_ids(html: &str) -> Vec<String> {
    let open = "<div class=\"gw-chart\" id=\"";
    html.match_indices(open)
        .map(|(i, _)| {
            let rest = &html[i + open.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// Every check a page must pass: self-contained (no external script, style sheet or
/// image), uPlot's licence, the chart elements one-to-one with the blob's charts, every
/// chart with data, every series tied to one of the page's runs and every run its own
/// colour. Returns the blob.
fn check_page(html: &str) -> Value {
    for external in [
        "src=\"http",
        "src='http",
        "<link",
        "href=\"http",
        "url(http",
        "@import",
    ] {
        assert!(!html.contains(external), "`{external}` in the page");
    }
    for line in gradwell_cli::page::UPLOT_LICENSE.lines() {
        assert!(html.contains(line), "licence line missing: {line}");
    }
    assert!(html.contains("Copyright (c) 2022 Leon Sorokin"));
    assert!(html.contains("var uPlot="), "uPlot inlined");
    let data = blob(html);
    let ids = chart_ids(html);
    let charts = data["charts"].as_array().unwrap();
    assert_eq!(
        ids,
        charts
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        "one element per chart"
    );
    assert!(ids.iter().all(|id| id.starts_with("chart-")));
    let runs = data["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let mut colours: Vec<&str> = runs.iter().map(|r| r["colour"].as_str().unwrap()).collect();
    colours.sort_unstable();
    colours.dedup();
    assert_eq!(colours.len(), names.len(), "a colour per run: {runs:?}");
    for c in charts {
        match c["kind"].as_str().unwrap() {
            "line" => {
                let series = c["series"].as_array().unwrap();
                assert!(!series.is_empty(), "{}: no series", c["id"]);
                for s in series {
                    let finite = s["points"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|p| p[0].is_number() && p[1].is_number())
                        .count();
                    assert!(finite > 0, "{} / {}: no point", c["id"], s["name"]);
                    let run = s["run"].as_str().unwrap();
                    assert!(
                        names.contains(&run),
                        "{}: run {run} has no colour",
                        s["name"]
                    );
                }
            }
            "heat" => {
                assert!(names.contains(&c["run"].as_str().unwrap()));
                let layers = c["layers"].as_array().unwrap().len();
                let steps = c["steps"].as_array().unwrap().len();
                let values = c["values"].as_array().unwrap();
                assert!(layers > 0 && steps > 0, "{}", c["id"]);
                assert_eq!(values.len(), layers);
                assert!(values.iter().all(|r| r.as_array().unwrap().len() == steps));
                assert!(
                    values
                        .iter()
                        .flat_map(|r| r.as_array().unwrap())
                        .any(Value::is_number)
                );
            }
            other => panic!("unknown chart kind {other}"),
        }
    }
    data
}

/// The series of the chart `id` whose run is `run`, by style.
fn styles(data: &Value, id: &str, run: &str) -> Vec<String> {
    let chart = data["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no chart {id}"));
    chart["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["run"] == run)
        .map(|s| s["style"].as_str().unwrap().to_string())
        .collect()
}

/// `train --out` writes the run's page: its figures (the theory dashed beside the
/// measured curves at initialization, the loss smoothed beside the raw) and its layer ×
/// step heat map, the numbers rounded to four significant digits.
#[test]
fn train_out_writes_the_runs_interactive_page() {
    let dir = temp_dir("report-train-out");
    let run = dir.join("relu");
    train(
        &run,
        &[
            "--hidden",
            "16,16,16",
            "--activation",
            "relu",
            "--init",
            "he-normal",
        ],
    );
    let html = std::fs::read_to_string(run.join("index.html")).expect("index.html written");
    let data = check_page(&html);
    let ids = chart_ids(&html);
    for id in [
        "chart-grad-norm-by-layer",
        "chart-activation-std-by-layer",
        "chart-loss",
        "chart-heat-relu",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    assert_eq!(
        styles(&data, "chart-grad-norm-by-layer", "relu"),
        ["solid", "dashed"],
        "measured and theory"
    );
    assert_eq!(styles(&data, "chart-loss", "relu"), ["faint", "solid"]);
    let heat = data["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "heat")
        .unwrap();
    // Four weight layers (three hidden, the output), checked at step 1 and every 10 steps.
    assert_eq!(heat["layers"].as_array().unwrap().len(), 4, "{heat}");
    assert!(heat["steps"].as_array().unwrap().len() > 1, "{heat}");
    // Four significant digits: no number in the blob has more.
    let digits = |v: &Value| {
        let s = v.to_string();
        let mantissa = s.split(['e', 'E']).next().unwrap();
        mantissa
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .trim_start_matches('0')
            .len()
    };
    for s in data["charts"][0]["series"].as_array().unwrap() {
        for p in s["points"].as_array().unwrap() {
            assert!(digits(&p[1]) <= 4, "{}", p[1]);
        }
    }
}

/// `gradwell report` compares any runs, not only the lab's: every run in the same
/// figures, one colour each, and no claims table (none of the lab's runs is there).
#[test]
fn report_compares_any_runs_without_claims() {
    let dir = temp_dir("report-any");
    train(
        &dir.join("a"),
        &["--hidden", "16,16", "--activation", "tanh"],
    );
    train(
        &dir.join("b"),
        &["--hidden", "16,16", "--activation", "relu"],
    );
    let out = dir.join("report");
    let o = gradwell(&[
        "report",
        dir.join("a").to_str().unwrap(),
        dir.join("b").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(!stdout.contains("claims pass"), "{stdout}");
    assert!(stdout.contains("a: ") && stdout.contains("b: "), "{stdout}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!html.contains("<h2>Claims</h2>"), "no claims table");
    let data = check_page(&html);
    let names: Vec<&str> = data["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    for id in ["chart-loss", "chart-grad-norm-by-layer", "chart-accuracy"] {
        for run in ["a", "b"] {
            assert!(
                !styles(&data, id, run).is_empty(),
                "{run} missing from {id}"
            );
        }
    }
    assert!(chart_ids(&html).contains(&"chart-heat-a".to_string()));
    assert!(chart_ids(&html).contains(&"chart-heat-b".to_string()));
}

/// A user's runs that share lab runs' names (folders called `relu-he` and
/// `sigmoid-plain`) but not their settings are compared as any runs: no claim is judged on
/// them, the page is not the lab's, and both are drawn in the same figures.
#[test]
fn runs_named_like_the_labs_are_not_judged_as_the_lab() {
    let dir = temp_dir("report-lab-names");
    train(&dir.join("relu-he"), &["--hidden", "16,16"]);
    train(
        &dir.join("sigmoid-plain"),
        &["--hidden", "16,16", "--activation", "sigmoid"],
    );
    let out = dir.join("report");
    let o = gradwell(&[
        "report",
        dir.join("relu-he").to_str().unwrap(),
        dir.join("sigmoid-plain").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(!stdout.contains("claims pass"), "{stdout}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(!html.contains("<h2>Claims</h2>"), "no claims table");
    assert!(!html.contains("gradwell lab report"), "not the lab's page");
    let data = check_page(&html);
    for run in ["relu-he", "sigmoid-plain"] {
        assert!(
            !styles(&data, "chart-grad-norm-by-layer", run).is_empty(),
            "{run} missing from the shared figure"
        );
    }
}

/// Folders without a run are refused, all of them named, with a non-zero exit: never a
/// report of nothing.
#[test]
fn report_of_folders_without_runs_fails_naming_them() {
    let dir = temp_dir("report-empty");
    let (one, two) = (dir.join("first-empty"), dir.join("second-empty"));
    std::fs::create_dir_all(one.join("sub")).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    refuses(
        &[
            "report",
            one.to_str().unwrap(),
            two.to_str().unwrap(),
            "--out",
            dir.join("report").to_str().unwrap(),
        ],
        &[
            "first-empty",
            "second-empty",
            "run.json",
            "gradwell train --out",
        ],
    );
    assert!(!dir.join("report").join("index.html").exists());
    refuses(
        &["report", dir.join("missing").to_str().unwrap()],
        &["missing", "not a folder"],
    );
}
