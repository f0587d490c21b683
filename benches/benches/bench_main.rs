//! All criterion benchmarks, one module per topic.

use criterion::criterion_main;

mod matmul;
mod norm;
mod optim;
mod train_step;

criterion_main!(
    matmul::benches,
    norm::benches,
    optim::benches,
    train_step::benches
);
