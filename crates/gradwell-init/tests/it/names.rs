use gradwell_init::{
    Constant, Distribution, Eye, FanMode, HeNormal, HeUniform, INIT_NAMES, Init, InitError,
    KerasHeNormal, Layout, LecunNormal, LecunUniform, Nonlinearity, Normal, Ones, Orthogonal,
    PytorchDefault, PytorchDefaultBias, Sparse, TruncatedNormal, Uniform, VarianceScaling,
    XavierNormal, XavierUniform, Zeros,
};
use proptest::prelude::*;

fn check(s: &str, want: Init) {
    assert_eq!(s.parse::<Init>(), Ok(want), "{s}");
}

#[test]
fn names_parse_to_their_initializers() {
    check("zeros", Init::Zeros(Zeros));
    check("constant:0.5", Init::Constant(Constant { value: 0.5 }));
    check(
        "uniform:-0.1,0.1",
        Init::Uniform(Uniform {
            low: -0.1,
            high: 0.1,
        }),
    );
    check(
        "normal",
        Init::Normal(Normal {
            mean: 0.0,
            std: 1.0,
        }),
    );
    check(
        "trunc-normal:0,0.02,-0.04,0.04",
        Init::TruncatedNormal(TruncatedNormal {
            mean: 0.0,
            std: 0.02,
            a: -0.04,
            b: 0.04,
        }),
    );
    check(
        "xavier-uniform",
        Init::XavierUniform(XavierUniform { gain: 1.0 }),
    );
    check(
        "xavier-normal:1.6666",
        Init::XavierNormal(XavierNormal { gain: 1.6666 }),
    );
    check("he-normal", Init::HE_NORMAL);
    check("Kaiming_Normal", Init::HE_NORMAL);
    check(
        "he-uniform:fan-out,leaky-relu",
        Init::HeUniform(HeUniform {
            nonlinearity: Nonlinearity::LeakyRelu(0.01),
            mode: FanMode::FanOut,
        }),
    );
    check("lecun-normal", Init::LecunNormal(LecunNormal));
    check("keras-he-normal", Init::KerasHeNormal(KerasHeNormal));
    check("pytorch-default", Init::PytorchDefault(PytorchDefault));
    check(
        "variance-scaling:2,fan-in,truncated-normal,keras",
        Init::VarianceScaling(
            VarianceScaling::new(2.0, FanMode::FanIn, Distribution::TruncatedNormal)
                .with_layout(Layout::Keras),
        ),
    );
    check("orthogonal", Init::Orthogonal(Orthogonal { gain: 1.0 }));
    check("eye", Init::Eye(Eye));
    check("sparse:0.1", Init::Sparse(Sparse::new(0.1)));
    check(
        "Sparse:0.2,0.5",
        Init::Sparse(Sparse {
            sparsity: 0.2,
            std: 0.5,
        }),
    );
    check(
        "pytorch-default-bias",
        Init::PytorchDefaultBias(PytorchDefaultBias { fan_in: None }),
    );
    check("pytorch_default_bias:12", Init::pytorch_default_bias(12));
}

#[test]
fn sparse_and_the_default_bias_refuse_bad_parameters() {
    for (spec, says) in [
        ("sparse", "SPARSITY"),
        ("sparse:1.5", "sparsity = 1.5"),
        ("sparse:-0.1", "sparsity = -0.1"),
        ("sparse:0.1,-1", "std = -1"),
        ("sparse:0.1,0.01,3", "got 3 parameters"),
        ("pytorch-default-bias:-3", "not a fan-in"),
        ("pytorch-default-bias:2.5", "not a fan-in"),
    ] {
        let e = spec.parse::<Init>().unwrap_err().to_string();
        assert!(e.contains(says), "{spec}: {e}");
    }
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let e = "glorot".parse::<Init>().unwrap_err();
    assert!(matches!(e, InitError::UnknownName { .. }));
    let msg = e.to_string();
    for name in INIT_NAMES {
        assert!(msg.contains(name), "{msg} lacks {name}");
    }
}

#[test]
fn bad_parameters_say_what_was_expected() {
    for (s, says) in [
        ("constant", "1 comma-separated"),
        ("constant:x", "not a number"),
        ("uniform:1", "2 comma-separated"),
        ("zeros:1", "takes no parameters"),
        ("he-normal:swish", "nonlinearity"),
        ("variance-scaling:2,fan-sideways,normal", "fan mode"),
    ] {
        let e = s.parse::<Init>().unwrap_err();
        assert!(matches!(e, InitError::BadSpec { .. }), "{s}: {e}");
        assert!(e.to_string().contains(says), "{s}: {e}");
    }
}

/// Parsing validates: an initializer that parses can fill, and a bad value is refused at
/// once, naming the parameter and the value.
#[test]
fn invalid_parameters_are_refused_when_parsed() {
    for (s, parameter) in [
        ("uniform:1,0", "high"),
        ("uniform:nan,1", "low"),
        ("normal:0,-1", "std"),
        ("trunc-normal:0,1,1,1", "b"),
        ("trunc-normal:0,0,-1,1", "std"),
        ("variance-scaling:-2,fan-in,normal", "scale"),
        ("xavier-uniform:inf", "gain"),
        ("orthogonal:nan", "gain"),
    ] {
        match s.parse::<Init>() {
            Err(e @ InitError::BadParameter { parameter: p, .. }) => {
                assert_eq!(p, parameter, "{s}: {e}");
                assert!(e.to_string().contains(parameter), "{s}: {e}");
            }
            other => panic!("{s}: expected a bad {parameter}, got {other:?}"),
        }
    }
}

