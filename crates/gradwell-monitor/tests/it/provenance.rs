//! Non-finite provenance: a weight set to overflow f32 in a known layer must be named, with
//! its op and its inputs.

use gradwell_monitor::{
    FindingKind, Monitor, MonitorConfig, Setup, Thresholds, forward_origin, gradient_origin, probe,
};
use gradwell_nn::{MlpSpec, Network, losses};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{build, with_bias_init};

/// A 2-3-3-2 ReLU network: layer 0 is the identity-like map (finite, 1e5), layer 2's
/// weight is 1e35, so its matmul gives 3·1e5·1e35 = 3e40 > f32::MAX: infinity first appears
/// in the matmul of layer 2.
fn overflowing() -> Network<f32> {
    let mlp = MlpSpec::new(&[2, 3, 3, 2], "relu".parse().unwrap());
    let mut net = build(&with_bias_init(&mlp, "zeros"), 0);
    let p = net.tape.params_mut();
    let ids: Vec<_> = p.ids().collect();
    for id in ids {
        let name = p.name(id).to_string();
        let fill = match name.as_str() {
            "0.weight" => 1.0,
            "2.weight" => 1e35,
            "4.weight" => 1.0,
            _ => 0.0,
        };
        p.value_mut(id).fill(fill);
    }
    net
}

#[test]
fn names_the_layer_and_op_where_infinity_first_appears() {
    let mut net = overflowing();
    let x = Array2::from_elem((2, 2), 5e4_f32);
    net.tape.reset();
    let xv = net.tape.input_view(&x.view().into_dyn());
    let mut taps = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let out = net.forward(xv, true, &mut rng, Some(&mut taps)).unwrap();
    let labels = net.tape.labels(&[0, 1]);
    let loss = losses::cross_entropy(&mut net.tape, out, labels, 0.0, Default::default()).unwrap();
    net.tape.backward(loss).unwrap();

    let origin = forward_origin(&net.tape, &taps).expect("an infinity was produced");
    let layer = origin.layer.as_ref().expect("inside a layer");
    assert_eq!((layer.path.as_str(), layer.kind.as_str()), ("2", "Linear"));
    assert_eq!(origin.op, "matmul");
    assert_eq!(origin.stats.inf, 6);
    assert_eq!(origin.inputs.len(), 2);
    // The inputs: the ReLU output (finite, 1e5) and the weight 2.weight (1e35).
    let w = origin
        .inputs
        .iter()
        .find(|i| i.param.as_deref() == Some("2.weight"))
        .expect("the weight is named");
    assert_eq!(w.op, "param");
    assert_eq!(w.stats.max, 1e35_f32 as f64);
    let a = origin.inputs.iter().find(|i| i.param.is_none()).unwrap();
    assert_eq!(
        (a.op.as_str(), a.stats.max, a.stats.non_finite()),
        ("activation", 1e5, 0)
    );
    let text = origin.to_string();
    assert!(
        text.contains("layer 2 (Linear)") && text.contains("`matmul`"),
        "{text}"
    );

    // The backward pass: the first non-finite gradient, from the loss down, is at or after
    // the overflow, and the loss's own value is NaN or infinite.
    let g = gradient_origin(&net.tape, &taps).expect("a non-finite gradient");
    assert!(g.index >= origin.index);
    assert!(!net.tape.value(loss)[[]].is_finite());
}

#[test]
fn the_monitor_traces_the_first_event_and_the_diagnosis_names_the_layer() {
    let mut net = overflowing();
    let x = Array2::from_elem((2, 2), 5e4_f32);
    let mut monitor = Monitor::new(MonitorConfig::default());
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for step in 0..2 {
        net.tape.reset();
        let xv = net.tape.input_view(&x.view().into_dyn());
        let mut taps = Vec::new();
        let out = net.forward(xv, true, &mut rng, Some(&mut taps)).unwrap();
        let labels = net.tape.labels(&[0, 1]);
        let loss =
            losses::cross_entropy(&mut net.tape, out, labels, 0.0, Default::default()).unwrap();
        net.tape.backward(loss).unwrap();
        let lv = net.tape.value(loss)[[]] as f64;
        monitor.record(step, &net.tape, &taps, lv);
    }
    let nf = monitor.history().non_finite.as_ref().expect("traced");
    assert_eq!(nf.step, 0, "the first event is kept");
    let fw = nf.forward.as_ref().unwrap();
    assert_eq!(fw.layer.as_ref().unwrap().path, "2");
    let findings = monitor.findings();
    let f = findings
        .iter()
        .find(|f| f.kind == FindingKind::NonFinite)
        .expect("a non-finite finding");
    assert_eq!(f.layers.first().map(String::as_str), Some("2"));
    assert!(f.message.contains("matmul"), "{}", f.message);
}

