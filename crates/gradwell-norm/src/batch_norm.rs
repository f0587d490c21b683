use std::marker::PhantomData;

use gradwell_autodiff::{Float, ParamId, ParamStore, Tape, Var};
use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};

use crate::batch_op::{Layout, record_train, stats_and_store};
use crate::config::check_width;
use crate::{BatchNormConfig, BatchStats, NormError, Result, batch_norm_eval};

const LAYER: &str = "batch_norm";

/// The full name of a layer's parameter: `prefix.field`, or `field` for an empty prefix
/// (PyTorch's `state_dict` keys).
pub(crate) fn param_name(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// The store handles of the running statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Running {
    mean: ParamId,
    var: ParamId,
    num_batches_tracked: ParamId,
}

/// Batch normalization over the feature axis (axis 1) of `[batch, features]` or
/// `[batch, channels, length]` input: PyTorch's `BatchNorm1d`.
///
/// Its parameters and buffers live in a [`ParamStore`] under PyTorch's `state_dict` names
/// (`prefix.weight`, `prefix.bias`, `prefix.running_mean`, `prefix.running_var`,
/// `prefix.num_batches_tracked`), so they are saved with the weights; the running
/// statistics and the counter are non-trainable (optimizers skip them). The counter is
/// held in the float type: exact up to 2²⁴ batches in f32 (after which it stops growing,
/// which only matters with `momentum: None`, where the factor is then below 6·10⁻⁸).
///
/// - **Training** ([`BatchNorm::forward`] with `training = true`): normalizes with the
///   batch mean and biased variance in one fused op (backward for input, γ and β in closed
///   form), then updates `running ← (1 − f)·running + f·batch` with the **unbiased** batch
///   variance and `f = momentum` (or `1/num_batches_tracked` for `momentum: None`).
/// - **Evaluation**: the affine map of the running statistics,
///   `y = (x − running_mean)/√(running_var + eps)·γ + β`; any batch size, one included.
///   Without tracked statistics batch statistics are used, as in PyTorch.
///
/// ```
/// use gradwell_autodiff::Tape;
/// use gradwell_norm::{BatchNorm, BatchNormConfig};
/// use ndarray::array;
///
/// let mut tape = Tape::<f64>::new();
/// let bn = BatchNorm::new(tape.params_mut(), "bn", 2, BatchNormConfig::default())?;
/// let x = tape.input(array![[1.0, 10.0], [3.0, 30.0]].into_dyn());
/// let y = bn.forward(&mut tape, x, true)?;
/// assert!((tape.value(y)[[0, 1]] + 1.0).abs() < 1e-4); // (10 − 20)/√(100 + eps)
///
/// // running_mean = 0.9·0 + 0.1·[2, 20]; running_var = 0.9·1 + 0.1·[2, 200] (unbiased).
/// let state = bn.state(tape.params()).expect("tracked");
/// assert_eq!(state.num_batches_tracked, 1);
/// assert!((state.running_var[1] - 20.9).abs() < 1e-12);
///
/// // A batch of one is an error in training, fine in evaluation.
/// tape.reset();
/// let one = tape.input(array![[1.0, 2.0]].into_dyn());
/// assert!(bn.forward(&mut tape, one, true).is_err());
/// assert!(bn.forward(&mut tape, one, false).is_ok());
/// # Ok::<(), gradwell_norm::NormError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BatchNorm<F> {
    features: usize,
    config: BatchNormConfig,
    weight: Option<ParamId>,
    bias: Option<ParamId>,
    running: Option<Running>,
    _float: PhantomData<fn() -> F>,
}

/// The running statistics of a [`BatchNorm`], detached from the store: what a checkpoint
/// saves and restores (PyTorch's buffer names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchNormState<F> {
    /// The running mean, one per feature.
    pub running_mean: Vec<F>,
    /// The running (unbiased) variance, one per feature.
    pub running_var: Vec<F>,
    /// The number of training batches seen.
    pub num_batches_tracked: u64,
}

