//! The lab's claims, each a test on fixed seeds at the lab's own scale ([`Scale::FULL`]:
//! 20 hidden layers of 64, 50 for the much deeper pair, 20 epochs of SGD on the digits).
//! Runs shared by two claims are trained once ([`summaries`]).
//!
//! The criteria are the lab's constants, fixed before the runs were measured, with their
//! derivations in `gradwell_cli::lab`'s docs; each test restates its criterion and checks
//! the figures directly as well as through the lab's verdict.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use gradwell_cli::RunSummary;
use gradwell_cli::lab::{self, Scale, Verdict};

type Cell = Arc<OnceLock<RunSummary>>;

/// The summaries of the named lab runs, each trained once per test binary.
fn summaries(names: &[&str]) -> Vec<RunSummary> {
    static CACHE: OnceLock<Mutex<HashMap<String, Cell>>> = OnceLock::new();
    let runs = lab::runs(&Scale::FULL);
    names
        .iter()
        .map(|n| {
            let cell = CACHE
                .get_or_init(Default::default)
                .lock()
                .unwrap()
                .entry(n.to_string())
                .or_default()
                .clone();
            cell.get_or_init(|| {
                let r = runs.iter().find(|r| r.name == *n).expect("a lab run");
                lab::run_one(r, None).expect("the run trains")
            })
            .clone()
        })
        .collect()
}

/// The lab's verdict on claim `id`, given its runs.
fn verdict(id: usize, runs: &[RunSummary]) -> lab::ClaimResult {
    let r = lab::evaluate(runs)
        .into_iter()
        .find(|c| c.id == id)
        .expect("a claim");
    eprintln!("claim {id}: {} — {}", r.evidence, r.verdict);
    r
}

fn acc(s: &RunSummary) -> f64 {
    s.test_accuracy.unwrap_or(0.0)
}

/// Claim 1. Criterion: at initialization ‖∇W₁‖/‖∇W_L‖ < 1e-3 (the monitor's vanishing
/// threshold); ‖∂L/∂h‖ shrinks per layer by at most 1.25·σ_w/4 (mean field: each sigmoid
/// layer multiplies the squared gradient norm by χ = σ_w²·E[σ′(h)²] ≤ σ_w²/16, as
/// σ′ ≤ 1/4; Xavier on square layers has σ_w² = 1; 25 % slack for finite width); after
/// training, test accuracy < 0.3 (chance is 0.1).
#[test]
fn claim_1_deep_sigmoid_gradients_vanish() {
    let s = summaries(&["sigmoid-plain"]);
    let init = s[0].init.as_ref().expect("monitor record of step 1");
    assert!(init.first_last_ratio.unwrap() < lab::vanishing_ratio());
    // 21 weight layers at ≤ 0.25·1.25 per layer bound the ratio by about 0.31^20 ≈ 1e-10
    // (times the ratio of the layers' input norms, within a factor of a few).
    assert!(
        init.first_last_ratio.unwrap() < 1e-8,
        "{:?}",
        init.first_last_ratio
    );
    assert!(acc(&s[0]) < lab::BARELY_LEARNS);
    assert_eq!(verdict(1, &s).verdict, Verdict::Pass);
}

/// Claim 2. Criterion: at initialization 1/10 ≤ ‖∇W₁‖/‖∇W_L‖ ≤ 10 (He keeps χ = σ_w²/2 =
/// 1 per ReLU layer, so the mean-field ratio is 1; 10 allows for finite width); test
/// accuracy ≥ 0.9.
#[test]
fn claim_2_relu_he_keeps_gradients_and_learns() {
    let s = summaries(&["relu-he"]);
    let ratio = s[0].init.as_ref().unwrap().first_last_ratio.unwrap();
    assert!((0.1..=10.0).contains(&ratio), "{ratio}");
    assert!(acc(&s[0]) >= lab::LEARNS, "{:?}", s[0].test_accuracy);
    assert_eq!(verdict(2, &s).verdict, Verdict::Pass);
}

