//! The few random draws this crate makes, written out so that a seed gives the same
//! shuffles and synthetic sets whatever the version of `rand`: only the raw 64-bit output
//! of ChaCha8 is relied on.

use rand::RngCore;

/// A uniform integer in `0..n` (`n > 0`), by Lemire's multiply-and-reject method (unbiased).
pub(crate) fn below(rng: &mut impl RngCore, n: u64) -> u64 {
    debug_assert!(n > 0);
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// Fisher–Yates shuffle.
pub(crate) fn shuffle<T>(items: &mut [T], rng: &mut impl RngCore) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A uniform `f64` in `[0, 1)` with 53 random bits.
pub(crate) fn uniform(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box–Muller, one of the pair).
pub(crate) fn normal(rng: &mut impl RngCore) -> f64 {
    let u1 = 1.0 - uniform(rng); // in (0, 1]: the logarithm is finite
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
