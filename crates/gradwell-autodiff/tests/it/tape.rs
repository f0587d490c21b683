//! Tape behaviour: buffer reuse, accumulation, stale handles, inference mode, errors.

use gradwell_autodiff::{AutodiffError, Tape};
use ndarray::{Array2, array};

fn step(
    t: &mut Tape<f32>,
    w: gradwell_autodiff::ParamId,
    b: gradwell_autodiff::ParamId,
    x: &Array2<f32>,
) -> Vec<*const f32> {
    t.reset();
    let xv = t.input_view(&x.view().into_dyn());
    let (wv, bv) = (t.param(w), t.param(b));
    let h = t.matmul_t(xv, wv).unwrap();
    let h = t.bias_add(h, bv).unwrap();
    let y = t.labels(&[0, 1, 2, 0]);
    let l = t.softmax_cross_entropy(h, y).unwrap();
    t.backward(l).unwrap();
    [xv, h]
        .iter()
        .map(|&v| t.value(v).as_ptr())
        .chain([t.grad(h).unwrap().as_ptr()])
        .collect()
}

#[test]
fn a_repeated_step_reuses_every_value_and_gradient_buffer() {
    let mut t = Tape::<f32>::new();
    let w = t
        .params_mut()
        .add("w", Array2::from_elem((3, 5), 0.1_f32).into_dyn());
    let b = t.params_mut().add(
        "b",
        Array2::zeros((1, 3))
            .into_shape_with_order(3)
            .unwrap()
            .into_dyn(),
    );
    let x = Array2::from_shape_fn((4, 5), |(i, j)| (i + j) as f32 * 0.1);
    let first = step(&mut t, w, b, &x);
    let second = step(&mut t, w, b, &x);
    assert_eq!(
        first, second,
        "buffers were reallocated between identical steps"
    );
}

#[test]
fn gradients_accumulate_until_zeroed() {
    let mut t = Tape::<f64>::new();
    let p = t.params_mut().add("p", array![1.0, 2.0].into_dyn());
    for _ in 0..3 {
        t.reset();
        let v = t.param(p);
        let s = t.square(v).unwrap();
        let l = t.sum(s).unwrap();
        t.backward(l).unwrap();
    }
    assert_eq!(t.params().grad(p), array![6.0, 12.0].into_dyn());
    t.params_mut().zero_grad();
    assert_eq!(t.params().grad(p), array![0.0, 0.0].into_dyn());
}

#[test]
fn stale_handles_are_reported() {
    let mut t = Tape::<f64>::new();
    let x = t.input(array![1.0].into_dyn());
    t.reset();
    assert_eq!(t.exp(x).unwrap_err(), AutodiffError::StaleVar(0));
    assert!(t.grad(x).is_none());
}

#[test]
fn inference_mode_records_nothing_and_gives_no_gradient() {
    let mut t = Tape::<f64>::new();
    let p = t.params_mut().add("p", array![3.0].into_dyn());
    t.set_recording(false);
    let v = t.param(p);
    let s = t.square(v).unwrap();
    assert_eq!(t.value(s)[[0]], 9.0);
    let l = t.sum(s).unwrap();
    t.backward(l).unwrap();
    assert_eq!(t.params().grad(p)[[0]], 0.0);
}

#[test]
fn backward_needs_a_scalar_and_shape_errors_record_nothing() {
    let mut t = Tape::<f64>::new();
    let a = t.input(array![[1.0, 2.0]].into_dyn());
    let b = t.input(array![[1.0, 2.0, 3.0]].into_dyn());
    assert!(matches!(t.backward(a), Err(AutodiffError::NotScalar(_))));
    let before = t.len();
    let err = t.matmul(a, b).unwrap_err().to_string();
    assert!(err.contains("[1, 2]") && err.contains("[1, 3]"), "{err}");
    assert!(t.add(a, b).is_err());
    assert!(t.bias_add(a, b).is_err());
    assert!(t.reshape(a, &[3]).is_err());
    assert!(t.sum_axis(a, 2).is_err());
    assert_eq!(t.len(), before);
}

#[test]
fn intermediate_gradients_are_readable_after_backward() {
    let mut t = Tape::<f64>::new();
    let p = t.params_mut().add("p", array![1.0, -2.0].into_dyn());
    let v = t.param(p);
    let m = t.mul_scalar(v, 3.0).unwrap();
    let s = t.square(m).unwrap();
    let l = t.sum(s).unwrap();
    t.backward(l).unwrap();
    // dl/dm = 2m = (6, −12).
    assert_eq!(t.grad(m).unwrap(), array![6.0, -12.0].into_dyn());
    assert_eq!(t.op_name(s), Some("square"));
}

#[test]
fn ops_of_a_previous_step_never_run_in_this_steps_backward() {
    // Step 1 records square(p); step 2 evaluates the same position in inference mode and
    // then differentiates a fresh graph: the stale op must not contribute.
    let mut t = Tape::<f64>::new();
    let p = t.params_mut().add("p", array![2.0].into_dyn());
    let v = t.param(p);
    let s = t.square(v).unwrap();
    let l = t.sum(s).unwrap();
    t.backward(l).unwrap();
    assert_eq!(t.params().grad(p)[[0]], 4.0);
    t.params_mut().zero_grad();
    t.reset();
    t.set_recording(false);
    let v = t.param(p);
    let s = t.square(v).unwrap();
    t.set_recording(true);
    let l = t.sum(s).unwrap();
    t.backward(l).unwrap();
    assert_eq!(t.params().grad(p)[[0]], 0.0);
}
