//! `gradwell eval` and `gradwell predict`: a trained run folder (written by `train --out`)
//! applied to data. The folder's `config.toml` rebuilds the model, `model.safetensors`
//! gives its weights, and [`DATA_FILE`] ([`TrainedOn`]) says what it was trained on: the
//! features, the classes (with their names, for labels read as class names) and the
//! scaling fitted on the training set, which is applied to the data evaluated.

use std::path::{Path, PathBuf};

use gradwell_data::csv::{CsvOptions, LabelColumn, read_csv};
use gradwell_data::{CsvProblem, DataError, Dataset, TargetKind, Transform};
use gradwell_nn::Network;
use gradwell_train::{EvalMetrics, Prediction};
use serde::{Deserialize, Serialize};

use crate::cli::{EvalArgs, PredictArgs, RunArgs};
use crate::run::{pretty, write_file};
use crate::setup::{DataSection, RunFile, load_data};
use crate::{CliError, Result};

/// The run folder's file saying what the model was trained on.
pub const DATA_FILE: &str = "data.json";

/// What a run's model was trained on ([`DATA_FILE`] of the run folder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedOn {
    /// Features per sample.
    pub features: usize,
    /// The shape of one sample.
    pub feature_shape: Vec<usize>,
    /// The model's outputs: the number of classes, or of real targets.
    pub outputs: usize,
    /// The classes' names, index by index, when the labels were class names.
    pub class_names: Option<Vec<String>>,
    /// Whether the model gives a class per sample (not a class per step, nor real values).
    pub class_per_sample: bool,
    /// The scaling fitted on the training set (`None` for `preprocess = "none"`).
    pub transform: Option<Transform>,
}

impl TrainedOn {
    /// What `train` (its training set) and `transform` say.
    pub fn new(train: &Dataset, transform: Option<&Transform>) -> TrainedOn {
        TrainedOn {
            features: train.num_features(),
            feature_shape: train.feature_shape().to_vec(),
            outputs: train.num_outputs(),
            class_names: train.class_names().map(<[String]>::to_vec),
            class_per_sample: train.target_kind() == TargetKind::Class,
            transform: transform.cloned(),
        }
    }

    /// The class `index` as printed: its name, or the index.
    pub fn class(&self, index: usize) -> String {
        self.class_names
            .as_ref()
            .and_then(|n| n.get(index).cloned())
            .unwrap_or_else(|| index.to_string())
    }
}

/// `classes: 0 = setosa, 1 = versicolor, …`, for classes with names other than their
/// indices (`None` for digits, whose names are `0` to `9`).
pub fn class_mapping(names: &[String]) -> Option<String> {
    if names.iter().enumerate().all(|(i, n)| *n == i.to_string()) {
        return None;
    }
    let pairs: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{i} = {n}"))
        .collect();
    Some(format!("classes: {}", pairs.join(", ")))
}

/// A run folder, loaded: its config, what it was trained on, its model with the weights.
struct Loaded {
    dir: PathBuf,
    run: RunFile,
    trained: TrainedOn,
    weights: PathBuf,
}

fn load_run(a: &RunArgs) -> Result<Loaded> {
    let (dir, weights) = match (&a.run, &a.weights) {
        (Some(dir), None) => (dir.clone(), dir.join("model.safetensors")),
        (None, Some(w)) => (
            w.parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            w.clone(),
        ),
        (Some(dir), Some(w)) => {
            return Err(CliError::Invalid(format!(
                "--run {} and --weights {}: name the run folder or its weights, not both",
                dir.display(),
                w.display()
            )));
        }
        (None, None) => {
            return Err(CliError::Invalid(
                "name the trained run: --run DIR (a folder written by train --out) or --weights DIR/model.safetensors".into(),
            ));
        }
    };
    let config = dir.join("config.toml");
    if !config.is_file() {
        return Err(CliError::file(
            &config,
            "no such file: the model is rebuilt from the config.toml that train --out writes beside model.safetensors",
        ));
    }
    let run = RunFile::from_file(&config)?;
    let data_file = dir.join(DATA_FILE);
    let text = std::fs::read_to_string(&data_file).map_err(|e| {
        CliError::file(
            &data_file,
            format!("{e}: train --out writes it (the features, classes and scaling of the training set); retrain the run to get one"),
        )
    })?;
    let trained: TrainedOn =
        serde_json::from_str(&text).map_err(|e| CliError::file(&data_file, crate::one_line(e)))?;
    Ok(Loaded {
        dir,
        run,
        trained,
        weights,
    })
}

