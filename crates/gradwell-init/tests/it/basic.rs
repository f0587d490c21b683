//! The initializers without fans: constants, uniform and normal, including their
//! degenerate but valid settings.

use gradwell_init::{Constant, Init, Initializer, Normal, Ones, Uniform};
use ndarray::ArrayD;

use crate::{draw, rng};

fn sample<I: Initializer<f64>>(init: &I, shape: &[usize]) -> ArrayD<f64> {
    init.sample(shape, &mut rng(3)).unwrap()
}

/// Every element takes the constant, whatever the array held before.
#[test]
fn constants_fill_every_element() {
    for (init, value) in [
        (Constant { value: 0.5 }, 0.5),
        (Constant::ONES, 1.0),
        (Constant::ZEROS, 0.0),
    ] {
        let mut a = ArrayD::from_elem(vec![3, 4], 7.0_f64);
        init.fill(&mut a.view_mut(), &mut rng(0)).unwrap();
        assert!(a.iter().all(|&x| x == value), "{init:?}: {a}");
    }
    for (init, value) in [
        (Init::Ones(Ones), 1.0),
        (Init::Constant(Constant { value: -2.0 }), -2.0),
    ] {
        assert!(sample(&init, &[2, 5]).iter().all(|&x| x == value), "{init}");
    }
}

/// `high = low` and `std = 0` are allowed (the documented ranges are "at least"): every
/// element is then that one value.
#[test]
fn degenerate_ranges_give_the_one_value() {
    let u = Uniform {
        low: 2.0,
        high: 2.0,
    };
    assert!(sample(&u, &[4, 4]).iter().all(|&x| x == 2.0));
    let n = Normal {
        mean: 1.5,
        std: 0.0,
    };
    assert!(sample(&n, &[4, 4]).iter().all(|&x| x == 1.5));
}

/// N(3, 0.5²) from 2¹⁶ draws: the sample mean is within 6 standard errors (6σ/√n) of 3 and
/// the sample variance within 6·√(2/n) of σ² relative (the standard deviation of a normal
/// sample's variance is σ²·√(2/n)). Each is a false alarm with probability about 2·10⁻⁹;
/// a mean shifted by σ, a variance of 1 or 1/σ², fail by far.
#[test]
fn normal_has_its_mean_and_variance() {
    let (mean, std) = (3.0, 0.5);
    let xs = draw(&Normal { mean, std }, &[256, 256], 1 << 16, 11);
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    assert!((m - mean).abs() <= 6.0 * std / n.sqrt(), "mean {m}");
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let rel = var / (std * std) - 1.0;
    assert!(
        rel.abs() <= 6.0 * (2.0 / n).sqrt(),
        "variance {var}, rel {rel}"
    );
}
