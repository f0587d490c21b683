//! The gradwell half of the recurrent PyTorch interop check run by
//! `fixtures/gen_rnn_fixtures.sh`: builds the LSTM and the GRU of the fixtures from their
//! configs (`fixtures/torch_lstm.toml`, `fixtures/torch_gru.toml`) with gradwell's own
//! initialization, and writes to OUT_DIR `rust_lstm.safetensors`, `rust_gru.safetensors` and
//! `rust_rnn_outputs.json` (the fixtures' input sequences and gradwell's outputs on them),
//! which PyTorch then loads into `nn.LSTM` and `nn.GRU` with `load_state_dict(strict=True)`.
//!
//! Run with `cargo run -p gradwell-nn --example rnn_interop -- OUT_DIR`.

use std::error::Error;
use std::path::{Path, PathBuf};

use gradwell_nn::{ModelSpec, Network};
use ndarray::{Array3, ArrayD};
use serde_json::{Value, json};

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: rnn_interop OUT_DIR")?,
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let torch: Value = serde_json::from_str(&std::fs::read_to_string(fixtures.join("rnn.json"))?)?;
    let mut outputs = serde_json::Map::new();
    for (name, config) in [
        ("lstm", include_str!("../fixtures/torch_lstm.toml")),
        ("gru", include_str!("../fixtures/torch_gru.toml")),
    ] {
        let input: Vec<Vec<Vec<f32>>> =
            serde_json::from_value(torch["safetensors"][name]["input"].clone())?;
        let dims = (input.len(), input[0].len(), input[0][0].len());
        let x = Array3::from_shape_vec(dims, input.iter().flatten().flatten().copied().collect())?;
        let mut net = Network::<f32>::build(&ModelSpec::parse(config)?, 7)?;
        net.save_safetensors(&out.join(format!("rust_{name}.safetensors")))?;
        let y: ArrayD<f32> = net.predict_dyn(&x.view().into_dyn())?;
        let y: Vec<Vec<Vec<f32>>> = y
            .outer_iter()
            .map(|s| {
                s.outer_iter()
                    .map(|r| r.iter().copied().collect())
                    .collect()
            })
            .collect();
        outputs.insert(name.into(), json!({ "input": input, "output": y }));
    }
    std::fs::write(
        out.join("rust_rnn_outputs.json"),
        Value::Object(outputs).to_string(),
    )?;
    Ok(())
}
