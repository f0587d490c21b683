//! The order-to-chaos analysis of a deep plain network at initialization, after Schoenholz,
//! Gilmer, Ganguli and Sohl-Dickstein, "Deep information propagation" (ICLR 2017), §2–3.
//!
//! With weights of variance σ_w²/fan_in and biases of variance σ_b², a pre-activation's
//! variance follows the map q ↦ σ_w²·E[φ(√q z)²] + σ_b² to a fixed point q*; two inputs
//! whose pre-activations have variance q* and correlation c are carried to correlation
//!
//! ```text
//! C(c) = (σ_w²·E[φ(u₁)φ(u₂)] + σ_b²) / q*,   u₁ = √q*·z₁,  u₂ = √q*·(c·z₁ + √(1−c²)·z₂)
//! ```
//!
//! (z₁, z₂ independent standard normals). c = 1 is always a fixed point; its slope there,
//! χ₁ = σ_w²·E[φ′(√q* z)²], sorts the networks into three phases:
//!
//! - **ordered** (χ₁ < 1): c = 1 attracts, so every two inputs end up alike, and gradients
//!   shrink by √χ₁ per layer going back (they vanish);
//! - **chaotic** (χ₁ > 1): c = 1 repels and the correlation settles at a c* < 1, so nearby
//!   inputs end up unrelated, and gradients grow by √χ₁ per layer (they explode);
//! - **critical** (χ₁ = 1): the edge of chaos.
//!
//! Near the fixed points, |q^l − q*| and |c^l − c*| fall as e^{−l/ξ} with the depth scales
//! ξ_q = −1/ln χ_q, χ_q the variance map's slope at q*, and ξ_c = −1/ln χ_c, χ_c =
//! σ_w²·E[φ′(u₁)φ′(u₂)] at c* (= χ₁ in the ordered phase). ξ_c diverges at the transition.
//! The paper found its networks trainable when their depth was at most about 6·ξ_c
//! ([`TRAINABLE_DEPTH_FACTOR`]): an empirical rule, measured on tanh networks trained by
//! SGD on MNIST and CIFAR-10, not a theorem.
//!
//! Why c* lies in [0, 1] and how it is found: in the Hermite expansion of φ,
//! E[φ(u₁)φ(u₂)] = Σₙ aₙ²·cⁿ with aₙ² ≥ 0, so C is increasing and convex on [0, 1], with
//! C(0) ≥ 0 and C(1) = 1. When χ₁ = C′(1) ≤ 1 there is no other fixed point in [0, 1);
//! when χ₁ > 1 there is exactly one, c*, and Newton's method on C(c) − c from c = 0
//! climbs to it without overshooting (the function is convex).

use std::fmt;

use gradwell_activations::ActivationKind;
use serde::{Deserialize, Serialize};

use crate::theory::MeanField;
use crate::{MonitorError, Result};

/// Schoenholz et al.'s rule of thumb: their networks trained when the depth was at most
/// about this many times ξ_c.
pub const TRAINABLE_DEPTH_FACTOR: f64 = 6.0;

/// |ln χ| at or below which χ is taken as 1: a depth scale beyond 10⁹ layers is reported as
/// infinite, and χ₁ that close to 1 as critical. It is 10⁴ times the quadrature's accuracy,
/// so that ReLU with σ_w² = 2, σ_b² = 0, critical exactly, is found so.
pub const CRITICAL_TOLERANCE: f64 = 1e-9;

/// At most this many steps of the variance map or Newton's method.
const MAX_STEPS: usize = 500;

/// How far below 1 the variance map's slope must be for a Newton step.
const NEWTON_MARGIN: f64 = 1e-6;

/// Which side of the order-to-chaos transition a network is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// χ₁ < 1: inputs converge to one another, gradients vanish.
    Ordered,
    /// χ₁ = 1 (within [`CRITICAL_TOLERANCE`]): the edge of chaos.
    Critical,
    /// χ₁ > 1: nearby inputs decorrelate, gradients explode.
    Chaotic,
}

impl Phase {
    /// The phase of a network whose correlation map has slope `chi_1` at c = 1.
    pub fn of(chi_1: f64) -> Phase {
        if chi_1.ln().abs() <= CRITICAL_TOLERANCE {
            Phase::Critical
        } else if chi_1 < 1.0 {
            Phase::Ordered
        } else {
            Phase::Chaotic
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Ordered => "ordered",
            Phase::Critical => "critical",
            Phase::Chaotic => "chaotic",
        })
    }
}

