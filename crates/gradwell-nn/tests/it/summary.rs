//! The Keras-style summary.

use gradwell_nn::Network;

use crate::common::{KERAS_SEED, spec};

#[test]
fn keras_seed_summary_is_pinned() {
    let net = Network::<f32>::build(&spec(KERAS_SEED), 0).expect("builds");
    let expected = "\
Model: \"sequential\"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ 0 (Linear)                      │ (None, 128)            │       100,480 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ 1 (ReLU)                        │ (None, 128)            │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ 2 (Linear)                      │ (None, 10)             │         1,290 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ 3 (Softmax)                     │ (None, 10)             │             0 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 101,770 (397.54 KB)
 Trainable params: 101,770 (397.54 KB)
 Non-trainable params: 0 (0.00 B)
";
    assert_eq!(net.summary(), expected);
}

#[test]
fn batch_norm_statistics_are_non_trainable_parameters() {
    // Linear 8→6 (54), BatchNorm1d(6): γ, β trainable (12), running mean and variance
    // non-trainable (12) — the batch counter is not a parameter, as in Keras; Linear 6→3
    // (21). In f64, 8 bytes each.
    let net = Network::<f64>::build(
        &spec(
            r#"
input_shape = [8]
layers = [
    { type = "linear", out_features = 6 },
    { type = "batch_norm" },
    { type = "activation", activation = "relu" },
    { type = "linear", out_features = 3 },
]
"#,
        ),
        0,
    )
    .expect("builds");
    assert_eq!(net.num_params(), (87, 12));
    let s = net.summary();
    assert!(
        s.contains("│ 1 (BatchNorm1d)                 │ (None, 6)              │            24 │"),
        "{s}"
    );
    assert!(s.ends_with(
        " Total params: 99 (792.00 B)\n Trainable params: 87 (696.00 B)\n Non-trainable params: 12 (96.00 B)\n"
    ), "{s}");
}

#[test]
fn a_residual_block_is_one_row_with_its_projection() {
    // body Linear 4→3 (15) + projection 4→3 without bias (12).
    let net = Network::<f32>::build(
        &spec(
            r#"
input_shape = [2, 2]
layers = [
    { type = "flatten" },
    { type = "residual", layers = [{ type = "linear", out_features = 3 }] },
]
"#,
        ),
        0,
    )
    .expect("builds");
    let s = net.summary();
    assert!(
        s.contains("│ 0 (Flatten)                     │ (None, 4)              │             0 │"),
        "{s}"
    );
    assert!(
        s.contains("│ 1 (Residual)                    │ (None, 3)              │            27 │"),
        "{s}"
    );
}