impl Loaded {
    /// The model with its trained weights, for the data set `ds` (already checked).
    fn network(&self, ds: &Dataset) -> Result<Network<f32>> {
        let (spec, _) = self.run.model_spec(ds.name(), ds)?;
        let mut net = Network::<f32>::build(&spec, self.run.train.seed)?;
        net.load_safetensors(&self.weights)?;
        Ok(net)
    }

    /// Refuses `ds` when its features do not fit the model; gives its labels the model's
    /// class numbers (by name for named classes) and scales its features as the training
    /// set was.
    fn fit(&self, ds: Dataset, labelled: bool) -> Result<Dataset> {
        let t = &self.trained;
        let dir = self.dir.display();
        if ds.num_features() != t.features {
            return Err(CliError::Invalid(format!(
                "`{}` has {} features per sample but the model of {dir} takes {}",
                ds.name(),
                ds.num_features(),
                t.features
            )));
        }
        let mut ds = match ds.target_kind() {
            TargetKind::Class if labelled => self.renumber(ds)?,
            TargetKind::Class => {
                let name = ds.name().to_string();
                let (features, _) = ds.into_parts();
                let n = features.nrows();
                Dataset::new(name, features, vec![0; n], t.outputs)?
            }
            TargetKind::StepClass { .. } | TargetKind::Value { .. } => {
                if ds.num_outputs() != t.outputs {
                    return Err(CliError::Invalid(format!(
                        "`{}` has {} outputs per step or sample but the model of {dir} has {}",
                        ds.name(),
                        ds.num_outputs(),
                        t.outputs
                    )));
                }
                ds
            }
        };
        if ds.feature_shape() != t.feature_shape.as_slice() {
            ds = ds.with_feature_shape(t.feature_shape.clone())?;
        }
        if let Some(tr) = &t.transform {
            tr.apply_to(&mut ds)?;
        }
        Ok(ds)
    }

    /// `ds` with the model's classes: names mapped to the model's numbers, integer labels
    /// checked to be below the model's number of classes.
    fn renumber(&self, ds: Dataset) -> Result<Dataset> {
        let t = &self.trained;
        let dir = self.dir.display();
        let name = ds.name().to_string();
        let names = ds.class_names().map(<[String]>::to_vec);
        let (features, labels) = ds.into_parts();
        let labels = match (&t.class_names, names) {
            (Some(model), Some(data)) => labels
                .iter()
                .map(|&l| {
                    let n = &data[usize::try_from(l).unwrap_or_default()];
                    model.iter().position(|m| m == n).map_or_else(
                        || {
                            Err(CliError::Invalid(format!(
                                "`{name}` has class `{n}`, which the model of {dir} does not know (its classes: {})",
                                model.join(", ")
                            )))
                        },
                        |i| Ok(i as gradwell_tensor::ClassLabel),
                    )
                })
                .collect::<Result<Vec<_>>>()?,
            (None, Some(data)) => {
                return Err(CliError::Invalid(format!(
                    "`{name}` has class names ({}) but the model of {dir} was trained on integer labels 0 to {}",
                    data.join(", "),
                    t.outputs.saturating_sub(1)
                )));
            }
            // Integer labels are class indices, whether or not the classes have names.
            (_, None) => {
                if let Some(&l) = labels
                    .iter()
                    .find(|&&l| usize::try_from(l).is_ok_and(|l| l >= t.outputs))
                {
                    return Err(CliError::Invalid(format!(
                        "`{name}` has label {l} but the model of {dir} has {} classes (0 to {})",
                        t.outputs,
                        t.outputs - 1
                    )));
                }
                labels
            }
        };
        let ds = Dataset::new(name, features, labels, t.outputs)?;
        Ok(match &t.class_names {
            Some(n) => ds.with_class_names(n.clone())?,
            None => ds,
        })
    }

