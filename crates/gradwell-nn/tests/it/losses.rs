//! Every loss option against PyTorch: `fixtures/losses.json` (written by
//! `fixtures/gen_loss_fixtures.sh`, float64) holds, for a grid over cross-entropy's and
//! NLL's class weights, `ignore_index`, reductions, label smoothing, probability targets
//! and spatial inputs, BCE-with-logits' `weight` and `pos_weight` (logits of ±800) and
//! MSE's reductions, the inputs, PyTorch's loss and its gradients; and the calls PyTorch
//! refuses, with its messages. Each case is recomputed in f64 and compared; each case is
//! also gradient-checked by central differences (the analytic backward of every option).

use std::path::Path;

use gradwell_autodiff::{GradCheck, Tape, Var, gradcheck};
use gradwell_nn::losses::{
    BceWithLogitsLoss, CrossEntropy, LossReduction, NllLoss, TargetKind, mse,
};
use gradwell_tensor::ClassLabel;
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

/// Agreement asked of every value and gradient: `|ours − torch| ≤ ATOL + RTOL·|torch|`.
/// Both sides compute in f64 with the same formulas in a different order.
const RTOL: f64 = 1e-10;
const ATOL: f64 = 1e-12;

fn fixtures() -> Value {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/losses.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("a float"),
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        other => panic!("not a number: {other}"),
    }
}

/// An array recorded as `{shape, data}`; `None` for `null` or an absent field.
fn array(v: Option<&Value>) -> Option<ArrayD<f64>> {
    let v = v.filter(|v| !v.is_null())?;
    let shape: Vec<usize> = serde_json::from_value(v["shape"].clone()).expect("shape");
    let data = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(number)
        .collect();
    Some(ArrayD::from_shape_vec(IxDyn(&shape), data).expect("shape fits data"))
}

/// A loss, its gradient w.r.t. the input and (where differentiable) w.r.t. the target,
/// the weight and the positive weight.
struct Outcome {
    out: ArrayD<f64>,
    dx: ArrayD<f64>,
    dt: Option<ArrayD<f64>>,
    dw: Option<ArrayD<f64>>,
    dp: Option<ArrayD<f64>>,
}

/// One recorded call: what to build on the tape.
struct Case {
    name: String,
    loss: String,
    input: ArrayD<f64>,
    target: ArrayD<f64>,
    kind: String,
    weight: Option<ArrayD<f64>>,
    pos_weight: Option<ArrayD<f64>>,
    reduction: LossReduction,
    ignore_index: ClassLabel,
    label_smoothing: f64,
}

impl Case {
    fn of(v: &Value) -> Case {
        Case {
            name: v["name"].as_str().expect("name").to_string(),
            loss: v["loss"].as_str().expect("loss").to_string(),
            input: array(v.get("input")).expect("input"),
            target: array(v.get("target")).expect("target"),
            kind: v["target_kind"].as_str().expect("kind").to_string(),
            weight: array(v.get("weight")),
            pos_weight: array(v.get("pos_weight")),
            reduction: v["reduction"]
                .as_str()
                .expect("reduction")
                .parse()
                .expect("a reduction"),
            ignore_index: v
                .get("ignore_index")
                .and_then(Value::as_i64)
                .unwrap_or(-100),
            label_smoothing: v
                .get("label_smoothing")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
        }
    }

    /// Whether PyTorch differentiates the target (probabilities, BCE, MSE).
    fn target_is_differentiable(&self) -> bool {
        self.kind != "classes"
    }

    /// Whether the weight is differentiable here (a probability target's weights, BCE's).
    fn weight_is_differentiable(&self) -> bool {
        matches!(self.kind.as_str(), "probabilities" | "binary") && self.weight.is_some()
    }

    /// Whether the positive weight is differentiable here (BCE's).
    fn pos_weight_is_differentiable(&self) -> bool {
        self.pos_weight.is_some()
    }

