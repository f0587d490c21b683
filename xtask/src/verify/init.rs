//! Initializers against the laws they declare.
//!
//! Every registered initializer ([`Init::examples`]: each one's default and a few settings
//! that exercise its parameters) whose elements follow a declared law
//! ([`InitInfo::law`]) is drawn on a few shapes, one seeded draw of [`SAMPLES`] values
//! each, and tested three ways — a Kolmogorov–Smirnov test against the law's CDF, a z-test
//! of the variance about the law's mean, and a z-test of the mean — and, where the law is
//! bounded, the samples' support is checked as a bound; a constant law is checked exactly.
//! A law that does not depend on the shape (the fixed distributions) is tested once. The
//! checks come from the registry, so a new initializer is verified without this file
//! changing. That each law is the published formula (PyTorch's `torch/nn/init.py`,
//! Keras's `VarianceScaling`) is tested beside the initializer, in its own file, with the
//! formula written out by hand; here the sampler is held to the law.
//!
//! Orthogonal initializers get an orthogonality residual (a bound) and a test that their
//! trace has the Haar moments (mean 0, variance 1), which an orthogonal matrix without
//! Mezzadri's sign fix fails.
//!
//! Sparse initializers (PyTorch's `sparse_`, every registered [`Sparse`] example, on each
//! matrix shape) have no per-element law, as their zeros are counted; they get, from fills
//! holding [`SAMPLES`] non-zero values: the exact zero count in every column (a bound:
//! columns with another count, 0 allowed); a chi-square test that the zeros fall
//! uniformly on the rows; and the KS, variance and mean tests of the non-zero values
//! against N(0, std²).
//!
//! Sample size: the registry tests each p-value at `FAMILY_ALPHA / m` (about 10⁻⁵ to 10⁻⁶
//! for m of a few hundred tests). [`SAMPLES`] = 2¹⁹ makes the checks reject, at that level,
//! every wrong sampler the unit tests below feed them — fans swapped, the truncation
//! correction left out, a variance 5 % off, uniform bounds of the normal's std, a mean
//! shifted by 5 % of the std, and every registered sampler scaled by 1.1 — while the right
//! sampler passes.

use std::cell::OnceCell;
use std::rc::Rc;

use gradwell_init::{Init, InitInfo, Initializer, Sparse};
use ndarray::{Array2, ArrayD, Ix2};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Check, Outcome};
use crate::stats::{Law, chi_square_sf, ks_test, mean_test, variance_test};

/// Samples per distributional check.
pub const SAMPLES: usize = 1 << 19;

/// The shapes, in PyTorch's layout: the weights of Linear(784, 128) and Linear(128, 10), and
/// of a Conv2d(8, 16, 3×3).
const SHAPES: [&[usize]; 3] = [&[128, 784], &[10, 128], &[16, 8, 3, 3]];

/// What the samples of one case are held to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// Every sample equals this value.
    Constant(f64),
    /// Independent draws from this law.
    Law(Law),
}

/// The law an initializer declares, as the statistics here take it.
fn target(law: gradwell_init::Law) -> Target {
    match law {
        gradwell_init::Law::Constant { value } => Target::Constant(value),
        gradwell_init::Law::Uniform { low, high } => Target::Law(Law::Uniform { low, high }),
        gradwell_init::Law::Normal { mean, std } => Target::Law(Law::Normal { mean, std }),
        gradwell_init::Law::TruncatedNormal { mean, std, a, b } => {
            Target::Law(Law::Truncated { mean, std, a, b })
        }
    }
}

/// N(0, std²).
fn normal(std: f64) -> Law {
    Law::Normal { mean: 0.0, std }
}

/// One initializer on one shape and the law it declares.
struct Case {
    name: String,
    init: Init,
    shape: Vec<usize>,
    target: Target,
}

/// Every registered example with a law, on each shape where its law is new.
fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for init in Init::examples() {
        let mut seen: Vec<gradwell_init::Law> = Vec::new();
        for shape in SHAPES {
            // Without a law (orthogonal, eye), or not for this shape.
            let Ok(Some(law)) = init.law(shape) else {
                continue;
            };
            if seen.contains(&law) {
                continue;
            }
            seen.push(law);
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            cases.push(Case {
                name: format!("{init} [{}]", dims.join("x")),
                init,
                shape: shape.to_vec(),
                target: target(law),
            });
        }
    }
    cases
}