/// Claim 3. Criterion: the per-layer factor of q = E[h²] over the square hidden layers, at
/// initialization, is within 20 % of the mean-field map q ↦ σ_w²·E[relu(√q z)²] = σ_w²·q/2
/// (zero biases): 0.5 for Xavier (σ_w² = 1), 1 for He (σ_w² = 2).
#[test]
fn claim_3_xavier_halves_the_signal_under_relu() {
    let s = summaries(&["relu-xavier", "relu-he"]);
    let factor = |s: &RunSummary| {
        let lin: Vec<f64> = s
            .init
            .as_ref()
            .unwrap()
            .layers
            .iter()
            .filter(|l| l.kind == "Linear")
            .map(|l| l.second_moment)
            .collect();
        let n = lin.len() - 3;
        (lin[lin.len() - 2] / lin[1]).powf(1.0 / n as f64)
    };
    let (xavier, he) = (factor(&s[0]), factor(&s[1]));
    assert!(
        (xavier / 0.5 - 1.0).abs() <= lab::THEORY_TOLERANCE,
        "Xavier: {xavier}"
    );
    assert!((he - 1.0).abs() <= lab::THEORY_TOLERANCE, "He: {he}");
    assert_eq!(verdict(3, &s).verdict, Verdict::Pass);
}

/// Claim 4. Criterion: with batch norm, the deep sigmoid network reaches ≥ 0.9 test
/// accuracy at the base rate, at 10× the rate and from N(0, 1) weights (σ_w² = 64, which
/// saturates every sigmoid of the plain network; batch norm undoes the scale), while the
/// plain network stays < 0.3.
#[test]
fn claim_4_batch_norm_rescues_the_deep_sigmoid_network() {
    let s = summaries(&[
        "sigmoid-bn",
        "sigmoid-bn-lr10x",
        "sigmoid-bn-poor-init",
        "sigmoid-plain",
    ]);
    for r in &s[..3] {
        assert!(acc(r) >= lab::LEARNS, "{}: {:?}", r.name, r.test_accuracy);
    }
    assert!(acc(&s[3]) < lab::BARELY_LEARNS);
    assert_eq!(verdict(4, &s).verdict, Verdict::Pass);
}

/// Claim 5. Criterion: 50 hidden ReLU layers at PyTorch's default init (σ_w² = 1/3, so
/// χ = 1/6 per layer and the plain network's gradient falls by (1/6)^(49/2) ≈ 1e-19):
/// the residual network reaches ≥ 0.9 test accuracy, the plain one stays < 0.3. The
/// residual network's own gradient at init is above the exploding threshold (its runs
/// clip); with the last layer of each block at 0 it starts below it and learns unclipped.
#[test]
fn claim_5_residual_connections_train_much_deeper() {
    let s = summaries(&["deep-residual", "deep-plain", "deep-residual-zero-init"]);
    assert!(acc(&s[0]) >= lab::LEARNS, "{:?}", s[0].test_accuracy);
    assert!(acc(&s[1]) < lab::BARELY_LEARNS, "{:?}", s[1].test_accuracy);
    assert!(s[1].init.as_ref().unwrap().first_last_ratio.unwrap() < lab::vanishing_ratio());
    let init_norm = |r: &RunSummary| r.init.as_ref().unwrap().global_grad_norm;
    assert!(
        init_norm(&s[0]) > lab::exploding_norm(),
        "{}",
        init_norm(&s[0])
    );
    assert!(
        init_norm(&s[2]) <= lab::exploding_norm(),
        "{}",
        init_norm(&s[2])
    );
    assert!(
        s[2].diverged.is_none()
            && !lab::runs(&Scale::FULL)
                .iter()
                .find(|r| r.name == "deep-residual-zero-init")
                .unwrap()
                .args
                .contains(&"--clip-norm".to_string())
    );
    assert!(acc(&s[2]) >= lab::LEARNS, "{:?}", s[2].test_accuracy);
    let v = verdict(5, &s);
    assert!(v.evidence.contains("zero-init"), "{}", v.evidence);
    assert_eq!(v.verdict, Verdict::Pass);
}

