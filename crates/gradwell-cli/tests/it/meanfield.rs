//! The probe's mean-field prediction against its measurement, for an activation with a kink:
//! SELU (LeCun normal, PyTorch's default biases), 30 hidden layers of width 256, on the
//! embedded digits.
//!
//! The measured ratio ‖∂L/∂h‖ of the first linear layer to the last is a product of 29
//! per-layer factors, each with a finite-width fluctuation, so its logarithm varies from
//! seed to seed (sd ≈ 0.12 here); the mean field predicts its typical value. Over K = 32
//! seeds, the mean of ln(measured/predicted) is compared with its own standard error
//! s/√K (s the seeds' sample sd): a prediction that is right leaves the mean within 4
//! standard errors of 0 (a t statistic of 31 degrees of freedom beyond 4 has probability
//! below 10⁻³). The whole-line Gauss–Hermite rule put SELU's χ at 1.0611 instead of
//! 1.0716, which makes the predicted ratio smaller by a factor e^{−0.13}: 7 standard
//! errors (measured: mean 0.035 with the kink-cut rule, 0.167 with the old one, standard
//! error 0.022), so that prediction fails here.

use clap::Parser;
use gradwell_cli::cli::{Cli, Command};
use gradwell_cli::probe::{ProbeReport, run_probe};
use gradwell_monitor::Phase;

fn selu_probe(seed: u64) -> ProbeReport {
    let seed = seed.to_string();
    let cli = Cli::try_parse_from([
        "gradwell",
        "probe",
        "--activation",
        "selu",
        "--depth",
        "30",
        "--width",
        "256",
        "--seed",
        &seed,
    ])
    .expect("valid flags");
    let Command::Probe(args) = cli.command else {
        panic!("not a probe");
    };
    run_probe(&args).expect("the probe runs")
}

#[test]
fn the_predicted_gradient_growth_of_selu_matches_the_measured_one() {
    let seeds = 32;
    let mut logs = Vec::new();
    for seed in 0..seeds {
        let r = selu_probe(seed);
        let first = &r
            .theory
            .as_ref()
            .expect("a plain network has a theory")
            .rows[0];
        let measured = first.measured_output_grad_rel.expect("measured");
        logs.push((measured / first.predicted.output_grad_rel).ln());
        if seed == 0 {
            // The order-to-chaos verdict: SELU with LeCun's σ_w² = 1 is (mildly) chaotic.
            let c = r.criticality.as_ref().expect("a plain network is placed");
            assert_eq!(c.phase, Phase::Chaotic);
            assert!((c.chi_1 - 1.07).abs() < 0.01, "χ₁ = {}", c.chi_1);
            let text = gradwell_cli::probe::render(&r);
            assert!(
                text.contains("order to chaos") && text.contains("chaotic"),
                "{text}"
            );
            assert!(text.contains("within it"), "{text}");
        }
    }
    let k = seeds as f64;
    let mean = logs.iter().sum::<f64>() / k;
    let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
    let se = sd / k.sqrt();
    assert!(
        mean.abs() <= 4.0 * se,
        "mean ln(measured/predicted) = {mean:.4}, standard error {se:.4} (sd {sd:.4})"
    );
}
