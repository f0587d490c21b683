//! The fused softmax-cross-entropy at extreme logits, and bad labels.

use gradwell_autodiff::{AutodiffError, Tape};
use ndarray::array;

#[test]
fn cross_entropy_is_finite_and_right_for_logits_of_magnitude_1e4() {
    for f32_too in [false, true] {
        let logits = array![[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [5e3, 5e3, -1e4]];
        let labels = [1, 2, 0];
        // Exact values: row 0 loses 2e4 (label logit 2e4 below the max); row 1 ≈ 0;
        // row 2 = ln 2 (two equal maxima).
        let want = (2e4 + 0.0 + std::f64::consts::LN_2) / 3.0;
        let (loss, grad) = if f32_too {
            let mut t = Tape::<f32>::new();
            let p = t
                .params_mut()
                .add("z", logits.mapv(|v| v as f32).into_dyn());
            let z = t.param(p);
            let y = t.labels(&labels);
            let l = t.softmax_cross_entropy(z, y).unwrap();
            t.backward(l).unwrap();
            (t.value(l)[[]] as f64, t.params().grad(p).mapv(|v| v as f64))
        } else {
            let mut t = Tape::<f64>::new();
            let p = t.params_mut().add("z", logits.clone().into_dyn());
            let z = t.param(p);
            let y = t.labels(&labels);
            let l = t.softmax_cross_entropy(z, y).unwrap();
            t.backward(l).unwrap();
            (t.value(l)[[]], t.params().grad(p).to_owned())
        };
        assert!(
            (loss - want).abs() <= 1e-6 * want,
            "loss {loss}, want {want}"
        );
        assert!(grad.iter().all(|g| g.is_finite()));
        // Row 0: softmax ≈ (1, 0, 0), onehot(1) → grad ≈ (1, −1, 0)/3.
        assert!((grad[[0, 0]] - 1.0 / 3.0).abs() < 1e-6 && (grad[[0, 1]] + 1.0 / 3.0).abs() < 1e-6);
        // Row 2: softmax = (½, ½, 0), label 0 → (−½, ½, 0)/3.
        assert!((grad[[2, 0]] + 0.5 / 3.0).abs() < 1e-6 && (grad[[2, 1]] - 0.5 / 3.0).abs() < 1e-6);
    }
}

#[test]
fn labels_out_of_range_or_mismatched_are_errors_not_panics() {
    let mut t = Tape::<f64>::new();
    let z = t.input(array![[0.0, 1.0], [2.0, 3.0]].into_dyn());
    let bad = t.labels(&[0, 2]);
    let err = t.softmax_cross_entropy(z, bad).unwrap_err();
    assert!(matches!(err, AutodiffError::Invalid { .. }));
    // PyTorch's wording, and the position of the bad label.
    assert!(
        err.to_string().contains("Target 2 is out of bounds."),
        "{err}"
    );
    assert!(err.to_string().contains("position 1"), "{err}");
    let short = t.labels(&[0]);
    assert!(t.softmax_cross_entropy(z, short).is_err());
    let y = t.input(array![1.0, 2.0, 3.0].into_dyn());
    assert!(t.mse(z, y).is_err());
}

#[test]
fn label_smoothing_matches_pytorch_closed_form() {
    use gradwell_autodiff::ops::{Reduction, SoftmaxCrossEntropy};
    // PyTorch: F.cross_entropy(z, y, label_smoothing=ε) = (1−ε)(−log p_y) + (ε/C)·Σ_c(−log p_c).
    let z = array![[2.0, -1.0, 0.5]];
    let lse = (2.0_f64.exp() + (-1.0_f64).exp() + 0.5_f64.exp()).ln();
    let eps = 0.2;
    let want = (1.0 - eps) * (lse - 0.5) + eps / 3.0 * ((lse - 2.0) + (lse + 1.0) + (lse - 0.5));
    let mut t = Tape::<f64>::new();
    let zv = t.input(z.into_dyn());
    let y = t.labels(&[2]);
    let l = t
        .apply(
            SoftmaxCrossEntropy {
                label_smoothing: eps,
                reduction: Reduction::Sum,
                ..Default::default()
            },
            &[zv, y],
        )
        .unwrap();
    assert!((t.value(l)[[]] - want).abs() < 1e-12);
    let bad = t.apply(
        SoftmaxCrossEntropy {
            label_smoothing: 1.5,
            reduction: Reduction::Mean,
            ..Default::default()
        },
        &[zv, y],
    );
    assert!(bad.is_err());
}
