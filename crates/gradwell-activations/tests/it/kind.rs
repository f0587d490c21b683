//! ActivationKind: parsing, printing, serde, and the gains it reports.

// Reference values keep the digits of the high-precision computation they come from.
#![allow(clippy::excessive_precision)]

use gradwell_activations::{
    Activation, ActivationError, ActivationInfo, ActivationKind, Elu, Gelu, Hardtanh, Identity,
    LeakyRelu, Mish, Relu6, Silu, Softplus, second_moment_gain,
};
use gradwell_init::calculate_gain;
use proptest::prelude::*;

use crate::common::all_kinds;

#[test]
fn display_round_trips_and_equals_name() {
    for k in all_kinds() {
        let text = k.to_string();
        assert_eq!(text.parse::<ActivationKind>(), Ok(k), "{text}");
        assert_eq!(k.name(), text);
    }
}

#[test]
fn accepted_spellings() {
    let cases: [(&str, ActivationKind); 9] = [
        ("swish", Silu.into()),
        ("linear", Identity.into()),
        ("leaky-relu", LeakyRelu::default().into()),
        ("LEAKY_RELU:0.2", LeakyRelu::new(0.2).unwrap().into()),
        (" leaky-relu : 0.2 ", LeakyRelu::new(0.2).unwrap().into()),
        ("softplus:2", Softplus::new(2.0, 20.0).unwrap().into()),
        ("hardtanh:-2,3", Hardtanh::new(-2.0, 3.0).unwrap().into()),
        ("elu", Elu::default().into()),
        ("relu6", Relu6.into()),
    ];
    for (text, want) in cases {
        assert_eq!(text.parse::<ActivationKind>(), Ok(want), "{text}");
    }
    assert_eq!(
        ActivationKind::from(LeakyRelu::default()).to_string(),
        "leaky-relu:0.01"
    );
    assert_eq!(
        ActivationKind::from(Softplus::default()).to_string(),
        "softplus:1,20"
    );
}

