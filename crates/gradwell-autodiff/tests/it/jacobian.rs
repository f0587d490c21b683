//! Gradients with respect to inputs, vector-Jacobian and Jacobian-vector products, whole
//! Jacobians and their singular values.

use gradwell_activations::ActivationKind;
use gradwell_autodiff::jacobian::{jacobian, jvp, singular_values, vjp};
use gradwell_autodiff::{AutodiffError, GradCheck, ParamId, Result, Tape, Var};
use ndarray::{Array2, ArrayD, IxDyn, array};

/// A deterministic array in [−1.5, 1.5] (a hash of the position, not an RNG stream).
fn fill(shape: &[usize], salt: u64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| {
            let h = (i as u64 + 1 + salt * 7919).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            ((h >> 11) as f64 / (1u64 << 53) as f64) * 3.0 - 1.5
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).unwrap()
}

/// A small function through most kinds of op: y = softmax(tanh(x·Wᵀ + b)·2 − x·Wᵀ, axis 1)
/// reshaped and permuted, with a sum over an axis and a square.
fn setup() -> (Tape<f64>, ParamId, ParamId) {
    let mut t = Tape::<f64>::new();
    let w = t.params_mut().add("w", fill(&[4, 3], 1));
    let b = t.params_mut().add("b", fill(&[4], 2));
    (t, w, b)
}

fn many_ops(t: &mut Tape<f64>, x: Var, w: ParamId, b: ParamId) -> Result<Var> {
    let (wv, bv) = (t.param(w), t.param(b));
    let h = t.matmul_t(x, wv)?;
    let h = t.bias_add(h, bv)?;
    let a = t.activation("tanh".parse::<ActivationKind>().unwrap(), h)?;
    let a = t.mul_scalar(a, 2.0)?;
    let d = t.sub(a, h)?;
    let s = t.softmax(d, 1)?;
    let e = t.exp(h)?;
    let q = t.square(x)?;
    let q = t.sum_axis(q, 1)?;
    let q = t.reshape(q, &[2, 1])?;
    let se = t.mul(s, e)?;
    let se = t.add(se, q)?;
    t.permute(se, &[1, 0])
}

#[test]
fn an_input_that_requires_a_gradient_gets_one() {
    let mut t = Tape::<f64>::new();
    let x = t.input_requires_grad(array![[1.0, -2.0], [0.5, 3.0]].into_dyn());
    let y = t.mul(x, x).unwrap();
    let l = t.sum(y).unwrap();
    assert!(t.requires_grad(l).unwrap());
    t.backward(l).unwrap();
    assert_eq!(
        t.input_grad(x).unwrap(),
        array![[2.0, -4.0], [1.0, 6.0]].into_dyn()
    );
    // A second pass starts from zero: an input's gradient does not accumulate.
    t.backward(l).unwrap();
    assert_eq!(
        t.input_grad(x).unwrap(),
        array![[2.0, -4.0], [1.0, 6.0]].into_dyn()
    );
}

