//! f32 matrix kernels for x86-64 processors with AVX-512, used instead of
//! `matrixmultiply`'s AVX2 kernel where they apply.
//!
//! The micro-kernel ([`Avx512`]) computes a 6×64 tile of `C`: each step of `k` loads 64
//! consecutive elements of a row of `B` into four vectors and broadcasts six elements of
//! `A` into 24 accumulators of 16 lanes. The shared blocking driver ([`crate::blocked`])
//! cuts the product into blocks for the caches and copies a block of `A` or of `B` into
//! micro-panels only where the copy pays (on the seed model, packing both operands for
//! every product, as matrixmultiply does, cost a fifth of a training step). A `B` with
//! unit *row* stride — a transposed row-major matrix, as in a linear layer's forward
//! `X·Wᵀ` — is transposed in 16×16 register blocks straight into the panel layout the
//! micro-kernel reads ([`crate::blocked`]). A column-major `C` is handled as the transposed product.
//!
//! Tails in `m` and `n` are handled by smaller instantiations and masked loads and
//! stores, never by reading or writing past an operand. Other layouts (an output with no
//! unit stride, or a `B` with neither) go to `matrixmultiply`. [`crate::kernel`] decides
//! whether these kernels run (the processor has AVX-512F and `GRADWELL_KERNEL` does not
//! ask for another path); [`crate::avx2`] is the same design eight lanes wide.

#![allow(unsafe_code)]

use std::arch::x86_64::*;

use crate::blocked::{BLayout, Tile};

/// `C ← α·A·B + β·C` for f32: the AVX-512 kernels when the layout suits them,
/// `matrixmultiply` otherwise ([`crate::blocked::sgemm`] compiled with AVX-512F).
///
/// # Safety
/// As [`crate::Float::gemm_raw`], and the processor must have AVX-512F.
#[target_feature(enable = "avx512f")]
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
    // SAFETY: the caller's contract, processor included.
    unsafe {
        crate::blocked::sgemm::<Avx512>(
            m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc,
        );
    }
}

/// `f`, compiled with AVX-512F enabled: simple loops inlined into `f` are vectorized
/// sixteen lanes wide instead of the baseline's four.
///
/// # Safety
/// The processor must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn in_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// gradwell's AVX-512 micro-kernel: `C` in tiles of 6 rows × 64 columns (24 accumulators
/// of 16 lanes, four vectors of `B` and one broadcast of `A`: 29 of the 32 registers).
///
/// The block sizes, for 48 KiB of first-level and 2 MiB of second-level data cache per
/// core (Intel Xeon cores since Ice Lake; larger caches are no harm):
/// - `KC = 256`: a `6×KC` micro-panel of `A` (6 KiB) stays in the first-level cache while
///   the `KC×64` micro-panels of `B` (64 KiB each) stream past it; the tile of `C` is
///   read and written once per 256 steps of `k`.
/// - `NC = 1024`: the `KC×NC` block of `B` (1 MiB) stays in the second-level cache while
///   every micro-panel of `A` meets it.
/// - `MC = 480`: the copied `MC×KC` block of `A` (480 KiB) fits beside it.
pub(crate) struct Avx512;

impl crate::blocked::MicroKernel for Avx512 {
    const MR: usize = 6;
    const NR: usize = 64;
    const KC: usize = 256;
    const MC: usize = 480;
    const NC: usize = 1024;
    /// From 192 rows on, a block of `B` reused by 32 tiles of rows is copied: 1024³ went
    /// from ≈ 190 to 230 GFLOP/s on one core of an AMD Zen 5.
    const PACK_B_MIN_ROWS: usize = 192;
    /// The copy of `A` (≈ one cycle per element) pays once each element meets eight
    /// micro-panels of `B`: 1024³ went from ≈ 110 to ≈ 125 GFLOP/s on one core of an Intel
    /// Xeon; copying from two micro-panels on made 64×784×128 ≈ 12 % slower.
    const PACK_A_MIN_COLS: usize = 8 * 64;
    const TB: usize = 16;

    #[inline(always)]
    unsafe fn transpose_block(src: *const f32, stride: isize, dst: *mut f32) {
        // SAFETY: the trait's contract; the processor has AVX-512F.
        unsafe {
            let v: [__m512; 16] =
                std::array::from_fn(|i| _mm512_loadu_ps(src.offset(i as isize * stride)));
            for (j, x) in transpose16(v).into_iter().enumerate() {
                _mm512_storeu_ps(dst.add(j * NN_NR), x);
            }
        }
    }

