//! Schedules against PyTorch's sequences (docs/parity.md#learning-rate-schedules and the fixtures).

use gradwell_optim::{
    Curve, LrSchedule, OneCycleConfig, PlateauConfig, ReduceLrOnPlateau, Schedule,
};

use crate::harness::{self, SCHEDULE_ATOL};

#[test]
fn every_schedule_follows_pytorch() {
    let cases = harness::schedule_cases();
    assert!(cases.len() >= 10);
    let mut failures = Vec::new();
    for name in &cases {
        let err = harness::run_schedule_case(name);
        if err.is_nan() || err > SCHEDULE_ATOL {
            failures.push(format!("{name}: error {err:e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn sequence(curve: Curve, n: u64) -> Vec<f64> {
    (0..n).map(|k| curve.lr_at(1.0, k).unwrap()).collect()
}

fn assert_close(ours: &[f64], want: &[f64], tol: f64) {
    assert_eq!(ours.len(), want.len());
    for (k, (a, b)) in ours.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tol, "k = {k}: {a} != {b}");
    }
}

/// The sequences listed in docs/parity.md#learning-rate-schedules (printed there to 4 digits).
#[test]
fn reference_sequences() {
    assert_close(
        &sequence(Curve::step(2, 0.5).unwrap(), 5),
        &[1.0, 1.0, 0.5, 0.5, 0.25],
        0.0,
    );
    assert_close(
        &sequence(Curve::cosine(4, 0.0).unwrap(), 9),
        &[1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464, 0.5, 0.8536, 1.0],
        5e-5,
    );
    assert_close(
        &sequence(Curve::linear_warmup_default(), 7),
        &[0.3333, 0.4667, 0.6, 0.7333, 0.8667, 1.0, 1.0],
        5e-5,
    );
    assert_close(
        &sequence(Curve::one_cycle(OneCycleConfig::new(1.0, 10)).unwrap(), 10),
        &[
            0.04, 0.52, 1.0, 0.9505, 0.8117, 0.6113, 0.3887, 0.1883, 0.0495, 4e-6,
        ],
        5e-5,
    );
}

#[test]
fn one_cycle_refuses_to_step_past_its_end() {
    let mut s = LrSchedule::new(1.0, Curve::one_cycle(OneCycleConfig::new(1.0, 10)).unwrap());
    for _ in 0..10 {
        s.step(None).unwrap();
    }
    let lr = s.lr();
    let e = s.step(None).unwrap_err();
    assert!(e.to_string().contains("total_steps"), "{e}");
    assert_eq!(
        (s.steps(), s.lr()),
        (10, lr),
        "a failed step changes nothing"
    );
}

#[test]
fn bad_schedules_are_named() {
    let named = |r: Result<Curve, gradwell_optim::OptimError>, what: &str| {
        let e = r.expect_err(what).to_string();
        assert!(e.contains(what), "`{e}` does not name {what}");
    };
    named(Curve::step(0, 0.5), "step_size");
    named(Curve::exponential(-1.0), "gamma");
    named(Curve::cosine(0, 0.0), "t_max");
    named(Curve::linear(0.0, 1.0, 5), "start_factor");
    named(Curve::linear(0.5, 1.5, 5), "end_factor");
    named(
        Curve::one_cycle(OneCycleConfig::new(1.0, 3).pct_start(0.2)),
        "phase",
    );
    named(Curve::one_cycle(OneCycleConfig::new(-1.0, 10)), "max_lr");
    named(
        Curve::sequential(vec![Curve::constant(), Curve::constant()], vec![]),
        "milestones",
    );
    named(
        Curve::sequential(vec![Curve::constant(); 3], vec![4, 4]),
        "milestones",
    );
    let e = ReduceLrOnPlateau::new(1.0, PlateauConfig::default().factor(1.0)).unwrap_err();
    assert!(e.to_string().contains("factor"));
    let mut p = ReduceLrOnPlateau::new(1.0, PlateauConfig::default()).unwrap();
    assert!(p.step(None).unwrap_err().to_string().contains("metric"));
    let bad: Result<Curve, _> =
        serde_json::from_str(r#"{"kind":"step","step_size":0,"gamma":0.5}"#);
    assert!(bad.is_err(), "deserializing validates too");
}

/// Curves survive a serde round trip and keep producing the same rates.
#[test]
fn curves_round_trip_through_json() {
    let curve = Curve::sequential(
        vec![
            Curve::linear(0.1, 1.0, 5).unwrap(),
            Curve::one_cycle(OneCycleConfig::new(0.5, 20)).unwrap(),
        ],
        vec![5],
    )
    .unwrap();
    let back: Curve = serde_json::from_str(&serde_json::to_string(&curve).unwrap()).unwrap();
    assert_eq!(back, curve);
    assert_eq!(sequence(back, 25), sequence(curve, 25));
}
