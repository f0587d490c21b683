//! Saving and restoring optimizer and schedule state.

use gradwell_optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, LinearLr, LrSchedule, OneCycleConfig, OptimError,
    Optimizer, OptimizerState, ParamSlot, PlateauConfig, ReduceLrOnPlateau, Rmsprop, RmspropConfig,
    Schedule, ScheduleKind, SequentialLr, Sgd, SgdConfig,
};
use gradwell_tensor::Float;

use crate::harness;

/// Builds a fresh optimizer.
type Make<F> = fn() -> Box<dyn Optimizer<F>>;

/// Every optimizer with all its buffers in use.
fn all_optimizers<F: Float>() -> Vec<(&'static str, Make<F>)> {
    vec![
        ("sgd", || {
            Box::new(
                Sgd::new(
                    SgdConfig::default()
                        .lr(0.05)
                        .momentum(0.9)
                        .nesterov(true)
                        .weight_decay(0.1),
                )
                .unwrap(),
            )
        }),
        ("adam", || {
            Box::new(Adam::new(AdamConfig::adamw().lr(0.05).amsgrad(true)).unwrap())
        }),
        ("rmsprop", || {
            Box::new(
                Rmsprop::new(
                    RmspropConfig::default()
                        .lr(0.01)
                        .momentum(0.9)
                        .centered(true),
                )
                .unwrap(),
            )
        }),
        ("adagrad", || {
            Box::new(Adagrad::new(AdagradConfig::default().lr(0.1).lr_decay(0.01)).unwrap())
        }),
    ]
}

/// Runs `steps` steps on the network problem in type `F`.
fn run<F: Float>(opt: &mut dyn Optimizer<F>, params: &mut [Vec<F>], steps: usize) {
    let (prob, _, _) = harness::case("network", "sgd");
    for _ in 0..steps {
        let wide: Vec<Vec<f64>> = params
            .iter()
            .map(|v| v.iter().map(|x| x.as_f64()).collect())
            .collect();
        let mut grads: Vec<Vec<F>> = prob
            .grads(&wide)
            .into_iter()
            .map(|g| g.into_iter().map(F::of).collect())
            .collect();
        let mut slots: Vec<ParamSlot<'_, F>> = prob
            .names
            .iter()
            .zip(params.iter_mut())
            .zip(grads.iter_mut())
            .map(|((n, v), g)| ParamSlot::new(n, v, g))
            .collect();
        opt.step(&mut slots).unwrap();
    }
}

fn init<F: Float>() -> Vec<Vec<F>> {
    let (_, init, _) = harness::case("network", "sgd");
    init.into_iter()
        .map(|v| v.into_iter().map(F::of).collect())
        .collect()
}

fn bits<F: Float>(params: &[Vec<F>]) -> Vec<u64> {
    params
        .iter()
        .flatten()
        .map(|x| x.as_f64().to_bits())
        .collect()
}

/// Save after 10 steps, restore (through JSON) into a fresh optimizer and parameters copied
/// at that point: the next 15 steps are bit-identical to the uninterrupted run.
fn resume_is_bit_identical<F: Float>() {
    for (name, make) in all_optimizers::<F>() {
        let mut straight = make();
        let mut p = init::<F>();
        run(straight.as_mut(), &mut p, 10);
        let json = serde_json::to_string(&straight.state()).unwrap();
        let mut p_resumed = p.clone();
        run(straight.as_mut(), &mut p, 15);

        let mut resumed = make();
        let state: OptimizerState<F> = serde_json::from_str(&json).unwrap();
        resumed.load_state(&state).unwrap();
        assert_eq!(resumed.steps(), 10);
        run(resumed.as_mut(), &mut p_resumed, 15);
        assert_eq!(
            bits(&p_resumed),
            bits(&p),
            "{name} ({}) diverged after resuming",
            F::NAME
        );

        // And a run that ignored the saved state would not be identical (the test can fail).
        let mut fresh = make();
        let mut p_fresh = init::<F>();
        run(fresh.as_mut(), &mut p_fresh, 10);
        let mut cold = make();
        run(cold.as_mut(), &mut p_fresh, 15);
        assert_ne!(bits(&p_fresh), bits(&p), "{name}: state made no difference");
    }
}

