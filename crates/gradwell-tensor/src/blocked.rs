//! The blocking driver both x86-64 kernels share ([`crate::avx512`], [`crate::avx2`]):
//! they supply a register-blocked micro-kernel and its block sizes ([`MicroKernel`]), the
//! driver ([`nn`]) cuts the product into blocks for the caches and decides what to copy.
//!
//! The loops are Goto's: columns of `B` in blocks of `NC`, `k` in blocks of `KC`, rows of
//! `A` in blocks of (at most) `MC`, cut into equal heights; inside, each `MR×KC`
//! micro-panel of `A` stays in the first-level cache while the `KC×NR` micro-panels of the
//! block of `B` stream past it from the second-level cache, and the micro-kernel walks
//! along the tile's rows of `C`.
//!
//! Neither operand is copied unless the copy pays. A block of a row-major `B` is copied into
//! contiguous micro-panels when many tiles of rows reuse it (from `PACK_B_MIN_ROWS` rows)
//! or when its row stride is a multiple of 4 KiB (its rows would all fall into the same
//! first-level cache sets); otherwise the micro-kernel reads `B` where it lies. A block of
//! `A` is copied into micro-panels of `MR` rows (`A` of any strides read once, then
//! contiguously by every micro-panel of `B`) when at least `PACK_A_MIN_COLS` columns of
//! `B` reuse it. The copies go to per-thread buffers of fixed size, so no product
//! allocates once a thread has run its first one.

#![allow(unsafe_code)]

use std::cell::RefCell;

/// A register-blocked micro-kernel and the block sizes the driver cuts a product into for
/// it. Each implementation states the derivation of its sizes from its register tile and
/// the caches.
pub(crate) trait MicroKernel {
    /// Rows of `A` (and `C`) per micro-kernel call.
    const MR: usize;
    /// Columns of `B` (and `C`) per micro-kernel call; the width of a micro-panel of `B`.
    const NR: usize;
    /// Elements of `k` per block.
    const KC: usize;
    /// Rows of `A` per block (a multiple of `MR`).
    const MC: usize;
    /// Columns of `B` per block (a multiple of `NR`).
    const NC: usize;
    /// From this many rows of `A` on, blocks of a row-major `B` are copied into panels.
    const PACK_B_MIN_ROWS: usize;
    /// From this many columns of `B` on, blocks of `A` are copied into panels.
    const PACK_A_MIN_COLS: usize;

    /// The side of the square blocks [`MicroKernel::transpose_block`] transposes in
    /// registers (a divisor of `NR`).
    const TB: usize;

    /// Writes the `TB×TB` block at `src` (row `r` contiguous at `src + r·stride`)
    /// transposed: its column `j` to the `TB` contiguous elements at `dst + j·NR`.
    ///
    /// # Safety
    /// The processor must run the kernel; `src` must address the block and `dst` the
    /// `TB` writable runs, not overlapping it.
    unsafe fn transpose_block(src: *const f32, stride: isize, dst: *mut f32);

    /// Runs `f` compiled with the kernel's processor features: the driver's loops and
    /// copies run inside a thread-local buffer's closure, which is compiled on its own (with
    /// the baseline instructions, the kernel's intrinsics left as calls) unless its body is
    /// inlined into a function that enables the features.
    ///
    /// # Safety
    /// The processor must run the kernel.
    unsafe fn with_features<R>(f: impl FnOnce() -> R) -> R;

    /// The `mr × nr` block of `C` at `t.c` (`1 ≤ mr ≤ MR`, `1 ≤ nr ≤ NR`) gets
    /// `α·A·B + β·C` over `t.kc` steps of `k`.
    ///
    /// # Safety
    /// The processor must run the kernel. `t.a` must address `mr` rows of `t.kc` elements
    /// (strides `t.rsa`, `t.csa`), `t.b` `t.kc` rows (stride `t.rsb`) of `nr` elements and
    /// `t.c` `mr` writable rows (stride `t.rsc`, unit column stride) of `nr` elements,
    /// aliasing neither. Nothing outside these is read or written.
    unsafe fn tile(mr: usize, nr: usize, t: &Tile);
}

/// One block of `C` over `kc` steps of `k`, as [`MicroKernel::tile`] takes it.
pub(crate) struct Tile {
    pub(crate) kc: usize,
    pub(crate) alpha: f32,
    pub(crate) a: *const f32,
    pub(crate) rsa: isize,
    pub(crate) csa: isize,
    pub(crate) b: *const f32,
    pub(crate) rsb: isize,
    pub(crate) beta: f32,
    pub(crate) c: *mut f32,
    pub(crate) rsc: isize,
}

