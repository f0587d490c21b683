//! Batch-norm and layer-norm invariants: the training output standardized per channel,
//! evaluation equal to the running affine map, running statistics equal to their closed
//! forms (in settings where the biased variance would miss by far more than the bound),
//! and the fused backward against finite differences.

use gradwell_autodiff::{AutodiffError, GradCheckReport, Tape, gradcheck};
use gradwell_norm::{BatchNorm, BatchNormConfig, DEFAULT_EPS, batch_norm_train, layer_norm};
use gradwell_tensor::Float;
use ndarray::{ArrayD, Axis, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Check, Outcome};

/// Uniform [−1, 1) values with channel `k` (axis 1) scaled by 10^U(−1, 2) and shifted by
/// up to ±`shift_ratio` times its scale.
fn data(rng: &mut ChaCha8Rng, shape: &[usize], shift_ratio: f64) -> ArrayD<f64> {
    let c = shape[1];
    let scale: Vec<f64> = (0..c)
        .map(|_| 10f64.powf(rng.random_range(-1.0..2.0)))
        .collect();
    let shift: Vec<f64> = scale
        .iter()
        .map(|s| s * rng.random_range(-shift_ratio..shift_ratio))
        .collect();
    let mut x = ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(-1.0..1.0));
    for (k, mut lane) in x.axis_iter_mut(Axis(1)).enumerate() {
        lane.mapv_inplace(|v| v * scale[k] + shift[k]);
    }
    x
}

/// Mean and biased variance of every channel (axis 1), two-pass in f64.
fn channel_moments(x: &ArrayD<f64>) -> Vec<(f64, f64)> {
    x.axis_iter(Axis(1))
        .map(|lane| {
            let n = lane.len() as f64;
            let mean = lane.sum() / n;
            let var = lane.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            (mean, var)
        })
        .collect()
}

/// Trains a fresh layer (γ = 1, β = 0) on one batch in type `F`; the output and the input
/// as `F` rounded it, both in f64.
fn train_once<F: Float>(x: &ArrayD<f64>) -> Result<(ArrayD<f64>, ArrayD<f64>), String> {
    let mut tape = Tape::<F>::new();
    let bn = BatchNorm::new(
        tape.params_mut(),
        "bn",
        x.shape()[1],
        BatchNormConfig::default(),
    )
    .map_err(|e| e.to_string())?;
    let xf = x.mapv(F::of);
    let seen = xf.mapv(F::as_f64);
    let xv = tape.input(xf);
    let y = bn.forward(&mut tape, xv, true).map_err(|e| e.to_string())?;
    Ok((tape.value(y).mapv(F::as_f64), seen))
}

/// The worst `|mean|` and `|var − v/(v + eps)|` of the training output over channels.
fn standardization<F: Float>(shape: &[usize], shift_ratio: f64) -> (f64, f64) {
    let x = data(&mut ChaCha8Rng::seed_from_u64(5), shape, shift_ratio);
    let Ok((y, seen)) = train_once::<F>(&x) else {
        return (f64::INFINITY, f64::INFINITY);
    };
    let (mut worst_mean, mut worst_var) = (0.0_f64, 0.0_f64);
    for ((_, v), (my, vy)) in channel_moments(&seen).into_iter().zip(channel_moments(&y)) {
        worst_mean = worst_mean.max(my.abs());
        worst_var = worst_var.max((vy - v / (v + DEFAULT_EPS)).abs());
    }
    (worst_mean, worst_var)
}