/// Claim 6. Criterion: without clipping, the too-large init (σ_w² = 3: the signal grows
/// 1.5× per ReLU layer) and the 10× learning rate each give a global gradient norm
/// above 1e3 (the monitor's exploding threshold) or a non-finite loss or gradient; with
/// clipping at norm 1.0 and L2 1e-4, every step is finite and test accuracy ≥ 0.5.
#[test]
fn claim_6_clipping_tames_exploding_gradients() {
    let s = summaries(&["big-init", "high-lr", "big-init-clipped", "high-lr-clipped"]);
    for r in &s[..2] {
        assert!(
            r.diverged.is_some() || r.max_grad_norm > lab::exploding_norm(),
            "{}: {:?} {}",
            r.name,
            r.diverged,
            r.max_grad_norm
        );
    }
    for r in &s[2..] {
        assert!(r.diverged.is_none(), "{}: {:?}", r.name, r.diverged);
        assert!(r.max_grad_norm.is_finite());
        assert!(
            acc(r) >= lab::STILL_LEARNING,
            "{}: {:?}",
            r.name,
            r.test_accuracy
        );
    }
    // A diverged run names the first non-finite value's origin.
    let diverged = s[..2]
        .iter()
        .find(|r| r.diverged.is_some())
        .expect("one diverged");
    assert!(diverged.non_finite.is_some(), "{diverged:?}");
    assert_eq!(verdict(6, &s).verdict, Verdict::Pass);
}

/// Claim 7. Criterion: every unit of a hidden layer computes the same function of the same
/// inputs and receives the same gradient when the weights start equal (and the biases at
/// 0), so after training the units differ by at most f32 rounding (≤ 1e-6 of the largest
/// weight; exactly 0 is expected); with He init they differ by ≥ 1 %.
#[test]
fn claim_7_constant_init_never_breaks_symmetry() {
    let s = summaries(&["constant-init", "random-init"]);
    assert!(s[0].unit_spread <= lab::IDENTICAL, "{}", s[0].unit_spread);
    assert!(s[1].unit_spread >= lab::DISTINCT, "{}", s[1].unit_spread);
    assert_eq!(verdict(7, &s).verdict, Verdict::Pass);
}

/// Claim 8. Criterion: at step 1 of each tanh RNN (orthogonal recurrent weights × ρ,
/// ρ in `lab::RADII`), the least-squares fit of ln ‖∂L/∂h_t‖ against the lag has R² ≥ 0.9
/// and a factor per step below 1 for ρ < 1 and above 1 for ρ > 1, within 20 % of the
/// mean-field √(ρ²·E[tanh′(√q* z)²]). Each factor is also checked against the bound the
/// algebra gives: ∂L/∂h_{t−1} = W_hhᵀ·diag(tanh′)·∂L/∂h_t with ‖W_hh‖₂ = ρ and
/// tanh′ ≤ 1, so no step back multiplies the norm by more than ρ.
#[test]
fn claim_8_gradient_through_time_follows_the_spectral_radius() {
    let names: Vec<String> = lab::RADII.iter().map(|r| lab::radius_run(*r)).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let s = summaries(&refs);
    assert!(lab::RADII.iter().any(|r| *r < 1.0) && lab::RADII.iter().any(|r| *r > 1.0));
    for (run, rho) in s.iter().zip(lab::RADII) {
        let init = run.init.as_ref().expect("monitor record of step 1");
        let measured = init.recurrent_radius[0].radius.expect("a measured radius");
        assert!(
            (measured - rho).abs() < 1e-6,
            "{}: radius {measured}",
            run.name
        );
        let g = &init.through_time[0];
        assert_eq!(g.norms.len(), lab::THROUGH_TIME_STEPS);
        let fit = g.lag_fit().expect("a fit");
        assert!(fit.r_squared >= lab::GEOMETRIC_FIT, "{}: {fit:?}", run.name);
        assert!(fit.per_step <= rho * (1.0 + 1e-6), "{}: {fit:?}", run.name);
        assert_eq!(fit.per_step < 1.0, rho < 1.0, "{}: {fit:?}", run.name);
        let theory = lab::through_time_factor(rho, lab::RNN_WIDTH, lab::THROUGH_TIME_STEPS)
            .expect("the mean-field factor");
        assert!(
            (fit.per_step / theory - 1.0).abs() <= lab::THEORY_TOLERANCE,
            "{}: {} against {theory}",
            run.name,
            fit.per_step
        );
    }
    assert_eq!(verdict(8, &s).verdict, Verdict::Pass);
}

