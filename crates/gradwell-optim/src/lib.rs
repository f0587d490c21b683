//! Optimizers for gradwell, with PyTorch's exact update rules and defaults: [`Sgd`]
//! (momentum, dampening, Nesterov), [`Adam`] (AMSGrad; AdamW through
//! [`AdamConfig::adamw`]), [`Rmsprop`] (centered, momentum) and [`Adagrad`]; coupled L2 and
//! decoupled weight decay; parameter groups by name ([`ParamGroups`]); gradient clipping
//! ([`clip_grad_norm`], [`clip_grad_value`], [`GradClip`]); learning-rate schedules behind one
//! [`Schedule`] trait ([`Curve`] for the closed forms, [`ReduceLrOnPlateau`]).
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
//!     AdamConfig, Adam, Curve, LrSchedule, NormType, Optimizer, ParamGroups, ParamSlot, Schedule,
//!     apply_schedule, clip_grad_norm, zero_grad,
//! };
//!
//! // Minimize ‖w − 3‖² with AdamW, no decay on the bias, warm-up then cosine.
//! let config = AdamConfig::adamw().lr(0.1).groups(ParamGroups::no_decay_on_bias_and_norm());
//! let mut opt = Adam::<f64>::new(config)?;
//! let curve = Curve::sequential(vec![Curve::linear(0.1, 1.0, 5)?, Curve::cosine(195, 0.0)?], vec![5])?;
//! let mut schedule = LrSchedule::new(0.1, curve);
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
//!   `lr > 0` at construction, `max_norm > 0`), and a bad value is an error.
//! - A step with a non-finite gradient is refused (PyTorch applies it).
//! - Decoupled weight decay (`decoupled_weight_decay`) is available on every optimizer, not
//!   only Adam: `p ← p·(1 − lr·λ)` before the update, with the group's current rate.
//! - Centered RMSprop takes `√max(v − ḡ², 0)`, where rounding could otherwise give NaN.
//! - Parameter groups are rules on names, and a group's rate is a multiple of one scheduled
//!   base rate ([`ParamGroups`]).
//! - Gradient norms are accumulated in f64 whatever the parameter type.
//! - `maximize`, `foreach`/`fused`, `capturable` and complex parameters are not offered.
//! - Cosine annealing uses the closed form (see [`CurveSpec::CosineAnnealing`]).
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

/// The [`Optimizer`] methods every optimizer forwards to its shared core.
macro_rules! common_methods {
    () => {
        fn learning_rate(&self) -> f64 {
            self.core.lr()
        }

        fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
            self.core.set_lr(lr)
        }

        fn steps(&self) -> u64 {
            self.core.steps()
        }

        fn state(&self) -> OptimizerState<F> {
            self.core.state(self.momentum())
        }

        fn state_buffers(&self) -> usize {
            self.core.state_buffers()
        }

        fn load_state(&mut self, state: &OptimizerState<F>) -> Result<(), OptimError> {
            let before = self.momentum();
            if let Some(m) = state.momentum {
                self.set_momentum(m)?;
            }
            let loaded = self.core.load(state);
            if loaded.is_err() {
                if let Some(m) = before {
                    self.set_momentum(m)?;
                }
            }
            loaded
        }
    };
}
pub(crate) use common_methods;

mod adagrad;
mod adam;
mod clip;
mod error;
mod group;
mod optimizer;
mod param;
mod rmsprop;
mod schedule;
mod sgd;
mod validate;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use clip::{CLIP_NORM_EPS, GradClip, NormType, clip_grad_norm, clip_grad_value, grad_norm};
pub use error::OptimError;
pub use group::{GroupRule, NameMatch, ParamGroups};
pub use optimizer::{Optimizer, OptimizerState, ParamState, StepReport};
pub use param::{ParamSlot, SlotBuffer, zero_grad};
pub use rmsprop::{Rmsprop, RmspropConfig};
pub use schedule::{
    Anneal, Curve, CurveSpec, LrSchedule, OneCycleConfig, PlateauConfig, PlateauMode,
    ReduceLrOnPlateau, Schedule, ScheduleState, ThresholdMode, apply_schedule,
};
pub use sgd::{Sgd, SgdConfig};