impl<F: Float> BatchNorm<F> {
    /// A layer over `features` features, its parameters added to `store` under `prefix`
    /// (see the type's docs for names): γ = 1 and β = 0 when affine, running mean 0,
    /// running variance 1 and a zero counter when tracking.
    ///
    /// # Errors
    /// [`NormError::InvalidConfig`] for a setting out of range or zero features.
    pub fn new(
        store: &mut ParamStore<F>,
        prefix: &str,
        features: usize,
        config: BatchNormConfig,
    ) -> Result<Self> {
        config.validate()?;
        check_width(LAYER, "features", features)?;
        let vec = |v: f64| ArrayD::from_elem(IxDyn(&[features]), F::of(v));
        let weight = config
            .affine
            .then(|| store.add(param_name(prefix, "weight"), vec(config.weight_init)));
        let bias =
            (config.affine && config.bias).then(|| store.add(param_name(prefix, "bias"), vec(0.0)));
        let running = config.track_running_stats.then(|| Running {
            mean: store.add_with(param_name(prefix, "running_mean"), vec(0.0), false),
            var: store.add_with(param_name(prefix, "running_var"), vec(1.0), false),
            num_batches_tracked: store.add_with(
                param_name(prefix, "num_batches_tracked"),
                ArrayD::zeros(IxDyn(&[])),
                false,
            ),
        });
        Ok(BatchNorm {
            features,
            config,
            weight,
            bias,
            running,
            _float: PhantomData,
        })
    }

    /// The number of features (channels).
    pub fn features(&self) -> usize {
        self.features
    }

    /// The settings.
    pub fn config(&self) -> &BatchNormConfig {
        &self.config
    }

    /// The scale γ, when affine.
    pub fn weight(&self) -> Option<ParamId> {
        self.weight
    }

    /// The shift β, when affine with bias.
    pub fn bias(&self) -> Option<ParamId> {
        self.bias
    }

    /// The running mean, when tracking.
    pub fn running_mean(&self) -> Option<ParamId> {
        self.running.map(|r| r.mean)
    }

    /// The running variance, when tracking.
    pub fn running_var(&self) -> Option<ParamId> {
        self.running.map(|r| r.var)
    }

    /// The counter of training batches, when tracking.
    pub fn num_batches_tracked(&self) -> Option<ParamId> {
        self.running.map(|r| r.num_batches_tracked)
    }

    /// Checks that `store` holds this layer's parameters with their shapes.
    fn check_store(&self, store: &ParamStore<F>) -> Result<()> {
        let (channels, scalar): (&[usize], &[usize]) = (&[self.features], &[]);
        let r = self.running;
        let expected = [
            (self.weight, "weight", channels),
            (self.bias, "bias", channels),
            (r.map(|r| r.mean), "running_mean", channels),
            (r.map(|r| r.var), "running_var", channels),
            (
                r.map(|r| r.num_batches_tracked),
                "num_batches_tracked",
                scalar,
            ),
        ];
        for (id, param, shape) in expected {
            if let Some(id) = id
                && (id.index() >= store.len() || store.value(id).shape() != shape)
            {
                return Err(NormError::ForeignStore {
                    layer: LAYER,
                    param,
                });
            }
        }
        Ok(())
    }

