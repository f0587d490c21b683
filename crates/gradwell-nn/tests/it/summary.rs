//! The Keras-style summary.

use gradwell_nn::Network;

use crate::common::{KERAS_SEED, spec};

/// Keras 3's `model.summary()` of the seed's model, `Dense(128, activation="relu")` and
/// `Dense(10, activation="softmax")`: the activations are written into the Dense rows.
#[test]
fn keras_seed_summary_is_pinned() {
    let net = Network::<f32>::build(&spec(KERAS_SEED), 0).expect("builds");
    let expected = "\
Model: \"sequential\"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 128)            │       100,480 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │         1,290 │
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
        s.contains(concat!(
            "│ batch_normalization             │ (None, 6)              │            24 │\n",
            "│ (BatchNormalization)            │                        │               │\n"
        )),
        "{s}"
    );
    // The ReLU after the batch norm is Keras's `Activation("relu")`, a row of its own.
    assert!(
        s.contains("│ activation (Activation)         │ (None, 6)              │             0 │"),
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
        s.contains("│ flatten (Flatten)               │ (None, 4)              │             0 │"),
        "{s}"
    );
    assert!(
        s.contains("│ residual (Residual)             │ (None, 3)              │            27 │"),
        "{s}"
    );
}

#[test]
fn keras_seed_weights_are_keras_he_normal_with_zero_biases() {
    let net = Network::<f64>::build(&spec(KERAS_SEED), 0).expect("builds");
    let p = net.tape.params();
    for bias in ["0.bias", "2.bias"] {
        assert!(
            p.value(net.param(bias).expect("present"))
                .iter()
                .all(|&b| b == 0.0)
        );
    }
    // Keras's He normal draws N(0, σ²) with σ = √(2/fan_in)/0.8796 and redraws beyond 2σ:
    // every weight lies within 2σ. An untruncated He normal would put about 4.6 % of the
    // 100,352 weights beyond that bound (and the largest near 4.4 of its σ).
    let sigma = (2.0_f64 / 784.0).sqrt() / gradwell_init::KERAS_TRUNCATION_STD;
    let w = p.value(net.param("0.weight").expect("present"));
    let largest = w.iter().fold(0.0_f64, |m, &v| m.max(v.abs()));
    assert!(largest <= 2.0 * sigma, "{largest} > 2σ = {}", 2.0 * sigma);
    // 1.25 % of the truncated mass lies in (1.9σ, 2σ]: the chance that none of 100,352
    // weights does is below e^(-1200) (this cannot fail by chance).
    assert!(largest > 1.9 * sigma, "the bound is approached: {largest}");
}
