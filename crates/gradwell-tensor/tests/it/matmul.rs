//! `gemm` against a naive triple loop: random shapes including 0, 1, primes and 257+, all
//! four transpose combinations, non-contiguous (sliced, stepped) views, with and without
//! accumulation. f64, relative error < 1e-12 (relative to Σ|aᵢₖ·bₖⱼ|, the scale of the
//! rounding error of any summation order).

use gradwell_tensor::{ShapeError, batched_matmul, gemm, matmul};
use ndarray::{Array2, Array3, ArrayView2, s};
use proptest::prelude::*;

fn naive(a: &ArrayView2<'_, f64>, b: &ArrayView2<'_, f64>) -> (Array2<f64>, Array2<f64>) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let mut c = Array2::zeros((m, n));
    let mut mag = Array2::zeros((m, n));
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                c[[i, j]] += a[[i, p]] * b[[p, j]];
                mag[[i, j]] += (a[[i, p]] * b[[p, j]]).abs();
            }
        }
    }
    (c, mag)
}

fn dim() -> impl Strategy<Value = usize> {
    // Miri runs the same properties on small products (see `CASES` and `MAX_MACS`).
    if cfg!(miri) {
        return prop_oneof![Just(0usize), Just(1), 2usize..24].boxed();
    }
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(2),
        Just(7),
        Just(13),
        1usize..40,
        257usize..270
    ]
    .boxed()
}

/// Property cases per test: fewer under Miri, which interprets every instruction.
const CASES: u32 = if cfg!(miri) { 4 } else { 48 };

/// The largest product (multiply-adds) a property case draws, to keep the naive loop
/// quick; small under Miri.
const MAX_MACS: usize = if cfg!(miri) { 4_000 } else { 1_500_000 };

pub(crate) fn filled(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array2::from_shape_fn((rows, cols), |_| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    })
}

/// A view of `rows×cols` elements that is transposed and/or stepped inside a larger array.
fn operand<F>(
    storage: &Array2<F>,
    rows: usize,
    cols: usize,
    transposed: bool,
    stepped: bool,
) -> ArrayView2<'_, F> {
    let st = if stepped { 2 } else { 1 };
    if transposed {
        storage
            .slice(s![..cols * st;st, ..rows * st;st])
            .reversed_axes()
    } else {
        storage.slice(s![..rows * st;st, ..cols * st;st])
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn gemm_equals_triple_loop(
        (m, k, n) in (dim(), dim(), dim()).prop_filter("keep the naive loop quick", |(m, k, n)| m * k * n <= MAX_MACS),
        ta in any::<bool>(), tb in any::<bool>(), stepped in any::<bool>(), accumulate in any::<bool>(), seed in any::<u64>(),
    ) {
        let (ra, ca) = if ta { (k, m) } else { (m, k) };
        let (rb, cb) = if tb { (n, k) } else { (k, n) };
        let st = if stepped { 2 } else { 1 };
        let sa = filled(ra * st + 1, ca * st + 1, seed);
        let sb = filled(rb * st + 1, cb * st + 1, seed ^ 0xABCDEF);
        let a = operand(&sa, m, k, ta, stepped);
        let b = operand(&sb, k, n, tb, stepped);
        prop_assert_eq!(a.dim(), (m, k));
        prop_assert_eq!(b.dim(), (k, n));
        let c0 = filled(m, n, seed ^ 0x1234);
        let mut c = c0.clone();
        let (alpha, beta) = if accumulate { (0.75, 1.0) } else { (1.0, 0.0) };
        gemm(alpha, &a, &b, beta, &mut c.view_mut()).unwrap();
        let (want, mag) = naive(&a, &b);
        for ((i, j), &got) in c.indexed_iter() {
            let expect = alpha * want[[i, j]] + beta * c0[[i, j]];
            let scale = alpha * mag[[i, j]] + beta * c0[[i, j]].abs();
            prop_assert!((got - expect).abs() <= 1e-12 * scale.max(f64::MIN_POSITIVE),
                "[{i},{j}] got {got}, want {expect}");
        }
    }

    /// The f32 products (which have their own kernels on processors with AVX-512) in every
    /// operand layout and with row- or column-major output, against the triple loop in f64
    /// on the same f32 values. Any summation order is within γₖ = k·u/(1 − k·u) of
    /// Σ|aᵢₖ·bₖⱼ|, u = 2⁻²⁴, plus one rounding each for α·s, β·c and their sum.
    #[test]
    fn f32_gemm_equals_triple_loop(
        (m, k, n) in (dim(), dim(), dim()).prop_filter("keep the naive loop quick", |(m, k, n)| m * k * n <= MAX_MACS),
        ta in any::<bool>(), tb in any::<bool>(), tc in any::<bool>(), stepped in any::<bool>(), accumulate in any::<bool>(), seed in any::<u64>(),
    ) {
        let (ra, ca) = if ta { (k, m) } else { (m, k) };
        let (rb, cb) = if tb { (n, k) } else { (k, n) };
        let st = if stepped { 2 } else { 1 };
        let sa = filled(ra * st + 1, ca * st + 1, seed).mapv(|v| v as f32);
        let sb = filled(rb * st + 1, cb * st + 1, seed ^ 0xABCDEF).mapv(|v| v as f32);
        let a = operand(&sa, m, k, ta, stepped);
        let b = operand(&sb, k, n, tb, stepped);
        let c0 = filled(m, n, seed ^ 0x1234).mapv(|v| v as f32);
        // A column-major output is the transposed view of a row-major n×m array.
        let mut storage = if tc { c0.t().to_owned() } else { c0.clone() };
        let mut c = if tc { storage.view_mut().reversed_axes() } else { storage.view_mut() };
        let (alpha, beta) = if accumulate { (0.75_f32, 1.0_f32) } else { (1.0, 0.0) };
        gemm(alpha, &a, &b, beta, &mut c).unwrap();
        let (want, mag) = naive(&a.mapv(f64::from).view(), &b.mapv(f64::from).view());
        let u = f64::from(f32::EPSILON) / 2.0;
        let gamma = k as f64 * u / (1.0 - k as f64 * u);
        for ((i, j), &got) in c.indexed_iter() {
            let (alpha, beta, old) = (f64::from(alpha), f64::from(beta), f64::from(c0[[i, j]]));
            let expect = alpha * want[[i, j]] + beta * old;
            let scale = alpha * mag[[i, j]] + beta * old.abs();
            let tol = (gamma + 3.0 * u) * scale + f64::from(f32::MIN_POSITIVE);
            prop_assert!((f64::from(got) - expect).abs() <= tol,
                "[{i},{j}] got {got}, want {expect}");
        }
    }
}