/// −1/ln|χ|: the number of layers over which a deviation from a fixed point whose map has
/// slope χ shrinks by e; `None` (infinite) when |ln χ| ≤ [`CRITICAL_TOLERANCE`].
///
/// ```
/// use gradwell_monitor::depth_scale;
/// assert!((depth_scale(0.5).unwrap() - 1.0 / 2f64.ln()).abs() < 1e-15);
/// assert_eq!(depth_scale(1.0), None);
/// ```
pub fn depth_scale(chi: f64) -> Option<f64> {
    let l = chi.abs().ln();
    (l.abs() > CRITICAL_TOLERANCE).then(|| -1.0 / l)
}

/// The fixed points, slopes, depth scales and phase of the maps of one activation with
/// one (σ_w², σ_b²) (Schoenholz et al. 2017, §2–3; the module docs give the definitions).
///
/// ```
/// use gradwell_monitor::{Criticality, Phase};
/// // tanh with σ_b² = 0.05: ordered at σ_w² = 1.2, chaotic at σ_w² = 2.5.
/// let tanh = "tanh".parse()?;
/// let ordered = Criticality::new(tanh, 1.2, 0.05, 1.0)?;
/// assert_eq!(ordered.phase, Phase::Ordered);
/// assert_eq!(ordered.c_star, 1.0);
/// let chaotic = Criticality::new(tanh, 2.5, 0.05, 1.0)?;
/// assert_eq!(chaotic.phase, Phase::Chaotic);
/// assert!(chaotic.c_star < 1.0 && chaotic.chi_c < 1.0);
/// println!("trainable to about {:?} layers", chaotic.trainable_depth());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criticality {
    /// The activation.
    pub activation: ActivationKind,
    /// σ_w².
    pub sigma_w2: f64,
    /// σ_b².
    pub sigma_b2: f64,
    /// q*: the fixed point of the variance map reached from the starting variance.
    pub q_star: f64,
    /// χ_q: the variance map's slope at q*.
    pub chi_q: f64,
    /// ξ_q = −1/ln χ_q; `None` when infinite.
    pub xi_q: Option<f64>,
    /// χ₁ = σ_w²·E[φ′(√q* z)²]: the correlation map's slope at c = 1, and the factor of
    /// the squared gradient norm per layer.
    pub chi_1: f64,
    /// c*: the correlation map's stable fixed point (1 unless chaotic).
    pub c_star: f64,
    /// χ_c = σ_w²·E[φ′(u₁)φ′(u₂)] at c*: the correlation map's slope there.
    pub chi_c: f64,
    /// ξ_c = −1/ln χ_c; `None` when infinite (at the transition).
    pub xi_c: Option<f64>,
    /// Which side of the transition.
    pub phase: Phase,
}

impl Criticality {
    /// The analysis of `activation` with weight variance `sigma_w2`/fan_in and bias
    /// variance `sigma_b2`, the variance map started from `q_start` (a network's first
    /// pre-activation variance; where several fixed points exist, the one it reaches).
    ///
    /// # Errors
    /// A negative or non-finite argument, or a variance map with no finite fixed point
    /// reachable from `q_start` (ReLU with σ_w² > 2, or σ_w² = 2 and σ_b² > 0: q grows
    /// without bound), or one that is unstable.
    pub fn new(
        activation: ActivationKind,
        sigma_w2: f64,
        sigma_b2: f64,
        q_start: f64,
    ) -> Result<Self> {
        let mf = MeanField::new(activation)?;
        let q_star = mf.fixed_point_q(sigma_w2, sigma_b2, q_start)?;
        let q = q_star.max(MeanField::Q_LIMIT);
        let chi_q = mf.q_map_slope(q, sigma_w2);
        let chi_1 = mf.chi_c(q, 1.0, sigma_w2);
        let phase = Phase::of(chi_1);
        let c_star = if phase == Phase::Chaotic {
            mf.fixed_point_c(q, sigma_w2, sigma_b2)?
        } else {
            1.0
        };
        let chi_c = if c_star == 1.0 {
            chi_1
        } else {
            mf.chi_c(q, c_star, sigma_w2)
        };
        Ok(Criticality {
            activation,
            sigma_w2,
            sigma_b2,
            q_star,
            chi_q,
            xi_q: depth_scale(chi_q),
            chi_1,
            c_star,
            chi_c,
            xi_c: if phase == Phase::Critical {
                None
            } else {
                depth_scale(chi_c)
            },
            phase,
        })
    }

