//! What the monitor keeps: [`ParamStats`], [`LayerStats`], [`UpdateStats`] per step in a
//! [`StepRecord`], all of them in a [`History`] that writes CSV and JSON, in full or, at
//! the default [`Detail::Summary`], as a [`HistorySummary`] and thinned CSVs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{MonitorError, NonFinite, RecurrentRadius, Result, TimeGradients};

/// Serializes a float that may be NaN or infinite: JSON has no such numbers, so they are
/// written as the strings `"NaN"`, `"inf"` and `"-inf"` and read back.
pub(crate) mod maybe_finite {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else if x.is_nan() {
            s.serialize_str("NaN")
        } else if *x > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Num(x) => x,
            Repr::Text(t) => match t.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => f64::NAN,
            },
        })
    }
}

/// One trainable parameter's gradient after a backward pass (before clipping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamStats {
    /// The parameter's name (`"0.weight"`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// ‖g‖₂ over the finite elements.
    pub grad_norm: f64,
    /// max |g| over the finite elements.
    pub grad_max_abs: f64,
    /// The fraction of gradient elements exactly 0.
    pub grad_zero_fraction: f64,
    /// The number of NaN gradient elements.
    pub grad_nan: usize,
    /// The number of infinite gradient elements.
    pub grad_inf: usize,
    /// The gradient is 0 everywhere: the parameter received no gradient at all (it is not
    /// on the loss's path, or every unit it feeds is dead).
    pub no_gradient: bool,
    /// ‖w‖₂ of the value.
    pub weight_norm: f64,
}

/// One layer's output on a detailed step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// The layer's path (`"3"`, `"2.body.1"`).
    pub path: String,
    /// The layer's type (`"Linear"`, `"ReLU"`, …).
    pub kind: String,
    /// Which activation the layer is, in gradwell's spelling, for a layer that is one
    /// (`"relu"`, `"leaky-relu:0.2"`, `"prelu"` for learnt slopes, `"softmax"`,
    /// `"log_softmax"`; [`gradwell_nn::LayerActivation`]), those inside residual blocks
    /// included.
    pub activation: Option<String>,
    /// The mean of the output over the batch and the units.
    pub mean: f64,
    /// The standard deviation of the output over the batch and the units.
    pub std: f64,
    /// The mean of the squared output: the pre-activation "q" of mean-field theory for a
    /// linear layer.
    pub second_moment: f64,
    /// The fraction of outputs exactly 0.
    pub zero_fraction: f64,
    /// For ReLU and ReLU6: the fraction of units whose output is 0 for every sample of
    /// the batch (dead units).
    pub dead_fraction: Option<f64>,
    /// For saturating activations: the fraction of outputs past the saturation threshold.
    pub saturated_fraction: Option<f64>,
    /// NaNs and infinities in the output.
    pub non_finite: usize,
    /// The number of units (the output's elements per sample).
    #[serde(default)]
    pub units: usize,
    /// How far the units are from being copies of one another
    /// ([`crate::unit_spread`]): about 1 for independent units, 0 when every unit computes
    /// the same function (a constant initialization); `None` when it cannot be told.
    #[serde(default)]
    pub unit_spread: Option<f64>,
    /// ‖∂loss/∂output‖₂, when the backward pass reached the output.
    pub output_grad_norm: Option<f64>,
    /// ‖∂loss/∂W‖₂ of the layer's weight (`{path}.weight`), or of a recurrent layer's
    /// weights together (`{path}.weight_ih_l0`, `{path}.weight_hh_l0`, …), if it has any.
    pub weight_grad_norm: Option<f64>,
    /// ‖∂loss/∂b‖₂ of the layer's bias (or recurrent biases together), if it has one.
    pub bias_grad_norm: Option<f64>,
}

/// One parameter's update over an optimizer step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateStats {
    /// The parameter's name.
    pub name: String,
    /// ‖Δw‖₂.
    pub update_norm: f64,
    /// ‖w‖₂ before the step.
    pub weight_norm: f64,
    /// ‖Δw‖/‖w‖; `None` when ‖w‖ was 0.
    pub ratio: Option<f64>,
}