#[test]
fn a_finite_network_has_no_origin_and_the_probe_leaves_the_network_unchanged() {
    let mlp = MlpSpec::new(&[4, 8, 3], "relu".parse().unwrap());
    let mut net = build(&mlp.to_spec().unwrap(), 1);
    let first_weight = |net: &gradwell_nn::Network<f32>| -> Vec<f32> {
        let p = net.tape.params();
        p.value(net.param("0.weight").unwrap())
            .iter()
            .copied()
            .collect()
    };
    let before = first_weight(&net);
    let x = crate::gaussian(6, 4, 2);
    let p = probe(
        &mut net,
        &x.view(),
        &[0, 1, 2, 0, 1, 2],
        &Thresholds::default(),
        &Setup::default(),
    )
    .unwrap();
    assert!(p.non_finite.is_none());
    assert!(p.record.loss.is_finite());
    assert_eq!(p.record.layers.len(), 3);
    let after = first_weight(&net);
    assert_eq!(before, after);
    assert!(
        net.tape
            .params()
            .ids()
            .all(|id| net.tape.params().grad(id).iter().all(|&g| g == 0.0))
    );
}

#[test]
fn the_probe_rejects_a_softmax_head() {
    let mut mlp = MlpSpec::new(&[4, 3], "relu".parse().unwrap());
    mlp.head = gradwell_nn::Head::Softmax;
    let mut net = build(&mlp.to_spec().unwrap(), 1);
    let x = crate::gaussian(2, 4, 2);
    let err = probe(
        &mut net,
        &x.view(),
        &[0, 1],
        &Thresholds::default(),
        &Setup::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("softmax"), "{err}");
}

/// A network whose activations are of every sort: a learnt-slope PReLU, an element-wise
/// activation inside a residual block, log-softmax at the end.
fn every_sort_of_activation() -> Network<f32> {
    let spec = gradwell_nn::ModelSpec::parse(
        r#"{"input_shape": [4], "layers": [
            {"type": "linear", "out_features": 6},
            {"type": "prelu"},
            {"type": "residual", "layers": [
                {"type": "linear", "out_features": 6},
                {"type": "activation", "activation": "leaky-relu:0.2"}
            ]},
            {"type": "linear", "out_features": 3},
            {"type": "log_softmax"}
        ]}"#,
    )
    .unwrap();
    crate::build(&spec, 0)
}

/// The monitor's per-layer records, its CSV, its activation plot's series and the layer
/// where a NaN first appeared name each activation in gradwell's spelling, not only by
/// PyTorch's class: PReLU's learnt slopes as `prelu`, the leaky ReLU inside the residual
/// block with its slope, log-softmax as a model file types it.
#[test]
fn layers_are_named_by_the_activation_they_are() {
    let mut net = every_sort_of_activation();
    let x = crate::gaussian(8, 4, 3);
    let labels: Vec<_> = (0..8).map(|i| i % 3).collect();
    let p = probe(
        &mut net,
        &x.view(),
        &labels,
        &Thresholds::default(),
        &Setup::default(),
    )
    .unwrap();
    let named: Vec<(&str, &str, Option<&str>)> = p
        .record
        .layers
        .iter()
        .map(|l| (l.path.as_str(), l.kind.as_str(), l.activation.as_deref()))
        .collect();
    assert_eq!(
        named,
        [
            ("0", "Linear", None),
            ("1", "PReLU", Some("prelu")),
            ("2.body.0", "Linear", None),
            ("2.body.1", "LeakyReLU", Some("leaky-relu:0.2")),
            ("2", "Residual", None),
            ("3", "Linear", None),
            ("4", "LogSoftmax", Some("log_softmax")),
        ]
    );
    // Three activation layers in the plot of activations' spread by layer.
    let series = gradwell_monitor::Series::activation_std_by_layer("net", &p.record);
    assert_eq!(series.points.len(), 3);
    let mut history = gradwell_monitor::History::default();
    history.steps.push(p.record.clone());
    let csv = history.layers_csv();
    assert!(csv.contains(",1,PReLU,prelu,"), "{csv}");
    assert!(csv.contains(",2.body.1,LeakyReLU,leaky-relu:0.2,"), "{csv}");

    // A NaN slope: the first NaN appears in layer 1, named as the PReLU it is.
    let id = net.param("1.weight").unwrap();
    net.tape.params_mut().value_mut(id).fill(f32::NAN);
    let p = probe(
        &mut net,
        &x.view(),
        &labels,
        &Thresholds::default(),
        &Setup::default(),
    )
    .unwrap();
    let origin = p.non_finite.unwrap().forward.unwrap();
    let layer = origin.layer.as_ref().unwrap();
    assert_eq!(layer.activation.as_deref(), Some("prelu"));
    assert!(origin.to_string().contains("layer 1 (prelu)"), "{origin}");
}
