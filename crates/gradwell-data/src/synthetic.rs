//! Small synthetic data sets for quick experiments, reproducible from a seed.
//!
//! The draws use only the raw output of a ChaCha8 RNG (uniforms from its 64-bit words,
//! normals by Box–Muller), so a seed gives the same points whatever the version of the
//! `rand` crates.

use gradwell_tensor::ClassLabel;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use crate::rng::{normal, uniform};

/// Two interleaved spirals in the plane, one per class: the classic problem a linear model
/// cannot solve and a small MLP can.
///
/// Sample `i` of class `c` has `t ~ U(0, 1)`, angle `θ = 2π · turns · t + π · c`, radius
/// `t`, and lies at `(t cos θ, t sin θ)` plus Gaussian noise of standard deviation
/// `noise` on each coordinate. Samples alternate between the classes.
#[derive(Debug, Clone, PartialEq)]
pub struct SpiralsConfig {
    /// Samples per class.
    pub n_per_class: usize,
    /// How many times each spiral winds around the origin.
    pub turns: f64,
    /// Standard deviation of the noise added to each coordinate.
    pub noise: f64,
    /// The RNG seed.
    pub seed: u64,
}

impl Default for SpiralsConfig {
    /// 500 samples per class, 1.5 turns, noise 0.02, seed 0.
    fn default() -> Self {
        SpiralsConfig {
            n_per_class: 500,
            turns: 1.5,
            noise: 0.02,
            seed: 0,
        }
    }
}

/// Two spirals (2 features, 2 classes, feature shape `[2]`); see [`SpiralsConfig`].
///
/// ```
/// use gradwell_data::synthetic::{two_spirals, SpiralsConfig};
///
/// let ds = two_spirals(&SpiralsConfig { n_per_class: 100, ..Default::default() })?;
/// assert_eq!((ds.len(), ds.num_features(), ds.class_counts()), (200, 2, vec![100, 100]));
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
pub fn two_spirals(cfg: &SpiralsConfig) -> Result<Dataset> {
    const CTX: &str = "two_spirals";
    if cfg.n_per_class == 0 {
        return Err(DataError::invalid(CTX, "n_per_class must be positive"));
    }
    if !(cfg.turns.is_finite() && cfg.turns > 0.0 && cfg.noise.is_finite() && cfg.noise >= 0.0) {
        return Err(DataError::invalid(
            CTX,
            format!(
                "turns {} must be finite and positive, noise {} finite and >= 0",
                cfg.turns, cfg.noise
            ),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let n = cfg.n_per_class * 2;
    let mut features = Array2::zeros((n, 2));
    let mut labels = Vec::with_capacity(n);
    for (i, mut row) in features.rows_mut().into_iter().enumerate() {
        let class = i % 2;
        let t = uniform(&mut rng);
        let angle = std::f64::consts::TAU * cfg.turns * t + std::f64::consts::PI * class as f64;
        row[0] = (t * angle.cos() + cfg.noise * normal(&mut rng)) as f32;
        row[1] = (t * angle.sin() + cfg.noise * normal(&mut rng)) as f32;
        labels.push(class as ClassLabel);
    }
    Dataset::new("spirals", features, labels, 2)
}

/// Isotropic Gaussian blobs, one per class, as scikit-learn's `make_blobs`: each class's
/// centre is drawn uniformly from the box `center_box` in every coordinate, and its samples
/// are the centre plus Gaussian noise of standard deviation `std` per coordinate. Samples
/// cycle through the classes.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobsConfig {
    /// Samples per class.
    pub n_per_class: usize,
    /// Number of classes (blobs).
    pub num_classes: usize,
    /// Number of features (dimensions).
    pub num_features: usize,
    /// Standard deviation of each blob in every coordinate.
    pub std: f64,
    /// The interval each centre coordinate is drawn from.
    pub center_box: (f64, f64),
    /// The RNG seed.
    pub seed: u64,
}

impl Default for BlobsConfig {
    /// scikit-learn's defaults where it has them (3 blobs in 2 dimensions, standard deviation
    /// 1, centres in `(-10, 10)`), 100 samples per class, seed 0.
    fn default() -> Self {
        BlobsConfig {
            n_per_class: 100,
            num_classes: 3,
            num_features: 2,
            std: 1.0,
            center_box: (-10.0, 10.0),
            seed: 0,
        }
    }
}

/// Gaussian blobs; see [`BlobsConfig`].
///
/// ```
/// use gradwell_data::synthetic::{gaussian_blobs, BlobsConfig};
///
/// let ds = gaussian_blobs(&BlobsConfig { num_classes: 4, num_features: 5, ..Default::default() })?;
/// assert_eq!((ds.len(), ds.num_features(), ds.num_classes()), (400, 5, 4));
/// # Ok::<(), gradwell_data::DataError>(())
/// ```
pub fn gaussian_blobs(cfg: &BlobsConfig) -> Result<Dataset> {
    const CTX: &str = "gaussian_blobs";
    if cfg.n_per_class == 0 || cfg.num_classes == 0 || cfg.num_features == 0 {
        return Err(DataError::invalid(
            CTX,
            "n_per_class, num_classes and num_features must be positive",
        ));
    }
    let (lo, hi) = cfg.center_box;
    if !(cfg.std.is_finite() && cfg.std >= 0.0 && lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(DataError::invalid(
            CTX,
            format!(
                "std {} must be finite and >= 0, center_box ({lo}, {hi}) finite and ordered",
                cfg.std
            ),
        ));
    }
    let n = cfg
        .n_per_class
        .checked_mul(cfg.num_classes)
        .filter(|n| n.checked_mul(cfg.num_features).is_some())
        .ok_or_else(|| DataError::invalid(CTX, "the data set's size overflows"))?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let centers = Array2::from_shape_simple_fn((cfg.num_classes, cfg.num_features), || {
        lo + (hi - lo) * uniform(&mut rng)
    });
    let mut features = Array2::zeros((n, cfg.num_features));
    let mut labels = Vec::with_capacity(n);
    for (i, mut row) in features.rows_mut().into_iter().enumerate() {
        let class = i % cfg.num_classes;
        for (x, &c) in row.iter_mut().zip(centers.row(class)) {
            *x = (c + cfg.std * normal(&mut rng)) as f32;
        }
        labels.push(class as ClassLabel);
    }
    Dataset::new("blobs", features, labels, cfg.num_classes)
}
