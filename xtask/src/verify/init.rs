//! Initializers against the distributions their formulas define.
//!
//! For each initializer and a few shapes, one seeded draw of [`SAMPLES`] values is tested
//! three ways — a Kolmogorov–Smirnov test against the theoretical CDF, a z-test of the
//! variance about the known mean, and a z-test of the mean — and, where the law is bounded,
//! the samples' support is checked as a bound. Orthogonal initializers get an orthogonality
//! residual (a bound) and a test that their trace has the Haar moments (mean 0, variance
//! 1), which an orthogonal matrix without Mezzadri's sign fix fails.
//!
//! The theoretical laws are written out here from the published formulas (PyTorch's
//! `torch/nn/init.py`, Keras's `VarianceScaling`), with the fans of each shape worked by
//! hand, so that a wrong formula in the crate cannot agree with itself.
//!
//! Sample size: the registry tests each p-value at `FAMILY_ALPHA / m` (about 10⁻⁵ for
//! m ≈ 100 tests). [`SAMPLES`] = 2¹⁹ makes the checks reject, at that level, every wrong
//! sampler the unit tests below feed them — fans swapped, the truncation correction left
//! out, a variance 5 % off, uniform bounds of the normal's std, a mean shifted by 5 % of
//! the std — while the right sampler passes.

use std::cell::OnceCell;
use std::rc::Rc;

use gradwell_init::{
    Distribution, FanMode, Init, Initializer, KERAS_TRUNCATION_STD, Layout, Nonlinearity,
    VarianceScaling,
};
use ndarray::{Array2, ArrayD, Ix2};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Check, Outcome};
use crate::stats::{Law, ks_test, mean_test, variance_test};

/// Samples per distributional check.
pub const SAMPLES: usize = 1 << 19;

/// One initializer on one shape and the law it must follow.
struct Case {
    name: String,
    init: Init,
    shape: Vec<usize>,
    law: Law,
}

