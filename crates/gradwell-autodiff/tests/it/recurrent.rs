//! The fused recurrent op against the same network unrolled by hand on the tape with the
//! elementary ops (one parameter per gate block, the hidden state put back on the tape as
//! data at each chunk boundary: PyTorch's `h.detach()`), and against central differences.

use gradwell_activations::{Relu, Sigmoid, Tanh};
use gradwell_autodiff::ops::{Cell, Recurrent, RnnNonlinearity};
use gradwell_autodiff::{Result, Tape, Var, gradcheck};
use ndarray::{ArrayD, Axis, IxDyn, s};

fn array(shape: &[usize], seed: u64, lo: f64, hi: f64) -> ArrayD<f64> {
    let mut x = seed | 1;
    ArrayD::from_shape_fn(IxDyn(shape), |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lo + (hi - lo) * ((x >> 11) as f64 / (1u64 << 53) as f64)
    })
}

const CELLS: [Cell; 4] = [
    Cell::Elman(RnnNonlinearity::Tanh),
    Cell::Elman(RnnNonlinearity::Relu),
    Cell::Lstm,
    Cell::Gru,
];

/// Weights `[w_ih, w_hh, b_ih, b_hh]` of a cell with `i` inputs and `h` hidden units.
fn weights(cell: Cell, i: usize, h: usize, seed: u64) -> [ArrayD<f64>; 4] {
    let gh = cell.gates() * h;
    [
        array(&[gh, i], seed, -0.8, 0.8),
        array(&[gh, h], seed ^ 1, -0.8, 0.8),
        array(&[gh], seed ^ 2, -0.5, 0.5),
        array(&[gh], seed ^ 3, -0.5, 0.5),
    ]
}

/// What a run gives: every hidden state `[N, T, H]`, the input's gradient, the weights'
/// gradients, and ‖∂L/∂h_t‖ per step.
struct Run {
    y: ArrayD<f64>,
    dx: ArrayD<f64>,
    dw: Vec<ArrayD<f64>>,
    norms: Vec<f64>,
}

/// The loss Σ R ⊙ y through the fused op.
fn fused(
    cell: Cell,
    k: Option<usize>,
    x: &ArrayD<f64>,
    w: &[ArrayD<f64>; 4],
    r: &ArrayD<f64>,
) -> Run {
    let mut tape = Tape::<f64>::new();
    let ids: Vec<_> = w
        .iter()
        .enumerate()
        .map(|(j, w)| tape.params_mut().add(format!("w{j}"), w.clone()))
        .collect();
    let xv = tape.input_requires_grad(x.clone());
    let p: Vec<Var> = ids.iter().map(|&id| tape.param(id)).collect();
    let y = tape
        .recurrent(cell, k, xv, p[0], p[1], Some((p[2], p[3])))
        .unwrap();
    let rv = tape.input(r.clone());
    let weighted = tape.mul(y, rv).unwrap();
    let loss = tape.sum(weighted).unwrap();
    tape.backward(loss).unwrap();
    let norms = tape
        .op_of::<Recurrent<f64>>(y)
        .unwrap()
        .step_grad_norms()
        .to_vec();
    Run {
        y: tape.value(y).to_owned(),
        dx: tape.input_grad(xv).unwrap().to_owned(),
        dw: ids
            .iter()
            .map(|&id| tape.params().grad(id).to_owned())
            .collect(),
        norms,
    }
}

