//! Configs: defaults, TOML round trips, and bad values refused with the field's name.

use gradwell_data::LastBatch;
use gradwell_optim::{
    AdamConfig, AdamWConfig, CosineAnnealingLr, GradClip, LinearLr, NormType, OptimizerKind,
    PlateauConfig, ScheduleKind, ScheduleSpec, ScheduleUnit, SequentialLr, SgdConfig,
};
use gradwell_train::{Preprocess, ProgressMode, TrainConfig, TrainError};

/// Parses `toml` and expects an error mentioning every string of `names`.
fn refused(toml: &str, names: &[&str]) {
    let err = TrainConfig::from_toml_str(toml, "test.toml").unwrap_err();
    let text = err.to_string();
    for n in names {
        assert!(
            text.contains(n),
            "error for {toml:?} does not name {n}: {text}"
        );
    }
}

#[test]
fn an_empty_file_is_the_default_config() {
    let config = TrainConfig::from_toml_str("", "empty.toml").unwrap();
    assert_eq!(config, TrainConfig::default());
}

#[test]
fn a_full_config_round_trips_through_toml_and_json() {
    let config = TrainConfig {
        epochs: 7,
        steps: Some(123),
        seed: 3,
        optimizer: OptimizerKind::AdamW(AdamConfig::adamw().lr(2e-3).into()),
        no_decay_on_bias_and_norm: true,
        schedule: ScheduleSpec {
            kind: ScheduleKind::Sequential(SequentialLr {
                parts: vec![
                    LinearLr {
                        start_factor: 0.1,
                        end_factor: 1.0,
                        total_iters: 2,
                    }
                    .into(),
                    CosineAnnealingLr {
                        t_max: Some(5),
                        eta_min: 0.0,
                    }
                    .into(),
                ],
                milestones: vec![2],
            }),
            per: ScheduleUnit::Epoch,
        },
        clip: Some(GradClip::norm(1.0, NormType::L2).unwrap()),
        label_smoothing: 0.1,
        validation_fraction: 0.1,
        ..TrainConfig::default()
    };
    let toml = config.to_toml().unwrap();
    assert_eq!(
        TrainConfig::from_toml_str(&toml, "round trip").unwrap(),
        config,
        "{toml}"
    );
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), config);
}

#[test]
fn optimizer_fields_left_out_take_the_optimizer_defaults() {
    let c = TrainConfig::from_toml_str("[optimizer]\nkind = \"adamw\"\nlr = 0.01", "t").unwrap();
    let OptimizerKind::AdamW(adam) = c.optimizer else {
        panic!("not AdamW: {:?}", c.optimizer)
    };
    assert_eq!(adam, AdamWConfig::from(AdamConfig::adamw().lr(0.01)));
    let c =
        TrainConfig::from_toml_str("[schedule]\nkind = \"plateau\"\npatience = 2", "t").unwrap();
    assert_eq!(
        c.schedule,
        ScheduleKind::Plateau(PlateauConfig::default().patience(2)).into()
    );
}

/// A name alone is the optimizer or schedule with its defaults, and the text form with
/// settings is the same as the table: one spelling for flags and files.
#[test]
fn optimizer_and_schedule_may_be_written_as_names() {
    let short = TrainConfig::from_toml_str(
        "optimizer = \"sgd:lr=0.1,momentum=0.9\"\nschedule = \"cosine:0.01,per=step\"",
        "short.toml",
    )
    .unwrap();
    let long = TrainConfig::from_toml_str(
        "[optimizer]\nkind = \"sgd\"\nlr = 0.1\nmomentum = 0.9\n\
         [schedule]\nkind = \"cosine\"\neta_min = 0.01\nper = \"step\"",
        "long.toml",
    )
    .unwrap();
    assert_eq!(short, long);
    assert_eq!(
        short.optimizer,
        OptimizerKind::Sgd(SgdConfig::default().lr(0.1).momentum(0.9))
    );
    assert_eq!(
        short.schedule,
        ScheduleSpec {
            kind: CosineAnnealingLr {
                t_max: None,
                eta_min: 0.01
            }
            .into(),
            per: ScheduleUnit::Step,
        }
    );
    let plain =
        TrainConfig::from_toml_str("optimizer = \"adamw\"\nschedule = \"constant\"", "t").unwrap();
    assert_eq!(
        plain.optimizer,
        OptimizerKind::AdamW(AdamWConfig::default())
    );
    assert_eq!(plain.schedule, ScheduleSpec::default());
    // The older long form of a closed-form schedule reads as the same schedule.
    let curve = TrainConfig::from_toml_str(
        "[schedule]\nkind = \"curve\"\nper = \"step\"\n\
         curve = { kind = \"cosine_annealing\", eta_min = 0.01 }",
        "curve.toml",
    )
    .unwrap();
    assert_eq!(curve.schedule, short.schedule);
    // And each writes back as a table that reads back the same.
    let toml = short.to_toml().unwrap();
    assert_eq!(
        TrainConfig::from_toml_str(&toml, "again").unwrap(),
        short,
        "{toml}"
    );
}

