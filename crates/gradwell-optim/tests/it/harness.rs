//! Replays the PyTorch fixtures (`fixtures/*.json`, written by `fixtures/gen_fixtures.py`)
//! through gradwell-optim. Shared by this crate's tests and by `cargo xtask verify`, so it
//! depends only on gradwell-optim and serde_json.
//!
//! The two problems are recomputed here in f64 from the fixture's data, forward and
//! backward written by hand: a quadratic `½·xᵀAx − bᵀx` over `x = [w; bias]`, and a
//! two-layer tanh network with a mean-squared-error loss. Each optimizer case then runs
//! from the same initial parameters, and after every step the parameters are compared with
//! PyTorch's.

use std::sync::OnceLock;

use gradwell_optim::{
    GroupRule, LrSchedule, NameMatch, NormType, Optimizer, OptimizerKind, ParamGroups, ParamSlot,
    Schedule, ScheduleKind, apply_schedule, clip_grad_norm,
};
use serde_json::{Map, Value};

/// Relative tolerance of the trajectory comparison (per parameter tensor and step, in the
/// Euclidean norm).
pub const TRAJECTORY_RTOL: f64 = 1e-6;
/// Absolute tolerance on schedule values (rates are O(1) in the fixtures).
pub const SCHEDULE_ATOL: f64 = 1e-12;

fn optimizers_json() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        serde_json::from_str(include_str!("../../fixtures/optimizers.json")).expect("valid fixture")
    })
}

fn schedules_json() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        serde_json::from_str(include_str!("../../fixtures/schedules.json")).expect("valid fixture")
    })
}

fn clipping_json() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        serde_json::from_str(include_str!("../../fixtures/clipping.json")).expect("valid fixture")
    })
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A problem: its parameter names in order and its gradient function.
pub struct Problem {
    /// Parameter names, in a fixed order.
    pub names: Vec<&'static str>,
    data: Value,
    kind: &'static str,
}

impl Problem {
    fn new(kind: &str, data: &Value) -> Problem {
        match kind {
            "quadratic" => Problem {
                names: vec!["w", "bias"],
                data: data.clone(),
                kind: "quadratic",
            },
            "network" => Problem {
                names: vec![
                    "layer1.weight",
                    "layer1.bias",
                    "layer2.weight",
                    "layer2.bias",
                ],
                data: data.clone(),
                kind: "network",
            },
            other => panic!("unknown problem {other}"),
        }
    }

    /// Gradients of the loss at `params` (same order as `names`).
    pub fn grads(&self, params: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let d = &self.data;
        if self.kind == "quadratic" {
            let a = floats(&d["a"]);
            let b = floats(&d["b"]);
            let n = b.len();
            let x: Vec<f64> = params.iter().flatten().copied().collect();
            let g: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum::<f64>() - b[i])
                .collect();
            let split = params[0].len();
            return vec![g[..split].to_vec(), g[split..].to_vec()];
        }
        let (x, y) = (floats(&d["x"]), floats(&d["y"]));
        let dim = |k: &str| d[k].as_u64().expect("dimension") as usize;
        let (nb, ni, nh, no) = (dim("batch"), dim("inputs"), dim("hidden"), dim("outputs"));
        let (w1, b1, w2, b2) = (&params[0], &params[1], &params[2], &params[3]);
        let mut h = vec![0.0; nb * nh];
        for s in 0..nb {
            for j in 0..nh {
                let z: f64 = (0..ni).map(|i| x[s * ni + i] * w1[j * ni + i]).sum::<f64>() + b1[j];
                h[s * nh + j] = z.tanh();
            }
        }
        let mut dout = vec![0.0; nb * no];
        for s in 0..nb {
            for k in 0..no {
                let out: f64 = (0..nh).map(|j| h[s * nh + j] * w2[k * nh + j]).sum::<f64>() + b2[k];
                dout[s * no + k] = 2.0 * (out - y[s * no + k]) / (nb * no) as f64;
            }
        }
        let (mut gw1, mut gb1) = (vec![0.0; nh * ni], vec![0.0; nh]);
        let (mut gw2, mut gb2) = (vec![0.0; no * nh], vec![0.0; no]);
        for s in 0..nb {
            for k in 0..no {
                gb2[k] += dout[s * no + k];
                for j in 0..nh {
                    gw2[k * nh + j] += dout[s * no + k] * h[s * nh + j];
                }
            }
            for j in 0..nh {
                let dh: f64 = (0..no).map(|k| dout[s * no + k] * w2[k * nh + j]).sum();
                let dz = dh * (1.0 - h[s * nh + j] * h[s * nh + j]);
                gb1[j] += dz;
                for i in 0..ni {
                    gw1[j * ni + i] += dz * x[s * ni + i];
                }
            }
        }
        vec![gw1, gb1, gw2, gb2]
    }
}

