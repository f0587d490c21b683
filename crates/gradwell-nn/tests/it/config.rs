//! Model configs: JSON and TOML round trips, and bad configs rejected at parse or build
//! time with errors that say what and where.

use gradwell_nn::{Head, LayerSpec, MlpSpec, MlpWidths, ModelSpec, Network, NnError, Widths};

use crate::common::{KERAS_SEED, PYTORCH_SEED, spec};

/// Every layer kind with non-default settings.
const EVERYTHING: &str = r#"
input_shape = [2, 4]
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
out_features = 6
in_features = 8
bias = false
init = "variance-scaling:0.5,fan-avg,uniform,pytorch"
[[layers]]
type = "batch_norm"
eps = 0.001
momentum = 0.01
[[layers]]
type = "prelu"
num_parameters = 6
init = 0.1
[[layers]]
type = "residual"
layers = [
    { type = "linear", out_features = 6, init = "he-uniform:fan-out,leaky-relu=0.2", bias_init = "constant:0.5" },
    { type = "layer_norm", elementwise_affine = false },
    { type = "activation", activation = "leaky-relu:0.2" },
    { type = "dropout", p = 0.25 },
]
[[layers]]
type = "residual"
layers = [{ type = "linear", out_features = 3 }, { type = "activation", activation = "softplus:2,10" }]
[[layers]]
type = "softmax"
[[layers]]
type = "log_softmax"
"#;

#[test]
fn a_config_round_trips_through_json_and_toml() {
    let original = spec(EVERYTHING);
    let json = original.to_json().expect("serializes");
    let toml = original.to_toml().expect("serializes");
    assert_eq!(
        ModelSpec::parse(&json).expect("parses back"),
        original,
        "{json}"
    );
    assert_eq!(
        ModelSpec::parse(&toml).expect("parses back"),
        original,
        "{toml}"
    );
    for text in [KERAS_SEED, PYTORCH_SEED] {
        let s = spec(text);
        assert_eq!(ModelSpec::parse(&s.to_toml().expect("ok")).expect("ok"), s);
        assert_eq!(ModelSpec::parse(&s.to_json().expect("ok")).expect("ok"), s);
    }
}

#[test]
fn a_round_tripped_config_builds_the_same_network() {
    let original = spec(EVERYTHING);
    let back = ModelSpec::parse(&original.to_toml().expect("ok")).expect("ok");
    let a = Network::<f64>::build(&original, 9).expect("builds");
    let b = Network::<f64>::build(&back, 9).expect("builds");
    assert_eq!(a.to_string(), b.to_string());
    assert_eq!(
        a.safetensors_bytes().expect("ok"),
        b.safetensors_bytes().expect("ok")
    );
    // The initializers were honoured: the residual body's bias is the constant 0.5.
    let bias = a.param("4.body.0.bias").expect("present");
    assert!(a.tape.params().value(bias).iter().all(|&v| v == 0.5));
}

/// `bias_init = "pytorch-default-bias"` is PyTorch's default bias, its fan-in read from
/// each layer's own weight: the network equals the one without a bias initializer, bit for
/// bit, and a fan-in given in the name (`pytorch-default-bias:4`) is used as given.
#[test]
fn the_pytorch_default_bias_reads_each_layers_weight() {
    let layers = |bias_init: &str| {
        format!(
            "input_shape = [9]\nlayers = [\n\
             {{ type = \"linear\", out_features = 30{bias_init} }},\n\
             {{ type = \"linear\", out_features = 3{bias_init} }},\n]\n"
        )
    };
    let build = |text: &str| Network::<f64>::build(&spec(text), 5).expect("builds");
    let default = build(&layers(""));
    let named = build(&layers(", bias_init = \"pytorch-default-bias\""));
    assert_eq!(
        default.safetensors_bytes().expect("ok"),
        named.safetensors_bytes().expect("ok")
    );
    // U(±1/√9) and U(±1/√30): each layer's own fan-in.
    for (bias, fan_in) in [("0.bias", 9.0_f64), ("1.bias", 30.0)] {
        let values = named
            .tape
            .params()
            .value(named.param(bias).expect("present"));
        let bound = 1.0 / fan_in.sqrt();
        assert!(values.iter().all(|v| v.abs() <= bound), "{bias}: {values}");
    }
    let given = build(&layers(", bias_init = \"pytorch-default-bias:4\""));
    let values = given
        .tape
        .params()
        .value(given.param("0.bias").expect("present"));
    assert!(values.iter().all(|v| v.abs() <= 0.5), "{values}");
    assert!(values.iter().any(|v| v.abs() > 1.0 / 3.0), "{values}");
}