/// The same loss unrolled with the elementary ops, one parameter per gate block, the state
/// put on the tape again as data where a chunk of `k` steps starts.
fn unrolled(
    cell: Cell,
    k: Option<usize>,
    x: &ArrayD<f64>,
    w: &[ArrayD<f64>; 4],
    r: &ArrayD<f64>,
) -> Run {
    let (n, t, _) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let h = w[1].shape()[1];
    let g = cell.gates();
    let mut tape = Tape::<f64>::new();
    // ids[j][q]: gate q's block of weight j.
    let ids: Vec<Vec<_>> = w
        .iter()
        .enumerate()
        .map(|(j, w)| {
            (0..g)
                .map(|q| {
                    let block = w
                        .slice_axis(Axis(0), (q * h..(q + 1) * h).into())
                        .to_owned();
                    tape.params_mut().add(format!("w{j}.{q}"), block)
                })
                .collect()
        })
        .collect();
    let xs: Vec<Var> = (0..t)
        .map(|step| tape.input_requires_grad(x.slice(s![.., step, ..]).to_owned().into_dyn()))
        .collect();
    let zeros = ArrayD::zeros(IxDyn(&[n, h]));
    let mut h_prev = tape.input(zeros.clone());
    let mut c_prev = tape.input(zeros);
    let mut hs = Vec::new();
    let mut loss: Option<Var> = None;
    for (step, &x_t) in xs.iter().enumerate() {
        if step > 0 && k.is_some_and(|k| step % k == 0) {
            h_prev = tape.input(tape.value(h_prev).to_owned());
            c_prev = tape.input(tape.value(c_prev).to_owned());
        }
        let mut ih = Vec::new();
        let mut hh = Vec::new();
        for q in 0..g {
            let p: Vec<Var> = ids.iter().map(|blocks| tape.param(blocks[q])).collect();
            let a = tape.matmul_t(x_t, p[0]).unwrap();
            ih.push(tape.bias_add(a, p[2]).unwrap());
            let b = tape.matmul_t(h_prev, p[1]).unwrap();
            hh.push(tape.bias_add(b, p[3]).unwrap());
        }
        let pre = |tape: &mut Tape<f64>, q: usize| tape.add(ih[q], hh[q]).unwrap();
        let hv = match cell {
            Cell::Elman(RnnNonlinearity::Tanh) => {
                let a = pre(&mut tape, 0);
                tape.activation(Tanh, a).unwrap()
            }
            Cell::Elman(RnnNonlinearity::Relu) => {
                let a = pre(&mut tape, 0);
                tape.activation(Relu, a).unwrap()
            }
            Cell::Lstm => {
                let a: Vec<Var> = (0..4).map(|q| pre(&mut tape, q)).collect();
                let i = tape.activation(Sigmoid, a[0]).unwrap();
                let f = tape.activation(Sigmoid, a[1]).unwrap();
                let gg = tape.activation(Tanh, a[2]).unwrap();
                let o = tape.activation(Sigmoid, a[3]).unwrap();
                let fc = tape.mul(f, c_prev).unwrap();
                let ig = tape.mul(i, gg).unwrap();
                c_prev = tape.add(fc, ig).unwrap();
                let tc = tape.activation(Tanh, c_prev).unwrap();
                tape.mul(o, tc).unwrap()
            }
            Cell::Gru => {
                let a_r = pre(&mut tape, 0);
                let a_z = pre(&mut tape, 1);
                let r_ = tape.activation(Sigmoid, a_r).unwrap();
                let z = tape.activation(Sigmoid, a_z).unwrap();
                let rh = tape.mul(r_, hh[2]).unwrap();
                let a_n = tape.add(ih[2], rh).unwrap();
                let nn = tape.activation(Tanh, a_n).unwrap();
                // h' = n + z ⊙ (h − n)
                let d = tape.sub(h_prev, nn).unwrap();
                let zd = tape.mul(z, d).unwrap();
                tape.add(nn, zd).unwrap()
            }
        };
        let rt = tape.input(r.slice(s![.., step, ..]).to_owned().into_dyn());
        let term = tape.mul(hv, rt).unwrap();
        let term = tape.sum(term).unwrap();
        loss = Some(match loss {
            Some(l) => tape.add(l, term).unwrap(),
            None => term,
        });
        hs.push(hv);
        h_prev = hv;
    }
    tape.backward(loss.unwrap()).unwrap();
    let i = x.shape()[2];
    let mut y = ArrayD::zeros(IxDyn(&[n, t, h]));
    let mut dx = ArrayD::zeros(IxDyn(&[n, t, i]));
    let mut norms = Vec::new();
    for step in 0..t {
        y.slice_mut(s![.., step, ..]).assign(&tape.value(hs[step]));
        dx.slice_mut(s![.., step, ..])
            .assign(&tape.input_grad(xs[step]).unwrap());
        let gh = tape.grad(hs[step]).unwrap();
        norms.push(gh.iter().map(|v| v * v).sum::<f64>().sqrt());
    }
    let dw = ids
        .iter()
        .map(|blocks| {
            let parts: Vec<ArrayD<f64>> = blocks
                .iter()
                .map(|&id| tape.params().grad(id).to_owned())
                .collect();
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            ndarray::concatenate(Axis(0), &views).unwrap()
        })
        .collect();
    Run { y, dx, dw, norms }
}

