//! `gradwell probe`: a deep MLP at initialization, measured layer by layer on a batch of
//! real data, beside the mean-field theory, with the monitor's diagnosis.

use std::fmt::Write as _;
use std::path::Path;

use gradwell_data::{Batcher, LastBatch, TargetKind};
use gradwell_monitor::{
    Criticality, JacobianSpread, Lsuv, LsuvLayer, PlainNet, Probe, ProbeTargets, Setup,
    TheoryTable, Thresholds, probe_targets, render_findings,
};
use gradwell_nn::{MemoryBudget, MemoryUse, MlpSpec, MlpWidths, Network};
use gradwell_train::{ProgressMode, TrainConfig, Trainer};
use ndarray::Array2;
use serde::Serialize;

use crate::cli::ProbeArgs;
use crate::{CliError, Result};

/// What `probe` measured.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// The model, one line.
    pub model: String,
    /// Its hidden layers.
    pub hidden_layers: usize,
    /// The data set and batch size.
    pub data: String,
    /// The measurement and its findings.
    pub probe: Probe,
    /// The theory beside the measurement, when the network is plain.
    pub theory: Option<TheoryTable>,
    /// Why there is no theory column, when there is none.
    pub no_theory: Option<String>,
    /// Which side of the order-to-chaos transition the hidden layers are on, and how deep
    /// such a network trains (Schoenholz et al. 2017), when the network is plain.
    pub criticality: Option<Criticality>,
    /// Why there is no order-to-chaos analysis, when there is none.
    pub no_criticality: Option<String>,
    /// What LSUV did, if it ran.
    pub lsuv: Vec<LsuvLayer>,
    /// The input-output Jacobian's singular-value spread, with `--jacobian`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jacobian: Option<JacobianSpread>,
}

/// Builds the network of `args`, takes a shuffled batch of the (scaled) training data,
/// and measures one forward and backward pass.
///
/// # Errors
/// Unknown names, data that cannot be loaded, LSUV that does not converge.
pub fn run_probe(args: &ProbeArgs) -> Result<ProbeReport> {
    let mut file = crate::setup::RunFile::default();
    file.apply_data_args(&args.data)?;
    let data = file.data.clone();
    let split = crate::setup::load_data(&data, args.seed)?;
    let features = split.train.num_features();
    let mut mlp = MlpSpec {
        widths: MlpWidths::Hidden(vec![args.width; args.depth]),
        ..MlpSpec::default()
    };
    if let Some(r) = &args.model {
        for (set, flag) in [(args.lsuv, "--lsuv"), (args.jacobian, "--jacobian")] {
            if set {
                return Err(CliError::flag(
                    flag,
                    "",
                    format!(
                        "measures feed-forward MLPs; it does not apply to recurrent layers (--model {r})"
                    ),
                ));
            }
        }
        // The recurrent layers and a linear read-out.
        mlp.widths = MlpWidths::Hidden(Vec::new());
        mlp.recurrent = Some(r.clone());
    }
    args.mlp.apply(&mut mlp)?;
    file.model = mlp;
    let (spec, fitted) = file.model_spec(&data.source, &split.train)?;
    // The parameters, their gradients and one batch's outputs must fit before anything is
    // allocated for them.
    let rows = args.batch_size.min(split.train.len());
    MemoryBudget::detect()?.check(&spec.plan()?, &MemoryUse::forward_backward::<f32>(rows))?;
    let net = Network::<f32>::build(&spec, args.seed)?;
    // The trainer scales the data as training would (pixels to [0, 1]).
    let mut config = TrainConfig {
        progress: ProgressMode::Off,
        ..TrainConfig::default()
    };
    if split.train.value_range().is_none() {
        config.preprocess = gradwell_train::Preprocess::Standardize;
    }
    let mut trainer = Trainer::new(config, net, split.train, None)?;
    let train = trainer.train_set().clone();
    let mut batches = Batcher::new(train.len(), rows, LastBatch::Drop, args.seed)?;
    let (mut x, mut y, mut v) = (
        Array2::<f32>::zeros((rows, features)),
        Vec::new(),
        Vec::new(),
    );
    batches.fill_batch_values(&train, &mut x, &mut y, &mut v)?;
    let targets = match train.target_kind() {
        TargetKind::Class | TargetKind::StepClass { .. } => ProbeTargets::Classes(&y),
        TargetKind::Value { .. } => ProbeTargets::Values(&v),
    };
    let net = trainer.network_mut();
    let lsuv = if args.lsuv {
        Lsuv {
            seed: args.seed,
            ..Lsuv::default()
        }
        .apply(net, &x.view())?
    } else {
        Vec::new()
    };
    let mut setup = Setup::of_mlp(&file.model);
    if args.lsuv {
        // LSUV rescaled the weights: they no longer have the initializer's variance.
        setup.init = None;
    }
    let p = probe_targets(net, &x.view(), targets, &Thresholds::default(), &setup)?;
    let jacobian = jacobian_spread(args, net, &x)?;
    let second_moment = x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len() as f64;
    let plain = match &fitted {
        None => Err("the mean-field theory is for feed-forward MLPs, not recurrent layers".to_string()),
        Some(_) if args.lsuv => Err("LSUV rescaled the weights from the data; the theory is for initializers with a variance formula".to_string()),
        Some(mlp) => PlainNet::from_mlp(mlp, second_moment).map_err(crate::one_line),
    };
    let (theory, no_theory) = figure_or_why(plain.clone().and_then(|t| {
        t.predict()
            .and_then(|pred| TheoryTable::compare(&pred, &p.record))
            .map_err(crate::one_line)
    }));
    let (criticality, no_criticality) =
        figure_or_why(plain.and_then(|t| t.criticality().map_err(crate::one_line)));
    let mut model = match (&fitted, &args.model) {
        (Some(mlp), _) => crate::run::describe_mlp(mlp),
        (None, Some(r)) => crate::run::describe_recurrent(r, trainer.train_set()),
        (None, None) => format!("custom network ({} layers)", spec.layers.len()),
    };
    if args.lsuv {
        model.push_str(" LSUV");
    }
    Ok(ProbeReport {
        model,
        hidden_layers: args.model.as_ref().map_or(args.depth, |r| r.hidden.len()),
        data: format!("{} batch of {rows} from `{}`", "a shuffled", data.source),
        probe: p,
        theory,
        no_theory,
        criticality,
        no_criticality,
        lsuv,
        jacobian,
    })
}