/// Everything recorded at one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step (the caller's count).
    pub step: usize,
    /// The loss of the step.
    #[serde(with = "maybe_finite")]
    pub loss: f64,
    /// The global gradient norm √(Σ‖g‖²) over every trainable parameter, before clipping;
    /// NaN or ∞ when a gradient is.
    #[serde(with = "maybe_finite")]
    pub global_grad_norm: f64,
    /// ‖∇W‖ of the first weight matrix over ‖∇W‖ of the last (weights of two or more
    /// axes, in parameter order); `None` with fewer than two or a zero last norm.
    pub first_last_ratio: Option<f64>,
    /// Per trainable parameter.
    pub params: Vec<ParamStats>,
    /// Per layer, on detailed steps only (empty otherwise).
    pub layers: Vec<LayerStats>,
    /// Per trainable parameter, when the caller reported the optimizer step.
    pub updates: Vec<UpdateStats>,
    /// Per recurrent layer, on detailed steps: ‖∂L/∂h_t‖ for every step t.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub through_time: Vec<TimeGradients>,
    /// Per recurrent weight, on detailed steps: the spectral radius of its measured block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recurrent_radius: Vec<RecurrentRadius>,
}

impl StepRecord {
    /// Whether the loss or a gradient was NaN or infinite.
    pub fn non_finite(&self) -> bool {
        !self.loss.is_finite()
            || !self.global_grad_norm.is_finite()
            || self.params.iter().any(|p| p.grad_nan + p.grad_inf > 0)
            || self.layers.iter().any(|l| l.non_finite > 0)
    }

    /// The largest update-to-weight ratio of the step, if updates were recorded.
    pub fn max_update_ratio(&self) -> Option<f64> {
        self.updates
            .iter()
            .filter_map(|u| u.ratio)
            .fold(None, |m, r| Some(m.map_or(r, |m: f64| m.max(r))))
    }
}

/// How much of a run's monitor history is written (`[monitor] detail`, `--monitor-detail`).
///
/// One spelling, kebab-case, for `Display`, `FromStr` and serde.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Detail {
    /// The default: `monitor.json` holds a [`HistorySummary`] (which steps were recorded
    /// and in which detail, the metrics, the non-finite event, the findings), `steps.csv` and
    /// `metrics.csv` every step and value, [`LayerGradNorms::CSV_FILE`] (each weight
    /// layer's gradient norm) every detailed step, and the per-parameter, per-layer and
    /// update tables at most [`SUMMARY_DETAILED_STEPS`] detailed steps
    /// ([`History::summary_steps`]).
    #[default]
    Summary,
    /// Everything: `monitor.json` is the whole [`History`] (every step's per-parameter
    /// figures, every detailed step's layers), the CSVs every row.
    Full,
}

impl Detail {
    /// Every choice, in the order errors list them.
    pub const ALL: [Detail; 2] = [Detail::Summary, Detail::Full];

    /// The name it is written as.
    pub fn name(self) -> &'static str {
        match self {
            Detail::Summary => "summary",
            Detail::Full => "full",
        }
    }
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Detail {
    type Err = MonitorError;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        Detail::ALL
            .into_iter()
            .find(|d| d.name() == wanted)
            .ok_or_else(|| {
                MonitorError::invalid(
                    "monitor detail",
                    format!(
                        "unknown `{s}`; valid: {}",
                        Detail::ALL.map(Detail::name).join(", ")
                    ),
                )
            })
    }
}

impl TryFrom<String> for Detail {
    type Error = MonitorError;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Detail> for String {
    fn from(d: Detail) -> String {
        d.name().to_string()
    }
}

/// The most detailed steps whose per-parameter, per-layer and update rows a
/// [`Detail::Summary`] writes: evenly spread over the run, the first and the last
/// included. A 900-step run with layer statistics every 10 steps has 91 detailed steps;
/// ten of them show how the layers evolved at a tenth of the size.
pub const SUMMARY_DETAILED_STEPS: usize = 10;

/// `monitor.json` at [`Detail::Summary`]: what the run's findings and reports rest on,
/// without the records (their figures are the CSVs beside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistorySummary {
    /// Always [`Detail::Summary`]: says what the file holds.
    pub detail: Detail,
    /// The steps recorded.
    pub steps: usize,
    /// The steps that have layer statistics, in order.
    pub detailed_steps: Vec<usize>,
    /// The detailed steps whose per-parameter, per-layer and update rows the CSVs keep
    /// ([`History::summary_steps`]).
    pub tables_at: Vec<usize>,
    /// The named metrics, as in the [`History`].
    pub metrics: BTreeMap<String, Vec<(usize, f64)>>,
    /// The first NaN or infinity seen.
    pub non_finite: Option<NonFinite>,
    /// The findings as the caller printed them, with their steps.
    pub findings: Vec<String>,
}

