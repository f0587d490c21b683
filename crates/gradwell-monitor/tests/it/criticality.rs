//! The order-to-chaos analysis of Schoenholz et al. 2017: tanh's critical line at the
//! paper's σ_b² = 0.05, ξ_c diverging there, c* = 1 in the ordered phase and a stable c* < 1
//! in the chaotic one, the maps' slopes against finite differences, ReLU's closed forms.

use gradwell_activations::ActivationKind;
use gradwell_monitor::{Criticality, MeanField, MonitorError, Phase, PlainNet};
use gradwell_nn::MlpSpec;

fn act(name: &str) -> ActivationKind {
    name.parse().unwrap()
}

fn tanh_at(sigma_w2: f64) -> Criticality {
    Criticality::new(act("tanh"), sigma_w2, 0.05, 1.0).unwrap()
}

/// σ_w² where tanh's χ₁ crosses 1 at σ_b² = 0.05, by bisection (χ₁ grows with σ_w²).
fn tanh_critical_sigma_w2() -> f64 {
    let (mut lo, mut hi) = (1.0, 3.0);
    while hi - lo > 1e-13 {
        let mid = (lo + hi) / 2.0;
        if tanh_at(mid).chi_1 < 1.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// The critical point the paper's tanh experiments sit on: σ_b² = 0.05, σ_w² ≈ 1.76. At it
/// the phase is critical and ξ_c infinite (no depth limit); approaching it from either side
/// ξ_c grows without bound.
#[test]
fn tanh_criticality_and_the_divergence_of_xi_c() {
    let critical = tanh_critical_sigma_w2();
    assert!(
        (critical - 1.76).abs() < 0.005,
        "critical σ_w² = {critical}"
    );
    let at = tanh_at(critical);
    assert_eq!(at.phase, Phase::Critical);
    assert_eq!(at.xi_c, None);
    assert_eq!(at.trainable_depth(), None);
    for side in [-1.0, 1.0] {
        let mut last = 0.0;
        for delta in [0.3, 0.03, 0.003, 0.0003] {
            let c = tanh_at(critical + side * delta);
            let expected = if side < 0.0 {
                Phase::Ordered
            } else {
                Phase::Chaotic
            };
            assert_eq!(c.phase, expected, "σ_w² = {}", critical + side * delta);
            let xi = c.xi_c.expect("finite off the critical point");
            assert!(xi > last, "ξ_c = {xi} at δ = {delta}, {last} farther out");
            last = xi;
        }
        // Within 3·10⁻⁴ of the critical point, ξ_c is thousands of layers.
        assert!(last > 1000.0, "ξ_c = {last}");
    }
}

/// Ordered: c* = 1, χ_c = χ₁ < 1, and iterating the correlation map from c = 0.2 does go
/// to 1.
#[test]
fn the_ordered_phase_has_c_star_one() {
    let mf = MeanField::new(act("tanh")).unwrap();
    for sigma_w2 in [0.8, 1.2, 1.5] {
        let c = tanh_at(sigma_w2);
        assert_eq!(c.phase, Phase::Ordered);
        assert_eq!(c.c_star, 1.0);
        assert_eq!(c.chi_c, c.chi_1);
        assert!(c.chi_1 < 1.0);
        let mut x = 0.2;
        for _ in 0..200 {
            x = mf.next_c(c.q_star, x, sigma_w2, 0.05);
        }
        assert!(
            1.0 - x < 1e-3,
            "σ_w² = {sigma_w2}: c after 200 layers = {x}"
        );
    }
}

/// Chaotic: c* < 1 is a fixed point of the correlation map, it attracts from either side,
/// and its slope χ_c is below 1 while χ₁ is above.
#[test]
fn the_chaotic_phase_has_a_stable_c_star_below_one() {
    let mf = MeanField::new(act("tanh")).unwrap();
    let sigma_w2 = 3.0;
    let c = tanh_at(sigma_w2);
    assert_eq!(c.phase, Phase::Chaotic);
    assert!(c.chi_1 > 1.0 && c.chi_c < 1.0);
    assert!(c.c_star > 0.0 && c.c_star < 1.0);
    let image = mf.next_c(c.q_star, c.c_star, sigma_w2, 0.05);
    assert!((image - c.c_star).abs() < 1e-10, "{image} vs {}", c.c_star);
    let steps = (40.0 * c.xi_c.unwrap()).ceil() as usize;
    for start in [0.05, 0.99] {
        let mut x = start;
        for _ in 0..steps {
            x = mf.next_c(c.q_star, x, sigma_w2, 0.05);
        }
        assert!(
            (x - c.c_star).abs() < 1e-8,
            "from {start}: {x} vs {}",
            c.c_star
        );
    }
}

/// The correlation map's slope is χ_c (Price's theorem) wherever it is taken, for every
/// activation; at c = 1 and q = q* it is χ₁, and the map fixes c = 1.
#[test]
fn the_correlation_map_slope_is_chi_c() {
    for a in ActivationKind::defaults() {
        let mf = MeanField::new(a).unwrap();
        let (q, sw, sb) = (0.8, 1.7, 0.1);
        let c = 0.5;
        let h = 1e-3;
        let m = |x: f64| mf.next_c(q, x, sw, sb);
        let fd = (-m(c + 2.0 * h) + 8.0 * m(c + h) - 8.0 * m(c - h) + m(c - 2.0 * h)) / (12.0 * h);
        let chi_c = mf.chi_c(q, c, sw);
        assert!(
            (fd - chi_c).abs() <= 1e-7 * chi_c.abs().max(1.0),
            "{a}: finite difference {fd} vs χ_c {chi_c}"
        );
        let (one, chi) = (mf.chi_c(q, 1.0, sw), mf.chi(q, sw));
        assert!(
            (one - chi).abs() <= 1e-14 * chi.max(1.0),
            "{a}: {one} vs {chi}"
        );
    }
    // At tanh's fixed point: C(1) = 1, and the one-sided slope at 1 is χ₁ (the difference
    // quotient's error is −C″(1)·h/2 + O(h²); Richardson's 2·d(h/2) − d(h) removes the first).
    let sigma_w2 = 2.5;
    let c = tanh_at(sigma_w2);
    let mf = MeanField::new(act("tanh")).unwrap();
    let m = |x: f64| mf.next_c(c.q_star, x, sigma_w2, 0.05);
    assert!((m(1.0) - 1.0).abs() < 1e-12);
    let d = |h: f64| (m(1.0) - m(1.0 - h)) / h;
    let slope = 2.0 * d(5e-4) - d(1e-3);
    assert!((slope - c.chi_1).abs() < 1e-6, "{slope} vs {}", c.chi_1);
}

/// ξ_q is the rate at which the variance settles: a deviation from q* shrinks by χ_q per
/// layer.
#[test]
fn the_variance_settles_at_the_rate_of_xi_q() {
    let mf = MeanField::new(act("tanh")).unwrap();
    let c = tanh_at(2.5);
    let eps = 1e-4 * c.q_star;
    let next = mf.next_q(c.q_star + eps, 2.5, 0.05) - c.q_star;
    assert!(
        (next / eps - c.chi_q).abs() < 1e-3,
        "{} vs {}",
        next / eps,
        c.chi_q
    );
    let xi = c.xi_q.unwrap();
    assert!((xi + 1.0 / c.chi_q.ln()).abs() < 1e-12);
}

/// ReLU in closed form: q* = σ_b²/(1 − σ_w²/2), χ₁ = χ_q = σ_w²/2; He with zero biases is
/// critical; σ_w² > 2 has no fixed point, and bad figures are refused by name.
#[test]
fn relu_in_closed_form_and_the_refusals() {
    let relu = act("relu");
    let c = Criticality::new(relu, 1.0, 0.3, 5.0).unwrap();
    assert!((c.q_star - 0.6).abs() < 1e-11, "{}", c.q_star);
    assert!((c.chi_1 - 0.5).abs() < 1e-12);
    assert!((c.chi_q - 0.5).abs() < 1e-9);
    assert_eq!(c.phase, Phase::Ordered);
    assert!((c.xi_c.unwrap() - 1.0 / 2f64.ln()).abs() < 1e-9);
    let he = Criticality::new(relu, 2.0, 0.0, 0.7).unwrap();
    assert_eq!(he.phase, Phase::Critical);
    assert!((he.q_star - 0.7).abs() < 1e-12);
    assert_eq!((he.xi_q, he.xi_c), (None, None));
    // σ_b² = 0 and σ_w² < 2: q* = 0, reached as a limit; χ₁ is that limit's, 1/4·2 = 0.5.
    let zero = Criticality::new(relu, 1.0, 0.0, 1.0).unwrap();
    assert_eq!(zero.q_star, 0.0);
    assert!((zero.chi_1 - 0.5).abs() < 1e-12);
    // σ_w² = 2 with a bias: q creeps up by σ_b² per layer for ever, from any start.
    for (w, b, q0) in [(2.5, 0.0, 1.0), (2.0, 0.1, 1.0), (2.0, 0.0026, 0.5)] {
        let err = Criticality::new(relu, w, b, q0).unwrap_err().to_string();
        assert!(err.contains("no finite fixed point"), "{err}");
    }
    let err = Criticality::new(relu, -1.0, 0.0, 1.0).unwrap_err();
    assert!(
        matches!(err, MonitorError::Invalid { what: "σ_w²", .. }),
        "{err}"
    );
    assert!(Criticality::new(relu, 1.0, f64::NAN, 1.0).is_err());
}

#[test]
fn the_phase_prints_and_serializes_as_one_word() {
    for (p, s) in [
        (Phase::Ordered, "ordered"),
        (Phase::Critical, "critical"),
        (Phase::Chaotic, "chaotic"),
    ] {
        assert_eq!(p.to_string(), s);
        assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{s}\""));
        assert_eq!(
            serde_json::from_str::<Phase>(&format!("\"{s}\"")).unwrap(),
            p
        );
    }
}