fn assert_close(a: &ArrayD<f64>, b: &ArrayD<f64>, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}");
    let worst = a
        .iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "{what}: differs by {worst:e}\n{a}\n{b}");
}

/// Outputs, every gradient and the per-step gradient norms of the fused op equal the
/// unrolled computation's, with full BPTT and truncated at k = 1, 2, 3 (chunks that do and
/// do not divide T) and k ≥ T.
#[test]
fn fused_op_equals_the_unrolled_computation_with_and_without_truncation() {
    let (n, t, i, h) = (3, 7, 2, 4);
    for (c, cell) in CELLS.into_iter().enumerate() {
        let w = weights(cell, i, h, 40 + c as u64);
        let x = array(&[n, t, i], 7 + c as u64, -1.5, 1.5);
        let r = array(&[n, t, h], 99, -1.0, 1.0);
        for k in [None, Some(1), Some(2), Some(3), Some(t), Some(t + 5)] {
            let what = format!("{cell:?}, truncate {k:?}");
            let a = fused(cell, k, &x, &w, &r);
            let b = unrolled(cell, k, &x, &w, &r);
            assert_close(&a.y, &b.y, &format!("{what}: output"));
            assert_close(&a.dx, &b.dx, &format!("{what}: dx"));
            for (j, (da, db)) in a.dw.iter().zip(&b.dw).enumerate() {
                assert_close(da, db, &format!("{what}: gradient of weight {j}"));
            }
            let na = ArrayD::from_shape_vec(IxDyn(&[t]), a.norms).unwrap();
            let nb = ArrayD::from_shape_vec(IxDyn(&[t]), b.norms).unwrap();
            assert_close(&na, &nb, &format!("{what}: step gradient norms"));
        }
    }
}

/// Truncation at k ≥ T changes nothing, and truncation at k < T does change the
/// gradients (the cut is real).
#[test]
fn truncation_at_the_length_or_beyond_is_no_truncation() {
    let (n, t, i, h) = (3, 5, 3, 4);
    for cell in CELLS {
        let w = weights(cell, i, h, 5);
        let x = array(&[n, t, i], 6, -1.0, 1.0);
        let r = array(&[n, t, h], 8, -1.0, 1.0);
        let full = fused(cell, None, &x, &w, &r);
        for k in [t, t + 1, 100] {
            let cut = fused(cell, Some(k), &x, &w, &r);
            assert_eq!(cut.dw, full.dw, "{cell:?} k={k}");
            assert_eq!(cut.dx, full.dx, "{cell:?} k={k}");
        }
        let cut = fused(cell, Some(2), &x, &w, &r);
        assert_eq!(
            cut.y, full.y,
            "{cell:?}: truncation leaves the forward pass alone"
        );
        assert!(
            cut.dw != full.dw && cut.dx != full.dx,
            "{cell:?}: k = 2 cuts the gradient"
        );
    }
}