/// ‖∂L/∂W‖ of every layer that has a weight, on every detailed step of a run (step 1, then
/// every check): the layer × step table of how the gradient reached each layer over the
/// whole training, small enough to keep at every [`Detail`] (layers × checks numbers,
/// [`LayerGradNorms::CSV_FILE`]).
///
/// ```
/// use gradwell_monitor::{History, LayerGradNorms};
/// let table: LayerGradNorms = History::default().layer_grad_norms();
/// assert!(table.steps.is_empty() && table.layers.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerGradNorms {
    /// The layers with a weight, input side first, as `path kind` (`"0 Linear"`).
    pub layers: Vec<String>,
    /// The detailed steps, in order.
    pub steps: Vec<usize>,
    /// `norms[layer][check]`: ‖∂L/∂W‖ of that layer at that step; `None` where it was not
    /// measured or not finite.
    pub norms: Vec<Vec<Option<f64>>>,
}

impl LayerGradNorms {
    /// The file [`History::write`] writes the table to, beside the other CSVs.
    pub const CSV_FILE: &'static str = "layer_grad_norms.csv";

    /// The table as CSV, one row per detailed step: `step,<layer>,<layer>,…` (a layer's
    /// column named `path kind`), each norm to four significant digits (the table is for
    /// seeing the whole training at a glance; `layers.csv` at [`Detail::Full`] has every
    /// digit), empty where there is none.
    ///
    /// ```
    /// use gradwell_monitor::LayerGradNorms;
    /// let t = LayerGradNorms {
    ///     layers: vec!["0 Linear".into(), "2 Linear".into()],
    ///     steps: vec![1, 10],
    ///     norms: vec![vec![Some(1.23456e-19), None], vec![Some(0.5), Some(2.0)]],
    /// };
    /// assert_eq!(t.to_csv(), "step,0 Linear,2 Linear\n1,1.235e-19,5.000e-1\n10,,2.000e0\n");
    /// assert_eq!(LayerGradNorms::from_csv(&t.to_csv())?.norms[0][0], Some(1.235e-19));
    /// # Ok::<(), gradwell_monitor::MonitorError>(())
    /// ```
    pub fn to_csv(&self) -> String {
        let mut s = String::from("step");
        for l in &self.layers {
            s.push(',');
            s.push_str(&csv_s(l));
        }
        s.push('\n');
        for (k, step) in self.steps.iter().enumerate() {
            let _ = write!(s, "{step}");
            for row in &self.norms {
                s.push(',');
                if let Some(g) = row.get(k).copied().flatten().filter(|g| g.is_finite()) {
                    let _ = write!(s, "{g:.3e}");
                }
            }
            s.push('\n');
        }
        s
    }

    /// Reads a table written by [`LayerGradNorms::to_csv`].
    ///
    /// # Errors
    /// [`MonitorError::Invalid`] naming the line: no `step` header, a row of another
    /// width, a step or a norm that is not a number.
    pub fn from_csv(text: &str) -> Result<Self> {
        let mut lines = text.lines();
        let bad = |line: usize, why: String| {
            MonitorError::invalid(Self::CSV_FILE, format!("line {line}: {why}"))
        };
        let header = lines.next().unwrap_or_default();
        let mut cells = split_csv(header).into_iter();
        if cells.next().as_deref() != Some("step") {
            return Err(bad(
                1,
                format!("the header must start with `step`, not `{header}`"),
            ));
        }
        let layers: Vec<String> = cells.collect();
        let mut steps = Vec::new();
        let mut norms = vec![Vec::new(); layers.len()];
        for (i, line) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
            let row = split_csv(line);
            if row.len() != layers.len() + 1 {
                return Err(bad(
                    i + 2,
                    format!("{} cells, the header has {}", row.len(), layers.len() + 1),
                ));
            }
            steps.push(
                row[0]
                    .parse()
                    .map_err(|_| bad(i + 2, format!("step `{}` is not a whole number", row[0])))?,
            );
            for (col, cell) in norms.iter_mut().zip(&row[1..]) {
                col.push(if cell.is_empty() {
                    None
                } else {
                    Some(
                        cell.parse()
                            .map_err(|_| bad(i + 2, format!("`{cell}` is not a number")))?,
                    )
                });
            }
        }
        Ok(LayerGradNorms {
            layers,
            steps,
            norms,
        })
    }
}

