//! Plans and the memory check: a model is measured from its spec before anything is
//! allocated, and one the machine cannot hold is refused by the library itself.

use gradwell_nn::{MemoryBudget, MemoryUse, MlpSpec, ModelSpec, Network, NnError, Sequential};

use crate::common::spec;

/// Every layer type, a residual block with and one without a projection, batch norm with
/// and without running statistics, layer norm without bias, a flatten.
const EVERY_LAYER: &str = r#"
input_shape = [2, 3]
layers = [
    { type = "flatten" },
    { type = "linear", out_features = 8 },
    { type = "batch_norm" },
    { type = "prelu", num_parameters = 8 },
    { type = "residual", layers = [
        { type = "linear", out_features = 8, bias = false },
        { type = "layer_norm", bias = false },
        { type = "activation", activation = "tanh" },
    ] },
    { type = "residual", layers = [
        { type = "linear", out_features = 5 },
        { type = "batch_norm", track_running_stats = false },
        { type = "dropout", p = 0.1 },
    ] },
    { type = "layer_norm" },
    { type = "linear", out_features = 3 },
    { type = "log_softmax" },
]
"#;

fn flatten_kinds<F: gradwell_tensor::Float>(
    seq: &Sequential<F>,
) -> Vec<(&'static str, Vec<usize>)> {
    let mut shape = vec![2, 3];
    seq.layers()
        .iter()
        .map(|l| {
            shape = l.output_shape(&shape).expect("built layers fit");
            (l.kind(), shape.clone())
        })
        .collect()
}

#[test]
fn the_plan_counts_what_building_allocates() {
    let spec = spec(EVERY_LAYER);
    let plan = spec.plan().expect("plans");
    let net = Network::<f32>::build(&spec, 0).expect("builds");
    // Counted parameters as the built modules count them.
    let (t, f) = net.num_params();
    assert_eq!(plan.num_params(), (t as u64, f as u64));
    // Every scalar the store holds, counted or not (batch norm's batch counter).
    let stored: u64 = plan.layers.iter().map(|l| l.stored()).sum();
    assert_eq!(stored, net.tape.params().num_elements() as u64);
    // Kinds and output shapes as the built layers give them.
    let planned: Vec<(&str, Vec<usize>)> = plan
        .layers
        .iter()
        .map(|l| (l.kind, l.output_shape.clone()))
        .collect();
    assert_eq!(planned, flatten_kinds(net.root()));
    assert_eq!(spec.output_shape().unwrap(), [3]);
    assert_eq!(net.plan(), &plan);
    // Each layer's input is the previous layer's output.
    for w in plan.layers.windows(2) {
        assert_eq!(w[0].output_shape, w[1].input_shape);
    }
}

#[test]
fn a_trillion_unit_layer_is_planned_and_summarized_without_being_built() {
    let spec = MlpSpec::new(&[784, 1_000_000_000_000, 10], "relu".parse().unwrap())
        .to_spec()
        .unwrap();
    let plan = spec.plan().expect("a plan allocates no weights");
    let s = plan.summary::<f32>();
    assert!(
        s.contains(
            "│ dense (Dense)                   │ (None, 1000000000000)  │ 785,000,000,000,000 │"
        ),
        "{s}"
    );
    assert!(
        s.contains(" Total params: 795,000,000,000,010 (2.82 PB)"),
        "{s}"
    );
    // The library refuses to build it, naming the layer, before allocating anything (a
    // 6 PB allocation would abort the test process).
    let err = Network::<f32>::build(&spec, 0).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, NnError::TooLarge { .. }), "{err:?}");
    assert!(
        msg.starts_with("model too large for this machine: to build it needs 5.65 PB"),
        "{msg}"
    );
    assert!(
        msg.contains("layer 0 (Linear(→1000000000000)) alone needs 5.58 PB"),
        "{msg}"
    );
    assert!(msg.contains("GRADWELL_MAX_MEMORY_MB"), "{msg}");
    // ModelSpec::build refuses the same way.
    let mut store = gradwell_autodiff::ParamStore::<f32>::new();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    assert!(matches!(
        spec.build(&mut store, &mut rng),
        Err(NnError::TooLarge { .. })
    ));
    assert!(store.is_empty());
}

