//! Batch norm invariants: in training each channel of the output (γ = 1, β = 0) has mean
//! 0 and biased variance `v/(v + eps)` (→ 1 for `v ≫ eps`); the output is invariant to a
//! per-channel positive scale and shift of the input; in evaluation the layer is exactly
//! the affine map of the running statistics.

use gradwell_autodiff::{ParamStore, Tape};
use gradwell_norm::{BatchNorm, BatchNormConfig, DEFAULT_EPS};
use ndarray::{ArrayD, Axis};
use proptest::prelude::*;
use rand::Rng;

use crate::common::{F64_LOOSE, F64_TOL, channel, mean_var, per_channel, rng, uniform, values};

fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        (2usize..40, 1usize..6).prop_map(|(n, c)| vec![n, c]),
        (1usize..6, 1usize..5, 1usize..8)
            .prop_filter("2 values per channel", |(n, _, l)| n * l >= 2)
            .prop_map(|(n, c, l)| vec![n, c, l]),
    ]
}

/// Per-channel scales in [0.1, 100] and shifts in [−100, 100] (|shift|/scale ≤ 10³).
fn scales_and_shifts(r: &mut rand_chacha::ChaCha8Rng, c: usize) -> (Vec<f64>, Vec<f64>) {
    let scale = (0..c)
        .map(|_| 10f64.powf(r.random_range(-1.0..2.0)))
        .collect();
    let shift = (0..c).map(|_| r.random_range(-100.0..100.0)).collect();
    (scale, shift)
}

