//! A counting global allocator: measures what one thread allocates inside a closure, so
//! that tests can bound the memory a reader takes and check that batching allocates
//! nothing. Counters are per thread, so tests running in parallel do not disturb each
//! other.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn record(delta: isize, allocations: usize) {
    let _ = ACTIVE.try_with(|active| {
        if active.get() {
            CURRENT.with(|c| {
                let now = c.get() + delta;
                c.set(now);
                PEAK.with(|p| p.set(p.get().max(now)));
            });
            COUNT.with(|n| n.set(n.get() + allocations));
        }
    });
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; the counting only
// touches const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize, 1);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize, 1);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(-(layout.size() as isize), 0);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size as isize - layout.size() as isize, 1);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What a closure allocated on this thread.
#[derive(Debug, Clone, Copy)]
pub struct Allocs {
    /// The most bytes held at once (above what was held at the start).
    pub peak_bytes: usize,
    /// Calls to alloc, alloc_zeroed and realloc.
    pub count: usize,
}

/// Runs `f`, measuring its allocations on this thread.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Allocs) {
    CURRENT.with(|c| c.set(0));
    PEAK.with(|p| p.set(0));
    COUNT.with(|n| n.set(0));
    ACTIVE.with(|a| a.set(true));
    let out = f();
    ACTIVE.with(|a| a.set(false));
    let allocs = Allocs {
        peak_bytes: PEAK.with(Cell::get).max(0) as usize,
        count: COUNT.with(Cell::get),
    };
    (out, allocs)
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the other tests against a counter that sees nothing.
    let (v, a) = measure(|| vec![0u8; 1 << 20]);
    assert_eq!(v.len(), 1 << 20);
    assert!(a.count >= 1 && a.peak_bytes >= 1 << 20, "{a:?}");
    let ((), a) = measure(|| ());
    assert_eq!(a.count, 0);
}
