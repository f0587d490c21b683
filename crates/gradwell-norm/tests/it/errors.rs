//! Bad input gets an error that names what was wrong, and changes nothing.

use gradwell_autodiff::{ParamStore, Tape};
use gradwell_norm::{
    BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig, NormError, batch_norm_eval,
    batch_norm_train,
};
use ndarray::{ArrayD, IxDyn};

use crate::common::{rng, uniform};

fn layer(c: usize) -> (BatchNorm<f64>, Tape<f64>) {
    let mut tape = Tape::new();
    let bn = BatchNorm::new(tape.params_mut(), "bn", c, BatchNormConfig::default()).unwrap();
    (bn, tape)
}

fn zeros(shape: &[usize]) -> ArrayD<f64> {
    ArrayD::zeros(IxDyn(shape))
}

/// PyTorch: "Expected more than 1 value per channel when training, got input size
/// torch.Size([1, 3])". Values per channel, not batch size, are what counts.
#[test]
fn one_value_per_channel_in_training() {
    let (bn, mut tape) = layer(3);
    for shape in [vec![1, 3], vec![1, 3, 1]] {
        let x = tape.input(uniform(&mut rng(1), &shape, -1.0, 1.0));
        let e = bn.forward(&mut tape, x, true).unwrap_err();
        assert_eq!(
            e,
            NormError::TooFewValues {
                shape: shape.clone()
            }
        );
        let text = e.to_string();
        let want = format!(
            "Expected more than 1 value per channel when training, got input size {shape:?}"
        );
        assert!(text.starts_with(&want), "{text}");
    }
    // Nothing was counted or averaged.
    let state = bn.state(tape.params()).unwrap();
    assert_eq!(
        (state.num_batches_tracked, state.running_var),
        (0, vec![1.0; 3])
    );
    // One sample of length 2 has two values per channel: fine.
    let x = tape.input(uniform(&mut rng(2), &[1, 3, 2], -1.0, 1.0));
    assert!(bn.forward(&mut tape, x, true).is_ok());
    // An empty batch has none.
    let x = tape.input(zeros(&[0, 3]));
    assert!(matches!(
        bn.forward(&mut tape, x, true),
        Err(NormError::TooFewValues { .. })
    ));
}

#[test]
fn batch_of_one_in_evaluation_is_fine() {
    let (bn, mut tape) = layer(3);
    let x = tape.input(ndarray::array![[1.0, 2.0, 3.0]].into_dyn());
    let y = bn.forward(&mut tape, x, false).unwrap();
    // Running mean 0 and variance 1: y = x/√(1 + eps).
    let s = 1.0 / (1.0f64 + 1e-5).sqrt();
    assert_eq!(
        tape.value(y),
        ndarray::array![[s, 2.0 * s, 3.0 * s]].into_dyn()
    );
}