/// The training output of a fresh layer (γ = 1, β = 0 unless `affine` is given).
fn train_output(x: &ArrayD<f64>, eps: f64, affine: Option<(&[f64], &[f64])>) -> ArrayD<f64> {
    let mut tape = Tape::<f64>::new();
    let config = BatchNormConfig {
        eps,
        ..BatchNormConfig::default()
    };
    let bn = BatchNorm::new(tape.params_mut(), "", x.shape()[1], config).unwrap();
    if let Some((g, b)) = affine {
        let s = tape.params_mut();
        s.value_mut(bn.weight().unwrap())
            .iter_mut()
            .zip(g)
            .for_each(|(d, &v)| *d = v);
        s.value_mut(bn.bias().unwrap())
            .iter_mut()
            .zip(b)
            .for_each(|(d, &v)| *d = v);
    }
    let xv = tape.input(x.clone());
    let y = bn.forward(&mut tape, xv, true).unwrap();
    tape.value(y).to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Mean 0 and biased variance exactly `v/(v + eps)` per channel. Wrong variants fail:
    /// normalizing with the unbiased variance gives `(m−1)/m` of it (a gap ≥ 1/80 here,
    /// m ≤ 80, against a tolerance of 1e-9); dropping eps gives 1, a gap `eps/(v + eps)`
    /// that is ≈ 3·10⁻³ for the channels of scale 0.1 (v ≈ 3·10⁻³).
    #[test]
    fn training_output_is_standardized(shape in shape(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let c = shape[1];
        let (scale, shift) = scales_and_shifts(&mut r, c);
        let x = per_channel(&mut r, &shape, &scale, &shift);
        let y = train_output(&x, DEFAULT_EPS, None);
        for k in 0..c {
            let (_, v) = mean_var(&channel(&x.view(), k));
            // Non-trivial variance (a channel of two nearly equal values is not).
            prop_assume!(v >= 1e-4);
            let (my, vy) = mean_var(&channel(&y.view(), k));
            prop_assert!(my.abs() <= F64_LOOSE, "channel {k}: mean {my:e}");
            let expected = v / (v + DEFAULT_EPS);
            prop_assert!((vy - expected).abs() <= F64_LOOSE, "channel {k}: var {vy} vs {expected}");
            // And the plain statement: within eps/v of 1.
            prop_assert!((vy - 1.0).abs() <= DEFAULT_EPS / v + F64_LOOSE);
        }
    }

    /// `y(a·x + b) = y(x)` for per-channel `a > 0`, any `b`, whatever γ and β: exactly (to
    /// rounding) with a negligible eps, and with the default eps after the exact
    /// correction `(y − β)·√((v + eps)/(v + eps/a²))` (without it the gap is up to
    /// `eps·|1 − 1/a²|/(2v)·|x̂|`, about 10⁻³ for the small-variance channels here).
    #[test]
    fn training_output_is_scale_and_shift_invariant(shape in shape(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let c = shape[1];
        let (scale, shift) = scales_and_shifts(&mut r, c);
        let x = per_channel(&mut r, &shape, &scale, &shift);
        let a: Vec<f64> = (0..c).map(|_| 10f64.powf(r.random_range(-1.0..1.0))).collect();
        let b: Vec<f64> = (0..c).map(|_| r.random_range(-50.0..50.0)).collect();
        let gamma: Vec<f64> = (0..c).map(|_| r.random_range(-2.0..2.0)).collect();
        let beta: Vec<f64> = (0..c).map(|_| r.random_range(-2.0..2.0)).collect();
        let mut x2 = x.clone();
        for (k, mut lane) in x2.axis_iter_mut(Axis(1)).enumerate() {
            lane.mapv_inplace(|v| a[k] * v + b[k]);
        }
        // Negligible eps: v + 1e-300 == v in f64.
        let tiny = 1e-300;
        let y = train_output(&x, tiny, Some((&gamma, &beta)));
        let y2 = train_output(&x2, tiny, Some((&gamma, &beta)));
        for k in 0..c {
            for (p, q) in channel(&y.view(), k).iter().zip(channel(&y2.view(), k)) {
                prop_assert!((p - q).abs() <= F64_LOOSE * (1.0 + p.abs()), "channel {k}: {p} vs {q}");
            }
        }
        // The default eps, corrected exactly.
        let y = train_output(&x, DEFAULT_EPS, Some((&gamma, &beta)));
        let y2 = train_output(&x2, DEFAULT_EPS, Some((&gamma, &beta)));
        for k in 0..c {
            let (_, v) = mean_var(&channel(&x.view(), k));
            let ratio = ((v + DEFAULT_EPS) / (v + DEFAULT_EPS / (a[k] * a[k]))).sqrt();
            for (p, q) in channel(&y.view(), k).iter().zip(channel(&y2.view(), k)) {
                let expected = (p - beta[k]) * ratio + beta[k];
                prop_assert!((q - expected).abs() <= F64_LOOSE * (1.0 + q.abs()), "channel {k}: {q} vs {expected}");
            }
        }
    }

    /// In evaluation the output is `(x − running_mean)/√(running_var + eps)·γ + β`, for
    /// any batch (one included); nothing changes in the store; each row is independent of
    /// the others (evaluated alone it gives the same bits).
    #[test]
    fn evaluation_is_the_running_affine_map(shape in shape(), n_eval in 1usize..5, seed in any::<u64>()) {
        let mut r = rng(seed);
        let c = shape[1];
        let mut tape = Tape::<f64>::new();
        let bn = BatchNorm::new(tape.params_mut(), "bn", c, BatchNormConfig::default()).unwrap();
        // A few training steps give running statistics far from the batch's.
        for _ in 0..3 {
            tape.reset();
            let (scale, shift) = scales_and_shifts(&mut r, c);
            let x = tape.input(per_channel(&mut r, &shape, &scale, &shift));
            bn.forward(&mut tape, x, true).unwrap();
        }
        let (gamma, beta) = (uniform(&mut r, &[c], -2.0, 2.0), uniform(&mut r, &[c], -2.0, 2.0));
        tape.params_mut().value_mut(bn.weight().unwrap()).assign(&gamma);
        tape.params_mut().value_mut(bn.bias().unwrap()).assign(&beta);
        let before: ParamStore<f64> = tape.params().clone();
        let rm = values(tape.params(), bn.running_mean().unwrap());
        let rv = values(tape.params(), bn.running_var().unwrap());

        let mut eval_shape = shape.clone();
        eval_shape[0] = n_eval;
        let x = uniform(&mut r, &eval_shape, -5.0, 5.0);
        tape.reset();
        let xv = tape.input(x.clone());
        let y = bn.forward(&mut tape, xv, false).unwrap();
        let y = tape.value(y).to_owned();
        for (idx, &got) in y.indexed_iter() {
            let k = idx[1];
            let expected = (x[&idx] - rm[k]) / (rv[k] + DEFAULT_EPS).sqrt() * gamma[k] + beta[k];
            prop_assert!((got - expected).abs() <= F64_TOL * (1.0 + expected.abs()), "{idx:?}: {got} vs {expected}");
        }
        for id in before.ids() {
            prop_assert_eq!(before.value(id), tape.params().value(id), "{} changed in evaluation", before.name(id));
        }
        for i in 0..n_eval {
            tape.reset();
            let row = x.index_axis(Axis(0), i).insert_axis(Axis(0)).to_owned();
            let xv = tape.input(row);
            let yi = bn.forward(&mut tape, xv, false).unwrap();
            let yi = tape.value(yi).to_owned();
            prop_assert_eq!(yi.index_axis(Axis(0), 0), y.index_axis(Axis(0), i));
        }
    }
}

/// The same invariants in f32 (training speed's type), at the bench's width: mean within
/// f32 rounding of 0, variance within f32 rounding of `v/(v + eps)`.
#[test]
fn f32_training_output_is_standardized() {
    let mut r = rng(32);
    let (n, c) = (256, 64);
    // |shift|/scale ≤ 10: the f32 rounding of the mean (≤ 6e-8·|μ|) then moves the
    // output mean by ≤ 6e-8·10·√3 ≈ 1e-6.
    let scale: Vec<f64> = (0..c)
        .map(|_| 10f64.powf(r.random_range(-1.0..2.0)))
        .collect();
    let shift: Vec<f64> = scale
        .iter()
        .map(|s| s * r.random_range(-10.0..10.0))
        .collect();
    let x64 = per_channel(&mut r, &[n, c], &scale, &shift);
    let mut tape = Tape::<f32>::new();
    let bn = BatchNorm::new(tape.params_mut(), "bn", c, BatchNormConfig::default()).unwrap();
    let x = tape.input(x64.mapv(|v| v as f32));
    let y = bn.forward(&mut tape, x, true).unwrap();
    let y = tape.value(y).mapv(f64::from);
    for k in 0..c {
        // The statistics of the f32-rounded input, which is what the layer saw.
        let xs: Vec<f64> = channel(&x64.view(), k)
            .iter()
            .map(|&v| f64::from(v as f32))
            .collect();
        let (_, v) = mean_var(&xs);
        let (my, vy) = mean_var(&channel(&y.view(), k));
        assert!(my.abs() <= 1e-5, "channel {k}: mean {my:e}");
        // Each output is rounded once or twice in f32 (relative 1.2e-7).
        assert!(
            (vy - v / (v + DEFAULT_EPS)).abs() <= 1e-5,
            "channel {k}: var {vy}"
        );
    }
}
