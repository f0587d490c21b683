//! The interactive report page: one self-contained `index.html` (uPlot and the report's
//! script inlined, the data one JSON blob), written by `gradwell report`, `gradwell lab`
//! and `train --out`.
//!
//! Every chart is a `<div class="gw-chart" id="chart-<slug>">` present in the HTML; the
//! script (`assets/report.js`) draws it from the blob `<script id="gw-data"
//! type="application/json">`, then sets `data-points` on it (the finite points or cells
//! drawn) and, when all are drawn, `data-rendered="true"` on `<html>`.
//!
//! Colours belong to runs, not to series: [`RunColours`] gives each run one colour, used
//! by every chart. A series is tied to its run by its name ([`SeriesRole`]): the run's
//! name itself, `theory: <run>` (the mean-field prediction, dashed) or `<run> (raw)`
//! (faint, beside a smoothed curve).

use std::fmt::Write as _;

use gradwell_monitor::{LayerGradNorms, PlotSpec, Series};
use serde::Serialize;

/// uPlot's minified script (see `assets/uplot/README.md`).
const UPLOT_JS: &str = include_str!("../assets/uplot/uPlot.iife.min.js");
/// uPlot's style sheet.
const UPLOT_CSS: &str = include_str!("../assets/uplot/uPlot.min.css");
/// uPlot's licence, copied into every page.
pub const UPLOT_LICENSE: &str = include_str!("../assets/uplot/LICENSE");
/// The report's own script: draws the charts from the JSON blob.
const REPORT_JS: &str = include_str!("../assets/report.js");

/// The page's own style.
const STYLE: &str = "\
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.pass { background: #d9f2d9; font-weight: bold; }
.fail { background: #f8d0d0; font-weight: bold; }
.not-run { background: #eee; }
figure { margin: 2em 0; }
figcaption { font-size: 14px; color: #444; margin-top: 0.5em; }
.gw-chart { min-height: 120px; }
.gw-title { font-weight: bold; margin: 0.3em 0; }
.gw-note { font-size: 13px; color: #555; }
.gw-heat { position: relative; }
.gw-tip { position: absolute; display: none; background: #fff; border: 1px solid #999;
  padding: 2px 6px; font-size: 12px; pointer-events: none; white-space: nowrap; }
.gw-run { white-space: nowrap; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.4em;
  vertical-align: middle; border-radius: 2px; }
";

/// Distinct colours (Tableau 10, then ten darker or lighter companions), assigned to runs
/// in order.
const PALETTE: [&str; 20] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#0b3d91", "#b35806", "#00695c", "#880e4f", "#4a148c", "#3e2723",
    "#ad1457", "#37474f", "#827717", "#006064",
];

/// The prefix of a series that draws the mean-field theory of a run.
pub const THEORY_PREFIX: &str = "theory: ";
/// The suffix of a series that draws a run's raw values beside their smoothed curve.
pub const RAW_SUFFIX: &str = " (raw)";

/// How a series is drawn, from its name: the run it belongs to and its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesRole<'a> {
    /// A run's measured values (a solid line): the name is the run's.
    Measured(&'a str),
    /// The theory's prediction for a run (dashed): `theory: <run>`.
    Theory(&'a str),
    /// A run's raw values beside their smoothed curve (faint): `<run> (raw)`.
    Raw(&'a str),
}

impl<'a> SeriesRole<'a> {
    /// The role of the series called `name`.
    pub fn of(name: &'a str) -> Self {
        if let Some(run) = name.strip_prefix(THEORY_PREFIX) {
            SeriesRole::Theory(run)
        } else if let Some(run) = name.strip_suffix(RAW_SUFFIX) {
            SeriesRole::Raw(run)
        } else {
            SeriesRole::Measured(name)
        }
    }

    /// The run the series belongs to.
    pub fn run(self) -> &'a str {
        match self {
            SeriesRole::Measured(r) | SeriesRole::Theory(r) | SeriesRole::Raw(r) => r,
        }
    }

    /// The style the script draws it in.
    fn style(self) -> &'static str {
        match self {
            SeriesRole::Measured(_) => "solid",
            SeriesRole::Theory(_) => "dashed",
            SeriesRole::Raw(_) => "faint",
        }
    }
}

/// One colour per run, fixed once for the whole page: the `i`-th run named gets the
/// `i`-th colour of the palette (cycling past twenty runs).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunColours(Vec<RunColour>);

/// A run and its colour.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct RunColour {
    name: String,
    colour: &'static str,
}

impl RunColours {
    /// The colours of `runs`, in that order (a repeated name keeps its first colour).
    pub fn new<'a>(runs: impl IntoIterator<Item = &'a str>) -> Self {
        let mut out: Vec<RunColour> = Vec::new();
        for name in runs {
            if out.iter().all(|r| r.name != name) {
                let colour = PALETTE[out.len() % PALETTE.len()];
                out.push(RunColour {
                    name: name.to_string(),
                    colour,
                });
            }
        }
        RunColours(out)
    }

    /// The colour of `run`, if it is one of the page's runs.
    pub fn get(&self, run: &str) -> Option<&'static str> {
        self.0.iter().find(|r| r.name == run).map(|r| r.colour)
    }
}

