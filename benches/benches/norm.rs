//! Batch norm and layer norm at [256, 1024], f32, on a reused tape: the training forward
//! (batch statistics, the fused op, the running-statistics update) and forward plus
//! backward (through a sum loss, whose own passes are included; gradients of the input, γ
//! and β — the input is held as a parameter so that its gradient is wanted, as it is for
//! the output of a previous layer). The forward benches copy the batch onto the tape each
//! iteration, as a training step does.

use criterion::{Criterion, Throughput, criterion_group};
use gradwell_autodiff::Tape;
use gradwell_benches::matrix;
use gradwell_norm::{BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig};

const SHAPE: (usize, usize) = (256, 1024);

fn bench(c: &mut Criterion) {
    let (n, f) = SHAPE;
    let x = matrix(n, f).into_dyn();
    let mut group = c.benchmark_group(format!("norm-f32-{n}x{f}"));
    group.throughput(Throughput::Elements((n * f) as u64));

    let mut tape = Tape::<f32>::new();
    let bn = BatchNorm::new(tape.params_mut(), "bn", f, BatchNormConfig::default())
        .expect("valid config");
    group.bench_function("batch-norm/forward-train", |b| {
        b.iter(|| {
            tape.reset();
            let xv = tape.input_view(&x.view());
            bn.forward(&mut tape, xv, true).expect("shapes agree")
        })
    });
    group.bench_function("batch-norm/forward-eval", |b| {
        b.iter(|| {
            tape.reset();
            let xv = tape.input_view(&x.view());
            bn.forward(&mut tape, xv, false).expect("shapes agree")
        })
    });
    let xp = tape.params_mut().add("x", x.clone());
    group.bench_function("batch-norm/forward-backward", |b| {
        b.iter(|| {
            tape.reset();
            let xv = tape.param(xp);
            let y = bn.forward(&mut tape, xv, true).expect("shapes agree");
            let loss = tape.sum(y).expect("fresh handle");
            tape.backward(loss).expect("scalar loss");
        })
    });

    let mut tape = Tape::<f32>::new();
    let ln = LayerNorm::new(tape.params_mut(), "ln", f, LayerNormConfig::default())
        .expect("valid config");
    let xp = tape.params_mut().add("x", x.clone());
    group.bench_function("layer-norm/forward-backward", |b| {
        b.iter(|| {
            tape.reset();
            let xv = tape.param(xp);
            let y = ln.forward(&mut tape, xv).expect("shapes agree");
            let loss = tape.sum(y).expect("fresh handle");
            tape.backward(loss).expect("scalar loss");
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
