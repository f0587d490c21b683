//! The kernel path: the one `GRADWELL_KERNEL` asks for, when the processor runs it.
//! `cargo xtask ci` runs these tests once per path (unset, `avx2`, `portable`).

use gradwell_tensor::{KERNEL_ENV, Kernel, active_kernel, avx512_enabled};

/// The path in use is the forced one when the processor runs it, else the widest the
/// processor runs; `avx512_enabled` agrees with it.
#[test]
fn the_forced_kernel_is_the_one_used() {
    let best = Kernel::ALL
        .into_iter()
        .find(|k| k.available())
        .expect("the portable path is always available");
    let want = match std::env::var(KERNEL_ENV).ok().map(|v| v.parse::<Kernel>()) {
        Some(Ok(k)) if k.available() => k,
        _ => best,
    };
    assert_eq!(
        active_kernel(),
        want,
        "{KERNEL_ENV}={:?}",
        std::env::var(KERNEL_ENV)
    );
    assert_eq!(avx512_enabled(), want == Kernel::Avx512);
}
