//! What a plot shows: the named lines ([`Series`]) taken from the monitor's records, and
//! the titles and axes ([`PlotSpec`]). Drawing them is `draw.rs`'s, behind the `plots`
//! feature; the data stays without it, so that a program can still collect and save it.

use serde::{Deserialize, Serialize};

use crate::record::{History, StepRecord};

/// One named line: `(x, y)` points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The legend label (a configuration's name).
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A named series.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
        }
    }

    /// ‖∂L/∂W‖ of each layer that has a weight, against its position among them (1, 2, …),
    /// from a detailed record.
    pub fn grad_norm_by_layer(name: impl Into<String>, record: &StepRecord) -> Self {
        let points = record
            .layers
            .iter()
            .filter_map(|l| l.weight_grad_norm)
            .enumerate()
            .map(|(i, g)| ((i + 1) as f64, g))
            .collect();
        Series::new(name, points)
    }

    /// The standard deviation of each activation layer's output against its position among
    /// them (1, 2, …).
    pub fn activation_std_by_layer(name: impl Into<String>, record: &StepRecord) -> Self {
        let points = record
            .layers
            .iter()
            .filter(|l| l.activation.is_some())
            .enumerate()
            .map(|(i, l)| ((i + 1) as f64, l.std))
            .collect();
        Series::new(name, points)
    }

    /// The loss of each recorded step.
    pub fn loss(name: impl Into<String>, history: &History) -> Self {
        let points = history
            .steps
            .iter()
            .map(|s| (s.step as f64, s.loss))
            .collect();
        Series::new(name, points)
    }

    /// A named metric of the history (e.g. `"test_accuracy"`); empty if absent.
    pub fn metric(name: impl Into<String>, history: &History, metric: &str) -> Self {
        let points = history
            .metrics
            .get(metric)
            .map(|v| v.iter().map(|&(at, y)| (at as f64, y)).collect())
            .unwrap_or_default();
        Series::new(name, points)
    }
}

/// Titles and axes of a line plot.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotSpec<'a> {
    /// The caption.
    pub title: &'a str,
    /// The x axis's label.
    pub x_label: &'a str,
    /// The y axis's label.
    pub y_label: &'a str,
    /// A logarithmic y axis (points with y ≤ 0 are left out).
    pub log_y: bool,
}

/// The plot size in pixels.
pub const PLOT_SIZE: (u32, u32) = (800, 500);

/// A heat map: one value per cell of a grid, x values across and y values up, coloured
/// from the low to the high end of `range` (an empty cell is grey), each value written in
/// its cell, with lines drawn over it (e.g. a theory's curve).
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap<'a> {
    /// Titles and axes (`log_y` is not used: the axes are linear).
    pub spec: PlotSpec<'a>,
    /// The columns' x values, increasing.
    pub xs: Vec<f64>,
    /// The rows' y values, increasing.
    pub ys: Vec<f64>,
    /// `cells[row][column]`: the value at (`xs[column]`, `ys[row]`), if any.
    pub cells: Vec<Vec<Option<f64>>>,
    /// The values at the two ends of the colour scale.
    pub range: (f64, f64),
    /// Lines over the map; the parts of a line outside the map are left out.
    pub lines: Vec<Series>,
}
