//! The input-output Jacobian's spread and its verdict.

use gradwell_autodiff::SingularValues;
use gradwell_monitor::{JacobianSpread, Thresholds};
use gradwell_nn::{ModelSpec, Network};
use ndarray::Array2;

/// A deep linear network with orthogonal weights is an exact isometry; scaling every
/// weight by 0.5 makes every direction shrink by 0.5 per layer.
#[test]
fn orthogonal_linear_layers_are_isometric_and_scaled_ones_vanish() {
    let layers = [r#"{"type": "linear", "out_features": 6, "init": "orthogonal"}"#; 8].join(",");
    let spec = ModelSpec::parse(&format!(r#"{{"input_shape": [6], "layers": [{layers}]}}"#))
        .expect("parses");
    let mut net = Network::<f64>::build(&spec, 3).expect("builds");
    let x = Array2::from_shape_fn((4, 6), |(i, j)| (i as f64 - j as f64) * 0.3);
    let t = Thresholds::default();
    let s = JacobianSpread::measure(&mut net, &x.view(), &t).expect("measures");
    assert_eq!(s.count, 6);
    assert!(
        (s.max - 1.0).abs() < 1e-12 && (s.min - 1.0).abs() < 1e-12,
        "{s}"
    );
    assert!(s.near_isometry, "{s}");
    assert!(s.to_string().contains("near dynamical isometry"), "{s}");
    for k in 0..8 {
        let id = net.param(&format!("{k}.weight")).expect("a weight");
        net.tape
            .params_mut()
            .value_mut(id)
            .mapv_inplace(|w| 0.5 * w);
    }
    let s = JacobianSpread::measure(&mut net, &x.view(), &t).expect("measures");
    assert!((s.max - 0.5_f64.powi(8)).abs() < 1e-15, "{s}");
    assert!(!s.near_isometry);
    assert!(
        s.to_string().contains("signals and gradients vanish"),
        "{s}"
    );
}

#[test]
fn the_verdict_follows_the_isometry_factor() {
    let s = SingularValues {
        values: vec![2.5, 1.0, 0.4],
    };
    let t = Thresholds::default();
    assert!(JacobianSpread::of(&s, &t).near_isometry);
    let strict = Thresholds {
        isometry_factor: 2.0,
        ..t
    };
    let spread = JacobianSpread::of(&s, &strict);
    assert!(!spread.near_isometry);
    assert!(
        spread
            .to_string()
            .contains("some directions grow and others shrink"),
        "{spread}"
    );
    let grows = SingularValues {
        values: vec![40.0, 8.0],
    };
    assert!(
        JacobianSpread::of(&grows, &t)
            .to_string()
            .contains("explode")
    );
}

#[test]
fn an_empty_batch_is_refused() {
    let spec = ModelSpec::parse(
        r#"{"input_shape": [3], "layers": [{"type": "linear", "out_features": 2}]}"#,
    )
    .expect("parses");
    let mut net = Network::<f64>::build(&spec, 0).expect("builds");
    let err = JacobianSpread::measure(
        &mut net,
        &Array2::zeros((0, 3)).view(),
        &Thresholds::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("at least one sample"), "{err}");
}

/// Figures print with two significant digits, scientific when very small or large.
#[test]
fn figures_print_short() {
    let s = SingularValues {
        values: vec![1.000_000_1, 0.999_99],
    };
    let text = JacobianSpread::of(&s, &Thresholds::default()).to_string();
    assert!(
        text.contains("span 1.0 … 1.0 (condition 1.0, mean σ² 1.0)"),
        "{text}"
    );
    let s = SingularValues {
        values: vec![1234.0, 0.123, 0.0049],
    };
    let text = JacobianSpread::of(&s, &Thresholds::default()).to_string();
    assert!(
        text.contains("span 4.9e-3 … 1.2e3 (condition 2.5e5"),
        "{text}"
    );
}
