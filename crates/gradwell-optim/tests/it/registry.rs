//! Every registered optimizer and schedule, found through the registries: an item added to
//! a registry is tested here without a line of this file changing.

use gradwell_optim::{
    OptimError, Optimizer, OptimizerKind, OptimizerState, ParamGroups, ParamSlot, ScheduleKind,
    ScheduleSpec, ScheduleUnit,
};

/// Minimum of the quadratic below.
const TARGET: [f64; 6] = [0.5, -1.0, 2.0, 0.25, -0.75, 1.5];
/// Its curvatures (a diagonal Hessian with condition number 8).
const CURVATURE: [f64; 6] = [1.0, 2.0, 0.5, 4.0, 1.5, 0.25];

/// `½·Σ aᵢ(wᵢ − cᵢ)²`, over `w` and `bias` together.
fn loss(w: &[f64], b: &[f64]) -> f64 {
    w.iter()
        .chain(b)
        .zip(TARGET.iter().zip(CURVATURE))
        .map(|(x, (c, a))| 0.5 * a * (x - c) * (x - c))
        .sum()
}

/// One step of `opt` on the quadratic (a weight of 4 elements and a bias of 2).
fn step(opt: &mut dyn Optimizer<f64>, w: &mut [f64], b: &mut [f64]) -> Result<(), OptimError> {
    let grad = |x: &[f64], at: usize| -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(i, x)| CURVATURE[at + i] * (x - TARGET[at + i]))
            .collect()
    };
    let (mut gw, mut gb) = (grad(w, 0), grad(b, 4));
    opt.step(&mut [
        ParamSlot::new("layer.weight", w, &mut gw),
        ParamSlot::new("layer.bias", b, &mut gb),
    ])
    .map(|_| ())
}

fn start() -> (Vec<f64>, Vec<f64>) {
    (vec![0.0; 4], vec![0.0; 2])
}

fn bits(w: &[f64], b: &[f64]) -> Vec<u64> {
    w.iter().chain(b).map(|x| x.to_bits()).collect()
}

fn build(kind: &OptimizerKind) -> Box<dyn Optimizer<f64>> {
    kind.build(&ParamGroups::new())
        .unwrap_or_else(|e| panic!("{kind}: its defaults do not build: {e}"))
}

/// Every optimizer, with its defaults (PyTorch's), lowers the loss of a quadratic: after
/// 100 steps it is strictly below the start, and it moved every parameter.
#[test]
fn every_optimizer_descends_a_quadratic() {
    for kind in OptimizerKind::defaults() {
        let mut opt = build(&kind);
        let (mut w, mut b) = start();
        let before = loss(&w, &b);
        for _ in 0..100 {
            step(opt.as_mut(), &mut w, &mut b).unwrap();
        }
        let after = loss(&w, &b);
        assert!(after < before, "{kind}: loss {before} -> {after}");
        assert!(
            w.iter().chain(&b).all(|&x| x != 0.0),
            "{kind}: a parameter did not move"
        );
        assert_eq!(opt.steps(), 100, "{kind}");
    }
}

/// Saved after 5 steps and loaded (through JSON) into a fresh optimizer, the next steps are
/// bit-identical to those of the one that saved it, weights and state alike; the saved
/// state names both parameters, and for an optimizer that keeps buffers, one that ignored
/// them would end in another state.
#[test]
fn every_optimizer_resumes_bit_identically() {
    for kind in OptimizerKind::defaults() {
        let mut straight = build(&kind);
        let (mut w, mut b) = start();
        for _ in 0..5 {
            step(straight.as_mut(), &mut w, &mut b).unwrap();
        }
        let json = serde_json::to_string(&straight.state()).unwrap();
        let (mut w2, mut b2) = (w.clone(), b.clone());
        let (mut w3, mut b3) = (w.clone(), b.clone());
        for _ in 0..7 {
            step(straight.as_mut(), &mut w, &mut b).unwrap();
        }
        let mut resumed = build(&kind);
        let state: OptimizerState<f64> = serde_json::from_str(&json).unwrap();
        assert_eq!(state.steps, 5, "{kind}");
        assert_eq!(state.params.len(), 2, "{kind}");
        resumed.load_state(&state).unwrap();
        for _ in 0..7 {
            step(resumed.as_mut(), &mut w2, &mut b2).unwrap();
        }
        assert_eq!(
            bits(&w2, &b2),
            bits(&w, &b),
            "{kind}: diverged after resuming"
        );
        assert_eq!(resumed.state(), straight.state(), "{kind}: state diverged");
        // The buffers matter (Adam's moments, Adagrad's sums, momentum): a cold start
        // from the same weights ends with other buffers.
        if kind.state_buffers() > 0 {
            let mut cold = build(&kind);
            for _ in 0..7 {
                step(cold.as_mut(), &mut w3, &mut b3).unwrap();
            }
            let buffers = |s: OptimizerState<f64>| {
                s.params.into_iter().map(|p| p.buffers).collect::<Vec<_>>()
            };
            assert_ne!(
                buffers(cold.state()),
                buffers(straight.state()),
                "{kind}: the state made no difference"
            );
        }
    }
}

