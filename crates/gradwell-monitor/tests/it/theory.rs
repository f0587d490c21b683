//! Gauss–Hermite against known moments and nodes; the mean-field claims pinned: ReLU + He
//! preserves q, ReLU + Xavier on square layers halves it, sigmoid's χ ≤ σ_w²/16.

use gradwell_activations::ActivationKind;
use gradwell_init::Init;
use gradwell_monitor::{
    GaussHermite, MeanField, MonitorError, PlainNet, bias_sigma2, weight_sigma2,
};
use gradwell_nn::MlpSpec;

fn act(name: &str) -> ActivationKind {
    name.parse().unwrap()
}

/// (2k − 1)!! = E[z^{2k}].
fn double_factorial(k: u32) -> f64 {
    (1..=k).map(|i| (2 * i - 1) as f64).product()
}

#[test]
fn gauss_hermite_integrates_normal_moments_exactly() {
    for n in [2, 7, 20, GaussHermite::DEFAULT_ORDER] {
        let gh = GaussHermite::new(n).unwrap();
        assert!(
            (gh.weights().iter().sum::<f64>() - 1.0).abs() < 1e-13,
            "n = {n}"
        );
        // Exact for degree < 2n.
        for k in 1..=(n as u32 - 1).min(10) {
            let want = double_factorial(k);
            let got = gh.expect(|z| z.powi(2 * k as i32));
            assert!(
                (got / want - 1.0).abs() < 1e-11,
                "n = {n}, E[z^{}]: {got} vs {want}",
                2 * k
            );
            // Odd moments vanish; the sum cancels terms as large as the even moment.
            assert!(gh.expect(|z| z.powi(2 * k as i32 - 1)).abs() < 1e-11 * want);
        }
    }
    let gh = GaussHermite::new(40).unwrap();
    assert!((gh.expect(f64::cos) - (-0.5_f64).exp()).abs() < 1e-14);
    assert!((gh.expect(f64::exp) - 0.5_f64.exp()).abs() < 1e-13);
}

#[test]
fn gauss_hermite_five_points_match_the_closed_form() {
    // Roots of He₅(x) = x⁵ − 10x³ + 15x: 0, ±√(5 ∓ √10); weights n!/(n²·He₄(xᵢ)²).
    let gh = GaussHermite::new(5).unwrap();
    let r1 = (5.0 + 10.0_f64.sqrt()).sqrt();
    let r2 = (5.0 - 10.0_f64.sqrt()).sqrt();
    let want = [r1, r2, 0.0, -r2, -r1];
    let he4 = |x: f64| x.powi(4) - 6.0 * x * x + 3.0;
    for (i, (&z, &w)) in gh.nodes().iter().zip(gh.weights()).enumerate() {
        assert!((z - want[i]).abs() < 1e-13, "node {i}: {z}");
        let wi = 120.0 / (25.0 * he4(want[i]).powi(2));
        assert!((w - wi).abs() < 1e-14, "weight {i}: {w} vs {wi}");
    }
}

#[test]
fn gauss_hermite_rejects_bad_orders() {
    assert!(matches!(
        GaussHermite::new(0),
        Err(MonitorError::Invalid { .. })
    ));
    assert!(GaussHermite::new(201).is_err());
}

