//! Steady-state allocations of a training step, counted by a global allocator: after the
//! first steps, the trainer's step allocates the same every time, and no buffer above
//! 1 KiB beyond what the bare computation (forward, backward, optimizer step on the same
//! tape) allocates by itself — today the matrix products' packing buffers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ops::ControlFlow;

use gradwell_data::LastBatch;
use gradwell_train::{Observer, StepView};

use crate::{digits_config, digits_trainer};

/// Allocations above this size count as buffers.
const BIG: usize = 1024;

struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
    static BIG_COUNT: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    let _ = COUNT.try_with(|n| n.set(n.get() + 1));
    if size > BIG {
        let _ = BIG_COUNT.try_with(|n| n.set(n.get() + 1));
    }
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; the counting only
// touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counts() -> (usize, usize) {
    (COUNT.with(Cell::get), BIG_COUNT.with(Cell::get))
}

/// Reads the counters at every step (into memory reserved beforehand).
struct Meter {
    at_step: Vec<(u64, usize, usize)>,
}

impl Observer for Meter {
    fn on_step(&mut self, step: &StepView<'_>) -> ControlFlow<String> {
        let (n, big) = counts();
        if self.at_step.len() < self.at_step.capacity() {
            self.at_step.push((step.step, n, big));
        }
        ControlFlow::Continue(())
    }
}

#[test]
fn the_counter_sees_allocations() {
    let before = counts();
    let v = vec![0u8; 4096];
    let after = counts();
    assert_eq!(v.len(), 4096);
    assert!(after.0 > before.0 && after.1 > before.1);
}

/// Allocations per step of the bare computation, with no trainer around it:
/// `(all, above BIG)`, the same for every step after the first few.
fn bare_step_allocations() -> (usize, usize) {
    use gradwell_nn::losses::{LossReduction, cross_entropy};
    use gradwell_optim::{Optimizer, ParamSlot, Sgd, SgdConfig};
    use rand::SeedableRng;

    let mut net = crate::seed_model(64, 7);
    let mut opt = Sgd::<f32>::new(SgdConfig::default().lr(0.05).momentum(0.9)).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let x = ndarray::Array2::<f32>::from_elem((32, 64), 0.5);
    let y: Vec<u32> = (0..32).map(|i| i % 10).collect();
    let mut per_step = Vec::new();
    for step in 0..10 {
        let before = counts();
        net.tape.reset();
        let xv = net.tape.input_view(&x.view().into_dyn());
        let logits = net.forward(xv, true, &mut rng, None).unwrap();
        let labels = net.tape.input_with(&[32], |b| {
            for (b, &l) in b.iter_mut().zip(&y) {
                *b = l as f32;
            }
        });
        let loss = cross_entropy(&mut net.tape, logits, labels, 0.0, LossReduction::Mean).unwrap();
        net.tape.backward(loss).unwrap();
        // A new list each step (one small allocation the trainer avoids).
        let mut slots: Vec<ParamSlot<'_, f32>> = net
            .tape
            .params_mut()
            .slots_mut()
            .map(|(n, v, g)| ParamSlot::new(n, v, g))
            .collect();
        opt.step(&mut slots).unwrap();
        drop(slots);
        net.tape.params_mut().zero_grad();
        let after = counts();
        if step >= 3 {
            per_step.push((after.0 - before.0, after.1 - before.1));
        }
    }
    assert!(per_step.iter().all(|&c| c == per_step[0]), "{per_step:?}");
    per_step[0]
}

#[test]
fn a_steady_state_step_allocates_nothing_beyond_the_bare_computation() {
    let (bare_all, bare_big) = bare_step_allocations();
    let mut config = digits_config(3);
    config.last_batch = LastBatch::Drop;
    let mut t = digits_trainer(config);
    let per_epoch = (t.train_set().len() / 32) as u64;
    let mut meter = Meter {
        at_step: Vec::with_capacity(1000),
    };
    t.run(&mut [&mut meter]).unwrap();
    assert_eq!(meter.at_step.len() as u64, 3 * per_epoch);
    let mut per_step = Vec::new();
    for w in meter.at_step.windows(2) {
        let ((_, n0, b0), (step, n1, b1)) = (w[0], w[1]);
        // Steps 1 to 3 warm up; the first step of an epoch follows the epoch's end.
        if step <= 3 || (step - 1) % per_epoch == 0 {
            continue;
        }
        per_step.push((n1 - n0, b1 - b0));
    }
    assert!(per_step.len() as u64 > 2 * per_epoch);
    assert!(
        per_step.iter().all(|&c| c == per_step[0]),
        "allocations vary: {per_step:?}"
    );
    let (all, big) = per_step[0];
    eprintln!("per step: trainer {all} ({big} above {BIG} B), bare {bare_all} ({bare_big})");
    assert_eq!(big, bare_big, "the trainer allocates buffers of its own");
    assert!(
        all <= bare_all + 2,
        "the trainer adds {} small allocations",
        all - bare_all
    );
}
