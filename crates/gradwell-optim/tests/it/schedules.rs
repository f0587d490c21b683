//! Schedules against PyTorch's sequences (docs/parity.md#learning-rate-schedules and the fixtures).

use gradwell_optim::{
    CosineAnnealingLr, ExponentialLr, LinearLr, LrSchedule, OneCycleConfig, OptimError,
    PlateauConfig, ReduceLrOnPlateau, Schedule, ScheduleKind, SequentialLr, StepLr,
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

fn sequence(kind: impl Into<ScheduleKind>, n: u64) -> Vec<f64> {
    let kind = kind.into();
    (0..n).map(|k| kind.lr_at(1.0, k, n).unwrap()).collect()
}

fn cosine(t_max: u64, eta_min: f64) -> CosineAnnealingLr {
    CosineAnnealingLr {
        t_max: Some(t_max),
        eta_min,
    }
}

fn linear(start_factor: f64, end_factor: f64, total_iters: u64) -> LinearLr {
    LinearLr {
        start_factor,
        end_factor,
        total_iters,
    }
}

fn sequential(parts: Vec<ScheduleKind>, milestones: Vec<u64>) -> ScheduleKind {
    ScheduleKind::Sequential(SequentialLr { parts, milestones })
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
        &sequence(
            StepLr {
                step_size: 2,
                gamma: 0.5,
            },
            5,
        ),
        &[1.0, 1.0, 0.5, 0.5, 0.25],
        0.0,
    );
    assert_close(
        &sequence(cosine(4, 0.0), 9),
        &[1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464, 0.5, 0.8536, 1.0],
        5e-5,
    );
    assert_close(
        &sequence(LinearLr::default(), 7),
        &[0.3333, 0.4667, 0.6, 0.7333, 0.8667, 1.0, 1.0],
        5e-5,
    );
    assert_close(
        &sequence(OneCycleConfig::new(1.0, 10), 10),
        &[
            0.04, 0.52, 1.0, 0.9505, 0.8117, 0.6113, 0.3887, 0.1883, 0.0495, 4e-6,
        ],
        5e-5,
    );
}

#[test]
fn one_cycle_refuses_to_step_past_its_end() {
    let mut s = LrSchedule::new(1.0, OneCycleConfig::new(1.0, 10).into(), 10).unwrap();
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
    let named = |kind: ScheduleKind, what: &str| {
        let e = kind.check().expect_err(what).to_string();
        assert!(e.contains(what), "`{e}` does not name {what}");
    };
    named(
        StepLr {
            step_size: 0,
            gamma: 0.5,
        }
        .into(),
        "step_size",
    );
    named(ExponentialLr { gamma: -1.0 }.into(), "gamma");
    named(cosine(0, 0.0).into(), "t_max");
    named(linear(0.0, 1.0, 5).into(), "start_factor");
    named(linear(0.5, 1.5, 5).into(), "end_factor");
    named(OneCycleConfig::new(1.0, 3).pct_start(0.2).into(), "phase");
    named(OneCycleConfig::new(-1.0, 10).into(), "max_lr");
    let constant = ScheduleKind::default;
    named(
        sequential(vec![constant(), constant()], vec![]),
        "milestones",
    );
    named(sequential(vec![constant(); 3], vec![4, 4]), "milestones");
    named(
        sequential(vec![constant(), PlateauConfig::default().into()], vec![2]),
        "metric",
    );
    let e = ReduceLrOnPlateau::new(1.0, PlateauConfig::default().factor(1.0)).unwrap_err();
    assert!(e.to_string().contains("factor"));
    let mut p = ReduceLrOnPlateau::new(1.0, PlateauConfig::default()).unwrap();
    assert!(p.step(None).unwrap_err().to_string().contains("metric"));
    let bad: Result<ScheduleKind, _> =
        serde_json::from_str(r#"{"kind":"step","step_size":0,"gamma":0.5}"#);
    assert!(bad.is_err(), "deserializing validates too");
    let e: OptimError = "step:0".parse::<ScheduleKind>().unwrap_err();
    assert!(
        e.to_string().contains("step_size"),
        "parsing validates too: {e}"
    );
}

/// Schedules survive a serde round trip and keep producing the same rates.
#[test]
fn curves_round_trip_through_json() {
    let kind = sequential(
        vec![
            linear(0.1, 1.0, 5).into(),
            OneCycleConfig::new(0.5, 20).into(),
        ],
        vec![5],
    );
    let back: ScheduleKind = serde_json::from_str(&serde_json::to_string(&kind).unwrap()).unwrap();
    assert_eq!(back, kind);
    assert_eq!(sequence(back, 25), sequence(kind, 25));
}
