use gradwell_init::Nonlinearity;
use ndarray::{Array, ArrayBase, Data, Dimension, Zip};
use num_traits::Float;

/// What an activation is, independently of the float type it computes in: its name, its
/// initialization gain, its derivative bound, where it saturates and whether its units can
/// die, its PyTorch family, module and `repr`, and its kinks.
///
/// These facts live in a trait of their own, without the float parameter, so that
/// `Relu.gain()` needs no type annotation; every [`Activation<F>`] has them, and they are
/// called on an `A: Activation<F>` or a `dyn Activation<F>` as if they were its own.
pub trait ActivationInfo: std::fmt::Debug + Send + Sync {
    /// The canonical name with every parameter, in the form [`crate::ActivationKind`]
    /// parses: `"relu"`, `"leaky-relu:0.2"`, `"softplus:1,20"`.
    fn name(&self) -> String;

    /// The initialization gain: PyTorch's `calculate_gain` where PyTorch defines one,
    /// otherwise the second-moment gain of [`crate::second_moment_gain`] (see the crate
    /// docs, "Gains").
    fn gain(&self) -> f64;

    /// The supremum of |f′(x)| over all real x. Backpropagating through `n` layers of this
    /// activation multiplies a gradient by at most `derivative_bound()ⁿ` (times the
    /// weights' norms).
    fn derivative_bound(&self) -> f64;

    /// Whether f′(x) → 0 as x → +∞: the output is bounded above, so a unit driven hard in
    /// the positive direction stops passing gradient (sigmoid, tanh, hardtanh, ReLU6).
    /// It is whether [`ActivationInfo::saturation`] has an upper bound.
    ///
    /// Activations whose derivative tends to 1 for large positive inputs are
    /// non-saturating even if it vanishes on the negative side (ReLU, ELU, SELU, GELU,
    /// SiLU, mish, softplus): gradients still flow through every active unit.
    fn saturates(&self) -> bool {
        self.saturation().upper.is_some()
    }

    /// For an activation that saturates (bounded above, f′ → 0 as x → +∞), the output bounds
    /// where f′ vanishes, near which a monitor counts an output as saturated
    /// ([`Saturation::contains`]): sigmoid (0, 1) and tanh (−1, 1) approached, hardtanh
    /// (min, max) and ReLU6 (6 above) reached. An output of exactly 0 over a half-line is a
    /// dead unit, not a saturated one ([`ActivationInfo::can_die`]).
    ///
    /// [`Saturation::NONE`] for the others: the negative side of an activation unbounded
    /// above (ELU's −α, softplus's 0) is the unit's off state, as ReLU's 0 is, and
    /// gradients still flow through its active units.
    fn saturation(&self) -> Saturation;

    /// Whether f is exactly 0 on a whole half-line (with f′ = 0 there), so that a unit
    /// whose pre-activation stays on that side for every input outputs 0 and passes no
    /// gradient: a dead unit (ReLU, ReLU6; leaky ReLU, ELU and the fixed-slope PReLU when
    /// their slope or α is 0; hardtanh when its minimum is 0).
    fn can_die(&self) -> bool;

    /// The class name of the equivalent PyTorch module, as `print(model)` shows it
    /// (`"ReLU"`, `"LeakyReLU"`, `"GELU"`). An activation PyTorch lacks gets a name in
    /// PyTorch's style, documented on its type.
    fn torch_class(&self) -> &'static str;

    /// The arguments of that module's `repr`, numbers printed as Python prints them
    /// ([`crate::pyfmt`]): `""`, `"negative_slope=0.2"`, `"approximate='tanh'"`.
    fn torch_args(&self) -> String;

    /// PyTorch's `repr` of the module: `ReLU()`, `LeakyReLU(negative_slope=0.2)`.
    fn torch_repr(&self) -> String {
        format!("{}({})", self.torch_class(), self.torch_args())
    }

    /// The PyTorch `calculate_gain` family this activation belongs to, if any.
    fn nonlinearity(&self) -> Option<Nonlinearity>;

    /// The points where f is not differentiable (or, for softplus, where PyTorch switches
    /// to the identity); the derivative there follows PyTorch's convention. Finite
    /// differences and gradient checks should keep away from them.
    fn kinks(&self) -> Vec<f64> {
        Vec::new()
    }
}

/// An element-wise activation f and its derivative f′, generic over the float type.
///
/// Implementors write [`value`](Activation::value) and
/// [`derivative`](Activation::derivative); the slice methods have default loops over
/// them, which a type overrides where a cheaper form exists (e.g. sigmoid′ = y(1 − y) from
/// the output). A generic autodiff op needs nothing else: forward with
/// [`forward_slice`](Activation::forward_slice), backward with
/// [`backward_slice`](Activation::backward_slice).
///
/// At kinks the derivative is PyTorch's: relu′(0) = 0, leaky′(0) = slope, elu′(0) = α,
/// hardtanh′ and relu6′ are 0 at the bounds.
pub trait Activation<F: Float>: ActivationInfo {
    /// f(x).
    fn value(&self, x: F) -> F;

    /// f′(x).
    fn derivative(&self, x: F) -> F;