/// At least `n` samples of `init` on `shape` (whole fills, repeated), from `seed`.
pub fn draw(init: &dyn Initializer<f64>, shape: &[usize], n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match init.sample(shape, &mut rng) {
            Ok(a) if !a.is_empty() => out.extend(a.iter().copied()),
            // A failing initializer yields NaN, which every test rejects.
            _ => return vec![f64::NAN; n],
        }
    }
    out
}

/// The three distributional tests of `xs` against `law`: KS, variance, mean.
pub fn judge(xs: &[f64], law: &Law) -> [(&'static str, Outcome); 3] {
    let (d, p_ks) = ks_test(xs, law);
    let (rel, p_var) = variance_test(xs, law);
    let (z, p_mean) = mean_test(xs, law);
    [
        ("ks", Outcome::test(d, p_ks)),
        ("variance", Outcome::test(rel, p_var)),
        ("mean", Outcome::test(z, p_mean)),
    ]
}

/// How far the samples reach beyond the law's support (0 when they stay inside), as a
/// fraction of the support's width or of 1.
fn support_excess(xs: &[f64], law: &Law) -> f64 {
    let (lo, hi) = law.support();
    let scale = if (hi - lo).is_finite() { hi - lo } else { 1.0 };
    xs.iter()
        .map(|&x| ((lo - x).max(x - hi)).max(0.0) / scale)
        .fold(0.0, f64::max)
}

/// Largest |(W·Wᵀ or Wᵀ·W) − gain²·I| entry over `draws` draws, W flattened PyTorch's way.
fn orthogonal_residual(shape: &[usize], gain: f64, draws: u64) -> f64 {
    let init = Init::Orthogonal(gradwell_init::Orthogonal { gain });
    let mut worst: f64 = 0.0;
    for seed in 0..draws {
        let Ok(w) = Initializer::<f64>::sample(&init, shape, &mut ChaCha8Rng::seed_from_u64(seed))
        else {
            return f64::INFINITY;
        };
        let Some(w) = as_matrix(&w) else {
            return f64::INFINITY;
        };
        let g = if w.nrows() <= w.ncols() {
            w.dot(&w.t())
        } else {
            w.t().dot(&w)
        };
        for ((i, j), &x) in g.indexed_iter() {
            worst = worst.max((x - if i == j { gain * gain } else { 0.0 }).abs());
        }
    }
    worst
}

fn as_matrix(w: &ArrayD<f64>) -> Option<Array2<f64>> {
    let rows = *w.shape().first()?;
    let flat = w.to_shape((rows, w.len() / rows.max(1))).ok()?;
    flat.into_dimensionality::<Ix2>().ok().map(|m| m.to_owned())
}

/// Traces of `count` orthogonal n×n draws (gain 1). For Haar-distributed W the trace has
/// mean 0, variance 1 and fourth moment 3 (the moments of N(0, 1) up to order n).
pub fn haar_traces(
    init: &dyn Initializer<f64>,
    n: usize,
    count: usize,
    rng: &mut dyn RngCore,
) -> Vec<f64> {
    (0..count)
        .map(|_| match init.sample(&[n, n], rng) {
            Ok(w) => (0..n).map(|i| w[[i, i]]).sum(),
            Err(_) => f64::NAN,
        })
        .collect()
}

/// What fills of a `[rows, cols]` matrix by a sparse initializer hold.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseDraws {
    /// Columns, over every fill, whose zero count is not the expected one.
    pub wrong_columns: usize,
    /// How many zeros fell on each row, over every fill.
    pub zeros_per_row: Vec<u64>,
    /// Every non-zero value.
    pub nonzeros: Vec<f64>,
}

