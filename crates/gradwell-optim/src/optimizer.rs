//! The [`Optimizer`] trait, its saved state, the [`UpdateRule`] trait an optimizer's
//! settings implement, and [`RuleOptimizer`], which runs any update rule with the
//! bookkeeping every optimizer shares (per-parameter state keyed by name, the finite check,
//! groups and weight decay).

use std::collections::{BTreeMap, HashMap};

use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use crate::param::first_non_finite;
use crate::{OptimError, ParamGroups, ParamSlot, Registered, validate};

/// One update rule over named parameters.
///
/// A step first checks every gradient (lengths, then finiteness) and resolves every
/// parameter's state; only if all is well does it touch any weight. A NaN or infinite
/// gradient is therefore reported as [`OptimError::NonFiniteGradient`] naming the parameter,
/// with every weight and every state buffer left exactly as it was.
///
/// ```
/// use gradwell_optim::{Optimizer, ParamSlot, Sgd, SgdConfig};
///
/// let mut opt = Sgd::<f64>::new(SgdConfig::default().lr(0.1).momentum(0.9))?;
/// let (mut w, mut g) = (vec![1.0], vec![1.0]);
/// opt.step(&mut [ParamSlot::new("w", &mut w, &mut g)])?;
/// g[0] = 2.0;
/// opt.step(&mut [ParamSlot::new("w", &mut w, &mut g)])?;
/// assert!((w[0] - 0.61).abs() < 1e-12); // docs/parity.md#sgd
///
/// g[0] = f64::NAN;
/// let err = opt.step(&mut [ParamSlot::new("w", &mut w, &mut g)]).unwrap_err();
/// assert!(err.to_string().contains("`w`"));
/// assert!((w[0] - 0.61).abs() < 1e-12); // untouched
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
pub trait Optimizer<F: Float> {
    /// The PyTorch-style name, e.g. `"SGD"`.
    fn name(&self) -> &'static str;

