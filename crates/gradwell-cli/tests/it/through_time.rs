//! The monitor through time from the command line: the probe's through-time section, the
//! findings `train` prints, and the per-step norms in `--out`.

use crate::{gradwell, temp_dir, text};

fn ok(args: &[&str]) -> (String, String) {
    let o = gradwell(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{args:?} failed: {err}");
    (out, err)
}

/// A tanh RNN at PyTorch's init (spectral radius ≈ 0.58 for 16 units) over 30 steps:
/// about 0.6^29 ≈ 4e-7 of the last step's gradient reaches the first.
#[test]
fn the_probe_of_a_recurrent_model_shows_the_gradient_through_time() {
    let (out, _) = ok(&["probe", "--data", "adding:30,64", "--model", "rnn:16"]);
    assert!(out.contains("through time ("), "{out}");
    assert!(out.contains("layer 0 (RNN, T = 30): t=30 "), "{out}");
    assert!(
        out.contains("the gradient reaching step 1 is") && out.contains("of the one at step 30"),
        "{out}"
    );
    assert!(
        out.contains("spectral radius of W_hh (0.weight_hh_l0): 0."),
        "{out}"
    );
    assert!(
        out.contains(": vanishing through time — layer 0 (RNN)"),
        "{out}"
    );
    assert!(out.contains("cure: use an LSTM or a GRU"), "{out}");
    // A feed-forward model has no such section.
    let (out, _) = ok(&["probe", "--depth", "3", "--width", "8"]);
    assert!(!out.contains("through time"), "{out}");
}

#[test]
fn training_a_recurrent_model_prints_the_finding_and_writes_the_norms_per_step() {
    let out = temp_dir("through-time");
    let dir = out.to_str().unwrap();
    let (_, stderr) = ok(&[
        "train",
        "--data",
        "adding:20,64",
        "--model",
        "rnn:8",
        // One step per epoch; a finding is printed once it has held for three checks.
        "--epochs",
        "3",
        "--monitor-every",
        "1",
        "--out",
        dir,
    ]);
    assert!(stderr.contains("vanishing through time"), "{stderr}");
    let csv = std::fs::read_to_string(out.join("monitor").join("through_time.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("step,layer,t,grad_norm"));
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty() && rows.len().is_multiple_of(20), "{csv}");
    assert!(rows[19].contains(",0,20,"), "{csv}");
    let radius = std::fs::read_to_string(out.join("monitor").join("recurrent.csv")).unwrap();
    let rho: f64 = radius
        .lines()
        .nth(1)
        .and_then(|l| l.strip_prefix("1,0.weight_hh_l0,W_hh,"))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{radius}"));
    assert!(rho > 0.0 && rho < 1.0, "{rho}");
}
