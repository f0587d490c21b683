//! The lab: the classic claims about vanishing and exploding gradients, each checked by
//! training runs with fixed seeds (on the embedded digits; claims 8–10, on recurrent
//! networks, on the adding problem), against a criterion stated in advance (below, with
//! its derivation).
//!
//! Every run is an ordinary `gradwell train` command ([`LabRun::args`]), and the lab is a
//! sweep: [`sweep_text`] writes [`runs`] as a sweep file (`[[run]]` per run, shipped in
//! [`SWEEP_FILES`]), which `gradwell lab` runs through the sweep's runner
//! ([`crate::sweep::run_sweep`]: here, or as a Slurm job array) before judging the claims,
//! and which `gradwell sweep` runs as well; `gradwell report` judges the runs of such a
//! folder ([`is_lab_run`]), and the runs' standalone commands (`gradwell lab --list`) too.
//! The evidence comes from each run's [`RunSummary`]: the monitor's record of
//! step 1 (the network at initialization, on a real batch, before any update), the
//! largest gradient norm, the final test accuracy, the spread between hidden units.
//!
//! # Criteria
//!
//! Thresholds are constants here, fixed before the runs were measured:
//!
//! - [`LEARNS`] = 0.9 test accuracy: a run "learns". Digits are easy (a linear classifier
//!   reaches about 0.95), so a network that trains at all passes 0.9.
//! - [`BARELY_LEARNS`] = 0.3: a run "barely learns". Chance is 0.1 (ten balanced
//!   classes); a network whose early layers do not train keeps close to it.
//! - [`STILL_LEARNING`] = 0.5 (five times chance): a clipped run that started badly is
//!   still learning.
//! - [`vanishing_ratio`] = 1e-3, [`exploding_norm`] = 1e3: the monitor's own thresholds
//!   ([`Thresholds::default`]) for vanishing (first-to-last weight-gradient ratio) and
//!   exploding (global gradient norm) gradients.
//! - [`SMALL_FACTOR`] = 10: "within a small factor" across the layers.
//! - [`THEORY_TOLERANCE`] = 0.2: a measured per-layer factor agrees with theory when it is
//!   within 20 % of it. The measured factor is a geometric mean over about 18 layers; the
//!   finite-width fluctuation of a layer's log second moment has a standard deviation of
//!   about √(2/n) per sample, averaged over the batch's samples and the units, so 20 % is
//!   several standard deviations of the mean over the layers.
//! - [`SIGMOID_SLACK`] = 1.25: the mean-field bound on sigmoid's per-layer gradient factor,
//!   σ_w·max σ′ = σ_w/4, may be exceeded by at most 25 % by finite-width fluctuations.
//! - [`IDENTICAL`] = 1e-6, [`DISTINCT`] = 1e-2: hidden units are identical when their
//!   weights differ by at most 1e-6 of the largest weight (f32 rounding; identical
//!   arithmetic gives exactly 0) and distinct when by at least 1 %.
//! - [`BASELINE_MARGIN`] = 0.2: at a scale whose runs are too short to reach [`LEARNS`]
//!   ([`Learning::AboveBaseline`], the quick lab's 6 epochs), a run "learns" (and a clipped
//!   run "is still learning") when its test accuracy beats the plain sigmoid network of the
//!   same scale, the vanishing baseline, by at least 0.2. The test set holds 359 samples:
//!   an accuracy's standard error is at most √(0.25/359) ≈ 0.026, a difference of two
//!   ≈ 0.037, so 0.2 is more than five standard errors: no fluke of the test set.
//!
//! - Claim 8, [`GEOMETRIC_FIT`] = 0.9 and [`THEORY_TOLERANCE`]: back through time,
//!   ∂L/∂h_{t−1} = W_hhᵀ·diag(tanh′(a_t))·∂L/∂h_t. With W_hh orthogonal × ρ every
//!   singular value is ρ, so each step back multiplies the norm by ρ·(a mean of tanh′)
//!   ≤ ρ; the mean field gives the factor √(ρ²·E[tanh′(√q* z)²]) at the fixed point q* of
//!   the state's variance ([`through_time_factor`]): ≈ ρ below 1 (the state stays small,
//!   tanh′ ≈ 1), above 1 for ρ > 1 (1.06 at ρ = 1.5, 1.17 at 2: the state saturates, which
//!   slows but does not stop the growth). A geometric law is a straight line of ln ‖∂L/∂h_t‖
//!   against the lag; R² ≥ 0.9 leaves room for the few steps from h_0 = 0 to the fixed
//!   point, where tanh′ is still 1 and the factor ρ. The factor is judged by its side of
//!   1 and within 20 % of the mean field, the tolerance of claim 3.
//! - Claim 9, [`AT_BASELINE`] = 0.8 and [`SOLVED_MSE`] = 0.05: predicting 1, the mean of
//!   the sum of two U(0, 1), scores [`ADDING_BASELINE_MSE`] = 1/6; remembering only the
//!   later marked value (within T/2 of the end) scores 1/12 ≈ 0.083. "Stays at the
//!   baseline": test MSE ≥ 0.8 × 1/6 = 0.133, less than a fifth of the target's variance
//!   explained (the test MSE of 1000 sequences has a standard error of about
//!   √(7/180)/√1000 ≈ 0.006 at the baseline, so 0.133 is over five of them below it).
//!   "Solves": below 0.05, under the 1/12 of one remembered value, so both marked values
//!   must be carried across the sequence. The length is the one where, measured over
//!   seeds 0, 1 and 2, the plain RNN stays above 0.15 and the LSTM ends below 0.011:
//!   T = 20 in the quick lab (4 epochs), T = 30 in the full lab (8 epochs; the LSTM leaves
//!   the baseline after 3 to 5 of them).
//! - Claim 10, [`CLIFF_NORM`] = 10 and [`CLIFF_JUMP`] = 10 (Pascanu, Mikolov & Bengio
//!   2013): the ReLU RNN's recurrent matrix (orthogonal × 1.4; ReLU keeps half the units,
//!   so ρ²/2 ≈ 1 per step) sits near the wall where its state and gradient explode. "A
//!   step from the cliff": its gradient norm is ≥ 10 × the clipping threshold, a step
//!   clipping would shorten tenfold. "Throws the loss up": the next step's loss is ≥ 10 ×
//!   the step's (the two are measured on different batches; away from a cliff their
//!   ratio stays below about 3 in these runs, clipped or not). The clipped run must keep
//!   every loss finite and no rise from one step to the next reach 10 ×. Over seeds 0–2
//!   and 1024 or 4096 sequences, the unclipped run's largest rise is 59 × to 10¹⁶ ×
//!   (diverging), after a step of gradient norm 20 to 500 in five of the six (7.8 in the
//!   sixth); the clipped run's stays below 3 at seeds 0 and 1 but reaches 14–20 × at
//!   seed 2, where even steps of norm 0.03 land on the wall: clipping bounds the step, not
//!   the wall's steepness. The lab uses seed 0.
//!
//! Each [`Scale`] fixes which rule its accuracy claims use ([`Scale::learning`]), and
//! [`evaluate`] tells the scale from the runs' configs ([`Scale::of`]).

use std::fmt::Write as _;
use std::path::Path;

