use std::path::Path;

use gradwell_data::{
    DEFAULT_MAX_DECOMPRESSED, DIGITS_LEN, DataError, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR,
    Loaded, MNIST_FILES, Source, digits, fashion_mnist, mnist,
};

use crate::{gzip, idx_bytes, scratch_dir};

#[test]
fn the_embedded_digits_are_complete() {
    let ds = digits().unwrap();
    assert_eq!(
        (ds.len(), ds.num_features(), ds.num_classes()),
        (DIGITS_LEN, 64, 10)
    );
    assert_eq!(ds.feature_shape(), &[8, 8]);
    assert_eq!(ds.value_range(), Some((0.0, 16.0)));
    assert_eq!(ds.class_names().unwrap()[7], "7");
    // Pixel counts are whole numbers in 0..=16, and every value occurs.
    assert!(
        ds.features()
            .iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
    );
    assert!(ds.features().iter().any(|&v| v == 16.0));
    // The class counts of the UCI test part (as listed in scikit-learn's description).
    assert_eq!(
        ds.class_counts(),
        vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    // The first sample is a zero.
    assert_eq!(ds.labels()[0], 0);
    assert_eq!(
        ds.features()
            .row(0)
            .iter()
            .take(8)
            .copied()
            .collect::<Vec<_>>(),
        vec![0., 0., 5., 13., 9., 1., 0., 0.]
    );
}

#[test]
fn sources_are_found_by_name() {
    assert_eq!("digits".parse::<Source>().unwrap(), Source::Digits);
    assert_eq!(
        "Fashion_MNIST".parse::<Source>().unwrap(),
        Source::FashionMnist
    );
    assert_eq!(
        "fashionmnist".parse::<Source>().unwrap(),
        Source::FashionMnist
    );
    assert_eq!("MNIST".parse::<Source>().unwrap(), Source::Mnist);
    assert_eq!(Source::default(), Source::Digits);
    for s in Source::ALL {
        assert_eq!(s.to_string().parse::<Source>().unwrap(), s);
    }
    let err = "cifar".parse::<Source>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown data set `cifar`; known: digits, fashion-mnist, mnist, adding:T[,N[,SEED]], copy:T[,N[,SEED]]"
    );
}

#[test]
fn digits_load_whole_and_split_on_request() {
    let loaded = Source::Digits.load(None, DEFAULT_MAX_DECOMPRESSED).unwrap();
    assert!(matches!(loaded, Loaded::Whole(_)));
    let split = loaded.into_split(0.25, 3).unwrap();
    assert_eq!(split.train.len() + split.test.len(), DIGITS_LEN);
    assert!(matches!(
        Source::Mnist.load(None, DEFAULT_MAX_DECOMPRESSED),
        Err(DataError::Invalid { .. })
    ));
}

#[test]
fn a_missing_data_set_says_how_to_get_it() {
    let dir = scratch_dir("missing-fashion");
    let err = fashion_mnist(Some(&dir)).unwrap_err();
    let DataError::NotFound {
        dataset, missing, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*dataset, missing.as_str()),
        ("Fashion-MNIST", MNIST_FILES[0])
    );
    assert!(
        err.to_string()
            .contains("apt-get install dataset-fashion-mnist"),
        "{err}"
    );
    let err = mnist(&dir).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::NotFound {
                dataset: "MNIST",
                ..
            }
        ),
        "{err:?}"
    );
}

/// Writes a tiny data set in MNIST's layout: `n` images of 2×3, labels `i % 10`, some files
/// gzip-compressed and some raw (named without `.gz`).
fn write_layout(dir: &Path, n_train: u32, n_test: u32) {
    for (i, (file, n)) in MNIST_FILES
        .iter()
        .zip([n_train, n_train, n_test, n_test])
        .enumerate()
    {
        let bytes = if file.contains("images") {
            idx_bytes(
                8,
                &[n, 2, 3],
                &(0..n * 6).map(|v| (v % 256) as u8).collect::<Vec<_>>(),
            )
        } else {
            idx_bytes(8, &[n], &(0..n).map(|v| (v % 10) as u8).collect::<Vec<_>>())
        };
        if i % 2 == 0 {
            std::fs::write(dir.join(file), gzip(&bytes)).unwrap();
        } else {
            std::fs::write(dir.join(file.trim_end_matches(".gz")), bytes).unwrap();
        }
    }
}

#[test]
fn the_mnist_layout_is_read_from_a_named_directory() {
    let dir = scratch_dir("fake-fashion");
    write_layout(&dir, 12, 5);
    let split = fashion_mnist(Some(&dir)).unwrap();
    assert_eq!((split.train.len(), split.test.len()), (12, 5));
    assert_eq!(
        (split.train.name(), split.test.name()),
        ("fashion-mnist/train", "fashion-mnist/test")
    );
    assert_eq!(split.train.feature_shape(), &[2, 3]);
    assert_eq!(split.test.class_names().unwrap()[9], "Ankle boot");
    assert_eq!(split.train.labels()[11], 1);
    let Loaded::TrainTest(m) = Source::Mnist
        .load(Some(&dir), DEFAULT_MAX_DECOMPRESSED)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (m.train.name(), m.train.class_names().unwrap()[3].as_str()),
        ("mnist/train", "3")
    );
}

#[test]
fn the_installed_fashion_mnist_when_present() {
    let dir = Path::new(FASHION_MNIST_DIR);
    if !dir.is_dir() {
        eprintln!("skipped: {FASHION_MNIST_DIR} is absent (Debian package dataset-fashion-mnist)");
        return;
    }
    let split = fashion_mnist(None).unwrap();
    assert_eq!((split.train.len(), split.test.len()), (60_000, 10_000));
    assert_eq!(split.train.feature_shape(), &[28, 28]);
    assert_eq!(split.train.class_names().unwrap(), FASHION_MNIST_CLASSES);
    // Fashion-MNIST is balanced: 6,000 and 1,000 samples per class.
    assert_eq!(split.train.class_counts(), vec![6000; 10]);
    assert_eq!(split.test.class_counts(), vec![1000; 10]);
    let max = split.test.features().iter().copied().fold(0.0f32, f32::max);
    assert_eq!(max, 255.0);
}

#[test]
fn sources_serialize_as_their_names() {
    for s in Source::ALL {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<Source>(&json).unwrap(), s);
    }
    let err = serde_json::from_str::<Source>("\"cifar\"").unwrap_err();
    assert!(err.to_string().contains("fashion-mnist"), "{err}");
}