    #[inline(always)]
    unsafe fn with_features<R>(f: impl FnOnce() -> R) -> R {
        // SAFETY: the trait's contract.
        unsafe { in_avx512(f) }
    }

    #[inline(always)]
    unsafe fn tile(mr: usize, nr: usize, t: &Tile) {
        let last = tail_mask(nr);
        let nv = nr.div_ceil(16);
        // SAFETY: the trait's contract; `nv` vectors cover the `nr` columns, the last one
        // masked to them.
        unsafe {
            match mr {
                6 => nn_tile_rows::<6>(nv, t, last),
                5 => nn_tile_rows::<5>(nv, t, last),
                4 => nn_tile_rows::<4>(nv, t, last),
                3 => nn_tile_rows::<3>(nv, t, last),
                2 => nn_tile_rows::<2>(nv, t, last),
                _ => nn_tile_rows::<1>(nv, t, last),
            }
        }
    }
}

/// Columns of `B` per micro-kernel: four vectors of 16.
const NN_NR: usize = <Avx512 as crate::blocked::MicroKernel>::NR;

/// The lanes of the last vector of a row of `width` elements (1 to 64): all sixteen unless
/// `width` is not a multiple of 16.
fn tail_mask(width: usize) -> u16 {
    match width % 16 {
        0 => u16::MAX,
        r => (1u16 << r) - 1,
    }
}

/// [`nn_tile`] with `MR` rows and `nv` vectors (1 to 4) of columns.
///
/// # Safety
/// As [`nn_tile`]'s, with `NV = nv`.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn nn_tile_rows<const MR: usize>(nv: usize, t: &Tile, last: u16) {
    // SAFETY: as `nn_tile`'s; `nv` vectors cover the tile's columns.
    unsafe {
        match nv {
            4 => nn_tile::<MR, 4>(t, last),
            3 => nn_tile::<MR, 3>(t, last),
            2 => nn_tile::<MR, 2>(t, last),
            _ => nn_tile::<MR, 1>(t, last),
        }
    }
}

/// One tile of [`crate::blocked::nn`]: the `MR × 16·NV` block of `C` at `t.c` gets `α·A·B + β·C` over
/// `t.kc` steps of `k`.
///
/// # Safety
/// The processor must have AVX-512F. `t.a` must address `MR` rows of `t.kc` elements
/// (strides `t.rsa`, `t.csa`); `t.b` `t.kc` rows (stride `t.rsb`) of `16·NV` elements of
/// which the last vector's lanes outside `last` may lie outside the allocation (they are
/// masked); `t.c` `MR` writable rows (stride `t.rsc`) likewise, aliasing neither.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn nn_tile<const MR: usize, const NV: usize>(t: &Tile, last: u16) {
    // SAFETY: `nn` built the tile inside the operands; the last vector is masked to the
    // lanes inside `B` and `C`.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); NV]; MR];
        let mut bp = t.b;
        let mut ap = t.a;
        for _ in 0..t.kc {
            let mut bv = [_mm512_setzero_ps(); NV];
            for (v, slot) in bv.iter_mut().enumerate() {
                *slot = if v + 1 == NV {
                    _mm512_maskz_loadu_ps(last, bp.add(16 * v))
                } else {
                    _mm512_loadu_ps(bp.add(16 * v))
                };
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*ap.offset(r as isize * t.rsa));
                for (v, x) in row.iter_mut().enumerate() {
                    *x = _mm512_fmadd_ps(av, bv[v], *x);
                }
            }
            bp = bp.offset(t.rsb);
            ap = ap.offset(t.csa);
        }
        let alpha = _mm512_set1_ps(t.alpha);
        let beta = _mm512_set1_ps(t.beta);
        for (r, row) in acc.iter().enumerate() {
            let cp = t.c.offset(r as isize * t.rsc);
            for (v, x) in row.iter().enumerate() {
                let mask = if v + 1 == NV { last } else { u16::MAX };
                let mut out = _mm512_mul_ps(alpha, *x);
                if t.beta != 0.0 {
                    out = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(mask, cp.add(16 * v)), out);
                }
                _mm512_mask_storeu_ps(cp.add(16 * v), mask, out);
            }
        }
    }
}

