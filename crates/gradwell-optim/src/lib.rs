//! Optimizers for gradwell, with PyTorch's exact update rules and defaults: [`Sgd`]
//! (momentum, dampening, Nesterov), [`Adam`] (AMSGrad) and [`AdamW`], [`Rmsprop`]
//! (centered, momentum) and [`Adagrad`]; coupled L2 and decoupled weight decay; parameter
//! groups by name ([`ParamGroups`]); gradient clipping ([`clip_grad_norm`],
//! [`clip_grad_value`], [`GradClip`]); learning-rate schedules behind one [`Schedule`] trait
//! ([`LrSchedule`] for the closed forms, [`ReduceLrOnPlateau`]).
//!
//! # Registries
//!
//! [`OptimizerKind`] names every optimizer and [`ScheduleKind`] every schedule. Each is
//! generated from a list with one line per file (`sgd.rs`, `schedule/step.rs`, …, each
//! file also declared by its `mod` line): the file holds the settings (serde, `Default` =
//! PyTorch's) implementing [`UpdateRule`] or [`ScheduleRule`], and the list gives it its
//! parsing (`"sgd:lr=0.1"`, `"step:30,0.5"`), printing, serde (a name or a table with
//! `kind`), the valid names in error messages, one-setting changes
//! ([`OptimizerKind::set`]), building, and every generic test. The text and table forms
//! are described in the [`registry`](mod@registry) module; a training run names a schedule with
//! [`ScheduleSpec`] (the kind and whether it advances per step or per epoch).
//!
//! # Design choice: plain slices, not tensors
//!
//! An optimizer sees a parameter as a name, a value slice and a gradient slice
//! ([`ParamSlot`]). It knows nothing of autodiff, layers or shapes, so the autodiff crate's
//! parameter store and a user's own arrays drive it alike, and each update is one in-place
//! pass over contiguous memory that the compiler vectorizes. The cost is that the caller
//! must give stable, unique names: state is keyed by name (and checked against the length),
//! which is what makes saved state refuse to load into a different model instead of
//! silently mixing buffers.
//!
//! Every step first checks all gradients; a NaN or infinite one is an error naming the
//! parameter, and then no weight has moved. Hyper-parameters are validated once, when an
//! optimizer, schedule or clipping rule is built, with an error naming the bad value.
//!
//! ```
//! use gradwell_optim::{
//!     AdamWConfig, AdamW, LrSchedule, NormType, Optimizer, ParamGroups, ParamSlot, Schedule,
//!     apply_schedule, clip_grad_norm, zero_grad,
//! };
//!
//! // Minimize ‖w − 3‖² with AdamW, no decay on the bias, warm-up then cosine.
//! let mut config = AdamWConfig::default();
//! config.lr = 0.1;
//! let mut opt = AdamW::<f64>::with_leading_groups(config, &ParamGroups::no_decay_on_bias_and_norm())?;
//! let warm_cos = r#"sequential:["linear:0.1,1,5","cosine"],[5]"#.parse()?;
//! let mut schedule = LrSchedule::new(0.1, warm_cos, 200)?;
//! let (mut w, mut gw) = (vec![0.0; 4], vec![0.0; 4]);
//! let (mut b, mut gb) = (vec![0.0], vec![0.0]);
//! for _ in 0..200 {
//!     let mut params = [ParamSlot::new("w", &mut w, &mut gw), ParamSlot::new("bias", &mut b, &mut gb)];
//!     zero_grad(&mut params);
//!     for p in params.iter_mut() {
//!         for (g, v) in p.grad.iter_mut().zip(p.value.iter()) {
//!             *g = 2.0 * (v - 3.0);
//!         }
//!     }
//!     clip_grad_norm(&mut params, 10.0, NormType::L2, true)?;
//!     apply_schedule(&schedule, &mut opt)?;
//!     opt.step(&mut params)?;
//!     schedule.step(None)?;
//! }
//! assert!((b[0] - 3.0).abs() < 1e-2);
//! # Ok::<(), gradwell_optim::OptimError>(())
//! ```
//!
//! # PyTorch parity
//!
//! Same update rules, defaults and first-step behaviour as `torch.optim` (single-tensor
//! path), checked against trajectories recorded from PyTorch (`fixtures/`). Deliberate
//! differences:
//!
//! - Hyper-parameters are range-checked more strictly (momentum and betas in `[0, 1)`,
//!   `0 < lr <= MAX_LR` = 100 at construction, `max_norm > 0`), and a bad value is an
//!   error.
//! - A step with a non-finite gradient is refused (PyTorch applies it).
//! - Decoupled weight decay (`decoupled_weight_decay`) is available on every optimizer, not
//!   only Adam: `p ← p·(1 − lr·λ)` before the update, with the group's current rate.
//! - Centered RMSprop takes `√max(v − ḡ², 0)`, where rounding could otherwise give NaN.
//! - Parameter groups are rules on names, and a group's rate is a multiple of one scheduled
//!   base rate ([`ParamGroups`]).
//! - Gradient norms are accumulated in f64 whatever the parameter type.
//! - `maximize`, `foreach`/`fused`, `capturable` and complex parameters are not offered.
//! - Cosine annealing uses the closed form (see [`CosineAnnealingLr`]); a `cosine` or
//!   `one-cycle` schedule whose length is not given spans the run.
//! - `MultiStepLR`'s milestones must be given in increasing order (PyTorch counts them in
//!   any order).
//!
//! Keras differs more (eps placement in Adam, RMSprop and Adagrad, defaults, decoupled
//! decay everywhere); `docs/parity.md` in the repository records both.
#![doc(test(attr(deny(warnings))))]