    /// The data named by `--data` (every row of a CSV file; the test part of a named data
    /// set, split as the run split it), or by default the run's own test set.
    fn data(&self, data: Option<&str>, label_column: Option<&LabelColumn>) -> Result<Dataset> {
        let Some(src) = data else {
            return Ok(self.run.load_data()?.test);
        };
        let d = DataSection {
            source: src.to_string(),
            label_column: label_column
                .cloned()
                .or_else(|| self.run.data.label_column.clone()),
            classes: None,
            ..self.run.data.clone()
        };
        if is_csv(src) {
            // Integer labels are read as the model's classes (classes may lack samples);
            // class names are matched by name afterwards.
            let opts = CsvOptions::default()
                .label(d.label_column.clone().unwrap_or_default())
                .max_decompressed(d.max_decompressed()?);
            let ds = match read_labelled(Path::new(src), &opts, self.trained.outputs) {
                Err(
                    e @ DataError::Csv {
                        problem: CsvProblem::LabelOutOfRange { .. },
                        ..
                    },
                ) => {
                    return Err(CliError::Invalid(format!(
                        "{e} (the classes of the model of {})",
                        self.dir.display()
                    )));
                }
                other => other?,
            };
            return Ok(match d.sequence_length {
                Some(t) => ds.into_sequences(t)?,
                None => ds,
            });
        }
        Ok(load_data(&d, self.run.train.seed)?.test)
    }
}

/// Reads a CSV file whose integer labels are below `num_classes` (classes may lack
/// samples); a file whose labels are class names is read with its names.
fn read_labelled(
    path: &Path,
    opts: &CsvOptions,
    num_classes: usize,
) -> gradwell_data::Result<Dataset> {
    match read_csv(path, &opts.clone().num_classes(num_classes)) {
        Err(DataError::Csv {
            problem: CsvProblem::NamesWithNumClasses { .. },
            ..
        }) => read_csv(path, opts),
        other => other,
    }
}

fn is_csv(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    lower.ends_with(".csv") || lower.ends_with(".csv.gz")
}

/// What `gradwell eval` measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The data evaluated.
    pub data: String,
    /// Samples evaluated.
    pub samples: usize,
    /// Mean loss (cross-entropy, or the mean squared error for real targets).
    pub loss: f64,
    /// Fraction classified correctly (`None` for real targets).
    pub accuracy: Option<f64>,
    /// The classes, as printed (names, or indices).
    pub classes: Vec<String>,
    /// Samples of true class `i` (row) predicted as class `j` (column); empty unless there
    /// is a class per sample.
    pub confusion: Vec<Vec<u64>>,
}

/// `gradwell eval`: loss, accuracy and the confusion matrix of a trained run on data.
///
/// # Errors
/// A run folder that cannot be read; data that do not fit the model (naming both).
pub fn eval(a: &EvalArgs) -> Result<EvalReport> {
    let loaded = load_run(&a.run)?;
    let ds = loaded.data(a.data.as_deref(), a.label_column.as_ref())?;
    let ds = loaded.fit(ds, true)?;
    let mut net = loaded.network(&ds)?;
    let batch = loaded.run.train.eval_batch_size;
    let EvalMetrics {
        loss,
        accuracy,
        samples,
    } = gradwell_train::evaluate(&mut net, &ds, batch)?;
    let mut confusion = Vec::new();
    if ds.target_kind() == TargetKind::Class {
        let n = loaded.trained.outputs;
        confusion = vec![vec![0u64; n]; n];
        let predicted = gradwell_train::predict_classes(&mut net, &ds, batch)?;
        for (p, &l) in predicted.iter().zip(ds.labels()) {
            confusion[usize::try_from(l).unwrap_or_default()][p.class] += 1;
        }
    }
    let report = EvalReport {
        data: ds.name().to_string(),
        samples,
        loss,
        accuracy,
        classes: (0..loaded.trained.outputs)
            .map(|i| loaded.trained.class(i))
            .collect(),
        confusion,
    };
    if let Some(out) = &a.out {
        write_file(out, pretty(&report))?;
    }
    Ok(report)
}

