//! f32 matrix kernels for x86-64 processors with AVX2 and FMA but no AVX-512 (most Intel
//! desktop and laptop chips, AMD Zen 2 and 3), used instead of `matrixmultiply` where
//! they apply. The design is that of [`crate::avx512`], eight lanes wide:
//!
//! One register-blocked micro-kernel, [`nn`], reads a row-major `B` (unit column stride):
//! each step of `k` loads 16 consecutive elements of a row of `B` into two vectors and
//! broadcasts six elements of `A` (any strides) into 12 accumulators of 8 lanes (12 + 2 +
//! 1 of the 16 vector registers). `A` is never packed. `k` is cut in blocks of
//! [`KC`] and the columns in blocks of [`NC`]: a tile of six rows of `A` (6 KiB) stays in
//! the first-level cache while it meets the [`NC`] columns of the block of `B`, which
//! stays in the second-level cache. That block is copied into contiguous panels of 16
//! columns only when many tiles of rows reuse it (or its row stride would alias in the
//! cache). A `B` with unit *row* stride — a linear layer's forward `X·Wᵀ` — is transposed
//! in 8×8 register blocks straight into the panel layout [`nn`] reads ([`nt`]). A
//! column-major `C` is handled as the transposed product.
//!
//! Tails in `m` and `n` are handled by smaller instantiations and masked loads and
//! stores, never by reading or writing past an operand. Other layouts go to
//! `matrixmultiply`. No allocation happens inside a product once a thread's scratch has
//! grown to the largest product it ran.

#![allow(unsafe_code)]

use std::arch::x86_64::*;

/// `C ← α·A·B + β·C` for f32 on the AVX2 kernels when the layout suits them,
/// `matrixmultiply` otherwise.
///
/// # Safety
/// As [`crate::Float::gemm_raw`], and the processor must have AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm(
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
            // SAFETY: the caller's contract, processor included.
            unsafe {
                nn(
                    m,
                    k,
                    n,
                    alpha,
                    a,
                    rsa,
                    csa,
                    BLayout::Rows(b, rsb),
                    beta,
                    c,
                    rsc,
                )
            };
            return;
        }
        if csc == 1 && rsb == 1 && k * n.next_multiple_of(NR) <= crate::avx512::NT_MAX_SCRATCH {
            // SAFETY: as above.
            unsafe { nt(m, k, n, alpha, a, rsa, csa, b, csb, beta, c, rsc) };
            return;
        }
    }
    // SAFETY: forwarded verbatim; the caller upholds the kernel's contract.
    unsafe {
        matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    }
}

/// `f`, compiled with AVX2 and FMA enabled: simple loops inlined into `f` are vectorized
/// eight lanes wide instead of the baseline's four.
///
/// # Safety
/// The processor must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn in_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Rows of `A` per micro-kernel.
const MR: usize = 6;
/// Columns of `B` per micro-kernel: two vectors of 8.
const NR: usize = 16;
/// Elements of `k` per block: a tile's six rows of `A` are 6 KiB.
const KC: usize = 256;
/// Columns of `B` per block: a `KC × NC` block is 128 KiB, inside the second-level cache.
const NC: usize = 128;
/// From this many rows of `A` on, [`nn`] copies each block of a row-major `B` into
/// panels first, read by every tile of rows.
const PACK_MIN_ROWS: usize = 96;

/// Where [`nn`] finds `B`.
#[derive(Clone, Copy)]
enum BLayout {
    /// Row-major with this row stride (unit column stride).
    Rows(*const f32, isize),
    /// Already in panels of 16 columns: element `(p, j)` at `(j / 16)·k·16 + p·16 + j % 16`
    /// (the last panel's unused lanes are never read).
    Panels(*const f32),
}

