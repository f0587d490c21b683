//! Matrix products against a naive triple loop.

use gradwell_tensor::gemm;
use ndarray::{Array2, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Check, Outcome};

/// The worst relative error of `gemm` (f64) against the triple loop, over the transpose
/// combinations, at one shape.
fn matmul_error(m: usize, k: usize, n: usize) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut worst: f64 = 0.0;
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = Array2::from_shape_fn((m, k).f(), |_| rng.random_range(-1.0..1.0));
        let b = Array2::from_shape_fn((k, n), |_| rng.random_range(-1.0..1.0));
        let at = a.t().to_owned();
        let bt = b.t().to_owned();
        let av = if ta { at.t() } else { a.view() };
        let bv = if tb { bt.t() } else { b.view() };
        let mut c = Array2::zeros((m, n));
        if gemm(1.0, &av, &bv, 0.0, &mut c.view_mut()).is_err() {
            return f64::INFINITY;
        }
        for i in 0..m {
            for j in 0..n {
                let (mut s, mut mag) = (0.0_f64, 0.0_f64);
                for p in 0..k {
                    s += a[[i, p]] * b[[p, j]];
                    mag += (a[[i, p]] * b[[p, j]]).abs();
                }
                worst = worst.max((c[[i, j]] - s).abs() / mag.max(f64::MIN_POSITIVE));
            }
        }
    }
    worst
}

pub fn checks() -> Vec<Check> {
    [(64, 784, 128), (64, 128, 10), (257, 131, 263)]
        .into_iter()
        .map(|(m, k, n)| {
            Check::new(format!("tensor/matmul-vs-loop [{m}x{k}x{n}]"), move || {
                Outcome::at_most(matmul_error(m, k, n), 1e-12)
            })
        })
        .collect()
}
