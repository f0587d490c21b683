//! Optimizers, schedules and gradient clipping: trajectories against PyTorch's (replayed
//! from gradwell-optim's committed fixtures through the same harness its tests use), and
//! the clipping invariants on seeded random gradients.

use gradwell_optim::{NormType, OptimError, ParamSlot, clip_grad_norm, clip_grad_value, grad_norm};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Check, Outcome};

#[allow(dead_code)]
#[path = "../../../crates/gradwell-optim/tests/it/harness.rs"]
mod harness;

/// Seeded random gradients for two parameters, magnitudes spread over six decades.
fn random_grads(rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
    let (na, nb) = (rng.random_range(1..64), rng.random_range(1..64));
    let mut draw = |n: usize| -> Vec<f64> {
        (0..n)
            .map(|_| rng.random_range(-1.0..1.0) * 10f64.powi(rng.random_range(-3..4)))
            .collect()
    };
    (draw(na), draw(nb))
}

const TRIALS: usize = 500;

fn with_slots<R>(
    a: &mut [f64],
    b: &mut [f64],
    f: impl FnOnce(&mut [ParamSlot<'_, f64>]) -> R,
) -> R {
    let (mut wa, mut wb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    f(&mut [
        ParamSlot::new("a", &mut wa, a),
        ParamSlot::new("b", &mut wb, b),
    ])
}

/// Largest `norm_after / max_norm − 1` over the trials (must stay ≤ 1e-6).
fn clipped_norm_excess(t: NormType) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut worst = f64::NEG_INFINITY;
    for _ in 0..TRIALS {
        let (mut a, mut b) = random_grads(&mut rng);
        let max_norm = 10f64.powf(rng.random_range(-3.0..3.0));
        if with_slots(&mut a, &mut b, |p| clip_grad_norm(p, max_norm, t, true)).is_err() {
            return f64::INFINITY;
        }
        let after = with_slots(&mut a, &mut b, |p| grad_norm(p, t));
        worst = worst.max(after / max_norm - 1.0);
    }
    worst
}

/// Largest relative departure of a clipped element from `coef · original` (direction kept),
/// plus any element changed although the norm was under the limit.
fn direction_error(t: NormType) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut worst: f64 = 0.0;
    for i in 0..TRIALS {
        let (mut a, mut b) = random_grads(&mut rng);
        let before: Vec<f64> = a.iter().chain(&b).copied().collect();
        let norm = with_slots(&mut a, &mut b, |p| grad_norm(p, t));
        // Half the trials clip, half are under the limit and must come back bit-identical.
        let max_norm = if i % 2 == 0 {
            norm * rng.random_range(0.01..0.99)
        } else {
            norm * 1.5 + 1e-5
        };
        let Ok(total) = with_slots(&mut a, &mut b, |p| clip_grad_norm(p, max_norm, t, true)) else {
            return f64::INFINITY;
        };
        let coef = (max_norm / (total + 1e-6)).min(1.0);
        for (x, y) in before.iter().zip(a.iter().chain(&b)) {
            let err = if i % 2 == 1 {
                f64::from(u8::from(x != y))
            } else {
                (y - coef * x).abs() / x.abs().max(1e-300)
            };
            worst = worst.max(err);
        }
    }
    worst
}

/// Largest `|g| − clip_value` after clipping by value (must be ≤ 0).
fn value_excess() -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut worst = f64::NEG_INFINITY;
    for _ in 0..TRIALS {
        let (mut a, mut b) = random_grads(&mut rng);
        let v = 10f64.powf(rng.random_range(-3.0..3.0));
        if with_slots(&mut a, &mut b, |p| clip_grad_value(p, v)).is_err() {
            return f64::INFINITY;
        }
        worst = a.iter().chain(&b).fold(worst, |w, g| w.max(g.abs() - v));
    }
    worst
}

/// Fraction of trials in which a NaN gradient was NOT reported with its parameter's name.
fn nan_missed() -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let mut missed = 0;
    for _ in 0..TRIALS {
        let (mut a, mut b) = random_grads(&mut rng);
        let i = rng.random_range(0..b.len());
        b[i] = f64::NAN;
        let r = with_slots(&mut a, &mut b, |p| {
            clip_grad_norm(p, 1.0, NormType::L2, true)
        });
        if !matches!(r, Err(OptimError::NonFiniteNorm { ref param, .. }) if param == "b") {
            missed += 1;
        }
    }
    missed as f64 / TRIALS as f64
}

pub fn checks() -> Vec<Check> {
    let mut all = Vec::new();
    for (label, t) in [
        ("l2", NormType::L2),
        ("inf", NormType::Inf),
        ("p3", NormType::P(3.0)),
    ] {
        all.push(Check::new(
            format!("optim/clip-norm/within-max [{label}]"),
            move || Outcome::at_most(clipped_norm_excess(t), 1e-6),
        ));
        all.push(Check::new(
            format!("optim/clip-norm/direction-kept [{label}]"),
            move || Outcome::at_most(direction_error(t), 1e-15),
        ));
    }
    all.push(Check::new("optim/clip-value/bounded", || {
        Outcome::at_most(value_excess(), 0.0)
    }));
    all.push(Check::new("optim/clip-norm/nan-reported", || {
        Outcome::at_most(nan_missed(), 0.0)
    }));
    for i in 0..harness::clip_cases() {
        all.push(Check::new(
            format!("optim/clip-norm/vs-pytorch [{i}]"),
            move || Outcome::at_most(harness::run_clip_case(i), 1e-12),
        ));
    }
    for (problem, case) in harness::optimizer_cases() {
        all.push(Check::new(
            format!("optim/trajectory-vs-pytorch [{problem}/{case}]"),
            move || {
                Outcome::at_most(
                    harness::run_optimizer_case(&problem, &case),
                    harness::TRAJECTORY_RTOL,
                )
            },
        ));
    }
    for name in harness::schedule_cases() {
        all.push(Check::new(
            format!("optim/schedule-vs-pytorch [{name}]"),
            move || Outcome::at_most(harness::run_schedule_case(&name), harness::SCHEDULE_ATOL),
        ));
    }
    all
}
