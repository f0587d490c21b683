use gradwell_init::{
    Distribution, Eye, FanMode, Init, InitError, Initializer, Normal, Orthogonal, TruncatedNormal,
    Uniform, VarianceScaling, Zeros,
};
use ndarray::ArrayD;

use crate::rng;

fn err<I: Initializer<f64>>(init: &I, shape: &[usize]) -> InitError {
    let r: Result<ArrayD<f64>, _> = init.sample(shape, &mut rng(0));
    r.unwrap_err()
}

#[test]
fn fan_based_initializers_reject_rank_below_two() {
    for s in [
        "he-normal",
        "xavier-uniform",
        "lecun-normal",
        "pytorch-default",
        "keras-he-normal",
    ] {
        let init: Init = s.parse().unwrap();
        let e = err(&init, &[10]);
        assert!(matches!(e, InitError::RankTooLow { .. }), "{s}: {e}");
        assert!(e.to_string().contains("[10]"), "{e}");
    }
}

#[test]
fn structured_initializers_name_the_shape_they_need() {
    let e = err(&Init::Orthogonal(Orthogonal { gain: 1.0 }), &[4]);
    assert!(e.to_string().contains("2 or more dimensions"), "{e}");
    let e = err(&Init::Eye(Eye), &[2, 2, 2]);
    assert!(e.to_string().contains("2-D"), "{e}");
}

#[test]
fn bad_parameters_are_errors_that_name_the_parameter() {
    let cases: Vec<(Box<dyn Initializer<f64>>, &str)> = vec![
        (
            Box::new(Uniform {
                low: 1.0,
                high: 0.0,
            }),
            "high",
        ),
        (
            Box::new(Uniform {
                low: f64::NAN,
                high: 0.0,
            }),
            "low",
        ),
        (
            Box::new(Normal {
                mean: 0.0,
                std: -1.0,
            }),
            "std",
        ),
        (
            Box::new(TruncatedNormal {
                mean: 0.0,
                std: 1.0,
                a: 1.0,
                b: 1.0,
            }),
            "b",
        ),
        (
            Box::new(TruncatedNormal {
                mean: 0.0,
                std: 0.0,
                a: -1.0,
                b: 1.0,
            }),
            "std",
        ),
        (
            Box::new(TruncatedNormal {
                a: f64::INFINITY,
                b: f64::INFINITY,
                ..TruncatedNormal::default()
            }),
            "a",
        ),
        (
            Box::new(TruncatedNormal {
                a: f64::NAN,
                ..TruncatedNormal::default()
            }),
            "a",
        ),
        (
            Box::new(VarianceScaling::new(
                -2.0,
                FanMode::FanIn,
                Distribution::Normal,
            )),
            "scale",
        ),
        (
            Box::new(VarianceScaling::new(
                f64::INFINITY,
                FanMode::FanIn,
                Distribution::Uniform,
            )),
            "scale",
        ),
    ];
    for (init, parameter) in cases {
        let r = init.sample(&[3, 3], &mut rng(0));
        match r {
            Err(InitError::BadParameter { parameter: p, .. }) => assert_eq!(p, parameter),
            other => panic!("expected a bad {parameter}, got {other:?}"),
        }
    }
}

#[test]
fn a_shape_too_large_to_address_is_an_error() {
    let e = err(&Init::Zeros(Zeros), &[usize::MAX, 2]);
    assert!(matches!(e, InitError::ShapeTooLarge { .. }), "{e}");
    // A count that fits in usize but not, in bytes, in isize.
    let count = isize::MAX as usize / std::mem::size_of::<f64>() + 1;
    let e = err(&Init::Zeros(Zeros), &[count, 1]);
    assert!(matches!(e, InitError::ShapeTooLarge { .. }), "{e}");
}