/// A figure, or why there is none.
fn figure_or_why<T>(r: std::result::Result<T, String>) -> (Option<T>, Option<String>) {
    match r {
        Ok(x) => (Some(x), None),
        Err(e) => (None, Some(e)),
    }
}

/// With `--jacobian`, the singular-value spread of the input-output Jacobian of `net` at
/// the batch's first sample, in evaluation mode.
///
/// # Errors
/// A Jacobian that cannot be taken (a forward pass that fails, NaN or ∞ in it).
fn jacobian_spread(
    args: &ProbeArgs,
    net: &mut Network<f32>,
    x: &Array2<f32>,
) -> Result<Option<JacobianSpread>> {
    if !args.jacobian {
        return Ok(None);
    }
    Ok(Some(JacobianSpread::measure(
        net,
        &x.view(),
        &Thresholds::default(),
    )?))
}

/// The `--jacobian` paragraph of the text report, if it was asked for.
fn render_jacobian(s: &mut String, r: &ProbeReport) {
    if let Some(j) = &r.jacobian {
        let _ = writeln!(
            s,
            "\ninput-output Jacobian (first sample, evaluation mode):\n  {j}"
        );
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:.1}", 100.0 * v))
}

fn sci(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{v:.3e}"))
}

/// The time lags at which the through-time section shows ‖∂L/∂h_{T−lag}‖.
const SHOWN_LAGS: [usize; 6] = [0, 1, 5, 10, 25, 50];

/// For each recurrent layer: ‖∂L/∂h_t‖ at a few lags back from the last step, the ratio of
/// the first step's to the last's, and the spectral radius of each recurrent weight.
fn render_through_time(s: &mut String, rec: &gradwell_monitor::StepRecord) {
    if rec.through_time.is_empty() && rec.recurrent_radius.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\nthrough time (‖∂L/∂h_t‖ by the lag back from the last step T):"
    );
    for g in &rec.through_time {
        let t = g.norms.len();
        let mut lags: Vec<usize> = SHOWN_LAGS.iter().copied().filter(|&l| l < t).collect();
        if !lags.contains(&(t - 1)) {
            lags.push(t - 1);
        }
        let shown: Vec<String> = lags
            .iter()
            .map(|&l| format!("t={} {:.3e}", t - l, g.norms[t - 1 - l]))
            .collect();
        let _ = writeln!(
            s,
            "  layer {} ({}, T = {t}): {}",
            g.layer,
            g.kind,
            shown.join(", ")
        );
        match (g.ratio(), g.per_step()) {
            (Some(ratio), Some(per)) => {
                let _ = writeln!(
                    s,
                    "  the gradient reaching step 1 is {ratio:.3e} of the one at step {t} \
                     ({per:.3} per step{}){}",
                    g.underflow_from().map_or(String::new(), |k| format!(
                        ", 0 in floating point at steps 1 to {}",
                        k - 1
                    )),
                    g.truncate.map_or(String::new(), |k| format!(
                        "; truncated BPTT every {k} steps cuts it at the chunk boundaries"
                    ))
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "  no ratio: fewer than two steps or no gradient at step {t}"
                );
            }
        }
    }
    for x in &rec.recurrent_radius {
        let _ = writeln!(
            s,
            "  spectral radius of {} ({}): {}",
            x.block,
            x.param,
            x.radius.map_or_else(
                || "not measured (built without the svd feature, or weights not finite)"
                    .to_string(),
                |v| format!("{v:.4}")
            )
        );
    }
}

