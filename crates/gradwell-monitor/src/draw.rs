//! Plots with plotters, as SVG or PNG (chosen by the file's extension): gradient norm by
//! layer (log scale), activation standard deviation by layer, loss and accuracy curves —
//! one line per configuration. Only with the `plots` feature (on by default).
//!
//! Text is drawn with DejaVu Sans, embedded in the crate (its licence is beside it in
//! `assets/`), so that drawing needs no system font library.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::plot::{HeatMap, PLOT_SIZE, PlotSpec, Series};
use crate::{MonitorError, Result};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the embedded font as plotters' `sans-serif` (once).
fn ensure_font() -> bool {
    *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    })
}

/// Draws one line per series to `path`: SVG for `.svg`, PNG for `.png`, written
/// atomically (a failed draw or write leaves the previous file whole). Non-finite points
/// are left out (and non-positive ones on a log axis).
///
/// # Errors
/// Another extension, an unwritable file, or the plotting library's complaint.
pub fn line_plot(path: &Path, spec: &PlotSpec<'_>, series: &[Series]) -> Result<()> {
    plot_to(path, spec, series, false)
}

/// [`line_plot`], with a logarithmic x axis when `log_x` (points with x ≤ 0 left out).
fn plot_to(path: &Path, spec: &PlotSpec<'_>, series: &[Series], log_x: bool) -> Result<()> {
    render(
        path,
        |root| draw(root, spec, series, log_x),
        |root| draw(root, spec, series, log_x),
    )
}

/// Draws a heat map ([`HeatMap`]) to `path`, as [`line_plot`] draws lines: SVG or PNG by
/// the extension, written atomically.
///
/// # Errors
/// As [`line_plot`].
pub fn heat_map(path: &Path, map: &HeatMap<'_>) -> Result<()> {
    render(
        path,
        |root| draw_heat_map(root, map),
        |root| draw_heat_map(root, map),
    )
}

/// Renders into `path` (SVG or PNG, by its extension) with `svg` or `png` drawing on the
/// root area, atomically.
fn render(
    path: &Path,
    svg_draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> std::result::Result<(), String>,
    png_draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> std::result::Result<(), String>,
) -> Result<()> {
    ensure_font();
    let err = |why: String| MonitorError::Plot {
        path: path.display().to_string(),
        why,
    };
    // The plot is drawn into a temporary file beside `path` (which keeps its extension)
    // and renamed over it, so a failed draw or write leaves the old plot whole.
    let svg = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("svg") => true,
        Some(e) if e.eq_ignore_ascii_case("png") => false,
        _ => return Err(err("the file name must end in .svg or .png".into())),
    };
    let mut failure = None;
    let written = gradwell_nn::io::replace_atomic(path, |tmp| {
        let drawn = if svg {
            let root = SVGBackend::new(tmp, PLOT_SIZE).into_drawing_area();
            svg_draw(&root).and_then(|()| root.present().map_err(|e| e.to_string()))
        } else {
            let root = BitMapBackend::new(tmp, PLOT_SIZE).into_drawing_area();
            png_draw(&root).and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        drawn.map_err(|why| {
            failure = Some(why);
            std::io::Error::other("the plot was not drawn")
        })
    });
    match (written, failure) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(why)) => Err(err(why)),
        (Err(source), None) => Err(MonitorError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &PlotSpec<'_>,
    series: &[Series],
    log_x: bool,
) -> std::result::Result<(), String> {
    let keep = |&(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (!spec.log_y || y > 0.0) && (!log_x || x > 0.0)
    };
    let points: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.points.iter().copied().filter(keep).collect())
        .collect();
    let all = points.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = all.fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 1.0, 10.0);
    }
    if log_x {
        if x0 <= 0.0 {
            (x0, x1) = (1.0, 10.0);
        }
        if x1 <= x0 {
            x1 = x0 * 10.0;
        }
    } else if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if spec.log_y {
        if y1 <= y0 {
            y1 = y0 * 10.0;
        }
        (y0, y1) = (y0 / 2.0, y1 * 2.0);
    } else {
        let pad = if y1 > y0 { (y1 - y0) * 0.05 } else { 0.5 };
        (y0, y1) = (y0 - pad, y1 + pad);
    }
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(spec.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(80);
    let colors = |i: usize| Palette99::pick(i).to_rgba();
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(spec.x_label)
                .y_desc(spec.y_label)
                .x_label_formatter(&|x: &f64| tick(*x, log_x))
                .y_label_formatter(&|y: &f64| tick(*y, spec.log_y))
                .label_style(("sans-serif", 14))
                .draw()
                .map_err(|e| e.to_string())?;
            for (i, (s, pts)) in series.iter().zip(&points).enumerate() {
                let c = colors(i);
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(s.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                // A series of one point is a marked point: a larger dot.
                let radius = if pts.len() == 1 { 7 } else { 3 };
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, radius, c.filled())))
                    .map_err(|e| e.to_string())?;
            }
            if !series.is_empty() {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 14))
                    .draw()
                    .map_err(|e| e.to_string())?;
            }
        }};
    }
    match (log_x, spec.log_y) {
        (false, false) => body!(
            builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| e.to_string())?
        ),
        (false, true) => body!(
            builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(|e| e.to_string())?
        ),
        (true, false) => body!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(|e| e.to_string())?
        ),
        (true, true) => body!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(|e| e.to_string())?
        ),
    }
    Ok(())
}

