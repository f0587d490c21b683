use gradwell_data::synthetic::{BlobsConfig, gaussian_blobs};
use gradwell_data::{Batcher, BatcherState, DataError, LastBatch};
use ndarray::Array2;

use crate::alloc::measure;

/// The batches of the next epoch, as index lists.
fn epoch(b: &mut Batcher) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    while let Some(idx) = b.next_indices() {
        out.push(idx.to_vec());
    }
    out
}

#[test]
fn each_epoch_is_a_permutation_cut_into_batches() {
    let mut b = Batcher::new(103, 10, LastBatch::Keep, 1).unwrap();
    assert_eq!(b.batches_per_epoch(), 11);
    let first = epoch(&mut b);
    let sizes: Vec<usize> = first.iter().map(Vec::len).collect();
    assert_eq!(sizes, [vec![10; 10], vec![3]].concat());
    let mut all: Vec<usize> = first.concat();
    all.sort_unstable();
    assert_eq!(all, (0..103).collect::<Vec<_>>());
    // A new shuffle every epoch (the chance of a repeat is 1/103!).
    assert_eq!(b.epoch(), 1);
    assert_ne!(epoch(&mut b).concat(), first.concat());
}

#[test]
fn dropping_the_last_batch_gives_full_batches_only() {
    let mut b = Batcher::new(103, 10, LastBatch::Drop, 1).unwrap();
    assert_eq!(b.batches_per_epoch(), 10);
    for _ in 0..3 {
        let e = epoch(&mut b);
        assert_eq!(e.len(), 10);
        let mut all = e.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 100, "distinct samples within an epoch");
    }
}

#[test]
fn sequential_batches_keep_the_order() {
    let mut b = Batcher::sequential(5, 2, LastBatch::Keep).unwrap();
    for _ in 0..2 {
        assert_eq!(epoch(&mut b), vec![vec![0, 1], vec![2, 3], vec![4]]);
    }
}

#[test]
fn a_seed_fixes_the_batches() {
    let run = |seed| {
        let mut b = Batcher::new(50, 8, LastBatch::Keep, seed).unwrap();
        (0..3).map(|_| epoch(&mut b)).collect::<Vec<_>>()
    };
    assert_eq!(run(4), run(4));
    assert_ne!(run(4), run(5));
}

#[test]
fn shuffles_are_uniform() {
    // Where sample 0 lands among 10 positions over 20,000 epochs: each position has
    // probability 1/10, so the counts follow a multinomial; the chi-square statistic with
    // 9 degrees of freedom exceeds 44.81 with probability 1e-6 (the false-alarm rate).
    let mut b = Batcher::new(10, 10, LastBatch::Keep, 2024).unwrap();
    let mut counts = [0usize; 10];
    for _ in 0..20_000 {
        let order = b.next_indices().unwrap().to_vec();
        counts[order.iter().position(|&i| i == 0).unwrap()] += 1;
        assert!(b.next_indices().is_none());
    }
    let expected = 2000.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 44.81, "chi-square {chi2} for counts {counts:?}");
}

#[test]
fn a_restored_state_sees_exactly_the_same_batches() {
    let reference: Vec<Vec<usize>> = {
        let mut b = Batcher::new(37, 5, LastBatch::Drop, 77).unwrap();
        let mut out = Vec::new();
        for _ in 0..4 {
            out.extend(epoch(&mut b));
            out.push(Vec::new()); // the epoch boundary
        }
        out
    };
    // Interrupt after every number of calls, including just before and after boundaries.
    for stop in 0..reference.len() {
        let mut b = Batcher::new(37, 5, LastBatch::Drop, 77).unwrap();
        let mut seen: Vec<Vec<usize>> = Vec::new();
        for _ in 0..stop {
            seen.push(b.next_indices().map(<[usize]>::to_vec).unwrap_or_default());
        }
        let json = serde_json::to_string(&b.state()).unwrap();
        drop(b);
        let state: BatcherState = serde_json::from_str(&json).unwrap();
        let mut resumed = Batcher::from_state(state).unwrap();
        while seen.len() < reference.len() {
            seen.push(
                resumed
                    .next_indices()
                    .map(<[usize]>::to_vec)
                    .unwrap_or_default(),
            );
        }
        assert_eq!(seen, reference, "resumed after {stop} calls");
    }
}

