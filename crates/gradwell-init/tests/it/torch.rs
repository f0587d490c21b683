//! gradwell-init against the numbers torch.nn.init computes, recorded by
//! `fixtures/gen_init_fixtures.py` into `fixtures/init.json` (PyTorch's version is in the
//! file). Every float is compared **exactly** (the same bits; NaN equals NaN): the gains,
//! fans, standard deviations and uniform bounds are computed with PyTorch's own operations
//! in the same order, so there is no rounding difference to allow for.

use gradwell_init::{
    Fans, GainParam, Init, InitError, InitInfo, Law, Layout, Sparse, calculate_gain_named,
};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("../../fixtures/init.json")).expect("valid fixture")
}

/// A float the generator wrote as Python's repr (`0.1`, `1e+200`, `inf`, `nan`).
fn float(v: &Value) -> f64 {
    let text = v.as_str().expect("a float written as a string");
    text.parse()
        .unwrap_or_else(|_| panic!("{text:?} is not a float"))
}

fn text(v: &Value) -> &str {
    v.as_str().expect("a string")
}

fn shape(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("a shape")
        .iter()
        .map(|d| d.as_u64().expect("a dimension") as usize)
        .collect()
}

/// The same float, bit for bit (any NaN matches any NaN).
fn assert_same(got: f64, want: f64, what: &str) {
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "{what}: {got:?} (0x{:016x}), PyTorch {want:?} (0x{:016x})",
        got.to_bits(),
        want.to_bits()
    );
}

fn param(v: &Value) -> Option<GainParam> {
    if v.is_null() {
        return None;
    }
    let value = &v["value"];
    Some(match text(&v["kind"]) {
        "int" => GainParam::Int(value.as_i64().expect("an int")),
        "float" => GainParam::Float(float(value)),
        "bool" => GainParam::Bool(value.as_bool().expect("a bool")),
        "other" => GainParam::Other(text(value).to_string()),
        kind => panic!("unknown param kind {kind}"),
    })
}

#[test]
fn the_fixture_is_pytorchs() {
    let version = fixture()["torch_version"].as_str().unwrap().to_string();
    assert!(version.starts_with("2."), "{version}");
}

/// Every name and slope: PyTorch's gain to the bit, or PyTorch's message.
#[test]
fn calculate_gain_by_name_is_pytorchs() {
    let fixture = fixture();
    let cases = fixture["gains"].as_array().unwrap();
    let (mut gains, mut errors) = (0, 0);
    for case in cases {
        let name = text(&case["name"]);
        let param = param(&case["param"]);
        let what = format!("calculate_gain({name:?}, {param:?})");
        let got = calculate_gain_named(name, param.clone());
        if let Some(gain) = case.get("gain") {
            assert_same(got.expect(&what), float(gain), &what);
            gains += 1;
        } else if let Some(message) = case.get("error") {
            let e = got.expect_err(&what);
            assert_eq!(e.to_string(), text(message), "{what}");
            assert!(
                matches!(
                    e,
                    InitError::UnsupportedNonlinearity { .. }
                        | InitError::InvalidNegativeSlope { .. }
                ),
                "{what}: {e:?}"
            );
            errors += 1;
        } else {
            // A finite slope whose square overflows: Python raises OverflowError; gradwell
            // gives the limit, 0 (docs/parity.md#gains).
            assert!(case.get("overflow").is_some(), "{what}: {case}");
            assert_eq!(got, Ok(0.0), "{what}");
        }
    }
    // Every name of PyTorch's table, and each kind of refusal, is in the fixture.
    assert!(
        gains >= 12 + 14 && errors >= 20,
        "{gains} gains, {errors} errors"
    );
}

#[test]
fn fans_are_pytorchs() {
    for case in fixture()["fans"].as_array().unwrap() {
        let s = shape(&case["shape"]);
        let fans = Fans::of(&s, Layout::PyTorch).unwrap();
        assert_eq!(
            (fans.fan_in as u64, fans.fan_out as u64),
            (
                case["fan_in"].as_u64().unwrap(),
                case["fan_out"].as_u64().unwrap()
            ),
            "{s:?}"
        );
    }
}

/// The bound PyTorch passes to `uniform_` and the std it passes to `normal_`, for Xavier,
/// Kaiming (every mode, several nonlinearities and slopes), LeCun and nn.Linear/nn.Conv's
/// default weight and bias, equal [`InitInfo::uniform_bound`] and the std of the normal
/// law of the initializer string written beside them.
#[test]
fn stds_and_uniform_bounds_are_pytorchs() {
    let fixture = fixture();
    let cases = fixture["scaling"].as_array().unwrap();
    for case in cases {
        let weight = shape(&case["shape"]);
        let what = format!("{} on {weight:?}", text(&case["torch"]));
        let uniform: Init = text(&case["uniform"]).parse().expect(&what);
        // A bias initializer reads the weight, and fills the bias [out].
        let bias = uniform.for_bias_of(&weight).expect(&what);
        let filled = if bias == uniform {
            weight.clone()
        } else {
            vec![weight[0]]
        };
        let bound = bias.uniform_bound(&filled).expect(&what);
        assert_same(
            bound.expect(&what),
            float(&case["bound"]),
            &format!("{what}: {uniform} bound"),
        );
        if let Some(normal) = case.get("normal") {
            let normal: Init = text(normal).parse().expect(&what);
            let Some(Law::Normal { mean: 0.0, std }) = normal.law(&weight).expect(&what) else {
                panic!("{what}: {normal} is not a centred normal");
            };
            assert_same(std, float(&case["std"]), &format!("{what}: {normal} std"));
        }
    }
    assert!(cases.len() >= 200, "{} cases", cases.len());
}

/// `sparse_`'s zeros in each column, for every shape and sparsity (the rounding of
/// `ceil(sparsity * rows)` included), and its refusal of a tensor that is not a matrix.
#[test]
fn sparse_zeros_per_column_are_pytorchs() {
    let fixture = fixture();
    for case in fixture["sparse"]["cases"].as_array().unwrap() {
        let s = shape(&case["shape"]);
        let init = Sparse::new(float(&case["sparsity"]));
        let want: Vec<u64> = case["zeros_per_column"]
            .as_array()
            .unwrap()
            .iter()
            .map(|z| z.as_u64().unwrap())
            .collect();
        assert_eq!(want.len(), s[1]);
        for zeros in want {
            assert_eq!(
                init.zeros_per_column(s[0]) as u64,
                zeros,
                "{init:?} on {s:?}"
            );
        }
    }
    for case in fixture["sparse"]["errors"].as_array().unwrap() {
        let s = shape(&case["shape"]);
        let e = Sparse::new(0.1).law(&s).unwrap_err();
        assert!(e.to_string().contains(text(&case["error"])), "{e}");
    }
}
