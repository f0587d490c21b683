//! The gradwell half of the PyTorch interop check run by `fixtures/gen_torch_weights.sh`:
//! builds the seed model and the batch-norm model of the fixtures from their configs, lets
//! batch norm's running statistics move with a few training passes, and writes to OUT_DIR
//! `rust_seed.safetensors`, `rust_bn.safetensors` and `rust_outputs.json` (the fixtures'
//! input batches and gradwell's eval-mode outputs on them), which PyTorch then loads.
//!
//! Run with `cargo run -p gradwell-nn --example torch_interop -- OUT_DIR`.

use std::error::Error;
use std::path::{Path, PathBuf};

use gradwell_nn::{ModelSpec, Network};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: torch_interop OUT_DIR")?,
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let torch: Value = serde_json::from_str(&std::fs::read_to_string(
        fixtures.join("torch_outputs.json"),
    )?)?;
    let mut outputs = serde_json::Map::new();
    for (name, config) in [
        ("seed", include_str!("pytorch_seed.toml")),
        ("bn", include_str!("../fixtures/torch_bn.toml")),
    ] {
        let input: Vec<Vec<f32>> = serde_json::from_value(torch[name]["input"].clone())?;
        let x = Array2::from_shape_vec(
            (input.len(), input[0].len()),
            input.iter().flatten().copied().collect(),
        )?;
        let mut net = Network::<f32>::build(&ModelSpec::parse(config)?, 7)?;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for step in 0..3 {
            net.tape.reset();
            let v = net.tape.input(x.mapv(|v| 2.0 * v + step as f32).into_dyn());
            net.forward(v, true, &mut rng, None)?;
        }
        net.save_safetensors(&out.join(format!("rust_{name}.safetensors")))?;
        let y = net.predict(&x.view())?;
        let rows = |a: &Array2<f32>| a.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
        outputs.insert(name.into(), json!({ "input": input, "output": rows(&y) }));
    }
    std::fs::write(
        out.join("rust_outputs.json"),
        Value::Object(outputs).to_string(),
    )?;
    Ok(())
}
