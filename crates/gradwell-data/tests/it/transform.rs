use gradwell_data::{DEFAULT_STD_FLOOR, Dataset, Transform, digits};
use ndarray::{Array2, array};

fn toy(features: Array2<f32>) -> Dataset {
    let n = features.nrows();
    Dataset::new("toy", features, vec![0; n], 1).unwrap()
}

#[test]
fn standardize_uses_the_training_statistics_on_other_data() {
    // Feature 0: mean 2, population sd 1; feature 1: constant.
    let train = array![[1.0f32, 5.0], [3.0, 5.0], [1.0, 5.0], [3.0, 5.0]];
    let t = Transform::fit_standardize(train.view(), DEFAULT_STD_FLOOR).unwrap();
    assert_eq!(
        t,
        Transform::Standardize {
            mean: vec![2.0, 5.0],
            std: vec![1.0, DEFAULT_STD_FLOOR]
        }
    );
    let mut test = toy(array![[4.0, 5.0], [0.5, 5.0]]);
    t.apply_to(&mut test).unwrap();
    assert_eq!(test.features(), array![[2.0, 0.0], [-1.5, 0.0]]);
}

#[test]
fn standardized_digits_have_mean_zero_and_unit_spread() {
    let mut ds = digits().unwrap();
    let t = Transform::fit_standardize(ds.features(), DEFAULT_STD_FLOOR).unwrap();
    t.apply_to(&mut ds).unwrap();
    assert_eq!(ds.value_range(), None);
    let Transform::Standardize { std, .. } = &t else {
        panic!()
    };
    for (j, col) in ds.features().columns().into_iter().enumerate() {
        let n = col.len() as f64;
        let mean = col.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = col
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(mean.abs() < 1e-5, "feature {j}: mean {mean}");
        if std[j] > DEFAULT_STD_FLOOR {
            assert!((var - 1.0).abs() < 1e-4, "feature {j}: variance {var}");
        } else {
            assert_eq!(var, 0.0, "feature {j} is constant");
        }
    }
    // Some digit pixels (the corners) are always 0: the floor is in use.
    assert!(std.contains(&DEFAULT_STD_FLOOR));
}

#[test]
fn global_standardize_uses_one_mean_and_spread() {
    let x = array![[0.0f32, 2.0], [4.0, 6.0]];
    let t = Transform::fit_standardize_global(x.view(), DEFAULT_STD_FLOOR).unwrap();
    let sd = 5.0f32.sqrt(); // values 0, 2, 4, 6: mean 3, population variance 5
    assert_eq!(
        t,
        Transform::Standardize {
            mean: vec![3.0; 2],
            std: vec![sd; 2]
        }
    );
}

#[test]
fn min_max_maps_the_fitted_data_onto_the_unit_interval() {
    let mut ds = toy(array![[-1.0, 7.0, 3.0], [1.0, 7.0, 5.0], [0.0, 7.0, 4.0]]);
    let t = Transform::fit_min_max(ds.features()).unwrap();
    t.apply_to(&mut ds).unwrap();
    assert_eq!(
        ds.features(),
        array![[0.0, 0.0, 0.0], [1.0, 0.0, 1.0], [0.5, 0.0, 0.5]]
    );
}

#[test]
fn scaling_digits_by_their_maximum_keeps_track_of_the_range() {
    let mut a = digits().unwrap();
    let mut b = a.clone();
    Transform::divide_by(16.0)
        .unwrap()
        .apply_to(&mut a)
        .unwrap();
    Transform::unit_range(&b).unwrap().apply_to(&mut b).unwrap();
    assert_eq!(a.features(), b.features());
    assert_eq!(
        (a.value_range(), b.value_range()),
        (Some((0.0, 1.0)), Some((0.0, 1.0)))
    );
    assert_eq!(a.features().iter().copied().fold(0.0f32, f32::max), 1.0);
    let plain = toy(array![[1.0]]);
    assert!(Transform::unit_range(&plain).is_err());
}

#[test]
fn transforms_survive_serde_and_check_what_they_read() {
    let t = Transform::fit_standardize(array![[1.0f32, 2.0], [3.0, 2.0]].view(), 1e-3).unwrap();
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.contains("\"kind\":\"standardize\""), "{json}");
    assert_eq!(serde_json::from_str::<Transform>(&json).unwrap(), t);
    let short: Transform =
        serde_json::from_str(r#"{"kind":"min_max","min":[0.0],"range":[1.0, 2.0]}"#).unwrap();
    assert!(short.apply(array![[1.0f32, 2.0]].view_mut()).is_err());
    let zero: Transform =
        serde_json::from_str(r#"{"kind":"standardize","mean":[0.0],"std":[0.0]}"#).unwrap();
    assert!(zero.apply(array![[1.0f32]].view_mut()).is_err());
    let scale: Transform = serde_json::from_str(r#"{"kind":"scale","factor":0.5}"#).unwrap();
    let mut x = array![[4.0f32, -2.0]];
    scale.apply(x.view_mut()).unwrap();
    assert_eq!(x, array![[2.0, -1.0]]);
    // A fitted transform refuses a different number of features.
    assert!(t.apply(array![[1.0f32, 2.0, 3.0]].view_mut()).is_err());
}

#[test]
fn bad_fits_are_refused() {
    let empty = Array2::<f32>::zeros((0, 3));
    assert!(Transform::fit_standardize(empty.view(), DEFAULT_STD_FLOOR).is_err());
    assert!(Transform::fit_min_max(empty.view()).is_err());
    let nan = array![[f32::NAN]];
    assert!(Transform::fit_standardize(nan.view(), DEFAULT_STD_FLOOR).is_err());
    assert!(Transform::fit_standardize(array![[1.0f32]].view(), 0.0).is_err());
    assert!(Transform::scale(0.0).is_err() && Transform::scale(f32::INFINITY).is_err());
    assert!(Transform::divide_by(-1.0).is_err());
}