/// Where [`nn`] finds `B`.
#[derive(Clone, Copy)]
pub(crate) enum BLayout {
    /// Row-major with this row stride (unit column stride).
    Rows(*const f32, isize),
    /// Already in micro-panels of `NR` columns over the whole of `k`: element `(p, j)` at
    /// `(j / NR)·k·NR + p·NR + j % NR` (the last panel's unused lanes are never read).
    Panels(*const f32),
}

/// A cache line of floats: the buffers are built of these so that every micro-panel
/// starts on a line (a vector load never straddles two).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// A thread's copy buffer, grown to `len` floats (never shrunk).
fn grown(buf: &mut Vec<Line>, len: usize) -> *mut f32 {
    let lines = len.div_ceil(16);
    if buf.len() < lines {
        buf.resize(lines, Line([0.0; 16]));
    }
    buf.as_mut_ptr().cast::<f32>()
}

/// The largest transposed copy of `B` (elements) [`nt`] keeps per thread: 64 MiB. A larger
/// `Bᵀ` goes to `matrixmultiply`, which packs in bounded blocks, rather than doubling the
/// memory of a huge layer.
pub(crate) const NT_MAX_SCRATCH: usize = 1 << 24;

/// `C ← α·A·B + β·C` for f32 on `K`'s micro-kernel when the layout suits it,
/// `matrixmultiply` otherwise: a column-major `C` as the transposed product, a row-major
/// `B` read by [`nn`], a `B` with unit row stride (a linear layer's `X·Wᵀ`) transposed
/// into panels first ([`nt`]). Inlined into each kernel's entry point, which enables the
/// processor features.
///
/// # Safety
/// As [`crate::Float::gemm_raw`], and the processor must run `K`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm<K: MicroKernel>(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) {
    if m > 0 && n > 0 && k > 0 {
        // A column-major output is the transposed product of the transposed operands.
        let (m, n, a, rsa, csa, b, rsb, csb, rsc, csc) = if csc != 1 && rsc == 1 {
            (n, m, b, csb, rsb, a, csa, rsa, csc, rsc)
        } else {
            (m, n, a, rsa, csa, b, rsb, csb, rsc, csc)
        };
        if csc == 1 && csb == 1 {
            let layout = BLayout::Rows(b, rsb);
            // SAFETY: the caller's contract, processor included.
            unsafe { nn::<K>(m, k, n, alpha, a, rsa, csa, layout, beta, c, rsc) };
            return;
        }
        if csc == 1 && rsb == 1 && k * n.next_multiple_of(K::NR) <= NT_MAX_SCRATCH {
            // SAFETY: as above.
            unsafe { nt::<K>(m, k, n, alpha, a, rsa, csa, b, csb, beta, c, rsc) };
            return;
        }
    }
    // SAFETY: forwarded verbatim; the caller upholds the kernel's contract.
    unsafe {
        matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    }
}

/// `C ← α·A·B + β·C` with `C` of unit column stride and `B` of unit row stride (column
/// `j` of `B` contiguous at `b + j·csb`): `B` is transposed into a per-thread copy in
/// panels ([`transpose_into_panels`]) and the product is an [`nn`] product.
///
/// # Safety
/// The processor must run `K`. `a` must address an in-bounds `m×k` matrix, `b` an
/// in-bounds `k×n` one whose column `j` is the `k` contiguous elements at `b + j·csb`, and
/// `c` (row stride `rsc`, unit column stride) a writable `m×n` matrix aliasing neither.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn nt<K: MicroKernel>(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    csb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
) {
    thread_local! {
        static SCRATCH: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|scratch| {
        let panels = grown(scratch, n.next_multiple_of(K::NR) * k);
        // SAFETY: the processor runs `K` (the caller's contract); `b` covers `k` elements
        // along each of its `n` columns; the scratch holds the panels of all `n` columns;
        // the caller's contract covers `a` and `c`.
        unsafe {
            K::with_features(
                #[inline(always)]
                || {
                    transpose_into_panels::<K>(b, csb, n, k, panels);
                    let layout = BLayout::Panels(panels.cast_const());
                    nn::<K>(m, k, n, alpha, a, rsa, csa, layout, beta, c, rsc);
                },
            )
        }
    });
}

