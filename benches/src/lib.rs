//! Criterion benchmarks of gradwell (run with `cargo bench -p gradwell-benches`). The
//! library part holds the shared fixtures the bench modules use: deterministic matrices
//! and the reference training workloads of the performance work (M1, M2, M3, and the LSTM
//! of the recurrent comparison).

use gradwell_autodiff::Result as AdResult;
use gradwell_nn::{LayerSpec, MlpSpec, ModelSpec, Network};
use gradwell_optim::{Adam, AdamConfig, Optimizer, ParamSlot, Sgd, SgdConfig, SlotBuffer};
use gradwell_tensor::ClassLabel;
use ndarray::{Array2, ArrayD, Axis, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A deterministic `rows×cols` f32 matrix with entries in [−1, 1), cheap to build.
pub fn matrix(rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        let h = (i.wrapping_mul(2_654_435_761) ^ j.wrapping_mul(40_503)) % 2001;
        h as f32 / 1000.0 - 1.0
    })
}

/// One of the reference models with its optimizer and its data: the step walks through
/// the data's rows batch by batch, in order, wrapping around.
pub struct Workload {
    /// The model.
    pub net: Network<f32>,
    opt: Box<dyn Optimizer<f32>>,
    x: ArrayD<f32>,
    labels: Vec<ClassLabel>,
    batch: usize,
    cursor: usize,
    rng: ChaCha8Rng,
    slots: SlotBuffer<f32>,
}

/// The reference models of the performance work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// 784-128-10, ReLU, He normal, SGD lr 0.1 momentum 0.9.
    M1,
    /// 784 → 8 × (Linear 256 → BatchNorm → ReLU) → 10, Adam lr 1e-3.
    M2,
    /// 784-1024-1024-10, ReLU, SGD momentum 0.9.
    M3,
    /// Sequences of [`LSTM_STEPS`] steps of [`LSTM_INPUT`] features → LSTM with
    /// [`LSTM_HIDDEN`] units (PyTorch's default initialization) → the last step → Linear
    /// to 10 classes, SGD lr 0.1 momentum 0.9 (`benches/compare/run.sh lstm`).
    Lstm,
}

/// Time steps of [`Model::Lstm`]'s sequences.
pub const LSTM_STEPS: usize = 50;
/// Input features per step of [`Model::Lstm`].
pub const LSTM_INPUT: usize = 32;
/// Hidden units of [`Model::Lstm`].
pub const LSTM_HIDDEN: usize = 128;

impl Model {
    /// Every reference model.
    pub const ALL: [Model; 4] = [Model::M1, Model::M2, Model::M3, Model::Lstm];

    /// The model's name in `compare-step`'s arguments and in the comparison's records (the
    /// one `benches/compare/frameworks.py` uses).
    pub fn name(self) -> &'static str {
        match self {
            Model::M1 => "M1",
            Model::M2 => "M2",
            Model::M3 => "M3",
            Model::Lstm => "LSTM",
        }
    }

    /// The model of that [`Model::name`].
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The shape of one sample.
    pub fn input_shape(self) -> Vec<usize> {
        match self {
            Model::M1 | Model::M2 | Model::M3 => vec![784],
            Model::Lstm => vec![LSTM_STEPS, LSTM_INPUT],
        }
    }

    /// The model's spec.
    pub fn spec(self) -> ModelSpec {
        let widths: &[usize] = match self {
            Model::M1 => &[784, 128, 10],
            Model::M2 => &[784, 256, 256, 256, 256, 256, 256, 256, 256, 10],
            Model::M3 => &[784, 1024, 1024, 10],
            Model::Lstm => {
                return ModelSpec::parse(&format!(
                    r#"{{"input_shape": [{LSTM_STEPS}, {LSTM_INPUT}], "layers": [
                        {{"type": "lstm", "hidden_size": {LSTM_HIDDEN}}},
                        {{"type": "last_step"}},
                        {{"type": "linear", "out_features": 10}}
                    ]}}"#
                ))
                .unwrap_or_else(|e| unreachable!("the LSTM spec is valid: {e}"));
            }
        };
        let relu = "relu"
            .parse()
            .unwrap_or_else(|_| unreachable!("a valid name"));
        let mut m = MlpSpec::new(widths, relu);
        m.init = Some(gradwell_init::Init::HE_NORMAL);
        m.batch_norm = self == Model::M2;
        m.to_spec()
            .unwrap_or_else(|e| unreachable!("reference specs are valid: {e}"))
    }
}