/// The worst relative difference between the evaluation output and
/// `(x − running_mean)/√(running_var + eps)·γ + β`, after 5 training steps.
fn eval_affine_residual() -> Result<f64, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (n, c) = (32, 16);
    let mut tape = Tape::<f64>::new();
    let bn = BatchNorm::new(tape.params_mut(), "bn", c, BatchNormConfig::default())
        .map_err(|e| e.to_string())?;
    for _ in 0..5 {
        tape.reset();
        let x = tape.input(data(&mut rng, &[n, c], 10.0));
        bn.forward(&mut tape, x, true).map_err(|e| e.to_string())?;
    }
    let ids = [bn.weight(), bn.bias(), bn.running_mean(), bn.running_var()];
    let [Some(w), Some(b), Some(rm), Some(rv)] = ids else {
        return Err("the default layer has every parameter".into());
    };
    for id in [w, b] {
        tape.params_mut()
            .value_mut(id)
            .mapv_inplace(|_| rng.random_range(-2.0..2.0));
    }
    let p = |id| tape.params().value(id).to_owned();
    let (g, be, m, v) = (p(w), p(b), p(rm), p(rv));
    let x = data(&mut rng, &[n, c], 10.0);
    tape.reset();
    let xv = tape.input(x.clone());
    let y = bn
        .forward(&mut tape, xv, false)
        .map_err(|e| e.to_string())?;
    let y = tape.value(y);
    let mut worst = 0.0_f64;
    for (idx, &got) in y.indexed_iter() {
        let k = idx[1];
        let want = (x[&idx] - m[k]) / (v[k] + DEFAULT_EPS).sqrt() * g[k] + be[k];
        worst = worst.max((got - want).abs() / (1.0 + want.abs()));
    }
    Ok(worst)
}

/// The worst relative residual of the running statistics against the closed form
/// `(1−f)ᵏ·initial + Σⱼ f(1−f)ᵏ⁻ʲ·statⱼ` (unbiased variance) after `steps` batches of
/// `m` rows; `None` is the cumulative average.
fn running_residual(momentum: Option<f64>, m: usize, steps: usize) -> Result<f64, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let c = 8;
    let mut tape = Tape::<f64>::new();
    let config = BatchNormConfig {
        momentum,
        ..BatchNormConfig::default()
    };
    let bn = BatchNorm::new(tape.params_mut(), "bn", c, config).map_err(|e| e.to_string())?;
    let mut stats = Vec::new();
    for _ in 0..steps {
        let x = data(&mut rng, &[m, c], 3.0);
        stats.push(channel_moments(&x));
        tape.reset();
        let xv = tape.input(x);
        bn.forward(&mut tape, xv, true).map_err(|e| e.to_string())?;
    }
    let state = bn
        .state(tape.params())
        .ok_or("a tracking layer has a state")?;
    let unbiased = m as f64 / (m as f64 - 1.0);
    let mut worst = 0.0_f64;
    for k in 0..c {
        let (mut em, mut ev) = match momentum {
            Some(f) => (0.0, (1.0 - f).powi(steps as i32)),
            None => (0.0, 0.0),
        };
        for (j, s) in stats.iter().enumerate() {
            let w = match momentum {
                Some(f) => f * (1.0 - f).powi((steps - 1 - j) as i32),
                None => 1.0 / steps as f64,
            };
            em += w * s[k].0;
            ev += w * s[k].1 * unbiased;
        }
        worst = worst
            .max((state.running_mean[k] - em).abs() / (1.0 + em.abs()))
            .max((state.running_var[k] - ev).abs() / ev);
    }
    Ok(worst)
}

/// The largest absolute error of a gradient check over its inputs.
fn worst_abs_error(report: Result<GradCheckReport, AutodiffError>) -> f64 {
    match report {
        Ok(r) if r.passed() => r.inputs.iter().map(|i| i.max_abs_error).fold(0.0, f64::max),
        _ => f64::INFINITY,
    }
}

fn lift<T>(r: gradwell_norm::Result<T>) -> gradwell_autodiff::Result<T> {
    r.map_err(|e| AutodiffError::invalid("norm", e.to_string()))
}

/// Gradient checks of the fused batch-norm op (input, γ, β) at a few shapes, batch 2 and
/// width 1 among them.
fn batch_norm_gradcheck() -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut worst = 0.0_f64;
    for shape in [vec![2, 3], vec![7, 1], vec![5, 4], vec![3, 2, 4]] {
        let c = shape[1];
        let x = data(&mut rng, &shape, 1.0);
        let g = ArrayD::from_shape_fn(IxDyn(&[c]), |_| rng.random_range(-2.0..2.0));
        let b = ArrayD::from_shape_fn(IxDyn(&[c]), |_| rng.random_range(-1.0..1.0));
        let report = gradcheck(
            |t, v| {
                lift(batch_norm_train(
                    t,
                    v[0],
                    Some(v[1]),
                    Some(v[2]),
                    DEFAULT_EPS,
                ))
                .map(|r| r.0)
            },
            &[x, g, b],
        );
        worst = worst.max(worst_abs_error(report));
    }
    worst
}

