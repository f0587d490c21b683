//! The diagnosis rules fire on constructed figures past their thresholds and stay silent on
//! healthy ones.

use gradwell_monitor::{
    Cure, FindingKind, History, LayerStats, ParamStats, Setup, Severity, StepRecord, Thresholds,
    UpdateStats, diagnose, diagnose_step,
};

fn param(name: &str, shape: &[usize], grad_norm: f64) -> ParamStats {
    ParamStats {
        name: name.into(),
        shape: shape.to_vec(),
        grad_norm,
        grad_max_abs: grad_norm,
        grad_zero_fraction: 0.0,
        grad_nan: 0,
        grad_inf: 0,
        no_gradient: false,
        weight_norm: 1.0,
    }
}

fn layer(path: &str, activation: &str) -> LayerStats {
    LayerStats {
        path: path.into(),
        kind: "Activation".into(),
        activation: Some(activation.into()),
        mean: 0.3,
        std: 0.5,
        second_moment: 0.34,
        zero_fraction: 0.5,
        dead_fraction: (activation == "relu").then_some(0.02),
        saturated_fraction: (activation == "tanh").then_some(0.01),
        non_finite: 0,
        units: 16,
        unit_spread: Some(0.9),
        output_grad_norm: Some(0.1),
        weight_grad_norm: None,
        bias_grad_norm: None,
    }
}

/// A healthy step: gradient ratio 0.5, global norm 1, few dead or saturated units, updates
/// near 1e-3.
fn healthy() -> StepRecord {
    let params = vec![
        param("0.weight", &[8, 4], 0.4),
        param("0.bias", &[8], 0.1),
        param("2.weight", &[8, 8], 0.6),
        param("4.weight", &[3, 8], 0.8),
    ];
    StepRecord {
        step: 7,
        loss: 1.2,
        global_grad_norm: 1.0,
        first_last_ratio: Some(0.5),
        params,
        layers: vec![layer("1", "relu"), layer("3", "tanh")],
        updates: vec![UpdateStats {
            name: "0.weight".into(),
            update_norm: 1e-3,
            weight_norm: 1.0,
            ratio: Some(1e-3),
        }],
        through_time: Vec::new(),
        recurrent_radius: Vec::new(),
    }
}

fn kinds(r: &StepRecord) -> Vec<FindingKind> {
    diagnose_step(r, &Thresholds::default(), &Setup::default())
        .iter()
        .map(|f| f.kind)
        .collect()
}

#[test]
fn healthy_figures_give_no_finding() {
    assert_eq!(kinds(&healthy()), []);
}

#[test]
fn vanishing_gradients_name_the_first_and_last_layers() {
    let mut r = healthy();
    r.first_last_ratio = Some(5e-4);
    let f = diagnose_step(&r, &Thresholds::default(), &Setup::default());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, FindingKind::VanishingGradients);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].layers, ["0", "4"]);
    assert_eq!(f[0].figure, 5e-4);
    assert!(f[0].cures.contains(&Cure::Residual) && f[0].cures.contains(&Cure::BatchNorm));
    let text = f[0].to_string();
    assert!(text.starts_with("warning: vanishing gradients"), "{text}");
    assert!(
        text.contains("5.000e-4") && text.contains("cure: add batch normalization"),
        "{text}"
    );
    // Ten times past the threshold is critical; exactly at it is silent.
    r.first_last_ratio = Some(5e-5);
    assert_eq!(
        diagnose_step(&r, &Thresholds::default(), &Setup::default())[0].severity,
        Severity::Critical
    );
    r.first_last_ratio = Some(1e-3);
    assert_eq!(kinds(&r), []);
}

#[test]
fn exploding_gradients_by_ratio_by_global_norm_and_by_growth() {
    let mut r = healthy();
    r.first_last_ratio = Some(2e3);
    assert_eq!(kinds(&r), [FindingKind::ExplodingGradients]);
    let mut r = healthy();
    r.global_grad_norm = 5e3;
    let f = diagnose_step(&r, &Thresholds::default(), &Setup::default());
    assert_eq!(f[0].kind, FindingKind::ExplodingGradients);
    assert!(f[0].cures.contains(&Cure::GradientClipping) && f[0].cures.contains(&Cure::L2));
    // Growth: global norm 1 for 10 steps, then 500 for 10 (under the absolute threshold).
    let mut h = History::default();
    for step in 0..20 {
        let mut s = healthy();
        s.step = step;
        s.global_grad_norm = if step < 10 { 1.0 } else { 500.0 };
        h.steps.push(s);
    }
    let f = diagnose(&h, &Thresholds::default(), &Setup::default());
    assert!(
        f.iter()
            .any(|f| f.kind == FindingKind::ExplodingGradients && f.figure == 500.0)
    );
}

