//! Safetensors weights: bit-exact round trips, all-or-nothing loading with every mismatch
//! listed, and malformed bytes as errors.

use std::path::PathBuf;

use gradwell_autodiff::Float;
use gradwell_nn::{ModelSpec, Network, NnError};
use ndarray::{Array2, ArrayD};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::{Dtype, SafeTensors};

use crate::common::{spec, uniform};

/// Every kind of parameter and buffer: linear weights and biases, batch norm's γ, β and
/// running statistics, PReLU slopes, a residual projection.
const MODEL: &str = r#"
input_shape = [5]
layers = [
    { type = "linear", out_features = 6 },
    { type = "batch_norm" },
    { type = "prelu", num_parameters = 6 },
    { type = "residual", layers = [{ type = "linear", out_features = 4 }, { type = "layer_norm" }] },
    { type = "linear", out_features = 3 },
]
"#;

/// A fresh path in the system's temporary directory.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "gradwell-nn-{}-{name}.safetensors",
        std::process::id()
    ))
}

/// A network of [`MODEL`] after `steps` training-mode forward passes (so that batch
/// norm's running statistics and counter have moved away from their initial values).
fn trained<F: Float>(seed: u64, steps: u64) -> Network<F> {
    let mut net = Network::<F>::build(&spec(MODEL), seed).expect("builds");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for s in 0..steps {
        net.tape.reset();
        let x = uniform(&[8, 5], -1.0, 2.0, 100 + s).mapv(F::of);
        let x = net.tape.input(x);
        net.forward(x, true, &mut rng, None)
            .expect("a training step");
    }
    net
}

fn batch<F: Float>() -> Array2<F> {
    uniform(&[7, 5], -3.0, 3.0, 42)
        .mapv(F::of)
        .into_dimensionality()
        .expect("2-D")
}

/// Every tensor of the store as raw bits, by name.
fn snapshot<F: Float>(net: &Network<F>) -> Vec<(String, Vec<u64>)> {
    let p = net.tape.params();
    p.ids()
        .map(|id| {
            let bits = p.value(id).iter().map(|v| v.as_f64().to_bits()).collect();
            (p.name(id).to_string(), bits)
        })
        .collect()
}

fn round_trip<F: Float>() {
    let mut source = trained::<F>(1, 3);
    let path = temp_path(&format!("round-trip-{}", F::NAME));
    source.save_safetensors(&path).expect("saves");
    let mut target = trained::<F>(2, 1);
    assert_ne!(
        snapshot(&source),
        snapshot(&target),
        "the two networks start different"
    );
    target.load_safetensors(&path).expect("loads");
    std::fs::remove_file(&path).expect("cleanup");
    assert_eq!(snapshot(&source), snapshot(&target));
    let x = batch::<F>();
    let a = source.predict(&x.view()).expect("runs");
    let b = target.predict(&x.view()).expect("runs");
    let bits = |a: &Array2<F>| a.iter().map(|v| v.as_f64().to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
}

#[test]
fn save_load_gives_identical_outputs_f32() {
    round_trip::<f32>();
}

#[test]
fn save_load_gives_identical_outputs_f64() {
    round_trip::<f64>();
}

#[test]
fn the_file_uses_pytorch_names_and_dtypes() {
    let net = trained::<f32>(1, 3);
    let bytes = net.safetensors_bytes().expect("encodes");
    let st = SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let mut names: Vec<&str> = st.names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "0.bias",
            "0.weight",
            "1.bias",
            "1.num_batches_tracked",
            "1.running_mean",
            "1.running_var",
            "1.weight",
            "2.weight",
            "3.body.0.bias",
            "3.body.0.weight",
            "3.body.1.bias",
            "3.body.1.weight",
            "3.projection.weight",
            "4.bias",
            "4.weight",
        ]
    );
    let w = st.tensor("0.weight").expect("present");
    assert_eq!((w.dtype(), w.shape()), (Dtype::F32, &[6, 5][..]));
    let n = st.tensor("1.num_batches_tracked").expect("present");
    assert_eq!((n.dtype(), n.shape()), (Dtype::I64, &[][..]));
    assert_eq!(n.data(), 3i64.to_le_bytes());
    let f64_bytes = trained::<f64>(1, 0).safetensors_bytes().expect("encodes");
    let st = SafeTensors::deserialize(&f64_bytes).expect("valid");
    assert_eq!(st.tensor("4.weight").expect("present").dtype(), Dtype::F64);
}