    /// One update of every parameter from its gradient (gradients are read, never written).
    fn step(&mut self, params: &mut [ParamSlot<'_, F>]) -> Result<StepReport, OptimError>;

    /// The current base learning rate (a group's rate is this times its `lr_scale`).
    fn learning_rate(&self) -> f64;

    /// Sets the base learning rate (what a schedule does before each step); `lr` must be
    /// finite and `>= 0` (a schedule may reach 0).
    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError>;

    /// The momentum-like setting a one-cycle schedule cycles: SGD's and RMSprop's
    /// `momentum`, Adam's `beta1`; `None` for an optimizer without one.
    fn momentum(&self) -> Option<f64>;

    /// Sets [`Optimizer::momentum`]; errors for an optimizer without it (Adagrad, SGD or
    /// RMSprop built with momentum 0) or a value outside `[0, 1)`.
    fn set_momentum(&mut self, momentum: f64) -> Result<(), OptimError>;

    /// Steps taken so far.
    fn steps(&self) -> u64;

    /// The buffers it keeps per parameter, each as long as the parameter (Adam's two
    /// moments, SGD's momentum buffer): what its state costs in memory, known before the
    /// first step allocates it.
    ///
    /// ```
    /// use gradwell_optim::{Adam, AdamConfig, Optimizer, ParamSlot, Sgd, SgdConfig};
    ///
    /// let mut adam = Adam::<f32>::new(AdamConfig::default())?;
    /// assert_eq!(adam.state_buffers(), 2);
    /// let (mut w, mut g) = (vec![1.0; 3], vec![0.5; 3]);
    /// adam.step(&mut [ParamSlot::new("w", &mut w, &mut g)])?;
    /// assert_eq!(adam.state().params[0].buffers.len(), adam.state_buffers());
    /// assert_eq!(Adam::<f32>::new(AdamConfig::default().amsgrad(true))?.state_buffers(), 3);
    /// assert_eq!(Sgd::<f32>::new(SgdConfig::default())?.state_buffers(), 0);
    /// assert_eq!(Sgd::<f32>::new(SgdConfig::default().momentum(0.9))?.state_buffers(), 1);
    /// # Ok::<(), gradwell_optim::OptimError>(())
    /// ```
    fn state_buffers(&self) -> usize;

    /// Everything needed to continue exactly: per-parameter buffers and step counts, the
    /// current learning rate and momentum. Hyper-parameters that no schedule changes are
    /// configuration and are not part of the state.
    fn state(&self) -> OptimizerState<F>;

    /// Restores [`Optimizer::state`]; the further steps are bit-identical to those of the
    /// optimizer that saved it (state saved before the first step restores a fresh one). Fails (changing nothing) on state no optimizer of this kind
    /// can be in: another optimizer's, other buffers or lengths, a buffer value that is not
    /// finite, a negative second moment (`exp_avg_sq`, `max_exp_avg_sq`, `square_avg`,
    /// `sum`), or a parameter that has taken more steps than the optimizer. The next step
    /// fails if the model's parameters are not exactly the saved ones, with the same
    /// lengths.
    fn load_state(&mut self, state: &OptimizerState<F>) -> Result<(), OptimError>;
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// The optimizer's step count after this step (1 for the first).
    pub step: u64,
    /// The base learning rate used.
    pub lr: f64,
    /// Number of parameters updated.
    pub params: usize,
    /// Number of scalar elements updated.
    pub elements: usize,
}

/// An optimizer's saved state (serde): enough to continue a run bit for bit.
///
/// Buffer names follow PyTorch's `state_dict` (`momentum_buffer`, `exp_avg`, `exp_avg_sq`,
/// `max_exp_avg_sq`, `square_avg`, `grad_avg`, `sum`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState<F> {
    /// The optimizer's name ([`Optimizer::name`]); loading into another kind fails.
    pub kind: String,
    /// Steps taken.
    pub steps: u64,
    /// The base learning rate at the time of saving.
    pub lr: f64,
    /// The momentum-like setting at the time of saving, if the optimizer has one.
    pub momentum: Option<f64>,
    /// Per-parameter state, in the order parameters were first seen.
    pub params: Vec<ParamState<F>>,
}

/// One parameter's saved state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamState<F> {
    /// The parameter's name.
    pub name: String,
    /// Its number of elements.
    pub len: usize,
    /// Steps this parameter has taken (PyTorch keeps this per parameter; it drives Adam's
    /// bias correction and Adagrad's decay).
    pub step: u64,
    /// Named buffers, each `len` long.
    pub buffers: BTreeMap<String, Vec<F>>,
}

/// The per-parameter numbers an [`UpdateRule::update`] needs for one step.
///
/// Weight decay comes in both forms for free when the update starts from
/// `w = p·keep` and `g + l2·w`: one of them is the identity.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// This parameter's learning rate (base × group scale).
    pub lr: f64,
    /// Decoupled decay factor `1 − lr·λ` applied to the weight first (1 when coupled).
    pub keep: f64,
    /// Coupled L2 coefficient added to the gradient as `λ·p` (0 when decoupled).
    pub l2: f64,
    /// This parameter's step count, already incremented (1 on its first step).
    pub step: u64,
}

/// One parameter's live state.
struct Slot<F> {
    name: String,
    len: usize,
    step: u64,
    bufs: Vec<Vec<F>>,
    lr_scale: f64,
    weight_decay: f64,
    /// The step call in which the slot was last resolved (duplicate detection).
    seen: u64,
}

/// One per-parameter state buffer an optimizer keeps, each as long as the parameter.
#[derive(Debug, Clone, Copy)]
pub struct Buffer {
    /// PyTorch's `state_dict` name.
    name: &'static str,
    /// Every element's value before the first step.
    init: f64,
    /// Whether it accumulates squared gradients (a second moment), so that no element can
    /// be negative: loading state with a negative one fails.
    squares: bool,
}

