//! The seed model on Fashion-MNIST (Debian's `dataset-fashion-mnist`; CI installs it).

use gradwell_data::fashion_mnist;
use gradwell_optim::{AdamConfig, OptimizerKind};
use gradwell_train::{ProgressMode, TrainConfig, Trainer};

use crate::seed_model;

#[test]
fn seed_model_two_epochs_of_adam_on_fashion_mnist() {
    let split = fashion_mnist(None).unwrap_or_else(|e| {
        panic!("{e} (the test needs the data: apt-get install dataset-fashion-mnist)")
    });
    let config = TrainConfig {
        epochs: 2,
        batch_size: 64,
        seed: 1,
        optimizer: OptimizerKind::Adam(AdamConfig::default()),
        progress: ProgressMode::Off,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(config, seed_model(784, 1), split.train, Some(split.test)).unwrap();
    let report = t.run(&mut []).unwrap();
    let test = report.test.unwrap();
    eprintln!(
        "fashion-mnist, 2 epochs: test {test:?}, {:.0} samples/s",
        report.samples_per_second
    );
    assert_eq!(report.steps, 2 * 938); // 60,000 samples in batches of 64, last one kept
    assert_eq!(test.samples, 10_000);
    // Measured 0.856 and 0.858 with seeds 0 and 1 (and 0.875 after 5 epochs); the bound
    // leaves room for another seed or a change of rounding, not for a broken loop.
    let accuracy = test.accuracy.unwrap();
    assert!(accuracy >= 0.83, "test accuracy {accuracy}");
}