/// Gradient checks of the fused layer-norm op.
fn layer_norm_gradcheck() -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut worst = 0.0_f64;
    for shape in [vec![1, 2], vec![3, 5], vec![2, 2, 6]] {
        let d = *shape.last().unwrap_or(&1);
        let x = ArrayD::from_shape_fn(IxDyn(&shape), |_| rng.random_range(-2.0..2.0));
        let g = ArrayD::from_shape_fn(IxDyn(&[d]), |_| rng.random_range(-2.0..2.0));
        let b = ArrayD::from_shape_fn(IxDyn(&[d]), |_| rng.random_range(-1.0..1.0));
        let report = gradcheck(
            |t, v| lift(layer_norm(t, v[0], Some(v[1]), Some(v[2]), DEFAULT_EPS)),
            &[x, g, b],
        );
        worst = worst.max(worst_abs_error(report));
    }
    worst
}

fn bound(r: Result<f64, String>, limit: f64) -> Outcome {
    match r {
        Ok(v) => Outcome::at_most(v, limit),
        Err(e) => Outcome::bound(f64::NAN, format!("error: {e}"), false),
    }
}

pub fn checks() -> Vec<Check> {
    vec![
        // f64, channel shifts up to 10³ times the spread: the mean's rounding (1e-16·10³)
        // is the whole error.
        Check::new("norm/batch-norm/train-mean f64 [256x64]", || {
            Outcome::at_most(standardization::<f64>(&[256, 64], 1e3).0, 1e-10)
        }),
        Check::new(
            "norm/batch-norm/train-var f64 [256x64] (vs v/(v+eps))",
            || Outcome::at_most(standardization::<f64>(&[256, 64], 1e3).1, 1e-10),
        ),
        Check::new("norm/batch-norm/train-mean f64 [16x8x32]", || {
            Outcome::at_most(standardization::<f64>(&[16, 8, 32], 1e3).0, 1e-10)
        }),
        // f32 at the bench's shape, shifts up to 10 spreads: the f32 rounding of the mean
        // (6e-8·|μ|/σ) bounds the mean, one or two f32 roundings per value the variance.
        Check::new("norm/batch-norm/train-mean f32 [256x1024]", || {
            Outcome::at_most(standardization::<f32>(&[256, 1024], 10.0).0, 1e-5)
        }),
        Check::new(
            "norm/batch-norm/train-var f32 [256x1024] (vs v/(v+eps))",
            || Outcome::at_most(standardization::<f32>(&[256, 1024], 10.0).1, 1e-5),
        ),
        Check::new("norm/batch-norm/eval-affine-residual", || {
            bound(eval_affine_residual(), 1e-12)
        }),
        // Batches of 2: the biased variance is half the unbiased (residual 0.5).
        Check::new(
            "norm/batch-norm/running-residual momentum=1 batch=2",
            || bound(running_residual(Some(1.0), 2, 3), 1e-12),
        ),
        // Batches of 4, 10 steps: a biased average would miss by ≥ 25%·(1 − 0.9¹⁰) ≈ 16%.
        Check::new(
            "norm/batch-norm/running-residual momentum=0.1 batch=4 x10",
            || bound(running_residual(Some(0.1), 4, 10), 1e-12),
        ),
        Check::new(
            "norm/batch-norm/running-residual momentum=None batch=3 x6",
            || bound(running_residual(None, 3, 6), 1e-12),
        ),
        Check::new(
            "norm/batch-norm/gradcheck worst abs error (x, γ, β)",
            || Outcome::at_most(batch_norm_gradcheck(), 1e-5),
        ),
        Check::new(
            "norm/layer-norm/gradcheck worst abs error (x, γ, β)",
            || Outcome::at_most(layer_norm_gradcheck(), 1e-5),
        ),
    ]
}