impl Buffer {
    /// A buffer whose elements may take any sign (momentum, first moments), named as in
    /// PyTorch's `state_dict`.
    pub const fn signed(name: &'static str, init: f64) -> Self {
        Buffer {
            name,
            init,
            squares: false,
        }
    }

    /// A buffer of accumulated squares (second moments); `init` must be `>= 0`.
    pub const fn squares(name: &'static str, init: f64) -> Self {
        Buffer {
            name,
            init,
            squares: true,
        }
    }
}

/// State and bookkeeping shared by every optimizer.
pub(crate) struct Core<F> {
    owner: &'static str,
    /// The per-parameter buffers, in the order the update rule receives them.
    buffers: Vec<Buffer>,
    lr: f64,
    weight_decay: f64,
    decoupled: bool,
    groups: ParamGroups,
    slots: Vec<Slot<F>>,
    index: HashMap<String, usize>,
    /// Scratch: slot index of each parameter of the current step (reused, no allocation
    /// once grown).
    order: Vec<usize>,
    calls: u64,
    steps: u64,
    /// Set by `load_state`: the next step must present exactly the saved parameters.
    restored: bool,
}

impl<F: Float> Core<F> {
    /// The state of an optimizer before its first step (the settings are checked already);
    /// the rules of `leading` come before the settings' groups.
    fn new(
        owner: &'static str,
        buffers: Vec<Buffer>,
        settings: &Settings<'_>,
        leading: &ParamGroups,
    ) -> Self {
        let groups = settings
            .groups
            .rules()
            .iter()
            .cloned()
            .fold(leading.clone(), ParamGroups::rule);
        Core {
            owner,
            buffers,
            lr: settings.lr,
            weight_decay: settings.weight_decay,
            decoupled: settings.decoupled_weight_decay,
            groups,
            slots: Vec::new(),
            index: HashMap::new(),
            order: Vec::new(),
            calls: 0,
            steps: 0,
            restored: false,
        }
    }

    fn set_lr(&mut self, lr: f64) -> Result<(), OptimError> {
        validate::non_negative(self.owner, "lr", lr)?;
        self.lr = lr;
        Ok(())
    }

    fn new_slot(&mut self, name: &str, len: usize) -> usize {
        let (lr_scale, weight_decay) = self.groups.settings(name, self.weight_decay);
        let bufs = self
            .buffers
            .iter()
            .map(|b| vec![F::of(b.init); len])
            .collect();
        self.slots.push(Slot {
            name: name.to_string(),
            len,
            step: 0,
            bufs,
            lr_scale,
            weight_decay,
            seen: 0,
        });
        self.index.insert(name.to_string(), self.slots.len() - 1);
        self.slots.len() - 1
    }

