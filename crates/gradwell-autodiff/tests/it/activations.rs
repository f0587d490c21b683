//! Every activation as an autodiff op passes gradient checking in f64, at points away
//! from its kinks; softmax and log-softmax too.

use gradwell_activations::{ActivationInfo, ActivationKind};
use gradwell_autodiff::gradcheck;
use ndarray::{ArrayD, IxDyn};

/// Points spread over [−4, 4], each nudged away from the activation's kinks by more than
/// the finite-difference step could reach.
fn inputs_away_from(kinks: &[f64]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(&[3, 7]), |i| {
        let mut x = -4.0 + 8.0 * ((i[0] * 7 + i[1]) as f64 + 0.37) / 21.0;
        while kinks.iter().any(|k| (x - k).abs() < 1e-3) {
            x += 0.01;
        }
        x
    })
}

#[test]
fn every_activation_op_passes_gradcheck() {
    let mut kinds = ActivationKind::defaults();
    for extra in [
        "leaky-relu:0.2",
        "elu:2",
        "softplus:2,5",
        "hardtanh:-2,3",
        "prelu:0.3",
    ] {
        kinds.push(extra.parse().unwrap());
    }
    for kind in kinds {
        let x = inputs_away_from(&kind.kinks());
        let report = gradcheck(|t, v| t.activation(kind, v[0]), &[x]).unwrap();
        assert!(report.passed(), "{kind}: {report}");
    }
}

#[test]
fn softmax_and_log_softmax_ops_pass_gradcheck_on_either_axis() {
    let x = inputs_away_from(&[]);
    for axis in [0, 1] {
        let r = gradcheck(|t, v| t.softmax(v[0], axis), std::slice::from_ref(&x)).unwrap();
        assert!(r.passed(), "softmax axis {axis}: {r}");
        let r = gradcheck(|t, v| t.log_softmax(v[0], axis), std::slice::from_ref(&x)).unwrap();
        assert!(r.passed(), "log_softmax axis {axis}: {r}");
    }
    let mut t = gradwell_autodiff::Tape::<f64>::new();
    let v = t.input(x);
    assert!(t.softmax(v, 2).is_err());
}
