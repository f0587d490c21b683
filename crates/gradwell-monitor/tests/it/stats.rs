//! Statistics on hand-built tapes and networks with known answers.

use gradwell_autodiff::Tape;
use gradwell_monitor::{
    Monitor, MonitorConfig, Snapshot, TensorStats, Thresholds, first_last_ratio, global_norm,
    layer_stats, param_stats,
};
use gradwell_nn::{MlpSpec, losses};
use ndarray::{Array2, array};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{build, with_bias_init};

#[test]
fn tensor_stats_of_a_known_array() {
    let a = array![1.0_f64, -2.0, 0.0, 3.0, f64::NAN, f64::INFINITY].into_dyn();
    let s = TensorStats::of(&a.view());
    assert_eq!((s.len, s.nan, s.inf, s.zeros), (6, 1, 1, 1));
    assert_eq!((s.min, s.max, s.max_abs), (-2.0, 3.0, 3.0));
    assert_eq!(s.mean, 0.5);
    assert_eq!(s.second_moment, 3.5);
    assert!((s.std - 3.25_f64.sqrt()).abs() < 1e-15);
    assert!((s.l2 - 14.0_f64.sqrt()).abs() < 1e-15);
    assert_eq!(s.non_finite(), 2);
    assert!((s.zero_fraction() - 1.0 / 6.0).abs() < 1e-15);
}

#[test]
fn parameter_gradients_of_a_hand_built_tape() {
    // loss = Σ x·Wᵀ, so ∂loss/∂W[i][j] = Σ_b x[b][j] = [1, 3] in every row.
    let mut tape = Tape::<f64>::new();
    let w = tape
        .params_mut()
        .add("w", array![[1.0, 2.0], [3.0, 4.0]].into_dyn());
    tape.params_mut().add("unused", array![5.0, 5.0].into_dyn());
    let b = tape.params_mut().add("b", array![0.0, 0.0].into_dyn());
    let x = tape.input(array![[1.0, 1.0], [0.0, 2.0]].into_dyn());
    let wv = tape.param(w);
    let y = tape.matmul_t(x, wv).unwrap();
    let bv = tape.param(b);
    let y = tape.bias_add(y, bv).unwrap();
    let loss = tape.sum(y).unwrap();
    tape.backward(loss).unwrap();
    let p = param_stats(tape.params());
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].name, "w");
    assert!((p[0].grad_norm - 20.0_f64.sqrt()).abs() < 1e-12);
    assert_eq!(p[0].grad_max_abs, 3.0);
    assert_eq!(p[0].grad_zero_fraction, 0.0);
    assert!(!p[0].no_gradient);
    assert!((p[0].weight_norm - 30.0_f64.sqrt()).abs() < 1e-12);
    // The unused parameter received nothing; the bias got 2 (batch of 2) per element.
    assert!(p[1].no_gradient && p[1].grad_zero_fraction == 1.0);
    assert!((p[2].grad_norm - 8.0_f64.sqrt()).abs() < 1e-12);
    assert!((global_norm(&p) - 28.0_f64.sqrt()).abs() < 1e-12);
    // Only one weight of two axes: no first/last ratio.
    assert_eq!(first_last_ratio(&p), None);
}

#[test]
fn global_norm_is_nan_or_infinite_with_the_gradients() {
    let mut tape = Tape::<f64>::new();
    let a = tape.params_mut().add("a", array![1.0].into_dyn());
    let b = tape.params_mut().add("b", array![1.0].into_dyn());
    tape.params_mut().grad_mut(a)[[0]] = f64::INFINITY;
    assert_eq!(global_norm(&param_stats(tape.params())), f64::INFINITY);
    tape.params_mut().grad_mut(b)[[0]] = f64::NAN;
    let p = param_stats(tape.params());
    assert!(global_norm(&p).is_nan());
    assert_eq!((p[0].grad_inf, p[1].grad_nan), (1, 1));
}