    /// Checks every parameter and resolves its slot into `self.order`; changes no weight.
    fn prepare(&mut self, params: &[ParamSlot<'_, F>]) -> Result<(), OptimError> {
        for p in params {
            if p.value.len() != p.grad.len() {
                return Err(OptimError::LengthMismatch {
                    name: p.name.to_string(),
                    value: p.value.len(),
                    grad: p.grad.len(),
                });
            }
            if let Some(index) = first_non_finite(p.grad) {
                return Err(OptimError::NonFiniteGradient {
                    name: p.name.to_string(),
                    index,
                    value: p.grad[index].as_f64(),
                });
            }
        }
        self.calls += 1;
        self.order.clear();
        for (i, p) in params.iter().enumerate() {
            // Fast path: parameters usually come in the order they were first seen.
            let idx = match self.slots.get(i) {
                Some(s) if s.name == p.name => i,
                _ => match self.index.get(p.name) {
                    Some(&idx) => idx,
                    None if self.restored => {
                        return Err(OptimError::StateModelMismatch {
                            why: format!("parameter `{}` has no saved state", p.name),
                        });
                    }
                    None => self.new_slot(p.name, p.len()),
                },
            };
            let slot = &mut self.slots[idx];
            if slot.seen == self.calls {
                return Err(OptimError::DuplicateParameter {
                    name: p.name.to_string(),
                });
            }
            slot.seen = self.calls;
            if slot.len != p.len() {
                return Err(OptimError::StateMismatch {
                    name: p.name.to_string(),
                    state: slot.len,
                    param: p.len(),
                });
            }
            self.order.push(idx);
        }
        if self.restored
            && let Some(s) = self.slots.iter().find(|s| s.seen != self.calls)
        {
            return Err(OptimError::StateModelMismatch {
                why: format!(
                    "saved state has parameter `{}` which the step was not given",
                    s.name
                ),
            });
        }
        Ok(())
    }

    /// Checks, then runs `update` on every parameter with its context and buffers.
    fn step(
        &mut self,
        params: &mut [ParamSlot<'_, F>],
        mut update: impl FnMut(&Ctx, &mut [F], &[F], &mut [Vec<F>]),
    ) -> Result<StepReport, OptimError> {
        self.prepare(params)?;
        let mut elements = 0;
        for (p, &idx) in params.iter_mut().zip(&self.order) {
            let slot = &mut self.slots[idx];
            slot.step += 1;
            let lr = self.lr * slot.lr_scale;
            let (keep, l2) = if self.decoupled {
                (1.0 - lr * slot.weight_decay, 0.0)
            } else {
                (1.0, slot.weight_decay)
            };
            let ctx = Ctx {
                lr,
                keep,
                l2,
                step: slot.step,
            };
            // The optimizers pass `#[inline(always)]` closures, so the update loop is
            // compiled inside `vectorized` (16 lanes on AVX-512 instead of 4).
            gradwell_tensor::vectorized(
                #[inline(always)]
                || update(&ctx, p.value, p.grad, &mut slot.bufs),
            );
            elements += p.len();
        }
        self.steps += 1;
        self.restored = false;
        Ok(StepReport {
            step: self.steps,
            lr: self.lr,
            params: params.len(),
            elements,
        })
    }

    fn state(&self, momentum: Option<f64>) -> OptimizerState<F> {
        OptimizerState {
            kind: self.owner.to_string(),
            steps: self.steps,
            lr: self.lr,
            momentum,
            params: self
                .slots
                .iter()
                .map(|s| ParamState {
                    name: s.name.clone(),
                    len: s.len,
                    step: s.step,
                    buffers: self
                        .buffers
                        .iter()
                        .zip(&s.bufs)
                        .map(|(spec, b)| (spec.name.to_string(), b.clone()))
                        .collect(),
                })
                .collect(),
        }
    }

    /// Validates `state` completely, then replaces the live state with it.
    fn load(&mut self, state: &OptimizerState<F>) -> Result<(), OptimError> {
        let bad = |why: String| Err(OptimError::BadState { why });
        if state.kind != self.owner {
            return bad(format!(
                "it was saved by {}, not {}",
                state.kind, self.owner
            ));
        }
        validate::non_negative(self.owner, "lr", state.lr)?;
        let mut slots = Vec::with_capacity(state.params.len());
        let mut index = HashMap::with_capacity(state.params.len());
        for p in &state.params {
            if index.insert(p.name.clone(), slots.len()).is_some() {
                return bad(format!("parameter `{}` appears twice", p.name));
            }
            if p.step > state.steps {
                return bad(format!(
                    "parameter `{}` has taken {} steps, more than the optimizer's {}",
                    p.name, p.step, state.steps
                ));
            }
            let expected: Vec<&str> = self.buffers.iter().map(|b| b.name).collect();
            let found: Vec<&str> = p.buffers.keys().map(String::as_str).collect();
            let mut sorted = expected.clone();
            sorted.sort_unstable();
            if sorted != found {
                return bad(format!(
                    "parameter `{}` has buffers {found:?} but this {} needs {expected:?}",
                    p.name, self.owner
                ));
            }
            let mut bufs = Vec::with_capacity(expected.len());
            for spec in &self.buffers {
                let n = spec.name;
                let b = &p.buffers[n];
                if b.len() != p.len {
                    return bad(format!(
                        "parameter `{}`: buffer `{n}` has {} elements, not {}",
                        p.name,
                        b.len(),
                        p.len
                    ));
                }
                if let Some(i) = first_non_finite(b) {
                    return bad(format!(
                        "parameter `{}`: buffer `{n}` holds {} at element {i}, which is not finite",
                        p.name,
                        b[i].as_f64()
                    ));
                }
                if spec.squares
                    && let Some(i) = b.iter().position(|&x| x < F::zero())
                {
                    return bad(format!(
                        "parameter `{}`: buffer `{n}` holds {} at element {i}, but it accumulates squares and cannot be negative",
                        p.name,
                        b[i].as_f64()
                    ));
                }
                bufs.push(b.clone());
            }
            let (lr_scale, weight_decay) = self.groups.settings(&p.name, self.weight_decay);
            slots.push(Slot {
                name: p.name.clone(),
                len: p.len,
                step: p.step,
                bufs,
                lr_scale,
                weight_decay,
                seen: 0,
            });
        }
        // State without parameters (saved before the first step) restores a fresh
        // optimizer: any parameters may come next.
        self.restored = !slots.is_empty();
        self.slots = slots;
        self.index = index;
        self.lr = state.lr;
        self.steps = state.steps;
        self.calls = 0;
        Ok(())
    }
}

/// The settings every optimizer has, read from its config by [`RuleOptimizer`].
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// Learning rate, in `(0, MAX_LR]` ([`crate::MAX_LR`]).
    pub lr: f64,
    /// Weight decay λ, `>= 0`.
    pub weight_decay: f64,
    /// Decoupled decay `p ← p·(1 − lr·λ)` before the update instead of coupled L2
    /// `g ← g + λ·p`.
    pub decoupled_weight_decay: bool,
    /// Per-name learning-rate multipliers and weight-decay overrides.
    pub groups: &'a ParamGroups,
}

impl Settings<'_> {
    /// Checks the shared settings; every [`Registered::check`] of an optimizer starts with
    /// this.
    ///
    /// # Errors
    /// The first bad value, naming it.
    pub fn check(&self, owner: &'static str) -> Result<(), OptimError> {
        validate::lr(owner, "lr", self.lr)?;
        validate::non_negative(owner, "weight_decay", self.weight_decay)?;
        self.groups.validate(owner)
    }
}