#[test]
fn beta_zero_ignores_nan_in_the_output() {
    let a = filled(3, 4, 1);
    let b = filled(4, 5, 2);
    let mut c = Array2::from_elem((3, 5), f64::NAN);
    gemm(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut()).unwrap();
    assert!(c.iter().all(|v| v.is_finite()));
}

#[test]
fn f32_beta_zero_ignores_nan_in_the_output_in_every_layout() {
    let a = filled(20, 33, 1).mapv(|v| v as f32);
    let b = filled(33, 70, 2).mapv(|v| v as f32);
    let bt = b.t().to_owned();
    for b in [b.view(), bt.t()] {
        let mut c = Array2::from_elem((20, 70), f32::NAN);
        gemm(1.0, &a.view(), &b, 0.0, &mut c.view_mut()).unwrap();
        assert!(c.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn inner_dimension_mismatch_is_an_error_naming_both_shapes() {
    let a = Array2::<f64>::zeros((64, 784));
    let b = Array2::<f64>::zeros((128, 10));
    let err = matmul(&a.view(), &b.view()).unwrap_err();
    assert!(matches!(err, ShapeError::Mismatch { .. }));
    let text = err.to_string();
    assert!(
        text.contains("[64, 784]") && text.contains("[128, 10]"),
        "{text}"
    );
}

#[test]
fn wrong_output_shape_is_an_error() {
    let a = Array2::<f32>::zeros((2, 3));
    let b = Array2::<f32>::zeros((3, 4));
    let mut c = Array2::<f32>::zeros((4, 2));
    assert!(gemm(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut()).is_err());
}

#[test]
fn batched_products_equal_per_matrix_products_and_broadcast_a_batch_of_one() {
    let a = Array3::from_shape_fn((3, 4, 5), |(i, j, k)| (i * 20 + j * 5 + k) as f64 * 0.1);
    let b = Array3::from_shape_fn((1, 5, 2), |(_, j, k)| (j as f64) - (k as f64));
    let mut c = Array3::zeros((3, 4, 2));
    batched_matmul(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut()).unwrap();
    for i in 0..3 {
        let want = matmul(&a.slice(s![i, .., ..]), &b.slice(s![0, .., ..])).unwrap();
        assert_eq!(c.slice(s![i, .., ..]), want);
    }
    let bad = Array3::<f64>::zeros((2, 5, 2));
    assert!(batched_matmul(1.0, &a.view(), &bad.view(), 0.0, &mut c.view_mut()).is_err());
}

/// Products above the threading threshold, split by rows (tall output) and by columns
/// (wide output), in every transpose and with accumulation, equal the triple loop.
#[test]
#[cfg_attr(
    miri,
    ignore = "too large for Miri, which splits the property tests' small products"
)]
fn threaded_products_equal_the_triple_loop() {
    gradwell_tensor::set_num_threads(2);
    for (m, k, n) in [(400, 512, 200), (150, 512, 500)] {
        assert!(m * k * n >= gradwell_tensor::PARALLEL_MIN_MACS);
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let sa = filled(if ta { k } else { m }, if ta { m } else { k }, 11);
            let sb = filled(if tb { n } else { k }, if tb { k } else { n }, 12);
            let a = if ta { sa.t() } else { sa.view() };
            let b = if tb { sb.t() } else { sb.view() };
            let c0 = filled(m, n, 13);
            let mut c = c0.clone();
            gemm(0.5, &a, &b, 1.0, &mut c.view_mut()).unwrap();
            let (want, mag) = naive(&a, &b);
            for ((i, j), &got) in c.indexed_iter() {
                let expect = 0.5 * want[[i, j]] + c0[[i, j]];
                let scale = 0.5 * mag[[i, j]] + c0[[i, j]].abs();
                assert!(
                    (got - expect).abs() <= 1e-12 * scale,
                    "[{i},{j}] {got} vs {expect}"
                );
            }
        }
    }
}

