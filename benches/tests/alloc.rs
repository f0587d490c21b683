//! A training step of M1, of M2, of a model with every other kind of layer and of the LSTM
//! of the recurrent comparison ([`Model::Lstm`]) allocates nothing in steady state: after the first steps, no array allocation above 1 KiB and no
//! small allocation either (the performance issue asks for no tensor buffer and a constant
//! number of small ones). Counted with a global allocator that wraps the system's
//! (deterministic, unlike timing).
//!
//! The portable matrix kernel (`matrixmultiply`) allocates its own packing scratch inside
//! every product, with the alignment its SIMD kernels need (≥ 32 bytes); gradwell's arrays
//! are aligned to their element (4 or 8 bytes). The counter tells the two apart by
//! alignment: kernel scratch is reported separately and must be at most one allocation per
//! product (gradwell's own AVX-512 and AVX2 kernels allocate none: their transpose scratch
//! is per thread and grows once). Run it with `GRADWELL_KERNEL=avx2` or `portable` to
//! check another path.
//!
//! Steps run on one thread: a helper thread grows its own scratch on the first product
//! part it happens to claim, which may be any step, and the count must be deterministic.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gradwell_benches::{Model, Workload};
use gradwell_tensor::Kernel;

struct Counting;

static SMALL: AtomicUsize = AtomicUsize::new(0);
static LARGE: AtomicUsize = AtomicUsize::new(0);
static KERNEL: AtomicUsize = AtomicUsize::new(0);
static ON: AtomicBool = AtomicBool::new(false);

fn record(size: usize, align: usize) {
    if ON.load(Ordering::Relaxed) {
        let counter = match (size > 1024, align >= 32) {
            (true, true) => &KERNEL,
            (true, false) => &LARGE,
            (false, _) => &SMALL,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; only counters change.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size(), layout.align());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size, layout.align());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (array buffers > 1 KiB, kernel scratch, small) allocations of each of `steps` steps
/// after `warmup` steps.
fn count_workload(mut w: Workload, warmup: usize, steps: usize) -> Vec<[usize; 3]> {
    for _ in 0..warmup {
        w.step().unwrap();
    }
    (0..steps)
        .map(|_| {
            for c in [&SMALL, &LARGE, &KERNEL] {
                c.store(0, Ordering::SeqCst);
            }
            ON.store(true, Ordering::SeqCst);
            w.step().unwrap();
            ON.store(false, Ordering::SeqCst);
            [
                LARGE.load(Ordering::SeqCst),
                KERNEL.load(Ordering::SeqCst),
                SMALL.load(Ordering::SeqCst),
            ]
        })
        .collect()
}

// One test function: the counters are global, so the models are measured one after the
// other rather than in parallel test threads.
#[test]
fn steady_state_steps_allocate_nothing_outside_the_portable_kernel() {
    gradwell_tensor::set_num_threads(1);
    // M1 and M2, then every other kind of layer: layer norm, PReLU with a slope per unit,
    // dropout, a residual block with tanh, log-softmax; Adam.
    let zoo = gradwell_nn::ModelSpec::parse(
        r#"{"input_shape": [784], "layers": [
            {"type": "linear", "out_features": 64},
            {"type": "layer_norm"},
            {"type": "prelu", "num_parameters": 64},
            {"type": "dropout", "p": 0.2},
            {"type": "residual", "layers": [
                {"type": "linear", "out_features": 64},
                {"type": "activation", "activation": "tanh"}
            ]},
            {"type": "linear", "out_features": 10},
            {"type": "log_softmax"}
        ]}"#,
    )
    .unwrap();
    let adam = gradwell_optim::Adam::new(gradwell_optim::AdamConfig::default()).unwrap();
    let zoo = Workload::from_spec(
        &zoo,
        Box::new(adam),
        64,
        gradwell_benches::matrix(64, 784).into_dyn(),
        (0..64).map(|i| i % 10).collect(),
    )
    .unwrap();
    // Products per step of an MLP: forward one per linear layer; backward one per linear
    // layer for the weight and one per layer whose input needs a gradient (all but the
    // first).
    let mlp = |linears: usize| 3 * linears - 1;
    // The LSTM: forward one product for the input side of all steps and one per step for
    // the hidden side; backward, per step, one for the hidden state's gradient, then one
    // for W_hh's and one for W_ih's over all steps (the input needs no gradient); the
    // Linear head, three.
    let lstm = 1 + gradwell_benches::LSTM_STEPS + gradwell_benches::LSTM_STEPS + 2 + 3;
    let cases = [
        ("M1", Workload::new(Model::M1, 64), mlp(2)),
        ("M2", Workload::new(Model::M2, 128), mlp(9)),
        ("zoo", zoo, mlp(3)),
        ("LSTM", Workload::new(Model::Lstm, 64), lstm),
    ];
    for (name, workload, products) in cases {
        let counts = count_workload(workload, 3, 5);
        eprintln!("{name}: [array buffers > 1 KiB, kernel scratch, small] per step: {counts:?}");
        assert!(
            counts.iter().all(|c| c[0] == 0 && c[2] == 0),
            "{name}: array or small allocations: {counts:?}"
        );
        // gradwell's AVX-512 and AVX2 kernels take every product of these models and
        // allocate nothing; the portable kernel may allocate its packing scratch once per
        // product.
        let products = match gradwell_tensor::active_kernel() {
            Kernel::Avx512 | Kernel::Avx2 => 0,
            Kernel::Portable => products,
        };
        assert!(
            counts.iter().all(|c| c[1] <= products),
            "{name}: kernel scratch beyond {products} per step: {counts:?}"
        );
        assert!(
            counts.windows(2).all(|w| w[0] == w[1]),
            "{name}: the allocations vary from step to step: {counts:?}"
        );
    }
}
