//! [`Network`]: a built model with its parameters, its spec, summaries, and weights files.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use gradwell_autodiff::{ParamId, Tape, Var};
use gradwell_tensor::Float;
use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Ix2, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::layers::Sequential;
use crate::memory::{MemoryBudget, MemoryUse};
use crate::module::{Ctx, Module, Tap, count_params};
use crate::plan::ModelPlan;
use crate::spec::ModelSpec;
use crate::{NnError, Result};

/// A model built from a [`ModelSpec`]: the layers, and a [`Tape`] that owns their
/// parameters under PyTorch's state_dict names.
///
/// ```
/// use gradwell_nn::{MlpSpec, Network};
/// use ndarray::Array2;
///
/// let spec = MlpSpec::new(&[4, 8, 3], "relu".parse()?).to_spec()?;
/// let mut net = Network::<f32>::build(&spec, 0)?;
/// let y = net.predict(&Array2::zeros((2, 4)).view())?;
/// assert_eq!(y.dim(), (2, 3));
/// assert_eq!(net.param_names(), ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Network<F: Float> {
    spec: ModelSpec,
    plan: ModelPlan,
    root: Sequential<F>,
    /// The tape, which owns the parameters; reset it before each step.
    pub tape: Tape<F>,
}

impl<F: Float> Network<F> {
    /// Builds `spec` with initial weights drawn from a ChaCha8 RNG seeded with `seed`,
    /// after checking that its parameters and their gradients fit in
    /// [`MemoryBudget::detect`] (the memory available).
    ///
    /// # Errors
    /// As [`ModelSpec::build`]: mismatched widths, invalid settings, and
    /// [`NnError::TooLarge`] for a model the machine cannot hold, before anything is
    /// allocated for it.
    pub fn build(spec: &ModelSpec, seed: u64) -> Result<Self> {
        Self::build_within(spec, seed, &MemoryBudget::detect()?)
    }