/// An optimizer's settings and its update rule: what one optimizer file writes (see
/// `sgd.rs`, or the recipe in CONTRIBUTING.md). [`RuleOptimizer`] runs it, and the
/// registry ([`OptimizerKind`](crate::OptimizerKind)) names it, parses, prints and
/// serializes it, builds it and finds it in every generic test.
///
/// [`Registered::check`] must start with `self.settings().check(Self::TORCH)?` (a
/// registry-wide test holds every optimizer to it).
pub trait UpdateRule: Registered {
    /// PyTorch's class name (`"SGD"`): [`Optimizer::name`], recorded in saved state.
    const TORCH: &'static str;

    /// The settings every optimizer has.
    fn settings(&self) -> Settings<'_>;

    /// The buffers kept per parameter, in the order [`UpdateRule::update`] receives them.
    fn buffers(&self) -> Vec<Buffer>;

    /// One update of one parameter `p` from its gradient `g`, with its buffers. It runs
    /// inside `gradwell_tensor::vectorized`: mark the implementation and any kernel it
    /// calls `#[inline(always)]` so that its loop is compiled for AVX-512 there, and
    /// keep one loop over the elements with no branch inside.
    fn update<F: Float>(&self, ctx: &Ctx, p: &mut [F], g: &[F], bufs: &mut [Vec<F>]);

