//! PyTorch's `print(model)` form, checked against the strings PyTorch 2.15 prints for the
//! same modules (a `Residual` is printed as a PyTorch module of that name with children
//! `body` and, when the widths differ, `projection`).

use gradwell_nn::{Act, Module, Network};

use crate::common::{PYTORCH_SEED, spec};

#[test]
fn pytorch_seed_model() {
    let net = Network::<f32>::build(&spec(PYTORCH_SEED), 0).expect("builds");
    assert_eq!(
        net.to_string(),
        "\
Sequential(
  (0): Linear(in_features=784, out_features=128, bias=True)
  (1): ReLU()
  (2): Linear(in_features=128, out_features=10, bias=True)
  (3): LogSoftmax(dim=1)
)"
    );
}

#[test]
fn every_layer_kind() {
    let net = Network::<f32>::build(
        &spec(
            r#"
input_shape = [2, 3]
layers = [
    { type = "flatten" },
    { type = "linear", out_features = 5 },
    { type = "batch_norm" },
    { type = "prelu" },
    { type = "residual", layers = [
        { type = "linear", out_features = 5 },
        { type = "layer_norm" },
        { type = "activation", activation = "tanh" },
    ] },
    { type = "dropout", p = 0.3 },
    { type = "residual", layers = [
        { type = "linear", out_features = 4 },
        { type = "prelu", num_parameters = 4 },
    ] },
    { type = "linear", out_features = 3 },
    { type = "log_softmax" },
]
"#,
        ),
        0,
    )
    .expect("builds");
    assert_eq!(
        net.to_string(),
        "\
Sequential(
  (0): Flatten(start_dim=1, end_dim=-1)
  (1): Linear(in_features=6, out_features=5, bias=True)
  (2): BatchNorm1d(5, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
  (3): PReLU(num_parameters=1)
  (4): Residual(
    (body): Sequential(
      (0): Linear(in_features=5, out_features=5, bias=True)
      (1): LayerNorm((5,), eps=1e-05, elementwise_affine=True, bias=True)
      (2): Tanh()
    )
  )
  (5): Dropout(p=0.3, inplace=False)
  (6): Residual(
    (body): Sequential(
      (0): Linear(in_features=5, out_features=4, bias=True)
      (1): PReLU(num_parameters=4)
    )
    (projection): Linear(in_features=5, out_features=4, bias=False)
  )
  (7): Linear(in_features=4, out_features=3, bias=True)
  (8): LogSoftmax(dim=1)
)"
    );
}

#[test]
fn norm_and_dropout_settings() {
    let net = Network::<f32>::build(
        &spec(
            r#"
input_shape = [3]
layers = [
    { type = "batch_norm", momentum = nan, affine = false },
    { type = "layer_norm", eps = 0.001, elementwise_affine = false },
    { type = "batch_norm", bias = false },
    { type = "dropout", p = 0.0 },
    { type = "linear", out_features = 2, bias = false },
    { type = "softmax" },
]
"#,
        ),
        0,
    );
    // A NaN momentum is refused; `momentum = None` is written by leaving it out of JSON as
    // null (TOML has no null), tested below with JSON.
    assert!(net.is_err());
    let net = Network::<f32>::build(
        &gradwell_nn::ModelSpec::parse(
            r#"{"input_shape": [3], "layers": [
                {"type": "batch_norm", "momentum": null, "affine": false},
                {"type": "layer_norm", "eps": 0.001, "elementwise_affine": false},
                {"type": "batch_norm", "bias": false},
                {"type": "dropout", "p": 0.0},
                {"type": "linear", "out_features": 2, "bias": false},
                {"type": "softmax"}
            ]}"#,
        )
        .expect("valid JSON spec"),
        0,
    )
    .expect("builds");
    assert_eq!(
        net.to_string(),
        "\
Sequential(
  (0): BatchNorm1d(3, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=True)
  (1): LayerNorm((3,), eps=0.001, elementwise_affine=False, bias=False)
  (2): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=False, track_running_stats=True)
  (3): Dropout(p=0.0, inplace=False)
  (4): Linear(in_features=3, out_features=2, bias=False)
  (5): Softmax(dim=1)
)"
    );
}

#[test]
fn every_activation_as_pytorch_prints_it() {
    // Left: our name; right: `repr(nn.X(...))` in PyTorch 2.15.
    for (ours, torch) in [
        ("identity", "Identity()"),
        ("sigmoid", "Sigmoid()"),
        ("tanh", "Tanh()"),
        ("relu", "ReLU()"),
        ("leaky-relu", "LeakyReLU(negative_slope=0.01)"),
        ("leaky-relu:0.2", "LeakyReLU(negative_slope=0.2)"),
        ("elu", "ELU(alpha=1.0)"),
        ("selu", "SELU()"),
        ("gelu", "GELU(approximate='none')"),
        ("gelu-tanh", "GELU(approximate='tanh')"),
        ("silu", "SiLU()"),
        ("softplus", "Softplus(beta=1.0, threshold=20.0)"),
        ("mish", "Mish()"),
        ("relu6", "ReLU6()"),
        ("hardtanh", "Hardtanh(min_val=-1.0, max_val=1.0)"),
    ] {
        let act = Act(ours.parse().expect("a valid activation"));
        assert_eq!(<Act as Module<f32>>::repr(&act), torch, "{ours}");
    }
}

/// A fixed-slope `prelu:A` activation prints as PyTorch prints `nn.PReLU(init=A)` (its
/// `extra_repr` shows only `num_parameters`), like the learned PReLU layer with one slope.
#[test]
fn fixed_slope_prelu_prints_as_pytorchs_prelu() {
    let net = Network::<f32>::build(
        &spec(
            r#"
input_shape = [3]
layers = [
    { type = "activation", activation = "prelu:-2" },
    { type = "prelu" },
    { type = "prelu", num_parameters = 3 },
]
"#,
        ),
        0,
    )
    .expect("builds");
    assert_eq!(
        net.to_string(),
        "\
Sequential(
  (0): PReLU(num_parameters=1)
  (1): PReLU(num_parameters=1)
  (2): PReLU(num_parameters=3)
)"
    );
}