/// Writes the `rows × cols` matrix at `src` (row `r` contiguous at `src + r·stride`)
/// transposed, in [`BLayout::Panels`] of `NR` of its rows: element `(r, c)` goes to
/// `dst[(r / NR)·cols·NR + c·NR + r % NR]`. Whole `TB×TB` blocks are transposed in
/// registers, the edges element by element.
///
/// # Safety
/// The processor must run `K`. `src` must address `rows` rows of `cols` contiguous
/// elements (row stride `stride`), and `dst` at least `rows.next_multiple_of(NR)·cols`
/// writable elements that do not overlap `src`.
#[inline(always)]
pub(crate) unsafe fn transpose_into_panels<K: MicroKernel>(
    src: *const f32,
    stride: isize,
    rows: usize,
    cols: usize,
    dst: *mut f32,
) {
    let tb = K::TB;
    let (full_rows, full_cols) = (rows / tb * tb, cols / tb * tb);
    let to = |r: usize, c: usize| (r / K::NR) * cols * K::NR + c * K::NR + r % K::NR;
    // SAFETY: every element read is at row < rows, column < cols of `src`; every element
    // written is at `to(r, c)` for such an element, inside the caller's panels. `TB`
    // consecutive rows from a multiple of `TB` never straddle a panel (`TB` divides `NR`).
    unsafe {
        let at = |r: usize, c: usize| src.offset(r as isize * stride).add(c);
        for r0 in (0..full_rows).step_by(tb) {
            for c0 in (0..full_cols).step_by(tb) {
                K::transpose_block(at(r0, c0), stride, dst.add(to(r0, c0)));
            }
        }
        for r in 0..rows {
            let first_col = if r < full_rows { full_cols } else { 0 };
            for c in first_col..cols {
                *dst.add(to(r, c)) = *at(r, c);
            }
        }
    }
}