/// The cells of a CSV line written with [`csv_s`]'s quoting.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let cell = out.last_mut().expect("one cell at least");
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => cell.push(c),
        }
    }
    out
}

/// Every record of a run, named metrics (accuracy, test loss, …) and the first non-finite
/// event; written as JSON (all of it) or CSV (one table per kind of record).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The step records, in order.
    pub steps: Vec<StepRecord>,
    /// Named series of `(step or epoch, value)`, e.g. `"test_accuracy"`.
    pub metrics: BTreeMap<String, Vec<(usize, f64)>>,
    /// The first NaN or infinity seen, traced to its op and layer.
    pub non_finite: Option<NonFinite>,
}

fn csv_f(x: f64) -> String {
    if x.is_finite() {
        format!("{x:e}")
    } else if x.is_nan() {
        "NaN".into()
    } else if x > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

fn csv_opt(x: Option<f64>) -> String {
    x.map(csv_f).unwrap_or_default()
}

/// Quotes a CSV field when it holds a comma, a quote or a newline.
fn csv_s(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `text` to `path` atomically: a failed write leaves the old file whole.
fn write_file(path: &Path, text: &str) -> Result<()> {
    gradwell_nn::io::write_atomic_with(path, |f| f.write_all(text.as_bytes())).map_err(|source| {
        MonitorError::Io {
            path: path.display().to_string(),
            source,
        }
    })
}

/// Creates `dir` (and its parents) if missing.
fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| MonitorError::Io {
        path: dir.display().to_string(),
        source,
    })
}

impl History {
    /// The last step record that has layer statistics.
    pub fn last_detailed(&self) -> Option<&StepRecord> {
        self.steps.iter().rev().find(|s| !s.layers.is_empty())
    }

    /// Appends a named metric value.
    pub fn push_metric(&mut self, name: &str, at: usize, value: f64) {
        self.metrics
            .entry(name.to_string())
            .or_default()
            .push((at, value));
    }

    /// The whole history as pretty JSON (non-finite numbers as `"NaN"`, `"inf"`).
    ///
    /// # Errors
    /// Never in practice (serialization of these types does not fail).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Reads a history written by [`History::to_json`].
    ///
    /// # Errors
    /// [`MonitorError::Json`] when the text is not such a history.
    pub fn from_json(text: &str) -> Result<Self> {
        Ok(serde_json::from_str(text)?)
    }

    /// ‖∂L/∂W‖ of each layer with a weight on each detailed step ([`LayerGradNorms`]);
    /// the layers are those of the first detailed step (a layer missing from a later one
    /// has `None` there).
    pub fn layer_grad_norms(&self) -> LayerGradNorms {
        let detailed: Vec<&StepRecord> =
            self.steps.iter().filter(|s| !s.layers.is_empty()).collect();
        let Some(first) = detailed.first() else {
            return LayerGradNorms::default();
        };
        let paths: Vec<&LayerStats> = first
            .layers
            .iter()
            .filter(|l| l.weight_grad_norm.is_some())
            .collect();
        let norms = paths
            .iter()
            .map(|layer| {
                detailed
                    .iter()
                    .map(|r| {
                        r.layers
                            .iter()
                            .find(|l| l.path == layer.path)
                            .and_then(|l| l.weight_grad_norm)
                            .filter(|g| g.is_finite())
                    })
                    .collect()
            })
            .collect();
        LayerGradNorms {
            layers: paths
                .iter()
                .map(|l| format!("{} {}", l.path, l.kind))
                .collect(),
            steps: detailed.iter().map(|r| r.step).collect(),
            norms,
        }
    }

    /// The indices of the records a [`Detail::Summary`] keeps per-parameter, per-layer
    /// and update rows for: at most [`SUMMARY_DETAILED_STEPS`] detailed records, evenly
    /// spread, the first and the last included.
    pub fn summary_steps(&self) -> Vec<usize> {
        let detailed: Vec<usize> = (0..self.steps.len())
            .filter(|&i| !self.steps[i].layers.is_empty())
            .collect();
        let n = detailed.len();
        if n <= SUMMARY_DETAILED_STEPS {
            return detailed;
        }
        let k = SUMMARY_DETAILED_STEPS - 1;
        let mut kept: Vec<usize> = (0..=k).map(|j| detailed[j * (n - 1) / k]).collect();
        kept.dedup();
        kept
    }