#[test]
fn a_mismatched_file_lists_every_problem_and_loads_nothing() {
    // The file: the model with 7 hidden units instead of 6, no PReLU (so every later index
    // shifts), and f64 weights.
    let other: ModelSpec = spec(
        r#"
input_shape = [5]
layers = [
    { type = "linear", out_features = 7 },
    { type = "batch_norm" },
    { type = "residual", layers = [{ type = "linear", out_features = 4 }, { type = "layer_norm" }] },
    { type = "linear", out_features = 3 },
]
"#,
    );
    let bytes = Network::<f64>::build(&other, 0)
        .expect("builds")
        .safetensors_bytes()
        .expect("encodes");
    let mut net = trained::<f32>(1, 2);
    let before = snapshot(&net);
    let err = net
        .load_safetensors_bytes(&bytes, "other.safetensors")
        .expect_err("does not match");
    let NnError::WeightsMismatch { path, problems } = &err else {
        panic!("expected a mismatch, got {err:?}")
    };
    assert_eq!(path, "other.safetensors");
    let text = err.to_string();
    for needle in [
        "nothing was loaded",
        "`0.weight`: shape [7, 5] in the file, [6, 5] in the model",
        "`0.bias`: shape [7] in the file, [6] in the model",
        "`1.running_mean`: shape [7]",
        "missing tensor `2.weight`",
        "missing tensor `3.projection.weight`",
        "unexpected tensor `2.projection.weight` in the file",
        "missing tensor `4.weight`",
        "unexpected tensor `3.weight` in the file",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    // 0.weight, 0.bias, four of batch norm, 2.weight, five of block 3, 4.weight, 4.bias
    // and the file's 2.body.* (4), 2.projection.weight, 3.weight, 3.bias.
    assert_eq!(problems.len(), 2 + 4 + 1 + 5 + 2 + 7, "{text}");
    assert_eq!(snapshot(&net), before, "nothing was loaded");
}

#[test]
fn a_narrowing_dtype_is_a_mismatch_and_a_widening_one_loads() {
    let f64_net = trained::<f64>(1, 2);
    let bytes = f64_net.safetensors_bytes().expect("encodes");
    let mut f32_net = trained::<f32>(2, 0);
    let before = snapshot(&f32_net);
    let err = f32_net
        .load_safetensors_bytes(&bytes, "f64 weights")
        .expect_err("narrowing");
    let NnError::WeightsMismatch { problems, .. } = err else {
        panic!("{err:?}")
    };
    // Every floating tensor is listed (the integer counter converts exactly).
    assert_eq!(problems.len(), 14, "{problems:#?}");
    assert_eq!(snapshot(&f32_net), before);
    // f32 into f64 is exact, as PyTorch's load_state_dict converts too.
    let f32_source = trained::<f32>(3, 2);
    let mut wide = trained::<f64>(4, 0);
    wide.load_safetensors_bytes(&f32_source.safetensors_bytes().expect("ok"), "f32 weights")
        .expect("widening loads");
    assert_eq!(snapshot(&wide), snapshot(&f32_source));
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let mut net = trained::<f32>(1, 0);
    let path = temp_path("does-not-exist");
    let err = net.load_safetensors(&path).expect_err("no such file");
    assert!(matches!(err, NnError::Io { .. }));
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

/// Loads `bytes` into a fresh network, which must be left unchanged if they are refused.
fn load_untrusted(bytes: &[u8]) -> Result<(), NnError> {
    let mut net = trained::<f32>(1, 0);
    let before = snapshot(&net);
    let r = net.load_safetensors_bytes(bytes, "fuzz");
    if r.is_err() {
        assert_eq!(snapshot(&net), before);
    }
    r
}

fn valid_file() -> Vec<u8> {
    trained::<f32>(5, 1).safetensors_bytes().expect("encodes")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_are_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let err = load_untrusted(&bytes).expect_err("random bytes are not this model's weights");
        let expected = matches!(err, NnError::WeightsFormat { .. } | NnError::WeightsMismatch { .. });
        prop_assert!(expected, "{:?}", err);
    }

    #[test]
    fn a_truncated_file_is_an_error(cut in 0usize..10_000) {
        let file = valid_file();
        let cut = cut % file.len();
        let err = load_untrusted(&file[..cut]).expect_err("truncated");
        let expected = matches!(err, NnError::WeightsFormat { .. });
        prop_assert!(expected, "{:?}", err);
    }

    #[test]
    fn a_corrupted_header_is_an_error_or_loads_exactly(at in 0usize..1000, byte in any::<u8>()) {
        // A changed header byte may leave a valid file (whitespace, a metadata value);
        // either way there is no panic, and on error nothing is loaded.
        let mut file = valid_file();
        let header_len = u64::from_le_bytes(file[..8].try_into().expect("8 bytes")) as usize;
        let at = 8 + at % header_len;
        file[at] = byte;
        let _ = load_untrusted(&file);
    }
}

#[test]
fn the_empty_and_the_header_only_files_are_errors() {
    for bytes in [
        &b""[..],
        &8u64.to_le_bytes(),
        b"\x02\0\0\0\0\0\0\0{}",
        b"\xff\xff\xff\xff\xff\xff\xff\xff",
    ] {
        assert!(load_untrusted(bytes).is_err());
    }
    // A valid file with no tensors lists every tensor of the model as missing.
    let empty = safetensors::serialize(
        Vec::<(String, safetensors::tensor::TensorView<'_>)>::new(),
        None,
    )
    .expect("encodes");
    let err = load_untrusted(&empty).expect_err("empty");
    assert_eq!(
        err.to_string().matches("missing tensor").count(),
        15,
        "{err}"
    );
}

/// Values are not judged: a file with non-finite values loads (as in PyTorch), so that a
/// diverged run's weights can be inspected.
#[test]
fn non_finite_values_load() {
    let mut source = trained::<f32>(1, 0);
    let id = source.param("4.bias").expect("present");
    source.tape.params_mut().value_mut(id).fill(f32::NAN);
    let mut target = trained::<f32>(2, 0);
    target
        .load_safetensors_bytes(&source.safetensors_bytes().expect("ok"), "nan")
        .expect("loads");
    let b: ArrayD<f32> = target
        .tape
        .params()
        .value(target.param("4.bias").expect("ok"))
        .to_owned();
    assert!(b.iter().all(|v| v.is_nan()));
}

/// A safetensors header is read from the file: a huge declared shape or header length
/// must be refused before anything is allocated from it (an allocation of the declared
/// size would abort the test process).
#[test]
fn huge_declared_shapes_and_lengths_are_errors_not_allocations() {
    let file = |header: &str, data: usize| {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend(std::iter::repeat_n(0u8, data));
        bytes
    };
    // A shape of 2^64 elements (overflowing any product) over 16 bytes of data.
    let huge = file(
        r#"{"0.weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#,
        16,
    );
    assert!(matches!(
        load_untrusted(&huge).expect_err("huge shape"),
        NnError::WeightsFormat { .. }
    ));
    // A shape of 2^40 elements whose offsets claim the matching 4 TiB.
    let claimed = file(
        r#"{"0.weight":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}"#,
        16,
    );
    assert!(matches!(
        load_untrusted(&claimed).expect_err("offsets past the file"),
        NnError::WeightsFormat { .. }
    ));
    // A consistent tensor of the right name but another shape than the model's: listed as
    // a mismatch, its data never decoded.
    let other = file(
        r#"{"0.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#,
        16,
    );
    let err = load_untrusted(&other).expect_err("wrong shape");
    assert!(
        err.to_string()
            .contains("`0.weight`: shape [2, 2] in the file"),
        "{err}"
    );
    // A header length near 2^64.
    let mut long = u64::MAX.to_le_bytes().to_vec();
    long.extend_from_slice(b"{}");
    assert!(load_untrusted(&long).is_err());
}