    /// The momentum-like setting a one-cycle schedule cycles; `None` (the default) for an
    /// optimizer without one.
    fn momentum(&self) -> Option<f64> {
        None
    }

    /// Sets [`UpdateRule::momentum`], checking it; the default refuses (no momentum).
    ///
    /// # Errors
    /// [`OptimError::NoMomentum`], or the value out of range.
    fn set_momentum(&mut self, momentum: f64) -> Result<(), OptimError> {
        let _ = momentum;
        Err(OptimError::NoMomentum {
            optimizer: Self::TORCH,
            why: "",
        })
    }
}

/// Any [`UpdateRule`] as an [`Optimizer`]: the rule's settings and the state every
/// optimizer keeps. [`Sgd`](crate::Sgd), [`Adam`](crate::Adam) and the others are this
/// type for their settings.
pub struct RuleOptimizer<R: UpdateRule, F: Float> {
    config: R,
    core: Core<F>,
}

impl<R: UpdateRule, F: Float> RuleOptimizer<R, F> {
    /// Checks the settings and builds the optimizer.
    ///
    /// # Errors
    /// A setting out of range, naming it.
    pub fn new(config: R) -> Result<Self, OptimError> {
        Self::with_leading_groups(config, &ParamGroups::new())
    }

    /// As [`RuleOptimizer::new`], with the rules of `leading` before the settings' own
    /// groups (the trainer's `no_decay_on_bias_and_norm`).
    ///
    /// # Errors
    /// A setting out of range, naming it.
    pub fn with_leading_groups(config: R, leading: &ParamGroups) -> Result<Self, OptimError> {
        config.check()?;
        leading.validate(R::TORCH)?;
        let core = Core::new(R::TORCH, config.buffers(), &config.settings(), leading);
        Ok(RuleOptimizer { config, core })
    }

    /// The settings it was built with (momentum as currently set).
    pub fn config(&self) -> &R {
        &self.config
    }
}

impl<R: UpdateRule, F: Float> Optimizer<F> for RuleOptimizer<R, F> {
    fn name(&self) -> &'static str {
        R::TORCH
    }

    fn step(&mut self, params: &mut [ParamSlot<'_, F>]) -> Result<StepReport, OptimError> {
        let config = &self.config;
        self.core.step(
            params,
            #[inline(always)]
            |c: &Ctx, p, g, bufs| config.update(c, p, g, bufs),
        )
    }

    fn learning_rate(&self) -> f64 {
        self.core.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        self.core.set_lr(lr)
    }

    fn momentum(&self) -> Option<f64> {
        self.config.momentum()
    }

    fn set_momentum(&mut self, momentum: f64) -> Result<(), OptimError> {
        self.config.set_momentum(momentum)
    }

    fn steps(&self) -> u64 {
        self.core.steps
    }

    fn state_buffers(&self) -> usize {
        self.core.buffers.len()
    }

    fn state(&self) -> OptimizerState<F> {
        self.core.state(self.config.momentum())
    }

    fn load_state(&mut self, state: &OptimizerState<F>) -> Result<(), OptimError> {
        let before = self.config.clone();
        if let Some(m) = state.momentum {
            self.config.set_momentum(m)?;
        }
        let loaded = self.core.load(state);
        if loaded.is_err() {
            self.config = before;
        }
        loaded
    }
}

/// Linear interpolation `a + w·(b − a)` computed as PyTorch's `lerp_` does (from the
/// nearer end, which decides the last bit).
#[inline(always)]
pub(crate) fn lerp<F: Float>(a: F, b: F, w: F, from_start: bool) -> F {
    if from_start {
        a + w * (b - a)
    } else {
        b - (b - a) * (F::one() - w)
    }
}
