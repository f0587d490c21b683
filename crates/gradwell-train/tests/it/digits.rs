//! The seed model on the embedded digits: accuracy and determinism.

use crate::{digits_config, digits_trainer, weights};

#[test]
fn seed_model_reaches_95_percent_on_the_digits() {
    let mut t = digits_trainer(digits_config(20));
    let (train_len, test_len) = (t.train_set().len(), t.test_set().unwrap().len());
    assert_eq!(train_len + test_len, gradwell_data::DIGITS_LEN);
    let report = t.run(&mut []).unwrap();
    let test = report.test.unwrap();
    eprintln!(
        "digits: test {test:?}, {:.0} samples/s",
        report.samples_per_second
    );
    assert_eq!(test.samples, test_len);
    let accuracy = test.accuracy.unwrap();
    assert!(accuracy >= 0.95, "test accuracy {accuracy}");
    assert_eq!(report.epochs.len(), 20);
    assert_eq!(report.steps, 20 * train_len.div_ceil(32) as u64); // last batch kept
    // Training made progress: the loss of the last epoch is well below the first's.
    assert!(report.epochs[19].train_loss < report.epochs[0].train_loss / 4.0);
}

#[test]
fn one_seed_gives_bit_identical_weights() {
    let run = || {
        let mut config = digits_config(3);
        config.seed = 11;
        let mut t = digits_trainer(config);
        t.run(&mut []).unwrap();
        weights(&t)
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    // And another seed gives other weights (the comparison can fail).
    let mut config = digits_config(3);
    config.seed = 12;
    let mut t = digits_trainer(config);
    t.run(&mut []).unwrap();
    assert_ne!(weights(&t), a);
}