/// The transpose of a 16×16 block held as sixteen row vectors: 32-bit, then 64-bit
/// interleaves within 128-bit lanes, then two rounds of 128-bit lane shuffles.
#[target_feature(enable = "avx512f")]
fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    let mut t = [_mm512_setzero_ps(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // Four rows at a time; lane l of u[4g + q] holds column 4l + q of rows 4g..4g+4.
    let mut u = [_mm512_setzero_ps(); 16];
    for g in 0..4 {
        let (lo, hi) = (t[4 * g], t[4 * g + 1]);
        let (lo2, hi2) = (t[4 * g + 2], t[4 * g + 3]);
        u[4 * g] = _mm512_shuffle_ps::<0x44>(lo, lo2);
        u[4 * g + 1] = _mm512_shuffle_ps::<0xEE>(lo, lo2);
        u[4 * g + 2] = _mm512_shuffle_ps::<0x44>(hi, hi2);
        u[4 * g + 3] = _mm512_shuffle_ps::<0xEE>(hi, hi2);
    }
    // Groups of rows (0,1) and (2,3) merged: even lanes then odd lanes.
    let mut w = [_mm512_setzero_ps(); 16];
    for q in 0..4 {
        w[q] = _mm512_shuffle_f32x4::<0x88>(u[q], u[4 + q]);
        w[4 + q] = _mm512_shuffle_f32x4::<0xDD>(u[q], u[4 + q]);
        w[8 + q] = _mm512_shuffle_f32x4::<0x88>(u[8 + q], u[12 + q]);
        w[12 + q] = _mm512_shuffle_f32x4::<0xDD>(u[8 + q], u[12 + q]);
    }
    let mut out = [_mm512_setzero_ps(); 16];
    for j in 0..8 {
        out[j] = _mm512_shuffle_f32x4::<0x88>(w[j], w[j + 8]);
        out[j + 8] = _mm512_shuffle_f32x4::<0xDD>(w[j], w[j + 8]);
    }
    out
}

/// The width of [`pack_panels`]' panels: a split of a packed product across threads starts
/// its columns at a multiple of it.
pub(crate) const PANEL_WIDTH: usize = NN_NR;

/// The number of elements [`pack_panels`] writes for a `k×n` matrix.
pub(crate) fn panels_len(k: usize, n: usize) -> usize {
    n.next_multiple_of(NN_NR) * k
}

/// Copies the `k×n` matrix `b` (strides `rsb`, `csb`) into the panel layout
/// [`gemm_panels`] reads: element `(p, j)` to `dst[(j / 64)·k·64 + p·64 + j % 64]`. A `B`
/// with unit row stride (a transposed row-major matrix) is transposed in 16×16 register
/// blocks, a row-major one copied row by row.
///
/// # Safety
/// The processor must have AVX-512F (checked by [`crate::avx512_enabled`]). `b` must address an
/// in-bounds `k×n` matrix with these strides, and `dst` [`panels_len`]`(k, n)` writable
/// elements that do not overlap it.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn pack_panels(
    k: usize,
    n: usize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    dst: *mut f32,
) {
    // SAFETY: the caller's contract; every element read is at p < k, j < n of `b`, every
    // element written inside the panels of `dst`.
    unsafe {
        if rsb == 1 {
            // Column j of B is the k contiguous elements at b + j·csb.
            crate::blocked::transpose_into_panels::<Avx512>(b, csb, n, k, dst);
            return;
        }
        for j0 in (0..n).step_by(NN_NR) {
            let nr = NN_NR.min(n - j0);
            for p in 0..k {
                let src = b.offset(p as isize * rsb + j0 as isize * csb);
                let to = dst.add(j0 * k + p * NN_NR);
                if csb == 1 {
                    std::ptr::copy_nonoverlapping(src, to, nr);
                } else {
                    for j in 0..nr {
                        *to.add(j) = *src.offset(j as isize * csb);
                    }
                }
            }
        }
    }
}

/// `C ← α·A·B + β·C` with `B` packed by [`pack_panels`] and `C` of unit column stride:
/// the [`crate::blocked::nn`] driver reading the panels as they are.
///
/// # Safety
/// The processor must have AVX-512F. `a` (strides `rsa`, `csa`) must address an in-bounds
/// `m×k` matrix, `panels` the panels of a `k×n` matrix as [`pack_panels`] wrote them
/// (possibly starting at the panel of a column that is a multiple of [`PANEL_WIDTH`]), and
/// `c` (row stride `rsc`, unit column stride) a writable `m×n` matrix aliasing neither.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_panels(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    panels: *const f32,
    beta: f32,
    c: *mut f32,
    rsc: isize,
) {
    // SAFETY: the caller's contract is `nn`'s with `BLayout::Panels`.
    unsafe {
        crate::blocked::nn::<Avx512>(
            m,
            k,
            n,
            alpha,
            a,
            rsa,
            csa,
            BLayout::Panels(panels),
            beta,
            c,
            rsc,
        )
    };
}
