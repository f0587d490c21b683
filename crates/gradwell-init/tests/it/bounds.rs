//! Bounded distributions stay inside their bounds, and reach them.

use gradwell_init::{
    Distribution, FanMode, Fans, HeUniform, Init, Initializer, KERAS_TRUNCATION_STD, KerasHeNormal,
    Layout, LecunUniform, PytorchDefault, TruncatedNormal, VarianceScaling, XavierUniform,
};
use proptest::prelude::*;

use crate::{draw, rng};

fn shape() -> impl Strategy<Value = Vec<usize>> {
    (
        1_usize..40,
        1_usize..40,
        proptest::collection::vec(1_usize..4, 0..2),
    )
        .prop_map(|(out, inp, kernel)| [out, inp].iter().chain(&kernel).copied().collect())
}

/// Every sample, in f64 and in f32, is within [−bound, bound]; with at least 2¹⁴ samples the
/// largest magnitude also exceeds 0.99·bound, so a bound set too small fails too. (The
/// chance that 2¹⁴ draws all miss the outer 1 % of a uniform is 0.99^16384 < 10⁻⁷¹; of the
/// 2σ-truncated normal, whose outer 1 % of range holds 0.22 % of its mass, below 10⁻¹⁵.)
fn assert_within(init: &Init, shape: &[usize], bound: f64) {
    let xs = draw(init, shape, 1 << 14, 5);
    let max = xs.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    assert!(max <= bound, "{init} on {shape:?}: {max} > {bound}");
    assert!(
        max > 0.99 * bound,
        "{init} on {shape:?}: {max} never near {bound}"
    );
    let w: ndarray::ArrayD<f32> = init.sample(shape, &mut rng(6)).unwrap();
    let bound32 = bound as f32;
    assert!(
        w.iter().all(|x| x.abs() <= bound32),
        "{init} on {shape:?} in f32"
    );
}

proptest! {
    #![proptest_config(crate::config(48))]

    #[test]
    fn uniform_initializers_never_leave_sqrt_3_variance(shape in shape()) {
        let f = Fans::of(&shape, Layout::PyTorch).unwrap();
        let (fi, fo) = (f.fan_in as f64, f.fan_out as f64);
        assert_within(&Init::XavierUniform(XavierUniform { gain: 1.0 }), &shape, (3.0 * 2.0 / (fi + fo)).sqrt());
        assert_within(&Init::HeUniform(HeUniform { nonlinearity: gradwell_init::Nonlinearity::Relu, mode: FanMode::FanIn }), &shape, (6.0 / fi).sqrt());
        assert_within(&Init::LecunUniform(LecunUniform), &shape, (3.0 / fi).sqrt());
        // PyTorch's default: U(±1/√fan_in).
        assert_within(&Init::PytorchDefault(PytorchDefault), &shape, 1.0 / fi.sqrt() * (1.0 + 1e-15));
    }

    #[test]
    fn keras_truncated_normals_never_leave_two_parameter_stds(shape in shape()) {
        let fi = Fans::of(&shape, Layout::PyTorch).unwrap().fan_in as f64;
        let sigma0 = (2.0 / fi).sqrt() / KERAS_TRUNCATION_STD;
        assert_within(&Init::KerasHeNormal(KerasHeNormal), &shape, 2.0 * sigma0 * (1.0 + 1e-15));
        let lecun = Init::VarianceScaling(VarianceScaling::new(1.0, FanMode::FanIn, Distribution::TruncatedNormal));
        assert_within(&lecun, &shape, 2.0 * (1.0 / fi).sqrt() / KERAS_TRUNCATION_STD * (1.0 + 1e-15));
    }

    /// PyTorch-style absolute bounds, in the three regimes of the sampler: most of the mass
    /// inside, a narrow interval off the mean, and a far tail with an infinite side.
    #[test]
    fn trunc_normal_never_leaves_its_absolute_bounds(
        mean in -3.0_f64..3.0, std in 0.01_f64..3.0, lo in -6.0_f64..6.0, width in 0.01_f64..6.0,
        open_above in any::<bool>(), open_below in any::<bool>(),
    ) {
        let a = if open_below && !open_above { f64::NEG_INFINITY } else { mean + lo * std };
        let b = if open_above { f64::INFINITY } else { mean + (lo + width) * std };
        let t = TruncatedNormal { mean, std, a, b };
        let xs: ndarray::ArrayD<f64> = t.sample(&[2000], &mut rng(8)).unwrap();
        prop_assert!(xs.iter().all(|&x| a <= x && x <= b), "{:?}", t);
        let ys: ndarray::ArrayD<f32> = t.sample(&[2000], &mut rng(8)).unwrap();
        prop_assert!(ys.iter().all(|&y| a as f32 <= y && y <= b as f32), "{:?} f32", t);
    }
}