/// A plain network's analysis reads its hidden layers' σ² and says where it stands; it
/// refuses networks with fewer than two hidden layers or with unequal hidden σ².
#[test]
fn a_plain_network_is_placed_on_its_side_of_the_transition() {
    let mut mlp = MlpSpec::new(&[20, 64, 64, 64, 64, 10], act("tanh"));
    mlp.init = Some("normal:0,0.25".parse().unwrap()); // σ_w² = 64·0.0625 = 4
    mlp.bias_init = Some("zeros".parse().unwrap());
    let c = PlainNet::from_mlp(&mlp, 1.0)
        .unwrap()
        .criticality()
        .unwrap();
    assert_eq!(c.phase, Phase::Chaotic);
    assert!((c.sigma_w2 - 4.0).abs() < 1e-12 && c.sigma_b2 == 0.0);
    // Odd φ without bias: C(0) = 0, so c* = 0.
    assert!(c.c_star.abs() < 1e-12, "{}", c.c_star);
    let text = c.describe(4);
    assert!(text.starts_with("chaotic"), "{text}");
    assert!(
        text.contains("explodes") && text.contains("6·ξ_c"),
        "{text}"
    );

    let shallow = MlpSpec::new(&[20, 64, 10], act("tanh"));
    assert!(
        PlainNet::from_mlp(&shallow, 1.0)
            .unwrap()
            .criticality()
            .is_err()
    );
    let mut uneven = MlpSpec::new(&[20, 64, 32, 16, 10], act("tanh"));
    uneven.init = Some("xavier-normal".parse().unwrap());
    let err = PlainNet::from_mlp(&uneven, 1.0)
        .unwrap()
        .criticality()
        .unwrap_err()
        .to_string();
    assert!(err.contains("different σ_w²"), "{err}");
}
