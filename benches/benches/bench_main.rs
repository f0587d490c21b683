//! All criterion benchmarks, one module per topic.

use criterion::criterion_main;

mod matmul;
mod optim;

criterion_main!(matmul::benches, optim::benches);
