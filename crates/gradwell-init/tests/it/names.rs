use gradwell_init::{
    Distribution, FanMode, INIT_NAMES, Init, InitError, Layout, Nonlinearity, VarianceScaling,
};
use proptest::prelude::*;

fn check(s: &str, want: Init) {
    assert_eq!(s.parse::<Init>(), Ok(want), "{s}");
}

#[test]
fn names_parse_to_their_initializers() {
    check("zeros", Init::Zeros);
    check("constant:0.5", Init::Constant { value: 0.5 });
    check(
        "uniform:-0.1,0.1",
        Init::Uniform {
            low: -0.1,
            high: 0.1,
        },
    );
    check(
        "normal",
        Init::Normal {
            mean: 0.0,
            std: 1.0,
        },
    );
    check(
        "trunc-normal:0,0.02,-0.04,0.04",
        Init::TruncNormal {
            mean: 0.0,
            std: 0.02,
            a: -0.04,
            b: 0.04,
        },
    );
    check("xavier-uniform", Init::XavierUniform { gain: 1.0 });
    check("xavier-normal:1.6666", Init::XavierNormal { gain: 1.6666 });
    check("he-normal", Init::HE_NORMAL);
    check("Kaiming_Normal", Init::HE_NORMAL);
    check(
        "he-uniform:fan-out,leaky-relu",
        Init::HeUniform {
            nonlinearity: Nonlinearity::LeakyRelu(0.01),
            mode: FanMode::FanOut,
        },
    );
    check("lecun-normal", Init::LecunNormal);
    check("keras-he-normal", Init::KerasHeNormal);
    check("pytorch-default", Init::PytorchDefault);
    check(
        "variance-scaling:2,fan-in,truncated-normal,keras",
        Init::VarianceScaling(
            VarianceScaling::new(2.0, FanMode::FanIn, Distribution::TruncatedNormal)
                .with_layout(Layout::Keras),
        ),
    );
    check("orthogonal", Init::Orthogonal { gain: 1.0 });
    check("eye", Init::Eye);
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

fn finite() -> impl Strategy<Value = f64> {
    -1e3_f64..1e3
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
        Just(Init::Zeros),
        Just(Init::Ones),
        finite().prop_map(|value| Init::Constant { value }),
        (finite(), finite()).prop_map(|(low, high)| Init::Uniform { low, high }),
        (finite(), finite()).prop_map(|(mean, std)| Init::Normal { mean, std }),
        (finite(), finite(), finite(), finite()).prop_map(|(mean, std, a, b)| Init::TruncNormal {
            mean,
            std,
            a,
            b
        }),
        finite().prop_map(|gain| Init::XavierNormal { gain }),
        finite().prop_map(|gain| Init::XavierUniform { gain }),
        (nonlinearity(), kaiming_mode.clone())
            .prop_map(|(nonlinearity, mode)| Init::HeNormal { nonlinearity, mode }),
        (nonlinearity(), kaiming_mode)
            .prop_map(|(nonlinearity, mode)| Init::HeUniform { nonlinearity, mode }),
        Just(Init::LecunNormal),
        Just(Init::LecunUniform),
        Just(Init::KerasHeNormal),
        Just(Init::PytorchDefault),
        (finite(), mode(), dist, layout).prop_map(|(scale, mode, distribution, layout)| {
            Init::VarianceScaling(VarianceScaling {
                scale,
                mode,
                distribution,
                layout,
            })
        }),
        finite().prop_map(|gain| Init::Orthogonal { gain }),
        Just(Init::Eye),
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
