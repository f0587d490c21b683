//! The history round-trips through JSON (non-finite numbers included) and writes CSV tables.

use gradwell_monitor::{History, Monitor, MonitorConfig};
use gradwell_nn::{MlpSpec, losses};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{build, gaussian, temp_dir};

fn recorded() -> History {
    let mlp = MlpSpec::new(&[4, 6, 3], "tanh".parse().unwrap());
    let mut net = build(&mlp.to_spec().unwrap(), 2);
    let mut monitor = Monitor::new(MonitorConfig {
        layer_every: 2,
        ..Default::default()
    });
    let x = gaussian(5, 4, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for step in 0..3 {
        net.tape.reset();
        let xv = net.tape.input_view(&x.view().into_dyn());
        let mut taps = Vec::new();
        let out = net.forward(xv, true, &mut rng, Some(&mut taps)).unwrap();
        let labels = net.tape.labels(&[0, 1, 2, 0, 1]);
        let loss =
            losses::cross_entropy(&mut net.tape, out, labels, 0.0, Default::default()).unwrap();
        net.tape.backward(loss).unwrap();
        let lv = net.tape.value(loss)[[]] as f64;
        monitor.record(step, &net.tape, &taps, lv);
    }
    monitor.record_metric("test_accuracy", 1, 0.5);
    monitor.into_history()
}

#[test]
fn json_round_trip_keeps_non_finite_numbers() {
    let mut h = recorded();
    h.steps[1].loss = f64::NAN;
    h.steps[2].global_grad_norm = f64::INFINITY;
    let text = h.to_json().unwrap();
    assert!(text.contains("\"NaN\"") && text.contains("\"inf\""));
    let back = History::from_json(&text).unwrap();
    assert!(back.steps[1].loss.is_nan());
    assert_eq!(back.steps[2].global_grad_norm, f64::INFINITY);
    // Numbers come back to within the last digit JSON printing keeps.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-15 * a.abs().max(b.abs());
    assert!(close(back.steps[0].loss, h.steps[0].loss));
    assert_eq!(back.steps[0].layers.len(), h.steps[0].layers.len());
    for (a, b) in back.steps[0].params.iter().zip(&h.steps[0].params) {
        assert_eq!(
            (&a.name, &a.shape, a.no_gradient),
            (&b.name, &b.shape, b.no_gradient)
        );
        assert!(close(a.grad_norm, b.grad_norm));
    }
    assert_eq!(back.metrics, h.metrics);
    assert!(History::from_json("{\"steps\": 3}").is_err());
}

#[test]
fn csv_tables_have_one_row_per_record() {
    let h = recorded();
    let steps = h.steps_csv();
    assert_eq!(steps.lines().count(), 1 + 3);
    assert!(steps.starts_with("step,loss,global_grad_norm"));
    // 4 parameters per step.
    assert_eq!(h.params_csv().lines().count(), 1 + 3 * 4);
    // Layers on steps 0 and 2 only: 3 layers each.
    let layers = h.layers_csv();
    assert_eq!(layers.lines().count(), 1 + 2 * 3);
    assert!(layers.lines().nth(2).unwrap().starts_with("0,1,Tanh,tanh,"));
    assert_eq!(h.metrics_csv(), "metric,at,value\ntest_accuracy,1,5e-1\n");
    let dir = temp_dir("csv");
    h.write_csv(&dir).unwrap();
    h.write_json(&dir.join("history.json")).unwrap();
    for f in [
        "steps.csv",
        "params.csv",
        "layers.csv",
        "updates.csv",
        "metrics.csv",
        "history.json",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// The layer × check table of weight gradient norms: one row per weight layer, one column
/// per detailed step, the figures of the records; written at every detail and read back
/// to four significant digits; a malformed file is refused naming its line.
#[test]
fn layer_grad_norms_cover_every_detailed_step_at_every_detail() {
    use gradwell_monitor::{Detail, LayerGradNorms};

    let h = recorded();
    let t = h.layer_grad_norms();
    // Two linear layers, detailed steps 0 and 2.
    assert_eq!(t.layers, ["0 Linear", "2 Linear"]);
    assert_eq!(t.steps, [0, 2]);
    for (row, layer) in t.norms.iter().zip(["0", "2"]) {
        for (norm, step) in row.iter().zip([0, 2]) {
            let record = h.steps.iter().find(|r| r.step == step).unwrap();
            let measured = record.layers.iter().find(|l| l.path == layer).unwrap();
            assert_eq!(*norm, measured.weight_grad_norm);
        }
    }
    for detail in Detail::ALL {
        let dir = temp_dir(&format!("grad-norms-{detail}"));
        h.write(detail, &dir.join("monitor.json"), &dir, Vec::new())
            .unwrap();
        let text = std::fs::read_to_string(dir.join(LayerGradNorms::CSV_FILE)).unwrap();
        let back = LayerGradNorms::from_csv(&text).unwrap();
        assert_eq!(
            (&back.layers, &back.steps),
            (&t.layers, &t.steps),
            "{detail}"
        );
        for (a, b) in back.norms.iter().flatten().zip(t.norms.iter().flatten()) {
            let (a, b) = (a.unwrap(), b.unwrap());
            assert!((a - b).abs() <= 5e-4 * b.abs(), "{a} vs {b}");
        }
        std::fs::remove_dir_all(dir).ok();
    }
    for (bad, line) in [
        ("layer,0 Linear\n1,2\n", "line 1"),
        ("step,0 Linear\n1,2,3\n", "line 2"),
        ("step,0 Linear\n1,x\n", "line 2"),
        ("step,0 Linear\n1,2\nz,2\n", "line 3"),
    ] {
        let e = LayerGradNorms::from_csv(bad).unwrap_err().to_string();
        assert!(
            e.contains(LayerGradNorms::CSV_FILE) && e.contains(line),
            "{bad:?}: {e}"
        );
    }
}