    /// Records the loss; `x` the input, `t` the target if differentiable, `w` the weight
    /// and `p` the positive weight if differentiable (constants are put on the tape here).
    fn build(
        &self,
        tape: &mut Tape<f64>,
        x: Var,
        t: Option<Var>,
        w: Option<Var>,
        p: Option<Var>,
    ) -> gradwell_nn::Result<Var> {
        let target = match t {
            Some(t) => t,
            None => {
                let labels: Vec<ClassLabel> =
                    self.target.iter().map(|&v| v as ClassLabel).collect();
                tape.labels_shaped(self.target.shape(), &labels)?
            }
        };
        let weight = w.or_else(|| self.weight.clone().map(|w| tape.input(w)));
        match self.loss.as_str() {
            "cross_entropy" => CrossEntropy {
                weight,
                ignore_index: self.ignore_index,
                reduction: self.reduction,
                label_smoothing: self.label_smoothing,
                target: if self.kind == "classes" {
                    TargetKind::ClassIndices
                } else {
                    TargetKind::Probabilities
                },
            }
            .apply(tape, x, target),
            "nll" => NllLoss {
                weight,
                ignore_index: self.ignore_index,
                reduction: self.reduction,
            }
            .apply(tape, x, target),
            "bce_with_logits" => {
                let pos_weight = p.or_else(|| self.pos_weight.clone().map(|p| tape.input(p)));
                BceWithLogitsLoss {
                    weight,
                    pos_weight,
                    reduction: self.reduction,
                }
                .apply(tape, x, target)
            }
            "mse" => mse(tape, x, target, self.reduction),
            other => panic!("unknown loss {other}"),
        }
    }

    /// The loss and the gradients of `Σ out·grad_output` w.r.t. the input, the target and
    /// the weights, each where it is differentiable.
    fn run(&self, grad_output: &ArrayD<f64>) -> gradwell_nn::Result<Outcome> {
        let mut tape = Tape::<f64>::new();
        let xp = tape.params_mut().add("x", self.input.clone());
        let tp = self
            .target_is_differentiable()
            .then(|| tape.params_mut().add("t", self.target.clone()));
        let wp = self.weight_is_differentiable().then(|| {
            let w = self.weight.clone().expect("a weight");
            tape.params_mut().add("w", w)
        });
        let pp = self.pos_weight_is_differentiable().then(|| {
            let p = self.pos_weight.clone().expect("a positive weight");
            tape.params_mut().add("p", p)
        });
        let x = tape.param(xp);
        let [t, w, p] = [tp, wp, pp].map(|id| id.map(|id| tape.param(id)));
        let out = self.build(&mut tape, x, t, w, p)?;
        let go = tape.input(grad_output.clone());
        let weighted = tape.mul(out, go)?;
        let total = tape.sum(weighted)?;
        tape.backward(total)?;
        let grad = |id: Option<_>| id.map(|id| tape.params().grad(id).to_owned());
        Ok(Outcome {
            out: tape.value(out).to_owned(),
            dx: tape.params().grad(xp).to_owned(),
            dt: grad(tp),
            dw: grad(wp),
            dp: grad(pp),
        })
    }
}

/// Compares element-wise, returning the worst relative error over elements whose
/// reference is above 1e-8 in magnitude (NaN must meet NaN).
fn compare(what: &str, case: &str, ours: &ArrayD<f64>, torch: &ArrayD<f64>) -> f64 {
    assert_eq!(ours.shape(), torch.shape(), "{case}: {what} shape");
    let mut worst: f64 = 0.0;
    for (&a, &b) in ours.iter().zip(torch) {
        if b.is_nan() {
            assert!(a.is_nan(), "{case}: {what} is {a}, PyTorch's NaN");
            continue;
        }
        assert!(
            (a - b).abs() <= ATOL + RTOL * b.abs(),
            "{case}: {what} {a} differs from PyTorch's {b}"
        );
        if b.abs() > 1e-8 {
            worst = worst.max((a - b).abs() / b.abs());
        }
    }
    worst
}

