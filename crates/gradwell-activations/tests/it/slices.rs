//! The slice kernels and array helpers against the scalar methods, f32 against f64, and
//! the trait used through `dyn`.

use gradwell_activations::{Activation, ActivationArrayExt, ActivationInfo, Relu, Sigmoid};
use ndarray::Array2;
use proptest::prelude::*;

use crate::common::{all_kinds, wide};

proptest! {
    /// forward_slice and derivative_slice give exactly the scalar methods' results, for
    /// the concrete types (through ActivationKind's dispatch) and their overrides.
    #[test]
    fn slices_equal_scalar_methods(xs in prop::collection::vec(wide(), 0..40)) {
        for k in all_kinds() {
            let mut y = vec![0.0; xs.len()];
            let mut d = vec![0.0; xs.len()];
            k.forward_slice(&xs, &mut y);
            k.derivative_slice(&xs, &mut d);
            for i in 0..xs.len() {
                prop_assert_eq!(y[i].to_bits(), Activation::<f64>::value(&k, xs[i]).to_bits(), "{} at {}", k, xs[i]);
                prop_assert_eq!(d[i].to_bits(), Activation::<f64>::derivative(&k, xs[i]).to_bits(), "{} at {}", k, xs[i]);
            }
        }
    }

    /// backward_slice accumulates dx += dy·f′(x). Implementations that work from the output
    /// (sigmoid y(1−y), tanh 1−y²) differ from f′(x) by rounding only:
    /// at most a few ε absolutely, hence the tolerance 1e-14·(|dx₀| + |dy|·(1 + bound)).
    #[test]
    fn backward_accumulates_dy_times_derivative(
        cells in prop::collection::vec((wide(), -3.0..3.0_f64, -3.0..3.0_f64), 0..40)
    ) {
        let xs: Vec<f64> = cells.iter().map(|c| c.0).collect();
        let dy: Vec<f64> = cells.iter().map(|c| c.1).collect();
        let dx0: Vec<f64> = cells.iter().map(|c| c.2).collect();
        for k in all_kinds() {
            let mut y = vec![0.0; xs.len()];
            k.forward_slice(&xs, &mut y);
            let mut dx = dx0.clone();
            k.backward_slice(&xs, &y, &dy, &mut dx);
            for i in 0..xs.len() {
                let want = dx0[i] + dy[i] * Activation::<f64>::derivative(&k, xs[i]);
                let tol = 1e-14 * (dx0[i].abs() + dy[i].abs() * (1.0 + k.derivative_bound()));
                prop_assert!((dx[i] - want).abs() <= tol, "{} at {}: {} vs {}", k, xs[i], dx[i], want);
            }
        }
    }

    /// f32 agrees with f64 to f32 precision on [−50, 50]: catches a constant or a branch
    /// that is wrong in one type only.
    #[test]
    fn f32_agrees_with_f64(x in -50.0..50.0_f32) {
        for k in all_kinds() {
            let (v32, v64) = (Activation::<f32>::value(&k, x) as f64, Activation::<f64>::value(&k, x as f64));
            prop_assert!((v32 - v64).abs() <= 1e-6 * (1.0 + v64.abs()), "{} at {}: {} vs {}", k, x, v32, v64);
            let (d32, d64) = (Activation::<f32>::derivative(&k, x) as f64, Activation::<f64>::derivative(&k, x as f64));
            // Away from kinks: there the two types may round x to different sides.
            if k.kinks().iter().all(|&c| (x as f64 - c).abs() > 1e-4) {
                prop_assert!((d32 - d64).abs() <= 1e-6 * (1.0 + d64.abs()), "{}′ at {}: {} vs {}", k, x, d32, d64);
            }
        }
    }
}

/// The array helpers give the element-wise results for standard and non-standard layouts.
#[test]
fn array_helpers_work_on_any_layout() {
    let x = Array2::from_shape_fn((3, 4), |(i, j)| i as f64 - j as f64 * 0.7);
    for k in all_kinds() {
        let want_v = x.mapv(|v| Activation::<f64>::value(&k, v));
        let want_d = x.mapv(|v| Activation::<f64>::derivative(&k, v));
        assert_eq!(k.value_array(&x), want_v, "{k}");
        assert_eq!(k.derivative_array(&x), want_d, "{k}");
        // A transposed view is not in standard layout: the element-wise path.
        assert_eq!(k.value_array(&x.t()), want_v.t(), "{k}");
        assert_eq!(k.derivative_array(&x.t()), want_d.t(), "{k}");
    }
}

/// A generic autodiff op holds a `dyn Activation<F>` and reaches every fact through it,
/// with only `Activation` in scope.
#[test]
fn usable_through_dyn() {
    fn facts(a: &dyn Activation<f64>) -> (String, f64, f64, bool) {
        (a.name(), a.gain(), a.derivative_bound(), a.saturates())
    }
    let boxed: Vec<Box<dyn Activation<f64>>> = vec![Box::new(Relu), Box::new(Sigmoid)];
    assert_eq!(
        facts(boxed[0].as_ref()),
        ("relu".to_string(), 2.0_f64.sqrt(), 1.0, false)
    );
    assert_eq!(
        facts(boxed[1].as_ref()),
        ("sigmoid".to_string(), 1.0, 0.25, true)
    );
    assert_eq!(
        boxed[1].value_array(&ndarray::array![0.0]),
        ndarray::array![0.5]
    );
}