/// The op's backward against central differences, for every cell, with and without
/// biases, and two layers stacked. (A truncated gradient is by design not the derivative
/// of the output, so central differences cannot check it; the test above holds it to the
/// detached-chunk computation, made of ops that are each gradient-checked.)
#[test]
fn every_cell_passes_a_gradient_check() {
    let (n, t, i, h) = (2, 4, 3, 2);
    for cell in CELLS {
        let w = weights(cell, i, h, 11);
        let x = array(&[n, t, i], 12, -1.5, 1.5);
        {
            let k = None;
            let with_bias = [
                x.clone(),
                w[0].clone(),
                w[1].clone(),
                w[2].clone(),
                w[3].clone(),
            ];
            let report = gradcheck(
                |tape, v| tape.recurrent(cell, k, v[0], v[1], v[2], Some((v[3], v[4]))),
                &with_bias,
            )
            .unwrap();
            assert!(report.passed(), "{cell:?}: {report}");
            let report = gradcheck(
                |tape, v| tape.recurrent(cell, k, v[0], v[1], v[2], None),
                &[x.clone(), w[0].clone(), w[1].clone()],
            )
            .unwrap();
            assert!(report.passed(), "{cell:?}, no bias: {report}");
            // Two layers: the second reads the first's hidden states.
            let w2 = weights(cell, h, h, 13);
            let stacked = [
                x.clone(),
                w[0].clone(),
                w[1].clone(),
                w2[0].clone(),
                w2[1].clone(),
            ];
            let report = gradcheck(
                |tape: &mut Tape<f64>, v: &[Var]| -> Result<Var> {
                    let y = tape.recurrent(cell, k, v[0], v[1], v[2], None)?;
                    tape.recurrent(cell, k, y, v[3], v[4], None)
                },
                &stacked,
            )
            .unwrap();
            assert!(report.passed(), "{cell:?}, two layers: {report}");
        }
    }
}

/// Wrong shapes and a zero truncation length are errors naming what is wrong.
#[test]
fn bad_shapes_and_settings_are_errors() {
    let mut tape = Tape::<f64>::new();
    let x = tape.input(ArrayD::zeros(IxDyn(&[2, 3, 4])));
    let w_ih = tape.input(ArrayD::zeros(IxDyn(&[8, 4])));
    let w_hh = tape.input(ArrayD::zeros(IxDyn(&[8, 2])));
    let bad_ih = tape.input(ArrayD::zeros(IxDyn(&[8, 3])));
    let flat = tape.input(ArrayD::zeros(IxDyn(&[2, 4])));
    let empty = tape.input(ArrayD::zeros(IxDyn(&[2, 0, 4])));
    let e = |r: Result<Var>| r.unwrap_err().to_string();
    assert!(e(tape.recurrent(Cell::Lstm, None, x, bad_ih, w_hh, None)).contains("w_ih"));
    assert!(e(tape.recurrent(Cell::Gru, None, x, w_ih, w_hh, None)).contains("w_hh"));
    assert!(e(tape.recurrent(Cell::Lstm, None, flat, w_ih, w_hh, None)).contains("batch"));
    assert!(e(tape.recurrent(Cell::Lstm, None, empty, w_ih, w_hh, None)).contains("one step"));
    assert!(e(tape.recurrent(Cell::Lstm, Some(0), x, w_ih, w_hh, None)).contains("at least 1"));
    assert!(
        tape.recurrent(Cell::Lstm, Some(1), x, w_ih, w_hh, None)
            .is_ok()
    );
    assert!(
        "sigmoid"
            .parse::<RnnNonlinearity>()
            .unwrap_err()
            .to_string()
            .contains("tanh, relu")
    );
    assert_eq!(
        "ReLU".parse::<RnnNonlinearity>().unwrap(),
        RnnNonlinearity::Relu
    );
}

