//! Optimizers against PyTorch trajectories, docs/parity.md's worked examples, validation and
//! the non-finite-gradient guarantee.

use gradwell_optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, GroupRule, NameMatch, OptimError, Optimizer,
    ParamGroups, ParamSlot, Rmsprop, RmspropConfig, Sgd, SgdConfig,
};

use crate::harness::{self, TRAJECTORY_RTOL};

#[test]
fn every_fixture_case_follows_pytorch() {
    assert!(
        harness::fixture_steps() >= 20,
        "the acceptance needs at least 20 steps"
    );
    let cases = harness::optimizer_cases();
    for kind in ["sgd_", "adam_", "adamw_", "rmsprop_", "adagrad_"] {
        assert!(
            cases.iter().any(|(_, c)| c.starts_with(kind)),
            "no {kind} cases"
        );
    }
    let mut failures = Vec::new();
    for (problem, case) in &cases {
        let err = harness::run_optimizer_case(problem, case);
        if err.is_nan() || err > TRAJECTORY_RTOL {
            failures.push(format!("{problem}/{case}: relative error {err:.3e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The fixtures can tell close variants apart: replaying one case's trajectory with a
/// neighbouring option combination misses by far more than the tolerance.
#[test]
fn fixtures_distinguish_neighbouring_options() {
    for (case, other) in [
        ("sgd_momentum_dampening", "sgd_momentum"),
        ("sgd_nesterov", "sgd_momentum"),
        ("adam_amsgrad", "adam"),
        ("adamw_wd", "adam_wd"),
        ("rmsprop_centered", "rmsprop"),
        ("adagrad_lr_decay", "adagrad"),
    ] {
        let (prob, mut params, c) = harness::case("network", case);
        let (_, _, o) = harness::case("network", other);
        let mut opt = harness::build_optimizer(o["optimizer"].as_str().unwrap(), &o["options"]);
        let mut worst: f64 = 0.0;
        for reference in c["trajectory"].as_array().unwrap() {
            harness::step(opt.as_mut(), &prob, &mut params);
            for (n, ours) in prob.names.iter().zip(&params) {
                let want: Vec<f64> = reference[*n]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                let diff: f64 = ours
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                worst = worst.max(diff);
            }
        }
        assert!(
            worst > 1e2 * TRAJECTORY_RTOL,
            "{other} is indistinguishable from {case}: {worst:e}"
        );
    }
}

/// Runs `opt` on one scalar parameter with the given gradients from `p0`.
fn run(opt: &mut dyn Optimizer<f64>, p0: f64, grads: &[f64]) -> f64 {
    let mut w = vec![p0];
    for &g in grads {
        let mut gv = vec![g];
        opt.step(&mut [ParamSlot::new("p", &mut w, &mut gv)])
            .unwrap();
    }
    w[0]
}

/// docs/parity.md#optimizers (SGD to Adagrad), values verified with torch.
#[test]
fn reference_worked_examples() {
    let sgd = |c: SgdConfig| Sgd::<f64>::new(c).unwrap();
    let base = SgdConfig::default().lr(0.1).momentum(0.9);
    let close = |a: f64, b: f64, tol: f64| assert!((a - b).abs() < tol, "{a} != {b}");
    close(run(&mut sgd(base.clone()), 1.0, &[1.0, 2.0]), 0.61, 1e-12);
    close(
        run(&mut sgd(base.clone().dampening(0.5)), 1.0, &[1.0, 2.0]),
        0.71,
        1e-12,
    );
    close(
        run(&mut sgd(base.nesterov(true)), 1.0, &[1.0, 2.0]),
        0.349,
        1e-12,
    );
    close(
        run(
            &mut sgd(SgdConfig::default().lr(0.1).weight_decay(0.5)),
            2.0,
            &[1.0],
        ),
        1.8,
        1e-12,
    );
    let mut adam = Adam::new(AdamConfig::default().lr(0.1)).unwrap();
    close(run(&mut adam, 1.0, &[0.5]), 0.900000002, 1e-9);
    let mut adamw = Adam::new(AdamConfig::adamw().lr(0.1)).unwrap();
    close(run(&mut adamw, 1.0, &[0.5]), 0.899000002, 1e-9);
    let mut rms = Rmsprop::new(RmspropConfig::default().lr(0.1)).unwrap();
    close(run(&mut rms, 1.0, &[0.5]), 2e-7, 1e-8);
    let mut centered = Rmsprop::new(RmspropConfig::default().lr(0.1).centered(true)).unwrap();
    close(run(&mut centered, 1.0, &[0.5]), -0.0050376, 1e-7);
    let mut ada = Adagrad::new(AdagradConfig::default().lr(0.1)).unwrap();
    close(run(&mut ada, 1.0, &[0.5]), 0.9, 1e-9);
}

/// SGD without momentum with decoupled weight decay: `p ← p·(1 − lr·λ) − lr·g`, which for
/// plain SGD equals coupled L2 (`p ← p − lr·(g + λ·p)`) up to rounding. Worked by hand:
/// lr 0.1, λ 0.5, p 2, g 1 then 3: 2·0.95 − 0.1 = 1.8, then 1.8·0.95 − 0.3 = 1.41.
#[test]
fn sgd_decoupled_weight_decay_without_momentum() {
    let cfg = SgdConfig::default().lr(0.1).weight_decay(0.5);
    let decoupled = run(
        &mut Sgd::new(cfg.clone().decoupled_weight_decay(true)).unwrap(),
        2.0,
        &[1.0, 3.0],
    );
    assert!((decoupled - 1.41).abs() < 1e-12, "{decoupled}");
    let coupled = run(&mut Sgd::new(cfg).unwrap(), 2.0, &[1.0, 3.0]);
    assert!(
        (coupled - decoupled).abs() < 1e-12,
        "{coupled} != {decoupled}"
    );
}

/// SGD's accessors: its name, its momentum (`None` when built without) and its settings,
/// which follow `set_momentum`. A plain SGD saves no momentum and loads its own state.
#[test]
fn sgd_reports_its_name_momentum_and_settings() {
    let plain_cfg = SgdConfig::default().lr(0.1).weight_decay(0.01);
    let mut plain = Sgd::<f64>::new(plain_cfg.clone()).unwrap();
    assert_eq!(plain.name(), "SGD");
    assert_eq!(plain.momentum(), None);
    assert_eq!(plain.config(), &plain_cfg);
    run(&mut plain, 1.0, &[0.5, 0.25]);
    let state = plain.state();
    assert_eq!(state.momentum, None);
    let mut again = Sgd::<f64>::new(plain_cfg.clone()).unwrap();
    again.load_state(&state).unwrap();
    assert_eq!((again.steps(), again.momentum()), (2, None));

    let cfg = SgdConfig::default().lr(0.1).momentum(0.9);
    let mut heavy = Sgd::<f64>::new(cfg.clone()).unwrap();
    assert_eq!(heavy.momentum(), Some(0.9));
    assert_eq!(heavy.config(), &cfg);
    heavy.set_momentum(0.5).unwrap();
    assert_eq!(heavy.momentum(), Some(0.5));
    assert_eq!(heavy.config(), &cfg.clone().momentum(0.5));
    assert!(heavy.set_momentum(1.0).is_err());
    assert_eq!(
        heavy.config().momentum,
        0.5,
        "a refused momentum changes nothing"
    );
    let mut nesterov = Sgd::<f64>::new(cfg.nesterov(true)).unwrap();
    assert!(
        nesterov.set_momentum(0.0).is_err(),
        "nesterov needs momentum > 0"
    );
    assert_eq!(nesterov.momentum(), Some(0.9));
}

/// Every optimizer's name (PyTorch's class name) and settings are readable; Adagrad has
/// no momentum to report or set.
#[test]
fn names_and_settings_are_reported() {
    let sgd = SgdConfig::default().lr(0.2);
    assert_eq!(Sgd::<f64>::new(sgd.clone()).unwrap().config(), &sgd);
    let adam = AdamConfig::default().lr(0.02).amsgrad(true);
    let a = Adam::<f64>::new(adam.clone()).unwrap();
    assert_eq!((a.name(), a.config()), ("Adam", &adam));
    let rms = RmspropConfig::default().alpha(0.9);
    let r = Rmsprop::<f64>::new(rms.clone()).unwrap();
    assert_eq!((r.name(), r.config()), ("RMSprop", &rms));
    let ada = AdagradConfig::default().lr_decay(0.01);
    let mut g = Adagrad::<f64>::new(ada.clone()).unwrap();
    assert_eq!((g.name(), g.config()), ("Adagrad", &ada));
    assert_eq!(g.momentum(), None);
    assert!(matches!(
        g.set_momentum(0.5),
        Err(OptimError::NoMomentum { .. })
    ));
}

/// Each kind of name rule matches what its documentation says, and only that.
#[test]
fn name_rules_match_as_documented() {
    let cases = [
        (NameMatch::Exact("fc.bias".into()), "fc.bias", "fc.bias2"),
        (
            NameMatch::Prefix("head.".into()),
            "head.weight",
            "body.head.weight",
        ),
        (NameMatch::Suffix("bias".into()), "fc.bias", "bias.fc"),
        (
            NameMatch::Contains("norm".into()),
            "layer_norm.weight",
            "fc.weight",
        ),
        (NameMatch::bias_or_norm(), "bn_norm.weight", "fc.weight"),
        (NameMatch::bias_or_norm(), "fc.bias", "fc.biased"),
    ];
    for (rule, yes, no) in cases {
        assert!(rule.matches(yes), "{rule:?} should match {yes}");
        assert!(!rule.matches(no), "{rule:?} should not match {no}");
    }
    assert!(!NameMatch::AnyOf(vec![]).matches("anything"));
    // The rules are kept in the order given (the first match wins).
    let head = GroupRule::new(NameMatch::Prefix("head.".into())).lr_scale(10.0);
    let groups = ParamGroups::no_decay_on_bias_and_norm().rule(head.clone());
    assert_eq!(groups.rules().len(), 2);
    assert_eq!(groups.rules()[0].matcher, NameMatch::bias_or_norm());
    assert_eq!(groups.rules()[1], head);
}

#[test]
fn defaults_are_pytorchs() {
    let s = SgdConfig::default();
    assert_eq!(
        (s.lr, s.momentum, s.dampening, s.weight_decay, s.nesterov),
        (1e-3, 0.0, 0.0, 0.0, false)
    );
    let a = AdamConfig::default();
    assert_eq!(
        (a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad),
        (1e-3, 0.9, 0.999, 1e-8, 0.0, false)
    );
    let w = AdamConfig::adamw();
    assert_eq!((w.weight_decay, w.decoupled_weight_decay), (1e-2, true));
    let r = RmspropConfig::default();
    assert_eq!(
        (r.lr, r.alpha, r.eps, r.momentum, r.centered),
        (1e-2, 0.99, 1e-8, 0.0, false)
    );
    let g = AdagradConfig::default();
    assert_eq!(
        (g.lr, g.lr_decay, g.initial_accumulator_value, g.eps),
        (1e-2, 0.0, 0.0, 1e-10)
    );
}

/// Each bad hyper-parameter is an error naming it.
#[test]
fn bad_hyper_parameters_are_named() {
    let named = |r: Result<(), OptimError>, name: &str| {
        let e = r.expect_err(name).to_string();
        assert!(e.contains(name), "`{e}` does not name {name}");
    };
    let sgd = |c: SgdConfig| Sgd::<f64>::new(c).map(|_| ());
    named(sgd(SgdConfig::default().lr(0.0)), "lr");
    named(sgd(SgdConfig::default().lr(f64::NAN)), "lr");
    named(sgd(SgdConfig::default().momentum(1.0)), "momentum");
    named(sgd(SgdConfig::default().momentum(-0.1)), "momentum");
    named(sgd(SgdConfig::default().dampening(1.5)), "dampening");
    named(sgd(SgdConfig::default().weight_decay(-1.0)), "weight_decay");
    named(sgd(SgdConfig::default().nesterov(true)), "nesterov");
    named(
        sgd(SgdConfig::default()
            .momentum(0.9)
            .dampening(0.1)
            .nesterov(true)),
        "dampening",
    );
    let adam = |c: AdamConfig| Adam::<f64>::new(c).map(|_| ());
    named(adam(AdamConfig::default().beta1(1.0)), "beta1");
    named(adam(AdamConfig::default().beta2(-0.5)), "beta2");
    named(adam(AdamConfig::default().eps(0.0)), "eps");
    let rms = |c: RmspropConfig| Rmsprop::<f64>::new(c).map(|_| ());
    named(rms(RmspropConfig::default().alpha(1.0)), "alpha");
    named(rms(RmspropConfig::default().momentum(2.0)), "momentum");
    let ada = |c: AdagradConfig| Adagrad::<f64>::new(c).map(|_| ());
    named(ada(AdagradConfig::default().lr_decay(-1.0)), "lr_decay");
    named(
        ada(AdagradConfig::default().initial_accumulator_value(-1.0)),
        "initial_accumulator_value",
    );
    let mut opt = Sgd::<f64>::new(SgdConfig::default()).unwrap();
    named(opt.set_learning_rate(-1.0), "lr");
    assert!(opt.set_learning_rate(0.0).is_ok(), "a schedule may reach 0");
    assert!(
        opt.set_momentum(0.5).is_err(),
        "SGD built without momentum has none to set"
    );
}

/// A NaN or infinite gradient anywhere refuses the whole step: no weight and no state
/// changes, and the error names the parameter and the element (in the first, a later, and
/// the last partial block of the 16 elements checked together).
#[test]
fn non_finite_gradient_changes_nothing() {
    for (bad, at) in [(f64::NAN, 37), (f64::INFINITY, 20), (f64::NEG_INFINITY, 5)] {
        let mut opt = Adam::<f64>::new(AdamConfig::default().lr(0.1).amsgrad(true)).unwrap();
        let (mut a, mut ga) = (vec![1.0, 2.0], vec![0.1, 0.2]);
        let (mut b, mut gb) = (vec![3.0; 40], vec![0.3; 40]);
        opt.step(&mut [
            ParamSlot::new("a", &mut a, &mut ga),
            ParamSlot::new("b", &mut b, &mut gb),
        ])
        .unwrap();
        let (a0, b0, state0) = (a.clone(), b.clone(), opt.state());
        gb[at] = bad;
        let err = opt
            .step(&mut [
                ParamSlot::new("a", &mut a, &mut ga),
                ParamSlot::new("b", &mut b, &mut gb),
            ])
            .unwrap_err();
        assert!(
            matches!(&err, OptimError::NonFiniteGradient { name, index, .. } if name == "b" && *index == at),
            "{err}"
        );
        assert_eq!((a, b), (a0, b0), "weights moved");
        assert_eq!(opt.state(), state0, "state moved");
    }
}

#[test]
fn malformed_steps_are_errors() {
    let mut opt = Sgd::<f64>::new(SgdConfig::default().momentum(0.5)).unwrap();
    let (mut w, mut g) = (vec![1.0; 3], vec![1.0; 2]);
    let e = opt
        .step(&mut [ParamSlot::new("w", &mut w, &mut g)])
        .unwrap_err();
    assert!(
        matches!(
            e,
            OptimError::LengthMismatch {
                value: 3,
                grad: 2,
                ..
            }
        ),
        "{e}"
    );
    let (mut w1, mut g1, mut w2, mut g2) = (vec![1.0], vec![1.0], vec![1.0], vec![1.0]);
    let e = opt
        .step(&mut [
            ParamSlot::new("w", &mut w1, &mut g1),
            ParamSlot::new("w", &mut w2, &mut g2),
        ])
        .unwrap_err();
    assert!(matches!(e, OptimError::DuplicateParameter { .. }), "{e}");
    assert_eq!((w1[0], w2[0]), (1.0, 1.0));
    // A parameter that changes length between steps.
    let (mut w, mut g) = (vec![1.0; 2], vec![1.0; 2]);
    opt.step(&mut [ParamSlot::new("v", &mut w, &mut g)])
        .unwrap();
    let (mut w, mut g) = (vec![1.0; 3], vec![1.0; 3]);
    let e = opt
        .step(&mut [ParamSlot::new("v", &mut w, &mut g)])
        .unwrap_err();
    assert!(
        matches!(
            e,
            OptimError::StateMismatch {
                state: 2,
                param: 3,
                ..
            }
        ),
        "{e}"
    );
}

/// f32 parameters follow the f64 reference to f32 precision.
#[test]
fn f32_tracks_the_f64_reference() {
    let (prob, init, c) = harness::case("quadratic", "adam_amsgrad");
    let mut opt = Adam::<f32>::new(AdamConfig::default().lr(0.05).amsgrad(true)).unwrap();
    let mut params: Vec<Vec<f32>> = init
        .iter()
        .map(|v| v.iter().map(|&x| x as f32).collect())
        .collect();
    let mut worst: f64 = 0.0;
    for reference in c["trajectory"].as_array().unwrap() {
        let wide: Vec<Vec<f64>> = params
            .iter()
            .map(|v| v.iter().map(|&x| x as f64).collect())
            .collect();
        let mut grads: Vec<Vec<f32>> = prob
            .grads(&wide)
            .into_iter()
            .map(|g| g.into_iter().map(|x| x as f32).collect())
            .collect();
        let mut slots: Vec<ParamSlot<'_, f32>> = prob
            .names
            .iter()
            .zip(params.iter_mut())
            .zip(grads.iter_mut())
            .map(|((n, v), g)| ParamSlot::new(n, v, g))
            .collect();
        opt.step(&mut slots).unwrap();
        for (n, ours) in prob.names.iter().zip(&params) {
            for (a, b) in ours.iter().zip(reference[*n].as_array().unwrap()) {
                worst = worst.max((*a as f64 - b.as_f64().unwrap()).abs());
            }
        }
    }
    // Adam's step is at most lr = 0.05 per element; f32 rounding of O(1) values over 25
    // steps stays far below 1e-4.
    assert!(
        worst < 1e-4,
        "f32 drifted {worst:e} from the f64 trajectory"
    );
}

/// A slot is empty exactly when it has no element.
#[test]
fn a_slot_knows_whether_it_is_empty() {
    let (mut w, mut g) = (vec![1.0_f64], vec![0.0]);
    assert!(!ParamSlot::new("w", &mut w, &mut g).is_empty());
    let (mut w, mut g): (Vec<f64>, Vec<f64>) = (vec![], vec![]);
    assert!(ParamSlot::new("w", &mut w, &mut g).is_empty());
}

/// Group rules are validated with the optimizer: a learning-rate scale must be > 0 and a
/// group weight decay >= 0, and the error names which.
#[test]
fn bad_group_rules_are_named() {
    let rule = || GroupRule::new(NameMatch::Suffix("bias".into()));
    for (groups, what) in [
        (ParamGroups::new().rule(rule().lr_scale(0.0)), "lr_scale"),
        (
            ParamGroups::new().rule(rule().weight_decay(-1.0)),
            "weight_decay",
        ),
    ] {
        let e = Sgd::<f64>::new(SgdConfig::default().groups(groups))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "`{e}` does not name {what}");
    }
}

/// `zero_grad` zeroes every gradient of every parameter and leaves the values alone.
#[test]
fn zero_grad_zeroes_gradients_only() {
    let (mut w1, mut g1) = (vec![1.0_f32, 2.0], vec![0.5, -0.5]);
    let (mut w2, mut g2) = (vec![3.0_f32; 20], vec![f32::NAN; 20]);
    gradwell_optim::zero_grad(&mut [
        ParamSlot::new("a", &mut w1, &mut g1),
        ParamSlot::new("b", &mut w2, &mut g2),
    ]);
    assert!(g1.iter().chain(&g2).all(|&g| g == 0.0));
    assert_eq!((w1, w2), (vec![1.0, 2.0], vec![3.0; 20]));
}