/// `gradwell eval`'s text: samples, loss, accuracy, and the confusion matrix (rows: true
/// class, columns: predicted).
pub fn render_eval(r: &EvalReport) -> String {
    let mut s = format!("{}: {} samples\n", r.data, r.samples);
    match r.accuracy {
        Some(acc) => {
            s += &format!("loss: {:.4}\naccuracy: {acc:.4}\n", r.loss);
        }
        None => s += &format!("mse: {:.4}\n", r.loss),
    }
    if r.confusion.is_empty() {
        return s;
    }
    s += "confusion matrix (rows: true class, columns: predicted):\n";
    let width = r
        .classes
        .iter()
        .map(String::len)
        .chain(r.confusion.iter().flatten().map(|c| c.to_string().len()))
        .max()
        .unwrap_or(1);
    let label = r.classes.iter().map(String::len).max().unwrap_or(1);
    s += &format!("{:label$}", "");
    for c in &r.classes {
        s += &format!(" {c:>width$}");
    }
    s += "\n";
    for (c, row) in r.classes.iter().zip(&r.confusion) {
        s += &format!("{c:label$}");
        for n in row {
            s += &format!(" {n:>width$}");
        }
        s += "\n";
    }
    s
}

/// `gradwell predict`: the predicted class and its probability for every row of a CSV
/// file, printed one per line or written to `--out` as CSV (`prediction,probability`).
/// The file's label column is told by its width: as many columns as the model has
/// features is no label, one more holds the label (`--label-column`, default last),
/// which is not read.
///
/// # Errors
/// A run folder that cannot be read; a file whose columns do not fit the model.
pub fn predict(a: &PredictArgs) -> Result<String> {
    let loaded = load_run(&a.run)?;
    if !loaded.trained.class_per_sample {
        return Err(CliError::Invalid(format!(
            "predict gives a class per sample; the model of {} was trained on {}",
            loaded.dir.display(),
            loaded.run.data.source
        )));
    }
    let features = loaded.trained.features;
    let path = Path::new(&a.data);
    if !path.is_file() {
        return Err(CliError::flag("--data", path.display(), "no such file"));
    }
    let label = a
        .label_column
        .clone()
        .or_else(|| loaded.run.data.label_column.clone())
        .unwrap_or_default();
    let limit = loaded.run.data.max_decompressed()?;
    // The label, if any, is not read: any integer (below MAX_CLASSES) or name will do.
    let labelled = read_labelled(
        path,
        &CsvOptions::default().label(label).max_decompressed(limit),
        gradwell_data::MAX_CLASSES,
    );
    let ds = match labelled {
        Ok(ds) if ds.num_features() == features => ds,
        first => {
            let opts = CsvOptions::default().unlabelled().max_decompressed(limit);
            match (read_csv(path, &opts), first) {
                (Ok(ds), _) if ds.num_features() == features => ds,
                (_, Err(e)) => return Err(e.into()),
                (_, Ok(ds)) => {
                    return Err(CliError::Invalid(format!(
                        "{} has {} columns but the model of {} takes {features} features: give {features} columns, or {} with the label (--label-column)",
                        path.display(),
                        ds.num_features() + 1,
                        loaded.dir.display(),
                        features + 1
                    )));
                }
            }
        }
    };
    let ds = loaded.fit(ds, false)?;
    let mut net = loaded.network(&ds)?;
    let predicted: Vec<Prediction> =
        gradwell_train::predict_classes(&mut net, &ds, loaded.run.train.eval_batch_size)?;
    let mut text = String::new();
    let sep = if a.out.is_some() { "," } else { " " };
    if a.out.is_some() {
        text += "prediction,probability\n";
    }
    for p in &predicted {
        let mut class = loaded.trained.class(p.class);
        if a.out.is_some() && class.contains([',', '"', '\n', '\r']) {
            class = format!("\"{}\"", class.replace('"', "\"\""));
        }
        text += &format!("{class}{sep}{:.4}\n", p.probability);
    }
    if let Some(out) = &a.out {
        write_file(out, &text)?;
        return Ok(String::new());
    }
    Ok(text)
}
