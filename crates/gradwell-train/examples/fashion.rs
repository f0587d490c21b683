//! The seed model (784-128-10, ReLU, He normal, cross-entropy on logits) on Fashion-MNIST,
//! with a choice of recipes:
//!
//! ```text
//! cargo run --release -p gradwell-train --example fashion -- [RECIPE] [SEED]
//! ```
//!
//! - `sgd`: the seed's recipe, 5 epochs of SGD (lr 0.1, momentum 0.9), batch 64, pixels
//!   scaled to [0, 1];
//! - `adam`: 5 epochs of Adam (PyTorch's defaults), batch 64, pixels scaled to [0, 1];
//! - `best` (the default): the recommended recipe, see [`best`].
//!
//! It needs the data: `apt-get install dataset-fashion-mnist`. The report is printed as
//! JSON on standard output.

use gradwell_data::fashion_mnist;
use gradwell_nn::{MlpSpec, Network};
use gradwell_optim::{AdamConfig, CosineAnnealingLr, OptimizerKind, ScheduleKind, SgdConfig};
use gradwell_train::{Preprocess, TrainConfig, Trainer};

/// The seed's recipe with plain SGD.
fn sgd() -> TrainConfig {
    TrainConfig {
        epochs: 5,
        batch_size: 64,
        optimizer: OptimizerKind::Sgd(SgdConfig::default().lr(0.1).momentum(0.9)),
        ..TrainConfig::default()
    }
}

/// The seed's recipe with Adam.
fn adam() -> TrainConfig {
    TrainConfig {
        epochs: 5,
        batch_size: 64,
        optimizer: OptimizerKind::Adam(AdamConfig::default()),
        ..TrainConfig::default()
    }
}

/// The recommended recipe: standardized input, Adam (lr 1e-3) annealed to 0 by a
/// per-epoch cosine over 20 epochs, label smoothing 0.1, batch 128.
fn best() -> TrainConfig {
    let epochs = 20;
    TrainConfig {
        epochs,
        batch_size: 128,
        preprocess: Preprocess::Standardize,
        optimizer: OptimizerKind::Adam(AdamConfig::default()),
        schedule: ScheduleKind::Cosine(CosineAnnealingLr {
            t_max: Some(epochs),
            eta_min: 0.0,
        })
        .into(),
        label_smoothing: 0.1,
        ..TrainConfig::default()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let recipe = args.next().unwrap_or_else(|| "best".into());
    let seed: u64 = args.next().map_or(Ok(0), |s| s.parse())?;
    let mut config = match recipe.as_str() {
        "sgd" => sgd(),
        "adam" => adam(),
        "best" => best(),
        other => return Err(format!("unknown recipe `{other}`: sgd, adam or best").into()),
    };
    config.seed = seed;
    let split = fashion_mnist(None)?;
    let mut mlp = MlpSpec::new(&[784, 128, 10], "relu".parse()?);
    mlp.init = Some("he-normal".parse()?);
    let net = Network::<f32>::build(&mlp.to_spec()?, seed)?;
    eprintln!("recipe `{recipe}`, seed {seed}:\n{}", config.to_toml()?);
    let mut trainer = Trainer::new(config, net, split.train, Some(split.test))?;
    let report = trainer.run(&mut [])?;
    println!("{}", report.to_json());
    if let Some(test) = report.test {
        eprintln!(
            "test accuracy {:.4} after {} epochs, {:.1} s, {:.0} samples/s",
            test.accuracy.unwrap_or(f64::NAN),
            report.epochs.len(),
            report.wall_seconds,
            report.samples_per_second
        );
    }
    Ok(())
}
