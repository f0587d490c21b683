//! Values against PyTorch: f′(0) and the extremes that docs/parity.md#activations
//! record from PyTorch runs, and values at the reference sample points −25, −3, −1, 0, 1,
//! 3, 6, 21 against the same formulas in 40-digit arithmetic (mpmath), which PyTorch's
//! float64 results equal to rounding.

// Reference values keep the digits of the high-precision computation they come from.
#![allow(clippy::excessive_precision)]

use gradwell_activations::{
    Activation, ActivationKind, Elu, Gelu, GeluTanh, Hardtanh, LeakyRelu, Mish, Relu, Relu6, Selu,
    Sigmoid, Silu, Softplus, Tanh,
};

const POINTS: [f64; 8] = [-25.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 21.0];

/// Relative agreement to 1e-13, exact for zeros. Most values agree to a few ulps; the
/// Gaussian tail sets the tolerance: gelu(−25) = −25·½erfc(25/√2), and the rounding of
/// the argument t = 25/√2 is amplified by 2t² ≈ 625 (observed 2.3e-14).
fn check(what: &str, got: f64, want: f64) {
    let ok = if want == 0.0 {
        got == 0.0
    } else {
        (got - want).abs() <= 1e-13 * want.abs()
    };
    assert!(ok, "{what}: got {got:e}, want {want:e}");
}

fn check_values(k: impl Into<ActivationKind>, want: [f64; 8]) {
    let k = k.into();
    for (x, w) in POINTS.iter().zip(want) {
        check(&format!("{k}({x})"), k.value(*x), w);
    }
}

#[test]
fn values_at_sample_points() {
    check_values(
        Sigmoid,
        [
            1.388794386477114561e-11,
            0.047425873177566780879,
            0.26894142136999512075,
            0.5,
            0.73105857863000487925,
            0.95257412682243321912,
            0.99752737684336522567,
            0.99999999924174395778,
        ],
    );
    check_values(
        Tanh,
        [
            -1.0,
            -0.99505475368673045133,
            -0.76159415595576488812,
            0.0,
            0.76159415595576488812,
            0.99505475368673045133,
            0.99998771165079557056,
            1.0,
        ],
    );
    check_values(Relu, [0.0, 0.0, 0.0, 0.0, 1.0, 3.0, 6.0, 21.0]);
    check_values(
        LeakyRelu::default(),
        [-0.25, -0.03, -0.01, 0.0, 1.0, 3.0, 6.0, 21.0],
    );
    check_values(
        Elu::default(),
        [
            -0.99999999998611205614,
            -0.95021293163213605702,
            -0.6321205588285576784,
            0.0,
            1.0,
            3.0,
            6.0,
            21.0,
        ],
    );
    check_values(
        Selu,
        [
            -1.758099340822960475,
            -1.6705687287671119749,
            -1.1113307378125627618,
            0.0,
            1.0507009873554804934,
            3.1521029620664414803,
            6.3042059241328829605,
            22.064720734465090362,
        ],
    );
    check_values(
        Gelu,
        [
            -7.641741765956402291e-137,
            -0.00404969409489028358,
            -0.15865525393145705141,
            0.0,
            0.84134474606854294859,
            2.9959503059051097164,
            5.9999999940804741298,
            21.0,
        ],
    );
    check_values(
        GeluTanh,
        [
            0.0,
            -0.0036373920817730188378,
            -0.15880800939172329522,
            0.0,
            0.84119199060827670478,
            2.9963626079182269812,
            5.999999999915603533,
            21.0,
        ],
    );
    check_values(
        Silu,
        [
            -3.4719859661927864025e-10,
            -0.14227761953270034264,
            -0.26894142136999512075,
            0.0,
            0.73105857863000487925,
            2.8577223804672996574,
            5.985164261060191354,
            20.999999984076623113,
        ],
    );
    // 21 is above the threshold 20: PyTorch returns x itself.
    check_values(
        Softplus::default(),
        [
            1.3887943864867583102e-11,
            0.048587351573742058759,
            0.31326168751822283405,
            std::f64::consts::LN_2,
            1.313261687518222834,
            3.0485873515737420588,
            6.0024756851377304495,
            21.0,
        ],
    );
    check_values(
        Mish,
        [
            -3.4719859662168957756e-10,
            -0.14564746127562458731,
            -0.30340146137410891807,
            0.0,
            0.86509838826731034612,
            2.9865350049679573191,
            5.9999266340652527226,
            21.0,
        ],
    );
    check_values(Relu6, [0.0, 0.0, 0.0, 0.0, 1.0, 3.0, 6.0, 6.0]);
    check_values(
        Hardtanh::default(),
        [-1.0, -1.0, -1.0, 0.0, 1.0, 1.0, 1.0, 1.0],
    );
}

