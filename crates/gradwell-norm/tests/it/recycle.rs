//! A tape reused from step to step hands each norm op the buffers of the op recorded at
//! its position in the previous step. Whatever those buffers held, a step must compute
//! exactly (bit for bit) what the same step computes on a fresh tape, including when the
//! batch size changes between steps.

use gradwell_autodiff::{ParamStore, Tape};
use gradwell_norm::{
    BatchNorm, BatchNormConfig, BatchNormState, LayerNorm, LayerNormConfig, batch_norm_eval,
};
use ndarray::ArrayD;

use crate::common::{rng, uniform};

const C: usize = 4;

struct Net {
    /// Affine, tracking: trained with batch statistics.
    a: BatchNorm<f64>,
    norm: LayerNorm<f64>,
    /// Neither affine nor tracking.
    b: BatchNorm<f64>,
    /// Affine with non-trivial running statistics, evaluated with them.
    c: BatchNorm<f64>,
    /// Evaluated through the functional form without weight or bias.
    d: BatchNorm<f64>,
}

impl Net {
    fn new(store: &mut ParamStore<f64>) -> Net {
        let cfg = BatchNormConfig::default();
        let bare = BatchNormConfig {
            affine: false,
            track_running_stats: false,
            ..cfg
        };
        let net = Net {
            a: BatchNorm::new(store, "a", C, cfg).unwrap(),
            norm: LayerNorm::new(store, "norm", C, LayerNormConfig::default()).unwrap(),
            b: BatchNorm::new(store, "b", C, bare).unwrap(),
            c: BatchNorm::new(store, "c", C, cfg).unwrap(),
            d: BatchNorm::new(store, "d", C, cfg).unwrap(),
        };
        // γ and β away from 1 and 0, so that their gradients and uses are exercised.
        let mut r = rng(7);
        for id in store.ids().collect::<Vec<_>>() {
            if store.is_trainable(id) {
                let v = uniform(&mut r, &[C], 0.5, 1.5);
                store.value_mut(id).assign(&v);
            }
        }
        for (i, bn) in [&net.c, &net.d].into_iter().enumerate() {
            let state = BatchNormState {
                running_mean: vec![0.25 * i as f64, -0.5, 0.1, 0.0],
                running_var: vec![2.0, 0.5, 1.0 + i as f64, 0.3],
                num_batches_tracked: 3,
            };
            bn.load_state(store, &state).unwrap();
        }
        net
    }
}

/// The output, every parameter gradient and every running statistic after one step.
fn step(tape: &mut Tape<f64>, net: &Net, x: &ArrayD<f64>) -> Vec<Vec<f64>> {
    tape.reset();
    let x = tape.input(x.clone());
    let h = net.a.forward(tape, x, true).unwrap();
    let h = net.norm.forward(tape, h).unwrap();
    let h = net.b.forward(tape, h, true).unwrap();
    let h = net.c.forward(tape, h, false).unwrap();
    let (m, v) = (net.d.running_mean().unwrap(), net.d.running_var().unwrap());
    let (m, v) = (tape.param(m), tape.param(v));
    let y = batch_norm_eval(tape, h, m, v, None, None, 1e-3).unwrap();
    let target = tape.input(ArrayD::from_elem(tape.shape(y).unwrap(), 0.3));
    let loss = tape.mse(y, target).unwrap();
    tape.backward(loss).unwrap();
    let store = tape.params();
    let mut out = vec![tape.value(y).iter().copied().collect()];
    for id in store.ids() {
        out.push(store.value(id).iter().copied().collect());
        out.push(store.grad(id).iter().copied().collect());
    }
    out
}

#[test]
fn a_reused_tape_computes_exactly_what_a_fresh_one_does() {
    let mut store = ParamStore::new();
    let net = Net::new(&mut store);
    let mut reused = Tape::with_params(store);
    let mut r = rng(11);
    // Batch sizes with every remainder of the four-row passes, growing and shrinking.
    for (s, n) in [6, 2, 9, 4, 7, 2, 5].into_iter().enumerate() {
        let x = uniform(&mut r, &[n, C], -2.0, 3.0);
        let mut fresh = Tape::with_params(reused.params().clone());
        let expected = step(&mut fresh, &net, &x);
        let got = step(&mut reused, &net, &x);
        assert_eq!(got, expected, "step {s} (batch {n})");
        reused.params_mut().zero_grad();
    }
}
