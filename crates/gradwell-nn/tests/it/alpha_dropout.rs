//! Alpha dropout keeps a self-normalizing network at its fixed point; plain dropout does not.

use gradwell_nn::{MlpSpec, Network};
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const WIDTH: usize = 256;
const BATCH: usize = 256;
/// Hidden blocks (linear, SELU, dropout), each one tap to measure.
const DEPTH: usize = 16;
const P: f64 = 0.2;

/// Standard normal inputs `[BATCH, WIDTH]` (Box–Muller on a seeded ChaCha8 stream).
fn normal_input(seed: u64) -> ArrayD<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    ArrayD::from_shape_simple_fn(IxDyn(&[BATCH, WIDTH]), || {
        let (u, v): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    })
}

/// The mean and the (biased) variance of the output of every dropout layer of a SELU MLP
/// with LeCun-normal weights and zero biases (Klambauer et al.'s set-up), in training mode,
/// from the input layer to layer DEPTH.
fn moments_through_depth(mlp_toml: &str) -> Vec<(f64, f64)> {
    let mlp: MlpSpec = toml::from_str(mlp_toml).expect("valid MLP");
    let spec = mlp.to_spec().expect("valid MLP");
    let mut net = Network::<f64>::build(&spec, 1).expect("builds");
    let x = net.tape.input(normal_input(2));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut taps = Vec::new();
    net.forward(x, true, &mut rng, Some(&mut taps))
        .expect("runs");
    let outputs: Vec<_> = taps
        .iter()
        .filter(|t| t.kind.ends_with("Dropout"))
        .map(|t| net.tape.value(t.output).to_owned())
        .collect();
    assert_eq!(outputs.len(), DEPTH, "one dropout per hidden block");
    outputs
        .iter()
        .map(|y| {
            let n = y.len() as f64;
            let mean = y.sum() / n;
            (mean, y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n)
        })
        .collect()
}

fn mlp(dropout: &str) -> String {
    let widths = vec![WIDTH.to_string(); DEPTH + 2].join(", ");
    format!(
        "widths = [{widths}]\nactivation = \"selu\"\ninit = \"lecun-normal\"\nbias_init = \"zeros\"\n{dropout} = {P}\n"
    )
}

/// With alpha dropout (p = 0.2) every one of the 16 layers' outputs keeps mean 0 and
/// variance 1 within bounds from the sampling distribution; with plain dropout the same
/// network drifts outside them (mean ≈ 0.15, variance ≈ 2.7 at depth 16 in PyTorch), so the
/// test can fail.
///
/// The bounds. Each layer's output holds N = 256·256 = 65 536 values of mean 0 and variance
/// 1 at the fixed point. Independent values would give the sample mean a standard
/// deviation of 1/√N = 0.0039 and the sample variance √((μ₄ − 1)/N) ≤ 0.0078 (μ₄ ≤ 5 for
/// a SELU output of a unit Gaussian after alpha dropout). Units of one sample share its
/// squared norm q = |x|²/n, which fluctuates by about √((μ₄ − 1)/n) = 0.125 per sample,
/// shifting that sample's units together; averaged over the 256 samples that adds about
/// 0.125·0.3/16 ≈ 0.0025 to the mean's deviation (0.3 bounds ∂E[selu(√q z)]/∂q at q = 1)
/// and 0.125/16 ≈ 0.008 to the variance's. So the mean's deviation is about 0.0046 and the
/// variance's about 0.011; the bounds 0.025 and 0.055 are five of them (32 checks at a
/// two-sided 5σ level: a false alarm below 2e-5 for any seed). PyTorch, three seeds, depth
/// 16: |mean| ≤ 0.0053, |variance − 1| ≤ 0.0086.
#[test]
fn alpha_dropout_keeps_a_selu_network_at_mean_0_variance_1_and_dropout_does_not() {
    const MEAN_BOUND: f64 = 0.025;
    const VAR_BOUND: f64 = 0.055;
    let within =
        |(mean, var): (f64, f64)| mean.abs() <= MEAN_BOUND && (var - 1.0).abs() <= VAR_BOUND;

    let alpha = moments_through_depth(&mlp("alpha_dropout"));
    for (layer, &m) in alpha.iter().enumerate() {
        assert!(
            within(m),
            "alpha dropout, layer {layer}: mean, variance {m:?}"
        );
    }
    let plain = moments_through_depth(&mlp("dropout"));
    let last = plain[DEPTH - 1];
    assert!(
        !within(last),
        "plain dropout stays at the fixed point? {last:?}"
    );
    assert!(
        last.1 > 1.0 + 10.0 * VAR_BOUND,
        "plain dropout's variance {last:?}"
    );
}
