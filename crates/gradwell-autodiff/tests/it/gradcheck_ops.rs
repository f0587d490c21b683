//! Every op's backward against central finite differences (f64), over random shapes that
//! include a batch of one, a width of one and non-square matrices, with PyTorch's
//! gradcheck tolerances (eps 1e-6, atol 1e-5, rtol 1e-3). And the checker itself must be
//! able to fail: a deliberately wrong backward is rejected.

use gradwell_autodiff::ops::{Reduction, SoftmaxCrossEntropy};
use gradwell_autodiff::{GradCheck, Op, Result, Tape, Var, ensure_shape, gradcheck};
use gradwell_tensor::ClassLabel;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, Zip};
use proptest::prelude::*;

fn array(shape: &[usize], seed: u64, lo: f64, hi: f64) -> ArrayD<f64> {
    let mut x = seed | 1;
    ArrayD::from_shape_fn(IxDyn(shape), |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lo + (hi - lo) * ((x >> 11) as f64 / (1u64 << 53) as f64)
    })
}

fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![Just(1usize), 1usize..6]
}

fn check(
    f: impl FnMut(&mut Tape<f64>, &[Var]) -> Result<Var>,
    inputs: &[ArrayD<f64>],
) -> std::result::Result<(), TestCaseError> {
    let report = gradcheck(f, inputs).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(report.passed(), "{}", report);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn binary_ops_with_and_without_broadcast(r in dim(), c in dim(), bcast in 0usize..3, seed in any::<u64>()) {
        let a = array(&[r, c], seed, -2.0, 2.0);
        let bshape: Vec<usize> = match bcast { 0 => vec![r, c], 1 => vec![c], _ => vec![r, 1] };
        let b = array(&bshape, seed ^ 9, 0.5, 2.0); // away from 0 for the division
        check(|t, v| t.add(v[0], v[1]), &[a.clone(), b.clone()])?;
        check(|t, v| t.sub(v[0], v[1]), &[a.clone(), b.clone()])?;
        check(|t, v| t.mul(v[0], v[1]), &[a.clone(), b.clone()])?;
        check(|t, v| t.div(v[0], v[1]), &[a.clone(), b.clone()])?;
        check(|t, v| t.div(v[1], v[0]), &[array(&[r, c], seed ^ 3, 0.5, 2.0), b])?;
    }

    #[test]
    fn unary_and_scalar_ops(r in dim(), c in dim(), seed in any::<u64>()) {
        let a = array(&[r, c], seed, -2.0, 2.0);
        let pos = array(&[r, c], seed ^ 5, 0.2, 3.0);
        check(|t, v| t.neg(v[0]), &[a.clone()])?;
        check(|t, v| t.exp(v[0]), &[a.clone()])?;
        check(|t, v| t.log(v[0]), &[pos])?;
        check(|t, v| t.square(v[0]), &[a.clone()])?;
        check(|t, v| t.add_scalar(v[0], -1.5), &[a.clone()])?;
        check(|t, v| t.mul_scalar(v[0], 2.5), &[a])?;
    }

    #[test]
    fn matmul_in_every_transpose(m in dim(), k in dim(), n in dim(), seed in any::<u64>()) {
        let a = array(&[m, k], seed, -1.0, 1.0);
        let b = array(&[k, n], seed ^ 1, -1.0, 1.0);
        check(|t, v| t.matmul(v[0], v[1]), &[a.clone(), b.clone()])?;
        let bt = b.t().to_owned();
        check(|t, v| t.matmul_t(v[0], v[1]), &[a.clone(), bt])?;
        let at = a.t().to_owned();
        check(|t, v| t.apply(gradwell_autodiff::ops::MatMul { transpose_a: true, transpose_b: false }, &[v[0], v[1]]), &[at.clone(), b.clone()])?;
        check(|t, v| t.apply(gradwell_autodiff::ops::MatMul { transpose_a: true, transpose_b: true }, &[v[0], v[1]]), &[at, b.t().to_owned()])?;
        // The same operand on both sides (x·xᵀ) exercises the repeated-input path.
        check(|t, v| t.matmul_t(v[0], v[0]), &[a])?;
    }

    #[test]
    fn bias_add_reductions_and_shapes(r in dim(), c in dim(), seed in any::<u64>()) {
        let x = array(&[r, c], seed, -1.0, 1.0);
        let b = array(&[c], seed ^ 2, -1.0, 1.0);
        check(|t, v| t.bias_add(v[0], v[1]), &[x.clone(), b])?;
        check(|t, v| t.sum(v[0]), &[x.clone()])?;
        check(|t, v| t.mean(v[0]), &[x.clone()])?;
        check(|t, v| t.sum_axis(v[0], 0), &[x.clone()])?;
        check(|t, v| t.mean_axis(v[0], 1), &[x.clone()])?;
        check(|t, v| t.reshape(v[0], &[c, r]), &[x.clone()])?;
        check(|t, v| t.transpose(v[0]), &[x.clone()])?;
        let x3 = array(&[r, c, 2], seed ^ 4, -1.0, 1.0);
        check(|t, v| t.permute(v[0], &[2, 0, 1]), &[x3])?;
    }

    #[test]
    fn losses(n in dim(), classes in 1usize..6, seed in any::<u64>()) {
        let logits = array(&[n, classes], seed, -3.0, 3.0);
        let labels: Vec<ClassLabel> = (0..n).map(|i| ((seed as usize).wrapping_add(i * 7) % classes) as ClassLabel).collect();
        check(|t, v| { let y = t.labels(&labels); t.softmax_cross_entropy(v[0], y) }, &[logits.clone()])?;
        for (label_smoothing, reduction) in [(0.1, Reduction::Mean), (0.3, Reduction::Sum)] {
            let op = SoftmaxCrossEntropy { label_smoothing, reduction, ..Default::default() };
            check(|t, v| { let y = t.labels(&labels); t.apply(op, &[v[0], y]) }, &[logits.clone()])?;
        }
        let target = array(&[n, classes], seed ^ 8, -1.0, 1.0);
        check(|t, v| t.mse(v[0], v[1]), &[logits, target])?;
    }

    #[test]
    fn losses_with_every_pytorch_option(
        n in dim(), classes in 1usize..5, spatial in proptest::collection::vec(1usize..3, 0..3),
        weighted in any::<bool>(), reduction in 0usize..3, smoothing in 0usize..2, seed in any::<u64>(),
    ) {
        use gradwell_autodiff::ops::{Mse, Nll, TargetKind};
        let reduction = [Reduction::None, Reduction::Mean, Reduction::Sum][reduction];
        let label_smoothing = [0.0, 0.2][smoothing];
        let mut shape = vec![n, classes];
        shape.extend(&spatial);
        let mut target_shape = vec![n];
        target_shape.extend(&spatial);
        let logits = array(&shape, seed, -3.0, 3.0);
        let weight = array(&[classes], seed ^ 4, 0.1, 2.0);
        // Every fifth target ignored (the default ignore_index), the rest any class.
        let labels: Vec<ClassLabel> = (0..target_shape.iter().product::<usize>())
            .map(|i| if i % 5 == 4 { -100 } else { ((seed as usize).wrapping_add(i * 7) % classes) as ClassLabel })
            .collect();
        let ce = SoftmaxCrossEntropy { label_smoothing, reduction, ..Default::default() };
        let with_weight = |t: &mut Tape<f64>, x: Var, y: Var| {
            if weighted { let w = t.input(weight.clone()); vec![x, y, w] } else { vec![x, y] }
        };
        check(|t, v| { let y = t.labels_shaped(&target_shape, &labels)?; let i = with_weight(t, v[0], y); t.apply(ce, &i) }, &[logits.clone()])?;
        let nll = Nll { reduction, ..Default::default() };
        check(|t, v| { let y = t.labels_shaped(&target_shape, &labels)?; let i = with_weight(t, v[0], y); t.apply(nll, &i) }, &[logits.clone()])?;
        // Probabilities: gradients into the scores, the target and the weights.
        let probs = array(&shape, seed ^ 6, 0.0, 1.5);
        let soft = SoftmaxCrossEntropy { target: TargetKind::Probabilities, ..ce };
        check(|t, v| t.apply(soft, v), &[logits.clone(), probs.clone(), weight.clone()])?;
        check(|t, v| t.apply(soft, v), &[logits.clone(), probs.clone()])?;
        check(|t, v| t.apply(Mse { reduction }, v), &[logits, probs])?;
    }

    #[test]
    fn a_composed_two_layer_network(batch in dim(), inp in dim(), hidden in dim(), classes in 2usize..5, seed in any::<u64>()) {
        let x = array(&[batch, inp], seed, -1.0, 1.0);
        let w1 = array(&[hidden, inp], seed ^ 1, -1.0, 1.0);
        let b1 = array(&[hidden], seed ^ 2, -0.5, 0.5);
        let w2 = array(&[classes, hidden], seed ^ 3, -1.0, 1.0);
        let labels: Vec<ClassLabel> = (0..batch).map(|i| (i % classes) as ClassLabel).collect();
        check(|t, v| {
            let h = t.matmul_t(v[0], v[1])?;
            let h = t.bias_add(h, v[2])?;
            let h = t.exp(h)?; // a smooth nonlinearity
            let o = t.matmul_t(h, v[3])?;
            let y = t.labels(&labels);
            t.softmax_cross_entropy(o, y)
        }, &[x, w1, b1, w2])?;
    }
}

