//! Plots are written as SVG and PNG, with lines and text drawn.

use gradwell_monitor::{
    MonitorError, Series, plot_accuracy, plot_activation_std_by_layer, plot_grad_norm_by_layer,
    plot_loss, plot_lr_range_test,
};

use crate::temp_dir;

fn series() -> Vec<Series> {
    vec![
        Series::new(
            "sigmoid xavier",
            (1..=20)
                .map(|l| (l as f64, 10f64.powi(-(20 - l))))
                .collect(),
        ),
        Series::new(
            "relu he",
            (1..=20)
                .map(|l| (l as f64, 0.5 + 0.01 * l as f64))
                .collect(),
        ),
    ]
}

#[test]
fn svg_plot_has_lines_and_labels() {
    let dir = temp_dir("svg");
    let path = dir.join("grad.svg");
    plot_grad_norm_by_layer(&path, &series()).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("<polyline"), "no line drawn");
    assert!(
        svg.contains("sigmoid xavier") && svg.contains("relu he"),
        "no legend"
    );
    assert!(svg.contains("Gradient norm by layer"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_range_test_plot_has_a_log_rate_axis_and_a_marked_suggestion() {
    let dir = temp_dir("lr-range");
    let path = dir.join("lr_find.svg");
    // Rates 1e-6 to 1 by half decades, a valley near 1e-2.
    let curve: Vec<(f64, f64)> = (0..13)
        .map(|i| {
            let lr = 10f64.powf(-6.0 + 0.5 * i as f64);
            (
                lr,
                2.3 - (lr.log10() + 6.0).min(4.0) * 0.5 + (lr * 10.0).max(0.0),
            )
        })
        .collect();
    plot_lr_range_test(
        &path,
        &[
            Series::new("smoothed loss", curve),
            Series::new("suggestion 1.0e-3", vec![(1e-3, 0.8)]),
        ],
    )
    .unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    // Powers of ten label the x axis (a linear axis over [1e-6, 1] would print 0 and 1).
    for label in ["1e-5", "1e-3", "1e-1"] {
        assert!(svg.lines().any(|l| l.trim() == label), "no tick {label}");
    }
    assert!(svg.contains("suggestion 1.0e-3") && svg.contains("smoothed loss"));
    // The suggestion's dot is larger than the curve's.
    assert_eq!(svg.matches(r#"r="7""#).count(), 1, "one large dot");
    assert!(svg.contains("Learning-rate range test"));
    std::fs::remove_dir_all(dir).ok();
}

/// The tick labels of an SVG plot, x axis then y axis: the numeric texts, told apart by
/// their anchoring (an x label is centred under its tick, a y label ends at its tick).
fn tick_labels(svg: &str) -> (Vec<String>, Vec<String>) {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for element in svg.split("<text ").skip(1) {
        let Some((attrs, rest)) = element.split_once('>') else {
            continue;
        };
        let text = rest
            .split("</text>")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        if text.parse::<f64>().is_err() {
            continue;
        }
        if attrs.contains(r#"text-anchor="middle""#) {
            xs.push(text);
        } else if attrs.contains(r#"text-anchor="end""#) {
            ys.push(text);
        }
    }
    (xs, ys)
}

/// Draws `series` with `plot` into an SVG and returns its tick labels.
fn svg_ticks(
    name: &str,
    plot: fn(&std::path::Path, &[Series]) -> gradwell_monitor::Result<()>,
    series: &[Series],
) -> (Vec<String>, Vec<String>) {
    let dir = temp_dir(name);
    let path = dir.join(format!("{name}.svg"));
    plot(&path, series).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_dir_all(dir).ok();
    tick_labels(&svg)
}

fn is_whole(label: &str) -> bool {
    label.parse::<f64>().is_ok_and(|v| v.fract() == 0.0)
}

#[test]
fn epoch_ticks_are_whole_epochs() {
    // Three epochs: ticked 1, 2, 3 (not 1.2, 1.4, …, nor 2.5).
    let acc = [Series::new("run", vec![(1.0, 0.5), (2.0, 0.8), (3.0, 0.9)])];
    let (x, _) = svg_ticks("epochs3", plot_accuracy, &acc);
    assert_eq!(x, ["1", "2", "3"]);
    // One epoch: only it is ticked.
    let one = [Series::new("run", vec![(1.0, 0.9)])];
    let (x, _) = svg_ticks("epochs1", plot_accuracy, &one);
    assert_eq!(x, ["1"]);
    // Twenty-five epochs: whole and at most ten ticks.
    let long = [Series::new(
        "run",
        (1..=25).map(|e| (e as f64, 1.0 - 1.0 / e as f64)).collect(),
    )];
    let (x, _) = svg_ticks("epochs25", plot_accuracy, &long);
    assert!(x.len() >= 2 && x.len() <= 10, "{x:?}");
    assert!(x.iter().all(|l| is_whole(l)), "{x:?}");
}

#[test]
fn layer_ticks_are_whole_layers() {
    for layers in [3usize, 5, 7, 40] {
        let grads = [Series::new(
            "run",
            (1..=layers)
                .map(|l| (l as f64, 10f64.powi(-(l as i32))))
                .collect(),
        )];
        let (x, _) = svg_ticks("layers-grad", plot_grad_norm_by_layer, &grads);
        assert!(
            x.len() >= 2 && x.iter().all(|l| is_whole(l)),
            "{layers}: {x:?}"
        );
        let stds = [Series::new(
            "run",
            (1..=layers)
                .map(|l| (l as f64, 0.5f64.powi(l as i32)))
                .collect(),
        )];
        let (x, _) = svg_ticks("layers-std", plot_activation_std_by_layer, &stds);
        assert!(
            x.len() >= 2 && x.iter().all(|l| is_whole(l)),
            "{layers}: {x:?}"
        );
    }
}

#[test]
fn a_standard_deviation_axis_does_not_go_below_zero() {
    // Units all dead (every std 0), and a constant std (units identical after a constant
    // initialization): a linear axis padded evenly around them would show negative stds.
    for (name, std) in [("dead", 0.0), ("constant", 0.2)] {
        let stds = [Series::new(
            "run",
            (1..=6).map(|l| (l as f64, std)).collect(),
        )];
        let (_, y) = svg_ticks(name, plot_activation_std_by_layer, &stds);
        assert!(y.contains(&"0".to_string()), "{name}: {y:?}");
        assert!(
            y.iter().all(|l| l.parse::<f64>().unwrap() >= 0.0),
            "{name}: {y:?}"
        );
    }
    // A quantity that does go negative keeps its negative axis.
    let signed = [Series::new("run", vec![(1.0, -0.3), (2.0, 0.4)])];
    let (_, y) = svg_ticks("signed", plot_loss, &signed);
    assert!(y.iter().any(|l| l.parse::<f64>().unwrap() < 0.0), "{y:?}");
}

#[test]
fn a_log_axis_is_labelled_from_the_smallest_decade_to_the_largest() {
    // Gradient norms falling from 1e-1 to 1e-20 over twenty layers: the labels reach both
    // ends (within a decade), at most ten of them.
    let grads = [Series::new(
        "run",
        (1..=20i32).map(|l| (l as f64, 10f64.powi(-l))).collect(),
    )];
    let (_, y) = svg_ticks("log-y", plot_grad_norm_by_layer, &grads);
    let values: Vec<f64> = y.iter().map(|l| l.parse().unwrap()).collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(lo <= 1e-19 && hi >= 1e-2, "{y:?}");
    assert!(values.len() >= 2 && values.len() <= 10, "{y:?}");
}

/// Counts pixels that are not white in a region of a PNG.
fn ink(path: &std::path::Path, rows: std::ops::Range<u32>) -> usize {
    let img = image::open(path).unwrap().to_rgb8();
    rows.flat_map(|y| (0..img.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0 != [255, 255, 255])
        .count()
}

#[test]
fn png_plots_draw_text_and_lines() {
    let dir = temp_dir("png");
    let path = dir.join("grad.png");
    plot_grad_norm_by_layer(&path, &series()).unwrap();
    // The caption band (top 40 px) holds the title's glyphs; the body holds the lines.
    assert!(ink(&path, 0..40) > 200, "no caption drawn");
    assert!(ink(&path, 60..440) > 2000, "no plot drawn");
    for (name, f) in [
        ("std.png", plot_activation_std_by_layer as fn(&_, &_) -> _),
        ("loss.png", plot_loss),
        ("acc.png", plot_accuracy),
    ] {
        let p = dir.join(name);
        f(&p, &series()).unwrap();
        assert!(ink(&p, 60..440) > 2000, "{name}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unknown_extension_is_an_error() {
    let dir = temp_dir("ext");
    let err = plot_loss(&dir.join("loss.jpg"), &series()).unwrap_err();
    assert!(matches!(err, MonitorError::Plot { .. }));
    assert!(err.to_string().contains(".svg or .png"));
    std::fs::remove_dir_all(dir).ok();
}

/// The files in `dir` that are temporary files of gradwell's atomic writes.
fn temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| gradwell_nn::io::is_temp_name(n))
        .collect()
}

#[test]
fn a_plot_that_cannot_be_written_leaves_no_temporary_file() {
    let dir = temp_dir("atomic");
    for name in ["loss.svg", "loss.png"] {
        // The target is a non-empty directory: the plot is drawn into a temporary file,
        // whose rename over the target is refused; the directory stays, the temporary
        // file goes.
        let blocked = dir.join(name);
        std::fs::create_dir_all(blocked.join("inside")).unwrap();
        let err = plot_loss(&blocked, &series()).unwrap_err();
        assert!(
            matches!(err, MonitorError::Io { .. }) && err.to_string().contains(name),
            "{err}"
        );
        assert!(blocked.join("inside").is_dir());
    }
    assert_eq!(temp_files(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(dir).ok();
}