/// The largest order accepted is a true rule; the first refused, and the two that used to
/// come back collapsed (every node near ±27.3, weights summing to 1e-160), are errors that
/// name n and the limit.
#[test]
fn gauss_hermite_accepts_up_to_its_limit_and_names_the_refused_order() {
    let max = GaussHermite::MAX_ORDER;
    let gh = GaussHermite::new(max).unwrap();
    assert!((gh.weights().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(gh.nodes().windows(2).all(|w| w[0] > w[1]));
    for k in 1..=10 {
        let want = double_factorial(k);
        let got = gh.expect(|z| z.powi(2 * k as i32));
        assert!((got / want - 1.0).abs() < 1e-10, "E[z^{}]: {got}", 2 * k);
    }
    assert!((gh.expect(f64::cos) - (-0.5_f64).exp()).abs() < 1e-13);
    for n in [max + 1, 199, 200] {
        let err = GaussHermite::new(n).unwrap_err().to_string();
        assert!(
            err.contains(&n.to_string()) && err.contains(&max.to_string()),
            "{err}"
        );
    }
}

#[test]
fn relu_second_moments_are_exact_by_symmetry() {
    let mf = MeanField::new(act("relu")).unwrap();
    for q in [1e-3, 0.7, 2.0, 50.0] {
        assert!((mf.activation_second_moment(q) / (q / 2.0) - 1.0).abs() < 1e-13);
        assert!((mf.derivative_second_moment(q) - 0.5).abs() < 1e-13);
    }
}

#[test]
fn relu_with_he_preserves_the_variance() {
    let mut mlp = MlpSpec::new(&[100; 21], act("relu"));
    mlp.init = Some("he-normal".parse().unwrap());
    mlp.bias_init = Some("zeros".parse().unwrap());
    let net = PlainNet::from_mlp(&mlp, 1.0).unwrap();
    assert!(net.sigma_w2.iter().all(|&s| (s - 2.0).abs() < 1e-12));
    let p = net.predict().unwrap();
    assert_eq!(p.len(), 20);
    for l in &p {
        assert!((l.q - 2.0).abs() < 1e-12, "layer {}: q = {}", l.linear, l.q);
        if let Some(chi) = l.chi {
            assert!((chi - 1.0).abs() < 1e-12);
        }
        assert!((l.output_grad_rel - 1.0).abs() < 1e-10);
    }
}

#[test]
fn relu_with_xavier_on_square_layers_halves_the_variance() {
    let mut mlp = MlpSpec::new(&[64; 11], act("relu"));
    mlp.init = Some("xavier-normal".parse().unwrap());
    mlp.bias_init = Some("zeros".parse().unwrap());
    let p = PlainNet::from_mlp(&mlp, 1.0).unwrap().predict().unwrap();
    for w in p.windows(2) {
        assert!((w[1].q / w[0].q - 0.5).abs() < 1e-12);
    }
    // The gradient shrinks by √(σ_w²/2) = √0.5 per layer going back.
    assert!((p[0].output_grad_rel - 0.5_f64.powf(4.5)).abs() < 1e-12);
}

#[test]
fn sigmoid_gradient_factor_is_at_most_a_sixteenth_of_sigma_w2() {
    let mf = MeanField::new(act("sigmoid")).unwrap();
    for q in [1e-6, 0.1, 1.0, 4.0, 100.0] {
        for sw in [0.5, 1.0, 3.0] {
            let chi = mf.chi(q, sw);
            assert!(chi <= sw / 16.0 + 1e-15, "q {q} σ_w² {sw}: χ = {chi}");
        }
    }
    // Near q = 0 the derivative is 1/4 everywhere: χ → σ_w²/16.
    assert!((mf.chi(1e-8, 1.0) - 1.0 / 16.0).abs() < 1e-9);
    let mut widths = vec![128; 20];
    widths.push(10);
    let mlp = MlpSpec::new(&widths, act("sigmoid"));
    let net = PlainNet::from_mlp(&mlp, 1.0).unwrap();
    let p = net.predict().unwrap();
    for l in &p {
        if let Some(chi) = l.chi {
            let sw = net.sigma_w2[l.linear + 1];
            assert!(
                chi <= sw / 16.0,
                "layer {}: χ = {chi}, σ_w² = {sw}",
                l.linear
            );
        }
    }
    assert!(p[0].output_grad_rel <= 0.25_f64.powi(18));
}

#[test]
fn sigma_squared_from_the_initializers() {
    let he: Init = "he-normal".parse().unwrap();
    assert!((weight_sigma2(&he, 300, 100).unwrap() - 2.0).abs() < 1e-12);
    let xavier: Init = "xavier-uniform".parse().unwrap();
    assert!((weight_sigma2(&xavier, 300, 100).unwrap() - 300.0 * 2.0 / 400.0).abs() < 1e-12);
    let pytorch: Init = "pytorch-default".parse().unwrap();
    assert!((weight_sigma2(&pytorch, 50, 7).unwrap() - 1.0 / 3.0).abs() < 1e-12);
    let orthogonal: Init = "orthogonal:2".parse().unwrap();
    assert!((weight_sigma2(&orthogonal, 10, 20).unwrap() - 2.0).abs() < 1e-12);
    let normal: Init = "normal:0,0.1".parse().unwrap();
    assert!((weight_sigma2(&normal, 100, 1).unwrap() - 1.0).abs() < 1e-12);
    let constant: Init = "constant:0.5".parse().unwrap();
    assert!(matches!(
        weight_sigma2(&constant, 10, 10),
        Err(MonitorError::NotPlain(_))
    ));
    assert!((bias_sigma2(None, 12, 5).unwrap() - 1.0 / 36.0).abs() < 1e-15);
    assert!(bias_sigma2(Some(&"ones".parse().unwrap()), 12, 5).is_err());
    // PyTorch's default bias by name takes the layer's fan-in, as the default does.
    assert_eq!(
        bias_sigma2(Some(&"pytorch-default-bias".parse().unwrap()), 12, 5).unwrap(),
        bias_sigma2(None, 12, 5).unwrap()
    );
}

/// σ_w² is what a fill actually holds, for every registered initializer the theory
/// accepts: fan_in times the mean square of 2¹⁸ seeded draws of a [128, 64] weight. The
/// mean square m₂ of n independent draws has relative standard deviation √((κ − 1)/n) for
/// kurtosis κ (at most 9, a normal tail's bound, here): 6 of them are at most 3.3 % at
/// n = 2¹⁸, a false alarm with probability about 2·10⁻⁹ per initializer. (An orthogonal
/// weight's draws are not independent, but its m₂ is exact: gain²·min(rows, cols) spread
/// over rows·cols.) The initializers come from the registry, so a new one is checked too.
#[test]
fn sigma_squared_is_the_mean_square_of_a_fill() {
    use gradwell_init::Initializer;
    use rand::SeedableRng;
    let (fan_in, fan_out) = (64, 128);
    let mut accepted = 0;
    for init in Init::examples() {
        let Ok(sigma2) = weight_sigma2(&init, fan_in, fan_out) else {
            continue;
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut m2 = 0.0;
        let fills = 32;
        for _ in 0..fills {
            let w: ndarray::ArrayD<f64> = init.sample(&[fan_out, fan_in], &mut rng).unwrap();
            m2 += w.iter().map(|x| x * x).sum::<f64>() / (w.len() * fills) as f64;
        }
        let n = (fan_in * fan_out * fills) as f64;
        let allowed = 6.0 * (8.0 / n).sqrt() * sigma2;
        assert!(
            (m2 * fan_in as f64 - sigma2).abs() <= allowed,
            "{init}: fan_in·m2 = {}, σ_w² = {sigma2}",
            m2 * fan_in as f64
        );
        accepted += 1;
    }
    assert!(accepted >= 15, "only {accepted} initializers have a σ_w²");
}

#[test]
fn the_theory_refuses_networks_it_does_not_describe() {
    let mut mlp = MlpSpec::new(&[8, 8, 2], act("relu"));
    mlp.batch_norm = true;
    assert!(matches!(
        PlainNet::from_mlp(&mlp, 1.0),
        Err(MonitorError::NotPlain(_))
    ));
    let bad = PlainNet {
        widths: vec![4, 4],
        activation: act("relu"),
        sigma_w2: vec![-1.0],
        sigma_b2: vec![0.0],
        input_second_moment: 1.0,
    };
    assert!(bad.predict().is_err());
}