/// Fills `[rows, cols]` with `init` from `seed` until at least `n` non-zero values are
/// drawn (one fill when a fill has none), counting against `zeros` per column.
pub fn sparse_draws(
    init: &dyn Initializer<f64>,
    (rows, cols): (usize, usize),
    zeros: usize,
    n: usize,
    seed: u64,
) -> SparseDraws {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draws = SparseDraws {
        wrong_columns: 0,
        zeros_per_row: vec![0; rows],
        nonzeros: Vec::with_capacity(n),
    };
    while draws.nonzeros.len() < n {
        let Some(w) = init
            .sample(&[rows, cols], &mut rng)
            .ok()
            .and_then(|w| w.into_dimensionality::<Ix2>().ok())
        else {
            // A failing initializer: every column wrong, NaN values, which every test rejects.
            draws.wrong_columns += cols.max(1);
            draws.nonzeros.resize(n, f64::NAN);
            break;
        };
        for column in w.columns() {
            let mut count = 0;
            for (row, &x) in column.iter().enumerate() {
                if x == 0.0 {
                    count += 1;
                    draws.zeros_per_row[row] += 1;
                } else {
                    draws.nonzeros.push(x);
                }
            }
            draws.wrong_columns += usize::from(count != zeros);
        }
        if w.iter().all(|&x| x == 0.0) {
            break;
        }
    }
    draws
}

/// Pearson's chi-square of the zeros' rows against the uniform, with its p-value. Each
/// column's zeros are `zeros` distinct rows of `rows` (drawn without replacement), so over
/// N columns a row's count has variance N·p(1 − p), p = zeros/rows, and two rows'
/// covariance −N·p(1 − p)/(rows − 1): the vector of (O − E)/√E has covariance
/// c·(I − J/rows) with c = (1 − p)·rows/(rows − 1), and X²/c is χ² with rows − 1 degrees
/// of freedom (in the limit of many columns; the statistic reported is X²/c).
pub fn zero_rows_test(zeros_per_row: &[u64], zeros: usize) -> (f64, f64) {
    let rows = zeros_per_row.len();
    let total: u64 = zeros_per_row.iter().sum();
    if rows < 2 || zeros == 0 || zeros >= rows || total == 0 {
        // No position to test (no zeros, or every row zero in every column).
        return (f64::NAN, 0.0);
    }
    let expected = total as f64 / rows as f64;
    let x2: f64 = zeros_per_row
        .iter()
        .map(|&o| (o as f64 - expected).powi(2) / expected)
        .sum();
    let p = zeros as f64 / rows as f64;
    let c = (1.0 - p) * rows as f64 / (rows - 1) as f64;
    let statistic = x2 / c;
    (statistic, chi_square_sf(statistic, (rows - 1) as f64))
}

/// The checks of one sparse initializer on one matrix shape.
fn sparse_checks(sparse: Sparse, shape: &[usize], seed: u64) -> Vec<Check> {
    let &[rows, cols] = shape else {
        return Vec::new();
    };
    let zeros = sparse.zeros_per_column(rows);
    let name = format!("init/{} [{rows}x{cols}]", Init::Sparse(sparse));
    let draws: Rc<OnceCell<SparseDraws>> = Rc::new(OnceCell::new());
    let get = move |d: &OnceCell<SparseDraws>| -> SparseDraws {
        d.get_or_init(|| sparse_draws(&sparse, (rows, cols), zeros, SAMPLES, seed))
            .clone()
    };
    let law = normal(sparse.std);
    let mut checks = Vec::new();
    let d = draws.clone();
    checks.push(Check::new(format!("{name}/zeros-per-column"), move || {
        Outcome::at_most(get(&d).wrong_columns as f64, 0.0)
    }));
    if 0 < zeros && zeros < rows {
        let d = draws.clone();
        checks.push(Check::new(format!("{name}/zero-rows-chi2"), move || {
            let (statistic, p) = zero_rows_test(&get(&d).zeros_per_row, zeros);
            Outcome::test(statistic, p)
        }));
    }
    if zeros < rows {
        for (which, kind) in ["ks", "variance", "mean"].into_iter().enumerate() {
            let d = draws.clone();
            checks.push(Check::new(format!("{name}/nonzero-{kind}"), move || {
                judge(&get(&d).nonzeros, &law)[which].1.clone()
            }));
        }
    }
    checks
}