/// `C ← α·A·B + β·C` with `C` of unit column stride and `B` as `layout` says.
///
/// # Safety
/// The processor must have AVX2 and FMA. `a` (with strides `rsa`, `csa`) must address an
/// in-bounds `m×k` matrix, `B` a `k×n` one as `layout` says, and `c` (row stride `rsc`,
/// unit column stride) a writable `m×n` matrix aliasing neither.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn nn(
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
    thread_local! {
        static PANEL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let pack = match layout {
        BLayout::Rows(_, rsb) => m >= PACK_MIN_ROWS || (rsb * 4) % 4096 == 0,
        BLayout::Panels(_) => false,
    };
    PANEL.with_borrow_mut(|panel| {
        if pack && panel.len() < KC * NC {
            panel.resize(KC * NC, 0.0);
        }
        let mut k0 = 0;
        while k0 < k {
            let kc = KC.min(k - k0);
            // Later blocks of `k` add to what the first one stored.
            let beta = if k0 == 0 { beta } else { 1.0 };
            let mut j0 = 0;
            while j0 < n {
                let nc = NC.min(n - j0);
                if let (true, BLayout::Rows(base, rsb)) = (pack, layout) {
                    // SAFETY: rows k0..k0+kc and columns j0..j0+nc of `B` are in bounds;
                    // the panel holds KC·NC elements.
                    unsafe {
                        let src = base.offset(k0 as isize * rsb + j0 as isize);
                        for q in 0..nc.div_ceil(NR) {
                            let width = NR.min(nc - q * NR);
                            let dst = panel.as_mut_ptr().add(q * kc * NR);
                            for p in 0..kc {
                                std::ptr::copy_nonoverlapping(
                                    src.offset(p as isize * rsb).add(q * NR),
                                    dst.add(p * NR),
                                    width,
                                );
                            }
                        }
                    }
                }
                let mut i0 = 0;
                while i0 < m {
                    let mr = MR.min(m - i0);
                    let mut jj = 0;
                    while jj < nc {
                        let nr = NR.min(nc - jj);
                        // SAFETY: every offset addresses an element inside the caller's
                        // operands (or the panel): rows i0..i0+mr ≤ m, columns
                        // j0+jj..j0+jj+nr ≤ n, k0..k0+kc ≤ k.
                        unsafe {
                            let (b, rsb) = match layout {
                                BLayout::Panels(base) => {
                                    (base.add((j0 + jj) / NR * k * NR + k0 * NR), NR as isize)
                                }
                                BLayout::Rows(..) if pack => {
                                    (panel.as_ptr().add(jj / NR * kc * NR), NR as isize)
                                }
                                BLayout::Rows(base, rsb) => {
                                    (base.offset(k0 as isize * rsb + (j0 + jj) as isize), rsb)
                                }
                            };
                            let t = Tile {
                                kc,
                                alpha,
                                a: a.offset(i0 as isize * rsa + k0 as isize * csa),
                                rsa,
                                csa,
                                b,
                                rsb,
                                beta,
                                c: c.offset(i0 as isize * rsc + (j0 + jj) as isize),
                                rsc,
                                last: tail_mask(nr),
                            };
                            match mr {
                                6 => tile_rows::<6>(nr, &t),
                                5 => tile_rows::<5>(nr, &t),
                                4 => tile_rows::<4>(nr, &t),
                                3 => tile_rows::<3>(nr, &t),
                                2 => tile_rows::<2>(nr, &t),
                                _ => tile_rows::<1>(nr, &t),
                            }
                        }
                        jj += nr;
                    }
                    i0 += mr;
                }
                j0 += nc;
            }
            k0 += kc;
        }
    });
}

/// The lanes of the last vector of a row of `width` elements (1 to 16) that lie inside it,
/// as the sign bits `_mm256_maskload_ps` reads: all eight unless `width` is not a
/// multiple of 8.
#[target_feature(enable = "avx2")]
fn tail_mask(width: usize) -> __m256i {
    let inside = match width % 8 {
        0 => 8,
        r => r as i32,
    };
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(inside),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// One `MR × 8·NV` block of `C` over `kc` steps of `k`, for [`nn`].
struct Tile {
    kc: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    /// The lanes of the last vector that lie inside `B` and `C`.
    last: __m256i,
}

/// [`tile`] with `MR` rows and `nr` (1 to 16) columns.
///
/// # Safety
/// As [`tile`]'s, with `8·NV ≥ nr` and masked lanes past `nr`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile_rows<const MR: usize>(nr: usize, t: &Tile) {
    // SAFETY: as `tile`'s; the vectors cover the tile's `nr` columns, the last one masked
    // unless it is whole.
    unsafe {
        match nr {
            16 => tile::<MR, 2, false>(t),
            9..=15 => tile::<MR, 2, true>(t),
            8 => tile::<MR, 1, false>(t),
            _ => tile::<MR, 1, true>(t),
        }
    }
}