#[test]
fn bad_values_are_refused_naming_the_field() {
    refused("epochs = 0", &["`epochs`"]);
    refused("steps = 0", &["`steps`"]);
    refused("steps = -3", &["steps"]);
    refused("batch_size = 0", &["`batch_size`"]);
    refused("eval_batch_size = 0", &["`eval_batch_size`"]);
    refused("label_smoothing = 1.5", &["`label_smoothing`", "1.5"]);
    refused("label_smoothing = -0.1", &["`label_smoothing`"]);
    refused("validation_fraction = 1.0", &["`validation_fraction`"]);
    refused("[checkpoint]\nkeep = 0", &["`checkpoint.keep`"]);
    refused(
        "[checkpoint]\nevery_steps = 0\ndir = \"x\"",
        &["`checkpoint.every_steps`"],
    );
    refused(
        "[checkpoint]\nevery_steps = 10",
        &["`checkpoint.every_steps`", "checkpoint.dir"],
    );
    refused(
        "[optimizer]\nkind = \"sgd\"\nmomentum = 1.0",
        &["`optimizer.momentum`", "[0, 1)"],
    );
    refused("[optimizer]\nkind = \"sgd\"\nlr = -1", &["`optimizer.lr`"]);
    refused(
        "[optimizer]\nkind = \"adam\"\nbeta2 = 1.0",
        &["`optimizer.beta2`"],
    );
    refused(
        "[optimizer]\nkind = \"rmsprop\"\neps = 0",
        &["`optimizer.eps`"],
    );
    refused(
        "[schedule]\nkind = \"plateau\"\nfactor = 2.0",
        &["`schedule.factor`"],
    );
}

#[test]
fn malformed_files_are_refused_naming_the_field() {
    refused("epocs = 3", &["epocs", "test.toml"]);
    refused("epochs = \"three\"", &["epochs"]);
    refused(
        "[optimizer]\nkind = \"sgd\"\nmomentun = 0.9",
        &["optimizer.momentun"],
    );
    refused(
        "[optimizer]\nkind = \"sdg\"",
        &["sdg", "optimizer.kind", "sgd"],
    );
    refused("optimizer = \"sdg\"", &["sdg", "optimizer.kind", "sgd"]);
    refused(
        "optimizer = \"adam:momentum=0.9\"",
        &["optimizer.momentum", "not a setting of adam", "sgd"],
    );
    refused(
        "schedule = \"step\"",
        &["schedule.step_size", "step:step_size"],
    );
    refused("schedule = \"plateau:per=step\"", &["schedule.per"]);
    refused("[optimizer]\nlr = 0.1", &["optimizer.kind"]);
    refused("[schedule]\nkind = \"warp\"", &["warp", "schedule.kind"]);
    refused("[schedule]\nkind = \"curve\"", &["schedule.curve"]);
    refused(
        "[schedule]\nkind = \"curve\"\ncurve = { kind = \"step\", step_size = 0, gamma = 0.5 }",
        &["step_size"],
    );
    refused(
        "[clip]\nkind = \"value\"\nclip_value = -1.0",
        &["clip_value"],
    );
    refused("preprocess = \"whiten\"", &["whiten", "preprocess"]);
}