/// Claim 9. Criterion: on the adding problem of the scale's length (`adding:30` in the
/// full lab), the plain tanh RNN's test MSE stays ≥ 0.8 × 1/6 (it explains less than a
/// fifth of the target's variance; remembering only the later marked value would already
/// reach 1/12) and the LSTM's falls below 0.05 (it must carry both values across the
/// sequence).
#[test]
fn claim_9_an_lstm_solves_the_adding_problem_where_the_rnn_stays_at_the_baseline() {
    let s = summaries(&[lab::ADDING_RNN, lab::ADDING_LSTM]);
    let baseline = gradwell_data::sequence::ADDING_BASELINE_MSE;
    let mse = |r: &RunSummary| r.test_loss.expect("a test MSE");
    assert!(mse(&s[0]) >= lab::AT_BASELINE * baseline, "{}", mse(&s[0]));
    assert!(mse(&s[1]) < lab::SOLVED_MSE, "{}", mse(&s[1]));
    assert_eq!(s[1].epochs.len() as u64, Scale::FULL.adding_epochs);
    assert_eq!(verdict(9, &s).verdict, Verdict::Pass);
}

/// Claim 10. Criterion: unclipped, a step whose gradient norm is ≥ 10 × the clipping
/// threshold raises the next step's loss ≥ 10 ×; clipped at that threshold, every loss
/// is finite and no step raises the next one's 10 × or more.
#[test]
fn claim_10_clipping_keeps_a_step_from_the_cliff_from_throwing_the_loss_up() {
    let s = summaries(&[lab::CLIFF, lab::CLIFF_CLIPPED]);
    let clip: f64 = lab::CLIFF_CLIP.parse().unwrap();
    let rise = |r: &RunSummary| {
        r.losses
            .windows(2)
            .map(|w| (w[1].1 / w[0].1, w[0].0))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .expect("two steps")
    };
    let (jump, step) = rise(&s[0]);
    let norm = s[0]
        .grad_norms
        .iter()
        .find(|(t, _)| *t == step as f64)
        .expect("the step's gradient norm")
        .1;
    assert!(
        jump >= lab::CLIFF_JUMP && norm >= lab::CLIFF_NORM * clip,
        "{jump} at {step}, ‖∇‖ {norm}"
    );
    assert!(s[1].diverged.is_none());
    assert!(rise(&s[1]).0 < lab::CLIFF_JUMP, "{:?}", rise(&s[1]));
    assert_eq!(verdict(10, &s).verdict, Verdict::Pass);
}

