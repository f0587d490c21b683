//! Rebuilds the seed's PyTorch model (Linear 784→128 and 128→10 with Kaiming normal
//! weights, ReLU, log-softmax) from `pytorch_seed.toml` and prints it as PyTorch's
//! `print(model)` does.
//!
//! Run with `cargo run -p gradwell-nn --example pytorch_seed`.

use gradwell_nn::{ModelSpec, Network, NnError};

fn main() -> Result<(), NnError> {
    let spec = ModelSpec::parse(include_str!("pytorch_seed.toml"))?;
    let net = Network::<f32>::build(&spec, 42)?;
    println!("{net}");
    let (trainable, _) = net.num_params();
    println!("{trainable} trainable parameters");
    Ok(())
}