    /// [`TRAINABLE_DEPTH_FACTOR`]·ξ_c: the depth up to which Schoenholz et al. found such
    /// networks trainable; `None` when ξ_c is infinite (no limit from signal
    /// propagation).
    pub fn trainable_depth(&self) -> Option<f64> {
        self.xi_c.map(|xi| TRAINABLE_DEPTH_FACTOR * xi)
    }

    /// The analysis in plain words, for a network with `hidden_layers` hidden layers.
    pub fn describe(&self, hidden_layers: usize) -> String {
        let scale = |x: Option<f64>| x.map_or_else(|| "∞".to_string(), |x| format!("{x:.3}"));
        let grad = self.chi_1.sqrt();
        let mut s = format!(
            "{}: χ₁ = {:.4} at the fixed variance q* = {:.4} (σ_w² = {:.4}, σ_b² = {:.4}).\n",
            self.phase, self.chi_1, self.q_star, self.sigma_w2, self.sigma_b2
        );
        s.push_str(&match self.phase {
            Phase::Ordered => format!(
                "  χ₁ < 1: any two inputs grow more alike layer by layer (their correlation tends to 1),\n  \
                 and the gradient shrinks by √χ₁ = {grad:.4} per layer going back: it vanishes.\n"
            ),
            Phase::Chaotic => format!(
                "  χ₁ > 1: two nearby inputs grow apart layer by layer (their correlation tends to c* = {:.4}),\n  \
                 and the gradient grows by √χ₁ = {grad:.4} per layer going back: it explodes.\n",
                self.c_star
            ),
            Phase::Critical => "  χ₁ = 1: correlations and gradient norms are kept from layer to layer: the edge of chaos.\n"
                .to_string(),
        });
        s.push_str(&format!(
            "  depth scales: ξ_q = {} layers for the variance to settle, ξ_c = {} layers for the correlation (χ_c = {:.4}).\n",
            scale(self.xi_q),
            scale(self.xi_c),
            self.chi_c
        ));
        match self.trainable_depth() {
            Some(d) => s.push_str(&format!(
                "  trainable depth: about {d:.0} layers by Schoenholz et al.'s empirical rule (depth ≤ {TRAINABLE_DEPTH_FACTOR}·ξ_c);\n  \
                 this network has {hidden_layers} hidden layers, {} it.",
                if hidden_layers as f64 <= d { "within" } else { "beyond" }
            )),
            None => s.push_str(&format!(
                "  trainable depth: ξ_c is infinite, so by Schoenholz et al.'s empirical rule (depth ≤ {TRAINABLE_DEPTH_FACTOR}·ξ_c)\n  \
                 signal propagation sets no limit on the depth ({hidden_layers} hidden layers here)."
            )),
        }
        s
    }
}

fn check(what: &'static str, x: f64) -> Result<()> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(MonitorError::invalid(
            what,
            format!("must be finite and non-negative, got {x}"),
        ))
    }
}