/// The report as text: the per-layer table, the theory, the findings.
pub fn render(r: &ProbeReport) -> String {
    let mut s = String::new();
    let rec = &r.probe.record;
    let _ = writeln!(s, "model: {}\ndata: {}", r.model, r.data);
    let _ = writeln!(
        s,
        "loss {:.4}, global gradient norm {:.3e}, first/last weight-gradient ratio {}\n",
        rec.loss,
        rec.global_grad_norm,
        sci(rec.first_last_ratio)
    );
    let _ = writeln!(
        s,
        "{:<10} {:<12} {:>10} {:>10} {:>6} {:>6} {:>11} {:>11}",
        "layer", "kind", "mean", "std", "sat %", "dead %", "|dL/dout|", "|dL/dW|"
    );
    for l in &rec.layers {
        let _ = writeln!(
            s,
            "{:<10} {:<12} {:>10.3e} {:>10.3e} {:>6} {:>6} {:>11} {:>11}",
            l.path,
            l.activation.as_deref().unwrap_or(&l.kind),
            l.mean,
            l.std,
            pct(l.saturated_fraction),
            pct(l.dead_fraction),
            sci(l.output_grad_norm),
            sci(l.weight_grad_norm)
        );
    }
    if !r.lsuv.is_empty() {
        let _ = writeln!(s, "\nLSUV:");
        for l in &r.lsuv {
            let _ = writeln!(
                s,
                "  layer {}: {} rescaling(s), output variance {:.3}, scale {:.3}",
                l.path, l.iterations, l.variance, l.scale
            );
        }
    }
    let _ = writeln!(
        s,
        "\ntheory (mean-field signal propagation, plain network):"
    );
    match (&r.theory, &r.no_theory) {
        (Some(t), _) => {
            let _ = writeln!(s, "{t}");
        }
        (None, Some(why)) => {
            let _ = writeln!(s, "  not shown: {why}");
        }
        (None, None) => {}
    }
    let _ = writeln!(
        s,
        "\norder to chaos (mean field, Schoenholz et al. 2017; the hidden layers' σ_w², σ_b²):"
    );
    match (&r.criticality, &r.no_criticality) {
        (Some(c), _) => {
            let _ = writeln!(s, "  {}", c.describe(r.hidden_layers));
        }
        (None, Some(why)) => {
            let _ = writeln!(s, "  not shown: {why}");
        }
        (None, None) => {}
    }
    render_through_time(&mut s, rec);
    let _ = writeln!(s, "\ndiagnosis:");
    if r.probe.findings.is_empty() {
        let _ = writeln!(s, "  healthy: no finding");
    }
    s.push_str(&render_findings(&r.probe.findings, ""));
    if let Some(nf) = &r.probe.non_finite {
        let _ = writeln!(s, "{nf}");
    }
    render_jacobian(&mut s, r);
    s
}

/// Draws the gradient norm by layer to `path` and the activation std by layer beside it.
///
/// # Errors
/// An extension other than `.svg` or `.png`, a file that cannot be written, or a build
/// without plots (the `plots` feature).
pub fn plot(r: &ProbeReport, path: &Path) -> Result<Vec<std::path::PathBuf>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let Some(ext) = ext.filter(|e| e == "svg" || e == "png") else {
        return Err(CliError::flag(
            "--plot",
            path.display(),
            "the plot file must end in .svg or .png",
        ));
    };
    let stem = path
        .file_stem()
        .map_or_else(|| "probe".into(), |s| s.to_string_lossy().into_owned());
    let other = path.with_file_name(format!("{stem}-activations.{ext}"));
    #[cfg(feature = "plots")]
    {
        use gradwell_monitor::{Series, plot_activation_std_by_layer, plot_grad_norm_by_layer};
        plot_grad_norm_by_layer(
            path,
            &[Series::grad_norm_by_layer(&r.model, &r.probe.record)],
        )?;
        plot_activation_std_by_layer(
            &other,
            &[Series::activation_std_by_layer(&r.model, &r.probe.record)],
        )?;
        Ok(vec![path.to_path_buf(), other])
    }
    #[cfg(not(feature = "plots"))]
    {
        let _ = (r, other);
        Err(CliError::flag(
            "--plot",
            path.display(),
            "this gradwell is built without plots (its `plots` feature)",
        ))
    }
}