/// A 2-3-2 ReLU network whose first unit is dead for positive inputs: every figure of the
/// layer table is computed by hand.
#[test]
fn layer_statistics_of_a_network_with_known_weights() {
    let mlp = MlpSpec::new(&[2, 3, 2], "relu".parse().unwrap());
    let mut net = build(&with_bias_init(&mlp, "zeros"), 0);
    let w0 = net.param("0.weight").unwrap();
    let w2 = net.param("2.weight").unwrap();
    net.tape
        .params_mut()
        .value_mut(w0)
        .assign(&array![[-1.0_f32, -1.0], [1.0, 0.0], [0.0, 1.0]].into_dyn());
    net.tape
        .params_mut()
        .value_mut(w2)
        .assign(&array![[1.0_f32, 1.0, 1.0], [0.0, 0.0, -1.0]].into_dyn());
    let x = array![[1.0_f32, 2.0], [3.0, 0.0]];
    // h0 = [[-3, 1, 2], [-3, 3, 0]]; relu = [[0, 1, 2], [0, 3, 0]];
    // logits = [[3, -2], [3, 0]].
    net.tape.reset();
    let xv = net.tape.input_view(&x.view().into_dyn());
    let mut taps = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let logits = net.forward(xv, true, &mut rng, Some(&mut taps)).unwrap();
    let labels = net.tape.labels(&[1, 0]);
    let loss =
        losses::cross_entropy(&mut net.tape, logits, labels, 0.0, Default::default()).unwrap();
    net.tape.backward(loss).unwrap();
    let l = layer_stats(&net.tape, &taps, &Thresholds::default());
    assert_eq!(l.len(), 3);
    assert_eq!((l[0].path.as_str(), l[0].kind.as_str()), ("0", "Linear"));
    assert_eq!(l[0].mean, 0.0); // (-3+1+2-3+3+0)/6
    assert!((l[0].second_moment - 32.0 / 6.0).abs() < 1e-6);
    assert_eq!(l[1].activation.as_deref(), Some("relu"));
    // Unit 0 is 0 for both samples (dead); unit 2 is 0 once but alive.
    assert_eq!(l[1].dead_fraction, Some(1.0 / 3.0));
    assert_eq!(l[1].zero_fraction, 3.0 / 6.0);
    assert_eq!(l[1].saturated_fraction, None);
    assert_eq!(l[0].dead_fraction, None);
    // ∂loss/∂logits = (softmax − onehot)/2 per row.
    let s = |a: f64, b: f64| (a.exp() / (a.exp() + b.exp()), b.exp() / (a.exp() + b.exp()));
    let (p00, p01) = s(3.0, -2.0);
    let (p10, p11) = s(3.0, 0.0);
    let g = [p00 / 2.0, (p01 - 1.0) / 2.0, (p10 - 1.0) / 2.0, p11 / 2.0];
    let want = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((l[2].output_grad_norm.unwrap() - want).abs() < 1e-6);
    // ∂loss/∂W2 = gᵀ·relu: rows [g00·r0 + g10·r1], ...
    let r = [[0.0, 1.0, 2.0], [0.0, 3.0, 0.0]];
    let mut gw = 0.0;
    for i in 0..2 {
        for (r0, r1) in r[0].iter().zip(&r[1]) {
            let v = g[i] * r0 + g[2 + i] * r1;
            gw += v * v;
        }
    }
    assert!((l[2].weight_grad_norm.unwrap() - gw.sqrt()).abs() < 1e-6);
    assert!(
        (l[2].bias_grad_norm.unwrap() - ((g[0] + g[2]).powi(2) + (g[1] + g[3]).powi(2)).sqrt())
            .abs()
            < 1e-6
    );
    assert_eq!(l[1].weight_grad_norm, None);
}