thread_local! {
    /// The thread's copy of a block of `A` and of a block of `B`.
    static BUFFERS: RefCell<(Vec<Line>, Vec<Line>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// `C ← α·A·B + β·C` with `C` of unit column stride and `B` as `layout` says, on `K`'s
/// micro-kernel. The loops and copies run inside the thread-local buffers' closure, which
/// [`MicroKernel::with_features`] compiles with the processor features (before, that
/// closure was compiled with the baseline instructions: the copies ran four lanes wide and
/// 1024³ was 5–9 % slower).
///
/// # Safety
/// The processor must run `K`. `a` (strides `rsa`, `csa`) must address an in-bounds
/// `m×k` matrix, `B` a `k×n` one as `layout` says (panels: `K::NR` wide, as
/// [`BLayout::Panels`] describes), and `c` (row stride `rsc`, unit column stride) a
/// writable `m×n` matrix aliasing neither.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn nn<K: MicroKernel>(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    layout: BLayout,
    beta: f32,
    c: *mut f32,
    rsc: isize,
) {
    let pack_b = match layout {
        BLayout::Rows(_, rsb) => m >= K::PACK_B_MIN_ROWS || (rsb * 4) % 4096 == 0,
        BLayout::Panels(_) => false,
    };
    let pack_a = n >= K::PACK_A_MIN_COLS;
    // Blocks of equal size, none above the kernel's: no short last block of `k` that would
    // read and write `C` for a few steps, and rows in multiples of MR.
    let kc_max = k.div_ceil(k.div_ceil(K::KC).max(1));
    let mc_max = m
        .div_ceil(m.div_ceil(K::MC).max(1))
        .next_multiple_of(K::MR)
        .min(K::MC);
    BUFFERS.with_borrow_mut(|(abuf, bbuf)| {
        let blocks = || {
            let apack = if pack_a {
                grown(abuf, K::MC * K::KC)
            } else {
                std::ptr::null_mut()
            };
            let bpack = if pack_b {
                grown(bbuf, K::KC * K::NC)
            } else {
                std::ptr::null_mut()
            };
            for j0 in (0..n).step_by(K::NC) {
                let nc = K::NC.min(n - j0);
                for k0 in (0..k).step_by(kc_max) {
                    let kc = kc_max.min(k - k0);
                    // Later blocks of `k` add to what the first one stored.
                    let beta = if k0 == 0 { beta } else { 1.0 };
                    if let (true, BLayout::Rows(base, rsb)) = (pack_b, layout) {
                        // SAFETY: rows k0..k0+kc and columns j0..j0+nc of `B` are in bounds;
                        // the buffer holds KC·NC elements.
                        unsafe {
                            pack_b_block::<K>(
                                base.offset(k0 as isize * rsb + j0 as isize),
                                rsb,
                                kc,
                                nc,
                                bpack,
                            )
                        };
                    }
                    for i0 in (0..m).step_by(mc_max) {
                        let mc = mc_max.min(m - i0);
                        // SAFETY: every offset below addresses an element inside the caller's
                        // operands or a buffer: rows i0..i0+mc ≤ m, columns j0..j0+nc ≤ n,
                        // k0..k0+kc ≤ k; the buffers hold MC·KC and KC·NC elements.
                        unsafe {
                            let a_block = a.offset(i0 as isize * rsa + k0 as isize * csa);
                            if pack_a {
                                pack_a_block::<K>(a_block, rsa, csa, mc, kc, apack);
                            }
                            let tile = |ii: usize, jj: usize| {
                                let (mr, nr) = (K::MR.min(mc - ii), K::NR.min(nc - jj));
                                let (a, rsa, csa) = if pack_a {
                                    (apack.add(ii * kc).cast_const(), 1, K::MR as isize)
                                } else {
                                    (a_block.offset(ii as isize * rsa), rsa, csa)
                                };
                                let (b, rsb) = match layout {
                                    BLayout::Panels(base) => (
                                        base.add((j0 + jj) / K::NR * k * K::NR + k0 * K::NR),
                                        K::NR as isize,
                                    ),
                                    BLayout::Rows(..) if pack_b => (
                                        bpack.add(jj / K::NR * kc * K::NR).cast_const(),
                                        K::NR as isize,
                                    ),
                                    BLayout::Rows(base, rsb) => {
                                        (base.offset(k0 as isize * rsb + (j0 + jj) as isize), rsb)
                                    }
                                };
                                let t = Tile {
                                    kc,
                                    alpha,
                                    a,
                                    rsa,
                                    csa,
                                    b,
                                    rsb,
                                    beta,
                                    c: c.offset((i0 + ii) as isize * rsc + (j0 + jj) as isize),
                                    rsc,
                                };
                                K::tile(mr, nr, &t);
                            };
                            // Each micro-panel of `A` stays in the first-level cache while
                            // the micro-panels of `B` stream past it from the second-level
                            // cache, and the tile's rows of `C` are walked along.
                            for ii in (0..mc).step_by(K::MR) {
                                for jj in (0..nc).step_by(K::NR) {
                                    tile(ii, jj);
                                }
                            }
                        }
                    }
                }
            }
        };
        // SAFETY: the processor runs `K` (the caller's contract).
        unsafe { K::with_features(blocks) }
    });
}

/// Copies the `mc×kc` block of `A` at `src` (strides `rsa`, `csa`) into micro-panels of
/// `MR` rows: element `(i, p)` to `dst[(i / MR)·kc·MR + p·MR + i % MR]` (a last, shorter
/// panel keeps the stride `MR`; its unused lanes are never read).
///
/// # Safety
/// `src` must address an in-bounds `mc×kc` matrix with these strides and `dst`
/// `mc.next_multiple_of(MR)·kc` writable elements that do not overlap it.
#[inline(always)]
unsafe fn pack_a_block<K: MicroKernel>(
    src: *const f32,
    rsa: isize,
    csa: isize,
    mc: usize,
    kc: usize,
    dst: *mut f32,
) {
    // SAFETY: every element read is at i < mc, p < kc of `src`; every element written
    // inside the caller's buffer.
    unsafe {
        for i0 in (0..mc).step_by(K::MR) {
            let rows = K::MR.min(mc - i0);
            let panel = dst.add(i0 * kc);
            let from = src.offset(i0 as isize * rsa);
            if csa == 1 && rows == K::MR {
                // Rows contiguous: each step of `k` writes the MR elements of its column
                // contiguously, read from the MR rows side by side.
                for p in 0..kc {
                    let to = panel.add(p * K::MR);
                    for r in 0..K::MR {
                        *to.add(r) = *from.offset(r as isize * rsa).add(p);
                    }
                }
            } else if csa == 1 {
                for r in 0..rows {
                    let row = from.offset(r as isize * rsa);
                    for p in 0..kc {
                        *panel.add(p * K::MR + r) = *row.add(p);
                    }
                }
            } else {
                for p in 0..kc {
                    let col = from.offset(p as isize * csa);
                    for r in 0..rows {
                        *panel.add(p * K::MR + r) = *col.offset(r as isize * rsa);
                    }
                }
            }
        }
    }
}

/// Copies the `kc×nc` block of a row-major `B` at `src` (row stride `rsb`) into
/// micro-panels of `NR` columns: element `(p, j)` to `dst[(j / NR)·kc·NR + p·NR + j % NR]`.
///
/// # Safety
/// `src` must address an in-bounds `kc×nc` matrix with row stride `rsb` and unit column
/// stride, and `dst` `nc.next_multiple_of(NR)·kc` writable elements that do not overlap
/// it.
#[inline(always)]
unsafe fn pack_b_block<K: MicroKernel>(
    src: *const f32,
    rsb: isize,
    kc: usize,
    nc: usize,
    dst: *mut f32,
) {
    // SAFETY: every element read is at p < kc, j < nc of `src`; every element written
    // inside the caller's buffer.
    unsafe {
        // Along each row of `B` (a row is read contiguously, as the hardware prefetchers
        // follow; reading one panel's 64-byte pieces from rows far apart was latency-bound),
        // its whole panels with copies of a constant length, inlined as vector moves.
        let whole = nc / K::NR * K::NR;
        for p in 0..kc {
            let row = src.offset(p as isize * rsb);
            for j0 in (0..whole).step_by(K::NR) {
                std::ptr::copy_nonoverlapping(row.add(j0), dst.add(j0 * kc + p * K::NR), K::NR);
            }
        }
        if whole < nc {
            let panel = dst.add(whole * kc);
            for p in 0..kc {
                let row = src.offset(p as isize * rsb);
                std::ptr::copy_nonoverlapping(row.add(whole), panel.add(p * K::NR), nc - whole);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MicroKernel;

    /// Deterministic values in [-1, 1).
    fn filled(len: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// A kernel's `sgemm` entry point.
    type Sgemm = unsafe fn(
        usize,
        usize,
        usize,
        f32,
        *const f32,
        isize,
        isize,
        *const f32,
        isize,
        isize,
        f32,
        *mut f32,
        isize,
        isize,
    );

    /// The shapes that reach every edge of `K`'s blocking: every tile height 1 to `MR`+1
    /// and widths around a vector, `NR` and the copy threshold of `A`; `k` cut at and
    /// around `KC`; columns around `NC` with and without the copy of `B`; rows around
    /// `MC` (blocks of equal height) and around the copy threshold of `B`.
    fn shapes<K: MicroKernel>() -> Vec<(usize, usize, usize)> {
        let mut shapes = Vec::new();
        let (nr, pa) = (K::NR, K::PACK_A_MIN_COLS);
        for m in 1..=K::MR + 1 {
            for n in [
                1,
                7,
                8,
                9,
                15,
                16,
                17,
                33,
                nr - 1,
                nr,
                nr + 1,
                pa - 1,
                pa,
                pa + 1,
            ] {
                shapes.push((m, 5, n));
            }
        }
        for k in [K::KC - 1, K::KC, K::KC + 1, 2 * K::KC + 3] {
            shapes.push((13, k, 2 * K::NC + 19));
        }
        for m in [K::MC - 1, K::MC, K::MC + 1, 2 * K::MC + 7] {
            shapes.push((m, 40, pa + 9));
        }
        for m in [
            K::PACK_B_MIN_ROWS - 1,
            K::PACK_B_MIN_ROWS,
            K::PACK_B_MIN_ROWS + 5,
        ] {
            shapes.push((m, 300, 2 * nr + 9));
        }
        shapes.push((K::PACK_B_MIN_ROWS, 3, K::NC + nr + 3));
        shapes
    }

    /// `sgemm` against an f64 triple loop at every shape of [`shapes`], within
    /// γₖ·Σ|aᵢₚ·bₚⱼ| plus three roundings, with `A` row-major or transposed (both ways of
    /// copying it), `B` row-major or transposed (the `nt` path), `C` row- or column-major,
    /// and β = 0 over NaN or β = 1 accumulating; nothing outside `C` is written.
    fn products_equal_the_triple_loop<K: MicroKernel>(sgemm: Sgemm) {
        for (i, &(m, k, n)) in shapes::<K>().iter().enumerate() {
            for (ta, tb, tc, accumulate) in [
                (false, false, false, false),
                (true, true, false, true),
                (false, false, true, true),
                (true, true, true, false),
                (true, false, false, false),
                (false, true, false, true),
            ] {
                let seed =
                    i as u64 * 16 + u64::from(ta) * 8 + u64::from(tb) * 4 + u64::from(tc) * 2;
                // A row-major with a padded row, or stored as its k×m transpose.
                let a = filled((m + 1) * (k + 1), seed);
                let (rsa, csa) = if ta {
                    (1, (m + 1) as isize)
                } else {
                    ((k + 1) as isize, 1)
                };
                // B row-major with a padded row, or stored as its n×k transpose.
                let b = filled((k + 1) * (n + 1), seed + 1);
                let (rsb, csb) = if tb {
                    (1, (k + 1) as isize)
                } else {
                    ((n + 1) as isize, 1)
                };
                // C row- or column-major, padded; β = 0 must ignore the NaN it holds.
                let (rsc, csc) = if tc {
                    (1, (m + 2) as isize)
                } else {
                    ((n + 2) as isize, 1)
                };
                let len = if tc { (m + 2) * n } else { m * (n + 2) };
                let c0 = if accumulate {
                    filled(len, seed + 2)
                } else {
                    vec![f32::NAN; len]
                };
                let mut c = c0.clone();
                let (alpha, beta) = if accumulate {
                    (0.75_f32, 1.0_f32)
                } else {
                    (1.0, 0.0)
                };
                // SAFETY: the caller checked the processor; every operand covers its
                // dimensions with its strides.
                unsafe {
                    sgemm(
                        m,
                        k,
                        n,
                        alpha,
                        a.as_ptr(),
                        rsa,
                        csa,
                        b.as_ptr(),
                        rsb,
                        csb,
                        beta,
                        c.as_mut_ptr(),
                        rsc,
                        csc,
                    );
                }
                let u = f64::from(f32::EPSILON) / 2.0;
                let gamma = k as f64 * u / (1.0 - k as f64 * u);
                let at_a = |i: usize, p: usize| a[(i as isize * rsa + p as isize * csa) as usize];
                let at_b = |p: usize, j: usize| b[(p as isize * rsb + j as isize * csb) as usize];
                for i in 0..m {
                    for j in 0..n {
                        let (mut want, mut mag) = (0.0_f64, 0.0_f64);
                        for p in 0..k {
                            let x = f64::from(at_a(i, p)) * f64::from(at_b(p, j));
                            want += x;
                            mag += x.abs();
                        }
                        let at = (i as isize * rsc + j as isize * csc) as usize;
                        let old = if accumulate { f64::from(c0[at]) } else { 0.0 };
                        let expect = f64::from(alpha) * want + f64::from(beta) * old;
                        let tol = (gamma + 3.0 * u) * (f64::from(alpha) * mag + old.abs())
                            + f64::from(f32::MIN_POSITIVE);
                        let got = f64::from(c[at]);
                        assert!(
                            (got - expect).abs() <= tol,
                            "{m}×{k}×{n} ta={ta} tb={tb} tc={tc} [{i},{j}]: {got} vs {expect}"
                        );
                    }
                }
                for (at, (&now, &was)) in c.iter().zip(&c0).enumerate() {
                    let (r, q) = if tc {
                        (at % (m + 2), at / (m + 2))
                    } else {
                        (at / (n + 2), at % (n + 2))
                    };
                    let inside = if tc { r < m } else { q < n };
                    if !inside {
                        assert!(
                            now.to_bits() == was.to_bits(),
                            "{m}×{k}×{n}: padding {at} written"
                        );
                    }
                }
            }
        }
    }

    /// The AVX2 kernel at every edge of its blocking (called directly, whatever path the
    /// process runs).
    #[test]
    #[cfg_attr(miri, ignore = "Miri does not interpret AVX2")]
    fn avx2_products_equal_the_triple_loop_at_every_edge() {
        if crate::Kernel::Avx2.available() {
            products_equal_the_triple_loop::<crate::avx2::Avx2>(crate::avx2::sgemm);
        }
    }

    /// The AVX-512 kernel at every edge of its blocking (called directly, whatever path
    /// the process runs).
    #[test]
    #[cfg_attr(miri, ignore = "Miri does not interpret AVX-512")]
    fn avx512_products_equal_the_triple_loop_at_every_edge() {
        if crate::Kernel::Avx512.available() {
            products_equal_the_triple_loop::<crate::avx512::Avx512>(crate::avx512::sgemm);
        }
    }
}
