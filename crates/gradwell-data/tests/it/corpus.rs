//! Replays the fuzz targets' seed corpus (`fuzz/corpus/`) through the same checks the
//! targets run, so that the corpus and the checks stay alive on stable.

use std::path::PathBuf;

use gradwell_data::csv::{CsvOptions, parse_csv};
use gradwell_data::fuzzing::{check_csv_bytes, check_idx_bytes};
use gradwell_data::idx::parse_idx;

fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(name);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
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

/// Seeded random mutations of a corpus file: flipped, inserted and deleted bytes and cuts.
fn mutations(bytes: &[u8], seed: u64, count: usize) -> Vec<Vec<u8>> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut m = bytes.to_vec();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..=m.len());
                match rng.random_range(0..4) {
                    0 if at < m.len() => m[at] ^= 1 << rng.random_range(0..8),
                    1 => m.insert(at, rng.random()),
                    2 if at < m.len() => {
                        m.remove(at);
                    }
                    _ => m.truncate(at),
                }
            }
            m
        })
        .collect()
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
