//! Criterion benchmarks of gradwell (run with `cargo bench -p gradwell-benches`). The
//! library part holds the shared fixtures the bench modules use.

/// A deterministic `rows×cols` f32 matrix with entries in [−1, 1), cheap to build.
pub fn matrix(rows: usize, cols: usize) -> ndarray::Array2<f32> {
    ndarray::Array2::from_shape_fn((rows, cols), |(i, j)| {
        let h = (i.wrapping_mul(2_654_435_761) ^ j.wrapping_mul(40_503)) % 2001;
        h as f32 / 1000.0 - 1.0
    })
}