#[test]
fn an_mlp_spec_round_trips_and_expands() {
    let mut mlp = MlpSpec::new(&[5, 7, 7, 2], "tanh".parse().expect("valid"));
    mlp.batch_norm = true;
    mlp.residual = true;
    mlp.dropout = 0.1;
    mlp.head = Head::LogSoftmax;
    let back: MlpSpec =
        serde_json::from_str(&serde_json::to_string(&mlp).expect("ok")).expect("ok");
    assert_eq!(back, mlp);
    let s = mlp.to_spec().expect("valid");
    // 5→7 block, a residual 7→7 block, the output layer, the head.
    assert_eq!(s.layers.len(), 4 + 1 + 1 + 1);
    assert!(matches!(s.layers[4], LayerSpec::Residual(ref r) if r.layers.len() == 4));
    let net = Network::<f32>::build(&s, 0).expect("builds");
    assert!(net.param("4.body.1.running_mean").is_some());
}

/// An initializer is one string wherever it is written: in an `MlpSpec` as in its layers,
/// in JSON as in TOML. The old tagged object is refused, and so is a bad parameter, at
/// parse time.
#[test]
fn an_mlp_spec_writes_its_initializer_as_its_name() {
    let name = "he-uniform:fan-out,leaky-relu=0.2";
    let mut mlp = MlpSpec::new(&[4, 3, 2], "relu".parse().expect("valid"));
    mlp.init = Some(name.parse().expect("valid"));
    let json = serde_json::to_string(&mlp).expect("ok");
    assert!(json.contains(&format!(r#""init":"{name}""#)), "{json}");
    assert_eq!(serde_json::from_str::<MlpSpec>(&json).expect("ok"), mlp);
    let text = toml::to_string(&mlp).expect("ok");
    assert!(text.contains(&format!(r#"init = "{name}""#)), "{text}");
    assert_eq!(toml::from_str::<MlpSpec>(&text).expect("ok"), mlp);
    let layers = serde_json::to_string(&mlp.to_spec().expect("valid")).expect("ok");
    assert!(layers.contains(&format!(r#""init":"{name}""#)), "{layers}");
    let tagged = json.replace(
        &format!(r#""{name}""#),
        r#"{"init":"he-uniform","nonlinearity":"relu","mode":"fan-out"}"#,
    );
    assert!(
        serde_json::from_str::<MlpSpec>(&tagged).is_err(),
        "{tagged}"
    );
    let bad = json.replace(name, "uniform:1,0");
    let err = serde_json::from_str::<MlpSpec>(&bad).expect_err("high < low");
    assert!(err.to_string().contains("high = 0"), "{err}");
}

fn build_err(text: &str) -> String {
    match ModelSpec::parse(text) {
        Err(e) => e.to_string(),
        Ok(s) => Network::<f32>::build(&s, 0)
            .map(|_| ())
            .expect_err("the config is invalid")
            .to_string(),
    }
}

#[test]
fn mismatched_widths_are_a_build_error_naming_both_layers() {
    let s = spec(
        r#"
input_shape = [784]
layers = [
    { type = "linear", out_features = 128 },
    { type = "activation", activation = "relu" },
    { type = "linear", in_features = 64, out_features = 10 },
]
"#,
    );
    let err = Network::<f32>::build(&s, 0).expect_err("64 ≠ 128");
    assert!(
        matches!(
            err,
            NnError::WidthMismatch {
                expected: 64,
                got: 128,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "layer 2 (Linear(→10)) expects 64 input features but layer 1 (Activation(relu)) produces 128"
    );
    // Inside a residual block the paths are the full ones.
    let err = build_err(
        r#"
input_shape = [4]
layers = [
    { type = "linear", out_features = 8 },
    { type = "residual", layers = [
        { type = "linear", out_features = 8 },
        { type = "linear", in_features = 4, out_features = 8 },
    ] },
]
"#,
    );
    assert_eq!(
        err,
        "layer 1.body.1 (Linear(→8)) expects 4 input features but layer 1.body.0 (Linear(→8)) produces 8"
    );
    // Per-channel PReLU slopes are widths too.
    let err = build_err(
        r#"
input_shape = [4]
layers = [{ type = "linear", out_features = 5 }, { type = "prelu", num_parameters = 4 }]
"#,
    );
    assert!(
        err.contains("layer 1 (Prelu)") && err.contains("layer 0 (Linear(→5))"),
        "{err}"
    );
    // A 2-D sample before a layer that needs flat input (batch norm) asks for a flatten.
    let err = build_err(
        r#"
input_shape = [28, 28]
layers = [{ type = "batch_norm" }]
"#,
    );
    assert!(err.contains("flatten") && err.contains("[28, 28]"), "{err}");
    // A linear layer applies to the last axis, as PyTorch's, and checks that axis's width.
    let spec = ModelSpec::parse(
        "input_shape = [28, 28]\nlayers = [{ type = \"linear\", out_features = 5 }]\n",
    )
    .unwrap();
    assert_eq!(spec.plan().unwrap().output_shape, [28, 5]);
    let err = build_err(
        r#"
input_shape = [28, 28]
layers = [{ type = "linear", in_features = 27, out_features = 5 }]
"#,
    );
    assert!(err.contains("27") && err.contains("28"), "{err}");
}

#[test]
fn unknown_names_and_fields_are_parse_errors() {
    for (text, needles) in [
        (
            "input_shape = [3]\n[[layers]]\ntype = \"activation\"\nactivation = \"swishy\"\n",
            &["swishy", "relu", "line 2"][..],
        ),
        (
            "input_shape = [3]\n[[layers]]\ntype = \"linear\"\nout_features = 2\ninit = \"he-norml\"\n",
            &["he-norml", "xavier-uniform", "line 2"][..],
        ),
        (
            "input_shape = [3]\n[[layers]]\ntype = \"linear\"\nout_features = 2\nbias_init = \"zeroes\"\n",
            &["zeroes"][..],
        ),
        (
            "input_shape = [3]\n[[layers]]\ntype = \"linear\"\nout_feature = 2\n",
            &["unknown field `out_feature`"][..],
        ),
        (
            "input_shape = [3]\n[[layers]]\ntype = \"batch_norm\"\nmomentun = 0.1\n",
            &["unknown field `momentun`"][..],
        ),
        (
            "input_shape = [3]\nlayer = []\n",
            &["unknown field `layer`"][..],
        ),
        (
            "input_shape = [3]\n[[layers]]\ntype = \"convolution\"\n",
            &["unknown variant `convolution`"][..],
        ),
        (
            // The tagged layer is read as a whole, so the error points at the layer.
            "input_shape = [3]\n[[layers]]\ntype = \"linear\"\nout_features = -2\n",
            &["`-2`", "expected usize", "line 2"][..],
        ),
        (
            r#"{"input_shape": [3], "layers": [{"type": "dropout", "p": 0.5, "inplace": true}]}"#,
            &["JSON", "unknown field `inplace`"][..],
        ),
    ] {
        let err = ModelSpec::parse(text).expect_err(text).to_string();
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
    }
}

#[test]
fn invalid_settings_are_build_errors_naming_the_layer() {
    for (layers, needles) in [
        (
            r#"{ type = "linear", out_features = 0 }"#,
            &["layer 0 (Linear(→0))", "at least 1"][..],
        ),
        (
            r#"{ type = "dropout", p = 1.5 }"#,
            &["layer 0 (Dropout)", "[0, 1]", "got 1.5"][..],
        ),
        (
            r#"{ type = "dropout", p = -0.1 }"#,
            &["layer 0 (Dropout)", "-0.1"][..],
        ),
        (
            r#"{ type = "dropout", p = nan }"#,
            &["layer 0 (Dropout)", "NaN"][..],
        ),
        (
            r#"{ type = "prelu", init = inf }"#,
            &["layer 0 (Prelu)", "slope"][..],
        ),
        (
            r#"{ type = "prelu", num_parameters = 0 }"#,
            &["layer 0 (Prelu)"][..],
        ),
        (
            r#"{ type = "batch_norm", eps = 0.0 }"#,
            &["layer 0 (BatchNorm)", "eps"][..],
        ),
        (
            r#"{ type = "batch_norm", momentum = 2.0 }"#,
            &["layer 0 (BatchNorm)", "momentum"][..],
        ),
        (
            r#"{ type = "layer_norm", eps = -1.0 }"#,
            &["layer 0 (LayerNorm)", "eps"][..],
        ),
    ] {
        let err = build_err(&format!("input_shape = [3]\nlayers = [{layers}]\n"));
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
    }
    for shape in ["[]", "[0]", "[3, 0]"] {
        let err = build_err(&format!("input_shape = {shape}\nlayers = []\n"));
        assert!(err.contains("input_shape"), "{err}");
    }
}

/// `alpha_dropout` puts an `AlphaDropout` after each hidden activation, as `dropout` puts a
/// `Dropout`; it reads from and writes to a file; it is refused outside [0, 1] and
/// together with `dropout`, naming the field.
#[test]
fn an_mlp_with_alpha_dropout() {
    let mut mlp = MlpSpec::new(&[5, 7, 7, 2], "selu".parse().expect("valid"));
    mlp.alpha_dropout = 0.1;
    let s = mlp.to_spec().expect("valid");
    let kinds: Vec<&str> = s.layers.iter().map(LayerSpec::kind_name).collect();
    assert_eq!(
        kinds,
        [
            "Linear",
            "Activation",
            "AlphaDropout",
            "Linear",
            "Activation",
            "AlphaDropout",
            "Linear"
        ]
    );
    let net = Network::<f64>::build(&s, 0).expect("builds");
    assert!(
        net.to_string()
            .contains("(2): AlphaDropout(p=0.1, inplace=False)"),
        "{net}"
    );
    let text = toml::to_string(&mlp).expect("serializes");
    assert!(text.contains("alpha_dropout = 0.1"), "{text}");
    assert_eq!(toml::from_str::<MlpSpec>(&text).expect("reads back"), mlp);
    for p in [1.5, -0.5, f64::NAN] {
        mlp.alpha_dropout = p;
        let err = mlp
            .to_spec()
            .expect_err("invalid alpha dropout")
            .to_string();
        assert!(
            err.contains("alpha_dropout") && err.contains("[0, 1]"),
            "{err}"
        );
    }
    mlp.alpha_dropout = 0.1;
    mlp.dropout = 0.1;
    let err = mlp.to_spec().expect_err("both dropouts").to_string();
    assert!(
        err.contains("alpha_dropout") && err.contains("one of them"),
        "{err}"
    );
}

#[test]
fn invalid_mlps_are_errors() {
    let relu = "relu".parse().expect("valid");
    for widths in [&[][..], &[4][..], &[4, 0, 2][..]] {
        let err = MlpSpec::new(widths, relu)
            .to_spec()
            .expect_err("invalid widths");
        assert!(err.to_string().contains(&format!("{widths:?}")), "{err}");
    }
    for p in [1.5, -0.5, f64::NAN] {
        let mut mlp = MlpSpec::new(&[4, 3, 2], relu);
        mlp.dropout = p;
        let err = mlp.to_spec().expect_err("invalid dropout");
        assert!(err.to_string().contains("dropout"), "{err}");
    }
    // p = 1 is PyTorch's too: accepted.
    let mut mlp = MlpSpec::new(&[4, 3, 2], relu);
    mlp.dropout = 1.0;
    assert!(mlp.to_spec().is_ok());
}

#[test]
fn an_mlp_config_with_an_unknown_field_is_refused() {
    let err = serde_json::from_str::<MlpSpec>(
        r#"{"widths": [4, 2], "activation": "relu", "init": null, "batch_norm": false,
            "residual": false, "dropout": 0.0, "head": "logits", "batchnorm": true}"#,
    )
    .expect_err("unknown field");
    assert!(
        err.to_string().contains("unknown field `batchnorm`"),
        "{err}"
    );
}

#[test]
fn an_input_of_the_wrong_width_is_an_error_at_the_forward_pass() {
    let mut net = Network::<f32>::build(&spec(PYTORCH_SEED), 0).expect("builds");
    let err = net
        .predict(&ndarray::Array2::zeros((2, 783)).view())
        .expect_err("783 ≠ 784");
    assert!(err.to_string().contains("783"), "{err}");
}

#[test]
fn samples_of_several_axes_are_predicted_and_a_wrong_sample_shape_is_an_error() {
    let spec = gradwell_nn::ModelSpec::parse(
        r#"{"input_shape": [2, 3], "layers": [
            {"type": "flatten"}, {"type": "linear", "out_features": 4}]}"#,
    )
    .expect("valid spec");
    let mut net = Network::<f32>::build(&spec, 0).expect("builds");
    let x = ndarray::ArrayD::from_shape_fn(vec![5, 2, 3], |i| (i[0] + i[1] * 3 + i[2]) as f32);
    let y = net.predict_dyn(&x.view()).expect("runs");
    assert_eq!(y.shape(), &[5, 4]);
    // The same samples flattened by hand through `predict` give the same outputs.
    let flat = x.clone().into_shape_with_order((5, 6)).expect("contiguous");
    let mut flat_net = Network::<f32>::build(
        &gradwell_nn::ModelSpec::parse(
            r#"{"input_shape": [6], "layers": [{"type": "linear", "out_features": 4}]}"#,
        )
        .expect("valid spec"),
        0,
    )
    .expect("builds");
    assert_eq!(
        y.into_dimensionality::<ndarray::Ix2>().expect("2-D"),
        flat_net.predict(&flat.view()).expect("runs")
    );
    let err = net
        .predict_dyn(&ndarray::ArrayD::zeros(vec![5, 2, 4]).view())
        .expect_err("8 features ≠ 6");
    assert!(err.to_string().contains('8'), "{err}");
}

/// The MLP as a config file holds it: every field optional (the defaults are
/// `MlpSpec::default`'s), names as on a command line, `widths` or `hidden`.
#[test]
fn an_mlp_reads_from_a_file_with_hidden_or_all_widths() {
    let default: MlpSpec = toml::from_str("").expect("an empty MLP section");
    assert_eq!(default, MlpSpec::default());
    assert_eq!(
        default.widths,
        MlpWidths::Hidden(gradwell_nn::DEFAULT_HIDDEN.to_vec())
    );
    let mlp: MlpSpec = toml::from_str(
        "hidden = [8, 8]\nactivation = \"tanh\"\ninit = \"xavier-normal\"\nbias_init = \"zeros\"\n\
         batch_norm = true\nbatch_norm_weight_init = 0.5\nresidual = true\nzero_init_residual = true\n\
         dropout = 0.25\n",
    )
    .expect("valid");
    assert_eq!(mlp.widths, MlpWidths::Hidden(vec![8, 8]));
    assert_eq!(
        mlp.bias_init,
        Some(gradwell_init::Init::Zeros(gradwell_init::Zeros))
    );
    assert_eq!(
        mlp.init.map(|i| i.to_string()).as_deref(),
        Some("xavier-normal")
    );
    // The text form survives a round trip, names as text.
    let text = toml::to_string(&mlp).expect("serializes");
    assert!(text.contains("bias_init = \"zeros\""), "{text}");
    assert_eq!(toml::from_str::<MlpSpec>(&text).expect("reads back"), mlp);
    // Hidden widths need the data's before a model exists.
    assert!(
        mlp.to_spec()
            .expect_err("no input width")
            .to_string()
            .contains("fit")
    );
    let fitted = mlp.fit(5, 3).expect("fits");
    assert_eq!(fitted.widths, MlpWidths::All(vec![5, 8, 8, 3]));
    let all: MlpSpec = toml::from_str("widths = [5, 8, 3]").expect("valid");
    assert_eq!(
        all,
        MlpSpec::new(&[5, 8, 3], "relu".parse().expect("valid"))
    );
    for (text, needle) in [
        ("widths = [5, 3]\nhidden = [8]", "not both"),
        ("hidden = [0]", "[0]"),
        ("widths = [5]", "[5]"),
        ("dropout = 1.5", "dropout"),
        ("alpha_dropout = 1.5", "alpha_dropout"),
        ("dropout = 0.1\nalpha_dropout = 0.1", "set one of them"),
        ("batch_norm_weight_init = 0.0", "set batch_norm"),
        ("zero_init_residual = true", "set residual"),
        ("activation = \"rellu\"", "rellu"),
        ("init = \"he-norml\"", "he-norml"),
        ("hiden = [3]", "hiden"),
    ] {
        let err = toml::from_str::<MlpSpec>(text).expect_err(text).to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn an_mlp_checks_its_widths_against_the_data() {
    let mlp = MlpSpec::new(&[784, 128, 10], "relu".parse().expect("valid"));
    let err = mlp.fit(64, 10).expect_err("784 inputs").to_string();
    assert!(err.contains("784") && err.contains("64 features"), "{err}");
    let err = mlp.fit(784, 7).expect_err("10 outputs").to_string();
    assert!(err.contains("10") && err.contains("7 classes"), "{err}");
    assert_eq!(mlp.fit(784, 10).expect("fits"), mlp);
    for (text, widths) in [
        ("784-128-10", &[784, 128, 10][..]),
        ("256,128", &[256, 128]),
    ] {
        assert_eq!(text.parse::<Widths>().expect(text).0, widths);
    }
    for text in ["64-0-10", "64--128-10", "-5", "abc", ""] {
        assert!(text.parse::<Widths>().is_err(), "{text}");
    }
}

/// Zero-init residual: each residual branch's last weighted layer starts at zero, so
/// with zero biases and ReLU every residual block is the identity at initialization; the
/// batch-norm γ of the other blocks starts at `batch_norm_weight_init`.
#[test]
fn zero_init_residual_starts_each_branch_at_zero() {
    let relu = "relu".parse().expect("valid");
    let mut mlp = MlpSpec::new(&[3, 4, 4, 4, 2], relu);
    mlp.residual = true;
    mlp.zero_init_residual = true;
    mlp.bias_init = Some(gradwell_init::Init::Zeros(gradwell_init::Zeros));
    let mut net = Network::<f64>::build(&mlp.to_spec().expect("valid"), 5).expect("builds");
    let value = |net: &Network<f64>, name: &str| {
        let id = net.param(name).unwrap_or_else(|| panic!("{name} missing"));
        net.tape.params().value(id).to_owned()
    };
    for block in ["2", "3"] {
        let w = value(&net, &format!("{block}.body.0.weight"));
        assert!(w.iter().all(|&v| v == 0.0), "{block}: {w}");
    }
    // The blocks are the identity: the output is W_out · relu(W_in · x).
    let x = ndarray::array![[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]];
    let w_in = value(&net, "0.weight")
        .into_dimensionality::<ndarray::Ix2>()
        .expect("2-D");
    let w_out = value(&net, "4.weight")
        .into_dimensionality::<ndarray::Ix2>()
        .expect("2-D");
    let expected = x.dot(&w_in.t()).mapv(|v: f64| v.max(0.0)).dot(&w_out.t());
    let got = net.predict(&x.view()).expect("runs");
    for (g, e) in got.iter().zip(&expected) {
        assert!((g - e).abs() <= 1e-12, "{got} vs {expected}");
    }
    // Without it the branches start at random weights.
    mlp.zero_init_residual = false;
    let plain = Network::<f64>::build(&mlp.to_spec().expect("valid"), 5).expect("builds");
    assert!(value(&plain, "2.body.0.weight").iter().any(|&v| v != 0.0));
    // With batch norm, the branch's γ starts at zero and the other batch norms' γ at the
    // configured value.
    let mut bn = MlpSpec::new(&[3, 4, 4, 2], relu);
    bn.batch_norm = true;
    bn.batch_norm_weight_init = 0.5;
    bn.residual = true;
    bn.zero_init_residual = true;
    let net = Network::<f64>::build(&bn.to_spec().expect("valid"), 5).expect("builds");
    assert!(value(&net, "1.weight").iter().all(|&v| v == 0.5));
    assert!(value(&net, "3.body.1.weight").iter().all(|&v| v == 0.0));
    assert!(value(&net, "3.body.0.weight").iter().any(|&v| v != 0.0));
}