impl MeanField {
    /// The fixed point q* of the variance map q ↦ σ_w²·E[φ(√q z)²] + σ_b² reached from
    /// `q_start`: the map iterated, with Newton's steps (on the slope of
    /// [`MeanField::q_map_slope`]) where the map contracts, to a relative 10⁻¹². A map that
    /// is the identity (ReLU with σ_w² = 2, σ_b² = 0) leaves `q_start` where it is.
    ///
    /// ```
    /// use gradwell_monitor::MeanField;
    /// // ReLU: q* = σ_b² / (1 − σ_w²/2).
    /// let relu = MeanField::new("relu".parse()?)?;
    /// let q = relu.fixed_point_q(1.0, 0.5, 3.0)?;
    /// assert!((q - 1.0).abs() < 1e-12);
    /// assert!(relu.fixed_point_q(2.5, 0.0, 1.0).is_err()); // q grows without bound
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// A negative or non-finite argument; no fixed point within 500 steps (q grows
    /// without bound, or creeps: σ_w² = 2 with σ_b² > 0 for ReLU); an unstable one.
    pub fn fixed_point_q(&self, sigma_w2: f64, sigma_b2: f64, q_start: f64) -> Result<f64> {
        check("σ_w²", sigma_w2)?;
        check("σ_b²", sigma_b2)?;
        check("starting variance", q_start)?;
        let mut q = q_start;
        for _ in 0..MAX_STEPS {
            let next = self.next_q(q, sigma_w2, sigma_b2);
            if !next.is_finite() {
                break;
            }
            // Stop on the residual, not on the step: where the map is the identity (or
            // nearly so) a step divided by 1 − slope would only amplify rounding.
            let settled = (next - q).abs() <= 1e-12 * next.max(q);
            if settled || (next < Self::Q_LIMIT && q < Self::Q_LIMIT) {
                let q_star = if next < Self::Q_LIMIT { 0.0 } else { next };
                let slope = self.q_map_slope(q_star, sigma_w2);
                if slope.abs() > 1.0 + 1e-9 {
                    return Err(MonitorError::invalid(
                        "variance map",
                        format!(
                            "its fixed point q* = {q_star:.6e} (σ_w² = {sigma_w2}, σ_b² = {sigma_b2}) \
                             is unstable (slope {slope:.6}): no depth settles there"
                        ),
                    ));
                }
                return Ok(q_star);
            }
            // Newton's step only where the map clearly contracts: at a slope within
            // NEWTON_MARGIN of 1 (ReLU with σ_w² = 2 and σ_b² > 0, whose q creeps up by σ_b²
            // per layer for ever) dividing by 1 − slope would leap on rounding noise.
            let slope = self.q_map_slope(q, sigma_w2);
            let newton = q + (next - q) / (1.0 - slope);
            q = if slope < 1.0 - NEWTON_MARGIN && newton.is_finite() && newton >= 0.0 {
                newton
            } else {
                next
            };
        }
        Err(MonitorError::invalid(
            "variance map",
            format!(
                "no finite fixed point is reached from q = {q_start:.4} with σ_w² = {sigma_w2:.4}, \
                 σ_b² = {sigma_b2:.4e}: after {MAX_STEPS} layers q = {q:.4e} and still moving"
            ),
        ))
    }

    /// The stable fixed point c* of the correlation map ([`MeanField::next_c`]) at a
    /// fixed variance `q_star`: 1 when χ₁ ≤ 1, otherwise the one root of C(c) = c in
    /// [0, 1), found by Newton's method from 0 (see the module docs of
    /// [`Criticality`] for why it is unique and why Newton does not overshoot).
    ///
    /// ```
    /// use gradwell_monitor::MeanField;
    /// // tanh without bias is odd, so C(0) = 0: in the chaotic phase c* = 0.
    /// let tanh = MeanField::new("tanh".parse()?)?;
    /// let q = tanh.fixed_point_q(4.0, 0.0, 1.0)?;
    /// assert!(tanh.fixed_point_c(q, 4.0, 0.0)?.abs() < 1e-12);
    /// // With a bias the inputs keep some correlation, and c* is a fixed point.
    /// let q = tanh.fixed_point_q(4.0, 0.3, 1.0)?;
    /// let c = tanh.fixed_point_c(q, 4.0, 0.3)?;
    /// assert!(c > 0.0 && c < 1.0);
    /// assert!((tanh.next_c(q, c, 4.0, 0.3) - c).abs() < 1e-10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// A negative or non-finite argument, or Newton's method not settling in 500 steps.
    pub fn fixed_point_c(&self, q_star: f64, sigma_w2: f64, sigma_b2: f64) -> Result<f64> {
        check("σ_w²", sigma_w2)?;
        check("σ_b²", sigma_b2)?;
        check("q*", q_star)?;
        if self.chi_c(q_star, 1.0, sigma_w2) <= 1.0 {
            return Ok(1.0);
        }
        let mut c = 0.0_f64;
        for _ in 0..MAX_STEPS {
            let g = self.next_c(q_star, c, sigma_w2, sigma_b2) - c;
            let dg = self.chi_c(q_star, c, sigma_w2) - 1.0;
            if g <= 0.0 || dg >= 0.0 {
                return Ok(c);
            }
            let next = (c - g / dg).min(1.0);
            if next - c <= 1e-14 {
                return Ok(next);
            }
            c = next;
        }
        Err(MonitorError::invalid(
            "correlation map",
            format!("Newton's method did not settle on c* (last c = {c})"),
        ))
    }
}