pub fn checks() -> Vec<Check> {
    let mut checks = Vec::new();
    for (index, case) in cases().into_iter().enumerate() {
        let seed = 1000 + index as u64;
        let case = Rc::new(case);
        let samples: Rc<OnceCell<Vec<f64>>> = Rc::new(OnceCell::new());
        let law = match case.target {
            Target::Constant(value) => {
                checks.push(Check::new(
                    format!("init/{}/constant", case.name),
                    move || {
                        let xs = draw(&case.init, &case.shape, case.shape.iter().product(), seed);
                        let off = xs.iter().map(|x| (x - value).abs()).fold(0.0, f64::max);
                        Outcome::at_most(if off.is_nan() { f64::INFINITY } else { off }, 0.0)
                    },
                ));
                continue;
            }
            Target::Law(law) => law,
        };
        for (which, kind) in ["ks", "variance", "mean"].into_iter().enumerate() {
            let (case, samples) = (case.clone(), samples.clone());
            checks.push(Check::new(
                format!("init/{}/{kind}", case.name),
                move || {
                    let xs = samples.get_or_init(|| draw(&case.init, &case.shape, SAMPLES, seed));
                    judge(xs, &law)[which].1.clone()
                },
            ));
        }
        if law.support().0.is_finite() || law.support().1.is_finite() {
            checks.push(Check::new(
                format!("init/{}/support", case.name),
                move || {
                    let xs = samples.get_or_init(|| draw(&case.init, &case.shape, SAMPLES, seed));
                    Outcome::at_most(support_excess(xs, &law), 0.0)
                },
            ));
        }
    }
    for (index, init) in Init::examples().into_iter().enumerate() {
        if let Init::Sparse(sparse) = init {
            for (which, shape) in SHAPES.iter().enumerate() {
                let seed = 5000 + 10 * index as u64 + which as u64;
                checks.extend(sparse_checks(sparse, shape, seed));
            }
        }
    }
    for (shape, gain) in [
        (&[128_usize, 784][..], 2.0_f64.sqrt()),
        (&[784, 128][..], 1.0),
        (&[16, 8, 3, 3][..], 5.0 / 3.0),
    ] {
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        checks.push(Check::new(
            format!(
                "init/orthogonal(gain {gain:.3})/residual [{}]",
                dims.join("x")
            ),
            move || Outcome::at_most(orthogonal_residual(shape, gain, 2), 1e-10),
        ));
    }
    // The trace of a Haar orthogonal 16×16 matrix: 4000 draws, mean and variance tested
    // against N(0, 1), whose first 16 moments it shares exactly.
    let traces: Rc<OnceCell<Vec<f64>>> = Rc::new(OnceCell::new());
    let get = |t: &OnceCell<Vec<f64>>| -> Vec<f64> {
        t.get_or_init(|| {
            haar_traces(
                &gradwell_init::Orthogonal::default(),
                16,
                4000,
                &mut ChaCha8Rng::seed_from_u64(16),
            )
        })
        .clone()
    };
    let t = traces.clone();
    checks.push(Check::new(
        "init/orthogonal/haar-trace-mean [16x16]",
        move || {
            let (z, p) = mean_test(&get(&t), &normal(1.0));
            Outcome::test(z, p)
        },
    ));
    checks.push(Check::new(
        "init/orthogonal/haar-trace-variance [16x16]",
        move || {
            let (rel, p) = variance_test(&get(&traces), &normal(1.0));
            Outcome::test(rel, p)
        },
    ));
    checks
}

#[cfg(test)]
mod tests {
    //! Every statistical check can fail: wrong samplers, next to the right one, at the
    //! verify run's own sample size and at a per-test level no larger than the one the
    //! run uses (`FAMILY_ALPHA / m` with m at most the number of registered checks).

    use gradwell_init::{
        Distribution, FanMode, HeNormal, KERAS_TRUNCATION_STD, KerasHeNormal, Layout, Nonlinearity,
        Normal, Orthogonal, TruncatedNormal, Uniform, VarianceScaling,
    };
    use ndarray::ArrayViewMutD;

    use super::*;
    use crate::verify::{FAMILY_ALPHA, registry};

    // The laws of the hand-written cases below, from the published formulas.