/// Builder methods `name(value) -> Self` for public config fields.
macro_rules! setters {
    ($ty:ident { $($field:ident : $t:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets [`", stringify!($ty), "::", stringify!($field), "`].")]
                pub fn $field(mut self, $field: $t) -> Self {
                    self.$field = $field;
                    self
                }
            )*
        }
    };
}
pub(crate) use setters;

mod clip;
mod error;
mod group;
mod optimizer;
mod param;
pub mod registry;
mod schedule;
mod validate;

pub use clip::{CLIP_NORM_EPS, GradClip, NormType, clip_grad_norm, clip_grad_value, grad_norm};
pub use error::OptimError;
pub use group::{GroupRule, NameMatch, ParamGroups};
pub use optimizer::{
    Buffer, Ctx, Optimizer, OptimizerState, ParamState, RuleOptimizer, Settings, StepReport,
    UpdateRule,
};
pub use param::{ParamSlot, SlotBuffer, zero_grad};
pub use registry::Registered;
pub use schedule::*;
pub use validate::MAX_LR;

use gradwell_tensor::Float;
use registry::registry;

// One file per optimizer: its settings (serde, `Default` = PyTorch's) implementing
// `UpdateRule`. Adding one is adding its file, its `mod` line and one line to the list
// below. The modules are plain `mod` items rather than generated by the macro so that
// rustfmt and cargo-mutants see the files.
mod adagrad;
mod adam;
mod rmsprop;
mod sgd;

registry! {
    /// Every optimizer with its settings: what a configuration file or a command line
    /// names.
    ///
    /// Its text form is the name, optionally with settings: `sgd`,
    /// `sgd:lr=0.1,momentum=0.9`, `adamw:weight_decay=0.05` (kebab-case names, case
    /// ignored, `_` for `-`); in a file also a table with `kind` and the settings, each
    /// left out taking the optimizer's default (PyTorch's). Parsing checks every setting;
    /// [`Display`](std::fmt::Display) prints the canonical form (the name and the settings
    /// that differ from the defaults), which parses back to the same value; serde writes
    /// the table. [`OptimizerKind::set`] changes one setting by name, for every optimizer
    /// alike.
    ///
    /// ```
    /// use gradwell_optim::{OptimizerKind, SgdConfig};
    ///
    /// let mut sgd: OptimizerKind = "sgd".parse()?;
    /// sgd.set("momentum", 0.9)?;
    /// assert_eq!(sgd, OptimizerKind::Sgd(SgdConfig::default().momentum(0.9)));
    /// assert_eq!(sgd.to_string(), "sgd:momentum=0.9");
    ///
    /// let mut adam: OptimizerKind = "adam".parse()?;
    /// let e = adam.set("momentum", 0.9).unwrap_err().to_string();
    /// assert!(e.starts_with("momentum is not a setting of adam; it has: amsgrad, beta1"), "{e}");
    /// assert!(e.contains("optimizers that have it: sgd, rmsprop"), "{e}");
    /// let e = "adamax".parse::<OptimizerKind>().unwrap_err().to_string();
    /// assert!(e.contains("valid: sgd, adam"), "{e}");
    /// # Ok::<(), gradwell_optim::OptimError>(())
    /// ```
    pub enum OptimizerKind: UpdateRule as "optimizer", visitor OptimizerVisitor {
        Sgd(sgd::SgdConfig),
        Adam(adam::AdamConfig),
        AdamW(adam::AdamWConfig),
        Rmsprop(rmsprop::RmspropConfig),
        Adagrad(adagrad::AdagradConfig),
    }
}

impl OptimizerKind {
    /// The configured (base) learning rate, from which a schedule starts.
    pub fn lr(&self) -> f64 {
        struct Lr;
        impl OptimizerVisitor for Lr {
            type Out = f64;
            fn visit<C: UpdateRule>(self, c: &C) -> f64 {
                c.settings().lr
            }
        }
        self.visit(Lr)
    }

    /// The buffers the optimizer keeps per parameter ([`Optimizer::state_buffers`]), known
    /// without building it: what its state will cost in memory.
    pub fn state_buffers(&self) -> usize {
        struct Buffers;
        impl OptimizerVisitor for Buffers {
            type Out = usize;
            fn visit<C: UpdateRule>(self, c: &C) -> usize {
                c.buffers().len()
            }
        }
        self.visit(Buffers)
    }

    /// Builds the optimizer, with the rules of `leading` before its own groups (see
    /// [`RuleOptimizer::with_leading_groups`]).
    ///
    /// # Errors
    /// A setting out of range, naming it.
    pub fn build<F: Float>(
        &self,
        leading: &ParamGroups,
    ) -> Result<Box<dyn Optimizer<F>>, OptimError> {
        struct Build<'a, F>(&'a ParamGroups, std::marker::PhantomData<F>);
        impl<F: Float> OptimizerVisitor for Build<'_, F> {
            type Out = Result<Box<dyn Optimizer<F>>, OptimError>;
            fn visit<C: UpdateRule>(self, c: &C) -> Self::Out {
                Ok(Box::new(RuleOptimizer::<C, F>::with_leading_groups(
                    c.clone(),
                    self.0,
                )?))
            }
        }
        self.visit(Build(leading, std::marker::PhantomData))
    }
}