use gradwell_data::sequence::ADDING_BASELINE_MSE;
use gradwell_monitor::{MeanField, StepRecord, Thresholds, weight_sigma2};
use serde::{Deserialize, Serialize};

use crate::cli::{Cli, Command};
use crate::run::{RunOptions, RunSummary, train_run};
use crate::{CliError, Result};

/// Test accuracy at which a run learns.
pub const LEARNS: f64 = 0.9;
/// Test accuracy below which a run barely learns.
pub const BARELY_LEARNS: f64 = 0.3;
/// Test accuracy of a run that is still learning after a bad start.
pub const STILL_LEARNING: f64 = 0.5;
/// A first-to-last weight-gradient ratio below this is vanishing: the monitor's threshold.
pub fn vanishing_ratio() -> f64 {
    Thresholds::default().vanishing_ratio
}

/// A global gradient norm above this is exploding: the monitor's threshold.
pub fn exploding_norm() -> f64 {
    Thresholds::default().exploding_global_norm
}
/// The R² a log-linear fit of ‖∂L/∂h_t‖ against the lag must reach for the gradient
/// through time to be geometric (claim 8).
pub const GEOMETRIC_FIT: f64 = 0.9;
/// The fraction of the adding problem's trivial test MSE ([`ADDING_BASELINE_MSE`]) a
/// model stays above when it "stays at the baseline" (claim 9).
pub const AT_BASELINE: f64 = 0.8;
/// The test MSE below which a model solves the adding problem (claim 9).
pub const SOLVED_MSE: f64 = 0.05;
/// How far above the clipping threshold a step's gradient norm must be to come from the
/// cliff (claim 10): a step clipping would shorten tenfold.
pub const CLIFF_NORM: f64 = 10.0;
/// The rise of the loss from one step to the next that "throws the loss up" (claim 10).
pub const CLIFF_JUMP: f64 = 10.0;
/// "Within a small factor".
pub const SMALL_FACTOR: f64 = 10.0;
/// Relative agreement of a measured per-layer factor with theory.
pub const THEORY_TOLERANCE: f64 = 0.2;
/// How far finite width may push sigmoid's gradient factor past its mean-field bound.
pub const SIGMOID_SLACK: f64 = 1.25;
/// Hidden units this close (relative) are identical.
pub const IDENTICAL: f64 = 1e-6;
/// Hidden units this far apart (relative) are distinct.
pub const DISTINCT: f64 = 1e-2;
/// How far a run must beat the plain sigmoid baseline of its scale to learn, at a scale
/// judged [`Learning::AboveBaseline`].
pub const BASELINE_MARGIN: f64 = 0.2;

/// How a scale's accuracy claims ("learns", "still learning") are judged, fixed with the
/// scale from what its runs can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learning {
    /// Runs long enough to converge: fixed accuracies, [`LEARNS`] and [`STILL_LEARNING`].
    Absolute,
    /// Runs too short to converge: beating the plain sigmoid run of the same scale (the
    /// baseline whose gradients vanish) by [`BASELINE_MARGIN`].
    AboveBaseline,
}

/// The most the lab's folder (every run's folder and the report) should take on disk at
/// the default [`gradwell_monitor::Detail::Summary`]: 20 MB.
pub const FOLDER_BUDGET: u64 = 20_000_000;

/// The size of the lab.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// The name of the lab's sweep at this scale ([`sweep_text`]), which is that of its
    /// shipped file in [`SWEEP_FILES`] (`<name>.toml`).
    pub name: &'static str,
    /// Width of the hidden layers.
    pub width: usize,
    /// Hidden layers of the "deep" networks (claims 1–4, 6).
    pub depth: usize,
    /// Hidden layers of the "much deeper" networks (claim 5).
    pub deep_depth: usize,
    /// Epochs of each run but the 10×-rate pair of claim 6.
    pub epochs: u64,
    /// Epochs of the 10×-rate pair of claim 6 (`high-lr`, `high-lr-clipped`): a too-high
    /// rate's explosion builds up during training, not at initialization, so this pair
    /// needs the full lab's length at every scale.
    pub lr_epochs: u64,
    /// How its accuracy claims are judged.
    pub learning: Learning,
    /// Length T of the adding problem of claim 9 (`adding:T`), where the plain tanh RNN
    /// stays at the trivial baseline and the LSTM must solve it.
    pub adding_steps: usize,
    /// Training sequences of claim 9's adding problem (its test set is a quarter as many).
    pub adding_sequences: usize,
    /// Epochs of claim 9's pair.
    pub adding_epochs: u64,
}

impl Scale {
    /// The default lab: 20 hidden layers of 64, 50 for the much deeper pair, 20 epochs.
    pub const FULL: Scale = Scale {
        name: "lab",
        width: 64,
        depth: 20,
        deep_depth: 50,
        epochs: 20,
        lr_epochs: 20,
        learning: Learning::Absolute,
        adding_steps: 30,
        adding_sequences: 4000,
        adding_epochs: 8,
    };
    /// The quick lab: 20 hidden layers of 64, 40 for the deeper pair, 6 epochs, too few
    /// for SGD at the lab's rates to reach [`LEARNS`]: learning is judged against the
    /// sigmoid baseline of the same scale. The width stays the full lab's: at 32 units a
    /// 10× learning rate kills the ReLU network (test accuracy 0.1) without the gradient
    /// norm ever passing the exploding threshold (8.1 at most in 6 epochs); at 64 it
    /// passes it only after 6 epochs (12.8 at most until then), hence
    /// [`Scale::lr_epochs`].
    pub const QUICK: Scale = Scale {
        name: "lab-quick",
        width: 64,
        depth: 20,
        deep_depth: 40,
        epochs: 6,
        lr_epochs: 20,
        learning: Learning::AboveBaseline,
        adding_steps: 20,
        adding_sequences: 4000,
        adding_epochs: 4,
    };

    /// Every scale `gradwell lab` offers.
    pub const ALL: [Scale; 2] = [Scale::FULL, Scale::QUICK];

    /// The scale the lab runs among `runs` were made at: the first scale every one of
    /// whose runs present (by name) has the hidden layers and epochs it gives that run;
    /// [`Scale::FULL`] when none fits (runs of other sizes are judged by the fixed
    /// accuracies).
    pub fn of(runs: &[RunSummary]) -> Scale {
        Scale::ALL
            .into_iter()
            .find(|scale| {
                let labs = self::runs(scale);
                let mut present = runs
                    .iter()
                    .filter_map(|s| Some((labs.iter().find(|l| l.name == s.name)?, s)))
                    .peekable();
                present.peek().is_some() && present.all(|(l, s)| fits(l, s))
            })
            .unwrap_or(Scale::FULL)
    }
}

/// Whether `s` is `lab`'s run at some scale: the settings a scale changes (the model, the
/// data, the epochs and steps) are the ones `lab` gives.
fn fits(lab: &LabRun, s: &RunSummary) -> bool {
    let (Ok(file), Ok(want)) = (toml::from_str::<crate::RunFile>(&s.config), lab.run_file()) else {
        return false;
    };
    file.model == want.model
        && file.data.source == want.data.source
        && file.train.epochs == want.train.epochs
        && file.train.steps == want.train.steps
}