#[test]
fn asking_the_gradient_of_an_input_that_takes_none_is_a_clear_error() {
    let mut t = Tape::<f64>::new();
    let plain = t.input(array![1.0, 2.0].into_dyn());
    let x = t.input_requires_grad(array![3.0, 4.0].into_dyn());
    let unused = t.input_requires_grad(array![5.0].into_dyn());
    let y = t.mul(plain, x).unwrap();
    let l = t.sum(y).unwrap();
    t.backward(l).unwrap();
    let err = t.input_grad(plain).unwrap_err();
    assert!(
        matches!(err, AutodiffError::NoGrad { index: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("input_requires_grad"), "{err}");
    let err = t.input_grad(unused).unwrap_err();
    assert_eq!(err, AutodiffError::NotReached(2));
    assert!(err.to_string().contains("does not depend on it"), "{err}");
    assert_eq!(t.input_grad(x).unwrap(), array![1.0, 2.0].into_dyn());
    // An input put on the tape while it does not record gets no gradient, and says so.
    t.set_recording(false);
    let quiet = t.input_requires_grad(array![1.0].into_dyn());
    let err = t.input_grad(quiet).unwrap_err();
    assert!(err.to_string().contains("not recording"), "{err}");
    t.set_recording(true);
    // Stale handles are refused as everywhere else.
    t.reset();
    assert_eq!(t.input_grad(x).unwrap_err(), AutodiffError::StaleVar(1));
}

#[test]
fn backward_from_a_seed_is_a_vector_jacobian_product_and_checks_its_shape() {
    let (mut t, w, _) = setup();
    let x = t.input_requires_grad(fill(&[2, 3], 3));
    let wv = t.param(w);
    let y = t.matmul_t(x, wv).unwrap();
    let u = fill(&[2, 4], 4);
    t.backward_from(y, &u.view()).unwrap();
    // d(uᵀ·x·Wᵀ)/dx = u·W, and the weight gets uᵀ·x added, as with `backward`.
    let wm: Array2<f64> = t
        .params()
        .value(w)
        .into_dimensionality()
        .unwrap()
        .to_owned();
    let u2: Array2<f64> = u.clone().into_dimensionality().unwrap();
    let x2: Array2<f64> = fill(&[2, 3], 3).into_dimensionality().unwrap();
    let gx: Array2<f64> = t
        .input_grad(x)
        .unwrap()
        .into_dimensionality()
        .unwrap()
        .to_owned();
    assert!((&gx - &u2.dot(&wm)).iter().all(|d| d.abs() < 1e-15));
    let gw: Array2<f64> = t.params().grad(w).into_dimensionality().unwrap().to_owned();
    assert!((&gw - &u2.t().dot(&x2)).iter().all(|d| d.abs() < 1e-15));
    let err = t.backward_from(y, &fill(&[4, 2], 0).view()).unwrap_err();
    assert!(err.to_string().contains("the output's shape"), "{err}");
}

#[test]
fn the_jacobian_matches_central_differences() {
    let (mut t, w, b) = setup();
    let x = fill(&[2, 3], 5);
    let check = GradCheck::default()
        .jacobian(&mut t, &x.view(), |t, v| many_ops(t, v, w, b))
        .unwrap();
    assert!(check.passed, "{check}");
    assert_eq!(check.analytic.dim(), (8, 6));
    // Every entry is reached: the function mixes every input into every output's row.
    assert!(check.max_abs_error < 1e-8, "{check}");
    // Parameters' gradients are not touched.
    assert!(t.params().grad(w).iter().all(|&g| g == 0.0));
}

#[test]
fn the_jacobian_is_shaped_like_torchs_and_vjp_and_jvp_are_its_products() {
    let (mut t, w, b) = setup();
    let x = fill(&[2, 3], 6);
    let j = jacobian(&mut t, &x.view(), |t, v| many_ops(t, v, w, b)).unwrap();
    assert_eq!(j.output_shape(), &[4, 2]);
    assert_eq!(j.to_array().shape(), &[4, 2, 2, 3]);
    let full = j.to_array();
    assert_eq!(full[[3, 1, 0, 2]], j.matrix[[3 * 2 + 1, 2]]);
    let u = fill(&[4, 2], 7);
    let v = fill(&[2, 3], 8);
    let (y1, ujt) = vjp(&mut t, &x.view(), &u.view(), |t, x| many_ops(t, x, w, b)).unwrap();
    let (y2, jv) = jvp(&mut t, &x.view(), &v.view(), |t, x| many_ops(t, x, w, b)).unwrap();
    assert_eq!(y1, j.output);
    assert_eq!(y2, j.output);
    let uf = ndarray::Array1::from_iter(u.iter().copied());
    let vf = ndarray::Array1::from_iter(v.iter().copied());
    let ujt_expected = uf.dot(&j.matrix);
    let jv_expected = j.matrix.dot(&vf);
    for (a, e) in ujt.iter().zip(&ujt_expected) {
        assert!((a - e).abs() < 1e-12, "{a} vs {e}");
    }
    for (a, e) in jv.iter().zip(&jv_expected) {
        assert!((a - e).abs() < 1e-12, "{a} vs {e}");
    }
    // uᵀ(Jv) = (uᵀJ)v.
    let lhs: f64 = u.iter().zip(jv.iter()).map(|(a, b)| a * b).sum();
    let rhs: f64 = ujt.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
    assert!(
        (lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0),
        "{lhs} vs {rhs}"
    );
    let err = jvp(&mut t, &x.view(), &u.view(), |t, x| many_ops(t, x, w, b)).unwrap_err();
    assert!(err.to_string().contains("tangent"), "{err}");
}

#[test]
fn a_function_that_ignores_its_input_has_a_zero_jacobian_and_the_mode_is_restored() {
    let (mut t, w, _) = setup();
    t.set_recording(false);
    let x = fill(&[1, 3], 9);
    let j = jacobian(&mut t, &x.view(), |t, _| {
        let wv = t.param(w);
        t.square(wv)
    })
    .unwrap();
    assert_eq!(j.matrix, Array2::zeros((12, 3)));
    assert!(!t.is_recording());
}

#[test]
fn singular_values_of_known_matrices() {
    // A permuted, scaled identity: singular values are the scales' magnitudes, sorted.
    let a = array![
        [0.0, -3.0, 0.0],
        [0.5, 0.0, 0.0],
        [0.0, 0.0, 2.0],
        [0.0, 0.0, 0.0]
    ];
    let s = singular_values(&a.view()).unwrap();
    assert_eq!(s.values.len(), 3);
    for (got, want) in s.values.iter().zip([3.0, 2.0, 0.5]) {
        assert!((got - want).abs() < 1e-14, "{:?}", s.values);
    }
    assert!((s.condition() - 6.0).abs() < 1e-13);
    assert!((s.mean_square() - (9.0 + 4.0 + 0.25) / 3.0).abs() < 1e-13);
    let rank1 = array![[1.0, 2.0], [2.0, 4.0]];
    let s = singular_values(&rank1.view()).unwrap();
    assert!((s.max() - 5.0).abs() < 1e-13);
    assert!(s.min().abs() < 1e-15);
    assert!(s.condition() > 1e14);
}

#[test]
fn singular_values_refuse_non_finite_and_empty_matrices() {
    let a = array![[1.0, f64::NAN], [0.0, 1.0]];
    let err = singular_values(&a.view()).unwrap_err();
    assert!(err.to_string().contains("NaN at [0, 1]"), "{err}");
    let e = Array2::<f64>::zeros((0, 3));
    let err = singular_values(&e.view()).unwrap_err();
    assert!(err.to_string().contains("0×3 matrix is empty"), "{err}");
}
