//! Tape behaviour: buffer reuse, accumulation, stale handles, inference mode, errors, ops
//! with many inputs, reading an op back.

use gradwell_autodiff::{AutodiffError, Op, Result, Tape, ensure_shape};
use ndarray::{Array2, ArrayD, ArrayViewD, ArrayViewMutD, array};

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

/// One step of a graph whose gradient buffers are each first reached by a different kind
/// of op: `x` and `h` by matrix products, `z` by a bias add, `e` by a `mul` with both
/// inputs the same (a repeated input). Returns the gradients of `x`, `h`, `z`, `e`, `w`
/// and `b`.
fn fresh_step(t: &mut Tape<f64>, x: &Array2<f64>) -> Vec<ArrayD<f64>> {
    let mut ids = t.params().ids();
    let (Some(w), Some(b)) = (ids.next(), ids.next()) else {
        unreachable!("the tape holds w and b")
    };
    t.reset();
    t.params_mut().zero_grad();
    let xv = t.input_requires_grad(x.clone().into_dyn());
    let (wv, bv) = (t.param(w), t.param(b));
    let h = t.matmul_t(xv, wv).unwrap();
    let h2 = t.matmul(h, wv).unwrap();
    let z = t.bias_add(h2, bv).unwrap();
    let e = t.exp(z).unwrap();
    let s = t.mul(e, e).unwrap();
    let l = t.sum(s).unwrap();
    t.backward(l).unwrap();
    // The one gradient checked against its formula: ∂Σ(e^z)²/∂z = 2·e^{2z}.
    let want = t.value(z).mapv(|z| 2.0 * (2.0 * z).exp());
    let got = t.grad(z).unwrap();
    assert!(
        got.iter()
            .zip(&want)
            .all(|(g, w)| (g - w).abs() <= 1e-12 * w.abs()),
        "{got} against {want}"
    );
    let mut out: Vec<ArrayD<f64>> = [xv, h, z, e]
        .iter()
        .map(|&v| t.grad(v).unwrap().to_owned())
        .collect();
    out.push(t.params().grad(w).to_owned());
    out.push(t.params().grad(b).to_owned());
    out
}

