//! How many threads a matrix product uses.
//!
//! A product is split across threads only when it is large enough for the split to pay:
//! below [`PARALLEL_MIN_MACS`] multiply-adds it runs on the calling thread, whatever the
//! thread setting, so that two threads are never slower than one on the small products of
//! a small model (the failure pytorch/pytorch#144633 describes). The threshold was measured
//! on a 2-core machine (see BENCHMARKS.md). Split products run on a persistent pool of
//! helper threads that never make the caller wait for a part nobody started.
//!
//! The thread count is, in order: [`set_num_threads`], the environment variable
//! `GRADWELL_NUM_THREADS`, the `matrixmultiply` crate's usual `MATMUL_NUM_THREADS`, the
//! number of available cores.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Products with fewer multiply-adds (`m·k·n`) than this run on one thread: about 2.1
/// million. Split across the persistent helpers, products from 1 M multiply-adds up ran
/// 1.6–1.9× faster on two threads in isolation; inside a training step, where a split also
/// moves operands between the cores' caches, the seed model's 6.4 M products still gained
/// (1.3–1.5× per step at batch 64), while its second layer's (82 K) are kept whole. See
/// BENCHMARKS.md.
pub const PARALLEL_MIN_MACS: usize = 1 << 21;

/// 0 until the setting is first read or set.
static THREADS: AtomicUsize = AtomicUsize::new(0);