/// A chart of the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// Lines, one per series, on shared axes.
    Line {
        /// The figure's title.
        title: String,
        /// The x axis's label.
        x_label: String,
        /// The y axis's label.
        y_label: String,
        /// A logarithmic y axis.
        log_y: bool,
        /// The series; each is tied to its run by its name ([`SeriesRole`]).
        series: Vec<Series>,
    },
    /// A layer × step heat map of one run's ‖∂L/∂W‖, on a logarithmic colour scale.
    Heat {
        /// The figure's title.
        title: String,
        /// The run.
        run: String,
        /// The table.
        table: LayerGradNorms,
    },
}

impl Chart {
    /// A line chart of `series` as `spec` says, keeping only what can be drawn: points
    /// with finite coordinates (and, on a log axis, a positive y), series with at least
    /// one such point. `None` when no series is left: the page never shows an empty chart.
    pub fn line(spec: &PlotSpec<'_>, series: &[Series]) -> Option<Chart> {
        let drawable =
            |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!spec.log_y || y > 0.0);
        let series: Vec<Series> = series
            .iter()
            .map(|s| {
                Series::new(
                    s.name.clone(),
                    s.points.iter().copied().filter(drawable).collect(),
                )
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        (!series.is_empty()).then(|| Chart::Line {
            title: spec.title.to_string(),
            x_label: spec.x_label.to_string(),
            y_label: spec.y_label.to_string(),
            log_y: spec.log_y,
            series,
        })
    }

    /// The heat map of `run`'s `table`; `None` when it has no finite positive cell (a
    /// logarithmic colour scale has nothing to show).
    pub fn heat(title: String, run: &str, table: &LayerGradNorms) -> Option<Chart> {
        let any = table
            .norms
            .iter()
            .flatten()
            .any(|v| v.is_some_and(|g| g.is_finite() && g > 0.0));
        any.then(|| Chart::Heat {
            title,
            run: run.to_string(),
            table: table.clone(),
        })
    }
}

/// A chart with its place on the page: a slug for its element's id and a caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The id's slug (`chart-<slug>`), unique on the page.
    pub slug: String,
    /// A heading printed before the chart (the first of a section).
    pub heading: Option<String>,
    /// The caption under the chart (plain text).
    pub caption: String,
    /// The chart.
    pub chart: Chart,
}

/// `name` as an id slug: lower-case ASCII letters and digits, runs of anything else
/// a single `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("chart");
    }
    out
}

/// HTML-escapes text for an element's content or an attribute.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Rounds to four significant digits (enough to read, a third of the text of a full
/// `f64`); `None` for a non-finite value (JSON has none).
pub fn round4(x: f64) -> Option<f64> {
    if !x.is_finite() {
        return None;
    }
    format!("{x:.3e}").parse().ok()
}

#[derive(Serialize)]
struct Blob<'a> {
    runs: &'a RunColours,
    charts: Vec<ChartJson<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum ChartJson<'a> {
    Line {
        id: String,
        title: &'a str,
        x_label: &'a str,
        y_label: &'a str,
        log_y: bool,
        series: Vec<SeriesJson<'a>>,
    },
    Heat {
        id: String,
        title: &'a str,
        run: &'a str,
        x_label: &'static str,
        y_label: &'static str,
        layers: &'a [String],
        steps: &'a [usize],
        values: Vec<Vec<Option<f64>>>,
    },
}

#[derive(Serialize)]
struct SeriesJson<'a> {
    name: &'a str,
    run: &'a str,
    style: &'static str,
    points: Vec<(Option<f64>, Option<f64>)>,
}

fn chart_json(p: &Placed) -> ChartJson<'_> {
    let id = format!("chart-{}", p.slug);
    match &p.chart {
        Chart::Line {
            title,
            x_label,
            y_label,
            log_y,
            series,
        } => ChartJson::Line {
            id,
            title,
            x_label,
            y_label,
            log_y: *log_y,
            series: series
                .iter()
                .map(|s| {
                    let role = SeriesRole::of(&s.name);
                    SeriesJson {
                        name: &s.name,
                        run: role.run(),
                        style: role.style(),
                        points: s
                            .points
                            .iter()
                            .filter(|(x, _)| x.is_finite())
                            .map(|&(x, y)| (round4(x), round4(y)))
                            .collect(),
                    }
                })
                .collect(),
        },
        Chart::Heat { title, run, table } => ChartJson::Heat {
            id,
            title,
            run,
            x_label: "step",
            y_label: "‖∂L/∂W‖",
            layers: &table.layers,
            steps: &table.steps,
            values: table
                .norms
                .iter()
                .map(|row| row.iter().map(|v| v.and_then(round4)).collect())
                .collect(),
        },
    }
}

