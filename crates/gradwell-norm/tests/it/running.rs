//! Running statistics after k steps against their closed forms, in settings where the
//! unbiased running variance (PyTorch's) and the biased one differ by far more than the
//! tolerance: batches of 2 to 4 values per channel, where `m/(m − 1)` is 2 to 4/3.

use gradwell_autodiff::Tape;
use gradwell_norm::{BatchNorm, BatchNormConfig};
use ndarray::{ArrayD, IxDyn, array};
use proptest::prelude::*;

use crate::common::{F64_TOL, channel, mean_var, rng, unbiased_var, uniform, values};

/// Trains a fresh layer on each batch in turn; returns the layer and its tape.
fn train(batches: &[ArrayD<f64>], momentum: Option<f64>) -> (BatchNorm<f64>, Tape<f64>) {
    let c = batches[0].shape()[1];
    let mut tape = Tape::new();
    let config = BatchNormConfig {
        momentum,
        ..BatchNormConfig::default()
    };
    let bn = BatchNorm::new(tape.params_mut(), "bn", c, config).unwrap();
    for b in batches {
        tape.reset();
        let x = tape.input(b.clone());
        bn.forward(&mut tape, x, true).unwrap();
    }
    (bn, tape)
}

fn running(bn: &BatchNorm<f64>, tape: &Tape<f64>) -> (Vec<f64>, Vec<f64>, f64) {
    let s = tape.params();
    (
        values(s, bn.running_mean().unwrap()),
        values(s, bn.running_var().unwrap()),
        values(s, bn.num_batches_tracked().unwrap())[0],
    )
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= F64_TOL * (1.0 + y.abs()))
}

/// The batch PyTorch's documentation of this behaviour was checked against (torch 2.x,
/// momentum 0.1, one step): running_var [2.4333, 3.2]; the biased variance would give
/// [2.05, 2.625].
#[test]
fn pytorch_reference_batch() {
    let x = array![[1.0, 2.0], [3.0, 5.0], [6.0, 11.0], [10.0, 0.0]].into_dyn();
    let (bn, tape) = train(&[x], Some(0.1));
    let (rm, rv, n) = running(&bn, &tape);
    assert!(close(&rm, &[0.5, 0.45]), "{rm:?}");
    assert!(close(&rv, &[0.9 + 0.1 * 46.0 / 3.0, 3.2]), "{rv:?}");
    assert_eq!(n, 1.0);
}

/// One channel, batches [0, 2], [1, 5], [2, 2, 8] (means 1, 3, 4; unbiased variances 2,
/// 8, 12; biased 1, 4, 8), worked by hand.
fn hand_batches() -> Vec<ArrayD<f64>> {
    [&[0.0, 2.0][..], &[1.0, 5.0], &[2.0, 2.0, 8.0]]
        .iter()
        .map(|v| ArrayD::from_shape_vec(IxDyn(&[v.len(), 1]), v.to_vec()).unwrap())
        .collect()
}

/// Momentum 0.1: mean 0.1, 0.39, 0.751; variance 0.9 + 0.2 = 1.1, 0.99 + 0.8 = 1.79,
/// 1.611 + 1.2 = 2.811. (Biased: 1.0, 1.3, 1.97 — off by ≥ 0.1.)
#[test]
fn momentum_one_tenth_by_hand() {
    let batches = hand_batches();
    let expected = [(0.1, 1.1), (0.39, 1.79), (0.751, 2.811)];
    for k in 1..=3 {
        let (bn, tape) = train(&batches[..k], Some(0.1));
        let (rm, rv, n) = running(&bn, &tape);
        assert!(close(&rm, &[expected[k - 1].0]), "step {k}: mean {rm:?}");
        assert!(close(&rv, &[expected[k - 1].1]), "step {k}: var {rv:?}");
        assert_eq!(n, k as f64);
    }
}

/// Momentum `None`: the cumulative average of the batch statistics, the initial 0 and 1
/// forgotten at step 1: means 1, 2, 8/3; variances 2, 5, 22/3 (biased: 1, 2.5, 13/3).
#[test]
fn cumulative_average_by_hand() {
    let batches = hand_batches();
    let expected = [(1.0, 2.0), (2.0, 5.0), (8.0 / 3.0, 22.0 / 3.0)];
    for k in 1..=3 {
        let (bn, tape) = train(&batches[..k], None);
        let (rm, rv, n) = running(&bn, &tape);
        assert!(close(&rm, &[expected[k - 1].0]), "step {k}: mean {rm:?}");
        assert!(close(&rv, &[expected[k - 1].1]), "step {k}: var {rv:?}");
        assert_eq!(n, k as f64);
    }
}

/// `[batch, channels, length]`: statistics over batch and length, m = 2·3 = 6.
#[test]
fn three_dimensional_input_pools_batch_and_length() {
    let x = uniform(&mut rng(3), &[2, 4, 3], -1.0, 1.0);
    let (bn, tape) = train(&[x.clone()], Some(1.0));
    let (rm, rv, _) = running(&bn, &tape);
    for k in 0..4 {
        let v = channel(&x.view(), k);
        assert_eq!(v.len(), 6);
        assert!(close(&[rm[k]], &[mean_var(&v).0]));
        assert!(close(&[rv[k]], &[unbiased_var(&v)]));
    }
}

/// Momentum 0 keeps the initial statistics but still counts batches (as PyTorch).
#[test]
fn momentum_zero_counts_but_keeps() {
    let (bn, tape) = train(&hand_batches(), Some(0.0));
    assert_eq!(running(&bn, &tape), (vec![0.0], vec![1.0], 3.0));
}

