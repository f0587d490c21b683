//! Shared by the integration tests that replay the seed corpus on stable (gradwell-data's
//! and gradwell-train's `tests/it/corpus.rs`, which include this file by path): reading a
//! corpus directory and seeded random mutations of its files.

use std::path::{Path, PathBuf};

/// The corpus directory `fuzz/corpus/<name>`, from a crate's manifest directory
/// (`crates/<crate>`).
pub fn corpus_dir(manifest_dir: &str, name: &str) -> PathBuf {
    Path::new(manifest_dir).join("../../fuzz/corpus").join(name)
}

/// The directory `fuzz/corpus-min/<target>`: what a fuzz campaign on `target` kept,
/// minimized with `cargo fuzz cmin`, from a crate's manifest directory.
pub fn minimized_dir(manifest_dir: &str, target: &str) -> PathBuf {
    Path::new(manifest_dir)
        .join("../../fuzz/corpus-min")
        .join(target)
}

/// A fuzz target's check, as the libraries' `fuzzing` modules export it.
pub type Check = fn(&[u8]);

/// Runs each target's check over every file of its minimized corpus
/// ([`minimized_dir`]), after checking that the corpus holds at least `min_kept` files (so
/// that a corpus gone missing fails rather than passing vacuously).
pub fn replay_minimized(manifest_dir: &str, targets: &[(&str, Check)], min_kept: usize) {
    for &(target, check) in targets {
        let files = corpus(&minimized_dir(manifest_dir, target));
        assert!(
            files.len() >= min_kept,
            "the {target} campaign's corpus has {} files",
            files.len()
        );
        for (_, bytes) in &files {
            check(bytes);
        }
    }
}

/// Every file of a corpus directory as `(file name, bytes)`, sorted by name.
pub fn corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
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

/// Seeded random mutations of a corpus file: flipped, inserted and deleted bytes and cuts.
pub fn mutations(bytes: &[u8], seed: u64, count: usize) -> Vec<Vec<u8>> {
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