/// The JSON of the page's data, safe inside a `<script>` element (every `<` escaped, so
/// no `</script>` in a run's name can end it).
fn data_json(colours: &RunColours, charts: &[Placed]) -> String {
    let blob = Blob {
        runs: colours,
        charts: charts.iter().map(chart_json).collect(),
    };
    serde_json::to_string(&blob)
        .unwrap_or_default()
        .replace('<', "\\u003c")
}

/// The legend of the page: each run's colour and name.
fn run_legend(colours: &RunColours) -> String {
    let mut s = String::from("<p class=\"gw-runs\">");
    for r in &colours.0 {
        let _ = write!(
            s,
            "<span class=\"gw-run\"><span class=\"swatch\" style=\"background:{}\"></span>{}</span> &nbsp; ",
            r.colour,
            escape(&r.name)
        );
    }
    s.push_str("</p>\n");
    s
}

/// The whole page: `title`, the HTML `before` the charts (an introduction, a claims
/// table), the charts with their captions, the HTML `after` them (a table of runs).
pub fn render(
    title: &str,
    before: &str,
    colours: &RunColours,
    charts: &[Placed],
    after: &str,
) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<!--\nThe charts are drawn by uPlot, included below under its licence:\n\n{}\n-->\n\
         <style>\n{UPLOT_CSS}\n</style>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        UPLOT_LICENSE.replace("--", "- -").trim_end(),
        escape(title),
    );
    html.push_str(before);
    if !charts.is_empty() {
        html.push_str("<h2>Figures</h2>\n<p>Hover over a chart to read its values; click a run in a chart's legend to hide or show it. Each run has one colour in every chart:</p>\n");
        html.push_str(&run_legend(colours));
    }
    for p in charts {
        if let Some(h) = &p.heading {
            let _ = writeln!(html, "<h2>{}</h2>", escape(h));
        }
        let _ = writeln!(
            html,
            "<figure>\n<div class=\"gw-chart\" id=\"chart-{}\"></div>\n<figcaption>{}</figcaption>\n</figure>",
            p.slug,
            escape(&p.caption)
        );
    }
    html.push_str(after);
    let _ = write!(
        html,
        "<script id=\"gw-data\" type=\"application/json\">{}</script>\n\
         <script>\n{UPLOT_JS}\n</script>\n<script>\n{REPORT_JS}</script>\n</body>\n</html>\n",
        data_json(colours, charts)
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ids() {
        assert_eq!(slug("grad_norm_at_init.svg"), "grad-norm-at-init-svg");
        assert_eq!(slug("  Loss: relu/he  "), "loss-relu-he");
        assert_eq!(slug("—"), "chart");
    }

    #[test]
    fn series_roles_name_their_run() {
        assert_eq!(SeriesRole::of("relu-he"), SeriesRole::Measured("relu-he"));
        assert_eq!(
            SeriesRole::of("theory: relu-he"),
            SeriesRole::Theory("relu-he")
        );
        assert_eq!(SeriesRole::of("relu-he (raw)"), SeriesRole::Raw("relu-he"));
    }

    #[test]
    fn four_significant_digits() {
        assert_eq!(round4(1.234_567e-19), Some(1.235e-19));
        assert_eq!(round4(98_765.4), Some(98_770.0));
        assert_eq!(round4(f64::NAN), None);
        assert_eq!(round4(f64::INFINITY), None);
    }

    #[test]
    fn a_chart_keeps_what_it_can_draw() {
        let spec = |log_y| PlotSpec {
            title: "t",
            x_label: "x",
            y_label: "y",
            log_y,
        };
        let series = [
            Series::new(
                "a",
                vec![(1.0, 0.0), (2.0, -1.0), (3.0, f64::NAN), (f64::NAN, 1.0)],
            ),
            Series::new("b", vec![(1.0, 2.0), (2.0, 0.0)]),
        ];
        let Some(Chart::Line { series: kept, .. }) = Chart::line(&spec(true), &series) else {
            panic!("b has a point to draw");
        };
        assert_eq!(kept, [Series::new("b", vec![(1.0, 2.0)])]);
        let Some(Chart::Line { series: kept, .. }) = Chart::line(&spec(false), &series) else {
            panic!("a linear axis draws zeros");
        };
        assert_eq!(kept[0].points, [(1.0, 0.0), (2.0, -1.0)]);
        assert_eq!(Chart::line(&spec(true), &series[..1]), None);
        let empty = LayerGradNorms {
            layers: vec!["0 Linear".into()],
            steps: vec![1],
            norms: vec![vec![None]],
        };
        assert_eq!(Chart::heat("h".into(), "a", &empty), None);
    }

    #[test]
    fn the_blob_cannot_close_its_script() {
        let colours = RunColours::new(["</script><b>"]);
        let json = data_json(&colours, &[]);
        assert!(!json.contains('<'), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["runs"][0]["name"], "</script><b>");
    }
}
