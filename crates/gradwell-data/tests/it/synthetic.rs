use gradwell_data::synthetic::{BlobsConfig, SpiralsConfig, gaussian_blobs, two_spirals};

#[test]
fn noiseless_spirals_lie_on_their_curves() {
    let cfg = SpiralsConfig {
        n_per_class: 300,
        turns: 2.0,
        noise: 0.0,
        seed: 5,
    };
    let ds = two_spirals(&cfg).unwrap();
    assert_eq!(ds.class_counts(), vec![300, 300]);
    for (row, &class) in ds.features().rows().into_iter().zip(ds.labels()) {
        let (x, y) = (f64::from(row[0]), f64::from(row[1]));
        let t = x.hypot(y);
        assert!(t < 1.0);
        let angle = std::f64::consts::TAU * cfg.turns * t + std::f64::consts::PI * class as f64;
        // f32 rounding of the coordinates moves the point by ~1e-7.
        assert!(
            (x - t * angle.cos()).abs() < 1e-5 && (y - t * angle.sin()).abs() < 1e-5,
            "{x} {y} {class}"
        );
    }
}

#[test]
fn synthetic_sets_repeat_with_their_seed() {
    let cfg = SpiralsConfig {
        n_per_class: 50,
        ..Default::default()
    };
    assert_eq!(two_spirals(&cfg).unwrap(), two_spirals(&cfg).unwrap());
    assert_ne!(
        two_spirals(&cfg).unwrap(),
        two_spirals(&SpiralsConfig { seed: 1, ..cfg }).unwrap()
    );
    let blobs = BlobsConfig::default();
    assert_eq!(
        gaussian_blobs(&blobs).unwrap(),
        gaussian_blobs(&blobs).unwrap()
    );
    assert_ne!(
        gaussian_blobs(&blobs).unwrap(),
        gaussian_blobs(&BlobsConfig { seed: 9, ..blobs }).unwrap()
    );
}

#[test]
fn blobs_have_their_spread_and_centres_in_the_box() {
    let cfg = BlobsConfig {
        n_per_class: 4000,
        num_classes: 3,
        num_features: 2,
        std: 0.5,
        seed: 11,
        ..Default::default()
    };
    let ds = gaussian_blobs(&cfg).unwrap();
    assert_eq!(ds.class_counts(), vec![4000; 3]);
    for class in 0..3i64 {
        for j in 0..2 {
            let v: Vec<f64> = ds
                .features()
                .rows()
                .into_iter()
                .zip(ds.labels())
                .filter(|&(_, &l)| l == class)
                .map(|(r, _)| f64::from(r[j]))
                .collect();
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            // The centre is in (-10, 10); the sample mean is within 6 standard errors
            // (0.5 / sqrt(4000) ≈ 0.0079) of it.
            assert!(
                mean.abs() < 10.0 + 6.0 * 0.0079,
                "class {class} feature {j}: mean {mean}"
            );
            // SE of the sample sd ≈ σ/√(2n) ≈ 0.0056; 6 SE: false alarm < 2e-9 per check.
            assert!(
                (sd - 0.5).abs() < 6.0 * 0.0056,
                "class {class} feature {j}: sd {sd}"
            );
        }
    }
}

#[test]
fn bad_synthetic_configs_are_refused() {
    assert!(
        two_spirals(&SpiralsConfig {
            n_per_class: 0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        two_spirals(&SpiralsConfig {
            noise: -1.0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        two_spirals(&SpiralsConfig {
            turns: f64::NAN,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        gaussian_blobs(&BlobsConfig {
            num_classes: 0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        gaussian_blobs(&BlobsConfig {
            center_box: (1.0, -1.0),
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        gaussian_blobs(&BlobsConfig {
            n_per_class: usize::MAX,
            ..Default::default()
        })
        .is_err()
    );
}