/// The f32 LSTM, whose gates run through vectorized σ and tanh, agrees with the f64 one to
/// f32's precision, with weights large enough to drive the gates deep into saturation
/// (pre-activations of tens) as well as through the small-argument region.
#[test]
fn the_f32_lstm_agrees_with_the_f64_lstm_into_saturation() {
    let (n, t, i, h) = (5, 9, 3, 20);
    for (c, cell) in [Cell::Lstm].into_iter().enumerate() {
        let w = weights(cell, i, h, 70 + c as u64).map(|w| w * 4.0);
        let x = array(&[n, t, i], 80 + c as u64, -2.0, 2.0);
        let r = array(&[n, t, h], 90 + c as u64, -1.0, 1.0);
        let want = fused(cell, None, &x, &w, &r);
        let mut tape = Tape::<f32>::new();
        let ids: Vec<_> = w
            .iter()
            .enumerate()
            .map(|(j, w)| tape.params_mut().add(format!("w{j}"), w.mapv(|v| v as f32)))
            .collect();
        let xv = tape.input_requires_grad(x.mapv(|v| v as f32));
        let p: Vec<Var> = ids.iter().map(|&id| tape.param(id)).collect();
        let y = tape
            .recurrent(cell, None, xv, p[0], p[1], Some((p[2], p[3])))
            .unwrap();
        let rv = tape.input(r.mapv(|v| v as f32));
        let weighted = tape.mul(y, rv).unwrap();
        let loss = tape.sum(weighted).unwrap();
        tape.backward(loss).unwrap();
        let wide = |a: ndarray::ArrayViewD<'_, f32>| a.mapv(f64::from);
        let mut got = vec![
            (wide(tape.value(y)), &want.y, "output"),
            (wide(tape.input_grad(xv).unwrap()), &want.dx, "dx"),
        ];
        for (id, dw) in ids.iter().zip(&want.dw) {
            got.push((wide(tape.params().grad(*id)), dw, "weight gradient"));
        }
        for (a, b, what) in got {
            let scale = b.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
            let worst = a
                .iter()
                .zip(b)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 3e-5 * scale,
                "{cell:?} {what}: differs by {worst:e} of {scale:e}"
            );
        }
    }
}

/// In f32, a gradient that has decayed through many steps to elements near 1e-31 still has
/// a representable norm: the squares are summed in f64, so the norm is not flushed to 0.
/// A tanh RNN with W_hh = 0.3·I, zero input weights and zero input (so tanh′ = 1 and
/// h stays 0): the gradient reaching step t from a loss at the last step T is exactly
/// 0.3^(T−t) times the output gradient.
#[test]
fn f32_step_norms_of_a_decayed_gradient_do_not_underflow() -> Result<()> {
    let (n, t, h) = (2, 60, 4);
    let mut tape = Tape::<f32>::new();
    let x = tape.input(ArrayD::zeros(IxDyn(&[n, t, 1])));
    let w_ih = tape.input(ArrayD::zeros(IxDyn(&[h, 1])));
    // A parameter, so that the backward pass runs through the op.
    let w_hh = tape.params_mut().add(
        "w_hh",
        ArrayD::from_shape_fn(IxDyn(&[h, h]), |i| if i[0] == i[1] { 0.3 } else { 0.0 }),
    );
    let w_hh = tape.param(w_hh);
    let cell = Cell::Elman(RnnNonlinearity::Tanh);
    let y = tape.recurrent(cell, None, x, w_ih, w_hh, None)?;
    let mut seed = ArrayD::<f32>::zeros(IxDyn(&[n, t, h]));
    seed.slice_mut(s![.., t - 1, ..]).fill(1.0);
    tape.backward_from(y, &seed.view())?;
    let op = tape.op_of::<Recurrent<f32>>(y).expect("the recurrent op");
    let norms = op.step_grad_norms();
    let last = (n * h) as f64;
    for (step, &g) in norms.iter().enumerate() {
        let want = last.sqrt() * 0.3f64.powi((t - 1 - step) as i32);
        let rel = (g as f64 - want).abs() / want;
        assert!(rel < 1e-4, "step {}: {g:e}, expected {want:e}", step + 1);
    }
    // The first step's norm is about 2.8e-31, whose elements' squares are below f32's
    // smallest subnormal.
    assert!(norms[0] > 0.0 && (norms[0] as f64) < 1e-30);
    Ok(())
}
