//! Plots with plotters, as SVG or PNG (chosen by the file's extension): gradient norm by
//! layer (log scale), activation standard deviation by layer, loss and accuracy curves —
//! one line per configuration. Only with the `plots` feature (on by default).
//!
//! The axes are ticked by this module, not by plotters: an x axis whose points are all
//! whole numbers (layers, steps, epochs) only at whole numbers, a log axis at powers of
//! ten from the data's smallest decade to its largest, and a linear y axis starts at zero
//! at the lowest when no point is negative (a standard deviation, a norm, an accuracy).
//!
//! Text is drawn with DejaVu Sans, embedded in the crate (its licence is beside it in
//! `assets/`), so that drawing needs no system font library.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::combinators::LogCoord;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
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
    let ((x0, x1), (y0, y1)) = axis_ranges(&points, log_x, spec.log_y);
    // A linear x axis is ticked by `ticks`: at whole numbers only when every x is one
    // (layer positions, steps, epochs: no "2.5 epochs").
    let whole_x = points.iter().flatten().all(|&(x, _)| x.fract() == 0.0);
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
    let linear_x = || Ticked::<RangedCoordf64> {
        inner: (x0..x1).into(),
        bold: ticks(x0, x1, MAX_TICKS, whole_x),
        light: ticks(x0, x1, MAX_TICKS * 5, whole_x),
    };
    let log = |lo: f64, hi: f64| {
        let (bold, light) = log_ticks(lo, hi);
        Ticked {
            inner: LogCoord::from((lo..hi).log_scale()),
            bold,
            light,
        }
    };
    match (log_x, spec.log_y) {
        (false, false) => body!(
            builder
                .build_cartesian_2d(linear_x(), y0..y1)
                .map_err(|e| e.to_string())?
        ),
        (false, true) => body!(
            builder
                .build_cartesian_2d(linear_x(), log(y0, y1))
                .map_err(|e| e.to_string())?
        ),
        (true, false) => body!(
            builder
                .build_cartesian_2d(log(x0, x1), y0..y1)
                .map_err(|e| e.to_string())?
        ),
        (true, true) => body!(
            builder
                .build_cartesian_2d(log(x0, x1), log(y0, y1))
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

/// An axis ticked at given points: plotters' own choice may fall between whole numbers
/// on a linear axis, and stops short of the data on a log axis spanning many decades.
/// Its labels are the chart's formatter's, so plotters' default format is never used.
struct Ticked<R> {
    inner: R,
    /// The labelled ticks.
    bold: Vec<f64>,
    /// The grid's finer lines.
    light: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// The most labelled ticks on an axis ticked by [`ticks`] or [`log_ticks`].
const MAX_TICKS: usize = 10;

/// The x and y ranges of the axes for the points drawn: the points' extent, a log axis
/// widened to a factor of two beyond it, a linear y axis by 5 % of its span — but not
/// below zero when no point is negative (a standard deviation, a norm, a loss or an
/// accuracy has no negative values to show). A single x, or none, gets a range around
/// it (half a unit each side of a whole number, so that only it is ticked).
fn axis_ranges(points: &[Vec<(f64, f64)>], log_x: bool, log_y: bool) -> ((f64, f64), (f64, f64)) {
    let (mut x0, mut x1, mut y0, mut y1) = points.iter().flatten().fold(
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
        (x0, x1) = if x0.fract() == 0.0 {
            (x0 - 0.5, x0 + 0.5)
        } else {
            (x0, x0 + 1.0)
        };
    }
    if log_y {
        if y1 <= y0 {
            y1 = y0 * 10.0;
        }
        (y0, y1) = (y0 / 2.0, y1 * 2.0);
    } else {
        let pad = if y1 > y0 { (y1 - y0) * 0.05 } else { 0.5 };
        let floor = if y0 >= 0.0 { 0.0 } else { f64::NEG_INFINITY };
        (y0, y1) = ((y0 - pad).max(floor), y1 + pad);
    }
    ((x0, x1), (y0, y1))
}

/// At most `max` round ticks in `[lo, hi]`: the multiples of the smallest step of the
/// form 1, 2 or 5 × 10ᵏ that gives no more than `max` of them, the step at least 1 when
/// `whole` (an axis of whole numbers has no tick between two of them).
fn ticks(lo: f64, hi: f64, max: usize, whole: bool) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) || max == 0 {
        return Vec::new();
    }
    let count = |step: f64| (hi / step).floor() - (lo / step).ceil() + 1.0;
    let mut decade = 10f64.powf(((hi - lo) / max as f64).log10().floor() - 1.0);
    if whole {
        decade = decade.max(1.0);
    }
    let step = loop {
        if let Some(&m) = [1.0, 2.0, 5.0]
            .iter()
            .find(|&&m| count(m * decade) <= max as f64)
        {
            break m * decade;
        }
        decade *= 10.0;
    };
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// The ticks of a log axis over `[lo, hi]` (0 < lo < hi), labelled and light: powers of
/// ten, every k-th decade for the smallest k of 1, 2, 5, 10, 20, … that gives at most
/// [`MAX_TICKS`] (so the labels reach the smallest and largest decades of the data, however
/// many decades they span), the other powers of ten (or 2…9 × 10ᵉ when every decade is
/// labelled) as light lines. A range holding fewer than two powers of ten is ticked at
/// 1, 2 and 5 × 10ᵉ.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (Vec::new(), Vec::new());
    }
    let (e0, e1) = (lo.log10().ceil() as i32, hi.log10().floor() as i32);
    let within = |v: &f64| *v >= lo * (1.0 - 1e-12) && *v <= hi * (1.0 + 1e-12);
    let scaled = |mantissas: &[f64]| -> Vec<f64> {
        (e0 - 1..=e1)
            .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
            .filter(within)
            .collect()
    };
    if e1 - e0 < 1 {
        return (
            scaled(&[1.0, 2.0, 5.0]),
            scaled(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]),
        );
    }
    let decades = (e1 - e0 + 1) as usize;
    // f64 spans about 630 decades: the search ends by k = 100.
    let mut scale = 1;
    let every = loop {
        if let Some(k) = [scale, 2 * scale, 5 * scale]
            .into_iter()
            .find(|&k| decades.div_ceil(k) <= MAX_TICKS)
        {
            break k;
        }
        scale *= 10;
    };
    let powers = |keep: &dyn Fn(i32) -> bool| -> Vec<f64> {
        (e0..=e1)
            .filter(|&e| keep(e))
            .map(|e| 10f64.powi(e))
            .collect()
    };
    let bold = powers(&|e| (e - e0).rem_euclid(every as i32) == 0);
    let light = if every == 1 {
        scaled(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    } else {
        powers(&|_| true)
    };
    (bold, light)
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