#[test]
fn counts_past_64_bits_are_an_error_naming_the_layer() {
    let spec = MlpSpec::new(&[784, usize::MAX, 10], "relu".parse().unwrap())
        .to_spec()
        .unwrap();
    let err = spec.plan().unwrap_err().to_string();
    assert!(
        err.contains("layer 0 (Linear(→18446744073709551615))"),
        "{err}"
    );
    assert!(err.contains("64-bit"), "{err}");
    let flat =
        spec_of(r#"{"input_shape": [4294967296, 4294967296], "layers": [{"type": "flatten"}]}"#);
    let err = flat.plan().unwrap_err().to_string();
    assert!(err.contains("layer 0 (Flatten)"), "{err}");
}

fn spec_of(json: &str) -> ModelSpec {
    ModelSpec::parse(json).expect("parses")
}

#[test]
fn a_deep_network_names_where_the_total_passes_the_budget() {
    // 1000 hidden layers of 128 (16,512 parameters each, 132,096 bytes as f32 values and
    // gradients), under a budget of 10 MB: the total passes it within the first hundred
    // layers, and no single layer does.
    let mut widths = vec![64];
    widths.extend(std::iter::repeat_n(128, 1000));
    widths.push(10);
    let spec = MlpSpec::new(&widths, "relu".parse().unwrap())
        .to_spec()
        .unwrap();
    let plan = spec.plan().unwrap();
    let budget = MemoryBudget::new(10_000_000);
    let err = budget
        .check(&plan, &MemoryUse::build::<f32>())
        .unwrap_err()
        .to_string();
    // Layer 0 takes 66,560 bytes (64·128 + 128 scalars, twice, four bytes each); the
    // hidden Linear layers 132,096 each, every other layer from 2 on; ReLUs nothing.
    // 66,560 + 75 · 132,096 = 9,973,760 ≤ 10 MB < 66,560 + 76 · 132,096.
    assert!(
        err.contains("the running total passes it at layer 152 (Linear(→128)) (of 2001 layers)"),
        "{err}"
    );
    assert!(
        err.contains("the largest layer, 2 (Linear(→128)), needs 129.00 KB"),
        "{err}"
    );
    // The same model fits a larger budget, and the check returns the total.
    let total = MemoryBudget::new(1 << 30)
        .check(&plan, &MemoryUse::build::<f32>())
        .unwrap();
    let (t, _) = plan.num_params();
    assert_eq!(total, t * 2 * 4);
    assert!(Network::<f32>::build_within(&spec, 0, &budget).is_err());
}

#[test]
fn training_adds_optimizer_buffers_and_layer_outputs() {
    // 4-3-2: 15 + 8 = 23 parameters; per sample 3 + 3 + 2 = 8 outputs (Linear, ReLU,
    // Linear).
    let spec = MlpSpec::new(&[4, 3, 2], "relu".parse().unwrap())
        .to_spec()
        .unwrap();
    let plan = spec.plan().unwrap();
    let big = MemoryBudget::new(u64::MAX);
    let build = big.check(&plan, &MemoryUse::build::<f64>()).unwrap();
    assert_eq!(build, 23 * 2 * 8);
    // Adam's two buffers; gradients for batches of 10, values for evaluation batches of 20.
    let train = big
        .check(&plan, &MemoryUse::training::<f32>(2, 10, 20))
        .unwrap();
    assert_eq!(train, 23 * 4 * 4 + 8 * (20 + 10) * 4);
    let probe = big
        .check(&plan, &MemoryUse::forward_backward::<f32>(7))
        .unwrap();
    assert_eq!(probe, 23 * 2 * 4 + 8 * (7 + 7) * 4);
    let err = MemoryBudget::new(train - 1)
        .check(&plan, &MemoryUse::training::<f32>(2, 10, 20))
        .unwrap_err()
        .to_string();
    assert!(err.contains("to train it needs 1.30 KB"), "{err}");
    assert!(
        err.contains(
            "(368.00 B for the parameters' values, gradients and 2 optimizer buffer(s), \
             960.00 B for the layer outputs of batches of 10 samples and evaluation batches \
             of 20)"
        ),
        "{err}"
    );
    assert!(err.contains("(the budget given)"), "{err}");
}

#[test]
fn sizes_that_overflow_saturate_instead_of_panicking() {
    // u64::MAX parameters' worth: the byte count saturates and the model is refused.
    let spec = MlpSpec::new(&[4_294_967_296, 4_294_967_295, 1], "relu".parse().unwrap())
        .to_spec()
        .unwrap();
    let plan = spec.plan().unwrap();
    let err = MemoryBudget::new(u64::MAX - 1)
        .check(
            &plan,
            &MemoryUse::training::<f32>(3, usize::MAX, usize::MAX),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            NnError::TooLarge {
                needed: u64::MAX,
                ..
            }
        ),
        "{err:?}"
    );
}