#[test]
fn resume_is_bit_identical_f64() {
    resume_is_bit_identical::<f64>();
}

#[test]
fn resume_is_bit_identical_f32() {
    resume_is_bit_identical::<f32>();
}

/// State restored into another model, or into another optimizer, is an error.
#[test]
fn state_of_another_model_is_refused() {
    let mut adam = Adam::<f64>::new(AdamConfig::default()).unwrap();
    let (mut w, mut g) = (vec![1.0; 3], vec![0.5; 3]);
    adam.step(&mut [ParamSlot::new("w", &mut w, &mut g)])
        .unwrap();
    let state = adam.state();

    // Other parameter name.
    let mut other = Adam::<f64>::new(AdamConfig::default()).unwrap();
    other.load_state(&state).unwrap();
    let e = other
        .step(&mut [ParamSlot::new("v", &mut w, &mut g)])
        .unwrap_err();
    assert!(matches!(e, OptimError::StateModelMismatch { .. }), "{e}");
    assert!(e.to_string().contains("`v`"));
    // Same name, other length.
    let (mut w4, mut g4) = (vec![1.0; 4], vec![0.5; 4]);
    let e = other
        .step(&mut [ParamSlot::new("w", &mut w4, &mut g4)])
        .unwrap_err();
    assert!(
        matches!(
            e,
            OptimError::StateMismatch {
                state: 3,
                param: 4,
                ..
            }
        ),
        "{e}"
    );
    // A saved parameter missing from the step.
    let (mut x, mut gx) = (vec![1.0; 3], vec![0.5; 3]);
    let mut two = Adam::<f64>::new(AdamConfig::default()).unwrap();
    two.step(&mut [
        ParamSlot::new("w", &mut w, &mut g),
        ParamSlot::new("x", &mut x, &mut gx),
    ])
    .unwrap();
    let mut one = Adam::<f64>::new(AdamConfig::default()).unwrap();
    one.load_state(&two.state()).unwrap();
    let e = one
        .step(&mut [ParamSlot::new("w", &mut w, &mut g)])
        .unwrap_err();
    assert!(e.to_string().contains("`x`"), "{e}");

    // Other optimizer, other buffers, inconsistent lengths.
    let mut sgd = Sgd::<f64>::new(SgdConfig::default().momentum(0.9)).unwrap();
    assert!(matches!(
        sgd.load_state(&state),
        Err(OptimError::BadState { .. })
    ));
    let mut ams = Adam::<f64>::new(AdamConfig::default().amsgrad(true)).unwrap();
    let e = ams.load_state(&state).unwrap_err();
    assert!(e.to_string().contains("max_exp_avg_sq"), "{e}");
    let mut broken = state.clone();
    broken.params[0].buffers.get_mut("exp_avg").unwrap().pop();
    let e = Adam::<f64>::new(AdamConfig::default())
        .unwrap()
        .load_state(&broken)
        .unwrap_err();
    assert!(e.to_string().contains("exp_avg"), "{e}");
}