    fn uniform(bound: f64) -> Law {
        Law::Uniform {
            low: -bound,
            high: bound,
        }
    }

    /// Keras's truncated normal of standard deviation `std`: N(0, σ₀²) cut at ±2σ₀,
    /// σ₀ = std / 0.8796….
    fn keras_truncated(std: f64) -> Law {
        let sigma0 = std / KERAS_TRUNCATION_STD;
        Law::Truncated {
            mean: 0.0,
            std: sigma0,
            a: -2.0 * sigma0,
            b: 2.0 * sigma0,
        }
    }

    /// A per-test level no larger than the run's: Bonferroni over every registered check,
    /// of which the statistical tests are a part.
    fn alpha() -> f64 {
        FAMILY_ALPHA / registry().len() as f64
    }

    /// p-values of (KS, variance, mean) for `init` on `shape` against `law`.
    fn p_values(init: &dyn Initializer<f64>, shape: &[usize], law: &Law) -> [f64; 3] {
        let xs = draw(init, shape, SAMPLES, 77);
        judge(&xs, law).map(|(_, o)| match o {
            Outcome::Test { p_value, .. } => p_value,
            Outcome::Bound { .. } => unreachable!("judge returns tests"),
        })
    }

    const KS: usize = 0;
    const VARIANCE: usize = 1;
    const MEAN: usize = 2;

    fn assert_passes(what: &str, init: &dyn Initializer<f64>, shape: &[usize], law: &Law) {
        let p = p_values(init, shape, law);
        assert!(
            p.iter().all(|&p| p >= alpha()),
            "{what}: right sampler rejected, p = {p:?}"
        );
    }

    fn assert_rejected(
        what: &str,
        wrong: &dyn Initializer<f64>,
        shape: &[usize],
        law: &Law,
        by: &[usize],
    ) {
        let p = p_values(wrong, shape, law);
        for &i in by {
            assert!(
                p[i] < alpha(),
                "{what}: check {i} accepted a wrong sampler, p = {p:?}"
            );
        }
    }

    const SHAPE: [usize; 2] = [128, 784];
    const FAN_IN: f64 = 784.0;

    fn he_std() -> f64 {
        (2.0 / FAN_IN).sqrt()
    }

    #[test]
    fn he_normal_right_and_wrong() {
        let law = normal(he_std());
        assert_passes("he-normal", &Init::HE_NORMAL, &SHAPE, &law);
        // fan_in and fan_out swapped.
        let swapped = HeNormal {
            nonlinearity: Nonlinearity::Relu,
            mode: FanMode::FanOut,
        };
        assert_rejected("fans swapped", &swapped, &SHAPE, &law, &[KS, VARIANCE]);
        // A PyTorch-layout weight read as Keras's: the same swap, through the layout.
        let keras_read = VarianceScaling::he_normal().with_layout(Layout::Keras);
        assert_rejected("layout swapped", &keras_read, &SHAPE, &law, &[KS, VARIANCE]);
        // Variance 5 % too large.
        let off = VarianceScaling::new(2.0 * 1.05, FanMode::FanIn, Distribution::Normal);
        assert_rejected("variance +5%", &off, &SHAPE, &law, &[KS, VARIANCE]);
        // Mean shifted by 5 % of the std.
        let shifted = Normal {
            mean: 0.05 * he_std(),
            std: he_std(),
        };
        assert_rejected("mean +5% std", &shifted, &SHAPE, &law, &[KS, MEAN]);
    }

    #[test]
    fn he_uniform_right_and_wrong() {
        let law = uniform((6.0 / FAN_IN).sqrt());
        let he_uniform = VarianceScaling::he_uniform();
        assert_passes("he-uniform", &he_uniform, &SHAPE, &law);
        // Uniform bounds of the normal's std: U(±σ) instead of U(±√3·σ).
        let std_bounds = Uniform {
            low: -he_std(),
            high: he_std(),
        };
        assert_rejected("bounds ±std", &std_bounds, &SHAPE, &law, &[KS, VARIANCE]);
        let off = VarianceScaling::new(2.0 * 1.05, FanMode::FanIn, Distribution::Uniform);
        assert_rejected("variance +5%", &off, &SHAPE, &law, &[KS, VARIANCE]);
        let swapped = VarianceScaling::kaiming_uniform(Nonlinearity::Relu, FanMode::FanOut);
        assert_rejected("fans swapped", &swapped, &SHAPE, &law, &[KS, VARIANCE]);
    }

