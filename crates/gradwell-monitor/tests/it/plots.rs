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