/// State no optimizer can be in is refused at load, naming the parameter and the buffer,
/// and the optimizer is left as it was: non-finite values, negative second moments, a
/// parameter with more steps than the optimizer.
#[test]
fn impossible_state_is_refused_at_load() {
    const SECOND_MOMENTS: [&str; 4] = ["exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum"];
    for (name, make) in all_optimizers::<f64>() {
        let mut saved = make();
        run(saved.as_mut(), &mut init::<f64>(), 3);
        let state = saved.state();
        let param = state.params[0].name.clone();
        let mut target = make();
        let before = target.state();
        let refuses = |broken: &OptimizerState<f64>, needles: &[&str]| {
            let mut t = make();
            let e = t.load_state(broken).unwrap_err();
            assert!(matches!(e, OptimError::BadState { .. }), "{name}: {e}");
            for n in needles {
                assert!(e.to_string().contains(n), "{name}: `{n}` missing from {e}");
            }
            assert_eq!(
                t.state(),
                before,
                "{name}: a refused load changed the state"
            );
        };
        for buffer in state.params[0].buffers.keys() {
            for bad in [f64::NAN, f64::INFINITY] {
                let mut broken = state.clone();
                broken.params[0].buffers.get_mut(buffer).unwrap()[1] = bad;
                refuses(&broken, &[&param, buffer, "element 1", "not finite"]);
            }
            let mut negative = state.clone();
            negative.params[0].buffers.get_mut(buffer).unwrap()[2] = -1e-3;
            if SECOND_MOMENTS.contains(&buffer.as_str()) {
                refuses(
                    &negative,
                    &[&param, buffer, "element 2", "cannot be negative"],
                );
            } else {
                target
                    .load_state(&negative)
                    .unwrap_or_else(|e| panic!("{name}: `{buffer}` may be negative: {e}"));
            }
        }
        let mut ahead = state.clone();
        ahead.params[0].step = state.steps + 1;
        refuses(&ahead, &[&param, "4 steps", "3"]);
        target.load_state(&state).unwrap();
    }
}

/// A plateau schedule's counters are checked against its steps and cooldown at load.
#[test]
fn impossible_plateau_state_is_refused_at_load() {
    let make = || ReduceLrOnPlateau::new(1.0, PlateauConfig::default().cooldown(2)).unwrap();
    let mut s = make();
    for loss in [1.0, 1.0, 1.0] {
        s.step(Some(loss)).unwrap();
    }
    let state = s.state();
    make().load_state(&state).unwrap();
    let mut bad_epochs = state.clone();
    bad_epochs.num_bad_epochs = u64::MAX;
    let e = make().load_state(&bad_epochs).unwrap_err();
    assert!(e.to_string().contains("num_bad_epochs"), "{e}");
    let mut cooldown = state.clone();
    cooldown.cooldown_counter = 3;
    let e = make().load_state(&cooldown).unwrap_err();
    assert!(e.to_string().contains("cooldown_counter 3"), "{e}");
}

/// Schedules resume where they stopped, through JSON.
#[test]
fn schedules_resume() {
    let make: [fn() -> Box<dyn Schedule>; 2] = [
        || {
            let parts = vec![
                LinearLr {
                    start_factor: 0.1,
                    end_factor: 1.0,
                    total_iters: 3,
                }
                .into(),
                OneCycleConfig::new(0.5, 20).into(),
            ];
            let kind = ScheduleKind::Sequential(SequentialLr {
                parts,
                milestones: vec![3],
            });
            Box::new(LrSchedule::new(0.1, kind, 23).unwrap())
        },
        || {
            Box::new(
                ReduceLrOnPlateau::new(1.0, PlateauConfig::default().patience(1).cooldown(1))
                    .unwrap(),
            )
        },
    ];
    let metric = |k: usize| Some(1.0 / (1.0 + (k % 4) as f64));
    for m in make {
        let mut a = m();
        for k in 0..8 {
            a.step(metric(k)).unwrap();
        }
        let json = serde_json::to_string(&a.state()).unwrap();
        let mut b = m();
        b.load_state(&serde_json::from_str(&json).unwrap()).unwrap();
        for k in 8..20 {
            assert_eq!(
                a.step(metric(k)).unwrap().to_bits(),
                b.step(metric(k)).unwrap().to_bits()
            );
            assert_eq!(a.momentum(), b.momentum());
        }
    }
    let plateau_state = ReduceLrOnPlateau::new(1.0, PlateauConfig::default())
        .unwrap()
        .state();
    let mut curve = LrSchedule::new(1.0, ScheduleKind::default(), 1).unwrap();
    assert!(curve.load_state(&plateau_state).is_err());
}