#[test]
fn wrong_width_and_rank() {
    let (bn, mut tape) = layer(3);
    let x = tape.input(zeros(&[4, 5]));
    let e = bn.forward(&mut tape, x, true).unwrap_err();
    assert!(
        matches!(
            e,
            NormError::Features {
                expected: 3,
                got: 5,
                axis: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("has 5 features on axis 1, the layer has 3"),
        "{e}"
    );
    for shape in [vec![4], vec![2, 3, 4, 5]] {
        let x = tape.input(zeros(&shape));
        let e = bn.forward(&mut tape, x, false).unwrap_err();
        assert!(matches!(e, NormError::Shape(_)), "{e}");
        assert!(
            e.to_string()
                .contains("expected 2D [batch, features] or 3D"),
            "{e}"
        );
    }
}

#[test]
fn invalid_settings() {
    let mut store = ParamStore::<f64>::new();
    let d = BatchNormConfig::default();
    let bad = [
        (BatchNormConfig { eps: 0.0, ..d }, "eps"),
        (BatchNormConfig { eps: -1e-5, ..d }, "eps"),
        (BatchNormConfig { eps: f64::NAN, ..d }, "eps"),
        (
            BatchNormConfig {
                eps: f64::INFINITY,
                ..d
            },
            "eps",
        ),
        (
            BatchNormConfig {
                momentum: Some(-0.1),
                ..d
            },
            "momentum",
        ),
        (
            BatchNormConfig {
                momentum: Some(1.5),
                ..d
            },
            "momentum",
        ),
        (
            BatchNormConfig {
                momentum: Some(f64::NAN),
                ..d
            },
            "momentum",
        ),
        (
            BatchNormConfig {
                weight_init: f64::NAN,
                ..d
            },
            "weight_init",
        ),
        (
            BatchNormConfig {
                weight_init: f64::INFINITY,
                ..d
            },
            "weight_init",
        ),
    ];
    for (config, field) in bad {
        match BatchNorm::new(&mut store, "bn", 3, config) {
            Err(NormError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{config:?}: expected an invalid-config error, got {other:?}"),
        }
    }
    assert!(matches!(
        BatchNorm::new(&mut store, "bn", 0, d),
        Err(NormError::InvalidConfig {
            field: "features",
            ..
        })
    ));
    assert!(matches!(
        LayerNorm::new(&mut store, "ln", 0, LayerNormConfig::default()),
        Err(NormError::InvalidConfig {
            field: "normalized",
            ..
        })
    ));
    assert!(matches!(
        LayerNorm::new(
            &mut store,
            "ln",
            2,
            LayerNormConfig {
                eps: 0.0,
                ..LayerNormConfig::default()
            }
        ),
        Err(NormError::InvalidConfig { field: "eps", .. })
    ));
    // Nothing was added by the failed constructions.
    assert!(store.is_empty());
    // The boundaries are valid.
    for m in [Some(0.0), Some(1.0), None] {
        assert!(BatchNormConfig { momentum: m, ..d }.validate().is_ok());
    }
}

#[test]
fn layer_on_another_store() {
    let (bn, _) = layer(3);
    let mut other = Tape::<f64>::new();
    let x = other.input(zeros(&[2, 3]));
    let e = bn.forward(&mut other, x, true).unwrap_err();
    assert!(
        matches!(
            e,
            NormError::ForeignStore {
                param: "weight",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn functional_parameter_shapes() {
    let mut tape = Tape::<f64>::new();
    let x = tape.input(uniform(&mut rng(3), &[4, 3], -1.0, 1.0));
    let w = tape.input(zeros(&[2]));
    let e = batch_norm_train(&mut tape, x, Some(w), None, 1e-5).unwrap_err();
    assert!(matches!(e, NormError::Shape(_)), "{e}");
    assert!(
        e.to_string().contains("weight must be [channels] = [3]"),
        "{e}"
    );
    let e = batch_norm_train(&mut tape, x, None, None, 0.0).unwrap_err();
    assert!(
        matches!(e, NormError::InvalidConfig { field: "eps", .. }),
        "{e}"
    );
}

#[test]
fn layer_norm_wrong_last_axis() {
    let mut tape = Tape::<f64>::new();
    let ln = LayerNorm::new(tape.params_mut(), "ln", 4, LayerNormConfig::default()).unwrap();
    let x = tape.input(zeros(&[2, 3]));
    let e = ln.forward(&mut tape, x).unwrap_err();
    assert!(
        matches!(
            e,
            NormError::Features {
                expected: 4,
                got: 3,
                axis: 1,
                ..
            }
        ),
        "{e}"
    );
    let x = tape.input(zeros(&[]));
    assert!(matches!(
        ln.forward(&mut tape, x),
        Err(NormError::Features { .. })
    ));
}

/// Inputs with no channels (`[4, 0]`) or no length (`[2, 3, 0]`) have no values to
/// normalize: forward and backward run without touching anything (no panic on the empty
/// rows), in training where there are values per channel and in evaluation always; in
/// training `[2, 3, 0]` has no value per channel, which is `TooFewValues`.
#[test]
fn inputs_without_channels_or_length() {
    let eps = 1e-5;
    for (shape, c) in [(vec![4, 0], 0), (vec![2, 3, 0], 3), (vec![0, 0, 5], 0)] {
        for affine in [false, true] {
            let mut tape = Tape::<f64>::new();
            let x = tape.input(zeros(&shape));
            let mean = tape.input(zeros(&[c]));
            let var = tape.input(ArrayD::ones(IxDyn(&[c])));
            let (w, b) = if affine {
                let w = tape.input(ArrayD::ones(IxDyn(&[c])));
                (Some(w), Some(tape.input(zeros(&[c]))))
            } else {
                (None, None)
            };
            let y = batch_norm_eval(&mut tape, x, mean, var, w, b, eps).unwrap();
            assert_eq!(tape.value(y).shape(), &shape[..]);
            let loss = tape.sum(y).unwrap();
            tape.backward(loss).unwrap();
            assert_eq!(tape.value(loss).sum(), 0.0);

            let m = shape[0] * shape.get(2).copied().unwrap_or(1);
            match batch_norm_train(&mut tape, x, w, b, eps) {
                Ok((y, stats)) => {
                    assert!(m > 1, "{shape:?}");
                    assert_eq!(tape.value(y).shape(), &shape[..]);
                    assert_eq!((stats.mean.len(), stats.var.len(), stats.count), (c, c, m));
                    let loss = tape.sum(y).unwrap();
                    tape.backward(loss).unwrap();
                }
                Err(e) => {
                    assert!(m <= 1, "{shape:?}: {e}");
                    assert_eq!(
                        e,
                        NormError::TooFewValues {
                            shape: shape.clone()
                        }
                    );
                }
            }
        }
    }
}