/// A NaN or infinite gradient is refused naming the parameter; no weight and no state
/// changes.
#[test]
fn every_optimizer_refuses_a_non_finite_gradient() {
    for kind in OptimizerKind::defaults() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut opt = build(&kind);
            let (mut w, mut b) = start();
            step(opt.as_mut(), &mut w, &mut b).unwrap();
            let (w0, b0, state0) = (w.clone(), b.clone(), opt.state());
            let (mut gw, mut gb) = (vec![0.1; 4], vec![0.2, bad]);
            let e = opt
                .step(&mut [
                    ParamSlot::new("layer.weight", &mut w, &mut gw),
                    ParamSlot::new("layer.bias", &mut b, &mut gb),
                ])
                .unwrap_err();
            assert!(
                matches!(&e, OptimError::NonFiniteGradient { name, index: 1, .. } if name == "layer.bias"),
                "{kind}: {e}"
            );
            assert_eq!((&w, &b), (&w0, &b0), "{kind}: weights moved");
            assert_eq!(opt.state(), state0, "{kind}: state moved");
        }
    }
}

/// Every optimizer reads back what it prints, as text and as a table, before and after a
/// setting changes; its buffer count is known before it is built.
#[test]
fn every_optimizer_round_trips_through_text_and_serde() {
    for mut kind in OptimizerKind::defaults() {
        for _ in 0..2 {
            let text = kind.to_string();
            assert_eq!(text.parse::<OptimizerKind>().unwrap(), kind, "{text}");
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(
                serde_json::from_str::<OptimizerKind>(&json).unwrap(),
                kind,
                "{json}"
            );
            let name = format!("\"{}\"", kind.name());
            let by_name: OptimizerKind = serde_json::from_str(&name).unwrap();
            assert_eq!(by_name.name(), kind.name());
            kind.set("lr", 0.0625).unwrap();
            kind.set("weight_decay", 0.125).unwrap();
        }
        assert_eq!(kind.lr(), 0.0625);
        let mut opt = build(&kind);
        assert_eq!(opt.state_buffers(), kind.state_buffers(), "{kind}");
        let (mut w, mut b) = start();
        step(opt.as_mut(), &mut w, &mut b).unwrap();
        for p in opt.state().params {
            assert_eq!(p.buffers.len(), kind.state_buffers(), "{kind}");
        }
    }
}

/// The settings every optimizer shares are checked for each, through the same `set` the
/// command line uses: a refused value names the setting and changes nothing.
#[test]
fn every_optimizer_checks_the_shared_settings() {
    for kind in OptimizerKind::defaults() {
        for (setting, value) in [
            ("lr", 0.0),
            ("lr", -1.0),
            ("lr", gradwell_optim::MAX_LR * 2.0),
            ("weight_decay", -0.5),
        ] {
            let mut k = kind.clone();
            let e = k.set(setting, value).unwrap_err().to_string();
            assert!(e.contains(setting), "{kind}: {setting} = {value}: {e}");
            assert_eq!(k, kind, "a refused setting changed {kind}");
        }
        let mut k = kind.clone();
        let e = k.set("lr", "fast").unwrap_err().to_string();
        assert!(e.contains("lr") && e.contains("wrong type"), "{kind}: {e}");
        let e = k.set("momentun", 0.9).unwrap_err().to_string();
        assert!(
            e.contains("momentun") && e.contains("lr") && e.contains(kind.name()),
            "{e}"
        );
    }
}

/// No two registered optimizers or schedules share a name, and an unknown name lists
/// every one.
#[test]
fn registered_names_are_unique_and_listed() {
    let optimizers: Vec<&str> = OptimizerKind::defaults().iter().map(|k| k.name()).collect();
    let schedules: Vec<&str> = ScheduleKind::defaults().iter().map(|k| k.name()).collect();
    for names in [&optimizers, &schedules] {
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{names:?}");
    }
    let e = "no-such".parse::<OptimizerKind>().unwrap_err().to_string();
    assert!(optimizers.iter().all(|n| e.contains(n)), "{e}");
    let e = "no-such".parse::<ScheduleKind>().unwrap_err().to_string();
    assert!(schedules.iter().all(|n| e.contains(n)), "{e}");
}

