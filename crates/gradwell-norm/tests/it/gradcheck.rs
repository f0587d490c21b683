//! The fused ops' backward against central finite differences (f64, PyTorch's gradcheck
//! tolerances) for the input, γ and β — and the running statistics in evaluation — over
//! random shapes that include a batch of 2 and a width of 1.

use gradwell_autodiff::{Tape, gradcheck};
use gradwell_norm::{
    BatchNorm, BatchNormConfig, DEFAULT_EPS, batch_norm_eval, batch_norm_train, layer_norm,
};
use ndarray::ArrayD;
use proptest::prelude::*;

use crate::common::{min_channel_var, rng, uniform};

/// `[batch, features]` (batch 2 and width 1 included) or `[batch, channels, length]`,
/// with at least 2 values per channel.
fn train_shape() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(vec![2, 1]),
        (Just(2usize), 1usize..5).prop_map(|(n, c)| vec![n, c]),
        (2usize..7, 1usize..5).prop_map(|(n, c)| vec![n, c]),
        (1usize..4, 1usize..4, 1usize..4)
            .prop_filter("2 values per channel", |(n, _, l)| n * l >= 2)
            .prop_map(|(n, c, l)| vec![n, c, l]),
    ]
}

/// Any batch, one included (evaluation).
fn eval_shape() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        (1usize..5, 1usize..5).prop_map(|(n, c)| vec![n, c]),
        (1usize..4, 1usize..4, 1usize..4).prop_map(|(n, c, l)| vec![n, c, l]),
    ]
}

fn assert_passes(
    f: impl FnMut(
        &mut Tape<f64>,
        &[gradwell_autodiff::Var],
    ) -> gradwell_autodiff::Result<gradwell_autodiff::Var>,
    inputs: &[ArrayD<f64>],
) -> Result<(), TestCaseError> {
    let report = gradcheck(f, inputs).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(report.passed(), "{}", report);
    Ok(())
}

/// Runs a norm function inside gradcheck, whose closures speak `AutodiffError`.
fn lift<T>(r: gradwell_norm::Result<T>) -> gradwell_autodiff::Result<T> {
    r.map_err(|e| gradwell_autodiff::AutodiffError::invalid("test", e.to_string()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn batch_norm_training_gradients(shape in train_shape(), affine in 0usize..4, seed in any::<u64>()) {
        let mut r = rng(seed);
        let x = uniform(&mut r, &shape, -2.0, 2.0);
        // A channel of (nearly) equal values is ill-conditioned for finite differences
        // (second derivatives grow like 1/σ³); keep σ ≥ 0.1.
        prop_assume!(min_channel_var(&x) >= 0.01);
        let c = shape[1];
        let g = uniform(&mut r, &[c], -2.0, 2.0);
        let b = uniform(&mut r, &[c], -1.0, 1.0);
        let eps = DEFAULT_EPS;
        match affine {
            0 => assert_passes(|t, v| lift(batch_norm_train(t, v[0], Some(v[1]), Some(v[2]), eps)).map(|r| r.0), &[x, g, b])?,
            1 => assert_passes(|t, v| lift(batch_norm_train(t, v[0], Some(v[1]), None, eps)).map(|r| r.0), &[x, g])?,
            2 => assert_passes(|t, v| lift(batch_norm_train(t, v[0], None, Some(v[1]), eps)).map(|r| r.0), &[x, b])?,
            _ => assert_passes(|t, v| lift(batch_norm_train(t, v[0], None, None, eps)).map(|r| r.0), &[x])?,
        }
    }

    #[test]
    fn batch_norm_evaluation_gradients(shape in eval_shape(), affine in any::<bool>(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let c = shape[1];
        let x = uniform(&mut r, &shape, -2.0, 2.0);
        let mean = uniform(&mut r, &[c], -1.0, 1.0);
        let var = uniform(&mut r, &[c], 0.3, 3.0);
        let eps = DEFAULT_EPS;
        if affine {
            let g = uniform(&mut r, &[c], -2.0, 2.0);
            let b = uniform(&mut r, &[c], -1.0, 1.0);
            assert_passes(|t, v| lift(batch_norm_eval(t, v[0], v[1], v[2], Some(v[3]), Some(v[4]), eps)), &[x, mean, var, g, b])?;
        } else {
            assert_passes(|t, v| lift(batch_norm_eval(t, v[0], v[1], v[2], None, None, eps)), &[x, mean, var])?;
        }
    }

    #[test]
    fn layer_norm_gradients(
        lead in prop_oneof![(1usize..5).prop_map(|r| vec![r]), (1usize..3, 1usize..3).prop_map(|(a, b)| vec![a, b])],
        d in prop_oneof![Just(1usize), 2usize..7],
        affine in 0usize..3,
        seed in any::<u64>(),
    ) {
        let mut r = rng(seed);
        let mut shape = lead;
        shape.push(d);
        let x = uniform(&mut r, &shape, -2.0, 2.0);
        if d > 1 {
            let rows = x.to_shape((x.len() / d, d)).expect("contiguous").to_owned();
            let min_var = rows
                .outer_iter()
                .map(|row| crate::common::mean_var(&row.to_vec()).1)
                .fold(f64::INFINITY, f64::min);
            prop_assume!(min_var >= 0.01);
        }
        let g = uniform(&mut r, &[d], -2.0, 2.0);
        let b = uniform(&mut r, &[d], -1.0, 1.0);
        let eps = DEFAULT_EPS;
        match affine {
            0 => assert_passes(|t, v| lift(layer_norm(t, v[0], Some(v[1]), Some(v[2]), eps)), &[x, g, b])?,
            1 => assert_passes(|t, v| lift(layer_norm(t, v[0], Some(v[1]), None, eps)), &[x, g])?,
            _ => assert_passes(|t, v| lift(layer_norm(t, v[0], None, None, eps)), &[x])?,
        }
    }
}

/// The layer's training forward is the single fused op (not a chain), and its backward
/// fills the gradients of γ and β in the store.
#[test]
fn layer_training_forward_is_one_fused_op() {
    let mut tape = Tape::<f64>::new();
    let bn = BatchNorm::new(tape.params_mut(), "bn", 3, BatchNormConfig::default()).unwrap();
    let x = tape.input(uniform(&mut rng(1), &[4, 3], -1.0, 1.0));
    let before = tape.len();
    let y = bn.forward(&mut tape, x, true).unwrap();
    // γ and β read in place (2 positions), then one op.
    assert_eq!(tape.len(), before + 3);
    assert_eq!(tape.op_name(y), Some("batch_norm"));
    let loss = tape.sum(y).unwrap();
    tape.backward(loss).unwrap();
    let w = bn.weight().unwrap();
    let b = bn.bias().unwrap();
    // d(Σy)/dβ = m = 4 per channel; d(Σy)/dγ = Σ x̂ = 0 (to rounding).
    assert!(tape.params().grad(b).iter().all(|&g| g == 4.0));
    assert!(tape.params().grad(w).iter().all(|&g| g.abs() < 1e-12));
}