    #[test]
    fn keras_he_normal_right_and_wrong() {
        let law = keras_truncated(he_std());
        assert_passes("keras-he-normal", &KerasHeNormal, &SHAPE, &law);
        // Truncation correction left out: N(0, σ²) cut at ±2σ (Keras's TruncatedNormal).
        let s = he_std();
        let uncorrected = TruncatedNormal {
            mean: 0.0,
            std: s,
            a: -2.0 * s,
            b: 2.0 * s,
        };
        assert_rejected("no correction", &uncorrected, &SHAPE, &law, &[KS, VARIANCE]);
        // Not truncated at all: same variance, so only the shape (KS) can tell.
        assert_rejected("untruncated", &Init::HE_NORMAL, &SHAPE, &law, &[KS]);
        let off = VarianceScaling::new(2.0 * 1.05, FanMode::FanIn, Distribution::TruncatedNormal);
        assert_rejected("variance +5%", &off, &SHAPE, &law, &[KS, VARIANCE]);
    }

    #[test]
    fn haar_trace_tests_reject_a_biased_orthogonal_sampler() {
        // The identity is orthogonal but not random: trace 16, variance 0.
        let traces = haar_traces(
            &gradwell_init::Eye,
            16,
            4000,
            &mut ChaCha8Rng::seed_from_u64(1),
        );
        assert!(mean_test(&traces, &normal(1.0)).1 < alpha());
        assert!(variance_test(&traces, &normal(1.0)).1 < alpha());
        let ok = haar_traces(
            &Orthogonal::default(),
            16,
            4000,
            &mut ChaCha8Rng::seed_from_u64(1),
        );
        assert!(mean_test(&ok, &normal(1.0)).1 >= alpha());
        assert!(variance_test(&ok, &normal(1.0)).1 >= alpha());
    }

    #[test]
    fn support_and_residual_checks_catch_excursions() {
        let law = uniform(1.0);
        assert_eq!(support_excess(&[-1.0, 0.0, 1.0], &law), 0.0);
        assert!(support_excess(&[1.01], &law) > 0.0);
        assert!(orthogonal_residual(&[8, 5], 1.5, 2) < 1e-12);
    }

    /// The draws of an initializer scaled by `factor` about `center`.
    struct Scaled {
        init: Init,
        center: f64,
        factor: f64,
    }

    impl Initializer<f64> for Scaled {
        fn fill(
            &self,
            a: &mut ArrayViewMutD<'_, f64>,
            rng: &mut dyn RngCore,
        ) -> Result<(), gradwell_init::InitError> {
            self.init.fill(a, rng)?;
            a.mapv_inplace(|x| self.center + self.factor * (x - self.center));
            Ok(())
        }
    }

    /// Every registered law rejects its own sampler scaled by 1.1 about its mean (variance
    /// +21 %), through the KS and variance tests: checked for every example, on the first
    /// shape it is verified on, so a new initializer's checks are shown able to fail too.
    #[test]
    fn every_registered_law_rejects_its_sampler_scaled_by_1_1() {
        let mut done: Vec<Init> = Vec::new();
        for case in cases() {
            let Target::Law(law) = case.target else {
                continue;
            };
            if done.contains(&case.init) {
                continue;
            }
            done.push(case.init);
            let scaled = Scaled {
                init: case.init,
                center: law.moments().0,
                factor: 1.1,
            };
            assert_rejected(&case.name, &scaled, &case.shape, &law, &[KS, VARIANCE]);
        }
        assert!(done.len() >= 10, "only {} laws", done.len());
    }

    /// A sparse sampler with one mistake each: zeros drawn element by element with
    /// probability p instead of counted (the count check), the last row never zero (the
    /// chi-square test), the non-zero values scaled by 1.1 (the KS and variance tests).
    enum WrongSparse {
        Bernoulli,
        LastRowNeverZero,
        Scaled,
    }

