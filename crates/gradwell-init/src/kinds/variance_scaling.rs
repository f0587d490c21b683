//! `variance-scaling:SCALE,MODE,DIST[,LAYOUT]`: the mechanism behind Xavier, He and LeCun.

use serde::{Deserialize, Serialize};

use crate::initializer::finite;
use crate::registry::{Drawn, Entry, number, print};
use crate::{FanMode, Fans, InitError, Law, Layout, Nonlinearity, calculate_gain};

/// The standard deviation of N(0, 1) truncated to [−2, 2] (`scipy.stats.truncnorm.std(-2,
/// 2)`): Keras divides its truncated normal's σ by this so that the samples, cut at ±2σ,
/// have exactly the target standard deviation.
#[allow(clippy::excessive_precision)]
pub const KERAS_TRUNCATION_STD: f64 = 0.87962566103423978;

/// How far, in parameter standard deviations, Keras's truncated normal is cut.
pub const KERAS_TRUNCATION_CUT: f64 = 2.0;

/// The distribution a variance-scaling initializer draws from, always centred on zero and
/// with variance exactly the target `scale / fan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    /// N(0, s²) with s = √(scale / fan), untruncated (PyTorch's `xavier_normal_`,
    /// `kaiming_normal_`; Keras's `"untruncated_normal"`).
    Normal,
    /// Keras's `"truncated_normal"`: N(0, σ₀²) cut at ±2σ₀ with
    /// σ₀ = s / [`KERAS_TRUNCATION_STD`], so the samples' standard deviation is exactly s.
    TruncatedNormal,
    /// U(−b, b) with b = √(3·scale / fan), whose variance is b²/3 = scale / fan.
    Uniform,
}

impl Distribution {
    /// Every distribution.
    pub const ALL: [Distribution; 3] = [
        Distribution::Normal,
        Distribution::TruncatedNormal,
        Distribution::Uniform,
    ];

