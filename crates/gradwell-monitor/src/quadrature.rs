//! Expectations over a Gaussian of functions that are smooth except at known points: the
//! integration behind [`crate::MeanField`].
//!
//! A rule that treats the whole line at once (Gauss–Hermite) converges only slowly when the
//! integrand has a kink — ReLU's, ELU's or SELU's at 0, hardtanh's at ±1 — because the
//! error of a Gaussian rule is governed by the integrand's smoothness over the whole range.
//! Here the line is cut at every kink, so that each piece is smooth, and each piece is
//! integrated by **adaptive Gauss–Legendre** quadrature:
//!
//! - The tails are dropped at |z| = [`TRUNCATION`] = 12 standard deviations. Every
//!   activation grows at most linearly (|φ(x)| ≤ |φ(0)| + sup|φ′|·|x|), so what is dropped
//!   from E\[φ²\] or E\[φ²(z² − 1)\] is below 10⁻²⁷·(|φ(0)| + sup|φ′|·√q)²: nothing at the
//!   accuracy aimed at.
//! - Each piece between two cuts is finite, and the integrand f(μ + σz)·e^{−z²/2}/√(2π)
//!   is smooth on it, so Gauss–Legendre on it converges geometrically. It is not uniformly
//!   smooth, though: tanh or sigmoid at a large variance, or the inner integral of a
//!   correlation near c = 1, turn within 1/√q of a point. A fixed rule would have to know
//!   that scale; the adaptive one finds it, halving the interval whose 12-point estimate
//!   disagrees most with the sum of its two halves until the disagreements add up to less
//!   than [`REL_TOL`] times the integral of |f| — a scale-free target that also holds when
//!   the integral itself cancels to 0.
//! - A half-range Gauss–Hermite rule (weight e^{−z²} on [a, ∞)) would handle the half-lines
//!   without truncation, but its nodes depend on a and need a non-classical
//!   orthogonal-polynomial construction for every cut, and it would not resolve a steep
//!   piece any better than a fixed rule does.
//!
//! The estimate that is returned is the finer one (the two halves), whose error is far
//! below the disagreement that is bounded; the tests hold the results to 10⁻⁹ against
//! closed forms and against an independent adaptive Simpson quadrature.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::f64::consts::PI;

/// Where the Gaussian's tails are dropped, in standard deviations.
pub(crate) const TRUNCATION: f64 = 12.0;

/// The adaptive target: the disagreements of the intervals add up to at most this
/// fraction of ∫|f|.
pub(crate) const REL_TOL: f64 = 1e-13;

/// Gauss–Legendre points per interval.
const POINTS: usize = 12;

/// At most this many intervals per integral; past it the estimate is returned as it is
/// (never reached by the activations of gradwell: the tests show how few they need).
const MAX_INTERVALS: usize = 4000;

/// The n-point Gauss–Legendre rule on [−1, 1], from Newton's method on the three-term
/// recurrence of the Legendre polynomials.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GaussLegendre {
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

/// Pₙ(x) and Pₙ′(x).
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0, x);
    for k in 2..=n {
        let kf = k as f64;
        let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
        p0 = p1;
        p1 = p2;
    }
    let d = n as f64 * (x * p1 - p0) / (x * x - 1.0);
    (p1, d)
}

impl GaussLegendre {
    /// The rule with `n` ≥ 2 points.
    pub(crate) fn new(n: usize) -> Self {
        let mut nodes = vec![0.0; n];
        let mut weights = vec![0.0; n];
        for i in 0..n.div_ceil(2) {
            let mut x = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            for _ in 0..100 {
                let (p, d) = legendre(n, x);
                let dx = p / d;
                x -= dx;
                if dx.abs() <= 1e-16 {
                    break;
                }
            }
            let (_, d) = legendre(n, x);
            let w = 2.0 / ((1.0 - x * x) * d * d);
            nodes[i] = x;
            nodes[n - 1 - i] = -x;
            weights[i] = w;
            weights[n - 1 - i] = w;
        }
        GaussLegendre { nodes, weights }
    }

    /// Σ wᵢ f(c + h xᵢ)·h over [a, b], with the same sum of |f| alongside.
    fn apply<const N: usize>(
        &self,
        a: f64,
        b: f64,
        f: &mut impl FnMut(f64) -> [f64; N],
    ) -> ([f64; N], [f64; N]) {
        let (c, h) = ((a + b) / 2.0, (b - a) / 2.0);
        let mut sum = [0.0; N];
        let mut abs = [0.0; N];
        for (&x, &w) in self.nodes.iter().zip(&self.weights) {
            let y = f(c + h * x);
            for k in 0..N {
                sum[k] += w * h * y[k];
                abs[k] += w * h * y[k].abs();
            }
        }
        (sum, abs)
    }
}

/// One interval of the adaptive integration: its 12-point estimate and those of its two
/// halves.
struct Interval<const N: usize> {
    a: f64,
    b: f64,
    left: ([f64; N], [f64; N]),
    right: ([f64; N], [f64; N]),
    error: f64,
}

