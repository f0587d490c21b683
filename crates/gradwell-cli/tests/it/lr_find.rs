//! `gradwell lr-find`: the range test on the run `train` would make, its table, its files
//! and its refusals.

use crate::errors::refuses;
use crate::{gradwell, temp_dir, text};

#[test]
fn lr_find_writes_the_curve_and_the_plot_and_suggests_a_rate() {
    let dir = temp_dir("lr-find");
    let out = dir.join("lr");
    let o = gradwell(&[
        "lr-find",
        "--hidden",
        "32",
        "--optimizer",
        "sgd",
        "--momentum",
        "0.9",
        "--steps",
        "30",
        "--start-lr",
        "1e-4",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("30 steps from 1.0e-4 to 1.0e1"), "{stdout}");

    // The CSV: a header and one row per step taken, each row's rate the geometric one.
    let csv = std::fs::read_to_string(out.join("lr_find.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("step,lr,loss,smoothed_loss"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert!(rows.len() >= 2 && rows.len() <= 30, "{} rows", rows.len());
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], (i + 1) as f64);
        let want = 1e-4 * 1e5f64.powf(i as f64 / 29.0);
        assert!(
            (r[1] / want - 1.0).abs() < 1e-9,
            "row {i}: {} vs {want}",
            r[1]
        );
    }
    assert_eq!(
        rows[0][2], rows[0][3],
        "the first smoothed loss is the loss"
    );
    let stopped = stdout.contains("stopped early:");
    assert_eq!(stopped, rows.len() < 30, "{stdout}");

    // The plot: the curve on a log rate axis, with the suggestion (if any) in its legend.
    let svg = std::fs::read_to_string(out.join("lr_find.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "no curve"
    );
    assert!(svg.contains("learning rate (log scale)"));
    assert!(
        svg.lines().any(|l| l.trim() == "1e-3"),
        "no power-of-ten tick"
    );
    match stdout
        .lines()
        .find_map(|l| l.strip_prefix("suggested learning rate: "))
    {
        Some(line) => {
            let lr = line.split_whitespace().next().unwrap();
            let lr: f64 = lr.parse().unwrap();
            assert!((1e-4..=10.0).contains(&lr), "{stdout}");
            assert!(svg.contains(&format!("suggested {lr:.1e}")), "not marked");
        }
        None => assert!(stdout.contains("no suggestion:"), "{stdout}"),
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_range_flags_are_refused_naming_the_flag() {
    refuses(
        &["lr-find", "--start-lr", "1", "--end-lr", "0.1"],
        &["--start-lr 1", "below the end rate, 0.1"],
    );
    refuses(&["lr-find", "--steps", "0"], &["--steps 0", "at least 2"]);
    refuses(
        &["lr-find", "--end-lr", "1000"],
        &["--end-lr 1000", "(0, 100]"],
    );
    refuses(
        &["lr-find", "--start-lr", "-1"],
        &["--start-lr -1", "(0, 100]"],
    );
    // The setup's flags are train's, checked alike.
    refuses(&["lr-find", "--lr", "1000"], &["--lr"]);
}

#[test]
fn lr_find_help_states_the_rules_and_an_example() {
    let o = gradwell(&["lr-find", "--help"]);
    let (stdout, _) = text(&o);
    assert!(o.status.success());
    for needle in [
        "Smith 2017",
        "beta = 0.98",
        "exceeds 4 times the best",
        "a tenth of the rate at which the smoothed loss is lowest",
        "gradwell lr-find --optimizer sgd --momentum 0.9 --out lr/",
        "default 1e-7",
        "--optimizer",
        "--config",
    ] {
        assert!(stdout.contains(needle), "`{needle}` missing:\n{stdout}");
    }
}