    impl Initializer<f64> for WrongSparse {
        fn fill(
            &self,
            a: &mut ArrayViewMutD<'_, f64>,
            rng: &mut dyn RngCore,
        ) -> Result<(), gradwell_init::InitError> {
            use rand::Rng;
            let sparse = Sparse::new(0.1);
            let rows = a.shape()[0];
            let zeros = sparse.zeros_per_column(rows);
            Init::Normal(Normal {
                mean: 0.0,
                std: 0.01,
            })
            .fill(a, rng)?;
            let mut a = a.view_mut().into_dimensionality::<Ix2>().expect("a matrix");
            for mut column in a.columns_mut() {
                match self {
                    WrongSparse::Bernoulli => column.iter_mut().for_each(|x| {
                        if rng.random::<f64>() < zeros as f64 / rows as f64 {
                            *x = 0.0;
                        }
                    }),
                    WrongSparse::LastRowNeverZero => {
                        for row in rand::seq::index::sample(rng, rows - 1, zeros) {
                            column[row] = 0.0;
                        }
                    }
                    WrongSparse::Scaled => {
                        column.iter_mut().for_each(|x| *x *= 1.1);
                        for row in rand::seq::index::sample(rng, rows, zeros) {
                            column[row] = 0.0;
                        }
                    }
                }
            }
            Ok(())
        }
    }

    #[test]
    fn the_sparse_checks_pass_sparse_and_reject_each_mistake() {
        let sparse = Sparse::new(0.1);
        let (rows, cols) = (128, 784);
        let zeros = sparse.zeros_per_column(rows);
        let p_of = |draws: &SparseDraws| {
            let chi2 = zero_rows_test(&draws.zeros_per_row, zeros).1;
            let [ks, variance, _] = judge(&draws.nonzeros, &normal(0.01)).map(|(_, o)| match o {
                Outcome::Test { p_value, .. } => p_value,
                Outcome::Bound { .. } => unreachable!("judge returns tests"),
            });
            (chi2, ks, variance)
        };
        let right = sparse_draws(&sparse, (rows, cols), zeros, SAMPLES, 3);
        assert_eq!(right.wrong_columns, 0);
        let (chi2, ks, variance) = p_of(&right);
        assert!(
            chi2.min(ks).min(variance) >= alpha(),
            "{chi2} {ks} {variance}"
        );
        let bernoulli = sparse_draws(&WrongSparse::Bernoulli, (rows, cols), zeros, SAMPLES, 3);
        assert!(bernoulli.wrong_columns > 0);
        let last = sparse_draws(
            &WrongSparse::LastRowNeverZero,
            (rows, cols),
            zeros,
            SAMPLES,
            3,
        );
        assert_eq!(last.wrong_columns, 0);
        assert!(p_of(&last).0 < alpha(), "{:?}", p_of(&last));
        let scaled = sparse_draws(&WrongSparse::Scaled, (rows, cols), zeros, SAMPLES, 3);
        let (chi2, ks, variance) = p_of(&scaled);
        assert!(chi2 >= alpha() && ks < alpha() && variance < alpha());
    }

    /// The chi-square statistic of zeros drawn without replacement is χ²(rows − 1) once
    /// scaled: over 200 seeds of a [10, 50] matrix with 3 zeros per column, the mean of the
    /// scaled statistic is within 4 standard errors of rows − 1 = 9 (its variance is
    /// 2·9 = 18), which the unscaled Pearson statistic (mean 9·c = 7) is not.
    #[test]
    fn the_zero_rows_statistic_has_its_chi_square_mean() {
        let sparse = Sparse::new(0.3);
        let runs = 200;
        let mean = (0..runs)
            .map(|seed| {
                let d = sparse_draws(&sparse, (10, 50), 3, 1, seed);
                zero_rows_test(&d.zeros_per_row, 3).0
            })
            .sum::<f64>()
            / runs as f64;
        assert!(
            (mean - 9.0).abs() < 4.0 * (18.0 / runs as f64).sqrt(),
            "{mean}"
        );
    }

    #[test]
    fn every_case_names_a_unique_check() {
        let names: Vec<String> = checks().into_iter().map(|c| c.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
    }
}
