//! Symmetry breaking, reproducibility, and the zero-element no-op, over every initializer.

use gradwell_init::{Constant, Eye, Init, Initializer, Nonlinearity, Ones, Zeros};
use ndarray::{ArrayD, Axis};

use crate::rng;

fn random_inits() -> Vec<Init> {
    let mut all: Vec<Init> = [
        "uniform",
        "normal",
        "trunc-normal",
        "xavier-normal",
        "xavier-uniform:1.5",
        "he-normal",
        "he-uniform:fan-out,leaky-relu=0.1",
        "lecun-normal",
        "lecun-uniform",
        "keras-he-normal",
        "pytorch-default",
        "variance-scaling:2,fan-avg,truncated-normal,keras",
        "orthogonal:2",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    all.push(Init::suited_to(Nonlinearity::Tanh));
    all
}

#[test]
fn a_constant_gives_identical_rows() {
    for init in [
        Init::Zeros(Zeros),
        Init::Ones(Ones),
        Init::Constant(Constant { value: -0.5 }),
    ] {
        let w: ArrayD<f64> = init.sample(&[8, 16], &mut rng(1)).unwrap();
        let first = w.index_axis(Axis(0), 0).to_owned();
        assert!(w.axis_iter(Axis(0)).all(|row| row == first), "{init}");
    }
}

#[test]
fn every_random_initializer_gives_distinct_rows() {
    for init in random_inits() {
        let w: ArrayD<f32> = init.sample(&[8, 16], &mut rng(2)).unwrap();
        let rows: Vec<_> = w.axis_iter(Axis(0)).collect();
        for i in 0..rows.len() {
            for j in 0..i {
                assert_ne!(rows[i], rows[j], "{init}: rows {i} and {j} are equal");
            }
        }
    }
}

#[test]
fn a_seed_reproduces_a_fill_and_another_seed_does_not() {
    for init in random_inits() {
        let a: ArrayD<f64> = init.sample(&[5, 7], &mut rng(3)).unwrap();
        let b: ArrayD<f64> = init.sample(&[5, 7], &mut rng(3)).unwrap();
        let c: ArrayD<f64> = init.sample(&[5, 7], &mut rng(4)).unwrap();
        assert_eq!(a, b, "{init}");
        assert_ne!(a, c, "{init}");
        // f32 from the same seed holds the same values, rounded once.
        let d: ArrayD<f32> = init.sample(&[5, 7], &mut rng(3)).unwrap();
        assert_eq!(a.mapv(|x| x as f32), d, "{init}");
    }
}

#[test]
fn a_fill_follows_logical_order_whatever_the_memory_layout() {
    let init = Init::HE_NORMAL;
    let plain: ArrayD<f64> = init.sample(&[6, 4], &mut rng(5)).unwrap();
    // A transposed (column-major) view of a 4×6 array is a 6×4 array too.
    let mut backing = ArrayD::<f64>::zeros(vec![4, 6]);
    let mut view = backing.view_mut().reversed_axes();
    init.fill(&mut view, &mut rng(5)).unwrap();
    assert_eq!(view, plain);
}

#[test]
fn a_zero_element_shape_is_a_no_op() {
    let mut all = random_inits();
    all.extend([Init::Zeros(Zeros), Init::Eye(Eye)]);
    for init in all {
        for shape in [&[0, 5][..], &[3, 0][..], &[4, 0, 3][..]] {
            if init == Init::Eye(Eye) && shape.len() != 2 {
                continue;
            }
            let w: Result<ArrayD<f32>, _> = init.sample(shape, &mut rng(0));
            assert_eq!(w.map(|w| w.len()), Ok(0), "{init} on {shape:?}");
        }
    }
}

/// Every registered initializer, from the registry: a seed reproduces its fill, an f32
/// fill holds the f64 values rounded once, and an empty matrix is left as it is.
#[test]
fn every_registered_initializer_is_reproducible_and_rounds_once() {
    for init in Init::examples() {
        let a: ArrayD<f64> = init.sample(&[6, 6], &mut rng(3)).unwrap();
        let b: ArrayD<f64> = init.sample(&[6, 6], &mut rng(3)).unwrap();
        assert_eq!(a, b, "{init}");
        let d: ArrayD<f32> = init.sample(&[6, 6], &mut rng(3)).unwrap();
        assert_eq!(a.mapv(|x| x as f32), d, "{init}");
        for shape in [[0, 5], [3, 0]] {
            let w: Result<ArrayD<f32>, _> = init.sample(&shape, &mut rng(0));
            assert_eq!(w.map(|w| w.len()), Ok(0), "{init} on {shape:?}");
        }
    }
}