#[test]
fn fill_batch_copies_the_right_rows() {
    let ds = gaussian_blobs(&BlobsConfig {
        n_per_class: 7,
        num_classes: 3,
        num_features: 4,
        ..Default::default()
    })
    .unwrap();
    let mut b = Batcher::new(ds.len(), 8, LastBatch::Keep, 3).unwrap();
    let mut twin = b.clone();
    let (mut x, mut y) = (Array2::zeros((0, 0)), Vec::new());
    let mut rows_seen = 0;
    while let Some(rows) = b.fill_batch(&ds, &mut x, &mut y).unwrap() {
        let idx = twin.next_indices().unwrap().to_vec();
        assert_eq!(x.dim(), (rows, 4));
        for (r, &i) in idx.iter().enumerate() {
            assert_eq!(x.row(r), ds.features().row(i));
            assert_eq!(y[r], ds.labels()[i]);
        }
        rows_seen += rows;
    }
    assert_eq!(rows_seen, 21);
}

#[test]
fn batching_allocates_nothing_once_warm() {
    let ds = gaussian_blobs(&BlobsConfig {
        n_per_class: 100,
        num_classes: 3,
        num_features: 16,
        ..Default::default()
    })
    .unwrap();
    let mut b = Batcher::new(ds.len(), 64, LastBatch::Keep, 9).unwrap();
    let (mut x, mut y) = (Array2::zeros((0, 0)), Vec::new());
    // Warm up: one epoch grows the buffers to a full batch.
    while b.fill_batch(&ds, &mut x, &mut y).unwrap().is_some() {}
    let (batches, allocs) = measure(|| {
        let mut batches = 0;
        for _ in 0..3 {
            // Full batches, the partial last one, and an epoch boundary with its reshuffle.
            while b.fill_batch(&ds, &mut x, &mut y).unwrap().is_some() {
                batches += 1;
            }
        }
        batches
    });
    assert_eq!(batches, 15);
    assert_eq!(allocs.count, 0, "{allocs:?}");
}

#[test]
fn bad_batchers_are_refused() {
    assert!(Batcher::new(0, 4, LastBatch::Keep, 0).is_err());
    assert!(Batcher::new(4, 0, LastBatch::Keep, 0).is_err());
    let err = Batcher::new(3, 4, LastBatch::Drop, 0).unwrap_err();
    assert!(err.to_string().contains("leaves none"), "{err}");
    let mut state = Batcher::new(10, 4, LastBatch::Drop, 0).unwrap().state();
    state.position = 9; // past the 8 samples a dropping epoch hands out
    assert!(Batcher::from_state(state).is_err());

    // A data set of another size is refused without advancing.
    let ds = gaussian_blobs(&BlobsConfig::default()).unwrap();
    let mut b = Batcher::new(ds.len() + 1, 4, LastBatch::Keep, 0).unwrap();
    let (mut x, mut y) = (Array2::zeros((0, 0)), Vec::new());
    assert!(matches!(
        b.fill_batch(&ds, &mut x, &mut y),
        Err(DataError::Invalid { .. })
    ));
    assert_eq!(b.position(), 0);
}

/// One spelling, kebab-case, for text and serde; the capitalized names that files written
/// before (`"Keep"`) hold still read.
#[test]
fn last_batch_names_are_one_spelling() {
    for l in LastBatch::ALL {
        let name = l.to_string();
        assert_eq!(name, name.to_ascii_lowercase());
        assert_eq!(name.parse::<LastBatch>().unwrap(), l);
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(json, format!("\"{name}\""));
        assert_eq!(serde_json::from_str::<LastBatch>(&json).unwrap(), l);
    }
    assert_eq!(
        serde_json::from_str::<LastBatch>("\"Keep\"").unwrap(),
        LastBatch::Keep
    );
    let err = "skip".parse::<LastBatch>().unwrap_err().to_string();
    assert_eq!(err, "unknown last batch `skip`; valid: keep, drop");
    assert!(serde_json::from_str::<LastBatch>("\"skip\"").is_err());
}