#[test]
fn dead_and_saturated_units_name_their_layers() {
    let mut r = healthy();
    r.layers[0].dead_fraction = Some(0.6);
    r.layers[1].saturated_fraction = Some(0.97);
    let f = diagnose_step(&r, &Thresholds::default(), &Setup::default());
    let dead = f.iter().find(|f| f.kind == FindingKind::DeadUnits).unwrap();
    assert_eq!(
        (dead.layers.as_slice(), dead.severity),
        (&["1".to_string()][..], Severity::Warning)
    );
    assert!(dead.cures.contains(&Cure::LeakyRelu));
    let sat = f
        .iter()
        .find(|f| f.kind == FindingKind::SaturatedUnits)
        .unwrap();
    assert_eq!(sat.layers, ["3"]);
    // 0.97 > 1 − 0.75/10: nearly every output saturated is critical.
    assert_eq!(sat.severity, Severity::Critical);
    assert!(sat.cures.contains(&Cure::ReluFamily));
}

#[test]
fn learning_rate_too_high_and_too_low() {
    let mut r = healthy();
    r.updates[0].ratio = Some(0.3);
    let f = diagnose_step(&r, &Thresholds::default(), &Setup::default());
    assert_eq!(f[0].kind, FindingKind::LearningRateTooHigh);
    assert_eq!(f[0].cures[0], Cure::SmallerLearningRate);
    // The cure names the tool that measures a rate.
    assert!(
        f[0].cures[0].to_string().contains("`gradwell lr-find`"),
        "{}",
        f[0].cures[0]
    );
    r.updates[0].ratio = Some(3e-6);
    let f = diagnose_step(&r, &Thresholds::default(), &Setup::default());
    assert_eq!(f[0].kind, FindingKind::LearningRateTooLow);
    assert_eq!(f[0].cures, [Cure::LargerLearningRate]);
}

#[test]
fn non_finite_loss_and_gradients_are_critical() {
    let mut r = healthy();
    r.loss = f64::NAN;
    r.params[2].grad_inf = 4;
    let f = diagnose_step(&r, &Thresholds::default(), &Setup::default());
    let nf = f.iter().find(|f| f.kind == FindingKind::NonFinite).unwrap();
    assert_eq!(nf.severity, Severity::Critical);
    assert_eq!(nf.layers, ["2.weight"]);
    assert_eq!(nf.figure, 4.0);
}

#[test]
fn parameters_without_gradient_are_reported() {
    let mut r = healthy();
    r.params[1].no_gradient = true;
    let f = diagnose_step(&r, &Thresholds::default(), &Setup::default());
    assert_eq!(f[0].kind, FindingKind::NoGradient);
    assert_eq!(f[0].layers, ["0.bias"]);
}

#[test]
fn a_rising_loss_is_found_over_the_history_and_a_falling_one_is_not() {
    let mut rising = History::default();
    let mut falling = History::default();
    for step in 0..30 {
        let mut s = healthy();
        s.step = step;
        s.loss = 1.0 + 0.1 * step as f64;
        rising.steps.push(s.clone());
        s.loss = 4.0 - 0.1 * step as f64;
        falling.steps.push(s);
    }
    let f = diagnose(&rising, &Thresholds::default(), &Setup::default());
    let loss = f
        .iter()
        .find(|f| f.kind == FindingKind::LossRising)
        .unwrap();
    // Means 1.45 and 3.45.
    assert!((loss.figure - 3.45 / 1.45).abs() < 1e-12);
    assert!(diagnose(&falling, &Thresholds::default(), &Setup::default()).is_empty());
}

/// `n` hidden activation layers whose std goes geometrically from 1 to `last`, then a
/// readout layer with a weight.
fn deep(n: usize, last: f64) -> StepRecord {
    let mut r = healthy();
    r.layers = (0..n)
        .map(|i| {
            let mut l = layer(&(2 * i + 1).to_string(), "relu");
            l.std = last.powf(i as f64 / (n - 1) as f64);
            l
        })
        .collect();
    let mut readout = layer(&(2 * n).to_string(), "relu");
    readout.activation = None;
    readout.weight_grad_norm = Some(0.8);
    readout.std = 1e-9; // not a hidden activation: not judged
    r.layers.push(readout);
    r
}

#[test]
fn a_forward_signal_that_collapses_or_explodes_with_depth_is_found() {
    let th = Thresholds::default();
    let f = diagnose_step(&deep(20, 5e-4), &th, &Setup::default());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, FindingKind::SignalCollapse);
    assert_eq!(f[0].layers, ["1", "39"]);
    assert!((f[0].figure - 5e-4).abs() < 1e-15);
    // 5e-4 is past 1e-2 by more than the critical factor of 10.
    assert_eq!(f[0].severity, Severity::Critical);
    let text = f[0].to_string();
    assert!(
        text.contains("from 1.000e0 (layer 1) to 5.000e-4 (layer 39)")
            && text.contains("over 20 activation layers"),
        "{text}"
    );
    assert_eq!(
        kinds(&deep(20, 3e3)),
        [FindingKind::SignalExplosion],
        "growing 3000-fold"
    );
    // Within the thresholds (He on ReLU keeps the std within a small factor): silent.
    assert_eq!(kinds(&deep(20, 0.4)), []);
    assert_eq!(kinds(&deep(20, th.signal_collapse)), []);
}