    /// `monitor.json` at [`Detail::Summary`], with the caller's `findings`.
    pub fn summary(&self, findings: Vec<String>) -> HistorySummary {
        HistorySummary {
            detail: Detail::Summary,
            steps: self.steps.len(),
            detailed_steps: self
                .steps
                .iter()
                .filter(|s| !s.layers.is_empty())
                .map(|s| s.step)
                .collect(),
            tables_at: self
                .summary_steps()
                .into_iter()
                .map(|i| self.steps[i].step)
                .collect(),
            metrics: self.metrics.clone(),
            non_finite: self.non_finite.clone(),
            findings,
        }
    }

    /// The same history with only the records a [`Detail::Summary`] keeps tables for
    /// ([`History::summary_steps`]); the metrics and the non-finite event whole.
    fn thinned(&self) -> History {
        History {
            steps: self
                .summary_steps()
                .into_iter()
                .map(|i| self.steps[i].clone())
                .collect(),
            metrics: self.metrics.clone(),
            non_finite: self.non_finite.clone(),
        }
    }

    /// Writes `monitor.json` (`json`) and the CSVs (into `dir`) at `detail`: the whole
    /// history ([`History::write_json`], [`History::write_csv`]), or the
    /// [`HistorySummary`] with `findings`, `steps.csv`, `metrics.csv` and
    /// [`LayerGradNorms::CSV_FILE`] whole and the other tables at
    /// [`History::summary_steps`].
    ///
    /// # Errors
    /// [`MonitorError::Io`] naming the file or directory.
    pub fn write(
        &self,
        detail: Detail,
        json: &Path,
        dir: &Path,
        findings: Vec<String>,
    ) -> Result<()> {
        match detail {
            Detail::Full => {
                self.write_json(json)?;
                self.write_csv(dir)
            }
            Detail::Summary => {
                write_file(
                    json,
                    &serde_json::to_string_pretty(&self.summary(findings))?,
                )?;
                create_dir(dir)?;
                write_file(&dir.join("steps.csv"), &self.steps_csv())?;
                self.thinned().write_record_tables(dir)?;
                self.write_layer_grad_norms(dir)?;
                write_file(&dir.join("metrics.csv"), &self.metrics_csv())
            }
        }
    }

    /// One row per step: `step,loss,global_grad_norm,first_last_ratio,max_update_ratio`.
    pub fn steps_csv(&self) -> String {
        let mut s = String::from("step,loss,global_grad_norm,first_last_ratio,max_update_ratio\n");
        for r in &self.steps {
            let _ = writeln!(
                s,
                "{},{},{},{},{}",
                r.step,
                csv_f(r.loss),
                csv_f(r.global_grad_norm),
                csv_opt(r.first_last_ratio),
                csv_opt(r.max_update_ratio())
            );
        }
        s
    }

