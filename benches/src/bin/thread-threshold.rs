//! Measures, for square-ish f32 products of growing size, the time on one thread and on
//! two (interleaved, medians of repeated runs), to place `PARALLEL_MIN_MACS`. Prints one
//! line per size: multiply-adds, 1-thread µs, 2-thread µs, speed-up.

use std::time::Instant;

use gradwell_benches::matrix;
use gradwell_tensor::{gemm, set_num_threads};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let shapes = [
        (64, 128, 128),
        (64, 256, 128),
        (64, 512, 128),
        (64, 784, 128),
        (128, 256, 256),
        (256, 256, 256),
        (128, 784, 256),
        (256, 512, 256),
        (256, 784, 256),
        (256, 512, 512),
        (256, 784, 1024),
        (256, 1024, 1024),
        (1024, 1024, 1024),
    ];
    println!(
        "{:>12} {:>10} {:>10} {:>8}  shape",
        "MACs", "1 thr µs", "2 thr µs", "speedup"
    );
    for (m, k, n) in shapes {
        let a = matrix(m, k);
        let b = matrix(k, n);
        let mut c = ndarray::Array2::<f32>::zeros((m, n));
        let reps = (2e8 / (m * k * n) as f64).clamp(3.0, 400.0) as usize;
        let mut t = [Vec::new(), Vec::new()];
        for round in 0..15 {
            for threads in [1, 2] {
                set_num_threads(threads);
                let start = Instant::now();
                for _ in 0..reps {
                    gemm(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut()).expect("shapes agree");
                }
                if round > 0 {
                    t[threads - 1].push(start.elapsed().as_secs_f64() * 1e6 / reps as f64);
                }
            }
        }
        let (t1, t2) = (median(t[0].clone()), median(t[1].clone()));
        println!(
            "{:>12} {t1:>10.1} {t2:>10.1} {:>7.2}×  {m}x{k}x{n}",
            m * k * n,
            t1 / t2
        );
    }
}