/// Whether `s` is one of the lab's runs: its name is a lab run's at some [`Scale`] and its
/// settings are that run's. A run of the user's that happens to share a lab run's name
/// (a folder called `relu-he`) is not judged as the lab's evidence.
pub fn is_lab_run(s: &RunSummary) -> bool {
    Scale::ALL
        .iter()
        .any(|scale| runs(scale).iter().any(|l| l.name == s.name && fits(l, s)))
}

/// One run of the lab: a name and the flags of its `gradwell train` command.
#[derive(Debug, Clone, PartialEq)]
pub struct LabRun {
    /// The run's name (its folder).
    pub name: String,
    /// The claim it is evidence for.
    pub claim: usize,
    /// The flags after `gradwell train`.
    pub args: Vec<String>,
}

impl LabRun {
    /// The value given to `flag` in its arguments.
    pub fn flag(&self, flag: &str) -> Option<&str> {
        let i = self.args.iter().position(|a| a == flag)?;
        self.args.get(i + 1).map(String::as_str)
    }

    /// The run's settings, as its command builds them (from its flags alone: no data are
    /// read).
    ///
    /// # Errors
    /// Flags the command line refuses.
    pub fn run_file(&self) -> Result<crate::RunFile> {
        let mut argv = vec![
            "gradwell".to_string(),
            "train".into(),
            "--name".into(),
            self.name.clone(),
        ];
        argv.extend(self.args.iter().cloned());
        let cli = Cli::try_parse_from_args(&argv)?;
        let Command::Train(args) = cli.command else {
            return Err(CliError::Invalid(
                "a lab run must be a train command".into(),
            ));
        };
        crate::run_file(&args)
    }