/// The number of schedule steps of the runs below.
const RUN: u64 = 20;

/// The metric a schedule that follows one is given at step `k`: it improves, then stalls.
fn metric(k: u64) -> f64 {
    1.0 / (1.0 + k.min(6) as f64)
}

/// Every schedule, with its defaults, reads back what it prints (as text and as a table,
/// with `per=step` too where it may advance per step), and its defaults are valid.
#[test]
fn every_schedule_round_trips_through_text_and_serde() {
    for kind in ScheduleKind::defaults() {
        kind.check().unwrap_or_else(|e| panic!("{kind}: {e}"));
        let text = kind.to_string();
        assert_eq!(text.parse::<ScheduleKind>().unwrap(), kind, "{text}");
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(
            serde_json::from_str::<ScheduleKind>(&json).unwrap(),
            kind,
            "{json}"
        );
        let units: &[ScheduleUnit] = if kind.follows_metric() {
            &[ScheduleUnit::Epoch]
        } else {
            &[ScheduleUnit::Epoch, ScheduleUnit::Step]
        };
        for &per in units {
            let spec = ScheduleSpec {
                kind: kind.clone(),
                per,
            };
            let text = spec.to_string();
            assert_eq!(text.parse::<ScheduleSpec>().unwrap(), spec, "{text}");
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(
                serde_json::from_str::<ScheduleSpec>(&json).unwrap(),
                spec,
                "{json}"
            );
        }
    }
}

/// Over a whole run, every schedule's rate (and momentum, if it cycles one) is finite and
/// `>= 0`; its step count follows.
#[test]
fn every_schedule_keeps_a_finite_non_negative_rate_over_its_run() {
    for kind in ScheduleKind::defaults() {
        let mut s = kind.build(0.1, RUN).unwrap();
        for k in 0..RUN {
            let lr = s.lr();
            assert!(lr.is_finite() && lr >= 0.0, "{kind}: lr {lr} at step {k}");
            if let Some(m) = s.momentum() {
                assert!((0.0..1.0).contains(&m), "{kind}: momentum {m} at step {k}");
            }
            s.step(Some(metric(k))).unwrap();
        }
        assert_eq!(s.steps(), RUN, "{kind}");
        assert!(s.lr().is_finite() && s.lr() >= 0.0, "{kind}: {}", s.lr());
    }
}

/// Saved mid-run and loaded (through JSON) into a fresh schedule, every schedule continues
/// bit for bit; another schedule's state is refused.
#[test]
fn every_schedule_resumes_bit_identically() {
    let kinds = ScheduleKind::defaults();
    for kind in &kinds {
        let mut a = kind.build(0.1, RUN).unwrap();
        for k in 0..7 {
            a.step(Some(metric(k))).unwrap();
        }
        let json = serde_json::to_string(&a.state()).unwrap();
        let mut b = kind.build(0.1, RUN).unwrap();
        b.load_state(&serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(
            (b.steps(), b.lr().to_bits()),
            (7, a.lr().to_bits()),
            "{kind}"
        );
        for k in 7..RUN {
            let (x, y) = (
                a.step(Some(metric(k))).unwrap(),
                b.step(Some(metric(k))).unwrap(),
            );
            assert_eq!(x.to_bits(), y.to_bits(), "{kind}: step {k}");
            assert_eq!(a.momentum(), b.momentum(), "{kind}: step {k}");
        }
        for other in kinds.iter().filter(|o| o.torch_name() != kind.torch_name()) {
            let mut o = other.build(0.1, RUN).unwrap();
            assert!(
                o.load_state(&a.state()).is_err(),
                "{other} loaded the state of {kind}"
            );
        }
    }
}

/// A setting of the wrong type, among several given at once, is the one the error names.
#[test]
fn a_wrongly_typed_setting_is_named_among_others() {
    let table = serde_json::json!({"kind": "sgd", "lr": "fast", "momentum": 0.9});
    let e = OptimizerKind::from_value(table).unwrap_err();
    assert!(
        matches!(&e, OptimError::BadSetting { setting, .. } if setting == "lr"),
        "{e}"
    );
    let e = "step:30,gamma=[1]".parse::<ScheduleKind>().unwrap_err();
    assert!(
        matches!(&e, OptimError::BadSetting { setting, .. } if setting == "gamma"),
        "{e}"
    );
}