/// One tile of [`nn`]: the `MR × 8·NV` block of `C` at `t.c` gets `α·A·B + β·C` over
/// `t.kc` steps of `k`. With `TAIL`, the last vector is loaded and stored under `t.last`.
///
/// # Safety
/// The processor must have AVX2 and FMA. `t.a` must address `MR` rows of `t.kc` elements
/// (strides `t.rsa`, `t.csa`); `t.b` `t.kc` rows (stride `t.rsb`) of `8·NV` elements of
/// which, with `TAIL`, the last vector's lanes outside `t.last` may lie outside the
/// allocation; `t.c` `MR` writable rows (stride `t.rsc`) likewise, aliasing neither.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile<const MR: usize, const NV: usize, const TAIL: bool>(t: &Tile) {
    // SAFETY: `nn` built the tile inside the operands; the last vector is masked to the
    // lanes inside `B` and `C` when it is partial.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); NV]; MR];
        let mut bp = t.b;
        let mut ap = t.a;
        for _ in 0..t.kc {
            let mut bv = [_mm256_setzero_ps(); NV];
            for (v, slot) in bv.iter_mut().enumerate() {
                *slot = if TAIL && v + 1 == NV {
                    _mm256_maskload_ps(bp.add(8 * v), t.last)
                } else {
                    _mm256_loadu_ps(bp.add(8 * v))
                };
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm256_set1_ps(*ap.offset(r as isize * t.rsa));
                for (v, x) in row.iter_mut().enumerate() {
                    *x = _mm256_fmadd_ps(av, bv[v], *x);
                }
            }
            bp = bp.wrapping_offset(t.rsb);
            ap = ap.wrapping_offset(t.csa);
        }
        let alpha = _mm256_set1_ps(t.alpha);
        let beta = _mm256_set1_ps(t.beta);
        for (r, row) in acc.iter().enumerate() {
            let cp = t.c.offset(r as isize * t.rsc);
            for (v, x) in row.iter().enumerate() {
                let masked = TAIL && v + 1 == NV;
                let at = cp.add(8 * v);
                let mut out = _mm256_mul_ps(alpha, *x);
                if t.beta != 0.0 {
                    let old = if masked {
                        _mm256_maskload_ps(at, t.last)
                    } else {
                        _mm256_loadu_ps(at)
                    };
                    out = _mm256_fmadd_ps(beta, old, out);
                }
                if masked {
                    _mm256_maskstore_ps(at, t.last, out);
                } else {
                    _mm256_storeu_ps(at, out);
                }
            }
        }
    }
}

/// `C ← α·A·B + β·C` with `C` of unit column stride and `B` of unit row stride (column
/// `j` of `B` contiguous at `b + j·csb`): `B` is transposed into panels, eight by eight,
/// and the product is an [`nn`] product.
///
/// # Safety
/// The processor must have AVX2 and FMA. `a` must address an in-bounds `m×k` matrix, `b`
/// an in-bounds `k×n` one whose column `j` is the `k` contiguous elements at `b + j·csb`,
/// and `c` (row stride `rsc`, unit column stride) a writable `m×n` matrix aliasing neither.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn nt(
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
        static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|packed| {
        let len = n.next_multiple_of(NR) * k;
        if packed.len() < len {
            packed.resize(len, 0.0);
        }
        // SAFETY: `b` covers `k` elements along each of its `n` columns; `packed` holds
        // the panels of all `n` columns; the caller's contract covers `a` and `c`.
        unsafe {
            transpose_into_panels(b, csb, n, k, packed.as_mut_ptr());
            let layout = BLayout::Panels(packed.as_ptr());
            nn(m, k, n, alpha, a, rsa, csa, layout, beta, c, rsc);
        }
    });
}

