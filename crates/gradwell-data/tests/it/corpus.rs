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
