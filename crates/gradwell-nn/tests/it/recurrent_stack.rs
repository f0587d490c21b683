//! `lstm:128` and friends: the recurrent layers a command line or a `[model]` names, and
//! the model `MlpSpec::sequence_spec` builds from them.

use gradwell_nn::{MlpSpec, MlpWidths, ModelSpec, Network, RecurrentCell, RecurrentStack};

fn layer_types(spec: &ModelSpec) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(&spec.to_json().unwrap()).unwrap();
    json["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let n = l
                .get("num_layers")
                .map_or(String::new(), |n| format!("×{n}"));
            let h = l
                .get("hidden_size")
                .map_or(String::new(), |h| format!(":{h}"));
            let nl = l
                .get("nonlinearity")
                .map_or(String::new(), |v| format!("({})", v.as_str().unwrap()));
            format!("{}{h}{n}{nl}", l["type"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn equal_widths_stack_as_num_layers_and_a_new_width_starts_a_layer() {
    let s: RecurrentStack = "LSTM:8,8,4".parse().unwrap();
    assert_eq!(s.cell, RecurrentCell::Lstm);
    let mlp = MlpSpec {
        widths: MlpWidths::Hidden(Vec::new()),
        recurrent: Some(s),
        ..MlpSpec::default()
    };
    let spec = mlp.sequence_spec(7, 3, 2, false).unwrap();
    assert_eq!(spec.input_shape, [7, 3]);
    assert_eq!(
        layer_types(&spec),
        ["lstm:8×2", "lstm:4×1", "last_step", "linear"]
    );
    assert_eq!(spec.output_shape().unwrap(), [2]);
    // Per step: no last_step, a read-out at every step.
    let per_step = mlp.sequence_spec(7, 3, 5, true).unwrap();
    assert_eq!(per_step.output_shape().unwrap(), [7, 5]);
    Network::<f32>::build(&per_step, 0).unwrap();
}

#[test]
fn every_cell_is_named_as_written_and_builds() {
    for (text, first) in [
        ("rnn:6", "rnn:6×1(tanh)"),
        ("rnn-relu:6", "rnn:6×1(relu)"),
        ("gru:6", "gru:6×1"),
        ("lstm:6", "lstm:6×1"),
    ] {
        let s: RecurrentStack = text.parse().unwrap();
        assert_eq!(s.to_string(), text);
        let mlp = MlpSpec {
            widths: MlpWidths::Hidden(vec![4]),
            recurrent: Some(s),
            ..MlpSpec::default()
        };
        let spec = mlp.sequence_spec(5, 2, 3, false).unwrap();
        assert_eq!(layer_types(&spec)[0], first);
        assert_eq!(spec.output_shape().unwrap(), [3]);
        Network::<f32>::build(&spec, 1).unwrap();
    }
}

#[test]
fn a_model_section_names_recurrent_layers_and_reads_them_out_linearly_by_default() {
    let mlp: MlpSpec = serde_json::from_str(r#"{"recurrent": "gru:16"}"#).unwrap();
    assert_eq!(mlp.widths, MlpWidths::Hidden(Vec::new()));
    assert_eq!(mlp.recurrent, Some("gru:16".parse().unwrap()));
    let text = serde_json::to_string(&mlp).unwrap();
    assert!(text.contains(r#""recurrent":"gru:16""#), "{text}");
    let e = serde_json::from_str::<MlpSpec>(r#"{"recurrent": "gru:16", "batch_norm": true}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not apply after recurrent layers"), "{e}");
    let e = mlp.to_spec().unwrap_err().to_string();
    assert!(e.contains("sequence_spec"), "{e}");
    for bad in ["lstm", "lstm:", "lstm:0", "tcn:8"] {
        assert!(bad.parse::<RecurrentStack>().is_err(), "{bad}");
    }
}

#[test]
fn recurrent_init_reaches_every_recurrent_layer_and_needs_one() {
    let mlp: MlpSpec =
        serde_json::from_str(r#"{"recurrent": "rnn:6,6,4", "recurrent_init": "orthogonal:0.5"}"#)
            .unwrap();
    let spec = mlp.sequence_spec(5, 2, 1, false).unwrap();
    let json: serde_json::Value = serde_json::from_str(&spec.to_json().unwrap()).unwrap();
    let inits: Vec<&str> = json["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.get("recurrent_init")?.as_str())
        .collect();
    assert_eq!(inits, ["orthogonal:0.5", "orthogonal:0.5"]);
    // Every singular value of an orthogonal matrix times 0.5 is 0.5: WᵀW = 0.25·I.
    let net = Network::<f64>::build(&spec, 3).unwrap();
    let w = net
        .tape
        .params()
        .value(net.param("0.weight_hh_l0").unwrap())
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .to_owned();
    for ((i, j), x) in w.t().dot(&w).indexed_iter() {
        let want = if i == j { 0.25 } else { 0.0 };
        assert!((x - want).abs() < 1e-12, "WᵀW[{i}, {j}] = {x}");
    }
    // Without recurrent layers it names itself.
    let e = serde_json::from_str::<MlpSpec>(r#"{"recurrent_init": "orthogonal"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("recurrent_init"), "{e}");
}
