//! gradwell's f32 matrix products at the reference shapes (the same list as
//! `compare/blas.py`): one JSON line per shape with GFLOP/s, median of repeated runs. The
//! thread count follows `GRADWELL_NUM_THREADS` / `MATMUL_NUM_THREADS`.

use std::io::Write;
use std::time::Instant;

use gradwell_benches::matrix;
use gradwell_tensor::{gemm, num_threads};

fn main() {
    for (m, k, n) in [
        (1024, 1024, 1024),
        (256, 784, 1024),
        (256, 1024, 1024),
        (256, 1024, 10),
        (64, 784, 128),
    ] {
        let a = matrix(m, k);
        let b = matrix(k, n);
        let mut c = ndarray::Array2::<f32>::zeros((m, n));
        let reps = (2e8 / (m * k * n) as f64).clamp(3.0, 400.0) as usize;
        let mut times: Vec<f64> = (0..15)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..reps {
                    gemm(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut()).expect("shapes agree");
                }
                start.elapsed().as_secs_f64() / reps as f64
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let gflops = 2.0 * (m * k * n) as f64 / times[times.len() / 2] / 1e9;
        let line = format!(
            "{{\"lib\":\"gradwell\",\"threads\":{},\"shape\":\"{m}x{k}x{n}\",\"gflops\":{gflops:.1}}}",
            num_threads()
        );
        // A reader that stopped listening (`gemm-shapes | head -1`) ends the run quietly.
        if writeln!(std::io::stdout(), "{line}").is_err() {
            return;
        }
    }
}
