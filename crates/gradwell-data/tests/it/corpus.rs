//! Replays the fuzz targets' seed corpus (`fuzz/corpus/`) through the same checks the
//! targets run, so that the corpus and the checks stay alive on stable.

use gradwell_data::csv::{CsvOptions, parse_csv};
use gradwell_data::fuzzing::{check_csv_bytes, check_idx_bytes};
use gradwell_data::idx::parse_idx;

use crate::replay::{self, mutations};

fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    replay::corpus(&replay::corpus_dir(env!("CARGO_MANIFEST_DIR"), name))
}

#[test]
fn idx_corpus_passes_the_fuzz_checks() {
    let files = corpus("idx");
    assert!(
        files.len() >= 10,
        "the IDX corpus has {} files",
        files.len()
    );
    let mut valid = 0;
    for (name, bytes) in &files {
        check_idx_bytes(bytes);
        let ok = parse_idx(bytes, name).is_ok();
        // Files are named for what they are: `valid-*` parse, the rest are refused.
        assert_eq!(ok, name.starts_with("valid-"), "{name}");
        valid += usize::from(ok);
    }
    assert!(valid >= 3);
}

#[test]
fn csv_corpus_passes_the_fuzz_checks() {
    let files = corpus("csv");
    assert!(
        files.len() >= 10,
        "the CSV corpus has {} files",
        files.len()
    );
    let malformed = [
        "non-numeric",
        "ragged",
        "negative-label",
        "fractional-label",
        "empty",
        "header-only",
        "nan",
        "infinite",
        "non-utf8",
        "single-column",
        "huge-label",
        "label-gap",
        "overlong-label",
        "corrupt",
    ];
    for (name, bytes) in &files {
        check_csv_bytes(bytes);
        let bad = malformed.iter().any(|m| name.starts_with(&format!("{m}.")));
        assert_eq!(
            parse_csv(bytes, name, &CsvOptions::default()).is_err(),
            bad,
            "{name}"
        );
    }
}

#[test]
fn mutated_corpus_files_keep_the_properties() {
    // A stable stand-in for a short fuzzing run: every mutation must parse or be refused
    // with a named error, never panic, and parsed results must round-trip.
    for (i, (_, bytes)) in corpus("idx").iter().enumerate() {
        for m in mutations(bytes, i as u64, 200) {
            check_idx_bytes(&m);
        }
    }
    for (i, (_, bytes)) in corpus("csv").iter().enumerate() {
        for m in mutations(bytes, 1000 + i as u64, 200) {
            check_csv_bytes(&m);
        }
    }
}

/// Every input the fuzz campaigns kept (`fuzz/corpus-min/`, minimized) still passes the
/// targets' checks: the campaigns' coverage, replayed on stable as a regression test.
/// Fewer than 100 files would mean a corpus went missing.
#[test]
fn the_fuzz_campaigns_minimized_corpora_pass_the_checks() {
    replay::replay_minimized(
        env!("CARGO_MANIFEST_DIR"),
        &[("idx", check_idx_bytes), ("csv", check_csv_bytes)],
        100,
    );
}