    /// `y[i] = f(x[i])`. The slices should have equal lengths; only the common prefix is
    /// written.
    #[inline(always)]
    fn forward_slice(&self, x: &[F], y: &mut [F]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = self.value(x);
        }
    }

    /// `d[i] = f′(x[i])`. The slices should have equal lengths; only the common prefix is
    /// written.
    fn derivative_slice(&self, x: &[F], d: &mut [F]) {
        for (d, &x) in d.iter_mut().zip(x) {
            *d = self.derivative(x);
        }
    }

    /// `dx[i] += dy[i] · f′(x[i])`: **accumulates** into `dx`. `y = f(x)` is given too, so
    /// that an activation whose derivative is cheaper from its output uses it (the result
    /// then follows PyTorch's backward, e.g. sigmoid′ = y(1 − y), which is exactly 0 where
    /// `y` rounds to 1). The slices should have equal lengths; only the common prefix is
    /// touched.
    #[inline(always)]
    fn backward_slice(&self, x: &[F], y: &[F], dy: &[F], dx: &mut [F]) {
        let _ = y;
        for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
            *dx = *dx + dy * self.derivative(x);
        }
    }
}

/// Element-wise application of any [`Activation`] to any ndarray array, of any dimension
/// and layout. Implemented for every activation, including `dyn Activation<F>`.
///
/// ```
/// use gradwell_activations::{ActivationArrayExt, Relu};
/// use ndarray::array;
///
/// let x = array![[-1.0_f32, 2.0], [0.0, 3.0]];
/// assert_eq!(Relu.value_array(&x), array![[0.0, 2.0], [0.0, 3.0]]);
/// assert_eq!(Relu.derivative_array(&x), array![[0.0, 1.0], [0.0, 1.0]]);
/// ```
pub trait ActivationArrayExt<F: Float>: Activation<F> {
    /// f applied to every element. Arrays in standard layout go through
    /// [`Activation::forward_slice`] (one vectorizable loop).
    fn value_array<S, D>(&self, x: &ArrayBase<S, D>) -> Array<F, D>
    where
        S: Data<Elem = F>,
        D: Dimension,
    {
        let mut y = Array::zeros(x.raw_dim());
        match (x.as_slice(), y.as_slice_mut()) {
            (Some(xs), Some(ys)) => self.forward_slice(xs, ys),
            _ => Zip::from(&mut y)
                .and(x)
                .for_each(|y, &x| *y = self.value(x)),
        }
        y
    }

    /// f′ applied to every element. Arrays in standard layout go through
    /// [`Activation::derivative_slice`].
    fn derivative_array<S, D>(&self, x: &ArrayBase<S, D>) -> Array<F, D>
    where
        S: Data<Elem = F>,
        D: Dimension,
    {
        let mut d = Array::zeros(x.raw_dim());
        match (x.as_slice(), d.as_slice_mut()) {
            (Some(xs), Some(ds)) => self.derivative_slice(xs, ds),
            _ => Zip::from(&mut d)
                .and(x)
                .for_each(|d, &x| *d = self.derivative(x)),
        }
        d
    }
}

impl<F: Float, A: Activation<F> + ?Sized> ActivationArrayExt<F> for A {}

/// The output bounds at which an activation's derivative vanishes (see
/// [`ActivationInfo::saturation`]), and the rule that counts an output as saturated.
///
/// ```
/// use gradwell_activations::{ActivationInfo, Hardtanh, Relu, Sigmoid};
///
/// let s = Sigmoid.saturation();
/// assert!(s.contains(0.995, 0.01) && s.contains(0.002, 0.01) && !s.contains(0.5, 0.01));
/// // Hardtanh reaches its bounds: only outputs at them count, whatever the margin.
/// let h = Hardtanh::default().saturation();
/// assert!(h.contains(1.0, 0.01) && !h.contains(0.995, 0.01));
/// assert!(!Relu.saturation().exists());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Saturation {
    /// The bound the output approaches or reaches as x → −∞ with f′ → 0, if any (not the 0
    /// of a unit that can die).
    pub lower: Option<f64>,
    /// The bound the output approaches or reaches as x → +∞ with f′ → 0, if any.
    pub upper: Option<f64>,
    /// Whether the output reaches the bounds, with f′ exactly 0 at and beyond them
    /// (hardtanh, ReLU6), rather than approaching them (sigmoid, tanh).
    pub reached: bool,
}

impl Saturation {
    /// No saturation: f′ does not vanish on a side where the output is bounded.
    pub const NONE: Saturation = Saturation {
        lower: None,
        upper: None,
        reached: false,
    };

    /// Bounds approached as f′ → 0, never reached (sigmoid, tanh).
    pub const fn approached(lower: Option<f64>, upper: Option<f64>) -> Self {
        Saturation {
            lower,
            upper,
            reached: false,
        }
    }

    /// Bounds reached, with f′ = 0 at and beyond them (hardtanh, ReLU6).
    pub const fn reached(lower: Option<f64>, upper: Option<f64>) -> Self {
        Saturation {
            lower,
            upper,
            reached: true,
        }
    }

    /// Whether there is a bound at all.
    pub fn exists(&self) -> bool {
        self.lower.is_some() || self.upper.is_some()
    }

    /// Whether the output `y` counts as saturated: strictly within `margin` of an approached
    /// bound (sigmoid with margin 0.01: y < 0.01 or y > 0.99), or at or past a reached one
    /// (the margin is not used: hardtanh′ is 1 right up to its bounds).
    pub fn contains(&self, y: f64, margin: f64) -> bool {
        let (low, high) = if self.reached {
            (
                self.lower.is_some_and(|b| y <= b),
                self.upper.is_some_and(|b| y >= b),
            )
        } else {
            (
                self.lower.is_some_and(|b| y < b + margin),
                self.upper.is_some_and(|b| y > b - margin),
            )
        };
        low || high
    }
}