/// Evaluation neither updates nor counts.
#[test]
fn evaluation_does_not_update() {
    let (bn, mut tape) = train(&hand_batches()[..1], Some(0.1));
    let before = running(&bn, &tape);
    for b in hand_batches() {
        tape.reset();
        let x = tape.input(b);
        bn.forward(&mut tape, x, false).unwrap();
    }
    assert_eq!(running(&bn, &tape), before);
}

/// Without tracking there are no buffers; evaluation uses batch statistics (the same
/// output as training) and so refuses a batch of one, as PyTorch.
#[test]
fn untracked_layer_uses_batch_statistics_in_evaluation() {
    let mut tape = Tape::<f64>::new();
    let config = BatchNormConfig {
        track_running_stats: false,
        ..BatchNormConfig::default()
    };
    let bn = BatchNorm::new(tape.params_mut(), "bn", 3, config).unwrap();
    assert_eq!(tape.params().len(), 2);
    assert!(bn.running_mean().is_none() && bn.state(tape.params()).is_none());
    let x = uniform(&mut rng(4), &[5, 3], -1.0, 1.0);
    let xv = tape.input(x.clone());
    let yt = bn.forward(&mut tape, xv, true).unwrap();
    let ye = bn.forward(&mut tape, xv, false).unwrap();
    assert_eq!(tape.value(yt), tape.value(ye));
    let one = tape.input(uniform(&mut rng(5), &[1, 3], -1.0, 1.0));
    assert!(matches!(
        bn.forward(&mut tape, one, false),
        Err(gradwell_norm::NormError::TooFewValues { .. })
    ));
}

/// Batches of 2 to 4 values per channel.
fn small_batches() -> impl Strategy<Value = (usize, usize, usize, u64)> {
    (2usize..=4, 1usize..4, 1usize..6, any::<u64>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Momentum 1: after every step the running statistics are the last batch's mean and
    /// unbiased variance. The biased variance is (m−1)/m of it, off by ≥ 25% (m ≤ 4) of
    /// a variance ≥ 10⁻², i.e. ≥ 2.5·10⁻³ ≫ the 10⁻¹² tolerance.
    #[test]
    fn momentum_one_keeps_the_last_batch((m, c, steps, seed) in small_batches()) {
        let mut r = rng(seed);
        let batches: Vec<ArrayD<f64>> = (0..steps).map(|_| uniform(&mut r, &[m, c], -3.0, 3.0)).collect();
        for b in &batches {
            prop_assume!(crate::common::min_channel_var(b) >= 1e-2);
        }
        let (bn, tape) = train(&batches, Some(1.0));
        let (rm, rv, n) = running(&bn, &tape);
        let last = batches.last().unwrap();
        for k in 0..c {
            let v = channel(&last.view(), k);
            prop_assert!(close(&[rm[k]], &[mean_var(&v).0]));
            prop_assert!(close(&[rv[k]], &[unbiased_var(&v)]), "channel {k}: {} vs unbiased {} (biased {})", rv[k], unbiased_var(&v), mean_var(&v).1);
        }
        prop_assert_eq!(n, steps as f64);
    }

    /// Any momentum f: after k steps, running = (1−f)ᵏ·initial + Σⱼ f(1−f)ᵏ⁻ʲ·statⱼ (the
    /// closed form, summed in another order than the recursion), with the unbiased
    /// variance; and momentum `None` gives the plain average of the k batch statistics.
    #[test]
    fn running_statistics_follow_the_closed_form((m, c, steps, seed) in small_batches(), f in prop_oneof![Just(0.1), 0.0..=1.0]) {
        let mut r = rng(seed);
        let batches: Vec<ArrayD<f64>> = (0..steps).map(|_| uniform(&mut r, &[m, c], -3.0, 3.0)).collect();
        for b in &batches {
            prop_assume!(crate::common::min_channel_var(b) >= 1e-2);
        }
        let stats = |k: usize, j: usize| {
            let v = channel(&batches[j].view(), k);
            (mean_var(&v).0, unbiased_var(&v))
        };
        let k_steps = steps as i32;
        let (bn, tape) = train(&batches, Some(f));
        let (rm, rv, _) = running(&bn, &tape);
        for k in 0..c {
            let decay = (1.0 - f).powi(k_steps);
            let (mut em, mut ev) = (0.0, decay);
            for j in 0..steps {
                let w = f * (1.0 - f).powi(k_steps - 1 - j as i32);
                em += w * stats(k, j).0;
                ev += w * stats(k, j).1;
            }
            prop_assert!(close(&[rm[k]], &[em]), "momentum {f}, channel {k}: mean {} vs {em}", rm[k]);
            prop_assert!(close(&[rv[k]], &[ev]), "momentum {f}, channel {k}: var {} vs {ev}", rv[k]);
        }
        let (bn, tape) = train(&batches, None);
        let (rm, rv, _) = running(&bn, &tape);
        for k in 0..c {
            let em = (0..steps).map(|j| stats(k, j).0).sum::<f64>() / steps as f64;
            let ev = (0..steps).map(|j| stats(k, j).1).sum::<f64>() / steps as f64;
            prop_assert!(close(&[rm[k]], &[em]));
            prop_assert!(close(&[rv[k]], &[ev]), "cumulative, channel {k}: var {} vs {ev}", rv[k]);
        }
    }
}