#[test]
fn a_config_error_is_a_config_variant() {
    let err = TrainConfig {
        epochs: 0,
        ..TrainConfig::default()
    }
    .validate()
    .unwrap_err();
    assert!(
        matches!(err, TrainError::Config { ref field, .. } if field == "epochs"),
        "{err}"
    );
}

/// Each choice is written one way, kebab-case, in text and in the config file; the
/// spellings of files written before (`unit_range`, `"Keep"`) still read.
#[test]
fn choices_are_written_one_way_in_text_and_files() {
    fn check<T>(all: &[T], field: &str, set: impl Fn(T) -> TrainConfig)
    where
        T: Copy + std::fmt::Display + std::str::FromStr + PartialEq + std::fmt::Debug,
        T::Err: std::fmt::Debug,
    {
        for &c in all {
            let name = c.to_string();
            assert_eq!(name, name.to_ascii_lowercase().replace('_', "-"));
            assert_eq!(name.parse::<T>().unwrap(), c);
            let config = set(c);
            let toml = config.to_toml().unwrap();
            assert!(toml.contains(&format!("{field} = \"{name}\"")), "{toml}");
            let text = format!("{field} = \"{name}\"");
            assert_eq!(TrainConfig::from_toml_str(&text, "t").unwrap(), config);
        }
    }
    let with = |f: &dyn Fn(&mut TrainConfig)| {
        let mut c = TrainConfig::default();
        f(&mut c);
        c
    };
    check(Preprocess::ALL, "preprocess", |p| {
        with(&|c| c.preprocess = p)
    });
    check(ProgressMode::ALL, "progress", |p| with(&|c| c.progress = p));
    check(&LastBatch::ALL, "last_batch", |l| {
        with(&|c| c.last_batch = l)
    });
    for u in &ScheduleUnit::ALL {
        assert_eq!(u.to_string().parse::<ScheduleUnit>().unwrap(), *u);
        assert_eq!(serde_json::to_string(u).unwrap(), format!("\"{u}\""));
    }
    let old = TrainConfig::from_toml_str(
        "preprocess = \"standardize_global\"\nlast_batch = \"Drop\"",
        "old.toml",
    )
    .unwrap();
    assert_eq!(old.preprocess, Preprocess::StandardizeGlobal);
    assert_eq!(old.last_batch, LastBatch::Drop);
    refused(
        "last_batch = \"skip\"",
        &["skip", "last_batch", "keep, drop"],
    );
    let err = "whiten".parse::<Preprocess>().unwrap_err().to_string();
    assert_eq!(
        err,
        "unknown preprocess `whiten`; valid: unit-range, standardize, standardize-global, none"
    );
}

/// The step budget bounds the run's length with the epochs, whichever comes first, and a
/// schedule over the run spans it: per step its steps, per epoch the epochs it enters.
#[test]
fn a_step_budget_sets_the_run_length_and_the_schedule_span() {
    let config = TrainConfig::from_toml_str("epochs = 4\nsteps = 25", "budget.toml").unwrap();
    assert_eq!(config.steps, Some(25));
    // 10 batches per epoch: 40 steps by epochs, 25 by the budget.
    assert_eq!(config.total_steps(10), 25);
    assert_eq!(config.total_epochs(10), 3);
    let per_step = TrainConfig {
        schedule: "cosine:per=step".parse().unwrap(),
        ..config.clone()
    };
    assert_eq!(per_step.schedule_run(10), 25);
    assert_eq!(config.schedule_run(10), 3);
    // The epochs come first.
    assert_eq!(
        TrainConfig {
            steps: Some(400),
            ..per_step.clone()
        }
        .schedule_run(10),
        40
    );
    assert_eq!(
        TrainConfig {
            steps: None,
            ..per_step
        }
        .schedule_run(10),
        40
    );
    // Left out of a file when unset.
    assert!(!TrainConfig::default().to_toml().unwrap().contains("steps"));
}