/// A step on a used tape gives the gradients a new tape gives: the buffers a step reuses
/// hold the previous step's gradients, which must not leak into this step's, whichever op
/// reaches a buffer first.
#[test]
fn a_repeated_step_overwrites_the_previous_steps_gradients() {
    let new_tape = || {
        let mut t = Tape::<f64>::new();
        t.params_mut().add(
            "w",
            Array2::from_shape_fn((3, 3), |(i, j)| 0.1 * (i as f64) - 0.05 * (j as f64)).into_dyn(),
        );
        t.params_mut().add("b", array![0.1, -0.2, 0.3].into_dyn());
        t
    };
    let x1 = Array2::from_shape_fn((4, 3), |(i, j)| (i + 2 * j) as f64 * 0.1);
    let x2 = Array2::from_shape_fn((4, 3), |(i, j)| 0.3 - (i * j) as f64 * 0.05);
    let mut used = new_tape();
    let first = fresh_step(&mut used, &x1);
    let again = fresh_step(&mut used, &x2);
    let want = fresh_step(&mut new_tape(), &x2);
    assert_eq!(again, want);
    assert_ne!(
        first, want,
        "the two steps must differ for the test to mean anything"
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

/// `y = Σₖ (k + 1)·xₖ` over any number of inputs of one shape; remembers the sum of its
/// output (to be read back with `Tape::op_of`).
#[derive(Debug, Default)]
struct WeightedSum {
    total: f64,
}

impl Op<f64> for WeightedSum {
    fn name(&self) -> &'static str {
        "weighted_sum"
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, f64>], out: &mut ArrayD<f64>) -> Result<()> {
        ensure_shape(out, x[0].shape());
        out.fill(0.0);
        for (k, x) in x.iter().enumerate() {
            out.scaled_add((k + 1) as f64, x);
        }
        self.total = out.sum();
        Ok(())
    }

    fn backward(
        &mut self,
        _: &[ArrayViewD<'_, f64>],
        _: &ArrayViewD<'_, f64>,
        g: &ArrayViewD<'_, f64>,
        grads: &mut [Option<ArrayViewMutD<'_, f64>>],
    ) {
        for (k, d) in grads.iter_mut().enumerate() {
            if let Some(d) = d {
                d.scaled_add((k + 1) as f64, g);
            }
        }
    }
}

#[test]
fn ops_with_more_inputs_than_fit_on_the_stack_get_them_all() {
    // Seven inputs (more than the five held inline), a parameter among them three times.
    let mut t = Tape::<f64>::new();
    let p = t.params_mut().add("p", array![1.0, 2.0].into_dyn());
    for _ in 0..2 {
        t.reset();
        let v = t.param(p);
        let c = t.input(array![10.0, 20.0].into_dyn());
        let y = t
            .apply(WeightedSum::default(), &[v, c, v, c, c, c, v])
            .unwrap();
        // Weights of p: 1 + 3 + 7 = 11; of c: 2 + 4 + 5 + 6 = 17.
        assert_eq!(t.value(y), array![11.0 + 170.0, 22.0 + 340.0].into_dyn());
        let l = t.sum(y).unwrap();
        t.backward(l).unwrap();
    }
    assert_eq!(t.params().grad(p), array![22.0, 22.0].into_dyn());
}

#[test]
fn ops_are_found_behind_their_outputs() {
    let mut t = Tape::<f64>::new();
    let p = t.params_mut().add("p", array![1.0, 2.0].into_dyn());
    let x = t.input(array![3.0, 4.0].into_dyn());
    let v = t.param(p);
    let y = t.apply(WeightedSum::default(), &[x, v]).unwrap();
    let s = t.square(y).unwrap();
    assert_eq!(t.op_of::<WeightedSum>(y).map(|o| o.total), Some(13.0)); // 1·(3 + 4) + 2·(1 + 2)
    assert!(t.op_of::<WeightedSum>(s).is_none(), "another op's type");
    assert!(t.op_of::<WeightedSum>(x).is_none(), "a leaf");
    // Update a parameter from what the op computed, without copying it out.
    let (op, store) = t.op_and_params_mut::<WeightedSum>(y).unwrap();
    store.value_mut(p).fill(op.total);
    assert_eq!(t.params().value(p), array![13.0, 13.0].into_dyn());
    t.reset();
    assert!(t.op_of::<WeightedSum>(y).is_none(), "a stale handle");
}

/// `y = 2x`, with a scratch buffer (a copy of its input) taken over from the previous
/// step's op by `recycle`.
#[derive(Debug, Default)]
struct Doubled {
    scratch: Vec<f64>,
}

impl Op<f64> for Doubled {
    fn name(&self) -> &'static str {
        "doubled"
    }

    fn recycle(&mut self, previous: &mut Self) {
        self.scratch = std::mem::take(&mut previous.scratch);
    }

    fn forward(&mut self, x: &[ArrayViewD<'_, f64>], out: &mut ArrayD<f64>) -> Result<()> {
        self.scratch.clear();
        self.scratch.extend(x[0].iter());
        ensure_shape(out, x[0].shape());
        out.iter_mut()
            .zip(&self.scratch)
            .for_each(|(y, &x)| *y = 2.0 * x);
        Ok(())
    }

    fn backward(
        &mut self,
        _: &[ArrayViewD<'_, f64>],
        _: &ArrayViewD<'_, f64>,
        g: &ArrayViewD<'_, f64>,
        grads: &mut [Option<ArrayViewMutD<'_, f64>>],
    ) {
        if let Some(d) = &mut grads[0] {
            d.scaled_add(2.0, g);
        }
    }
}

#[test]
fn a_repeated_step_reuses_each_op_record_and_its_buffers() {
    let mut t = Tape::<f64>::new();
    let p = t.params_mut().add("p", array![1.0, 2.0, 3.0].into_dyn());
    let mut seen = Vec::new();
    for _ in 0..3 {
        t.reset();
        let v = t.param(p);
        let y = t.apply(Doubled::default(), &[v]).unwrap();
        let l = t.sum(y).unwrap();
        t.backward(l).unwrap();
        let op = t.op_of::<Doubled>(y).unwrap();
        seen.push((std::ptr::from_ref(op), op.scratch.as_ptr()));
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "an op record or its buffer was reallocated between identical steps: {seen:?}"
    );
    assert_eq!(t.params().grad(p), array![6.0, 6.0, 6.0].into_dyn());
}