impl<const N: usize> Interval<N> {
    fn new(
        rule: &GaussLegendre,
        a: f64,
        b: f64,
        whole: [f64; N],
        f: &mut impl FnMut(f64) -> [f64; N],
    ) -> Self {
        let m = (a + b) / 2.0;
        let left = rule.apply(a, m, f);
        let right = rule.apply(m, b, f);
        let error = (0..N)
            .map(|k| (left.0[k] + right.0[k] - whole[k]).abs())
            .fold(0.0, f64::max);
        Interval {
            a,
            b,
            left,
            right,
            error,
        }
    }
}

impl<const N: usize> PartialEq for Interval<N> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<const N: usize> Eq for Interval<N> {}
impl<const N: usize> PartialOrd for Interval<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<const N: usize> Ord for Interval<N> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.error.total_cmp(&other.error)
    }
}

/// Adaptive Gauss–Legendre integration over consecutive pieces, and Gaussian expectations
/// built on it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Integrator {
    rule: GaussLegendre,
}

impl Default for Integrator {
    fn default() -> Self {
        Integrator {
            rule: GaussLegendre::new(POINTS),
        }
    }
}

impl Integrator {
    /// ∫ f over \[breaks\[0\], breaks\[last\]\], the breaks (ascending) being the points where f
    /// may not be smooth. Each component of f is integrated; the adaptive target is on
    /// their worst one.
    pub(crate) fn integrate<const N: usize>(
        &self,
        breaks: &[f64],
        f: &mut impl FnMut(f64) -> [f64; N],
    ) -> [f64; N] {
        let mut heap = BinaryHeap::new();
        // Running sums over the intervals in the heap: their disagreements, and ∫|f|.
        let (mut error, mut abs) = (0.0, [0.0; N]);
        let mut account = |i: &Interval<N>, sign: f64| {
            error += sign * i.error;
            for (k, a) in abs.iter_mut().enumerate() {
                *a += sign * (i.left.1[k] + i.right.1[k]);
            }
            (error, abs.iter().copied().fold(0.0, f64::max))
        };
        let mut state = (0.0, 0.0);
        for w in breaks.windows(2) {
            if w[1] > w[0] {
                let whole = self.rule.apply(w[0], w[1], f).0;
                let i = Interval::new(&self.rule, w[0], w[1], whole, f);
                state = account(&i, 1.0);
                heap.push(i);
            }
        }
        while state.0 > REL_TOL * state.1 && heap.len() < MAX_INTERVALS {
            let Some(worst) = heap.pop() else { break };
            let m = (worst.a + worst.b) / 2.0;
            let left = Interval::new(&self.rule, worst.a, m, worst.left.0, f);
            let right = Interval::new(&self.rule, m, worst.b, worst.right.0, f);
            account(&worst, -1.0);
            account(&left, 1.0);
            state = account(&right, 1.0);
            heap.push(left);
            heap.push(right);
        }
        let mut total = [0.0; N];
        for i in heap.iter() {
            for (k, t) in total.iter_mut().enumerate() {
                *t += i.left.0[k] + i.right.0[k];
            }
        }
        total
    }

    /// E[f(μ + σz, z)] for z ~ N(0, 1), f being smooth in x = μ + σz except at `kinks`
    /// (and, if given, in z at `z_breaks`). σ = 0 gives f(μ, 0).
    pub(crate) fn gaussian<const N: usize>(
        &self,
        mean: f64,
        sd: f64,
        kinks: &[f64],
        z_breaks: &[f64],
        mut f: impl FnMut(f64, f64) -> [f64; N],
    ) -> [f64; N] {
        if sd == 0.0 {
            return f(mean, 0.0);
        }
        let mut breaks = vec![-TRUNCATION, TRUNCATION];
        breaks.extend(kinks.iter().map(|k| (k - mean) / sd));
        breaks.extend_from_slice(z_breaks);
        breaks.retain(|z| z.abs() <= TRUNCATION);
        breaks.sort_by(f64::total_cmp);
        breaks.dedup();
        let norm = 1.0 / (2.0 * PI).sqrt();
        self.integrate(&breaks, &mut |z| {
            let density = norm * (-0.5 * z * z).exp();
            let mut y = f(mean + sd * z, z);
            for v in &mut y {
                *v *= density;
            }
            y
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legendre_rule_is_exact_for_polynomials_of_degree_below_2n() {
        let rule = GaussLegendre::new(POINTS);
        assert!((rule.weights.iter().sum::<f64>() - 2.0).abs() < 1e-14);
        for d in 0..2 * POINTS as i32 {
            let got = rule.apply(-1.0, 1.0, &mut |x| [x.powi(d)]).0[0];
            let want = if d % 2 == 0 {
                2.0 / (d + 1) as f64
            } else {
                0.0
            };
            assert!((got - want).abs() < 1e-14, "x^{d}: {got} vs {want}");
        }
    }

    #[test]
    fn adaptive_integration_resolves_a_kink_it_is_not_told_of() {
        // ∫_{-1}^{2} |x| dx = 1/2 + 2 with no break at 0: the halving finds it.
        let got = Integrator::default().integrate(&[-1.0, 2.0], &mut |x| [x.abs()])[0];
        assert!((got - 2.5).abs() < 1e-12, "{got}");
    }
}