/// The bytes of the files under `dir`.
fn folder_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                folder_size(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

/// The lab's folder stays under [`lab::FOLDER_BUDGET`] at the default monitor detail.
/// The bound, derived: a run folder grows with the run's layers (weights, per-layer rows,
/// the checkpoint the lab's sweep keeps, [`lab::CHECKPOINTS_KEPT`]) and steps; every lab
/// run on the digits takes the same steps. The much deeper runs are bounded by the
/// residual one (the most layers: a residual block per hidden layer), the other digit
/// runs (at most [`Scale::depth`] hidden layers) by the batch-norm sigmoid run (a
/// batch-norm layer beside each linear one), but for claim 7's pair, of two hidden layers,
/// bounded by its random-init run (the same layers and steps as the constant one). The
/// recurrent runs (on sequences) are bounded by the LSTM of claim 9 for its pair (the RNN
/// takes as many steps with a quarter of the recurrent weights) and by the clipped run of
/// claim 10 for claims 8 and 10 (the same width; a whole epoch, where the unclipped run
/// stops when it diverges and claim 8's runs take one step). The measured runs run as the
/// lab runs them, through its sweep (`gradwell train` child processes in the sweep
/// folder), so their folders hold the sweep's files too (config.toml, status, error.log,
/// the checkpoint): Σ over the runs of its class's measured folder, plus the sweep's
/// record (sweep.json), bounds the sweep folder. The lab folder is that plus the report
/// (index.html with the data of every chart, the SVG plots, one CSV of epochs per run,
/// results.json), which grows with the same figures: it is measured on stand-ins (each
/// run replaced by its class's measured run, renamed and given the lab run's config, so
/// the report takes it for the lab's: as many steps, at least as many layers). The
/// stand-ins draw no theory line, which the plain networks add (two points per layer and
/// run, a few kilobytes): the two bounds together must stay 1 % under the budget.
#[test]
fn a_lab_run_folder_fits_the_lab_budget() {
    let scale = Scale::FULL;
    let runs = lab::runs(&scale);
    let sweep = lab::sweep(&scale).expect("the lab's sweep");
    let dir = crate::temp_dir("lab-budget");
    sweep.prepare(&dir).expect("the sweep folder is written");
    let measured = [
        "deep-residual",
        "sigmoid-bn",
        lab::ADDING_LSTM,
        lab::CLIFF_CLIPPED,
        "random-init",
    ];
    let index = |name: &str| runs.iter().position(|r| r.name == name).expect("a lab run");
    let todo: Vec<usize> = measured.iter().map(|n| index(n)).collect();
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_gradwell"));
    let o = gradwell_cli::sweep::run_local(&sweep, &dir, &todo, 2, exe).expect("the runs run");
    assert!(o.failed.is_empty(), "{o:?}");
    let measure = |name: &str| {
        let run = gradwell_cli::sweep::run_dir(&dir, index(name));
        let s = RunSummary::read(&run).expect("the run finished");
        let size = folder_size(&run);
        eprintln!(
            "{name}: {} steps, {size} bytes, monitor.json {} bytes",
            s.steps,
            std::fs::metadata(run.join("monitor.json")).unwrap().len()
        );
        (size, s)
    };
    let (deep, shallow) = (measure("deep-residual"), measure("sigmoid-bn"));
    let (adding, short) = (measure(lab::ADDING_LSTM), measure(lab::CLIFF_CLIPPED));
    let two_layers = measure("random-init");
    let deeper = vec![scale.width.to_string(); scale.deep_depth].join(",");
    let is_deeper = |r: &lab::LabRun| r.args.contains(&deeper);
    let class = |r: &lab::LabRun| match r.claim {
        9 => &adding,
        8 | 10 => &short,
        7 => &two_layers,
        _ if is_deeper(r) => &deep,
        _ => &shallow,
    };
    let record = std::fs::metadata(dir.join("sweep.json")).unwrap().len();
    let total: u64 = runs.iter().map(|r| class(r).0).sum::<u64>() + record;
    eprintln!(
        "{} runs, bound on the sweep folder {total} bytes (sweep.json {record})",
        runs.len()
    );
    let stand_ins: Vec<RunSummary> = runs
        .iter()
        .map(|r| {
            let mut s = class(r).1.clone();
            s.name = r.name.clone();
            // The lab run's own settings, so that the report counts it as the lab's.
            s.config = toml::to_string(&r.run_file().expect("a lab run's config"))
                .expect("the config serializes");
            s
        })
        .collect();
    let report = crate::temp_dir("lab-budget-report");
    gradwell_cli::report::write(&report, &lab::evaluate(&stand_ins), &stand_ins)
        .expect("the report is written");
    let report_size = folder_size(&report);
    let page = std::fs::metadata(report.join("index.html")).unwrap().len();
    eprintln!("report of the stand-ins: {report_size} bytes, index.html {page} bytes");
    assert!(
        total + report_size <= lab::FOLDER_BUDGET / 100 * 99,
        "sweep folder {total} + report {report_size} bytes"
    );
}

/// The sweep files shipped in `crates/gradwell-cli/lab/` are the lab's runs: each is the
/// text `gradwell lab --write-sweep` writes from [`lab::runs`], and read back as a sweep,
/// run k is the k-th lab run, named as it, with its settings (but for the checkpoints
/// the sweep gives every run).
#[test]
fn the_shipped_sweep_files_are_the_labs_runs() {
    for scale in Scale::ALL {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("lab")
            .join(format!("{}.toml", scale.name));
        let shipped = std::fs::read_to_string(&path).expect("the shipped sweep file");
        let generated = lab::sweep_text(&scale).expect("the lab's sweep");
        assert!(
            shipped == generated,
            "{} differs from the lab's runs: write it again with `gradwell lab{} --write-sweep {}/{}.toml`",
            path.display(),
            if scale == Scale::QUICK {
                " --quick"
            } else {
                ""
            },
            lab::SWEEP_FILES,
            scale.name
        );
        let sweep = gradwell_cli::sweep::Sweep::load(&path).expect("the shipped file expands");
        assert_eq!(sweep.name, scale.name);
        let runs = lab::runs(&scale);
        assert_eq!(sweep.runs.len(), runs.len());
        for (r, lab_run) in sweep.runs.iter().zip(&runs) {
            let mut got: gradwell_cli::RunFile = toml::from_str(&r.config).expect("a config");
            assert_eq!(
                got.train.checkpoint.dir,
                Some(format!("runs/{}/checkpoints", r.index).into())
            );
            assert_eq!(got.train.checkpoint.keep, lab::CHECKPOINTS_KEPT);
            got.train.checkpoint = Default::default();
            // No page per run: the lab's report draws them.
            assert!(!got.monitor.page);
            got.monitor.page = true;
            let want = lab_run.run_file().expect("a lab run's config");
            assert_eq!(got, want, "run {} ({})", r.index, lab_run.name);
            assert_eq!(r.listed.as_deref(), Some(lab_run.name.as_str()));
        }
    }
}

/// `gradwell lab --slurm` is `gradwell sweep --slurm` of the shipped file: the same sweep
/// folder (its sweep.json is accepted as this sweep's) and the same job-array script.
#[test]
fn lab_slurm_writes_the_job_array_sweep_slurm_writes_for_the_shipped_file() {
    let dir = crate::temp_dir("lab-slurm");
    let out = dir.to_str().unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lab/lab-quick.toml");
    let flags = [
        "--slurm", "--time", "00:30:00", "--mem", "1G", "--jobs", "4",
    ];
    let run = |args: &[&str]| {
        let o = crate::gradwell(args);
        let (stdout, stderr) = crate::text(&o);
        assert!(o.status.success(), "{args:?}: {stdout}{stderr}");
        (
            std::fs::read_to_string(dir.join("sweep.sbatch")).expect("sweep.sbatch"),
            stderr,
        )
    };
    let mut sweep_args = vec!["sweep", shipped.to_str().unwrap(), "--out", out];
    sweep_args.extend(flags);
    let (by_sweep, _) = run(&sweep_args);
    std::fs::remove_file(dir.join("sweep.sbatch")).unwrap();
    let mut lab_args = vec!["lab", "--quick", "--out", out];
    lab_args.extend(flags);
    let (by_lab, stderr) = run(&lab_args);
    assert_eq!(by_lab, by_sweep);
    let n = lab::runs(&Scale::QUICK).len();
    assert!(
        by_lab.contains(&format!("#SBATCH --array=0-{}%4\n", n - 1)),
        "{by_lab}"
    );
    assert!(
        by_lab.contains("#SBATCH --job-name=gradwell-lab-quick\n"),
        "{by_lab}"
    );
    assert!(stderr.contains("judges the claims"), "{stderr}");
}

/// Every scale `gradwell lab` offers passes every claim: the quick lab, run whole as
/// `gradwell lab --quick` runs it (its sweep, two runs at once), is judged at its own
/// scale (accuracy against the sigmoid baseline of the same scale,
/// [`lab::Learning::AboveBaseline`]); the full scale is the claim tests above. The lab's
/// sweep folder is judged the same by `gradwell report`, and running the lab again runs
/// only the runs that did not finish.
#[test]
fn the_quick_lab_passes_every_claim() {
    let dir = crate::temp_dir("quick-lab");
    let out = dir.to_str().unwrap();
    let o = crate::gradwell(&["lab", "--quick", "--out", out, "--jobs", "2"]);
    let (table, stderr) = crate::text(&o);
    eprint!("{table}");
    assert!(o.status.success(), "{table}{stderr}");
    let all = format!("{} of {} claims pass", lab::CLAIMS.len(), lab::CLAIMS.len());
    assert!(table.contains(&all), "{table}");
    let runs = lab::runs(&Scale::QUICK);
    let summaries: Vec<RunSummary> = (0..runs.len())
        .map(|k| RunSummary::read(&gradwell_cli::sweep::run_dir(&dir, k)).expect("run.json"))
        .collect();
    for (k, (s, r)) in summaries.iter().zip(&runs).enumerate() {
        assert_eq!(s.name, r.name);
        assert!(lab::is_lab_run(s), "{}", s.name);
        // No page and no checkpoint left per run: the lab's folder keeps to its budget.
        let run = gradwell_cli::sweep::run_dir(&dir, k);
        assert!(!run.join("index.html").exists() && !run.join("checkpoints").exists());
    }
    assert_eq!(Scale::of(&summaries), Scale::QUICK);
    let results = lab::evaluate(&summaries);
    assert_eq!(results.len(), lab::CLAIMS.len());
    for r in &results {
        assert_eq!(r.verdict, Verdict::Pass, "claim {}: {}", r.id, r.evidence);
    }
    assert!(dir.join("index.html").is_file() && dir.join("results.json").is_file());

    // `gradwell report` of the lab's sweep folder judges the claims on its runs.
    let report = dir.join("merged");
    let o = crate::gradwell(&["report", out, "--out", report.to_str().unwrap()]);
    let (merged, stderr) = crate::text(&o);
    assert!(o.status.success(), "{merged}{stderr}");
    assert!(merged.contains(&all), "{merged}");
    assert!(
        merged.contains(&format!(
            "sweep lab-quick: {0} of {0} runs finished",
            runs.len()
        )),
        "{merged}"
    );
    let csv = std::fs::read_to_string(report.join("runs.csv")).unwrap();
    assert!(csv.starts_with("run,name,status,"), "{csv}");
    assert!(csv.contains("\n0,sigmoid-plain,finished,"), "{csv}");

    // Again: every run has finished, none runs; a run whose run.json is gone runs again.
    let again = runs.iter().position(|r| r.name == "constant-init").unwrap();
    std::fs::remove_file(gradwell_cli::sweep::run_dir(&dir, again).join("run.json")).unwrap();
    let o = crate::gradwell(&["lab", "--quick", "--out", out]);
    let (table, stderr) = crate::text(&o);
    assert!(o.status.success(), "{table}{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} of {} runs finished before",
            runs.len() - 1,
            runs.len()
        )),
        "{stderr}"
    );
    assert!(table.contains(&all), "{table}");
}
