//! Replays the checkpoint fuzz target's seed corpus (`fuzz/corpus/checkpoint/`) through the
//! same check the target runs, so that the corpus and the check stay alive on stable.
//! `GRADWELL_WRITE_CORPUS=1 cargo test -p gradwell-train --test it corpus::write_seed_corpus
//! -- --ignored` rewrites the corpus.

use std::path::PathBuf;

use gradwell_nn::{MlpSpec, Network};
use gradwell_optim::{OptimizerKind, PlateauConfig, ScheduleKind, SgdConfig};
use gradwell_train::checkpoint::{Checkpoint, HEADER_LEN};
use gradwell_train::fuzzing::{check_checkpoint_bytes, check_sealed_checkpoint_bytes, sealed};
use gradwell_train::{TrainConfig, TrainError, Trainer};

use crate::replay::{self, mutations};
use crate::{digits_config, digits_split};

fn corpus_dir() -> PathBuf {
    replay::corpus_dir(env!("CARGO_MANIFEST_DIR"), "checkpoint")
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    replay::corpus(&corpus_dir())
}

/// The length field of the header at byte `at` (12: metadata, 20: weights, 28: optimizer).
pub fn len_at(b: &[u8], at: usize) -> usize {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize
}

/// `bytes` with the metadata rewritten by `edit` (as JSON), the header's length and the
/// checksum made to fit: a crafted checkpoint that only the later checks can refuse.
pub fn rewrite_meta(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let meta_len = len_at(bytes, 12);
    let mut meta: serde_json::Value =
        serde_json::from_slice(&bytes[HEADER_LEN..HEADER_LEN + meta_len]).unwrap();
    edit(&mut meta);
    let meta = serde_json::to_vec(&meta).unwrap();
    let mut out = bytes[..HEADER_LEN].to_vec();
    out[12..20].copy_from_slice(&(meta.len() as u64).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(&bytes[HEADER_LEN + meta_len..]);
    sealed(&out)
}

/// `bytes` with the `index`th f32 of the optimizer buffers set to `value`, sealed.
pub fn set_optimizer_value(bytes: &[u8], index: usize, value: f32) -> Vec<u8> {
    let at = bytes.len() - len_at(bytes, 28) + 4 * index;
    let mut b = bytes.to_vec();
    b[at..at + 4].copy_from_slice(&value.to_le_bytes());
    sealed(&b)
}

/// Refusals derived from valid checkpoints (a mid-epoch SGD one and an AMSGrad one), each
/// of which got past the loader's checks, or panicked in the round trip, before they were
/// added: all with valid checksums.
fn derived_seeds(sgd: &[u8], amsgrad: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let first_len = |b: &[u8]| {
        let meta: serde_json::Value =
            serde_json::from_slice(&b[HEADER_LEN..HEADER_LEN + len_at(b, 12)]).unwrap();
        meta["optimizer"]["params"][0]["len"].as_u64().unwrap() as usize
    };
    vec![
        (
            // Decoded, re-encoded in another order, and failed the round trip.
            "sealed-adam-buffers-out-of-order",
            rewrite_meta(amsgrad, |m| {
                m["optimizer"]["params"][0]["buffers"] =
                    serde_json::json!(["exp_avg_sq", "exp_avg", "max_exp_avg_sq"]);
            }),
        ),
        (
            // NaN != NaN: decoded, and failed the round trip.
            "sealed-nan-init",
            rewrite_meta(sgd, |m| {
                m["model"]["layers"][0]["init"] = "constant:nan".into();
            }),
        ),
        (
            // Allocated 8 PB when resumed.
            "sealed-huge-batcher",
            rewrite_meta(sgd, |m| {
                m["batcher"]["len"] = 1_000_000_000_000_000u64.into()
            }),
        ),
        (
            // Overflowed the step counter when resumed.
            "sealed-last-step",
            rewrite_meta(sgd, |m| m["step"] = u64::MAX.into()),
        ),
        (
            // `exp_avg_sq`, the second buffer of the first parameter.
            "sealed-negative-second-moment",
            set_optimizer_value(amsgrad, first_len(amsgrad), -1.0),
        ),
    ]
}

/// A small checkpoint (a 64-8-10 network on the digits) after `epochs` epochs.
fn small_checkpoint(config: TrainConfig, stop_at: Option<u64>) -> Vec<u8> {
    use std::ops::ControlFlow;
    struct StopAt(u64);
    impl gradwell_train::Observer for StopAt {
        fn on_step(&mut self, s: &gradwell_train::StepView<'_>) -> ControlFlow<String> {
            if s.step == self.0 {
                ControlFlow::Break("stop".into())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    let split = digits_split();
    let spec = MlpSpec::new(&[64, 8, 10], "relu".parse().unwrap())
        .to_spec()
        .unwrap();
    let net = Network::build(&spec, 1).unwrap();
    let mut t = Trainer::new(config, net, split.train, Some(split.test)).unwrap();
    match stop_at {
        Some(s) => t.run(&mut [&mut StopAt(s)]).unwrap(),
        None => t.run(&mut []).unwrap(),
    };
    t.checkpoint().unwrap().encode()
}

fn seed_files() -> Vec<(&'static str, Vec<u8>)> {
    let sgd = small_checkpoint(digits_config(1), Some(20));
    let mut adam = digits_config(2);
    adam.optimizer = OptimizerKind::Adam(gradwell_optim::AdamConfig::default().amsgrad(true));
    let adam = small_checkpoint(adam, None);
    let mut plateau = digits_config(1);
    plateau.validation_fraction = 0.1;
    plateau.label_smoothing = 0.1;
    plateau.schedule = ScheduleKind::Plateau(PlateauConfig::default()).into();
    plateau.optimizer = OptimizerKind::Sgd(SgdConfig::default().lr(0.01));
    let plateau = small_checkpoint(plateau, None);

    let meta_len = len_at(&sgd, 12);
    let weights_len = len_at(&sgd, 20);
    let flip = |at: usize| {
        let mut b = sgd.clone();
        b[at] ^= 0x04;
        b
    };
    let mut bad_magic = sgd.clone();
    bad_magic[0] = b'X';
    let mut bad_version = sgd.clone();
    bad_version[8] = 2;
    let mut huge = sgd.clone();
    huge[12..20].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
    let mut extended = sgd.clone();
    extended.extend_from_slice(b"tail");
    // Valid checksums over bad contents.
    let mut garbage_meta = sgd[..HEADER_LEN].to_vec();
    garbage_meta[12..20].copy_from_slice(&2u64.to_le_bytes());
    garbage_meta.extend_from_slice(b"{}");
    garbage_meta.extend_from_slice(&sgd[HEADER_LEN + meta_len..]);
    let mut nan_state = sgd.clone();
    let at = HEADER_LEN + meta_len + weights_len;
    nan_state[at..at + 4].copy_from_slice(&f32::NAN.to_bits().to_le_bytes());
    let mut bad_weights = sgd.clone();
    bad_weights[HEADER_LEN + meta_len..HEADER_LEN + meta_len + 8].fill(0xff);
    let derived = derived_seeds(&sgd, &adam);
    let mut seeds = vec![
        ("valid-sgd-mid-epoch", sgd.clone()),
        ("valid-amsgrad-epoch-end", adam),
        ("valid-plateau-validation", plateau),
        ("empty", Vec::new()),
        ("truncated-header", sgd[..20].to_vec()),
        ("truncated-payload", sgd[..sgd.len() - 100].to_vec()),
        ("extended", extended),
        ("flipped-length", flip(13)),
        ("flipped-meta", flip(HEADER_LEN + meta_len / 2)),
        (
            "flipped-weights",
            flip(HEADER_LEN + meta_len + weights_len / 2),
        ),
        ("flipped-optimizer", flip(sgd.len() - 3)),
        ("bad-magic", bad_magic),
        ("bad-version", bad_version),
        ("huge-length", huge),
        ("sealed-garbage-meta", sealed(&garbage_meta)),
        ("sealed-nan-optimizer-state", sealed(&nan_state)),
        ("sealed-bad-weights", sealed(&bad_weights)),
    ];
    seeds.extend(derived);
    seeds
}

#[test]
#[ignore = "rewrites the seed corpus; run by hand after a format change"]
fn write_seed_corpus() {
    if std::env::var_os("GRADWELL_WRITE_CORPUS").is_none() {
        return;
    }
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seed_files() {
        std::fs::write(dir.join(format!("{name}.gwck")), bytes).unwrap();
    }
}

#[test]
fn checkpoint_corpus_passes_the_fuzz_check() {
    let files = corpus();
    assert!(
        files.len() >= 15,
        "the checkpoint corpus has {} files",
        files.len()
    );
    let mut valid = 0;
    for (name, bytes) in &files {
        check_checkpoint_bytes(bytes);
        let ok = Checkpoint::decode(bytes, name).is_ok();
        // Files are named for what they are: `valid-*` decode, the rest are refused.
        assert_eq!(ok, name.starts_with("valid-"), "{name}");
        valid += usize::from(ok);
    }
    assert_eq!(valid, 3);
}

/// Regressions: inputs that a CRC-valid checkpoint could use to make the check panic or a
/// resumed run abort, derived from the committed valid seeds exactly as the committed
/// `sealed-*` seeds were; each is now refused with an error naming the field.
#[test]
fn sealed_impossible_checkpoints_are_refused_naming_the_field() {
    let dir = corpus_dir();
    let read = |name: &str| std::fs::read(dir.join(format!("{name}.gwck"))).unwrap();
    let derived = derived_seeds(
        &read("valid-sgd-mid-epoch"),
        &read("valid-amsgrad-epoch-end"),
    );
    let expected = [
        (
            "sealed-adam-buffers-out-of-order",
            "are listed as [\"exp_avg_sq\", \"exp_avg\", \"max_exp_avg_sq\"]: this format lists them in name order",
        ),
        (
            "sealed-nan-init",
            "`model.layers[0]` does not survive re-encoding",
        ),
        (
            "sealed-huge-batcher",
            "`batcher.len` is 1000000000000000 but `data.train` is 1438",
        ),
        (
            "sealed-last-step",
            "`step` 18446744073709551615 is more than the batches handed out",
        ),
        (
            "sealed-negative-second-moment",
            "buffer `exp_avg_sq` holds -1 at element 0, but it accumulates squares",
        ),
    ];
    assert_eq!(derived.len(), expected.len());
    for ((name, bytes), (want_name, needle)) in derived.iter().zip(expected) {
        assert_eq!(*name, want_name);
        // The committed seed is this very input.
        assert_eq!(bytes, &read(name), "{name}: the committed seed differs");
        check_checkpoint_bytes(bytes);
        match Checkpoint::decode(bytes, name) {
            Err(TrainError::Checkpoint { origin, why }) => {
                assert_eq!(origin, *name);
                assert!(
                    why.contains(needle),
                    "{name}: `{needle}` missing from {why}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn mutated_corpus_files_are_refused_without_a_panic() {
    for (i, (_, bytes)) in corpus().iter().enumerate() {
        for m in mutations(bytes, i as u64, 50) {
            check_checkpoint_bytes(&m);
        }
        // Mutations that keep the checksum valid reach the parsers.
        for m in mutations(bytes, 100 + i as u64, 50) {
            if m.len() >= HEADER_LEN {
                check_sealed_checkpoint_bytes(&m);
            }
        }
    }
}

/// Every input the fuzz campaigns kept (`fuzz/corpus-min/`, minimized) still passes the
/// targets' checks: the campaigns' coverage, replayed on stable as a regression test.
/// Fewer than 20 files would mean a corpus went missing.
#[test]
fn the_fuzz_campaigns_minimized_corpora_pass_the_checks() {
    replay::replay_minimized(
        env!("CARGO_MANIFEST_DIR"),
        &[
            ("checkpoint", check_checkpoint_bytes),
            ("checkpoint_sealed", check_sealed_checkpoint_bytes),
        ],
        20,
    );
}
