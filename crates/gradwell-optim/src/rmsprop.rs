//! RMSprop, plain and centered, with momentum (`torch/optim/rmsprop.py`,
//! `_single_tensor_rmsprop`).

use gradwell_tensor::Float;
use serde::{Deserialize, Serialize};

use crate::optimizer::lerp;
use crate::{
    Buffer, Ctx, OptimError, ParamGroups, Registered, RuleOptimizer, Settings, UpdateRule, validate,
};

/// RMSprop settings with PyTorch's defaults (`lr = 1e-2`, `alpha = 0.99`, `eps = 1e-8`,
/// no momentum, not centered). Keras' defaults differ (`rho = 0.9`, eps inside the root).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RmspropConfig {
    /// Learning rate, `> 0`.
    pub lr: f64,
    /// Smoothing constant α of the squared-gradient average, in `[0, 1)`.
    pub alpha: f64,
    /// Added to the root, `> 0`.
    pub eps: f64,
    /// Weight decay λ, `>= 0`.
    pub weight_decay: f64,
    /// Decoupled decay `p ← p·(1 − lr·λ)` instead of coupled L2.
    pub decoupled_weight_decay: bool,
    /// Momentum μ in `[0, 1)`.
    pub momentum: f64,
    /// Centered: normalize by an estimate of the variance instead of the raw second moment.
    pub centered: bool,
    /// Per-name learning-rate multipliers and weight-decay overrides.
    pub groups: ParamGroups,
}

impl Default for RmspropConfig {
    fn default() -> Self {
        RmspropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            momentum: 0.0,
            centered: false,
            groups: ParamGroups::new(),
        }
    }
}

crate::setters!(RmspropConfig {
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    decoupled_weight_decay: bool,
    momentum: f64,
    centered: bool,
    groups: ParamGroups,
});

/// RMSprop exactly as PyTorch runs it:
///
/// ```text
/// g ← g + λ·p
/// v ← α·v + (1 − α)·g²
/// centered: ḡ ← ḡ + (1 − α)·(g − ḡ);  d = √max(v − ḡ², 0) + eps    else d = √v + eps
/// μ > 0:    b ← μ·b + g/d;  p ← p − lr·b                          else p ← p − lr·g/d
/// ```
///
/// The `max(·, 0)` is ours: rounding can make `v − ḡ²` slightly negative where PyTorch
/// would take the root of it and write NaN into the weights.
///
/// ```
/// use gradwell_optim::{Optimizer, ParamSlot, Rmsprop, RmspropConfig};
///
/// let mut opt = Rmsprop::<f64>::new(RmspropConfig::default().lr(0.1))?;
/// let (mut w, mut g) = (vec![1.0], vec![0.5]);
/// opt.step(&mut [ParamSlot::new("w", &mut w, &mut g)])?;
/// assert!(w[0].abs() < 1e-6); // first step is lr/√(1−α) = 10·lr (docs/parity.md#rmsprop)
/// # Ok::<(), gradwell_optim::OptimError>(())
/// ```
pub type Rmsprop<F> = RuleOptimizer<RmspropConfig, F>;

/// Per-element update; `CENTERED` and `MOMENTUM` are fixed per call so the loop has no
/// branches. `b` and `ga` are empty when unused.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn kernel<F: Float, const CENTERED: bool, const MOMENTUM: bool>(
    p: &mut [F],
    g: &[F],
    v: &mut [F],
    b: &mut [F],
    ga: &mut [F],
    k: &Consts<F>,
) {
    for i in 0..p.len() {
        let w = p[i] * k.keep;
        let g = g[i] + k.l2 * w;
        v[i] = v[i] * k.alpha + k.w * g * g;
        let d = if CENTERED {
            ga[i] = lerp(ga[i], g, k.w, k.from_start);
            (v[i] - ga[i] * ga[i]).max(F::zero()).sqrt() + k.eps
        } else {
            v[i].sqrt() + k.eps
        };
        p[i] = if MOMENTUM {
            b[i] = b[i] * k.mu + g / d;
            w + k.neg_lr * b[i]
        } else {
            w + k.neg_lr * (g / d)
        };
    }
}

struct Consts<F> {
    keep: F,
    l2: F,
    alpha: F,
    w: F,
    from_start: bool,
    eps: F,
    mu: F,
    neg_lr: F,
}

impl Registered for RmspropConfig {
    const NAMES: &'static [&'static str] = &["rmsprop"];

    fn check(&self) -> Result<(), OptimError> {
        self.settings().check(Self::TORCH)?;
        validate::unit_half_open(Self::TORCH, "alpha", self.alpha)?;
        validate::positive(Self::TORCH, "eps", self.eps)?;
        validate::unit_half_open(Self::TORCH, "momentum", self.momentum)
    }
}

impl UpdateRule for RmspropConfig {
    const TORCH: &'static str = "RMSprop";

    fn settings(&self) -> Settings<'_> {
        Settings {
            lr: self.lr,
            weight_decay: self.weight_decay,
            decoupled_weight_decay: self.decoupled_weight_decay,
            groups: &self.groups,
        }
    }

    fn buffers(&self) -> Vec<Buffer> {
        let mut buffers = vec![Buffer::squares("square_avg", 0.0)];
        if self.momentum > 0.0 {
            buffers.push(Buffer::signed("momentum_buffer", 0.0));
        }
        if self.centered {
            buffers.push(Buffer::signed("grad_avg", 0.0));
        }
        buffers
    }

    #[inline(always)]
    fn update<F: Float>(&self, c: &Ctx, p: &mut [F], g: &[F], bufs: &mut [Vec<F>]) {
        let RmspropConfig {
            alpha,
            eps,
            momentum,
            centered,
            ..
        } = *self;
        let has_momentum = momentum > 0.0;
        let k = Consts {
            keep: F::of(c.keep),
            l2: F::of(c.l2),
            alpha: F::of(alpha),
            w: F::of(1.0 - alpha),
            from_start: 1.0 - alpha < 0.5,
            eps: F::of(eps),
            mu: F::of(momentum),
            neg_lr: F::of(-c.lr),
        };
        let (v, rest) = bufs.split_first_mut().expect("RMSprop keeps square_avg");
        let (b, rest) = if has_momentum {
            let (b, rest) = rest.split_first_mut().expect("momentum_buffer");
            (b.as_mut_slice(), rest)
        } else {
            (&mut [][..], rest)
        };
        let ga = rest.first_mut().map_or(&mut [][..], Vec::as_mut_slice);
        let n = p.len();
        let (v, g) = (&mut v[..n], &g[..n]);
        match (centered, has_momentum) {
            (false, false) => kernel::<F, false, false>(p, g, v, b, ga, &k),
            (false, true) => kernel::<F, false, true>(p, g, v, &mut b[..n], ga, &k),
            (true, false) => kernel::<F, true, false>(p, g, v, b, &mut ga[..n], &k),
            (true, true) => kernel::<F, true, true>(p, g, v, &mut b[..n], &mut ga[..n], &k),
        }
    }

    fn momentum(&self) -> Option<f64> {
        (self.momentum > 0.0).then_some(self.momentum)
    }

    fn set_momentum(&mut self, momentum: f64) -> Result<(), OptimError> {
        if self.momentum == 0.0 {
            return Err(OptimError::NoMomentum {
                optimizer: Self::TORCH,
                why: " (built with momentum 0)",
            });
        }
        validate::unit_half_open(Self::TORCH, "momentum", momentum)?;
        self.momentum = momentum;
        Ok(())
    }
}