#[test]
fn identical_units_are_one_finding_that_takes_precedence_over_what_they_cause() {
    let mut r = deep(20, 5e-4);
    r.first_last_ratio = Some(1e-7);
    r.global_grad_norm = 1e21;
    for l in &mut r.layers {
        l.unit_spread = Some(2e-7);
        l.units = 256;
    }
    r.layers[2].weight_grad_norm = Some(1.0);
    let setup = Setup {
        init: Some("constant:0.1".parse().unwrap()),
        ..Setup::default()
    };
    let f = diagnose_step(&r, &Thresholds::default(), &setup);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, FindingKind::SymmetricUnits);
    assert_eq!(f[0].cures, [Cure::RandomInit]);
    let text = f[0].to_string();
    assert!(
        text.contains("all 256 units of layer 5 compute the same function")
            && text.contains("a constant initialization never breaks symmetry"),
        "{text}"
    );
    // Units that differ: the symmetry rule is silent and the others speak.
    for l in &mut r.layers {
        l.unit_spread = Some(0.9);
    }
    let kinds: Vec<_> = diagnose_step(&r, &Thresholds::default(), &setup)
        .iter()
        .map(|f| f.kind)
        .collect();
    assert!(
        kinds.contains(&FindingKind::VanishingGradients)
            && kinds.contains(&FindingKind::ExplodingGradients)
            && !kinds.contains(&FindingKind::SymmetricUnits),
        "{kinds:?}"
    );
}

#[test]
fn cures_leave_out_what_the_run_already_does_and_lead_with_the_cause() {
    let th = Thresholds::default();
    let setup = |activation: &str, init: &str, batch_norm: bool| Setup {
        activation: Some(activation.parse().unwrap()),
        init: Some(init.parse().unwrap()),
        batch_norm,
        ..Setup::default()
    };
    // Sigmoid with Xavier, vanishing: switch to a rectifier (and He), not "use Xavier".
    let mut r = healthy();
    r.first_last_ratio = Some(1e-10);
    let f = diagnose_step(&r, &th, &setup("sigmoid", "xavier-normal", false));
    assert_eq!(
        f[0].cures,
        [
            Cure::ReluFamily,
            Cure::HeInit,
            Cure::BatchNorm,
            Cure::Residual
        ]
    );
    // ReLU with He (uniform or normal), vanishing: neither ReLU nor He, nor Xavier.
    for he in ["he-normal", "he-uniform"] {
        let f = diagnose_step(&r, &th, &setup("relu", he, false));
        assert_eq!(f[0].cures, [Cure::BatchNorm, Cure::Residual], "{he}");
    }
    // Gradients growing in a deep plain network with batch norm: residual connections
    // first, no batch norm; with residual connections too, they are not offered.
    let mut r = healthy();
    r.first_last_ratio = Some(5e3);
    let f = diagnose_step(&r, &th, &setup("relu", "he-normal", true));
    assert_eq!(f[0].cures[0], Cure::Residual);
    assert!(!f[0].cures.contains(&Cure::BatchNorm) && !f[0].cures.contains(&Cure::HeInit));
    let residual = Setup {
        residual: true,
        clipping: true,
        ..setup("relu", "he-normal", true)
    };
    let f = diagnose_step(&r, &th, &residual);
    assert!(!f[0].cures.contains(&Cure::Residual) && !f[0].cures.contains(&Cure::GradientClipping));
    // Knowing nothing of the setup, every cure is offered, as before.
    let f = diagnose_step(&r, &th, &Setup::default());
    assert_eq!(f[0].cures[0], Cure::GradientClipping);
    assert!(f[0].cures.contains(&Cure::HeInit) && f[0].cures.contains(&Cure::XavierInit));
}

#[test]
fn two_findings_print_a_shared_cure_once() {
    let mut r = healthy();
    r.first_last_ratio = Some(5e3);
    r.global_grad_norm = 5e3;
    let f = diagnose_step(&r, &Thresholds::default(), &Setup::default());
    assert_eq!(f.len(), 2);
    let text = gradwell_monitor::render_findings(&f, "");
    assert_eq!(text.matches("clip gradients").count(), 1, "{text}");
    assert_eq!(text.matches("  cure: as above").count(), 1, "{text}");
}
