//! The gradwell training loop: a [`TrainConfig`] (TOML or JSON, validated once), a
//! [`Trainer`] that runs epochs of shuffled mini-batches on a [`gradwell_nn::Network`]
//! with any optimizer, schedule, clipping and weight decay of `gradwell-optim`, metrics
//! per epoch on the training, validation and test sets, a progress bar in a terminal and
//! log lines elsewhere, an [`Observer`] hook for tools such as the gradient-health
//! monitor, and checkpoints that survive a crash.
//!
//! # Checkpoints and exact resume
//!
//! A checkpoint ([`checkpoint`]) holds the weights, the optimizer's state, the schedule's
//! state, the batcher's position and RNG, the dropout RNG, the step and epoch, the
//! running metrics and the config, in one file with a CRC-32 checksum, written atomically
//! (temporary file, fsync, rename) every N steps and at each epoch's end; the newest few
//! *valid* ones are kept (a corrupt file is left alone and never counted, so it cannot
//! push a valid checkpoint out). [`Trainer::resume`] continues from the newest valid one,
//! skipping corrupt or partial files (listed in its outcome); with checkpoint files present
//! but none valid it refuses, listing each file and why, and changes nothing. Every field
//! of a checkpoint is checked before anything is allocated from it. The resumed run is
//! bit-for-bit the run that was interrupted: same batches, same dropout masks, same
//! updates, same final weights.
//!
//! # Epochs and a step budget
//!
//! A run ends after `epochs` epochs or, with a step budget ([`TrainConfig::steps`]),
//! after that many optimizer steps, whichever comes first ([`TrainConfig::total_steps`]);
//! a budget that runs out in the middle of an epoch stops the run there (that epoch is
//! not recorded as finished) and writes a checkpoint of that point, so that a run resumed
//! with a larger budget continues exactly. Resumed from a checkpoint at its own end, a run
//! is finished ([`Trainer::is_finished`]) and takes no step; a checkpoint past the run's
//! end (a smaller budget than its step) is refused, and [`Checkpoint::check`] refuses one
//! whose step is past its own budget.
//!
//! # Evaluation between steps
//!
//! An [`Observer`] may evaluate the network at the end of any step, on the validation or
//! test set or any data set, in evaluation mode, through the [`EvalContext`] that
//! [`Observer::on_step_end`] gets; the rest of the run is the same, bit for bit.
//!
//! A trainer with a checkpoint directory creates it and takes its lock ([`lock::DirLock`])
//! before its first step, and holds it until it is dropped: a second process on the same
//! directory is refused (naming the first one's pid) instead of pruning its checkpoints.
//!
//! # The learning-rate range test
//!
//! [`Trainer::lr_find`] trains a few hundred steps at a rate growing geometrically
//! ([`LrRangeTest`]; Smith 2017, with fastai's defaults), records the smoothed loss against
//! the rate, suggests a rate ([`LrFindReport::suggestion`]) and puts the trainer back
//! exactly as it was.
//!
//! # Design choice: what the crate does not know
//!
//! The trainer knows the network only through [`gradwell_nn::Network`] (a tape with its
//! parameters, a forward pass) and the optimizer only through the
//! [`gradwell_optim::Optimizer`] trait over flat parameter slots; it knows nothing of the
//! monitor, which plugs in through [`Observer`]. The loss follows the data's targets
//! ([`targets`]): cross-entropy on logits for a class per sample or per step of a
//! sequence, the mean squared error for real targets.
//!
//! ```
//! use gradwell_data::digits;
//! use gradwell_nn::{MlpSpec, Network};
//! use gradwell_train::{TrainConfig, Trainer};
//!
//! let split = digits()?.split(0.2, 42, true)?;
//! let spec = MlpSpec::new(&[64, 32, 10], "relu".parse()?).to_spec()?;
//! let net = Network::<f32>::build(&spec, 42)?;
//! let config = TrainConfig::from_toml_str(r#"
//!     epochs = 3
//!     batch_size = 32
//!     progress = "off"
//!     [optimizer]
//!     kind = "sgd"
//!     lr = 0.1
//!     momentum = 0.9
//! "#, "example")?;
//! let report = Trainer::new(config, net, split.train, Some(split.test))?.run(&mut [])?;
//! assert_eq!(report.epochs.len(), 3);
//! println!("{}", report.to_json());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

pub mod checkpoint;
mod config;
mod error;
pub mod fuzzing;
pub mod lock;
pub mod names;
mod observer;
mod progress;
pub mod targets;
mod trainer;

pub use checkpoint::Checkpoint;
pub use config::{CheckpointConfig, DEFAULT_EPOCHS, Preprocess, ProgressMode, TrainConfig};
pub use error::{Result, TrainError};
pub use observer::{EpochMetrics, EvalContext, EvalMetrics, Observer, StepView};
pub use trainer::{
    LrFindReport, LrPoint, LrRangeTest, LrSuggestion, Prediction, ResumeOutcome, SmoothedLoss,
    TrainReport, Trainer, epoch_number, evaluate, predict_classes,
};
