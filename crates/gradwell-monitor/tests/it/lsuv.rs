//! LSUV brings every linear layer's output variance to 1 on the batch, and says which layer
//! it could not.

use gradwell_monitor::{Lsuv, MonitorError, TensorStats};
use gradwell_nn::MlpSpec;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{build, gaussian};

#[test]
fn every_linear_output_has_unit_variance_after_lsuv() {
    // PyTorch's default init shrinks a deep ReLU signal by about 1/6 per layer.
    let mlp = MlpSpec::new(&[32, 64, 64, 64, 64, 64, 64, 10], "relu".parse().unwrap());
    let mut net = build(&mlp.to_spec().unwrap(), 4);
    let x = gaussian(256, 32, 9);
    let report = Lsuv::default().apply(&mut net, &x.view()).unwrap();
    assert_eq!(
        report.iter().map(|l| l.path.as_str()).collect::<Vec<_>>(),
        ["0", "2", "4", "6", "8", "10", "12"]
    );
    // Measured independently, after all layers are done: each linear output's variance is
    // within the tolerance (later layers do not change earlier outputs).
    net.tape.reset();
    let xv = net.tape.input_view(&x.view().into_dyn());
    let mut taps = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    net.forward(xv, false, &mut rng, Some(&mut taps)).unwrap();
    for t in taps.iter().filter(|t| t.kind == "Linear") {
        let s = TensorStats::of(&net.tape.value(t.output));
        assert!(
            (s.std * s.std - 1.0).abs() < 0.1,
            "layer {}: {}",
            t.path,
            s.std * s.std
        );
    }
    for l in &report {
        assert!((l.variance - 1.0).abs() < 0.1 && l.scale > 0.0);
    }
}

#[test]
fn lsuv_names_the_layer_it_cannot_fix() {
    // All-zero input: the first layer's output is its bias, whatever the weight's scale.
    let mlp = MlpSpec::new(&[8, 16, 4], "relu".parse().unwrap());
    let mut net = build(&mlp.to_spec().unwrap(), 1);
    let x = Array2::<f32>::zeros((16, 8));
    match Lsuv::default().apply(&mut net, &x.view()) {
        Err(MonitorError::LsuvDidNotConverge {
            layer, iterations, ..
        }) => {
            assert_eq!(layer, "0");
            assert_eq!(iterations, 10);
        }
        other => panic!("expected non-convergence, got {other:?}"),
    }
}

#[test]
fn lsuv_rejects_bad_settings() {
    let mlp = MlpSpec::new(&[4, 4], "relu".parse().unwrap());
    let mut net = build(&mlp.to_spec().unwrap(), 1);
    let x = gaussian(8, 4, 1);
    let bad = Lsuv {
        tolerance: 0.0,
        ..Lsuv::default()
    };
    assert!(matches!(
        bad.apply(&mut net, &x.view()),
        Err(MonitorError::Invalid { .. })
    ));
    let bad = Lsuv {
        max_iterations: 0,
        ..Lsuv::default()
    };
    assert!(bad.apply(&mut net, &x.view()).is_err());
}