/// The string is the one serde form: a tagged object, the old form of `MlpSpec`, is
/// refused.
#[test]
fn serde_reads_and_writes_the_string() {
    let init: Init = serde_json::from_str(r#""he-uniform:fan-out,tanh""#).unwrap();
    assert_eq!(
        serde_json::to_string(&init).unwrap(),
        r#""he-uniform:fan-out,tanh""#
    );
    let e = serde_json::from_str::<Init>(r#""uniform:1,0""#).unwrap_err();
    assert!(e.to_string().contains("high"), "{e}");
    assert!(serde_json::from_str::<Init>(r#"{"init":"xavier-uniform","gain":1.0}"#).is_err());
}

fn finite() -> impl Strategy<Value = f64> {
    -1e3_f64..1e3
}

fn positive() -> impl Strategy<Value = f64> {
    1e-3_f64..1e3
}

/// Two finite numbers, the first at most the second.
fn ordered() -> impl Strategy<Value = (f64, f64)> {
    (finite(), finite()).prop_map(|(x, y)| (x.min(y), x.max(y)))
}

fn nonlinearity() -> impl Strategy<Value = Nonlinearity> {
    prop_oneof![
        Just(Nonlinearity::Linear),
        Just(Nonlinearity::Sigmoid),
        Just(Nonlinearity::Tanh),
        Just(Nonlinearity::Relu),
        Just(Nonlinearity::Selu),
        (0.0_f64..10.0).prop_map(Nonlinearity::LeakyRelu),
    ]
}

fn mode() -> impl Strategy<Value = FanMode> {
    prop_oneof![
        Just(FanMode::FanIn),
        Just(FanMode::FanOut),
        Just(FanMode::FanAvg)
    ]
}

fn init() -> impl Strategy<Value = Init> {
    let kaiming_mode = prop_oneof![Just(FanMode::FanIn), Just(FanMode::FanOut)];
    let dist = prop_oneof![
        Just(Distribution::Normal),
        Just(Distribution::TruncatedNormal),
        Just(Distribution::Uniform)
    ];
    let layout = prop_oneof![Just(Layout::PyTorch), Just(Layout::Keras)];
    prop_oneof![
        Just(Init::Zeros(Zeros)),
        Just(Init::Ones(Ones)),
        finite().prop_map(|value| Init::Constant(Constant { value })),
        ordered().prop_map(|(low, high)| Init::Uniform(Uniform { low, high })),
        (finite(), positive()).prop_map(|(mean, std)| Init::Normal(Normal { mean, std })),
        (finite(), positive(), ordered(), positive()).prop_map(|(mean, std, (a, b), gap)| {
            Init::TruncatedNormal(TruncatedNormal {
                mean,
                std,
                a,
                b: b + gap,
            })
        }),
        finite().prop_map(|gain| Init::XavierNormal(XavierNormal { gain })),
        finite().prop_map(|gain| Init::XavierUniform(XavierUniform { gain })),
        (nonlinearity(), kaiming_mode.clone())
            .prop_map(|(nonlinearity, mode)| Init::HeNormal(HeNormal { nonlinearity, mode })),
        (nonlinearity(), kaiming_mode)
            .prop_map(|(nonlinearity, mode)| Init::HeUniform(HeUniform { nonlinearity, mode })),
        Just(Init::LecunNormal(LecunNormal)),
        Just(Init::LecunUniform(LecunUniform)),
        Just(Init::KerasHeNormal(KerasHeNormal)),
        Just(Init::PytorchDefault(PytorchDefault)),
        (positive(), mode(), dist, layout).prop_map(|(scale, mode, distribution, layout)| {
            Init::VarianceScaling(VarianceScaling {
                scale,
                mode,
                distribution,
                layout,
            })
        }),
        finite().prop_map(|gain| Init::Orthogonal(Orthogonal { gain })),
        Just(Init::Eye(Eye)),
    ]
}

proptest! {
    #![proptest_config(crate::config(512))]

    #[test]
    fn display_parses_back_to_the_same_initializer(init in init()) {
        let s = init.to_string();
        prop_assert_eq!(s.parse::<Init>(), Ok(init), "{}", s);
    }

    #[test]
    fn json_round_trips(init in init()) {
        let json = serde_json::to_string(&init).unwrap();
        prop_assert_eq!(serde_json::from_str::<Init>(&json).unwrap(), init, "{}", json);
    }
}

/// Every registered initializer, from the registry: its string and its JSON read back to
/// it, and its law is declared for a matrix or it has none.
#[test]
fn every_registered_initializer_round_trips() {
    use gradwell_init::InitInfo;
    for init in Init::examples() {
        assert_eq!(init.to_string().parse::<Init>(), Ok(init));
        let json = serde_json::to_string(&init).unwrap();
        assert_eq!(json, format!("{:?}", init.to_string()));
        assert_eq!(serde_json::from_str::<Init>(&json).unwrap(), init, "{json}");
        assert!(init.law(&[4, 6]).is_ok(), "{init}");
    }
}