/// `(problem, case)` names of every optimizer fixture.
pub fn optimizer_cases() -> Vec<(String, String)> {
    let mut all = Vec::new();
    for p in optimizers_json()["problems"].as_array().expect("problems") {
        for c in p["cases"].as_array().expect("cases") {
            all.push((
                p["problem"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
            ));
        }
    }
    all
}

/// The registry's settings for a fixture's options (PyTorch's names): `betas` becomes
/// `beta1` and `beta2`, the group options a [`ParamGroups`] rule, and `one_cycle` (a
/// schedule) is left out; every other option is already a setting of the same name.
fn settings(o: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in o.as_object().expect("options") {
        match key.as_str() {
            "one_cycle" => {}
            "betas" => {
                let b = floats(value);
                out.insert("beta1".into(), b[0].into());
                out.insert("beta2".into(), b[1].into());
            }
            "groups" => {
                let mut rule = GroupRule::new(NameMatch::Suffix("bias".into()))
                    .lr_scale(num(value, "bias_lr_scale").unwrap_or(1.0));
                if flag(value, "bias_no_decay") {
                    rule = rule.weight_decay(0.0);
                }
                let groups = ParamGroups::new().rule(rule);
                out.insert("groups".into(), serde_json::to_value(groups).unwrap());
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

/// Builds the optimizer a fixture case describes, through the registry: its name and its
/// options as a table ([`OptimizerKind`]'s serde form), so that the options left out take
/// the registered defaults.
pub fn build_optimizer(kind: &str, o: &Value) -> Box<dyn Optimizer<f64>> {
    let mut table = settings(o);
    table.insert("kind".into(), kind.into());
    let spec: OptimizerKind =
        serde_json::from_value(Value::Object(table)).expect("fixture options are valid");
    spec.build(&ParamGroups::new())
        .expect("fixture options are valid")
}

/// The one-cycle schedule of a fixture's options, through the registry.
fn one_cycle(v: &Value) -> ScheduleKind {
    let mut table = v.as_object().expect("one_cycle").clone();
    table.insert("kind".into(), "one_cycle".into());
    serde_json::from_value(Value::Object(table)).expect("valid one-cycle")
}

/// The problem, initial parameters, case and options of a fixture.
pub fn case(problem: &str, name: &str) -> (Problem, Vec<Vec<f64>>, &'static Value) {
    let p = optimizers_json()["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .find(|p| p["problem"] == problem)
        .expect("problem in fixture");
    let prob = Problem::new(problem, &p["data"]);
    let init = prob.names.iter().map(|n| floats(&p["init"][*n])).collect();
    let c = p["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == name)
        .expect("case");
    (prob, init, c)
}

/// One step of `opt` on `params` with the problem's gradients.
pub fn step(opt: &mut dyn Optimizer<f64>, prob: &Problem, params: &mut [Vec<f64>]) {
    let mut grads = prob.grads(params);
    let mut slots: Vec<ParamSlot<'_, f64>> = prob
        .names
        .iter()
        .zip(params.iter_mut())
        .zip(grads.iter_mut())
        .map(|((n, v), g)| ParamSlot::new(n, v, g))
        .collect();
    opt.step(&mut slots).expect("finite gradients");
}

/// Runs one optimizer case and returns the largest relative error over steps and
/// parameters.
pub fn run_optimizer_case(problem: &str, name: &str) -> f64 {
    let (prob, mut params, c) = case(problem, name);
    let o = &c["options"];
    let mut opt = build_optimizer(c["optimizer"].as_str().expect("optimizer"), o);
    let mut schedule = o.get("one_cycle").map(|v| {
        LrSchedule::new(num(o, "lr").expect("lr"), one_cycle(v), fixture_steps())
            .expect("valid one-cycle")
    });
    let mut worst: f64 = 0.0;
    for reference in c["trajectory"].as_array().expect("trajectory") {
        if let Some(s) = &schedule {
            apply_schedule(s, opt.as_mut()).expect("schedule applies");
        }
        step(opt.as_mut(), &prob, &mut params);
        if let Some(s) = &mut schedule {
            s.step(None).expect("inside the cycle");
        }
        for (n, ours) in prob.names.iter().zip(&params) {
            let want = floats(&reference[*n]);
            let diff: f64 = ours
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            let norm: f64 = want.iter().map(|b| b * b).sum::<f64>().sqrt();
            worst = worst.max(if diff == 0.0 { 0.0 } else { diff / norm });
        }
    }
    worst
}

/// Number of steps recorded per case.
pub fn fixture_steps() -> u64 {
    optimizers_json()["steps"].as_u64().expect("steps")
}

/// Names of the schedule fixtures.
pub fn schedule_cases() -> Vec<String> {
    schedules_json()["schedules"]
        .as_array()
        .expect("schedules")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_string())
        .collect()
}

/// A fixture's schedule spec in the registry's table form (PyTorch's `anneal_strategy` is
/// `anneal`), in the parts of a sequence too.
fn registry_table(spec: &Value) -> Value {
    let mut table = spec.as_object().expect("spec").clone();
    if let Some(a) = table.remove("anneal_strategy") {
        table.insert("anneal".into(), a);
    }
    if let Some(Value::Array(parts)) = table.get_mut("parts") {
        for p in parts.iter_mut() {
            *p = registry_table(p);
        }
    }
    Value::Object(table)
}

/// Builds a fixture's schedule through the registry, from a base rate of 1 over `run`
/// steps.
fn build_schedule(spec: &Value, run: u64) -> Box<dyn Schedule> {
    let kind: ScheduleKind =
        serde_json::from_value(registry_table(spec)).expect("a valid registered schedule");
    kind.build(1.0, run).expect("valid schedule")
}

/// Runs one schedule fixture; returns the largest absolute error over its learning rates
/// and (where it cycles them) momenta.
pub fn run_schedule_case(name: &str) -> f64 {
    let s = schedules_json()["schedules"]
        .as_array()
        .expect("schedules")
        .iter()
        .find(|s| s["name"] == name)
        .expect("schedule");
    let lrs = floats(&s["lrs"]);
    let mut schedule = build_schedule(&s["spec"], lrs.len() as u64);
    let momenta = floats(&s["momenta"]);
    let metrics = s["metrics"]
        .as_array()
        .map(|m| m.iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>());
    let mut worst: f64 = 0.0;
    for (k, (&lr, &m)) in lrs.iter().zip(&momenta).enumerate() {
        if k > 0 {
            let metric = metrics.as_ref().map(|ms| ms[k - 1]);
            schedule.step(metric).expect("schedule steps");
        }
        worst = worst.max((schedule.lr() - lr).abs());
        if let Some(ours) = schedule.momentum() {
            worst = worst.max((ours - m).abs());
        } else if s["spec"]["kind"] == "one_cycle" {
            return f64::INFINITY; // one-cycle must cycle momentum by default
        }
    }
    worst
}

/// Number of clipping fixtures.
pub fn clip_cases() -> usize {
    clipping_json()["cases"].as_array().expect("cases").len()
}

/// Runs clipping fixture `i`; returns the largest relative error over the total norm and
/// the clipped gradients.
pub fn run_clip_case(i: usize) -> f64 {
    let c = &clipping_json()["cases"][i];
    let norm_type = match &c["norm_type"] {
        Value::String(s) if s == "inf" => NormType::Inf,
        v => NormType::P(v.as_f64().expect("p")),
    };
    let mut grads: Vec<Vec<f64>> = c["grads"]
        .as_array()
        .expect("grads")
        .iter()
        .map(floats)
        .collect();
    let mut values: Vec<Vec<f64>> = grads.iter().map(|g| vec![0.0; g.len()]).collect();
    let names = ["a", "b"];
    let mut slots: Vec<ParamSlot<'_, f64>> = names
        .iter()
        .zip(values.iter_mut())
        .zip(grads.iter_mut())
        .map(|((n, v), g)| ParamSlot::new(n, v, g))
        .collect();
    let total = clip_grad_norm(
        &mut slots,
        num(c, "max_norm").expect("max_norm"),
        norm_type,
        true,
    )
    .expect("finite norm");
    let want_total = num(c, "total").expect("total");
    let mut worst = (total - want_total).abs() / want_total;
    for (ours, want) in grads.iter().zip(c["clipped"].as_array().expect("clipped")) {
        for (a, b) in ours.iter().zip(floats(want)) {
            worst = worst.max((a - b).abs() / b.abs().max(1e-12));
        }
    }
    worst
}
