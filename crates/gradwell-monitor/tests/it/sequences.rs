//! The probe on recurrent models: outputs of three axes, a class per step, real targets,
//! and a recurrent layer's weights (`weight_ih_l0`, `weight_hh_l0`) measured together.

use gradwell_monitor::{ProbeTargets, Setup, Thresholds, probe_targets};
use gradwell_nn::{ModelSpec, Network};

use crate::gaussian;

fn net(json: &str) -> Network<f32> {
    Network::build(&ModelSpec::parse(json).unwrap(), 3).unwrap()
}

#[test]
fn a_recurrent_layer_s_weights_are_measured_and_per_step_labels_scored() {
    let (batch, steps, features) = (8, 5, 3);
    let mut n = net(&format!(
        r#"{{"input_shape": [{steps}, {features}], "layers": [
            {{"type": "lstm", "hidden_size": 6}}, {{"type": "linear", "out_features": 4}}]}}"#
    ));
    let x = gaussian(batch, steps * features, 1);
    let labels: Vec<i64> = (0..batch * steps).map(|i| (i % 4) as i64).collect();
    let p = probe_targets(
        &mut n,
        &x.view(),
        ProbeTargets::Classes(&labels),
        &Thresholds::default(),
        &Setup::default(),
    )
    .unwrap();
    let rec = &p.record;
    assert!(rec.loss.is_finite() && rec.loss > 0.0);
    let lstm = &rec.layers[0];
    assert_eq!(lstm.kind, "LSTM");
    // Both weight matrices, together: the root of the sum of their squared norms.
    let norm = |name: &str| {
        rec.params
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .grad_norm
    };
    let both = (norm("0.weight_ih_l0").powi(2) + norm("0.weight_hh_l0").powi(2)).sqrt();
    let got = lstm.weight_grad_norm.unwrap();
    assert!((got - both).abs() <= 1e-9 * both, "{got} vs {both}");
    assert!(lstm.bias_grad_norm.is_some());
    assert_eq!(rec.layers[1].weight_grad_norm, Some(norm("1.weight")));
}

#[test]
fn real_targets_are_scored_by_the_mean_squared_error() {
    let mut n = net(r#"{"input_shape": [4, 2], "layers": [
            {"type": "gru", "hidden_size": 5}, {"type": "last_step"},
            {"type": "linear", "out_features": 1}]}"#);
    let x = gaussian(6, 8, 2);
    let y = [0.5f32; 6];
    let p = probe_targets(
        &mut n,
        &x.view(),
        ProbeTargets::Values(&y),
        &Thresholds::default(),
        &Setup::default(),
    )
    .unwrap();
    assert!(p.record.loss.is_finite());
    let e = probe_targets(
        &mut n,
        &x.view(),
        ProbeTargets::Values(&y[..5]),
        &Thresholds::default(),
        &Setup::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("5 real targets do not fit outputs of shape [6, 1]"),
        "{e}"
    );
}