/// The edges of cells centred on the increasing `centres`: midway between neighbours, the
/// outer ones as far out as the nearest inner one (half a unit for a single centre).
fn cell_edges(centres: &[f64]) -> Vec<f64> {
    let n = centres.len();
    if n == 1 {
        return vec![centres[0] - 0.5, centres[0] + 0.5];
    }
    let mut edges = Vec::with_capacity(n + 1);
    edges.push(centres[0] - (centres[1] - centres[0]) / 2.0);
    for w in centres.windows(2) {
        edges.push((w[0] + w[1]) / 2.0);
    }
    edges.push(centres[n - 1] + (centres[n - 1] - centres[n - 2]) / 2.0);
    edges
}

/// The colour of `t` in [0, 1]: dark purple through teal to yellow (viridis' anchors).
fn heat_colour(t: f64) -> RGBColor {
    const ANCHORS: [(u8, u8, u8); 5] = [
        (68, 1, 84),
        (59, 82, 139),
        (33, 145, 140),
        (94, 201, 98),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (ANCHORS.len() - 1) as f64;
    let i = (x.floor() as usize).min(ANCHORS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn draw_heat_map<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    map: &HeatMap<'_>,
) -> std::result::Result<(), String> {
    if map.xs.is_empty() || map.ys.is_empty() {
        return Err("a heat map needs at least one x and one y value".into());
    }
    let (xe, ye) = (cell_edges(&map.xs), cell_edges(&map.ys));
    let (x0, x1, y0, y1) = (xe[0], xe[xe.len() - 1], ye[0], ye[ye.len() - 1]);
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(root)
        .caption(map.spec.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(map.spec.x_label)
        .y_desc(map.spec.y_label)
        .x_label_formatter(&|x: &f64| tick(*x, false))
        .y_label_formatter(&|y: &f64| tick(*y, false))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    let (lo, hi) = map.range;
    let span = if hi > lo { hi - lo } else { 1.0 };
    for (r, row) in map.cells.iter().enumerate().take(map.ys.len()) {
        for (c, cell) in row.iter().enumerate().take(map.xs.len()) {
            let corners = [(xe[c], ye[r]), (xe[c + 1], ye[r + 1])];
            let colour = match cell {
                Some(v) => heat_colour((v - lo) / span),
                None => RGBColor(210, 210, 210),
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(corners, colour.filled())))
                .map_err(|e| e.to_string())?;
            if let Some(v) = cell {
                let ink = if (v - lo) / span > 0.6 { BLACK } else { WHITE };
                let label = format!("{v:.2}");
                let style = ("sans-serif", 13).into_font().color(&ink).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ),
                );
                chart
                    .draw_series(std::iter::once(Text::new(
                        label,
                        (map.xs[c], map.ys[r]),
                        style,
                    )))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    let inside = |&(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (x0..=x1).contains(&x) && (y0..=y1).contains(&y)
    };
    for (i, line) in map.lines.iter().enumerate() {
        let colour = if i == 0 {
            RED.to_rgba()
        } else {
            Palette99::pick(i).to_rgba()
        };
        // Each run of points inside the map is a segment of its own.
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for p in &line.points {
            match segments.last_mut() {
                Some(s) if inside(p) => s.push(*p),
                Some(s) if !s.is_empty() => segments.push(Vec::new()),
                _ => {}
            }
        }
        let mut labelled = false;
        for seg in segments.into_iter().filter(|s| !s.is_empty()) {
            let drawn = chart
                .draw_series(LineSeries::new(seg, colour.stroke_width(3)))
                .map_err(|e| e.to_string())?;
            if !labelled {
                drawn.label(line.name.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
                });
                labelled = true;
            }
        }
    }
    if !map.lines.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A tick label: powers of ten as `1e-6` on a log axis, whole numbers without a fraction,
/// others with up to four significant digits.
fn tick(v: f64, log: bool) -> String {
    if log {
        let e = v.log10().round();
        if (v.log10() - e).abs() < 1e-9 {
            return format!("1e{}", e as i32);
        }
        return format!("{v:.1e}");
    }
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// ‖∂L/∂W‖ by layer on a log axis, one line per configuration
/// ([`Series::grad_norm_by_layer`]).
///
/// # Errors
/// As [`line_plot`].
pub fn plot_grad_norm_by_layer(path: &Path, series: &[Series]) -> Result<()> {
    line_plot(
        path,
        &PlotSpec {
            title: "Gradient norm by layer",
            x_label: "weight layer",
            y_label: "‖∂L/∂W‖ (log scale)",
            log_y: true,
        },
        series,
    )
}

/// The standard deviation of each activation layer's output, one line per configuration
/// ([`Series::activation_std_by_layer`]).
///
/// # Errors
/// As [`line_plot`].
pub fn plot_activation_std_by_layer(path: &Path, series: &[Series]) -> Result<()> {
    line_plot(
        path,
        &PlotSpec {
            title: "Activation standard deviation by layer",
            x_label: "activation layer",
            y_label: "std of output",
            log_y: false,
        },
        series,
    )
}

/// Loss curves, one line per configuration ([`Series::loss`]).
///
/// # Errors
/// As [`line_plot`].
pub fn plot_loss(path: &Path, series: &[Series]) -> Result<()> {
    line_plot(
        path,
        &PlotSpec {
            title: "Training loss",
            x_label: "step",
            y_label: "loss",
            log_y: false,
        },
        series,
    )
}

/// The learning-rate range test: the smoothed loss against the learning rate on a log x
/// axis, one line per series; a series of one point is drawn as a large dot (the
/// suggested rate, named in the legend).
///
/// # Errors
/// As [`line_plot`].
pub fn plot_lr_range_test(path: &Path, series: &[Series]) -> Result<()> {
    plot_to(
        path,
        &PlotSpec {
            title: "Learning-rate range test",
            x_label: "learning rate (log scale)",
            y_label: "smoothed training loss",
            log_y: false,
        },
        series,
        true,
    )
}

/// Accuracy curves, one line per configuration ([`Series::metric`]).
///
/// # Errors
/// As [`line_plot`].
pub fn plot_accuracy(path: &Path, series: &[Series]) -> Result<()> {
    line_plot(
        path,
        &PlotSpec {
            title: "Accuracy",
            x_label: "epoch",
            y_label: "accuracy",
            log_y: false,
        },
        series,
    )
}
