//! The monitor through time: ‖∂L/∂h_t‖ for every step, the spectral radius of the
//! recurrent matrix, and the findings they support.

use gradwell_monitor::{
    Cure, FindingKind, Probe, ProbeTargets, Setup, Thresholds, probe_targets, spectral_radius,
};
use gradwell_nn::{ModelSpec, Network};
use ndarray::{Array2, array};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A recurrent layer reading one feature per step, its last step, a linear read-out.
fn net(layer: &str, steps: usize) -> Network<f64> {
    let json = format!(
        r#"{{"input_shape": [{steps}, 1], "layers": [{layer}, {{"type": "last_step"}},
            {{"type": "linear", "out_features": 1}}]}}"#
    );
    Network::build(&ModelSpec::parse(&json).unwrap(), 5).unwrap()
}

/// Multiplies `0.weight_hh_l0` by `scale` and zeroes the recurrent biases when `no_bias`.
fn rescale(n: &mut Network<f64>, scale: f64, no_bias: bool) {
    let store = n.tape.params_mut();
    let ids: Vec<_> = store.ids().collect();
    for id in ids {
        let name = store.name(id).to_string();
        if name == "0.weight_hh_l0" {
            store.value_mut(id).mapv_inplace(|w| w * scale);
        } else if no_bias && name.starts_with("0.bias_") {
            store.value_mut(id).fill(0.0);
        }
    }
}

fn inputs(batch: usize, steps: usize, scale: f64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    Array2::from_shape_simple_fn((batch, steps), || {
        let z: f64 = StandardNormal.sample(&mut rng);
        scale * z
    })
}

fn run(n: &mut Network<f64>, x: &Array2<f64>) -> Probe {
    let y = vec![0.5; x.nrows()];
    probe_targets(
        n,
        &x.view(),
        ProbeTargets::Values(&y),
        &Thresholds::default(),
        &Setup::default(),
    )
    .unwrap()
}

fn kinds(p: &Probe) -> Vec<FindingKind> {
    p.findings.iter().map(|f| f.kind).collect()
}

#[cfg(feature = "svd")]
#[test]
fn the_spectral_radius_of_known_matrices() {
    let close = |a: Option<f64>, b: f64| {
        let a = a.unwrap();
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    };
    // c·R(θ): eigenvalues c·e^{±iθ}, complex, |λ| = c.
    let (c, t) = (0.7_f64, 0.9_f64);
    let rot = array![[c * t.cos(), -c * t.sin()], [c * t.sin(), c * t.cos()]];
    close(spectral_radius(&rot.view()), c);
    // Orthogonal × 1.5: a cyclic permutation (eigenvalues the 5th roots of unity) times a
    // rotation block, scaled; every |λ| = 1.5.
    let mut q = Array2::<f64>::zeros((5, 5));
    for i in 0..5 {
        q[[(i + 1) % 5, i]] = 1.5;
    }
    close(spectral_radius(&q.view()), 1.5);
    // Non-normal, Jordan-like: eigenvalues 0.5 (twice) and −0.3, though its largest
    // singular value is about 100: the radius is not the norm.
    let j = array![[0.5, 100.0, 0.0], [0.0, 0.5, 3.0], [0.0, 0.0, -0.3]];
    close(spectral_radius(&j.view()), 0.5);
    // Not square, or not finite: not measured.
    assert_eq!(spectral_radius(&Array2::<f64>::zeros((2, 3)).view()), None);
    assert_eq!(spectral_radius(&array![[f64::NAN]].view()), None);
}

#[cfg(not(feature = "svd"))]
#[test]
fn without_svd_the_spectral_radius_is_not_measured() {
    assert_eq!(spectral_radius(&array![[0.5]].view()), None);
}

#[cfg(feature = "svd")]
#[test]
fn orthogonal_recurrent_weights_have_spectral_radius_one() {
    for layer in [
        r#"{"type": "rnn", "hidden_size": 24, "recurrent_init": "orthogonal"}"#,
        r#"{"type": "lstm", "hidden_size": 12, "recurrent_init": "orthogonal"}"#,
    ] {
        let mut n = net(layer, 6);
        let p = run(&mut n, &inputs(4, 6, 1.0));
        let radii = &p.record.recurrent_radius;
        assert_eq!(radii.len(), 1, "{layer}");
        let r = radii[0].radius.unwrap();
        assert!((r - 1.0).abs() < 1e-9, "{layer}: {r}");
    }
}

