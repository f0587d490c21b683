//! The two He examples: Keras's `HeNormal` on a 784→128 Dense kernel and PyTorch's
//! `kaiming_normal_(w, nonlinearity='relu')` on the weights of Linear(784, 128) and
//! Linear(128, 10).
//!
//! Each distribution is pinned by its variance (m₂ within 6 of its standard deviations,
//! σ²·√(2/n); false alarm ≈ 2·10⁻⁹ each), its support, and — to tell the truncated from the
//! untruncated normal, which have the same variance — the share of samples beyond 2σ of the
//! target: 3.46 % for Keras's (its cut is at 2σ₀ = 2.27σ), 4.55 % for the normal. Each
//! share is allowed 6 binomial standard deviations (false alarm ≈ 2·10⁻⁹ each); the gap
//! between the two is over 10 of them at n = 784·128.

use gradwell_init::{
    FanMode, HeNormal, Init, Initializer, KERAS_TRUNCATION_STD, Layout, Nonlinearity,
    VarianceScaling,
};
use ndarray::ArrayD;

use crate::rng;

fn m2(w: &ArrayD<f32>) -> f64 {
    w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / w.len() as f64
}

fn share_beyond(w: &ArrayD<f32>, cut: f64) -> f64 {
    w.iter().filter(|&&x| f64::from(x).abs() > cut).count() as f64 / w.len() as f64
}

/// `share` is within 6 binomial standard deviations of `p`.
fn assert_share(share: f64, p: f64, n: usize, what: &str) {
    let sd = (p * (1.0 - p) / n as f64).sqrt();
    assert!(
        (share - p).abs() <= 6.0 * sd,
        "{what}: {share} vs {p} ± 6·{sd}"
    );
}

#[test]
fn keras_he_normal_on_a_784_to_128_dense_kernel() {
    let init = VarianceScaling::keras_he_normal().with_layout(Layout::Keras);
    let kernel: ArrayD<f32> = init.sample(&[784, 128], &mut rng(784)).unwrap();
    let (n, var) = (kernel.len(), 2.0 / 784.0);
    assert!((m2(&kernel) / var - 1.0).abs() <= 6.0 * (2.0 / n as f64).sqrt());
    let sigma0 = var.sqrt() / KERAS_TRUNCATION_STD;
    assert!(
        kernel
            .iter()
            .all(|&x| f64::from(x).abs() <= 2.0 * sigma0 + 1e-7)
    );
    // P(|X| > 2σ) for N(0, σ₀²) cut at ±2σ₀, σ = 0.8796σ₀: 2·(Φ(2) − Φ(2·0.8796)) / (2Φ(2) − 1).
    let p = 2.0 * (0.977_249_868_051_820_8 - 0.960_732_584_692_770_3) / 0.954_499_736_103_641_6;
    assert_share(share_beyond(&kernel, 2.0 * var.sqrt()), p, n, "keras");
}

#[test]
fn pytorch_kaiming_normal_relu_on_784_128_10() {
    let init = Init::HeNormal(HeNormal {
        nonlinearity: Nonlinearity::Relu,
        mode: FanMode::FanIn,
    });
    for (shape, fan_in) in [([128, 784], 784.0), ([10, 128], 128.0)] {
        let w: ArrayD<f32> = init.sample(&shape, &mut rng(fan_in as u64)).unwrap();
        let (n, var) = (w.len(), 2.0 / fan_in);
        assert!(
            (m2(&w) / var - 1.0).abs() <= 6.0 * (2.0 / n as f64).sqrt(),
            "{shape:?}"
        );
        // Untruncated: 4.55 % of N(0, σ²) lies beyond 2σ.
        assert_share(
            share_beyond(&w, 2.0 * var.sqrt()),
            0.045_500_263_896_358_4,
            n,
            "torch",
        );
    }
}
