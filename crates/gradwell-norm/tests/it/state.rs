//! Parameters under PyTorch's state_dict names; running statistics saved and restored
//! through serde.

use gradwell_autodiff::Tape;
use gradwell_norm::{
    BatchNorm, BatchNormConfig, BatchNormState, LayerNorm, LayerNormConfig, NormError,
};

use crate::common::{rng, uniform};

#[test]
fn parameters_use_pytorch_state_dict_names() {
    let mut tape = Tape::<f32>::new();
    let bn = BatchNorm::new(
        tape.params_mut(),
        "features.1",
        4,
        BatchNormConfig::default(),
    )
    .unwrap();
    let s = tape.params();
    let names: Vec<(&str, bool)> = s.ids().map(|id| (s.name(id), s.is_trainable(id))).collect();
    assert_eq!(
        names,
        [
            ("features.1.weight", true),
            ("features.1.bias", true),
            ("features.1.running_mean", false),
            ("features.1.running_var", false),
            ("features.1.num_batches_tracked", false),
        ]
    );
    assert_eq!(
        s.value(bn.num_batches_tracked().unwrap()).shape(),
        &[] as &[usize]
    );
    let ln = LayerNorm::new(tape.params_mut(), "", 3, LayerNormConfig::default()).unwrap();
    assert_eq!(tape.params().name(ln.weight().unwrap()), "weight");
    assert_eq!(tape.params().name(ln.bias().unwrap()), "bias");
}

#[test]
fn affine_false_and_bias_false() {
    let mut tape = Tape::<f64>::new();
    let none = BatchNormConfig {
        affine: false,
        ..BatchNormConfig::default()
    };
    let bn = BatchNorm::new(tape.params_mut(), "a", 2, none).unwrap();
    assert!(bn.weight().is_none() && bn.bias().is_none());
    let no_bias = BatchNormConfig {
        bias: false,
        ..BatchNormConfig::default()
    };
    let bn = BatchNorm::new(tape.params_mut(), "b", 2, no_bias).unwrap();
    assert!(bn.weight().is_some() && bn.bias().is_none());
    assert_eq!(tape.params().len(), 3 + 4);
}

/// γ starts at `weight_init` (PyTorch's 1 by default, 0 for a zero-initialized residual
/// branch), which a config file may leave out; β still starts at 0.
#[test]
fn the_scale_starts_at_its_configured_value() {
    let mut tape = Tape::<f64>::new();
    let d = BatchNormConfig::default();
    assert_eq!(d.weight_init, gradwell_norm::DEFAULT_WEIGHT_INIT);
    for v in [1.0, 0.0, 0.25] {
        let c = BatchNormConfig {
            weight_init: v,
            ..d
        };
        let bn = BatchNorm::new(tape.params_mut(), &format!("bn{v}"), 3, c).unwrap();
        let p = tape.params();
        assert!(p.value(bn.weight().unwrap()).iter().all(|&w| w == v));
        assert!(p.value(bn.bias().unwrap()).iter().all(|&b| b == 0.0));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json.contains("weight_init"), v != 1.0, "{json}");
        assert_eq!(serde_json::from_str::<BatchNormConfig>(&json).unwrap(), c);
    }
}

/// A state saved as JSON and loaded into a fresh layer reproduces the evaluation output
/// bit for bit.
#[test]
fn state_round_trips_through_serde() {
    let mut tape = Tape::<f32>::new();
    let bn = BatchNorm::new(tape.params_mut(), "bn", 3, BatchNormConfig::default()).unwrap();
    let mut r = rng(9);
    for _ in 0..4 {
        tape.reset();
        let x = tape.input(uniform(&mut r, &[5, 3], -2.0, 4.0).mapv(|v| v as f32));
        bn.forward(&mut tape, x, true).unwrap();
    }
    let state = bn.state(tape.params()).unwrap();
    assert_eq!(state.num_batches_tracked, 4);
    let json = serde_json::to_string(&state).unwrap();
    let back: BatchNormState<f32> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);

    let probe = uniform(&mut r, &[1, 3], -2.0, 2.0).mapv(|v| v as f32);
    tape.reset();
    let x = tape.input(probe.clone());
    let y = bn.forward(&mut tape, x, false).unwrap();
    let y = tape.value(y).to_owned();

    let mut fresh = Tape::<f32>::new();
    let bn2 = BatchNorm::new(fresh.params_mut(), "bn", 3, BatchNormConfig::default()).unwrap();
    let x = fresh.input(probe.clone());
    let y_before = bn2.forward(&mut fresh, x, false).unwrap();
    assert_ne!(
        fresh.value(y_before),
        y.view(),
        "the probe must tell the states apart"
    );
    bn2.load_state(fresh.params_mut(), &back).unwrap();
    fresh.reset();
    let x = fresh.input(probe);
    let y2 = bn2.forward(&mut fresh, x, false).unwrap();
    assert_eq!(fresh.value(y2), y.view());
    assert_eq!(bn2.state(fresh.params()), Some(state));
}

#[test]
fn configs_round_trip_and_default_missing_fields() {
    let c = BatchNormConfig {
        momentum: None,
        eps: 1e-3,
        ..BatchNormConfig::default()
    };
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<BatchNormConfig>(&json).unwrap(), c);
    assert_eq!(
        serde_json::from_str::<BatchNormConfig>("{}").unwrap(),
        BatchNormConfig::default()
    );
    assert_eq!(
        serde_json::from_str::<LayerNormConfig>("{}").unwrap(),
        LayerNormConfig::default()
    );
    let d = BatchNormConfig::default();
    assert_eq!(
        (d.eps, d.momentum, d.affine, d.bias, d.track_running_stats),
        (1e-5, Some(0.1), true, true, true)
    );
}

#[test]
fn bad_states_are_refused_and_change_nothing() {
    let mut tape = Tape::<f64>::new();
    let bn = BatchNorm::new(tape.params_mut(), "bn", 2, BatchNormConfig::default()).unwrap();
    let good = bn.state(tape.params()).unwrap();
    let cases = [
        BatchNormState {
            running_mean: vec![0.0; 3],
            ..good.clone()
        },
        BatchNormState {
            running_var: vec![1.0],
            ..good.clone()
        },
        BatchNormState {
            running_var: vec![1.0, -0.5],
            ..good.clone()
        },
        BatchNormState {
            running_mean: vec![f64::NAN, 0.0],
            ..good.clone()
        },
    ];
    for bad in &cases {
        let e = bn.load_state(tape.params_mut(), bad).unwrap_err();
        assert!(matches!(e, NormError::InvalidState { .. }), "{e}");
        assert_eq!(bn.state(tape.params()).as_ref(), Some(&good));
    }
    let untracked = BatchNorm::new(
        tape.params_mut(),
        "u",
        2,
        BatchNormConfig {
            track_running_stats: false,
            ..BatchNormConfig::default()
        },
    )
    .unwrap();
    assert!(matches!(
        untracked.load_state(tape.params_mut(), &good),
        Err(NormError::InvalidState { .. })
    ));
}
