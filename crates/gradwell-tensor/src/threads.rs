//! How many threads a matrix product uses.
//!
//! A product is split across threads only when it is large enough for the split to pay:
//! below [`PARALLEL_MIN_MACS`] multiply-adds it runs on the calling thread, whatever the
//! thread setting, so that two threads are never slower than one on the small products of
//! a small model (the failure pytorch/pytorch#144633 describes). The threshold was measured
//! on a 2-core machine (see BENCHMARKS.md).
//!
//! The thread count is, in order: [`set_num_threads`], the environment variable
//! `GRADWELL_NUM_THREADS`, the `matrixmultiply` crate's usual `MATMUL_NUM_THREADS`, the
//! number of available cores.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Products with fewer multiply-adds (`m·k·n`) than this run on one thread: about 33.5
/// million, the smallest size where two threads were clearly faster than one (1.35× at
/// 256×512×256; 0.98× at 256³, 0.62× at the seed model's 64×784×128).
pub const PARALLEL_MIN_MACS: usize = 1 << 25;

/// 0 until the setting is first read or set.
static THREADS: AtomicUsize = AtomicUsize::new(0);

fn from_env() -> usize {
    ["GRADWELL_NUM_THREADS", "MATMUL_NUM_THREADS"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The number of threads a large matrix product may use.
///
/// ```
/// gradwell_tensor::set_num_threads(1);
/// assert_eq!(gradwell_tensor::num_threads(), 1);
/// ```
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = from_env();
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Sets the number of threads large matrix products may use (at least 1) for the whole
/// process.
pub fn set_num_threads(threads: usize) {
    THREADS.store(threads.max(1), Ordering::Relaxed);
}

/// The threshold in use: [`PARALLEL_MIN_MACS`], or `GRADWELL_PARALLEL_MIN_MACS` when set
/// (for measuring where it should be).
fn min_macs() -> usize {
    static MIN: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MIN.get_or_init(|| {
        std::env::var("GRADWELL_PARALLEL_MIN_MACS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(PARALLEL_MIN_MACS)
    })
}

/// The threads to use for an `m×k` by `k×n` product.
pub(crate) fn threads_for(m: usize, k: usize, n: usize) -> usize {
    let t = num_threads();
    if t <= 1 || m.saturating_mul(k).saturating_mul(n) < min_macs() {
        1
    } else {
        // At least 32 rows (or columns) per thread, so each block keeps the kernel busy.
        t.min(m.max(n) / 32).max(1)
    }
}