    /// The kebab-case name used in initializer strings.
    pub fn name(self) -> &'static str {
        match self {
            Distribution::Normal => "normal",
            Distribution::TruncatedNormal => "truncated-normal",
            Distribution::Uniform => "uniform",
        }
    }

    /// The distribution of this kebab-case name.
    pub fn from_name(name: &str) -> Option<Distribution> {
        Distribution::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// Variance scaling, the one mechanism behind Xavier/Glorot, He/Kaiming and LeCun: samples
/// with mean 0 and variance `scale / n`, where n is the fan that `mode` selects from the
/// weight's shape (read in `layout`).
///
/// | constructor | scale | mode | PyTorch / Keras equivalent | variance |
/// |---|---|---|---|---|
/// | [`xavier_normal`](Self::xavier_normal)`(g)`, [`xavier_uniform`](Self::xavier_uniform)`(g)` | g² | fan-avg | `xavier_*_(w, gain=g)`; `GlorotUniform` | 2g²/(n_in+n_out) |
/// | [`kaiming_normal`](Self::kaiming_normal)`(nl, m)`, [`kaiming_uniform`](Self::kaiming_uniform) | gain(nl)² | m | `kaiming_*_(w, a, mode, nonlinearity)` | gain²/n_m |
/// | [`he_normal`](Self::he_normal), [`he_uniform`](Self::he_uniform) | 2 | fan-in | `kaiming_*_(w, nonlinearity='relu')`; `HeUniform` | **2/n_in** |
/// | [`keras_he_normal`](Self::keras_he_normal) | 2 | fan-in, truncated | Keras `HeNormal` | 2/n_in |
/// | [`lecun_normal`](Self::lecun_normal), [`lecun_uniform`](Self::lecun_uniform) | 1 | fan-in | `kaiming_*_(w, nonlinearity='linear')`; `LecunUniform` | 1/n_in |
/// | [`pytorch_default`](Self::pytorch_default) | 1/3 | fan-in, uniform | `nn.Linear`/`nn.ConvNd` weights | **1/(3·n_in)** |
///
/// **PyTorch's default layer init is not He.** `nn.Linear` calls `kaiming_uniform_(w,
/// a=√5)`: gain 1/√3, so U(±1/√n_in), variance 1/(3·n_in) — a sixth of He's 2/n_in. In a
/// deep ReLU stack each layer then scales the signal's second moment by about 1/6 and the
/// gradients vanish geometrically; He's 2/n_in keeps it constant. Both are offered, by
/// name, so the choice is visible.
///
/// Gains come from [`calculate_gain`]; a Kaiming scale is its square. The
/// [`Distribution`]s differ only in shape, never in variance — except that PyTorch's
/// normal initializers are untruncated and Keras's are truncated (corrected).
///
/// The two He examples of the literature, reproduced exactly:
///
/// ```
/// use gradwell_init::{Initializer, Layout, Nonlinearity, FanMode, VarianceScaling};
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
///
/// // Keras: Dense(128, kernel_initializer=HeNormal()) on 784 inputs. The kernel is
/// // [784, 128] in Keras's layout; N(0, σ₀²) cut at ±2σ₀, σ₀ = √(2/784) / 0.8796…
/// let keras = VarianceScaling::keras_he_normal().with_layout(Layout::Keras);
/// let close = |x: f64, y: f64| (x / y - 1.0).abs() < 1e-15;
/// assert!(close(keras.std(&[784, 128])?, (2.0_f64 / 784.0).sqrt()));
/// let kernel: ndarray::ArrayD<f32> = keras.sample(&[784, 128], &mut rng)?;
/// let cut = 2.0 * (2.0_f64 / 784.0).sqrt() / gradwell_init::KERAS_TRUNCATION_STD;
/// assert!(kernel.iter().all(|&w| f64::from(w).abs() <= cut + 1e-7));
///
/// // PyTorch: kaiming_normal_(w, nonlinearity='relu') on nn.Linear(784, 128) and
/// // nn.Linear(128, 10), whose weights are [128, 784] and [10, 128]: N(0, 2/fan_in).
/// let torch = VarianceScaling::kaiming_normal(Nonlinearity::Relu, FanMode::FanIn);
/// assert_eq!(torch, VarianceScaling::he_normal());
/// assert!(close(torch.std(&[128, 784])?, (2.0_f64 / 784.0).sqrt()));
/// assert!(close(torch.std(&[10, 128])?, (2.0_f64 / 128.0).sqrt()));
/// let w1: ndarray::ArrayD<f32> = torch.sample(&[128, 784], &mut rng)?;
/// let w2: ndarray::ArrayD<f32> = torch.sample(&[10, 128], &mut rng)?;
/// assert_eq!((w1.shape(), w2.shape()), (&[128, 784][..], &[10, 128][..]));
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VarianceScaling {
    /// The numerator of the variance (a gain squared); at least 0.
    pub scale: f64,
    /// Which fan divides it.
    pub mode: FanMode,
    /// The distribution drawn from.
    pub distribution: Distribution,
    /// How the weight's shape is read for its fans.
    #[serde(default)]
    pub layout: Layout,
}

impl VarianceScaling {
    const NAME: &'static str = "variance-scaling";

    /// Variance `scale / fan` by `mode`, in PyTorch's layout.
    pub fn new(scale: f64, mode: FanMode, distribution: Distribution) -> Self {
        VarianceScaling {
            scale,
            mode,
            distribution,
            layout: Layout::PyTorch,
        }
    }

    /// The same initializer reading shapes in another layout.
    pub fn with_layout(self, layout: Layout) -> Self {
        VarianceScaling { layout, ..self }
    }

    /// Xavier/Glorot normal (PyTorch's `xavier_normal_(w, gain)`, untruncated):
    /// N(0, 2·gain²/(fan_in + fan_out)).
    pub fn xavier_normal(gain: f64) -> Self {
        Self::new(gain * gain, FanMode::FanAvg, Distribution::Normal)
    }

    /// Xavier/Glorot uniform (PyTorch's `xavier_uniform_(w, gain)`, Keras's
    /// `GlorotUniform` for gain 1): U(±gain·√(6/(fan_in + fan_out))).
    pub fn xavier_uniform(gain: f64) -> Self {
        Self::new(gain * gain, FanMode::FanAvg, Distribution::Uniform)
    }

    /// He/Kaiming normal as PyTorch's `kaiming_normal_(w, a, mode, nonlinearity)`:
    /// N(0, gain²/fan), gain = [`calculate_gain`]`(nonlinearity)` (pass
    /// `Nonlinearity::LeakyRelu(a)` for PyTorch's `a`).
    pub fn kaiming_normal(nonlinearity: Nonlinearity, mode: FanMode) -> Self {
        let gain = calculate_gain(nonlinearity);
        Self::new(gain * gain, mode, Distribution::Normal)
    }

    /// He/Kaiming uniform as PyTorch's `kaiming_uniform_(w, a, mode, nonlinearity)`:
    /// U(±gain·√(3/fan)).
    pub fn kaiming_uniform(nonlinearity: Nonlinearity, mode: FanMode) -> Self {
        let gain = calculate_gain(nonlinearity);
        Self::new(gain * gain, mode, Distribution::Uniform)
    }

    /// He normal for ReLU, PyTorch's form: `kaiming_normal_(w, nonlinearity='relu')`,
    /// N(0, 2/fan_in), untruncated.
    pub fn he_normal() -> Self {
        Self::kaiming_normal(Nonlinearity::Relu, FanMode::FanIn)
    }

    /// He uniform for ReLU: `kaiming_uniform_(w, nonlinearity='relu')`, Keras's
    /// `HeUniform`: U(±√(6/fan_in)).
    pub fn he_uniform() -> Self {
        Self::kaiming_uniform(Nonlinearity::Relu, FanMode::FanIn)
    }

    /// He normal, Keras's form (`keras.initializers.HeNormal`): variance 2/fan_in from a
    /// normal truncated at two parameter standard deviations and corrected by
    /// [`KERAS_TRUNCATION_STD`]. Combine with [`Layout::Keras`] for Keras-layout kernels.
    pub fn keras_he_normal() -> Self {
        Self::new(2.0, FanMode::FanIn, Distribution::TruncatedNormal)
    }

    /// LeCun normal, PyTorch's form (`kaiming_normal_(w, nonlinearity='linear')`):
    /// N(0, 1/fan_in), untruncated. Keras's `LecunNormal` is the truncated variant:
    /// `VarianceScaling::new(1.0, FanMode::FanIn, Distribution::TruncatedNormal)`.
    pub fn lecun_normal() -> Self {
        Self::kaiming_normal(Nonlinearity::Linear, FanMode::FanIn)
    }

    /// LeCun uniform (Keras's `LecunUniform`): U(±√(3/fan_in)).
    pub fn lecun_uniform() -> Self {
        Self::kaiming_uniform(Nonlinearity::Linear, FanMode::FanIn)
    }

    /// PyTorch's default for `nn.Linear` and `nn.ConvNd` weights, `kaiming_uniform_(w,
    /// a=√5)`: gain 1/√3, so U(±1/√fan_in) and variance 1/(3·fan_in), a sixth of He's.
    pub fn pytorch_default() -> Self {
        Self::kaiming_uniform(Nonlinearity::LeakyRelu(5.0_f64.sqrt()), FanMode::FanIn)
    }

    /// The target variance `scale / fan` for a weight of this shape: the square of
    /// [`VarianceScaling::std`].
    pub fn variance(&self, shape: &[usize]) -> Result<f64, InitError> {
        self.std(shape).map(|std| std * std)
    }

    /// The target standard deviation √(scale / fan) for a weight of this shape, computed
    /// with `torch.nn.init`'s own operations so that it is PyTorch's float to the last bit:
    /// `kaiming_*_` computes gain/√fan, and `xavier_*_` gain·√(2/(fan_in + fan_out)), which
    /// is gain·√(1/fan_avg) (the same quotient, rounded once). The gain is √scale, exactly
    /// the gain whose square the constructors stored (√(x²) rounded is |x| in binary
    /// floating point).
    ///
    /// ```
    /// use gradwell_init::{FanMode, Nonlinearity, VarianceScaling};
    /// // kaiming_normal_(w, nonlinearity='relu') on a [128, 784] weight: √2/√784.
    /// let he = VarianceScaling::kaiming_normal(Nonlinearity::Relu, FanMode::FanIn);
    /// assert_eq!(he.std(&[128, 784])?, 2.0_f64.sqrt() / 784.0_f64.sqrt());
    /// // xavier_normal_(w, gain=5/3) on [100, 300]: (5/3)·√(2/400).
    /// let xavier = VarianceScaling::xavier_normal(5.0 / 3.0);
    /// assert_eq!(xavier.std(&[100, 300])?, 5.0 / 3.0 * (2.0_f64 / 400.0).sqrt());
    /// # Ok::<(), gradwell_init::InitError>(())
    /// ```
    pub fn std(&self, shape: &[usize]) -> Result<f64, InitError> {
        self.check()?;
        let fan = Fans::for_initializer(shape, self.layout, Self::NAME)?.select(self.mode);
        // A zero fan only comes with zero elements; divide by at least 1, as Keras does.
        let fan = fan.max(1.0);
        let gain = self.scale.sqrt();
        Ok(match self.mode {
            FanMode::FanIn | FanMode::FanOut => gain / fan.sqrt(),
            FanMode::FanAvg => gain * (1.0 / fan).sqrt(),
        })
    }
}

impl Drawn for VarianceScaling {
    fn check(&self) -> Result<(), InitError> {
        let scale = finite(Self::NAME, "scale", self.scale)?;
        if scale < 0.0 {
            let why = "a variance scale must be at least 0";
            return Err(InitError::BadParameter {
                initializer: Self::NAME,
                parameter: "scale",
                value: scale,
                why,
            });
        }
        Ok(())
    }

    fn law_for(&self, shape: &[usize]) -> Result<Law, InitError> {
        let std = self.std(shape)?;
        Ok(match self.distribution {
            // A scale of 0: the point 0. (The uniform keeps its form, U(−0, 0), so that its
            // bound is still read from its law.)
            Distribution::Normal | Distribution::TruncatedNormal if std == 0.0 => {
                Law::Constant { value: 0.0 }
            }
            Distribution::Normal => Law::Normal { mean: 0.0, std },
            Distribution::TruncatedNormal => {
                let sigma = std / KERAS_TRUNCATION_STD;
                Law::TruncatedNormal {
                    mean: 0.0,
                    std: sigma,
                    a: -KERAS_TRUNCATION_CUT * sigma,
                    b: KERAS_TRUNCATION_CUT * sigma,
                }
            }
            Distribution::Uniform => {
                // PyTorch's `math.sqrt(3.0) * std`.
                let bound = 3.0_f64.sqrt() * std;
                Law::Uniform {
                    low: -bound,
                    high: bound,
                }
            }
        })
    }
}

impl Entry for VarianceScaling {
    const NAMES: &'static [&'static str] = &["variance-scaling"];
    const USAGE: &'static str = "variance-scaling:SCALE,MODE,DIST[,LAYOUT]";

    fn from_args(args: &[String]) -> Result<Self, String> {
        let usage = "expected SCALE,MODE,DIST[,LAYOUT] with MODE fan-in|fan-out|fan-avg, DIST \
                     normal|truncated-normal|uniform, LAYOUT pytorch|keras";
        if !(3..=4).contains(&args.len()) {
            return Err(usage.to_string());
        }
        let scale = number(&args[0]).map_err(|e| format!("{e}; {usage}"))?;
        let mode = FanMode::from_name(&args[1])
            .ok_or_else(|| format!("{:?} is not a fan mode; {usage}", args[1]))?;
        let distribution = Distribution::from_name(&args[2])
            .ok_or_else(|| format!("{:?} is not a distribution; {usage}", args[2]))?;
        let layout = match args.get(3) {
            None => Layout::PyTorch,
            Some(l) => {
                Layout::from_name(l).ok_or_else(|| format!("{l:?} is not a layout; {usage}"))?
            }
        };
        Ok(VarianceScaling {
            scale,
            mode,
            distribution,
            layout,
        })
    }

    fn args(&self) -> Vec<String> {
        let mut args = print(&[self.scale]);
        args.extend(
            [
                self.mode.name(),
                self.distribution.name(),
                self.layout.name(),
            ]
            .map(String::from),
        );
        args
    }

    fn examples() -> Vec<Self> {
        vec![
            // Keras's GlorotNormal, and its HeNormal in Keras's own layout.
            VarianceScaling::new(1.0, FanMode::FanAvg, Distribution::TruncatedNormal),
            VarianceScaling::new(2.0, FanMode::FanIn, Distribution::TruncatedNormal)
                .with_layout(Layout::Keras),
            VarianceScaling::new(0.5, FanMode::FanOut, Distribution::Uniform),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published formulas, written out: variance scale/n for the selected fan n, and
    /// each distribution's parameters for it (Keras's `VarianceScaling`).
    #[test]
    fn laws_follow_the_published_formulas() {
        // A conv weight [out=16, in=8, 3, 3]: fan_in 72, fan_out 144, average 108.
        let shape = [16, 8, 3, 3];
        let law = |scale, mode, distribution| {
            VarianceScaling::new(scale, mode, distribution)
                .law_for(&shape)
                .unwrap()
        };
        let close = |x: f64, y: f64| (x / y - 1.0).abs() < 1e-15;
        match law(2.0, FanMode::FanIn, Distribution::Normal) {
            Law::Normal { mean, std } => {
                assert!(mean == 0.0 && close(std, (2.0_f64 / 72.0).sqrt()))
            }
            other => panic!("{other:?}"),
        }
        match law(1.0, FanMode::FanAvg, Distribution::Uniform) {
            Law::Uniform { low, high } => {
                assert!(close(high, (3.0_f64 / 108.0).sqrt()) && low == -high)
            }
            other => panic!("{other:?}"),
        }
        match law(1.0, FanMode::FanOut, Distribution::TruncatedNormal) {
            Law::TruncatedNormal { mean, std, a, b } => {
                let sigma0 = (1.0_f64 / 144.0).sqrt() / 0.879_625_661_034_239_8;
                assert!(mean == 0.0 && close(std, sigma0));
                assert!(close(b, 2.0 * sigma0) && a == -b);
            }
            other => panic!("{other:?}"),
        }
        // Keras's layout reads [3, 3, 8, 16] as the same conv weight.
        let keras = VarianceScaling::new(2.0, FanMode::FanIn, Distribution::Normal)
            .with_layout(Layout::Keras);
        assert_eq!(
            keras.law_for(&[3, 3, 8, 16]).unwrap(),
            law(2.0, FanMode::FanIn, Distribution::Normal)
        );
        // Zero scale: the point 0, the uniform as U(−0, 0).
        assert_eq!(
            law(0.0, FanMode::FanIn, Distribution::TruncatedNormal),
            Law::Constant { value: 0.0 }
        );
        assert_eq!(
            law(0.0, FanMode::FanOut, Distribution::Normal),
            Law::Constant { value: 0.0 }
        );
        assert_eq!(
            law(0.0, FanMode::FanAvg, Distribution::Uniform),
            Law::Uniform {
                low: 0.0,
                high: 0.0
            }
        );
    }
}