    /// [`Network::build`] with a given memory budget.
    ///
    /// ```
    /// use gradwell_nn::{MemoryBudget, MlpSpec, Network};
    ///
    /// let spec = MlpSpec::new(&[64, 256, 10], "relu".parse()?).to_spec()?;
    /// // 19,210 parameters, each a value and a gradient of 4 bytes: 153,680 bytes.
    /// assert!(Network::<f32>::build_within(&spec, 0, &MemoryBudget::new(153_680)).is_ok());
    /// let err = Network::<f32>::build_within(&spec, 0, &MemoryBudget::new(100_000)).unwrap_err();
    /// assert!(err.to_string().contains("layer 0 (Linear(→256)) alone needs"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Network::build`], against `budget`.
    pub fn build_within(spec: &ModelSpec, seed: u64, budget: &MemoryBudget) -> Result<Self> {
        let plan = spec.plan()?;
        budget.check(&plan, &MemoryUse::build::<F>())?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut tape = Tape::new();
        let root = spec.build_planned(&plan, tape.params_mut(), &mut rng)?;
        Ok(Network {
            spec: spec.clone(),
            plan,
            root,
            tape,
        })
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The plan it was built from: shapes and parameter counts per layer.
    pub fn plan(&self) -> &ModelPlan {
        &self.plan
    }

    /// The layers.
    pub fn root(&self) -> &Sequential<F> {
        &self.root
    }

    /// The layers and the tape together, to run the layers on the tape.
    pub(crate) fn root_and_tape(&mut self) -> (&Sequential<F>, &mut Tape<F>) {
        (&self.root, &mut self.tape)
    }

    /// A forward pass of `x` (already on the tape) in training or evaluation mode; each
    /// top-level layer's output is appended to `taps` when given.
    ///
    /// # Errors
    /// Shapes that do not fit, or a norm layer's complaint (e.g. one sample per feature in
    /// training).
    pub fn forward(
        &mut self,
        x: Var,
        training: bool,
        rng: &mut ChaCha8Rng,
        taps: Option<&mut Vec<Tap>>,
    ) -> Result<Var> {
        let mut ctx = Ctx {
            tape: &mut self.tape,
            training,
            rng,
            taps,
        };
        self.root.forward(&mut ctx, x)
    }

    /// The outputs for a batch `[batch, features]` in evaluation mode, recording nothing.
    /// For samples of more than one axis (`[batch, 28, 28]` before a `Flatten`), use
    /// [`Network::predict_dyn`].
    ///
    /// # Errors
    /// As [`Network::forward`], and when the model's output is not `[batch, features]`.
    pub fn predict(&mut self, x: &ArrayView2<'_, F>) -> Result<Array2<F>> {
        self.predict_dyn(&x.view().into_dyn())?
            .into_dimensionality::<Ix2>()
            .map_err(|_| NnError::Config("the model's output is not [batch, features]".into()))
    }

    /// The outputs for a batch of any rank (`[batch, sample axes…]`) in evaluation mode,
    /// recording nothing.
    ///
    /// ```
    /// use gradwell_nn::{ModelSpec, Network};
    ///
    /// let spec = ModelSpec::parse(
    ///     r#"{"input_shape": [2, 3], "layers": [
    ///         {"type": "flatten"}, {"type": "linear", "out_features": 4}]}"#,
    /// )?;
    /// let mut net = Network::<f32>::build(&spec, 0)?;
    /// let y = net.predict_dyn(&ndarray::ArrayD::zeros(vec![5, 2, 3]).view())?;
    /// assert_eq!(y.shape(), &[5, 4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Network::forward`] (e.g. a sample shape the first layer does not take).
    pub fn predict_dyn(&mut self, x: &ArrayViewD<'_, F>) -> Result<ArrayD<F>> {
        self.tape.reset();
        let was = self.tape.is_recording();
        self.tape.set_recording(false);
        let v = self.tape.input_view(x);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let out = self.forward(v, false, &mut rng, None);
        self.tape.set_recording(was);
        Ok(self.tape.value(out?).to_owned())
    }

    /// The parameter names in store order (PyTorch's state_dict keys).
    pub fn param_names(&self) -> Vec<String> {
        let p = self.tape.params();
        p.ids().map(|id| p.name(id).to_string()).collect()
    }

    /// The handle of a parameter by name.
    pub fn param(&self, name: &str) -> Option<ParamId> {
        let p = self.tape.params();
        p.ids().find(|&id| p.name(id) == name)
    }

    /// Trainable and non-trainable scalar counts.
    pub fn num_params(&self) -> (usize, usize) {
        count_params(&self.root, self.tape.params())
    }

    /// A Keras-style summary: one row per layer (name and type, output shape, parameter
    /// count), then the totals with trainable and non-trainable counts and their size
    /// ([`ModelPlan::summary`], which prints the same without building the model).
    pub fn summary(&self) -> String {
        self.plan.summary::<F>()
    }

    /// Writes the parameters (and buffers) to a safetensors file under their PyTorch
    /// names, so that the same architecture in PyTorch loads them with `load_state_dict`.
    /// The file is written to a temporary name and renamed, so a crash leaves either the
    /// old file or the new one.
    ///
    /// # Errors
    /// [`NnError::Io`] when the file cannot be written.
    pub fn save_safetensors(&self, path: &Path) -> Result<()> {
        let bytes = self.safetensors_bytes()?;
        crate::io::write_atomic(path, &bytes)
    }

    /// The safetensors encoding of the parameters.
    ///
    /// # Errors
    /// Never in practice (the encoder's own errors are passed on).
    pub fn safetensors_bytes(&self) -> Result<Vec<u8>> {
        let store = self.tape.params();
        let mut encoded: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for id in store.ids() {
            let name = store.name(id).to_string();
            let v = store.value(id);
            let (dtype, bytes) = if name.ends_with("num_batches_tracked") {
                (
                    Dtype::I64,
                    v.iter()
                        .flat_map(|x| (x.as_f64() as i64).to_le_bytes())
                        .collect(),
                )
            } else if F::NAME == "f32" {
                (
                    Dtype::F32,
                    v.iter()
                        .flat_map(|x| (x.as_f64() as f32).to_le_bytes())
                        .collect(),
                )
            } else {
                (
                    Dtype::F64,
                    v.iter()
                        .flat_map(|x| x.as_f64().to_le_bytes())
                        .collect::<Vec<u8>>(),
                )
            };
            encoded.push((name, dtype, v.shape().to_vec(), bytes));
        }
        let views: Vec<(String, TensorView<'_>)> = encoded
            .iter()
            .map(|(n, d, s, b)| TensorView::new(*d, s.clone(), b).map(|v| (n.clone(), v)))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| NnError::WeightsFormat {
                path: "<memory>".into(),
                why: e.to_string(),
            })?;
        let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
        safetensors::serialize(views, Some(meta)).map_err(|e| NnError::WeightsFormat {
            path: "<memory>".into(),
            why: e.to_string(),
        })
    }

    /// Loads parameters from a safetensors file. Every name, shape and dtype is checked
    /// first; if anything does not match, the error lists every mismatch and nothing is
    /// loaded.
    ///
    /// # Errors
    /// [`NnError::Io`], [`NnError::WeightsFormat`] or [`NnError::WeightsMismatch`].
    pub fn load_safetensors(&mut self, path: &Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|source| NnError::Io {
            path: path.display().to_string(),
            source,
        })?;
        self.load_safetensors_bytes(&bytes, &path.display().to_string())
    }