/// With the loss at the last step only, ∂L/∂h_{t−1} = (∂L/∂h_t ⊙ tanh′(a_t)) W_hh and
/// |tanh′| ≤ 1, so ‖∂L/∂h_1‖ ≤ ‖W_hh‖₂^(T−1) ‖∂L/∂h_T‖ (each sample's row, hence the
/// Frobenius norm over the batch). For W_hh orthogonal × ρ, ‖W_hh‖₂ = ρ: the ratio is at
/// most ρ^(T−1).
#[test]
fn a_tanh_rnn_with_radius_one_half_vanishes_through_time() {
    let steps = 100;
    let mut n = net(
        r#"{"type": "rnn", "hidden_size": 16, "recurrent_init": "orthogonal"}"#,
        steps,
    );
    rescale(&mut n, 0.5, false);
    let p = run(&mut n, &inputs(8, steps, 1.0));
    let g = &p.record.through_time[0];
    assert_eq!((g.layer.as_str(), g.kind.as_str()), ("0", "RNN"));
    assert_eq!(g.norms.len(), steps);
    let ratio = g.ratio().unwrap();
    let bound = 0.5_f64.powi(steps as i32 - 1) * (1.0 + 1e-9);
    assert!(ratio > 0.0 && ratio <= bound, "{ratio:e} > {bound:e}");
    #[cfg(feature = "svd")]
    {
        let r = p.record.recurrent_radius[0].radius.unwrap();
        assert!((r - 0.5).abs() < 1e-9, "{r}");
    }
    let f = p
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::VanishingThroughTime)
        .expect("vanishing through time");
    assert!(
        f.message.contains("the gradient reaching step 1 is") && f.message.contains("step 100"),
        "{}",
        f.message
    );
    // A plain RNN is told of gated cells and orthogonal weights.
    assert!(f.cures.contains(&Cure::GatedCell), "{:?}", f.cures);
    assert!(f.cures.contains(&Cure::OrthogonalRecurrent));
}

/// Orthogonal × 1.5 with zero biases and inputs of 1e-6: the states stay near 0 over 20
/// steps (|h_t| ≲ 1e-6·Σ 1.5^k‖w_ih‖ ≪ 0.1), so tanh′ ≥ 0.99 and each step back
/// multiplies the gradient's norm by at least 1.5 · 0.99 (σ_min(W_hh) = 1.5).
#[test]
fn a_tanh_rnn_with_radius_one_and_a_half_explodes_through_time() {
    let steps = 20;
    let mut n = net(
        r#"{"type": "rnn", "hidden_size": 16, "recurrent_init": "orthogonal"}"#,
        steps,
    );
    rescale(&mut n, 1.5, true);
    let p = run(&mut n, &inputs(8, steps, 1e-6));
    let ratio = p.record.through_time[0].ratio().unwrap();
    let floor = (1.5_f64 * 0.99).powi(steps as i32 - 1);
    assert!(ratio >= floor, "{ratio:e} < {floor:e}");
    let f = p
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::ExplodingThroughTime)
        .unwrap_or_else(|| panic!("exploding through time: {:?}", kinds(&p)));
    assert!(f.cures.contains(&Cure::GradientClipping));
    assert!(!kinds(&p).contains(&FindingKind::VanishingThroughTime));
}

/// An LSTM at PyTorch's init keeps more of its gradient through time with the forget
/// gate's bias at 1 than without: along the cell state the gradient is multiplied by the
/// forget gate f_t = σ(b_f + …) at each step back, ≈ σ(0) = 0.5 without the bias and
/// ≈ σ(1) ≈ 0.73 with it. Measured at T = 100, H = 128, seed 5: 0.61 per step without,
/// 0.83 with (ratios 7e-22 and 1.6e-8). Both stay below the threshold 1e-3 over 100 steps:
/// at initialization, forget bias 1 slows the decay but does not stop it.
#[test]
fn an_lstm_with_forget_bias_one_decays_more_slowly_through_time() {
    let steps = 100;
    let per_step = |layer: &str| {
        let mut n = net(layer, steps);
        let p = run(&mut n, &inputs(8, steps, 1.0));
        let g = p.record.through_time[0].clone();
        assert_eq!(g.kind, "LSTM");
        // An LSTM is not told to use an LSTM.
        for f in &p.findings {
            assert!(!f.cures.contains(&Cure::GatedCell), "{f}");
        }
        g.per_step().unwrap()
    };
    let with = per_step(r#"{"type": "lstm", "hidden_size": 128, "forget_bias": 1.0}"#);
    let without = per_step(r#"{"type": "lstm", "hidden_size": 128}"#);
    let sigma_one = 1.0 / (1.0 + (-1.0_f64).exp());
    assert!(with > sigma_one, "{with} ≤ σ(1) = {sigma_one}");
    assert!(without < with, "{without} ≥ {with}");
}

#[test]
fn the_history_writes_one_row_per_step_layer_and_time_step() {
    let steps = 7;
    let mut n = net(r#"{"type": "gru", "hidden_size": 4}"#, steps);
    let p = run(&mut n, &inputs(3, steps, 1.0));
    let h = gradwell_monitor::History {
        steps: vec![p.record.clone()],
        ..Default::default()
    };
    let csv = h.through_time_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "step,layer,t,grad_norm");
    assert_eq!(lines.len(), 1 + steps);
    assert!(lines[1].starts_with("0,0,1,") && lines[steps].starts_with("0,0,7,"));
    let radius = h.recurrent_csv();
    assert!(
        radius
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("0,0.weight_hh_l0,W_hn,"),
        "{radius}"
    );
    let back = gradwell_monitor::History::from_json(&h.to_json().unwrap()).unwrap();
    let (a, b) = (&back.steps[0].through_time[0], &p.record.through_time[0]);
    assert_eq!(
        (&a.layer, &a.kind, a.norms.len()),
        (&b.layer, &b.kind, steps)
    );
    for (x, y) in a.norms.iter().zip(&b.norms) {
        assert!((x - y).abs() <= 1e-15 * y, "{x} vs {y}");
    }
}