    /// Normalizes `x` (`[batch, features]` or `[batch, features, length]`): with batch
    /// statistics when `training` (updating the running statistics, if tracked) or when
    /// no running statistics are tracked; with the running statistics otherwise. The
    /// tape's store must be the one the layer was built on.
    ///
    /// # Errors
    /// [`NormError::TooFewValues`] when batch statistics are needed and a channel has one
    /// value; [`NormError::Features`] for an input of another width; a shape error for an
    /// input that is not 2D or 3D; [`NormError::ForeignStore`] for a tape whose store does
    /// not hold the layer's parameters. Nothing is changed on error.
    pub fn forward(&self, tape: &mut Tape<F>, x: Var, training: bool) -> Result<Var> {
        self.check_store(tape.params())?;
        let shape = tape.shape(x)?;
        let lay = Layout::of(shape)?;
        if lay.c != self.features {
            return Err(NormError::Features {
                layer: LAYER,
                shape: shape.to_vec(),
                axis: 1,
                expected: self.features,
                got: lay.c,
            });
        }
        let w = self.weight.map(|id| tape.param(id));
        let b = self.bias.map(|id| tape.param(id));
        let eps = self.config.eps;
        match (training, self.running) {
            (false, Some(r)) => {
                let mean = tape.param(r.mean);
                let var = tape.param(r.var);
                batch_norm_eval(tape, x, mean, var, w, b, eps)
            }
            (true, Some(r)) => {
                let y = record_train(tape, x, w, b, eps)?;
                let (stats, store) = stats_and_store(tape, y);
                self.update_running(store, r, stats);
                Ok(y)
            }
            (_, None) => record_train(tape, x, w, b, eps),
        }
    }

    /// `num_batches_tracked += 1`, then the running averages with factor `f`.
    fn update_running(&self, store: &mut ParamStore<F>, r: Running, stats: &BatchStats) {
        let mut counter = store.value_mut(r.num_batches_tracked);
        let n = counter.iter().next().map_or(0.0, |c| c.as_f64()) + 1.0;
        counter.fill(F::of(n));
        let f = self.config.momentum.unwrap_or(1.0 / n);
        let blend = |old: &mut F, new: f64| *old = F::of((1.0 - f) * old.as_f64() + f * new);
        for (rm, &mu) in store.value_mut(r.mean).iter_mut().zip(&stats.mean) {
            blend(rm, mu);
        }
        for (rv, v) in store.value_mut(r.var).iter_mut().zip(stats.unbiased_var()) {
            blend(rv, v);
        }
    }

    /// A copy of the running statistics, or `None` when they are not tracked (or `store`
    /// does not hold them).
    pub fn state(&self, store: &ParamStore<F>) -> Option<BatchNormState<F>> {
        let r = self.running?;
        self.check_store(store).ok()?;
        Some(BatchNormState {
            running_mean: store.value(r.mean).iter().copied().collect(),
            running_var: store.value(r.var).iter().copied().collect(),
            num_batches_tracked: store
                .value(r.num_batches_tracked)
                .iter()
                .next()
                .map_or(0, |c| c.as_f64() as u64),
        })
    }

    /// Restores running statistics saved by [`BatchNorm::state`].
    ///
    /// # Errors
    /// [`NormError::InvalidState`] when the layer tracks no statistics, the lengths are
    /// not the layer's width, or a variance is negative or a value not finite;
    /// [`NormError::ForeignStore`] for a store without the layer's parameters. Nothing is
    /// changed on error.
    pub fn load_state(&self, store: &mut ParamStore<F>, state: &BatchNormState<F>) -> Result<()> {
        let invalid = |why: String| NormError::InvalidState { layer: LAYER, why };
        let Some(r) = self.running else {
            return Err(invalid(
                "the layer does not track running statistics".into(),
            ));
        };
        self.check_store(store)?;
        for (what, v) in [
            ("running_mean", &state.running_mean),
            ("running_var", &state.running_var),
        ] {
            if v.len() != self.features {
                return Err(invalid(format!(
                    "{what} has {} values, the layer has {} features",
                    v.len(),
                    self.features
                )));
            }
            if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
                return Err(invalid(format!("{what} holds the non-finite value {bad}")));
            }
        }
        if let Some(bad) = state.running_var.iter().find(|&&v| v < F::zero()) {
            return Err(invalid(format!(
                "running_var holds the negative value {bad}"
            )));
        }
        let copy = |dst: ndarray::ArrayViewMutD<'_, F>, src: &[F]| {
            dst.into_iter().zip(src).for_each(|(d, &s)| *d = s);
        };
        copy(store.value_mut(r.mean), &state.running_mean);
        copy(store.value_mut(r.var), &state.running_var);
        store
            .value_mut(r.num_batches_tracked)
            .fill(F::of(state.num_batches_tracked as f64));
        Ok(())
    }
}
