//! `gemm_packed` against `gemm`: the same product, bit for bit in f32 (the packed operand
//! feeds the same micro-kernel in the same order), for either layout of `B`, tails in
//! every dimension, several blocks of `k` and panels of columns, on one and two threads.

use gradwell_tensor::{PackedB, ShapeError, gemm, gemm_packed};
use ndarray::{Array2, s};

use crate::matmul::filled;

#[test]
#[cfg_attr(miri, ignore = "large products; the kernel's own tests cover Miri")]
fn packed_products_equal_gemm() {
    let mut packed = PackedB::new();
    for threads in [1, 2] {
        gradwell_tensor::set_num_threads(threads);
        // (m, k, n): one element; tails everywhere; the LSTM's forward and backward steps
        // (the latter above the threading threshold); a wide B of several panels.
        for (m, k, n) in [
            (1, 1, 1),
            (7, 130, 67),
            (64, 128, 512),
            (64, 512, 128),
            (13, 300, 200),
        ] {
            for transposed in [false, true] {
                let stored = if transposed {
                    filled(n, k, 2)
                } else {
                    filled(k, n, 2)
                }
                .mapv(|v| v as f32);
                let b = if transposed {
                    stored.t()
                } else {
                    stored.view()
                };
                // A with a row stride wider than its rows, as a recurrent step reads h_{t−1}.
                let wide = filled(m, 2 * k, 1).mapv(|v| v as f32);
                let a = wide.slice(s![.., ..k]);
                let c0 = filled(m, n, 3).mapv(|v| v as f32);
                packed.pack(&b);
                assert_eq!(packed.dim(), (k, n));
                let (mut want, mut got) = (c0.clone(), c0.clone());
                gemm(0.5, &a, &b, 1.0, &mut want.view_mut()).unwrap();
                gemm_packed(0.5, &a, &packed, 1.0, &mut got.view_mut()).unwrap();
                assert_eq!(
                    got, want,
                    "{m}×{k}×{n}, B transposed: {transposed}, {threads} threads"
                );
                // β = 0 ignores C, even NaN.
                let mut nan = Array2::from_elem((m, n), f32::NAN);
                gemm(1.0, &a, &b, 0.0, &mut want.view_mut()).unwrap();
                gemm_packed(1.0, &a, &packed, 0.0, &mut nan.view_mut()).unwrap();
                assert_eq!(nan, want, "{m}×{k}×{n}, β = 0");
            }
        }
    }
    gradwell_tensor::set_num_threads(1);
}

#[test]
fn packed_products_in_f64_and_empty_ones() {
    let b = filled(5, 3, 4);
    let a = filled(2, 5, 5);
    let mut packed = PackedB::new();
    packed.pack(&b.view());
    let (mut want, mut got) = (Array2::zeros((2, 3)), Array2::zeros((2, 3)));
    gemm(1.0, &a.view(), &b.view(), 0.0, &mut want.view_mut()).unwrap();
    gemm_packed(1.0, &a.view(), &packed, 0.0, &mut got.view_mut()).unwrap();
    assert_eq!(got, want);
    // k = 0: C ← β·C, in f32 too (where B would be panels).
    let mut empty = PackedB::<f32>::new();
    empty.pack(&Array2::<f32>::zeros((0, 3)).view());
    let mut c = Array2::<f32>::from_elem((2, 3), 4.0);
    gemm_packed(
        1.0,
        &Array2::zeros((2, 0)).view(),
        &empty,
        0.5,
        &mut c.view_mut(),
    )
    .unwrap();
    assert!(c.iter().all(|&v| v == 2.0));
}

#[test]
fn packed_products_refuse_shapes_that_do_not_fit() {
    let mut packed = PackedB::<f32>::new();
    packed.pack(&Array2::zeros((4, 3)).view());
    let a = Array2::<f32>::zeros((2, 5));
    let mut c = Array2::<f32>::zeros((2, 3));
    let err = gemm_packed(1.0, &a.view(), &packed, 0.0, &mut c.view_mut()).unwrap_err();
    assert!(matches!(err, ShapeError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("packed 4×3 B"), "{err}");
    let a = Array2::<f32>::zeros((2, 4));
    let mut wrong = Array2::<f32>::zeros((2, 2));
    assert!(gemm_packed(1.0, &a.view(), &packed, 0.0, &mut wrong.view_mut()).is_err());
    // A column-major output is refused where B is in panels (it would be written wrongly
    // otherwise) and computed where B is a row-major copy.
    let mut cm = Array2::<f32>::zeros((3, 2));
    let mut out = cm.view_mut().reversed_axes();
    match gemm_packed(1.0, &a.view(), &packed, 0.0, &mut out) {
        Ok(()) => assert!(!gradwell_tensor::avx512_enabled()),
        Err(e) => assert!(e.to_string().contains("contiguous rows"), "{e}"),
    }
}