impl Workload {
    /// The model with its optimizer, fed one synthetic batch of `batch` samples (values in
    /// [0, 1)).
    pub fn new(model: Model, batch: usize) -> Self {
        let features: usize = model.input_shape().iter().product();
        let mut shape = vec![batch];
        shape.extend(model.input_shape());
        let x = matrix(batch, features)
            .mapv(|v| (v + 1.0) * 0.5)
            .into_shape_with_order(IxDyn(&shape))
            .unwrap_or_else(|e| unreachable!("the sizes agree: {e}"));
        let labels = (0..batch).map(|i| ((i * 7) % 10) as ClassLabel).collect();
        Workload::with_data(model, batch, x, labels)
    }

    /// The model with its optimizer, walking through `x` (`[n, ...]` with the model's
    /// [`Model::input_shape`] per sample, n ≥ batch; a `[n, 784]` matrix is `.into_dyn()`)
    /// and its labels in batches of `batch`.
    pub fn with_data(model: Model, batch: usize, x: ArrayD<f32>, labels: Vec<ClassLabel>) -> Self {
        let opt: Box<dyn Optimizer<f32>> = match model {
            Model::M2 => Box::new(
                Adam::new(AdamConfig::default().lr(1e-3)).unwrap_or_else(|e| unreachable!("{e}")),
            ),
            Model::M1 | Model::M3 | Model::Lstm => Box::new(
                Sgd::new(SgdConfig::default().lr(0.1).momentum(0.9))
                    .unwrap_or_else(|e| unreachable!("{e}")),
            ),
        };
        Workload::from_spec(&model.spec(), opt, batch, x, labels)
            .unwrap_or_else(|e| unreachable!("reference specs build: {e}"))
    }

    /// Any model, with the given optimizer, walking through `x` (`[n, ...]` with the
    /// spec's input shape per sample, n ≥ batch) and its labels in batches of `batch`.
    ///
    /// # Errors
    /// The spec's build error.
    pub fn from_spec(
        spec: &ModelSpec,
        opt: Box<dyn Optimizer<f32>>,
        batch: usize,
        x: ArrayD<f32>,
        labels: Vec<ClassLabel>,
    ) -> Result<Self, gradwell_nn::NnError> {
        let net = Network::build(spec, 0)?;
        Ok(Workload {
            net,
            opt,
            x,
            labels,
            batch,
            cursor: 0,
            rng: ChaCha8Rng::seed_from_u64(1),
            slots: SlotBuffer::new(),
        })
    }

    /// One training step: forward, cross-entropy, backward, optimizer update, zeroed
    /// gradients. Returns the loss.
    pub fn step(&mut self) -> AdResult<f32> {
        if self.cursor + self.batch > self.x.len_of(Axis(0)) {
            self.cursor = 0;
        }
        let rows = self.cursor..self.cursor + self.batch;
        self.cursor += self.batch;
        self.net.tape.reset();
        let x = self
            .net
            .tape
            .input_view(&self.x.slice_axis(Axis(0), rows.clone().into()));
        let out = self
            .net
            .forward(x, true, &mut self.rng, None)
            .map_err(|e| gradwell_autodiff::AutodiffError::invalid("forward", e.to_string()))?;
        let y = self.net.tape.labels(&self.labels[rows]);
        let loss = self.net.tape.softmax_cross_entropy(out, y)?;
        self.net.tape.backward(loss)?;
        let value = self.net.tape.value(loss)[[]];
        let params = self.net.tape.params_mut();
        let opt = &mut self.opt;
        self.slots
            .with(
                params.slots_mut().map(|(n, v, g)| ParamSlot::new(n, v, g)),
                |s| opt.step(s),
            )
            .map_err(|e| gradwell_autodiff::AutodiffError::invalid("optimizer", e.to_string()))?;
        params.zero_grad();
        Ok(value)
    }
}

/// The layer list of a spec (for tests of the workloads).
pub fn layer_count(spec: &ModelSpec) -> usize {
    spec.layers
        .iter()
        .filter(|l| matches!(l, LayerSpec::Linear(_)))
        .count()
}
