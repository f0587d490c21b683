//! Rebuilds the seed's Keras model (Dense 784→128 ReLU with Keras's He normal, Dense
//! 128→10 softmax) from `keras_seed.toml` and prints its summary.
//!
//! Run with `cargo run -p gradwell-nn --example keras_seed`.

use gradwell_nn::{ModelSpec, Network, NnError};

fn main() -> Result<(), NnError> {
    let spec = ModelSpec::parse(include_str!("keras_seed.toml"))?;
    let net = Network::<f32>::build(&spec, 42)?;
    print!("{}", net.summary());
    Ok(())
}