    /// The standalone command, writing to `runs/NAME`.
    pub fn command(&self, runs: &Path) -> String {
        let out = runs.join(&self.name);
        format!(
            "gradwell train --name {} --out {} --quiet {}",
            self.name,
            shell_quote(&out.display().to_string()),
            self.args.join(" ")
        )
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn hidden(width: usize, depth: usize) -> String {
    vec![width.to_string(); depth].join(",")
}

/// The run whose gradients vanish, the baseline of [`Learning::AboveBaseline`].
pub const BASELINE: &str = "sigmoid-plain";

/// The learning rate of the lab's runs (SGD, momentum 0.9).
pub const BASE_LR: &str = "0.005";
/// Ten times [`BASE_LR`].
pub const HIGH_LR: &str = "0.05";

/// The learning rate of the much deeper pair (claim 5), whose steps are clipped.
pub const DEEP_LR: &str = "0.02";

/// Hidden units of the recurrent networks (claims 8–10).
pub const RNN_WIDTH: usize = 64;
/// Length T of the sequences of claims 8 and 10 (`adding:T`).
pub const THROUGH_TIME_STEPS: usize = 50;
/// Training sequences of claims 8 and 10.
pub const THROUGH_TIME_SEQUENCES: usize = 1024;
/// The spectral radii of claim 8's tanh RNNs (orthogonal recurrent weights times the
/// radius): two below 1, two above.
pub const RADII: [f64; 4] = [0.5, 0.8, 1.5, 2.0];
/// Adam's learning rate on claim 9's adding problem.
pub const ADDING_LR: &str = "0.01";
/// Claim 9's plain tanh RNN.
pub const ADDING_RNN: &str = "adding-rnn";
/// Claim 9's LSTM.
pub const ADDING_LSTM: &str = "adding-lstm";
/// The spectral radius of claim 10's ReLU RNN.
pub const CLIFF_RADIUS: f64 = 1.4;
/// The learning rate (SGD) of claim 10's pair, also given to claim 8's runs, whose
/// evidence (the record of step 1) precedes their one update.
pub const CLIFF_LR: &str = "0.03";
/// The norm claim 10's clipped run clips at.
pub const CLIFF_CLIP: &str = "1.0";
/// Claim 10's unclipped run.
pub const CLIFF: &str = "cliff";
/// Claim 10's clipped run.
pub const CLIFF_CLIPPED: &str = "cliff-clipped";

/// The standard deviation of the "too large" normal init for width `w`: σ_w² = 3.
pub fn big_init_std(w: usize) -> f64 {
    (3.0 / w as f64).sqrt()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The runs of the lab at `scale`. Every run trains with SGD (momentum 0.9, batch 32,
/// seed 0), the optimizer of the classic experiments (Adam would hide vanishing gradients
/// by rescaling each parameter's step), on standardized features: each input of unit
/// variance, the unit-scale input the mean-field theory starts from.
pub fn runs(scale: &Scale) -> Vec<LabRun> {
    let w = scale.width;
    let epochs = scale.epochs.to_string();
    let run = |name: &str, claim: usize, model: &[String], lr: &str, extra: &[&str]| {
        let mut args = model.to_vec();
        args.extend(strings(&[
            "--optimizer",
            "sgd",
            "--lr",
            lr,
            "--momentum",
            "0.9",
            "--batch-size",
            "32",
            "--preprocess",
            "standardize",
            "--seed",
            "0",
            "--epochs",
            &epochs,
        ]));
        args.extend(strings(extra));
        LabRun {
            name: name.into(),
            claim,
            args,
        }
    };
    let mlp = |hidden: String, act: &str, init: &str, more: &[&str]| {
        let mut v = strings(&["--hidden", &hidden, "--activation", act, "--init", init]);
        v.extend(strings(more));
        v
    };
    let deep = hidden(w, scale.depth);
    let deeper = hidden(w, scale.deep_depth);
    let two = format!("{w},{w}");
    let zero_bias = ["--bias-init", "zeros"];
    let sig = mlp(deep.clone(), "sigmoid", "xavier-normal", &zero_bias);
    let relu_he = mlp(deep.clone(), "relu", "he-normal", &zero_bias);
    let relu_xavier = mlp(deep.clone(), "relu", "xavier-normal", &zero_bias);
    let sig_bn = mlp(
        deep.clone(),
        "sigmoid",
        "xavier-normal",
        &["--bias-init", "zeros", "--batch-norm"],
    );
    let sig_bn_poor = mlp(
        deep.clone(),
        "sigmoid",
        "normal:0,1",
        &["--bias-init", "zeros", "--batch-norm"],
    );
    let deep_plain = mlp(deeper.clone(), "relu", "pytorch-default", &[]);
    let deep_res = mlp(deeper.clone(), "relu", "pytorch-default", &["--residual"]);
    // The cure of the residual network's growth: the last layer of each block starts at
    // 0, so every block starts as the identity and the signal as the input's.
    let deep_res_zero = mlp(
        deeper,
        "relu",
        "pytorch-default",
        &["--residual", "--zero-init-residual"],
    );
    // σ_w² = fan_in·std² = 3, 1.5 times He's 2: the second moment of the signal grows by
    // σ_w²/2 = 1.5 per ReLU layer (1.5²⁰ ≈ 3300 over 20 layers), the squared gradient norm
    // by the same factor towards the input.
    let big = mlp(
        deep,
        "relu",
        &format!("normal:0,{:.4}", big_init_std(w)),
        &zero_bias,
    );
    let constant = mlp(
        two.clone(),
        "relu",
        &format!("constant:{}", 1.0 / w as f64),
        &zero_bias,
    );
    let random = mlp(two, "relu", "he-normal", &zero_bias);
    let clip = ["--clip-norm", "1.0", "--weight-decay", "1e-4"];
    // The learning rate of every run is BASE_LR but for the 10× runs and the much deeper
    // pair, which clips at 1.0 (both of them: the residual network's signal grows by
    // 1 + σ_w²/2 per block at PyTorch's default init, so its first gradients are large)
    // and, its steps bounded by the clipping, takes DEEP_LR.
    let lr_epochs = ["--epochs", &scale.lr_epochs.to_string()].map(String::from);
    let lr_run = |name: &str, extra: &[&str]| {
        let mut r = run(name, 6, &relu_he, HIGH_LR, extra);
        if let Some(i) = r.args.iter().position(|a| a == "--epochs") {
            r.args.splice(i..i + 2, lr_epochs.clone());
        }
        r
    };
    // The recurrent claims train on the adding problem, every run from seed 0.
    let seq = |name: String, claim: usize, args: &[&str]| {
        let mut args = strings(args);
        args.extend(strings(&["--seed", "0"]));
        LabRun { name, claim, args }
    };
    let width = RNN_WIDTH.to_string();
    let through_time = format!("adding:{THROUGH_TIME_STEPS},{THROUGH_TIME_SEQUENCES}");
    let rnn = format!("rnn:{width}");
    // Claim 8: one step (the monitor's record of step 1 is the evidence) per radius.
    let radius_runs = RADII.iter().map(|rho| {
        seq(
            radius_run(*rho),
            8,
            &[
                "--model",
                &rnn,
                "--recurrent-init",
                &format!("orthogonal:{rho}"),
                "--data",
                &through_time,
                "--optimizer",
                "sgd",
                "--lr",
                CLIFF_LR,
                "--batch-size",
                "64",
                "--steps",
                "1",
            ],
        )
    });
    let adding = format!("adding:{},{}", scale.adding_steps, scale.adding_sequences);
    let adding_epochs = scale.adding_epochs.to_string();
    let adding_run = |name: &str, model: &str| {
        seq(
            name.into(),
            9,
            &[
                "--model",
                model,
                "--data",
                &adding,
                "--optimizer",
                "adam",
                "--lr",
                ADDING_LR,
                "--batch-size",
                "32",
                "--epochs",
                &adding_epochs,
            ],
        )
    };
    let cliff = |name: &str, extra: &[&str]| {
        let mut r = seq(
            name.into(),
            10,
            &[
                "--model",
                &format!("rnn-relu:{width}"),
                "--recurrent-init",
                &format!("orthogonal:{CLIFF_RADIUS}"),
                "--data",
                &through_time,
                "--optimizer",
                "sgd",
                "--lr",
                CLIFF_LR,
                "--batch-size",
                "64",
                "--epochs",
                "1",
            ],
        );
        r.args.extend(strings(extra));
        r
    };
    let mut all = vec![
        run("sigmoid-plain", 1, &sig, BASE_LR, &[]),
        run("relu-he", 2, &relu_he, BASE_LR, &[]),
        run("relu-xavier", 3, &relu_xavier, BASE_LR, &[]),
        run("sigmoid-bn", 4, &sig_bn, BASE_LR, &[]),
        run("sigmoid-bn-lr10x", 4, &sig_bn, HIGH_LR, &[]),
        run("sigmoid-bn-poor-init", 4, &sig_bn_poor, BASE_LR, &[]),
        run("deep-plain", 5, &deep_plain, DEEP_LR, &clip[..2]),
        run("deep-residual", 5, &deep_res, DEEP_LR, &clip[..2]),
        run("deep-residual-zero-init", 5, &deep_res_zero, BASE_LR, &[]),
        run("big-init", 6, &big, BASE_LR, &[]),
        run("big-init-clipped", 6, &big, BASE_LR, &clip),
        lr_run("high-lr", &[]),
        lr_run("high-lr-clipped", &clip),
        run("constant-init", 7, &constant, BASE_LR, &[]),
        run("random-init", 7, &random, BASE_LR, &[]),
    ];
    all.extend(radius_runs);
    all.push(adding_run(ADDING_RNN, &rnn));
    all.push(adding_run(ADDING_LSTM, &format!("lstm:{width}")));
    all.push(cliff(CLIFF, &[]));
    all.push(cliff(CLIFF_CLIPPED, &["--clip-norm", CLIFF_CLIP]));
    all
}

/// The name of claim 8's run at spectral radius `rho`.
pub fn radius_run(rho: f64) -> String {
    format!("rnn-radius-{rho:.1}")
}

/// The folder of the lab's sweep files in the source tree, one per [`Scale`]
/// (`<name>.toml`, [`Scale::name`]), written by `gradwell lab --write-sweep` from
/// [`runs`]; a test fails when one differs from [`sweep_text`].
pub const SWEEP_FILES: &str = "crates/gradwell-cli/lab";

/// How many checkpoints each run of the lab's sweep keeps: its newest, all a stopped run
/// needs to resume (the default 3 would not fit the lab's [`FOLDER_BUDGET`]).
pub const CHECKPOINTS_KEPT: usize = 1;

/// A run's settings as the lab's sweep file writes them: the leaves of its config as
/// dotted paths, without its name, the optimizer in its text form
/// (`sgd:lr=0.005,momentum=0.9`), which replaces the base's optimizer whole.
fn sweep_fields(run: &crate::RunFile) -> Result<Vec<(String, toml::Value)>> {
    let mut run = run.clone();
    run.name = None;
    let table = match toml::Value::try_from(&run) {
        Ok(toml::Value::Table(t)) => t,
        Ok(_) => return Err(CliError::Invalid("a run config is not a table".into())),
        Err(e) => return Err(CliError::Invalid(format!("a lab run's config: {e}"))),
    };
    let mut table = table;
    if let Some(train) = table.get_mut("train").and_then(toml::Value::as_table_mut) {
        train.insert(
            "optimizer".into(),
            toml::Value::String(run.train.optimizer.to_string()),
        );
    }
    let mut out = Vec::new();
    crate::sweep::leaves("", &table, &mut out);
    Ok(out)
}

/// The lab's sweep file at `scale`: [`runs`] listed in order (`[[run]]`, each under its
/// claim), over a `[base]` of the settings every one of them shares; a setting a run
/// config has by default is left out. `gradwell lab` runs this sweep ([`sweep`]),
/// `gradwell lab --write-sweep FILE` writes it, and [`SWEEP_FILES`] ships it.
///
/// # Errors
/// A run whose flags the command line refuses (a bug of [`runs`]).
pub fn sweep_text(scale: &Scale) -> Result<String> {
    let defaults = sweep_fields(&crate::RunFile::default())?;
    let runs = runs(scale);
    let mut fields = Vec::with_capacity(runs.len());
    for r in &runs {
        let mut f = sweep_fields(&r.run_file()?)?;
        f.retain(|leaf| !defaults.contains(leaf));
        fields.push(f);
    }
    let base: Vec<(String, toml::Value)> = fields
        .first()
        .map(|first| {
            first
                .iter()
                .filter(|leaf| fields.iter().all(|f| f.contains(leaf)))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let (flag, scale_text) = if *scale == Scale::QUICK {
        (" --quick", "the quick lab")
    } else {
        ("", "the lab")
    };
    let mut s = format!(
        "# {scale_text}: the runs of `gradwell lab{flag}`, the evidence of its {} claims, as a sweep.\n\
         # `gradwell lab{flag} --out DIR` runs it (here, --jobs N at once, or as a Slurm job array\n\
         # with --slurm) and judges the claims; `gradwell sweep {}.toml --out DIR` runs the same\n\
         # runs, and `gradwell report DIR` judges them.\n\
         #\n\
         # Written by `gradwell lab{flag} --write-sweep {SWEEP_FILES}/{}.toml` from the lab's\n\
         # definition (crates/gradwell-cli/src/lab.rs), which a test keeps equal to this file:\n\
         # change the runs there, not here.\n\
         name = \"{}\"\n\
         # A finished run's checkpoint is removed (its weights stay in model.safetensors):\n\
         # the lab's folder keeps to its size budget.\n\
         remove_finished_checkpoints = true\n\n\
         # The settings every run shares (those a run config has by default left out); no\n\
         # page per run (the lab's report draws them all), and one checkpoint kept per run,\n\
         # all a stopped run needs to resume.\n\
         [base]\n",
        CLAIMS.len(),
        scale.name,
        scale.name,
        scale.name
    );
    for (path, value) in &base {
        let _ = writeln!(s, "{path} = {value}");
    }
    let _ = writeln!(s, "monitor.page = false");
    let _ = writeln!(s, "train.checkpoint.keep = {CHECKPOINTS_KEPT}");
    for (r, f) in runs.iter().zip(&fields) {
        let _ = writeln!(
            s,
            "\n# Claim {}: {}.\n[[run]]\nname = \"{}\"",
            r.claim,
            CLAIMS[r.claim - 1],
            r.name
        );
        for (path, value) in f.iter().filter(|leaf| !base.contains(leaf)) {
            let _ = writeln!(s, "{path} = {value}");
        }
    }
    Ok(s)
}

/// The lab's sweep at `scale` ([`sweep_text`]), expanded: run k is [`runs`]'s k-th, named
/// as it.
///
/// # Errors
/// As [`sweep_text`], or a sweep the sweep's checks refuse (a bug of [`runs`]).
pub fn sweep(scale: &Scale) -> Result<crate::sweep::Sweep> {
    crate::sweep::Sweep::from_text(
        &sweep_text(scale)?,
        Path::new(&format!("{}.toml", scale.name)),
    )
}

/// Runs one lab run in-process, exactly as its command would (its flags are parsed by the
/// same command line); with `out`, writes its folder there.
///
/// # Errors
/// A run that cannot be set up or written (a diverged run is a result, not an error).
pub fn run_one(r: &LabRun, out: Option<&Path>) -> Result<RunSummary> {
    let run = r.run_file()?;
    train_run(
        &run,
        &RunOptions {
            out: out.map(Path::to_path_buf),
            verbose: false,
            resume: false,
            quiet: true,
            page: false,
        },
    )
}

impl Cli {
    /// Parses an argument list (the lab's runs), a parse error as a [`CliError`].
    ///
    /// # Errors
    /// Arguments the command line refuses.
    pub fn try_parse_from_args(argv: &[String]) -> Result<Cli> {
        <Cli as clap::Parser>::try_parse_from(argv).map_err(|e| {
            CliError::Invalid(crate::one_line(
                e.render().to_string().lines().next().unwrap_or(""),
            ))
        })
    }
}

/// A claim's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The evidence meets the criterion.
    Pass,
    /// It does not.
    Fail,
    /// Its runs are missing.
    NotRun,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NotRun => "not run",
        })
    }
}

/// A claim with its evidence and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    /// 1 to 10.
    pub id: usize,
    /// The claim.
    pub claim: String,
    /// The configuration of its runs.
    pub configuration: String,
    /// The criterion, stated in advance.
    pub criterion: String,
    /// The measured evidence.
    pub evidence: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The runs it used.
    pub runs: Vec<String>,
}

/// The claims, in order.
pub const CLAIMS: [&str; 10] = [
    "A deep plain sigmoid network has vanishing gradients and barely learns",
    "The same depth with ReLU and He init keeps gradient norms within a small factor and learns",
    "Xavier under ReLU loses signal with depth as theory predicts (variance halves per layer); He does not",
    "Batch norm lets the deep sigmoid network learn, at a 10x learning rate and from a poor init too",
    "Residual connections let a much deeper network train where the plain one does not",
    "A too-large init or learning rate gives huge or non-finite gradients; clipping (with L2) keeps training finite and learning",
    "A constant initialization never breaks symmetry: hidden units stay identical",
    "A tanh RNN's gradient through time shrinks geometrically when the recurrent matrix's spectral radius is below 1 and grows when it is above",
    "On the adding problem at a length where the plain tanh RNN stays at the trivial baseline, an LSTM solves it",
    "Pascanu's cliff: without clipping a training step from the cliff throws the loss up; with norm clipping it does not",
];

/// The linear layers' figures of a detailed record, in order.
fn linears(r: &StepRecord) -> Vec<&gradwell_monitor::LayerStats> {
    r.layers.iter().filter(|l| l.kind == "Linear").collect()
}

/// (a/b)^(1/n).
fn per_layer(a: f64, b: f64, n: usize) -> f64 {
    (a / b).powf(1.0 / n.max(1) as f64)
}

fn acc(s: &RunSummary) -> f64 {
    s.test_accuracy.unwrap_or(0.0)
}

fn fmt_acc(s: &RunSummary) -> String {
    match (&s.diverged, s.test_accuracy) {
        (Some(_), _) => "diverged".into(),
        (None, Some(a)) => format!("{a:.3}"),
        (None, None) => "-".into(),
    }
}

/// The settings a run's config names (`[model]` and its flags), read back from its TOML.
pub(crate) fn run_model(s: &RunSummary) -> Option<gradwell_nn::MlpSpec> {
    s.run_file().map(|r| r.model)
}

/// σ_w² of a run's hidden square layers (width × width), from its initializer.
pub(crate) fn sigma_w2(s: &RunSummary) -> Option<f64> {
    let m = run_model(s)?;
    let gradwell_nn::MlpWidths::Hidden(hidden) = &m.widths else {
        return None;
    };
    let width = *hidden.first()?;
    weight_sigma2(&m.init?, width, width).ok()
}

/// The per-layer factor of q (the linear outputs' second moment) predicted by the
/// mean-field map for a run with zero biases: `next_q(q, σ_w², 0) / q` of its activation.
fn theory_q_factor(s: &RunSummary) -> Option<f64> {
    let m = run_model(s)?;
    let mf = MeanField::new(m.activation).ok()?;
    let q = 1.0;
    // The map for the layer after an activation: q' = σ_w²·E[φ(√q z)²].
    Some(mf.next_q(q, sigma_w2(s)?, 0.0) / q)
}

/// Measured per-layer factor of q over the square hidden layers (the second linear layer
/// to the last hidden one), and the layers it spans.
fn measured_q_factor(s: &RunSummary) -> Option<(f64, usize)> {
    let init = s.init.as_ref()?;
    let lin = linears(init);
    if lin.len() < 4 {
        return None;
    }
    let first = lin[1].second_moment;
    let last = lin[lin.len() - 2].second_moment;
    let n = lin.len() - 3;
    Some((per_layer(last, first, n), n))
}

/// Judges every claim on the runs present (matched by name), at the scale they were made
/// at ([`Scale::of`]).
pub fn evaluate(runs: &[RunSummary]) -> Vec<ClaimResult> {
    let get = |name: &str| runs.iter().find(|r| r.name == name);
    let learning = Scale::of(runs).learning;
    // The baseline run a relative criterion needs, added to the claim's runs.
    let baseline: &[&str] = match learning {
        Learning::Absolute => &[],
        Learning::AboveBaseline => &[BASELINE],
    };
    let with_baseline = |names: &[&'static str]| -> Vec<&'static str> {
        let mut v = names.to_vec();
        for b in baseline {
            if !v.contains(b) {
                v.push(b);
            }
        }
        v
    };
    // "Learns" (at `fixed` where the scale judges absolutely) in words, and judged.
    let learns_text = |fixed: f64| match learning {
        Learning::Absolute => format!("test accuracy ≥ {fixed}"),
        Learning::AboveBaseline => format!(
            "test accuracy ≥ {BASELINE}'s + {BASELINE_MARGIN} (at this scale's few epochs, learning is judged against the vanishing baseline)"
        ),
    };
    let learns = |s: &RunSummary, fixed: f64| match learning {
        Learning::Absolute => acc(s) >= fixed,
        Learning::AboveBaseline => {
            get(BASELINE).is_some_and(|b| acc(s) >= acc(b) + BASELINE_MARGIN)
        }
    };
    let baseline_evidence = || match (learning, get(BASELINE)) {
        (Learning::AboveBaseline, Some(b)) => format!("; baseline {BASELINE} {}", fmt_acc(b)),
        _ => String::new(),
    };
    let mut out = Vec::new();
    let mut push = |id: usize,
                    configuration: String,
                    criterion: String,
                    names: &[&str],
                    judge: &dyn Fn(&[&RunSummary]) -> (String, bool)| {
        let found: Vec<&RunSummary> = names.iter().filter_map(|n| get(n)).collect();
        let (evidence, verdict) = if found.len() == names.len() {
            let (e, ok) = judge(&found);
            (e, if ok { Verdict::Pass } else { Verdict::Fail })
        } else {
            (
                format!(
                    "missing runs: {}",
                    names
                        .iter()
                        .filter(|n| get(n).is_none())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Verdict::NotRun,
            )
        };
        out.push(ClaimResult {
            id,
            claim: CLAIMS[id - 1].to_string(),
            configuration,
            criterion,
            evidence,
            verdict,
            runs: names.iter().map(|s| s.to_string()).collect(),
        });
    };
    let model_of = |n: &str| get(n).map_or_else(|| n.to_string(), |r| r.model.clone());

    // 1. Vanishing gradients in the deep sigmoid network.
    push(
        1,
        format!("sigmoid-plain: {}, SGD", model_of("sigmoid-plain")),
        format!(
            "at init ‖∇W₁‖/‖∇W_L‖ < {:e}; per-layer factor of ‖∂L/∂h‖ ≤ {SIGMOID_SLACK}·σ_w/4 (sigmoid′ ≤ 1/4); test accuracy < {BARELY_LEARNS}",
            vanishing_ratio()
        ),
        &["sigmoid-plain"],
        &|r| {
            let s = r[0];
            let Some(init) = &s.init else {
                return ("no monitor record".into(), false);
            };
            let ratio = init.first_last_ratio.unwrap_or(f64::NAN);
            let lin = linears(init);
            let g = |l: &gradwell_monitor::LayerStats| l.output_grad_norm.unwrap_or(f64::NAN);
            let factor = per_layer(g(lin[0]), g(lin[lin.len() - 1]), lin.len() - 1);
            let bound = sigma_w2(s).map_or(f64::NAN, |s2| s2.sqrt() / 4.0);
            let ok = ratio < vanishing_ratio()
                && factor <= SIGMOID_SLACK * bound
                && acc(s) < BARELY_LEARNS;
            (
                format!(
                    "‖∇W₁‖/‖∇W_L‖ = {ratio:.2e}; ‖∂L/∂h‖ shrinks by {factor:.3} per layer (bound {bound:.3}); test accuracy {}",
                    fmt_acc(s)
                ),
                ok,
            )
        },
    );

    // 2. ReLU + He keeps gradients within a small factor and learns.
    push(
        2,
        format!("relu-he: {}, SGD", model_of("relu-he")),
        format!(
            "at init 1/{SMALL_FACTOR} ≤ ‖∇W₁‖/‖∇W_L‖ ≤ {SMALL_FACTOR}; {}",
            learns_text(LEARNS)
        ),
        &with_baseline(&["relu-he"]),
        &|r| {
            let s = r[0];
            let ratio = s
                .init
                .as_ref()
                .and_then(|i| i.first_last_ratio)
                .unwrap_or(f64::NAN);
            let ok = (1.0 / SMALL_FACTOR..=SMALL_FACTOR).contains(&ratio) && learns(s, LEARNS);
            (
                format!(
                    "‖∇W₁‖/‖∇W_L‖ = {ratio:.3}; test accuracy {}{}",
                    fmt_acc(s),
                    baseline_evidence()
                ),
                ok,
            )
        },
    );

    // 3. Signal under ReLU: Xavier halves q per layer, He keeps it.
    push(
        3,
        format!(
            "relu-xavier: {}; relu-he: {}",
            model_of("relu-xavier"),
            model_of("relu-he")
        ),
        format!(
            "per-layer factor of q = E[h²] at init within {:.0} % of the mean-field map σ_w²·E[relu(h)²]/q (0.5 for Xavier, 1 for He)",
            100.0 * THEORY_TOLERANCE
        ),
        &["relu-xavier", "relu-he"],
        &|r| {
            let mut ok = true;
            let mut parts = Vec::new();
            for s in r {
                match (measured_q_factor(s), theory_q_factor(s)) {
                    (Some((m, n)), Some(t)) => {
                        ok &= (m / t - 1.0).abs() <= THEORY_TOLERANCE;
                        parts.push(format!(
                            "{}: q × {m:.3} per layer over {n} layers (theory {t:.3}; q ends at {:.1e} times its start)",
                            s.name,
                            m.powi(n as i32)
                        ));
                    }
                    _ => {
                        ok = false;
                        parts.push(format!("{}: no figures", s.name));
                    }
                }
            }
            (parts.join("; "), ok)
        },
    );

    // 4. Batch norm.
    push(
        4,
        format!(
            "sigmoid-bn: {}; the same at lr {HIGH_LR} (10×); the same from N(0, 1) weights",
            model_of("sigmoid-bn")
        ),
        format!(
            "each batch-norm run: {}, where the plain sigmoid network stays < {BARELY_LEARNS}",
            learns_text(LEARNS)
        ),
        &[
            "sigmoid-bn",
            "sigmoid-bn-lr10x",
            "sigmoid-bn-poor-init",
            "sigmoid-plain",
        ],
        &|r| {
            let ok = r[..3].iter().all(|s| learns(s, LEARNS)) && acc(r[3]) < BARELY_LEARNS;
            (
                r.iter()
                    .map(|s| format!("{} {}", s.name, fmt_acc(s)))
                    .collect::<Vec<_>>()
                    .join(", "),
                ok,
            )
        },
    );

    // 5. Residual connections.
    push(
        5,
        format!(
            "deep-plain: {}, lr {DEEP_LR} clipped at 1.0; deep-residual: the same with skip connections; deep-residual-zero-init: the residual network with the last layer of each block at 0, lr {BASE_LR}, unclipped",
            model_of("deep-plain")
        ),
        format!(
            "residual: {}; plain: test accuracy < {BARELY_LEARNS}; zero-init residual, unclipped: global gradient norm at init ≤ {:e} (the monitor's exploding threshold), every step finite, {}",
            learns_text(LEARNS),
            exploding_norm(),
            learns_text(LEARNS)
        ),
        &with_baseline(&["deep-residual", "deep-plain", "deep-residual-zero-init"]),
        &|r| {
            let ratio = |s: &RunSummary| {
                s.init
                    .as_ref()
                    .and_then(|i| i.first_last_ratio)
                    .map_or("-".to_string(), |x| format!("{x:.1e}"))
            };
            let init_norm =
                |s: &RunSummary| s.init.as_ref().map_or(f64::NAN, |i| i.global_grad_norm);
            let zero = r[2];
            let cured = zero.diverged.is_none()
                && zero.max_grad_norm.is_finite()
                && init_norm(zero) <= exploding_norm()
                && learns(zero, LEARNS);
            let ok = learns(r[0], LEARNS) && acc(r[1]) < BARELY_LEARNS && cured;
            (
                format!(
                    "residual {} (‖∇W₁‖/‖∇W_L‖ {}), plain {} (‖∇W₁‖/‖∇W_L‖ {}); \
                     but the residual network's global gradient norm at init is {:.1e} (max {:.1e}), \
                     above the exploding threshold {:e}: without normalization each block adds its branch's \
                     variance to the signal's, which grows block after block, and the gradient with it; it trains only because its steps are clipped; \
                     the cure, zero-init residual unclipped: gradient norm at init {:.2e}, max {:.2e}, {}{}",
                    fmt_acc(r[0]),
                    ratio(r[0]),
                    fmt_acc(r[1]),
                    ratio(r[1]),
                    init_norm(r[0]),
                    r[0].max_grad_norm,
                    exploding_norm(),
                    init_norm(zero),
                    zero.max_grad_norm,
                    match &zero.diverged {
                        Some(_) => "diverged".to_string(),
                        None => format!("test accuracy {}", fmt_acc(zero)),
                    },
                    baseline_evidence()
                ),
                ok,
            )
        },
    );

    // 6. Exploding gradients and clipping.
    push(
        6,
        format!(
            "big-init: {} (σ_w² = 3, 1.5× He); high-lr: relu-he at lr {HIGH_LR} (10×) for {} epochs; each again with --clip-norm 1.0 --weight-decay 1e-4",
            model_of("big-init"),
            get("high-lr").map_or_else(|| "-".into(), |r| r.epochs.len().to_string())
        ),
        format!(
            "unclipped: global gradient norm > {:e} or non-finite; clipped: every step finite and {}",
            exploding_norm(),
            learns_text(STILL_LEARNING)
        ),
        &with_baseline(&["big-init", "high-lr", "big-init-clipped", "high-lr-clipped"]),
        &|r| {
            let exploded = |s: &RunSummary| {
                s.diverged.is_some()
                    || !s.max_grad_norm.is_finite()
                    || s.max_grad_norm > exploding_norm()
            };
            let tamed = |s: &RunSummary| {
                s.diverged.is_none() && s.max_grad_norm.is_finite() && learns(s, STILL_LEARNING)
            };
            let ok = exploded(r[0]) && exploded(r[1]) && tamed(r[2]) && tamed(r[3]);
            (
                r[..4]
                    .iter()
                    .map(|s| {
                        format!(
                            "{}: max ‖∇‖ {}, {}",
                            s.name,
                            if s.max_grad_norm.is_finite() {
                                format!("{:.2e}", s.max_grad_norm)
                            } else {
                                "non-finite".into()
                            },
                            match &s.diverged {
                                Some(_) => format!("diverged at step {}", s.steps + 1),
                                None => format!("test accuracy {}", fmt_acc(s)),
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
                    + &baseline_evidence(),
                ok,
            )
        },
    );

    // 7. Symmetry.
    push(
        7,
        format!(
            "constant-init: {}; random-init: the same with He init",
            model_of("constant-init")
        ),
        format!(
            "after training, hidden units of the constant init differ by ≤ {IDENTICAL:e} (relative), those of the random init by ≥ {DISTINCT:e}"
        ),
        &["constant-init", "random-init"],
        &|r| {
            let ok = r[0].unit_spread <= IDENTICAL && r[1].unit_spread >= DISTINCT;
            (
                format!(
                    "spread between hidden units: constant {:.1e} (test accuracy {}), random {:.2} (test accuracy {})",
                    r[0].unit_spread,
                    fmt_acc(r[0]),
                    r[1].unit_spread,
                    fmt_acc(r[1])
                ),
                ok,
            )
        },
    );
    // 8. The gradient through time against the recurrent matrix's spectral radius.
    let radius_names: Vec<String> = RADII.iter().map(|r| radius_run(*r)).collect();
    let radius_refs: Vec<&str> = radius_names.iter().map(String::as_str).collect();
    push(
        8,
        format!(
            "{}: {}, recurrent weights orthogonal × ρ for ρ in {}, adding:{THROUGH_TIME_STEPS}; the monitor's ‖∂L/∂h_t‖ at step 1",
            radius_names.join(", "),
            model_of(&radius_names[0]),
            RADII.map(|r| r.to_string()).join(", ")
        ),
        format!(
            "least-squares fit of ln ‖∂L/∂h_t‖ against the lag T − t: R² ≥ {GEOMETRIC_FIT}; the fitted factor per step < 1 where ρ < 1 and > 1 where ρ > 1, within {:.0} % of the mean-field factor √(ρ²·E[tanh′(√q* z)²])",
            100.0 * THEORY_TOLERANCE
        ),
        &radius_refs,
        &|r| {
            let mut ok = true;
            let parts = r
                .iter()
                .map(|s| match through_time_evidence(s) {
                    Some(e) => {
                        let side = if e.radius < 1.0 {
                            e.fit.per_step < 1.0
                        } else {
                            e.fit.per_step > 1.0
                        };
                        ok &= side
                            && e.fit.r_squared >= GEOMETRIC_FIT
                            && (e.fit.per_step / e.theory - 1.0).abs() <= THEORY_TOLERANCE;
                        format!(
                            "ρ = {:.2}: × {:.3} per step back (R² {:.3}; theory {:.3}), ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = {:.1e}",
                            e.radius, e.fit.per_step, e.fit.r_squared, e.theory, e.ratio
                        )
                    }
                    None => {
                        ok = false;
                        format!("{}: no through-time record", s.name)
                    }
                })
                .collect::<Vec<_>>();
            (parts.join("; "), ok)
        },
    );
    // 9. The LSTM solves the adding problem where the plain tanh RNN stays at the baseline.
    push(
        9,
        format!(
            "{ADDING_RNN}: {}; {ADDING_LSTM}: {}; Adam, lr {ADDING_LR}",
            model_of(ADDING_RNN),
            model_of(ADDING_LSTM)
        ),
        format!(
            "test MSE of the plain RNN ≥ {AT_BASELINE} × {ADDING_BASELINE_MSE:.4} (the trivial answer's); of the LSTM < {SOLVED_MSE}"
        ),
        &[ADDING_RNN, ADDING_LSTM],
        &|r| {
            let mse = |s: &RunSummary| s.test_loss.unwrap_or(f64::NAN);
            let ok = mse(r[0]) >= AT_BASELINE * ADDING_BASELINE_MSE && mse(r[1]) < SOLVED_MSE;
            (
                format!(
                    "test MSE after {} epochs: RNN {:.4}, LSTM {:.4} (baseline {ADDING_BASELINE_MSE:.4})",
                    r[1].epochs.len(),
                    mse(r[0]),
                    mse(r[1])
                ),
                ok,
            )
        },
    );
    // 10. Pascanu's cliff, unclipped and clipped.
    push(
        10,
        format!(
            "{CLIFF}: {}, recurrent weights orthogonal × {CLIFF_RADIUS}, SGD lr {CLIFF_LR}; {CLIFF_CLIPPED}: the same with --clip-norm {CLIFF_CLIP}",
            model_of(CLIFF)
        ),
        format!(
            "unclipped: a step whose gradient norm is ≥ {CLIFF_NORM} × the clipping threshold {CLIFF_CLIP} (a step clipping would shorten {CLIFF_NORM}-fold) raises the next step's loss ≥ {CLIFF_JUMP} ×; clipped: every loss finite and no step raises the next one's {CLIFF_JUMP} × or more"
        ),
        &[CLIFF, CLIFF_CLIPPED],
        &|r| {
            let clip: f64 = CLIFF_CLIP.parse().unwrap_or(f64::NAN);
            let (a, b) = (Cliff::of(r[0]), Cliff::of(r[1]));
            let thrown = a
                .as_ref()
                .is_some_and(|c| c.jump >= CLIFF_JUMP && c.norm >= CLIFF_NORM * clip);
            let kept = r[1].diverged.is_none()
                && r[1].losses.iter().all(|(_, l)| l.is_finite())
                && b.as_ref().is_some_and(|c| c.jump < CLIFF_JUMP);
            let describe = |s: &RunSummary, c: &Option<Cliff>| match c {
                Some(c) => format!(
                    "{}: largest rise of the loss from one step to the next at step {}, {:.3} → {:.3e} (× {:.3e}), gradient norm there {:.3e}; {}",
                    s.name,
                    c.step,
                    c.before,
                    c.after,
                    c.jump,
                    c.norm,
                    match &s.diverged {
                        Some(_) => format!("diverged after {} steps", s.steps),
                        None => format!(
                            "{} steps, test MSE {:.4}",
                            s.steps,
                            s.test_loss.unwrap_or(f64::NAN)
                        ),
                    }
                ),
                None => format!("{}: too few steps", s.name),
            };
            (
                format!("{}; {}", describe(r[0], &a), describe(r[1], &b)),
                thrown && kept,
            )
        },
    );
    out
}

/// What claim 10 reads from a run's steps: the step whose update raised the loss most.
struct Cliff {
    /// The step (its loss is measured before its update).
    step: u64,
    /// Its loss.
    before: f64,
    /// The next step's loss, after the update.
    after: f64,
    /// `after / before`.
    jump: f64,
    /// The step's gradient norm (before clipping).
    norm: f64,
}

impl Cliff {
    fn of(s: &RunSummary) -> Option<Cliff> {
        let (step, before, after) = s
            .losses
            .windows(2)
            .map(|w| (w[0].0, w[0].1, w[1].1))
            .max_by(|a, b| (a.2 / a.1).total_cmp(&(b.2 / b.1)))?;
        let norm = s
            .grad_norms
            .iter()
            .find(|(t, _)| *t == step as f64)
            .map_or(f64::NAN, |(_, g)| *g);
        Some(Cliff {
            step,
            before,
            after,
            jump: after / before,
            norm,
        })
    }
}

/// The mean-field factor per step of lag of ‖∂L/∂h_t‖ in a tanh RNN of `hidden` units at
/// PyTorch's default init but for recurrent weights of spectral radius `rho` (orthogonal
/// times `rho`, so every singular value is `rho` too), on the adding problem of length
/// `steps`: √χ = √(ρ²·E[tanh′(√q* z)²]) at the fixed point q* of the pre-activation
/// variance, q* = ρ²·E[tanh(√q* z)²] + σ_b². σ_b² is what the step's input adds: the two
/// biases and W_ih·x, every entry U(±1/√H) of variance u = 1/(3H), so σ_b² = u·(2 + 1/3 +
/// 2/T) (the value channel has E\[x²\] = 1/3, the marker is 1 at two of the T steps).
/// `None` if the theory cannot be evaluated.
pub fn through_time_factor(rho: f64, hidden: usize, steps: usize) -> Option<f64> {
    let tanh: gradwell_activations::ActivationKind = "tanh".parse().ok()?;
    let mf = MeanField::new(tanh).ok()?;
    let u = gradwell_monitor::bias_sigma2(None, hidden, hidden).ok()?;
    let drive = u * (2.0 + 1.0 / 3.0 + 2.0 / steps.max(1) as f64);
    let s2 = rho * rho;
    // From h_0 = 0; the map contracts to its stable fixed point in a few hundred steps
    // even near ρ = 1.
    let mut q = drive;
    for _ in 0..2000 {
        q = mf.next_q(q, s2, drive);
    }
    Some(mf.chi(q, s2).sqrt())
}

/// What claim 8 reads from a run's record of step 1.
struct ThroughTime {
    /// The recurrent matrix's measured spectral radius.
    radius: f64,
    /// The fit of ln ‖∂L/∂h_t‖ against the lag.
    fit: gradwell_monitor::LagFit,
    /// The mean-field factor per step ([`through_time_factor`]).
    theory: f64,
    /// ‖∂L/∂h_1‖/‖∂L/∂h_T‖.
    ratio: f64,
}

fn through_time_evidence(s: &RunSummary) -> Option<ThroughTime> {
    let init = s.init.as_ref()?;
    let g = init.through_time.first()?;
    let radius = init.recurrent_radius.first()?.radius?;
    let hidden = run_model(s)?.recurrent?.output_width();
    Some(ThroughTime {
        radius,
        fit: g.lag_fit()?,
        theory: through_time_factor(radius, hidden, g.norms.len())?,
        ratio: g.ratio()?,
    })
}

/// The comparison table: claim, configuration, evidence, verdict.
pub fn table(results: &[ClaimResult]) -> String {
    let mut s = String::new();
    for r in results {
        let _ = writeln!(s, "{}. {} — {}", r.id, r.claim, r.verdict);
        let _ = writeln!(s, "   configuration: {}", r.configuration);
        let _ = writeln!(s, "   criterion:     {}", r.criterion);
        let _ = writeln!(s, "   evidence:      {}", r.evidence);
    }
    let pass = results
        .iter()
        .filter(|r| r.verdict == Verdict::Pass)
        .count();
    let _ = writeln!(s, "{pass} of {} claims pass", results.len());
    s
}