    /// One row per step and parameter.
    pub fn params_csv(&self) -> String {
        let mut s = String::from(
            "step,name,grad_norm,grad_max_abs,grad_zero_fraction,grad_nan,grad_inf,no_gradient,weight_norm\n",
        );
        for r in &self.steps {
            for p in &r.params {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},{},{},{}",
                    r.step,
                    csv_s(&p.name),
                    csv_f(p.grad_norm),
                    csv_f(p.grad_max_abs),
                    csv_f(p.grad_zero_fraction),
                    p.grad_nan,
                    p.grad_inf,
                    p.no_gradient,
                    csv_f(p.weight_norm)
                );
            }
        }
        s
    }

    /// One row per detailed step and layer.
    pub fn layers_csv(&self) -> String {
        let mut s = String::from(
            "step,path,kind,activation,mean,std,second_moment,zero_fraction,dead_fraction,saturated_fraction,non_finite,output_grad_norm,weight_grad_norm,bias_grad_norm\n",
        );
        for r in &self.steps {
            for l in &r.layers {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    r.step,
                    csv_s(&l.path),
                    csv_s(&l.kind),
                    csv_s(l.activation.as_deref().unwrap_or("")),
                    csv_f(l.mean),
                    csv_f(l.std),
                    csv_f(l.second_moment),
                    csv_f(l.zero_fraction),
                    csv_opt(l.dead_fraction),
                    csv_opt(l.saturated_fraction),
                    l.non_finite,
                    csv_opt(l.output_grad_norm),
                    csv_opt(l.weight_grad_norm),
                    csv_opt(l.bias_grad_norm)
                );
            }
        }
        s
    }

    /// One row per step and parameter whose update was recorded.
    pub fn updates_csv(&self) -> String {
        let mut s = String::from("step,name,update_norm,weight_norm,ratio\n");
        for r in &self.steps {
            for u in &r.updates {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{}",
                    r.step,
                    csv_s(&u.name),
                    csv_f(u.update_norm),
                    csv_f(u.weight_norm),
                    csv_opt(u.ratio)
                );
            }
        }
        s
    }

    /// One row per detailed step, recurrent layer and time step t (1 … T):
    /// `step,layer,t,grad_norm` with ‖∂L/∂h_t‖.
    pub fn through_time_csv(&self) -> String {
        let mut s = String::from("step,layer,t,grad_norm\n");
        for r in &self.steps {
            for g in &r.through_time {
                for (t, v) in g.norms.iter().enumerate() {
                    let _ = writeln!(s, "{},{},{},{}", r.step, csv_s(&g.layer), t + 1, csv_f(*v));
                }
            }
        }
        s
    }

    /// One row per detailed step and recurrent weight:
    /// `step,param,block,spectral_radius` (empty when not measured).
    pub fn recurrent_csv(&self) -> String {
        let mut s = String::from("step,param,block,spectral_radius\n");
        for r in &self.steps {
            for x in &r.recurrent_radius {
                let _ = writeln!(
                    s,
                    "{},{},{},{}",
                    r.step,
                    csv_s(&x.param),
                    csv_s(&x.block),
                    csv_opt(x.radius)
                );
            }
        }
        s
    }

    /// One row per metric value: `metric,at,value`.
    pub fn metrics_csv(&self) -> String {
        let mut s = String::from("metric,at,value\n");
        for (name, values) in &self.metrics {
            for (at, v) in values {
                let _ = writeln!(s, "{},{at},{}", csv_s(name), csv_f(*v));
            }
        }
        s
    }

    /// Writes the JSON to `path` atomically (a temporary file renamed over it, so a failed
    /// write leaves the previous file whole).
    ///
    /// # Errors
    /// [`MonitorError::Io`] naming the file.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        write_file(path, &self.to_json()?)
    }

    /// Writes `steps.csv`, `params.csv`, `layers.csv`, `updates.csv`, `metrics.csv` and
    /// (with layer statistics) [`LayerGradNorms::CSV_FILE`] into the directory `dir`
    /// (created if missing), each atomically; for a model with recurrent layers also `through_time.csv` ([`History::through_time_csv`]) and
    /// `recurrent.csv` ([`History::recurrent_csv`]).
    ///
    /// # Errors
    /// [`MonitorError::Io`] naming the file or directory.
    pub fn write_csv(&self, dir: &Path) -> Result<()> {
        create_dir(dir)?;
        write_file(&dir.join("steps.csv"), &self.steps_csv())?;
        self.write_record_tables(dir)?;
        self.write_layer_grad_norms(dir)?;
        write_file(&dir.join("metrics.csv"), &self.metrics_csv())
    }

    /// [`LayerGradNorms::CSV_FILE`] into the existing directory `dir`, when the history
    /// has layer statistics.
    fn write_layer_grad_norms(&self, dir: &Path) -> Result<()> {
        let table = self.layer_grad_norms();
        if table.steps.is_empty() {
            return Ok(());
        }
        write_file(&dir.join(LayerGradNorms::CSV_FILE), &table.to_csv())
    }

    /// The tables of the detailed records, into the existing directory `dir`:
    /// `params.csv`, `layers.csv`, `updates.csv`, and for a model with recurrent layers
    /// `through_time.csv` and `recurrent.csv`.
    fn write_record_tables(&self, dir: &Path) -> Result<()> {
        write_file(&dir.join("params.csv"), &self.params_csv())?;
        write_file(&dir.join("layers.csv"), &self.layers_csv())?;
        if self.steps.iter().any(|r| !r.through_time.is_empty()) {
            write_file(&dir.join("through_time.csv"), &self.through_time_csv())?;
        }
        if self.steps.iter().any(|r| !r.recurrent_radius.is_empty()) {
            write_file(&dir.join("recurrent.csv"), &self.recurrent_csv())?;
        }
        write_file(&dir.join("updates.csv"), &self.updates_csv())
    }
}