#[test]
fn every_loss_case_matches_pytorch() {
    let doc = fixtures();
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() > 400, "the grid has {} cases", cases.len());
    let mut worst: f64 = 0.0;
    let mut bce_weight_grads = 0;
    for v in cases {
        let case = Case::of(v);
        let go = array(v.get("grad_output")).expect("grad_output");
        let Outcome {
            out,
            dx,
            dt,
            dw,
            dp,
        } = case
            .run(&go)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        worst = worst.max(compare(
            "loss",
            &case.name,
            &out,
            &array(v.get("out")).expect("out"),
        ));
        // PyTorch refuses the backward of a few calls it computes (an unbatched input
        // with a target of shape [1]); their gradient is held by the gradient check.
        if let Some(want_dx) = array(v.get("grad_input")) {
            worst = worst.max(compare("grad input", &case.name, &dx, &want_dx));
        }
        if let Some(want_dt) = array(v.get("grad_target")) {
            let dt = dt.expect("a target gradient");
            worst = worst.max(compare("grad target", &case.name, &dt, &want_dt));
        }
        // BCE's weights (PyTorch's formula through autograd: its function refuses them).
        for (what, key, ours) in [
            ("grad weight", "grad_weight", dw),
            ("grad pos_weight", "grad_pos_weight", dp),
        ] {
            if let Some(want) = array(v.get(key)) {
                let ours = ours.unwrap_or_else(|| panic!("{}: no {what}", case.name));
                worst = worst.max(compare(what, &case.name, &ours, &want));
                bce_weight_grads += 1;
            }
        }
    }
    assert!(
        bce_weight_grads >= 60,
        "{bce_weight_grads} BCE weight gradients"
    );
    println!(
        "{} cases (torch {}): worst relative error {worst:.2e} (tolerance {ATOL:e} + {RTOL:e}·|torch|)",
        cases.len(),
        doc["torch"]
    );
}

#[test]
fn every_case_passes_a_gradient_check() {
    let doc = fixtures();
    for v in doc["cases"].as_array().expect("cases") {
        let case = Case::of(v);
        let out = array(v.get("out")).expect("out");
        // A NaN loss (every target ignored) has no finite differences; logits of 1e4 lose
        // the difference in rounding. Both are compared with PyTorch above.
        if out.iter().any(|v| v.is_nan()) || case.input.iter().any(|v| v.abs() > 1e3) {
            continue;
        }
        let mut inputs = vec![case.input.clone()];
        if case.target_is_differentiable() {
            inputs.push(case.target.clone());
        }
        if case.weight_is_differentiable() {
            inputs.push(case.weight.clone().expect("weight"));
        }
        if case.pos_weight_is_differentiable() {
            inputs.push(case.pos_weight.clone().expect("pos_weight"));
        }
        let report = gradcheck(
            |tape, vars| {
                let mut rest = vars[1..].iter().copied();
                let t = case
                    .target_is_differentiable()
                    .then(|| rest.next())
                    .flatten();
                let w = case
                    .weight_is_differentiable()
                    .then(|| rest.next())
                    .flatten();
                let p = case
                    .pos_weight_is_differentiable()
                    .then(|| rest.next())
                    .flatten();
                case.build(tape, vars[0], t, w, p)
                    .map_err(|e| gradwell_autodiff::AutodiffError::invalid("loss", e.to_string()))
            },
            &inputs,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(report.passed(), "{}: {report}", case.name);
        assert_eq!(report.tolerances, GradCheck::default());
    }
}

#[test]
fn every_refused_call_gives_pytorchs_message() {
    let doc = fixtures();
    let errors = doc["errors"].as_array().expect("errors");
    assert!(errors.len() >= 30);
    for v in errors {
        let case = Case::of(v);
        let message = v["message"].as_str().expect("message");
        let (mut tape, x) = {
            let mut tape = Tape::<f64>::new();
            let x = tape.input(case.input.clone());
            (tape, x)
        };
        let t = case
            .target_is_differentiable()
            .then(|| tape.input(case.target.clone()));
        let err = case
            .build(&mut tape, x, t, None, None)
            .err()
            .unwrap_or_else(|| panic!("{}: accepted; PyTorch says {message:?}", case.name));
        assert!(
            err.to_string().contains(message),
            "{}: {err} does not carry PyTorch's {message:?}",
            case.name
        );
    }
    for v in doc["bad_reductions"].as_array().expect("bad reductions") {
        let name = v["name"].as_str().expect("name");
        let err = name.parse::<LossReduction>().expect_err(name);
        assert!(
            err.to_string()
                .contains(v["message"].as_str().expect("message")),
            "{err}"
        );
    }
}