#[test]
fn errors_name_what_was_wrong() {
    let err = "swishy".parse::<ActivationKind>().unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ActivationError::UnknownName { .. }));
    for name in [
        "identity",
        "(or linear)",
        "leaky-relu[:slope]",
        "softplus[:beta[,threshold]]",
        "silu",
        "(or swish)",
        "gelu-tanh",
        "mish",
        "hardtanh[:min[,max]]",
    ] {
        assert!(msg.contains(name), "{msg} lacks {name}");
    }
    // Only names that have aliases get the "(or …)" part.
    assert!(!msg.contains("(or )"), "{msg}");
    assert!(msg.contains("relu, "), "{msg}");
    assert!(matches!(
        "leaky-relu:abc".parse::<ActivationKind>(),
        Err(ActivationError::BadNumber {
            activation: "leaky-relu",
            ..
        })
    ));
    assert!(matches!(
        "relu:1".parse::<ActivationKind>(),
        Err(ActivationError::TooManyParams {
            activation: "relu",
            max: 0,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        "softplus:0".parse::<ActivationKind>(),
        Err(ActivationError::InvalidParam {
            activation: "softplus",
            param: "beta",
            ..
        })
    ));
    assert!(matches!(
        "hardtanh:1,-1".parse::<ActivationKind>(),
        Err(ActivationError::InvalidParam {
            activation: "hardtanh",
            param: "max",
            ..
        })
    ));
    assert!("elu:nan".parse::<ActivationKind>().is_err());
}

#[test]
fn serde_uses_the_text_form_and_validates() {
    let k: ActivationKind = LeakyRelu::new(0.2).unwrap().into();
    let json = serde_json::to_string(&k).unwrap();
    assert_eq!(json, "\"leaky-relu:0.2\"");
    assert_eq!(serde_json::from_str::<ActivationKind>(&json).unwrap(), k);
    let bad = serde_json::from_str::<ActivationKind>("\"softplus:-1\"").unwrap_err();
    assert!(bad.to_string().contains("beta"), "{bad}");
}

proptest! {
    /// Any finite parameter prints and parses back to the same bits.
    #[test]
    fn parameters_round_trip(a in prop::num::f64::NORMAL, b in 1e-3..1e3_f64) {
        let kinds: Vec<ActivationKind> = vec![
            LeakyRelu::new(a).unwrap().into(),
            Elu::new(a).unwrap().into(),
            Softplus::new(b, a).unwrap().into(),
        ];
        for k in kinds {
            prop_assert_eq!(k.to_string().parse::<ActivationKind>(), Ok(k));
        }
    }
}

/// The gains: PyTorch's where PyTorch has a family, else the second-moment gain, whose
/// values for the defaults are those the crate docs tabulate (40-digit quadrature).
#[test]
fn gains_follow_the_documented_rule() {
    for k in all_kinds() {
        match k.nonlinearity() {
            Some(nl) => assert_eq!(k.gain(), calculate_gain(nl), "{k}"),
            None => {
                let rule = second_moment_gain(|x| Activation::<f64>::value(&k, x));
                assert_eq!(k.gain(), rule, "{k}");
            }
        }
    }
    let table: [(ActivationKind, f64); 11] = [
        (Elu::default().into(), 1.2451983007007066),
        (Gelu.into(), 1.5335304411955352),
        (gradwell_activations::GeluTanh.into(), 1.5335805216661469),
        (Silu.into(), 1.6765324703310912),
        (Softplus::default().into(), 1.041866835535302),
        (Mish.into(), 1.486847581273208),
        (Relu6.into(), 1.4142135650950737),
        (Hardtanh::default().into(), 1.3920361404483098),
        // Simpson's rule split at the kinks, 20 000 intervals a piece.
        (
            gradwell_activations::Celu::default().into(),
            1.2451983007007097,
        ),
        (gradwell_activations::Hardsigmoid.into(), 1.897840424729558),
        (gradwell_activations::Hardswish.into(), 1.7366572127665403),
    ];
    for (k, want) in table {
        assert!(
            (k.gain() - want).abs() < 1e-8,
            "{k}: {} vs {want}",
            k.gain()
        );
    }
}

/// The kinks are sorted and finite; each activation's own file pins its list (the points
/// where f is not smooth, and softplus's switch to the identity), and the smooth ones have
/// none, so no property test skips points near a kink that is not there.
#[test]
fn kinks_are_sorted_and_finite() {
    for k in all_kinds() {
        let kinks = k.kinks();
        assert!(kinks.iter().all(|c| c.is_finite()), "{k}: {kinks:?}");
        assert!(kinks.windows(2).all(|w| w[0] < w[1]), "{k}: {kinks:?}");
    }
}

/// Each type's own `name()` is its canonical text form, the one `ActivationKind` prints
/// (checked on every type, with default and other parameters, through `info()`, the type
/// itself).
#[test]
fn every_type_names_itself_as_the_kind_prints_it() {
    for k in crate::common::all_kinds() {
        let own = k.info().name();
        assert_eq!(own, k.to_string());
    }
}

/// The parameter accessors return what was given.
#[test]
fn parameters_are_readable() {
    let h = Hardtanh::new(-2.0, 3.0).unwrap();
    assert_eq!((h.min(), h.max()), (-2.0, 3.0));
    assert_eq!(LeakyRelu::new(0.2).unwrap().slope(), 0.2);
    assert_eq!(
        gradwell_activations::Prelu::new(-0.5).unwrap().slope(),
        -0.5
    );
    let sp = Softplus::new(2.0, 15.0).unwrap();
    assert_eq!((sp.beta(), sp.threshold()), (2.0, 15.0));
}

/// Softplus switches to the identity only strictly above the threshold (β·x > 20, as
/// PyTorch): at β·x = 20 exactly it is still log(1 + e²⁰) = 20 + 2.06e-9, with slope
/// σ(20) < 1.
#[test]
fn softplus_at_its_threshold_is_not_yet_the_identity() {
    let sp = Softplus::default();
    let v: f64 = sp.value(20.0);
    assert!((v - 20.000_000_002_061_153).abs() < 1e-12, "{v}");
    let d: f64 = sp.derivative(20.0);
    assert!(d < 1.0, "{d}");
}

/// At exactly x = 0 the slice backward takes the PyTorch side, as `derivative` does:
/// leaky′(0) = slope, PReLU′(0) = a, SELU′(0) = λα, ReLU′(0) = 0.
#[test]
fn backward_at_the_kink_follows_pytorch() {
    for k in [
        ActivationKind::from(LeakyRelu::new(0.2).unwrap()),
        ActivationKind::from(gradwell_activations::Prelu::new(3.0).unwrap()),
        ActivationKind::from(gradwell_activations::Selu),
        ActivationKind::from(gradwell_activations::Relu),
    ] {
        let (x, y) = ([0.0_f64], [0.0_f64]);
        let mut dx = [1.0];
        k.backward_slice(&x, &y, &[2.0], &mut dx);
        assert_eq!(
            dx[0],
            1.0 + 2.0 * Activation::<f64>::derivative(&k, 0.0),
            "{k}"
        );
        assert_ne!(Activation::<f64>::derivative(&k, 0.0), 1.0, "{k}");
    }
}