/// f32 products above the threading threshold (the seed model's three, in the layouts a
/// linear layer uses) split across threads equal the triple loop within γₖ.
#[test]
#[cfg_attr(
    miri,
    ignore = "too large for Miri, which splits the property tests' small products"
)]
fn threaded_f32_products_equal_the_triple_loop() {
    gradwell_tensor::set_num_threads(2);
    let (m, k, n) = (64, 784, 128);
    assert!(m * k * n >= gradwell_tensor::PARALLEL_MIN_MACS);
    let x = filled(m, k, 21).mapv(|v| v as f32);
    let w = filled(n, k, 22).mapv(|v| v as f32);
    let g = filled(m, n, 23).mapv(|v| v as f32);
    let u = f64::from(f32::EPSILON) / 2.0;
    let check = |got: &Array2<f32>, a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>| {
        let (want, mag) = naive(&a.mapv(f64::from).view(), &b.mapv(f64::from).view());
        let gamma = a.ncols() as f64 * u / (1.0 - a.ncols() as f64 * u);
        for ((i, j), &v) in got.indexed_iter() {
            let tol = (gamma + 2.0 * u) * mag[[i, j]] + f64::from(f32::MIN_POSITIVE);
            assert!((f64::from(v) - want[[i, j]]).abs() <= tol, "[{i},{j}]");
        }
    };
    // y = x·Wᵀ, dW = gᵀ·x written through dWᵀ = xᵀ·g, dx = g·W.
    let mut y = Array2::<f32>::zeros((m, n));
    gemm(1.0, &x.view(), &w.t(), 0.0, &mut y.view_mut()).unwrap();
    check(&y, x.view(), w.t());
    let mut dw = Array2::<f32>::zeros((n, k));
    gemm(
        1.0,
        &x.t(),
        &g.view(),
        0.0,
        &mut dw.view_mut().reversed_axes(),
    )
    .unwrap();
    check(&dw, g.t(), x.view());
    let mut dx = Array2::<f32>::zeros((m, k));
    gemm(1.0, &g.view(), &w.view(), 0.0, &mut dx.view_mut()).unwrap();
    check(&dx, g.view(), w.view());
    // A weight gradient of 200K elements over a short k (batch 100).
    let (x, g) = (filled(100, 784, 24), filled(100, 256, 25));
    let (x, g) = (x.mapv(|v| v as f32), g.mapv(|v| v as f32));
    let mut dw = Array2::<f32>::zeros((256, 784));
    gemm(1.0, &g.t(), &x.view(), 0.0, &mut dw.view_mut()).unwrap();
    check(&dw, g.t(), x.view());
    // Blocks of B copied into panels: many rows (200) over several blocks of k, and a
    // row stride of 4 KiB with few rows (10).
    let b = filled(300, 1024, 26).mapv(|v| v as f32);
    for rows in [200, 10] {
        let a = filled(rows, 300, 27).mapv(|v| v as f32);
        let mut c = Array2::<f32>::zeros((rows, 1024));
        gemm(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut()).unwrap();
        check(&c, a.view(), b.view());
    }
}