fn normal(std: f64) -> Law {
    Law::Normal { mean: 0.0, std }
}

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

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: &str, init: Init, shape: &[usize], law: Law| {
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        cases.push(Case {
            name: format!("{name} [{}]", dims.join("x")),
            init,
            shape: shape.to_vec(),
            law,
        });
    };
    // (shape in PyTorch's layout, fan_in, fan_out): Linear(784, 128), Linear(128, 10), and
    // a Conv2d(8, 16, 3×3) weight.
    let shapes: [(&[usize], f64, f64); 3] = [
        (&[128, 784], 784.0, 128.0),
        (&[10, 128], 128.0, 10.0),
        (&[16, 8, 3, 3], 72.0, 144.0),
    ];
    let tanh = 5.0 / 3.0;
    for (shape, fi, fo) in shapes {
        add(
            "xavier-normal",
            Init::XavierNormal { gain: 1.0 },
            shape,
            normal((2.0 / (fi + fo)).sqrt()),
        );
        add(
            "xavier-uniform(tanh)",
            Init::XavierUniform { gain: tanh },
            shape,
            uniform(tanh * (6.0 / (fi + fo)).sqrt()),
        );
        add(
            "he-normal",
            Init::HE_NORMAL,
            shape,
            normal((2.0 / fi).sqrt()),
        );
        add(
            "he-normal(fan-out)",
            Init::HeNormal {
                nonlinearity: Nonlinearity::Relu,
                mode: FanMode::FanOut,
            },
            shape,
            normal((2.0 / fo).sqrt()),
        );
        add(
            "he-uniform(leaky 0.2)",
            Init::HeUniform {
                nonlinearity: Nonlinearity::LeakyRelu(0.2),
                mode: FanMode::FanIn,
            },
            shape,
            uniform((2.0 / 1.04_f64).sqrt() * (3.0 / fi).sqrt()),
        );
        add(
            "lecun-normal",
            Init::LecunNormal,
            shape,
            normal((1.0 / fi).sqrt()),
        );
        add(
            "lecun-uniform",
            Init::LecunUniform,
            shape,
            uniform((3.0 / fi).sqrt()),
        );
        add(
            "keras-he-normal",
            Init::KerasHeNormal,
            shape,
            keras_truncated((2.0 / fi).sqrt()),
        );
        add(
            "pytorch-default",
            Init::PytorchDefault,
            shape,
            uniform(1.0 / fi.sqrt()),
        );
    }
    // Keras's own layouts: HeNormal on a Dense(128) kernel over 784 inputs, [784, 128];
    // GlorotNormal on a Conv2D kernel [3, 3, 8, 16].
    let keras = |scale, mode| {
        Init::VarianceScaling(
            VarianceScaling::new(scale, mode, Distribution::TruncatedNormal)
                .with_layout(Layout::Keras),
        )
    };
    add(
        "keras HeNormal",
        keras(2.0, FanMode::FanIn),
        &[784, 128],
        keras_truncated((2.0_f64 / 784.0).sqrt()),
    );
    add(
        "keras GlorotNormal",
        keras(1.0, FanMode::FanAvg),
        &[3, 3, 8, 16],
        keras_truncated((2.0_f64 / (72.0 + 144.0)).sqrt()),
    );
    // Fixed distributions, and PyTorch's trunc_normal_ in each of its sampling regimes.
    add(
        "normal(0.1,0.02)",
        Init::Normal {
            mean: 0.1,
            std: 0.02,
        },
        &[256, 64],
        Law::Normal {
            mean: 0.1,
            std: 0.02,
        },
    );
    add(
        "uniform(-0.3,0.5)",
        Init::Uniform {
            low: -0.3,
            high: 0.5,
        },
        &[256, 64],
        Law::Uniform {
            low: -0.3,
            high: 0.5,
        },
    );
    for (a, b) in [(-2.0, 2.0), (2.0, 4.0), (2.5, f64::INFINITY)] {
        let (name, mean, std) = (format!("trunc-normal(0.5,1,{a},{b})"), 0.5, 1.0);
        add(
            &name,
            Init::TruncNormal { mean, std, a, b },
            &[256, 64],
            Law::Truncated { mean, std, a, b },
        );
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
    let init = Init::Orthogonal { gain };
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

pub fn checks() -> Vec<Check> {
    let mut checks = Vec::new();
    for (index, case) in cases().into_iter().enumerate() {
        let case = Rc::new(case);
        let samples: Rc<OnceCell<Vec<f64>>> = Rc::new(OnceCell::new());
        for (which, kind) in ["ks", "variance", "mean"].into_iter().enumerate() {
            let (case, samples) = (case.clone(), samples.clone());
            checks.push(Check::new(
                format!("init/{}/{kind}", case.name),
                move || {
                    let xs = samples.get_or_init(|| {
                        draw(&case.init, &case.shape, SAMPLES, 1000 + index as u64)
                    });
                    judge(xs, &case.law)[which].1.clone()
                },
            ));
        }
        if case.law.support().0.is_finite() || case.law.support().1.is_finite() {
            checks.push(Check::new(
                format!("init/{}/support", case.name),
                move || {
                    let xs = samples.get_or_init(|| {
                        draw(&case.init, &case.shape, SAMPLES, 1000 + index as u64)
                    });
                    Outcome::at_most(support_excess(xs, &case.law), 0.0)
                },
            ));
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
                &Init::Orthogonal { gain: 1.0 },
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

    use super::*;
    use crate::verify::{FAMILY_ALPHA, registry};

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
        let swapped = Init::HeNormal {
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
        let shifted = Init::Normal {
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
        let std_bounds = Init::Uniform {
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
        assert_passes("keras-he-normal", &Init::KerasHeNormal, &SHAPE, &law);
        // Truncation correction left out: N(0, σ²) cut at ±2σ (Keras's TruncatedNormal).
        let s = he_std();
        let uncorrected = Init::TruncNormal {
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
            &Init::Orthogonal { gain: 1.0 },
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

    #[test]
    fn every_case_names_a_unique_check() {
        let names: Vec<String> = checks().into_iter().map(|c| c.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
    }
}