#[test]
fn saturation_uses_the_stated_thresholds() {
    // tanh(10) > 0.99 is saturated, tanh(±0.1) is not: half the outputs.
    let mlp = MlpSpec::new(&[2, 2, 2], "tanh".parse().unwrap());
    let mut net = build(&with_bias_init(&mlp, "zeros"), 0);
    let w0 = net.param("0.weight").unwrap();
    net.tape
        .params_mut()
        .value_mut(w0)
        .assign(&array![[10.0_f32, 0.0], [0.0, 0.1]].into_dyn());
    let x = array![[1.0_f32, 1.0], [1.0, -1.0]];
    net.tape.reset();
    let xv = net.tape.input_view(&x.view().into_dyn());
    let mut taps = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    net.forward(xv, true, &mut rng, Some(&mut taps)).unwrap();
    let th = Thresholds::default();
    assert_eq!(
        layer_stats(&net.tape, &taps, &th)[1].saturated_fraction,
        Some(0.5)
    );
    // A margin of 0 puts the threshold at tanh(10) in f32 (= 1), which is not above it:
    // none counted.
    let strict = Thresholds {
        saturation_margin: 0.0,
        ..th
    };
    assert_eq!(
        layer_stats(&net.tape, &taps, &strict)[1].saturated_fraction,
        Some(0.0)
    );
}

#[test]
fn monitor_records_layers_only_on_detailed_steps_and_updates_after_a_step() {
    let mlp = MlpSpec::new(&[3, 4, 2], "relu".parse().unwrap());
    let mut net = build(&mlp.to_spec().unwrap(), 3);
    let mut monitor = Monitor::new(MonitorConfig {
        layer_every: 2,
        layer_steps: vec![3],
        ..Default::default()
    });
    let x = Array2::from_shape_fn((4, 3), |(i, j)| (i as f32 - j as f32) * 0.3);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut snapshot = Snapshot::take(net.tape.params());
    let lr = 0.1_f32;
    for step in 0..5 {
        net.tape.reset();
        net.tape.params_mut().zero_grad();
        let xv = net.tape.input_view(&x.view().into_dyn());
        let mut taps = Vec::new();
        let out = net.forward(xv, true, &mut rng, Some(&mut taps)).unwrap();
        let labels = net.tape.labels(&[0, 1, 0, 1]);
        let loss =
            losses::cross_entropy(&mut net.tape, out, labels, 0.0, Default::default()).unwrap();
        net.tape.backward(loss).unwrap();
        let lv = net.tape.value(loss)[[]] as f64;
        let r = monitor.record(step, &net.tape, &taps, lv);
        assert_eq!(
            r.layers.is_empty(),
            !(step % 2 == 0 || step == 3),
            "step {step}"
        );
        if monitor.wants_updates(step) {
            snapshot.capture(net.tape.params());
        }
        let want: Vec<f64> = net
            .tape
            .params()
            .ids()
            .map(|id| {
                let g = net.tape.params().grad(id);
                let w = net.tape.params().value(id);
                let d: f64 = g.iter().map(|g| (lr * g) as f64).map(|d| d * d).sum();
                d.sqrt() / w.iter().map(|&w| (w as f64).powi(2)).sum::<f64>().sqrt()
            })
            .collect();
        for (_, v, g) in net.tape.params_mut().slots_mut() {
            for (v, g) in v.iter_mut().zip(g.iter()) {
                *v -= lr * g;
            }
        }
        if monitor.wants_updates(step) {
            monitor.record_update(&snapshot, net.tape.params());
            let u = &monitor.history().steps[step].updates;
            assert_eq!(u.len(), 4);
            for (u, w) in u.iter().zip(&want) {
                // f32 rounding of w − lr·g is below 1e-7·|w|, far under 1e-3 of an update.
                assert!((u.ratio.unwrap() - w).abs() < 1e-3 * w, "{} {w}", u.name);
            }
        }
    }
    assert_eq!(monitor.history().steps.len(), 5);
    assert!(monitor.history().non_finite.is_none());
}
