//! One optimizer step over 1M and 10M f32 parameters (one tensor), reported as GB/s.
//!
//! The step is memory-bound, so criterion's byte throughput is set to the bytes the update
//! itself must move per step: SGD with momentum reads p, g, b and writes p, b (20 B per
//! element); Adam reads p, g, m, v and writes p, m, v (28 B per element). The step's
//! up-front finite check of the gradient reads g once more (4 B per element) and is timed
//! but not counted, so the figure is a lower bound of the bandwidth achieved.

use criterion::{Criterion, Throughput, criterion_group};
use gradwell_optim::{Adam, AdamConfig, Optimizer, ParamSlot, Sgd, SgdConfig};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("optim-step-f32");
    group.sample_size(10);
    for n in [1_000_000usize, 10_000_000] {
        let mut value: Vec<f32> = (0..n).map(|i| ((i % 1000) as f32 - 500.0) * 1e-3).collect();
        let mut grad: Vec<f32> = (0..n).map(|i| ((i % 777) as f32 - 388.0) * 1e-4).collect();
        let label = format!("{}M", n / 1_000_000);

        let mut sgd = Sgd::<f32>::new(SgdConfig::default().lr(1e-3).momentum(0.9)).expect("valid");
        group.throughput(Throughput::Bytes((20 * n) as u64));
        group.bench_function(format!("sgd-momentum/{label}"), |b| {
            b.iter(|| {
                sgd.step(&mut [ParamSlot::new("w", &mut value, &mut grad)])
                    .expect("finite")
            })
        });

        let mut adam = Adam::<f32>::new(AdamConfig::default()).expect("valid");
        group.throughput(Throughput::Bytes((28 * n) as u64));
        group.bench_function(format!("adam/{label}"), |b| {
            b.iter(|| {
                adam.step(&mut [ParamSlot::new("w", &mut value, &mut grad)])
                    .expect("finite")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
