//! f32 matrix kernels for x86-64 processors with AVX2 and FMA but no AVX-512 (most Intel
//! desktop and laptop chips, AMD Zen 2 and 3), used instead of `matrixmultiply` where
//! they apply. The design is that of [`crate::avx512`], eight lanes wide:
//!
//! The micro-kernel ([`Avx2`]) computes a 6×16 tile of `C`: each step of `k` loads 16
//! consecutive elements of a row of `B` into two vectors and broadcasts six elements of
//! `A` into 12 accumulators of 8 lanes (12 + 2 + 1 of the 16 vector registers). The shared
//! blocking driver ([`crate::blocked`]) cuts the product into blocks for the caches and
//! copies a block of `A` or of `B` into micro-panels only where the copy pays. A `B` with
//! unit *row* stride — a linear layer's forward `X·Wᵀ` — is transposed in 8×8 register
//! blocks straight into the panel layout the micro-kernel reads ([`crate::blocked`]). A column-major
//! `C` is handled as the transposed product.
//!
//! Tails in `m` and `n` are handled by smaller instantiations and masked loads and
//! stores, never by reading or writing past an operand. Other layouts go to
//! `matrixmultiply`. No allocation happens inside a product once a thread's buffers have
//! grown to the largest product it ran.

#![allow(unsafe_code)]

use std::arch::x86_64::*;

use crate::blocked::Tile;

/// `C ← α·A·B + β·C` for f32 on the AVX2 kernels when the layout suits them,
/// `matrixmultiply` otherwise ([`crate::blocked::sgemm`] compiled with AVX2 and FMA).
///
/// # Safety
/// As [`crate::Float::gemm_raw`], and the processor must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
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
        crate::blocked::sgemm::<Avx2>(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
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

/// gradwell's AVX2+FMA micro-kernel: `C` in tiles of 6 rows × 16 columns (12 accumulators
/// of 8 lanes, two vectors of `B` and one broadcast of `A`: 15 of the 16 registers).
///
/// The block sizes, for 48 KiB of first-level and 2 MiB of second-level data cache per
/// core (the Intel Xeon the kernels were measured on; 32 KiB and 512 KiB to 1.25 MiB on
/// most AVX2 desktop processors, where the block of `B` is read from the third level):
/// - `KC = 256`: a `6×KC` micro-panel of `A` (6 KiB) and a `KC×16` micro-panel of `B`
///   (16 KiB) stay in a 32 KiB first-level cache; the tile of `C` is read and written
///   once per 256 steps of `k`.
/// - `NC = 1024`: the `KC×NC` block of `B` (1 MiB) stays in the second-level cache while
///   every micro-panel of `A` meets it.
/// - `MC = 480`: the copied `MC×KC` block of `A` (480 KiB) fits beside it.
pub(crate) struct Avx2;

impl crate::blocked::MicroKernel for Avx2 {
    const MR: usize = 6;
    const NR: usize = 16;
    const KC: usize = 256;
    const MC: usize = 480;
    const NC: usize = 1024;
    /// From 96 rows on, a block of `B` reused by 16 tiles of rows is copied.
    const PACK_B_MIN_ROWS: usize = 96;
    /// The copy of `A` (≈ one cycle per element) pays once each element meets sixteen
    /// micro-panels of `B` (≈ 16 cycles of multiply-adds per element of `A`); copying from
    /// two on made 64×784×128 ≈ 12 % slower.
    const PACK_A_MIN_COLS: usize = 16 * 16;
    const TB: usize = 8;

    #[inline(always)]
    unsafe fn transpose_block(src: *const f32, stride: isize, dst: *mut f32) {
        // SAFETY: the trait's contract; the processor has AVX2.
        unsafe {
            let v: [__m256; 8] =
                std::array::from_fn(|i| _mm256_loadu_ps(src.offset(i as isize * stride)));
            for (j, x) in transpose8(v).into_iter().enumerate() {
                _mm256_storeu_ps(dst.add(j * NR), x);
            }
        }
    }

    #[inline(always)]
    unsafe fn with_features<R>(f: impl FnOnce() -> R) -> R {
        // SAFETY: the trait's contract.
        unsafe { in_avx2(f) }
    }

    #[inline(always)]
    unsafe fn tile(mr: usize, nr: usize, t: &Tile) {
        // SAFETY: the trait's contract; the processor has AVX2 and FMA.
        unsafe {
            let last = tail_mask(nr);
            match mr {
                6 => tile_rows::<6>(nr, t, last),
                5 => tile_rows::<5>(nr, t, last),
                4 => tile_rows::<4>(nr, t, last),
                3 => tile_rows::<3>(nr, t, last),
                2 => tile_rows::<2>(nr, t, last),
                _ => tile_rows::<1>(nr, t, last),
            }
        }
    }
}

/// Columns of `B` per micro-kernel: two vectors of 8.
const NR: usize = <Avx2 as crate::blocked::MicroKernel>::NR;

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

/// [`tile`] with `MR` rows and `nr` (1 to 16) columns.
///
/// # Safety
/// As [`tile`]'s, with `8·NV ≥ nr` and masked lanes past `nr`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile_rows<const MR: usize>(nr: usize, t: &Tile, last: __m256i) {
    // SAFETY: as `tile`'s; the vectors cover the tile's `nr` columns, the last one masked
    // unless it is whole.
    unsafe {
        match nr {
            16 => tile::<MR, 2, false>(t, last),
            9..=15 => tile::<MR, 2, true>(t, last),
            8 => tile::<MR, 1, false>(t, last),
            _ => tile::<MR, 1, true>(t, last),
        }
    }
}

/// One tile of [`crate::blocked::nn`]: the `MR × 8·NV` block of `C` at `t.c` gets `α·A·B + β·C` over
/// `t.kc` steps of `k`. With `TAIL`, the last vector is loaded and stored under `last`.
///
/// # Safety
/// The processor must have AVX2 and FMA. `t.a` must address `MR` rows of `t.kc` elements
/// (strides `t.rsa`, `t.csa`); `t.b` `t.kc` rows (stride `t.rsb`) of `8·NV` elements of
/// which, with `TAIL`, the last vector's lanes outside `last` may lie outside the
/// allocation; `t.c` `MR` writable rows (stride `t.rsc`) likewise, aliasing neither.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile<const MR: usize, const NV: usize, const TAIL: bool>(t: &Tile, last: __m256i) {
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
                    _mm256_maskload_ps(bp.add(8 * v), last)
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
                        _mm256_maskload_ps(at, last)
                    } else {
                        _mm256_loadu_ps(at)
                    };
                    out = _mm256_fmadd_ps(beta, old, out);
                }
                if masked {
                    _mm256_maskstore_ps(at, last, out);
                } else {
                    _mm256_storeu_ps(at, out);
                }
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
    /// The panel copy of a transposed matrix puts every element where [`crate::blocked::nn`]
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
                crate::blocked::transpose_into_panels::<super::Avx2>(
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
