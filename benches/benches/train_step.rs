//! A full training step (forward, loss, backward, optimizer update) of the reference
//! models, reported as samples per second (criterion's element throughput = samples).

use criterion::{Criterion, Throughput, criterion_group};
use gradwell_benches::{Model, Workload};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!(
        "train-step-threads-{}",
        gradwell_tensor::num_threads()
    ));
    for (model, batch) in [
        (Model::M1, 64),
        (Model::M1, 256),
        (Model::M2, 128),
        (Model::M3, 256),
    ] {
        let mut w = Workload::new(model, batch);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("{model:?}-b{batch}"), |b| {
            b.iter(|| w.step().expect("a valid step"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
