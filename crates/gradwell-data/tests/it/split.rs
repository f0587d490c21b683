use gradwell_data::{Dataset, Split};
use ndarray::Array2;

/// A data set whose only feature is the sample's index, with `counts[c]` samples of class
/// `c`, classes interleaved.
fn indexed(counts: &[usize]) -> Dataset {
    let mut labels = Vec::new();
    let mut left = counts.to_vec();
    while left.iter().any(|&c| c > 0) {
        for (c, n) in left.iter_mut().enumerate() {
            if *n > 0 {
                *n -= 1;
                labels.push(c as i64);
            }
        }
    }
    let features = Array2::from_shape_fn((labels.len(), 1), |(i, _)| i as f32);
    Dataset::new("idx", features, labels, counts.len()).unwrap()
}

fn ids(ds: &Dataset) -> Vec<usize> {
    ds.features()
        .column(0)
        .iter()
        .map(|&x| x as usize)
        .collect()
}

fn check_partition(ds: &Dataset, split: &Split) {
    let (train, test) = (ids(&split.train), ids(&split.test));
    assert!(
        train.windows(2).all(|w| w[0] < w[1]) && test.windows(2).all(|w| w[0] < w[1]),
        "order kept"
    );
    let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..ds.len()).collect::<Vec<_>>(), "a partition");
    for part in [&split.train, &split.test] {
        for (&i, &l) in ids(part).iter().zip(part.labels()) {
            assert_eq!(l, ds.labels()[i], "labels follow their samples");
        }
    }
}

#[test]
fn stratified_splits_keep_class_proportions() {
    let ds = indexed(&[50, 30, 7, 13]);
    let split = ds.split(0.2, 99, true).unwrap();
    check_partition(&ds, &split);
    // round(0.2 × count) per class: 10, 6, 1 (1.4), 3 (2.6).
    assert_eq!(split.test.class_counts(), vec![10, 6, 1, 3]);
    assert_eq!(split.train.class_counts(), vec![40, 24, 6, 10]);
    assert_eq!(
        (split.train.name(), split.test.name()),
        ("idx/train", "idx/test")
    );
}

#[test]
fn plain_splits_hold_out_the_fraction() {
    let ds = indexed(&[50, 50]);
    let split = ds.split(0.33, 1, false).unwrap();
    check_partition(&ds, &split);
    assert_eq!(split.test.len(), 33);
}

#[test]
fn a_seed_fixes_the_split() {
    let ds = indexed(&[40, 40, 40]);
    for stratified in [false, true] {
        let a = ds.split(0.25, 7, stratified).unwrap();
        assert_eq!(a, ds.split(0.25, 7, stratified).unwrap());
        assert_ne!(
            ids(&a.test),
            ids(&ds.split(0.25, 8, stratified).unwrap().test)
        );
    }
}

#[test]
fn bad_fractions_are_refused() {
    let ds = indexed(&[5, 5]);
    for f in [0.0, 1.0, -0.5, f64::NAN, 1.5] {
        assert!(ds.split(f, 0, true).is_err(), "{f}");
    }
    // 0.01 of 10 samples rounds to none.
    assert!(ds.split(0.01, 0, false).is_err());
}

#[test]
fn a_negative_or_too_large_label_is_refused_naming_the_sample() {
    // Labels are signed (the tape's ignore_index is −100), but a data set's labels are
    // classes: 0 to C − 1.
    let features = Array2::from_shape_fn((3, 1), |(i, _)| i as f32);
    for (label, why) in [
        (-1, "label -1 of sample 1 is negative"),
        (-100, "label -100 of sample 1 is negative"),
        (3, "label 3 of sample 1 is not below 3 classes"),
    ] {
        let err = Dataset::new("toy", features.clone(), vec![0, label, 2], 3).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    let ds = Dataset::new("toy", features, vec![0, 1, 2], 3).unwrap();
    assert_eq!(ds.class_counts(), vec![1, 1, 1]);
}
