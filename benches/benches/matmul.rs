//! f32 matrix products at the seed model's shapes and at 1024³, reported as GFLOP/s
//! (criterion's element throughput is set to the flop count, so "elem/s" reads as FLOP/s).
//! The thread count follows `GRADWELL_NUM_THREADS` (run once with 1 and once with 2).

use criterion::{Criterion, Throughput, criterion_group};
use gradwell_benches::matrix;
use gradwell_tensor::gemm;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!(
        "matmul-f32-threads-{}",
        gradwell_tensor::num_threads()
    ));
    for (m, k, n) in [(64, 784, 128), (64, 128, 10), (1024, 1024, 1024)] {
        let a = matrix(m, k);
        let b = matrix(k, n);
        let mut out = ndarray::Array2::<f32>::zeros((m, n));
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.bench_function(format!("{m}x{k}x{n}"), |bench| {
            bench.iter(|| {
                gemm(1.0, &a.view(), &b.view(), 0.0, &mut out.view_mut()).expect("shapes agree")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