fn from_env() -> usize {
    ["GRADWELL_NUM_THREADS", "MATMUL_NUM_THREADS"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(cores)
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
/// process. A product never uses more threads than the processor has cores.
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

/// The processor's available cores (read once).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The threads to use for an `m×k` by `k×n` product.
pub(crate) fn threads_for(m: usize, k: usize, n: usize) -> usize {
    // More threads than cores would have helpers spinning on a core another thread needs.
    let t = num_threads().min(cores());
    if t <= 1 || m.saturating_mul(k).saturating_mul(n) < min_macs() {
        1
    } else {
        // At least 32 rows (or columns) per thread, so each block keeps the kernel busy.
        t.min(m.max(n) / 32).clamp(1, usize::BITS as usize)
    }
}

/// A persistent set of helper threads that run the parts of one job beside the caller.
///
/// The caller publishes a job (a `Fn(part)` on its own stack and a number of parts), wakes
/// any helper that went to sleep, and then claims parts itself from a shared bit set, as
/// the helpers do (the caller from the first part up, helpers from the last part down). A
/// helper that is late (descheduled, or still waking) finds no part left
/// and does nothing: the caller never waits for a part nobody started, so a busy second
/// core costs at most the parts a helper already took. After the last part the caller
/// closes the job and waits until no helper still holds it; only then does the job's
/// closure go out of scope.
///
/// Helpers spin for a short while (`SPIN`) after their last job (a training step issues its products
/// tens of microseconds apart) and then park until woken. One job runs at a time; a caller
/// that finds the pool busy (another thread's product) runs its product alone. The number
/// of helpers is fixed when the pool is first used.
mod pool {
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::*};
    use std::sync::{Mutex, OnceLock};
    use std::thread::Thread;
    use std::time::{Duration, Instant};

    /// How long an idle helper keeps polling for the next job before it parks.
    const SPIN: Duration = Duration::from_micros(300);

    /// The job as the helpers see it: a type-erased `&(dyn Fn(usize) + Sync)`.
    type Job<'a> = &'a (dyn Fn(usize) + Sync);

    struct Pool {
        /// Odd while a job is open; every job bumps it twice (open, close).
        epoch: AtomicUsize,
        /// Helpers that entered the current job and may still touch it.
        active: AtomicUsize,
        /// Bit `i` is set once part `i` is claimed.
        claimed: AtomicUsize,
        done: AtomicUsize,
        parts: AtomicUsize,
        job: AtomicPtr<Job<'static>>,
        helpers: Vec<(Thread, &'static AtomicBool)>,
        busy: Mutex<()>,
    }

    static POOL: OnceLock<Pool> = OnceLock::new();

    fn pool(helpers: usize) -> &'static Pool {
        POOL.get_or_init(|| {
            let helpers = (0..helpers)
                .filter_map(|i| {
                    let sleeping: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
                    std::thread::Builder::new()
                        .name(format!("gradwell-gemm-{i}"))
                        .spawn(move || helper(sleeping))
                        .ok()
                        .map(|h| (h.thread().clone(), sleeping))
                })
                .collect();
            Pool {
                epoch: AtomicUsize::new(0),
                active: AtomicUsize::new(0),
                claimed: AtomicUsize::new(0),
                done: AtomicUsize::new(0),
                parts: AtomicUsize::new(0),
                job: AtomicPtr::new(std::ptr::null_mut()),
                helpers,
                busy: Mutex::new(()),
            }
        })
    }

    /// Runs `f(0)`, …, `f(parts − 1)`, each exactly once, on the calling thread and up to
    /// `helpers` helper threads (created on first use, kept for the process). More parts
    /// than bits in a `usize` run on the calling thread.
    pub(crate) fn run(helpers: usize, parts: usize, f: &(dyn Fn(usize) + Sync)) {
        if parts > usize::BITS as usize {
            (0..parts).for_each(f);
            return;
        }
        let p = pool(helpers);
        let Ok(_guard) = p.busy.try_lock() else {
            (0..parts).for_each(f);
            return;
        };
        if p.helpers.is_empty() {
            (0..parts).for_each(f);
            return;
        }
        let job: Job<'_> = f;
        p.claimed.store(0, Relaxed);
        p.done.store(0, Relaxed);
        p.parts.store(parts, Relaxed);
        #[allow(unsafe_code)]
        // SAFETY: only the lifetime is erased; the pointer is read by helpers only while
        // they are counted in `active`, and this function returns only after the job is
        // closed and `active` is back to zero, so `f` outlives every use.
        let erased: *mut Job<'static> = unsafe { std::mem::transmute(&job as *const Job<'_>) };
        p.job.store(erased, Relaxed);
        p.epoch.fetch_add(1, SeqCst); // open
        for (thread, sleeping) in &p.helpers {
            if sleeping.load(SeqCst) {
                thread.unpark();
            }
        }
        claim(p, f, false);
        p.epoch.fetch_add(1, SeqCst); // close: no helper enters from now on
        let mut polls = 0u32;
        while p.done.load(Acquire) < parts || p.active.load(SeqCst) > 0 {
            polls = polls.wrapping_add(1);
            relax(polls);
        }
    }

    /// Runs parts until none is left: the caller from the first part up, helpers from the
    /// last part down, so that with as many parts as threads each thread usually gets the
    /// same part every time (and keeps that part's data in its own cache).
    fn claim(p: &Pool, f: &(dyn Fn(usize) + Sync), from_back: bool) {
        let parts = p.parts.load(Relaxed);
        loop {
            let mut claimed = p.claimed.load(Acquire);
            let i = loop {
                let free = (0..parts).map(|i| if from_back { parts - 1 - i } else { i });
                let Some(i) = free.into_iter().find(|&i| claimed & (1 << i) == 0) else {
                    return;
                };
                match p
                    .claimed
                    .compare_exchange_weak(claimed, claimed | (1 << i), AcqRel, Acquire)
                {
                    Ok(_) => break i,
                    Err(now) => claimed = now,
                }
            };
            f(i);
            p.done.fetch_add(1, AcqRel);
        }
    }

    /// One wait between polls: a pause, and every 256th time a yield of the processor,
    /// so that a waiting thread that shares its core with the thread it waits for (another
    /// process took the other core) lets it run.
    fn relax(polls: u32) {
        if polls.is_multiple_of(256) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }

    fn helper(sleeping: &'static AtomicBool) {
        let p = loop {
            if let Some(p) = POOL.get() {
                break p;
            }
            std::thread::park_timeout(Duration::from_millis(1));
        };
        let mut seen = 0;
        let mut idle_since = Instant::now();
        let mut polls = 0u32;
        loop {
            let e = p.epoch.load(SeqCst);
            if e % 2 == 1 && e != seen {
                seen = e;
                p.active.fetch_add(1, SeqCst);
                if p.epoch.load(SeqCst) == e {
                    #[allow(unsafe_code)]
                    // SAFETY: the job is open and this helper is counted in `active`, so
                    // the caller is still inside `run` and the closure is alive.
                    let f = unsafe { *p.job.load(Acquire) };
                    claim(p, f, true);
                }
                p.active.fetch_sub(1, SeqCst);
                idle_since = Instant::now();
                continue;
            }
            polls = polls.wrapping_add(1);
            relax(polls);
            if polls.is_multiple_of(64) && idle_since.elapsed() > SPIN {
                sleeping.store(true, SeqCst);
                let e2 = p.epoch.load(SeqCst);
                if !(e2 % 2 == 1 && e2 != seen) {
                    std::thread::park_timeout(Duration::from_millis(100));
                }
                sleeping.store(false, SeqCst);
                idle_since = Instant::now();
            }
        }
    }
}

pub(crate) use pool::run as run_parts;

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    /// Every part runs exactly once, job after job, also when several threads submit jobs
    /// at the same time (all but one then run alone).
    #[test]
    fn every_part_runs_exactly_once_per_job() {
        std::thread::scope(|scope| {
            for caller in 0..3 {
                scope.spawn(move || {
                    for job in 0..200 {
                        let parts = 1 + (job + caller) % 7;
                        let seen = AtomicU64::new(0);
                        let twice = AtomicUsize::new(0);
                        super::run_parts(1, parts, &|i| {
                            if seen.fetch_or(1 << i, Ordering::SeqCst) & (1 << i) != 0 {
                                twice.fetch_add(1, Ordering::SeqCst);
                            }
                        });
                        assert_eq!(seen.load(Ordering::SeqCst), (1 << parts) - 1);
                        assert_eq!(twice.load(Ordering::SeqCst), 0);
                    }
                });
            }
        });
        // More parts than bits in the claim set: still each exactly once.
        let counts: Vec<AtomicUsize> = (0..70).map(|_| AtomicUsize::new(0)).collect();
        super::run_parts(1, counts.len(), &|i| {
            counts[i].fetch_add(1, Ordering::SeqCst);
        });
        assert!(counts.iter().all(|c| c.load(Ordering::SeqCst) == 1));
    }
}