/// Writes the `rows × cols` matrix at `src` (row `r` contiguous at `src + r·stride`)
/// transposed, in [`BLayout::Panels`] of 16 of its rows: element `(r, c)` goes to
/// `dst[(r / 16)·cols·16 + c·16 + r % 16]`. Whole 8×8 blocks are transposed in
/// registers, the edges element by element.
///
/// # Safety
/// The processor must have AVX2. `src` must address `rows` rows of `cols` contiguous
/// elements (row stride `stride`), and `dst` at least `rows.next_multiple_of(16) · cols`
/// writable elements that do not overlap `src`.
#[target_feature(enable = "avx2")]
unsafe fn transpose_into_panels(
    src: *const f32,
    stride: isize,
    rows: usize,
    cols: usize,
    dst: *mut f32,
) {
    let (full_rows, full_cols) = (rows / 8 * 8, cols / 8 * 8);
    let to = |r: usize, c: usize| (r / NR) * cols * NR + c * NR + r % NR;
    // SAFETY: every element read is at row < rows, column < cols of `src`; every element
    // written is at `to(r, c)` for such an element, inside the caller's panels.
    unsafe {
        let at = |r: usize, c: usize| src.offset(r as isize * stride).add(c);
        for r0 in (0..full_rows).step_by(8) {
            for c0 in (0..full_cols).step_by(8) {
                let v: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(at(r0 + i, c0)));
                // 8 consecutive rows from a multiple of 8 never straddle a panel of 16.
                for (j, x) in transpose8(v).into_iter().enumerate() {
                    _mm256_storeu_ps(dst.add(to(r0, c0 + j)), x);
                }
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

/// The transpose of an 8×8 block held as eight row vectors: 32-bit, then 64-bit
/// interleaves within 128-bit lanes, then the 128-bit halves exchanged.
#[target_feature(enable = "avx2")]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let mut t = [_mm256_setzero_ps(); 8];
    for i in 0..4 {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // Lane l (within each half) of u[4g + q] holds column 4·half + q of rows 4g..4g+4.
    let mut u = [_mm256_setzero_ps(); 8];
    for g in 0..2 {
        let (lo, hi, lo2, hi2) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
        u[4 * g] = _mm256_shuffle_ps::<0x44>(lo, lo2);
        u[4 * g + 1] = _mm256_shuffle_ps::<0xEE>(lo, lo2);
        u[4 * g + 2] = _mm256_shuffle_ps::<0x44>(hi, hi2);
        u[4 * g + 3] = _mm256_shuffle_ps::<0xEE>(hi, hi2);
    }
    let mut out = [_mm256_setzero_ps(); 8];
    for q in 0..4 {
        out[q] = _mm256_permute2f128_ps::<0x20>(u[q], u[4 + q]);
        out[q + 4] = _mm256_permute2f128_ps::<0x31>(u[q], u[4 + q]);
    }
    out
}

#[cfg(test)]
mod tests {
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

    /// [`super::sgemm`] called directly (whatever path the process runs) against an f64
    /// triple loop, within γₖ·Σ|aᵢₚ·bₚⱼ| plus three roundings: every tile height 1–6 and
    /// width 1–16 (masked and whole vectors), blocks of `k` and of columns cut at and
    /// around [`super::KC`] and [`super::NC`], panels copied (from [`super::PACK_MIN_ROWS`]
    /// rows) or not, `B` row-major or transposed (the [`super::nt`] path), `C` row- or
    /// column-major, and β = 0 over NaN or β = 1 accumulating.
    #[test]
    #[cfg_attr(miri, ignore = "Miri does not interpret AVX2")]
    fn products_equal_the_triple_loop_at_every_edge() {
        if !crate::Kernel::Avx2.available() {
            return;
        }
        let mut shapes = Vec::new();
        for m in 1..=7 {
            for n in [1, 7, 8, 9, 15, 16, 17, 33] {
                shapes.push((m, 5, n));
            }
        }
        for k in [super::KC - 1, super::KC, super::KC + 1, 2 * super::KC + 3] {
            shapes.push((13, k, 2 * super::NC + 19));
        }
        for m in [super::PACK_MIN_ROWS - 1, super::PACK_MIN_ROWS, 200] {
            shapes.push((m, 300, super::NC + 9));
        }
        for (i, &(m, k, n)) in shapes.iter().enumerate() {
            for (tb, tc, accumulate) in [
                (false, false, false),
                (true, false, true),
                (false, true, true),
                (true, true, false),
            ] {
                let seed = i as u64 * 8 + u64::from(tb) * 4 + u64::from(tc) * 2;
                let a = filled(m * (k + 1), seed);
                let (rsa, csa) = ((k + 1) as isize, 1);
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
                // SAFETY: the processor has AVX2 and FMA (checked); every operand covers
                // its dimensions with its strides.
                unsafe {
                    super::sgemm(
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
                for i in 0..m {
                    for j in 0..n {
                        let (mut want, mut mag) = (0.0_f64, 0.0_f64);
                        for p in 0..k {
                            let x = f64::from(a[i * (k + 1) + p])
                                * f64::from(b[(p as isize * rsb + j as isize * csb) as usize]);
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
                            "{m}×{k}×{n} tb={tb} tc={tc} [{i},{j}]: {got} vs {expect}"
                        );
                    }
                }
                // Nothing outside C was written: the padding keeps its old contents.
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

    /// The panel copy of a transposed matrix puts every element where [`super::nn`]
    /// reads it, for whole 8×8 blocks and ragged edges alike.
    #[test]
    #[cfg_attr(miri, ignore = "Miri does not interpret AVX2")]
    fn transpose_into_panels_places_every_element() {
        if !crate::Kernel::Avx2.available() {
            return;
        }
        for (rows, cols) in [
            (8_usize, 8_usize),
            (16, 8),
            (19, 13),
            (40, 25),
            (3, 5),
            (33, 1),
        ] {
            let stride = cols + 3;
            let src: Vec<f32> = (0..rows * stride).map(|i| i as f32).collect();
            let mut dst = vec![f32::NAN; rows.next_multiple_of(16) * cols];
            // SAFETY: the processor has AVX2 (checked); the sizes match the contract.
            unsafe {
                super::transpose_into_panels(
                    src.as_ptr(),
                    stride as isize,
                    rows,
                    cols,
                    dst.as_mut_ptr(),
                )
            };
            for r in 0..rows {
                for c in 0..cols {
                    let at = (r / 16) * cols * 16 + c * 16 + r % 16;
                    assert_eq!(dst[at], src[r * stride + c], "{rows}×{cols} [{r},{c}]");
                }
            }
        }
    }
}
