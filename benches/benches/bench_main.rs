//! All criterion benchmarks, one module per topic.

use criterion::criterion_main;

mod matmul;

criterion_main!(matmul::benches);