/// σ′ written as σ(1+σ) instead of σ(1−σ): the checker must reject it.
#[derive(Debug)]
struct WrongSigmoid;

impl Op<f64> for WrongSigmoid {
    fn name(&self) -> &'static str {
        "wrong_sigmoid"
    }
    fn forward(&mut self, x: &[ArrayViewD<'_, f64>], out: &mut ArrayD<f64>) -> Result<()> {
        ensure_shape(out, x[0].shape());
        Zip::from(out)
            .and(&x[0])
            .for_each(|y, &x| *y = 1.0 / (1.0 + (-x).exp()));
        Ok(())
    }
    fn backward(
        &mut self,
        _: &[ArrayViewD<'_, f64>],
        y: &ArrayViewD<'_, f64>,
        g: &ArrayViewD<'_, f64>,
        dx: &mut [Option<ArrayViewMutD<'_, f64>>],
    ) {
        if let Some(dx) = dx[0].as_mut() {
            Zip::from(dx)
                .and(y)
                .and(g)
                .for_each(|d, &y, &g| *d += g * y * (1.0 + y));
        }
    }
}

#[test]
fn the_checker_rejects_a_wrong_derivative() {
    let x = array(&[3, 4], 42, -3.0, 3.0);
    let report = gradcheck(|t, v| t.apply(WrongSigmoid, &[v[0]]), &[x]).unwrap();
    assert!(!report.passed(), "a wrong derivative passed:\n{report}");
    assert!(report.inputs[0].max_rel_error > 0.1, "{report}");
}

#[test]
fn tighter_tolerances_than_the_error_fail_and_looser_pass() {
    // exp's finite difference at eps = 1e-3 has relative error ≈ eps²/6 ≈ 1.7e-7.
    let x = array(&[2, 2], 7, -1.0, 1.0);
    let tight = GradCheck {
        eps: 1e-3,
        atol: 0.0,
        rtol: 1e-9,
    };
    let loose = GradCheck {
        eps: 1e-3,
        atol: 0.0,
        rtol: 1e-5,
    };
    assert!(
        !tight
            .run(|t, v| t.exp(v[0]), &[x.clone()])
            .unwrap()
            .passed()
    );
    assert!(loose.run(|t, v| t.exp(v[0]), &[x]).unwrap().passed());
}

/// A left operand of three axes is multiplied along its last, as `F.linear` does: the same
/// numbers as the 2-D product of its rows, gradients included.
#[test]
fn matmul_applies_to_the_last_axis_of_a_left_operand_with_more_axes() {
    let x = array(&[2, 3, 4], 1, -1.0, 1.0);
    let w = array(&[5, 4], 2, -1.0, 1.0);
    let mut tape = Tape::<f64>::new();
    let xv = tape.input(x.clone());
    let wv = tape.input(w.clone());
    let y = tape.matmul_t(xv, wv).unwrap();
    assert_eq!(tape.shape(y).unwrap(), &[2, 3, 5]);
    let x2 = x.clone().into_shape_with_order((6, 4)).unwrap();
    let w2 = w.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    let want = x2
        .dot(&w2.t())
        .into_shape_with_order((2, 3, 5))
        .unwrap()
        .into_dyn();
    assert_eq!(tape.value(y), want);
    let report = gradcheck(|t, v| t.matmul_t(v[0], v[1]), &[x.clone(), w]).unwrap();
    assert!(report.passed(), "{report}");
    let b = array(&[4, 3], 3, -1.0, 1.0);
    let report = gradcheck(|t, v| t.matmul(v[0], v[1]), &[x, b]).unwrap();
    assert!(report.passed(), "{report}");
}
