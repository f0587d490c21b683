//! Integration tests of gradwell-train, one binary with a module per area.

mod alloc;
mod checkpoint;
mod config;
mod corpus;
mod crash;
mod digits;
mod fashion;
mod lock;
mod lr_find;
mod observer;
#[path = "../../../../fuzz/replay.rs"]
mod replay;
mod targets;

use std::path::PathBuf;

use gradwell_data::{Split, digits};
use gradwell_nn::{MlpSpec, Network};
use gradwell_optim::{OptimizerKind, SgdConfig};
use gradwell_train::{ProgressMode, TrainConfig, Trainer};

/// A fresh, empty directory for one test's files.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("gradwell-train")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}

/// The seed model's shape (one hidden layer of 128, ReLU, He normal, logits) for `inputs`
/// features and 10 classes.
pub fn seed_model(inputs: usize, seed: u64) -> Network<f32> {
    let mut mlp = MlpSpec::new(&[inputs, 128, 10], "relu".parse().unwrap());
    mlp.init = Some("he-normal".parse().unwrap());
    Network::build(&mlp.to_spec().unwrap(), seed).unwrap()
}

/// The digits, 80 % to train and 20 % to test, stratified with a fixed seed.
pub fn digits_split() -> Split {
    digits().unwrap().split(0.2, 42, true).unwrap()
}

/// SGD with momentum, quiet, for the digits.
pub fn digits_config(epochs: u64) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        optimizer: OptimizerKind::Sgd(SgdConfig::default().lr(0.05).momentum(0.9)),
        progress: ProgressMode::Off,
        ..TrainConfig::default()
    }
}

/// A trainer of the seed model on the digits.
pub fn digits_trainer(config: TrainConfig) -> Trainer {
    let split = digits_split();
    Trainer::new(config, seed_model(64, 7), split.train, Some(split.test)).unwrap()
}

/// The weights as safetensors bytes (bit-exact comparison).
pub fn weights(t: &Trainer) -> Vec<u8> {
    t.network().safetensors_bytes().unwrap()
}