#[test]
fn derivatives_at_sample_points() {
    let cases: [(ActivationKind, [f64; 8]); 5] = [
        (
            Sigmoid.into(),
            [
                1.3887943864578270625e-11,
                0.045176659730912132649,
                0.19661193324148185254,
                0.25,
                0.19661193324148185254,
                0.045176659730912132649,
                0.0024665092913600478183,
                7.5825604164128622124e-10,
            ],
        ),
        (
            Tanh.into(),
            [
                7.7149993918556711321e-22,
                0.0098660371654401912732,
                0.41997434161402606939,
                1.0,
                0.41997434161402606939,
                0.0098660371654401912732,
                0.000024576547405332701301,
                2.29980890571742392e-18,
            ],
        ),
        (
            Gelu.into(),
            [
                -1.910425737398465604e-135,
                -0.011945647204183927,
                -0.083315470587686298383,
                0.5,
                1.0833154705876862984,
                1.011945647204183927,
                1.0000000354687094539,
                1.0,
            ],
        ),
        (
            Silu.into(),
            [
                -3.3331065274968562002e-10,
                -0.088104106015169617069,
                0.072329488128513268211,
                0.5,
                0.92767051187148673179,
                1.0881041060151696171,
                1.0123264325915255126,
                1.0000000151651208323,
            ],
        ),
        (
            Mish.into(),
            [
                -3.3331065275441105714e-10,
                -0.093393114532320835573,
                0.059216755877394948006,
                0.6,
                1.0490362200997921591,
                1.0211069109294437727,
                1.0001341405062097904,
                1.0,
            ],
        ),
    ];
    for (k, want) in cases {
        for (x, w) in POINTS.iter().zip(want) {
            check(&format!("{k}′({x})"), k.derivative(*x), w);
        }
    }
}

/// f′(0) as PyTorch computes it (docs/parity.md#activations, the f′(0) column): the kink conventions.
#[test]
fn derivative_at_zero_like_pytorch() {
    let cases: [(ActivationKind, f64); 14] = [
        (Sigmoid.into(), 0.25),
        (Tanh.into(), 1.0),
        (Relu.into(), 0.0),
        (LeakyRelu::default().into(), 0.01),
        (Elu::new(2.0).unwrap().into(), 2.0),
        (Selu.into(), 1.7580993408473766),
        (Gelu.into(), 0.5),
        (GeluTanh.into(), 0.5),
        (Silu.into(), 0.5),
        (Mish.into(), 0.6),
        (Softplus::default().into(), 0.5),
        (Hardtanh::default().into(), 1.0),
        (Relu6.into(), 0.0),
        (gradwell_activations::Prelu::default().into(), 0.25),
    ];
    for (k, want) in cases {
        let d: f64 = k.derivative(0.0);
        assert!((d - want).abs() < 1e-15, "{k}′(0) = {d}, PyTorch {want}");
    }
}

/// The extremes in docs/parity.md#activations (float64 grid search in PyTorch, 6 digits): the
/// derivative's maxima and minima and the functions' minima, at the stated points.
#[test]
fn extremes_like_pytorch() {
    let sqrt2 = std::f64::consts::SQRT_2;
    let slopes: [(ActivationKind, f64, f64); 7] = [
        (Gelu.into(), sqrt2, 1.128904),
        (Gelu.into(), -sqrt2, -0.128904),
        (GeluTanh.into(), 1.4185, 1.128993),
        (Silu.into(), 2.3994, 1.099839),
        (Silu.into(), -2.3994, -0.099839),
        (Mish.into(), 1.4906, 1.088498),
        (Mish.into(), -2.2564, -0.112526),
    ];
    for (k, x, want) in slopes {
        let got: f64 = k.derivative(x);
        assert!(
            (got - want).abs() < 1e-6,
            "{k}′({x}) = {got}, PyTorch {want}"
        );
    }
    let minima: [(ActivationKind, f64, f64); 3] = [
        (Gelu.into(), -0.7518, -0.169971),
        (Silu.into(), -1.2785, -0.278465),
        (Mish.into(), -1.1924, -0.308843),
    ];
    for (k, x, want) in minima {
        let got: f64 = k.value(x);
        assert!(
            (got - want).abs() < 1e-6,
            "{k}({x}) = {got}, PyTorch {want}"
        );
    }
    // docs/parity.md gives GELU-tanh's minimum without its location: search for it.
    let grid_min = (-30_000..0)
        .map(|i| GeluTanh.value(i as f64 * 1e-4))
        .fold(0.0, f64::min);
    assert!((grid_min - -0.170041).abs() < 1e-6, "{grid_min}");
}