    /// [`Network::load_safetensors`] from bytes; `origin` names them in errors.
    ///
    /// # Errors
    /// As [`Network::load_safetensors`].
    pub fn load_safetensors_bytes(&mut self, bytes: &[u8], origin: &str) -> Result<()> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| NnError::WeightsFormat {
            path: origin.to_string(),
            why: e.to_string(),
        })?;
        let store = self.tape.params();
        let mut problems = Vec::new();
        let mut values: Vec<(ParamId, ArrayD<F>)> = Vec::new();
        let ours: Vec<String> = self.param_names();
        for name in st.names() {
            if !ours.iter().any(|n| n == name) {
                problems.push(format!("unexpected tensor `{name}` in the file"));
            }
        }
        for id in store.ids() {
            let name = store.name(id);
            let Ok(t) = st.tensor(name) else {
                problems.push(format!("missing tensor `{name}`"));
                continue;
            };
            let want = store.value(id).shape().to_vec();
            if t.shape() != want.as_slice() {
                problems.push(format!(
                    "`{name}`: shape {:?} in the file, {want:?} in the model",
                    t.shape()
                ));
                continue;
            }
            let decoded: Option<Vec<f64>> = match t.dtype() {
                Dtype::F32 => Some(
                    t.data()
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                        .collect(),
                ),
                Dtype::F64 => Some(
                    t.data()
                        .chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                        .collect(),
                ),
                Dtype::I64 if name.ends_with("num_batches_tracked") => Some(
                    t.data()
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
                        .collect(),
                ),
                _ => None,
            };
            match decoded {
                Some(v)
                    if v.len() == want.iter().product::<usize>()
                        && (F::NAME == "f64" || t.dtype() != Dtype::F64) =>
                {
                    let a =
                        ArrayD::from_shape_vec(IxDyn(&want), v.into_iter().map(F::of).collect())
                            .unwrap_or_else(|_| unreachable!("length checked against the shape"));
                    values.push((id, a));
                }
                _ => problems.push(format!(
                    "`{name}`: dtype {:?} in the file, {} in the model",
                    t.dtype(),
                    F::NAME
                )),
            }
        }
        if !problems.is_empty() {
            return Err(NnError::WeightsMismatch {
                path: origin.to_string(),
                problems,
            });
        }
        let store = self.tape.params_mut();
        for (id, v) in values {
            store.value_mut(id).assign(&v);
        }
        Ok(())
    }
}

impl<F: Float> fmt::Display for Network<F> {
    /// PyTorch's `print(model)` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn write<F: Float>(
            m: &dyn Module<F>,
            indent: usize,
            out: &mut fmt::Formatter<'_>,
        ) -> fmt::Result {
            let children = m.children();
            if children.is_empty() {
                return write!(out, "{}", m.repr());
            }
            writeln!(out, "{}(", m.repr())?;
            for (name, c) in children {
                write!(out, "{:w$}({name}): ", "", w = indent + 2)?;
                write(c, indent + 2, out)?;
                writeln!(out)?;
            }
            write!(out, "{:w$})", "", w = indent)
        }
        write(&self.root, 0, f)
    }
}