#[test]
fn pytorch_trunc_normal_defaults_do_not_cut_a_small_std() {
    // trunc_normal_(w, std=0.02): bounds ±2 are 100 std away, so it is N(0, 0.02²). Its m₂
    // has relative standard deviation √(2/n) = 0.44 % at n = 10⁵; 6 of them allowed.
    let t = TruncatedNormal {
        std: 0.02,
        ..TruncatedNormal::default()
    };
    let xs: ndarray::ArrayD<f64> = t.sample(&[100_000], &mut rng(9)).unwrap();
    let m2 = xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64;
    assert!(
        (m2 / 4e-4 - 1.0).abs() < 6.0 * (2.0_f64 / 1e5).sqrt(),
        "{m2}"
    );
}

/// `uniform_bound` is the bound of every uniform variance-scaling initializer and of the
/// default bias, written out by hand (Keras's `VarianceScaling(distribution="uniform")`:
/// √(3·scale/fan)), and `None` for every law that is not U(−b, b). On a Conv2d(8, 16, 3×3)
/// weight [16, 8, 3, 3]: fan_in 72, fan_out 144, fan_avg 108. (PyTorch's own floats are
/// in `torch.rs`, compared bit for bit.)
#[test]
fn uniform_bound_is_each_uniform_initializers_bound() {
    use gradwell_init::InitInfo;
    let shape = [16, 8, 3, 3];
    let gain_02 = (2.0 / (1.0 + 0.2 * 0.2_f64)).sqrt();
    let cases = [
        ("xavier-uniform:1.5", 1.5 * (6.0_f64 / 216.0).sqrt()),
        ("he-uniform", (6.0_f64 / 72.0).sqrt()),
        (
            "he-uniform:fan-out,leaky-relu=0.2",
            gain_02 * (3.0_f64 / 144.0).sqrt(),
        ),
        ("lecun-uniform", (3.0_f64 / 72.0).sqrt()),
        ("pytorch-default", 1.0 / 72.0_f64.sqrt()),
        (
            "variance-scaling:0.5,fan-avg,uniform",
            (1.5_f64 / 108.0).sqrt(),
        ),
        ("variance-scaling:0,fan-in,uniform", 0.0),
        ("pytorch-default-bias:72", 1.0 / 72.0_f64.sqrt()),
        ("uniform:-0.3,0.3", 0.3),
    ];
    for (name, want) in cases {
        let init: Init = name.parse().unwrap();
        let got = init.uniform_bound(&shape).unwrap().expect(name);
        assert!(
            (got - want).abs() <= 1e-15 * want,
            "{name}: {got} vs {want}"
        );
    }
    // Keras's layout reads [3, 3, 8, 16] as the same weight.
    let keras: Init = "variance-scaling:2,fan-in,uniform,keras".parse().unwrap();
    let got = keras.uniform_bound(&[3, 3, 8, 16]).unwrap().unwrap();
    assert!((got / (6.0_f64 / 72.0).sqrt() - 1.0).abs() < 1e-15, "{got}");
    for name in [
        "he-normal",
        "xavier-normal",
        "keras-he-normal",
        "variance-scaling:1,fan-in,truncated-normal",
        "uniform",
        "trunc-normal",
        "constant:0.5",
        "orthogonal",
    ] {
        let init: Init = name.parse().unwrap();
        assert_eq!(init.uniform_bound(&shape), Ok(None), "{name}");
    }
    let sparse: Init = "sparse:0.1".parse().unwrap();
    assert_eq!(sparse.uniform_bound(&[16, 72]), Ok(None));
    // An error where the law is one: a bias initializer without a weight, a fan-based one
    // without fans.
    let bias: Init = "pytorch-default-bias".parse().unwrap();
    assert!(bias.uniform_bound(&[16]).is_err());
    assert!(
        Init::PytorchDefault(PytorchDefault)
            .uniform_bound(&[16])
            .is_err()
    );
}
