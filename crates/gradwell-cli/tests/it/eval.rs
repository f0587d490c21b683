//! `gradwell eval` and `gradwell predict` on the folder `train --out` writes, and CSV
//! files with class names for labels.

use std::path::Path;

use crate::errors::refuses;
use crate::{gradwell, temp_dir, text};

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("the file is written"))
        .expect("valid JSON")
}

/// An iris-like file: three named species, four features, `rows` rows; the species
/// cycle in the order virginica, setosa, versicolor (not their sorted order).
fn write_iris(path: &Path, rows: usize) {
    let centers = [
        ("virginica", [6.6, 3.0, 5.6, 2.0]),
        ("setosa", [5.0, 3.4, 1.5, 0.2]),
        ("versicolor", [5.9, 2.8, 4.3, 1.3]),
    ];
    let mut text = String::from("sepal_length,sepal_width,petal_length,petal_width,species\n");
    for i in 0..rows {
        let (name, c) = centers[i % 3];
        // A small deterministic spread around each species' centre.
        let d = ((i * 7) % 11) as f64 / 50.0 - 0.1;
        for v in c {
            text += &format!("{:.2},", v + d);
        }
        text += name;
        text += "\n";
    }
    std::fs::write(path, text).expect("write the CSV");
}

#[test]
fn eval_gives_the_runs_accuracy_and_a_confusion_matrix_that_sums_to_it() {
    let dir = temp_dir("eval-digits");
    let run = dir.join("run");
    let o = gradwell(&["train", "--hidden", "32", "--epochs", "2", "--out", s(&run)]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let printed: f64 = out
        .trim()
        .strip_prefix("test accuracy: ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {out:?}"));
    // The test size train states: "(1438 training, 359 test samples, …)".
    let test_size: u64 = err
        .split(" test samples")
        .next()
        .and_then(|h| h.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no test size in {err:?}"));
    let reported = read_json(&run.join("run.json"))["test_accuracy"]
        .as_f64()
        .expect("run.json has the test accuracy");

    let json = dir.join("eval.json");
    let o = gradwell(&["eval", "--run", s(&run), "--out", s(&json)]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let e = read_json(&json);
    let accuracy = e["accuracy"].as_f64().expect("an accuracy");
    assert_eq!(accuracy, reported, "eval on the run's test set");
    assert!(out.contains(&format!("accuracy: {printed:.4}")), "{out}");
    assert_eq!(
        e["loss"].as_f64(),
        read_json(&run.join("run.json"))["test_loss"].as_f64()
    );
    let matrix: Vec<Vec<u64>> = serde_json::from_value(e["confusion"].clone()).expect("rows");
    let samples = e["samples"].as_u64().expect("samples");
    assert_eq!(matrix.len(), 10);
    let total: u64 = matrix.iter().flatten().sum();
    let diagonal: u64 = (0..10).map(|i| matrix[i][i]).sum();
    assert_eq!((total, samples), (test_size, test_size));
    assert_eq!(diagonal as f64 / total as f64, accuracy);
    assert!(out.contains("confusion matrix (rows: true class, columns: predicted)"));

    // --weights names the same run.
    let o = gradwell(&["eval", "--weights", s(&run.join("model.safetensors"))]);
    assert_eq!(text(&o).0, out);
}

#[test]
fn a_csv_with_class_names_trains_evaluates_and_predicts_by_name() {
    let dir = temp_dir("eval-iris");
    let csv = dir.join("iris.csv");
    write_iris(&csv, 90);
    let run = dir.join("run");
    let o = gradwell(&[
        "train",
        "--data",
        s(&csv),
        "--hidden",
        "16",
        "--epochs",
        "40",
        "--out",
        s(&run),
    ]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let mapping = "classes: 0 = setosa, 1 = versicolor, 2 = virginica";
    assert!(err.contains(mapping), "{err}");
    let saved = read_json(&run.join("data.json"));
    assert_eq!(
        saved["class_names"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );

    // The whole file, with the confusion matrix named by class.
    let o = gradwell(&["eval", "--run", s(&run), "--data", s(&csv)]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("iris: 90 samples"), "{out}");
    let header = out
        .lines()
        .skip_while(|l| !l.starts_with("confusion matrix"))
        .nth(1)
        .expect("a header row");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["setosa", "versicolor", "virginica"]
    );

    // Predictions by name, from a file without the label column and from one with it.
    let unlabelled = dir.join("new.csv");
    std::fs::write(&unlabelled, "5.0,3.4,1.5,0.2\n6.7,3.0,5.7,2.1\n").expect("write");
    let o = gradwell(&["predict", "--run", s(&run), "--data", s(&unlabelled)]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for (line, name) in lines.iter().zip(["setosa", "virginica"]) {
        let (class, p) = line.split_once(' ').expect("class and probability");
        assert_eq!(class, name, "{out}");
        let p: f64 = p.parse().expect("a probability");
        assert!(p > 1.0 / 3.0 && p <= 1.0, "{out}");
    }
    let o = gradwell(&["predict", "--run", s(&run), "--data", s(&csv)]);
    assert_eq!(text(&o).0.lines().count(), 90);
    let written = dir.join("p.csv");
    let o = gradwell(&[
        "predict",
        "--run",
        s(&run),
        "--data",
        s(&unlabelled),
        "--out",
        s(&written),
    ]);
    assert!(o.status.success() && text(&o).0.is_empty());
    let csv_out = std::fs::read_to_string(&written).expect("written");
    assert!(
        csv_out.starts_with("prediction,probability\nsetosa,"),
        "{csv_out}"
    );
}

#[test]
fn eval_and_predict_refusals_name_what_does_not_fit() {
    let dir = temp_dir("eval-refusals");
    let csv = dir.join("iris.csv");
    write_iris(&csv, 30);
    let run = dir.join("run");
    let o = gradwell(&[
        "train",
        "--data",
        s(&csv),
        "--epochs",
        "1",
        "--out",
        s(&run),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let r = s(&run);

    refuses(&["eval"], &["--run DIR", "--weights"]);
    refuses(
        &[
            "eval",
            "--run",
            r,
            "--weights",
            s(&run.join("model.safetensors")),
        ],
        &["--run", "--weights", "not both"],
    );
    refuses(
        &["eval", "--run", s(&dir)],
        &["config.toml", "no such file"],
    );
    refuses(
        &["eval", "--run", r, "--data", "digits"],
        &["64 features", "takes 4"],
    );
    let other = dir.join("other.csv");
    std::fs::write(&other, "1,2,3,4,setosa\n1,2,3,4,tulip\n").expect("write");
    refuses(
        &["eval", "--run", r, "--data", s(&other)],
        &["class `tulip`", "setosa, versicolor, virginica"],
    );
    std::fs::write(&other, "1,2,3,4,0\n1,2,3,4,3\n").expect("write");
    refuses(
        &["eval", "--run", r, "--data", s(&other)],
        &[
            "line 2, column 5",
            "label 3",
            "number of classes 3",
            "the model of",
        ],
    );
    std::fs::write(&other, "1,2,3\n").expect("write");
    refuses(
        &["predict", "--run", r, "--data", s(&other)],
        &["3 columns", "takes 4 features", "--label-column"],
    );
    refuses(
        &["predict", "--run", r, "--data", s(&dir.join("missing.csv"))],
        &["--data", "no such file"],
    );

    // Class names: mixed with integers, empty, or with a declared number of classes.
    std::fs::write(&other, "1,2,setosa\n1,2,virginica\n1,2,3\n").expect("write");
    refuses(
        &["train", "--data", s(&other)],
        &[
            "line 3, column 3",
            "label `3` is an integer",
            "cannot be mixed",
        ],
    );
    std::fs::write(&other, "1,2,setosa\n1,2,\n").expect("write");
    refuses(
        &["train", "--data", s(&other)],
        &["line 2, column 3", "empty label"],
    );
    refuses(
        &["train", "--data", s(&csv), "--classes", "3"],
        &["class names", "--classes", "--label-column"],
    );
}
