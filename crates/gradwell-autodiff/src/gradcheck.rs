//! Gradient checking: the analytic backward against central finite differences, in f64.
//!
//! The function under test receives a fresh [`Tape`] whose parameters are the inputs, and
//! returns a value. A non-scalar value is reduced to a scalar by a fixed pseudo-random
//! weighting (`Σ rᵢ·yᵢ`, with each `rᵢ` in ±[0.5, 1.5]), which checks the backward along a
//! direction no correct-looking bug can be orthogonal to by accident.
//!
//! Each element passes when `|analytic − numeric| ≤ atol + rtol·|numeric|`, PyTorch's
//! `gradcheck` criterion; its defaults (`eps = 1e-6`, `atol = 1e-5`, `rtol = 1e-3`) are
//! [`GradCheck::default`].
//!
//! ```
//! use gradwell_autodiff::gradcheck;
//! use ndarray::array;
//!
//! let x = array![[0.3, -1.2], [2.0, 0.7]].into_dyn();
//! let report = gradcheck(|tape, v| { let e = tape.exp(v[0])?; tape.mul(e, v[0]) }, &[x])?;
//! assert!(report.passed(), "{report}");
//! # Ok::<(), gradwell_autodiff::AutodiffError>(())
//! ```

use std::fmt;

use ndarray::{Array2, ArrayD, IxDyn};

use crate::AutodiffError;

use crate::{Result, Tape, Var};

/// Tolerances of a gradient check (PyTorch's `gradcheck` defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheck {
    /// The finite-difference step.
    pub eps: f64,
    /// The absolute tolerance.
    pub atol: f64,
    /// The relative tolerance.
    pub rtol: f64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
        }
    }
}

/// The outcome for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputReport {
    /// The input's position in the argument list.
    pub input: usize,
    /// The largest `|analytic − numeric|` over its elements.
    pub max_abs_error: f64,
    /// The largest `|analytic − numeric| / max(|numeric|, 1e-300)` over its elements.
    pub max_rel_error: f64,
    /// The element where the criterion is worst (multi-index).
    pub worst_at: Vec<usize>,
    /// Analytic and numeric gradient at that element.
    pub worst_values: (f64, f64),
    /// Whether every element meets the criterion.
    pub passed: bool,
}

/// The outcome of a gradient check: one [`InputReport`] per input.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// The tolerances used.
    pub tolerances: GradCheck,
    /// Per input.
    pub inputs: Vec<InputReport>,
}

impl GradCheckReport {
    /// Whether every input passed.
    pub fn passed(&self) -> bool {
        self.inputs.iter().all(|r| r.passed)
    }
}

/// `gradcheck (eps …, atol …, rtol …)`: the heading of a report.
impl fmt::Display for GradCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradcheck (eps {:e}, atol {:e}, rtol {:e})",
            self.eps, self.atol, self.rtol
        )
    }
}

/// One input's figures and verdict, as a report line shows them.
impl fmt::Display for InputReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max abs error {:.3e}, max rel error {:.3e}, worst at {:?} (analytic {:.9e}, numeric {:.9e}) {}",
            self.max_abs_error,
            self.max_rel_error,
            self.worst_at,
            self.worst_values.0,
            self.worst_values.1,
            if self.passed { "ok" } else { "FAILED" }
        )
    }
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:", self.tolerances)?;
        for r in &self.inputs {
            writeln!(f, "  input {}: {r}", r.input)?;
        }
        Ok(())
    }
}

/// A deterministic weight in ±[0.5, 1.5] for element `i` (a hash, not an RNG stream).
fn direction(i: usize) -> f64 {
    let h = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let u = (h >> 11) as f64 / (1u64 << 53) as f64;
    let sign = if (h >> 7) & 1 == 0 { 1.0 } else { -1.0 };
    sign * (0.5 + u)
}

/// Runs `f` and reduces its value to a scalar variable.
fn scalar_of(
    tape: &mut Tape<f64>,
    f: &mut impl FnMut(&mut Tape<f64>, &[Var]) -> Result<Var>,
) -> Result<Var> {
    tape.reset();
    let ids: Vec<_> = tape.params().ids().collect();
    let vars: Vec<Var> = ids.into_iter().map(|id| tape.param(id)).collect();
    let y = f(tape, &vars)?;
    let shape = tape.shape(y)?.to_vec();
    if shape.iter().product::<usize>() == 1 {
        return Ok(y);
    }
    let weights = ArrayD::from_shape_vec(
        IxDyn(&shape),
        (0..shape.iter().product()).map(direction).collect(),
    )
    .unwrap_or_else(|_| unreachable!("length is the shape's product"));
    let w = tape.input(weights);
    let yw = tape.mul(y, w)?;
    tape.sum(yw)
}

impl GradCheck {
    /// Checks `f` at `inputs` with these tolerances.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn run(
        &self,
        mut f: impl FnMut(&mut Tape<f64>, &[Var]) -> Result<Var>,
        inputs: &[ArrayD<f64>],
    ) -> Result<GradCheckReport> {
        let mut tape = Tape::<f64>::new();
        let ids: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(i, x)| tape.params_mut().add(format!("input{i}"), x.clone()))
            .collect();
        let out = scalar_of(&mut tape, &mut f)?;
        tape.backward(out)?;
        let analytic: Vec<ArrayD<f64>> = ids
            .iter()
            .map(|&id| tape.params().grad(id).to_owned())
            .collect();
        let mut reports = Vec::new();
        for (k, &id) in ids.iter().enumerate() {
            let mut rep = InputReport {
                input: k,
                max_abs_error: 0.0,
                max_rel_error: 0.0,
                worst_at: Vec::new(),
                worst_values: (0.0, 0.0),
                passed: true,
            };
            let mut worst_excess = f64::NEG_INFINITY;
            let shape = inputs[k].shape().to_vec();
            for flat in 0..inputs[k].len() {
                let idx = unravel(flat, &shape);
                let orig = inputs[k][IxDyn(&idx)];
                let mut eval = |x: f64, tape: &mut Tape<f64>| -> Result<f64> {
                    tape.params_mut().value_mut(id)[IxDyn(&idx)] = x;
                    let o = scalar_of(tape, &mut f)?;
                    Ok(tape.value(o).iter().next().copied().unwrap_or(f64::NAN))
                };
                let plus = eval(orig + self.eps, &mut tape)?;
                let minus = eval(orig - self.eps, &mut tape)?;
                tape.params_mut().value_mut(id)[IxDyn(&idx)] = orig;
                let numeric = (plus - minus) / (2.0 * self.eps);
                let a = analytic[k][IxDyn(&idx)];
                let abs = (a - numeric).abs();
                let rel = abs / numeric.abs().max(1e-300);
                rep.max_abs_error = rep.max_abs_error.max(abs);
                rep.max_rel_error = rep.max_rel_error.max(rel);
                let excess = abs - (self.atol + self.rtol * numeric.abs());
                if excess.is_nan() || excess > 0.0 {
                    rep.passed = false;
                }
                if excess > worst_excess || excess.is_nan() {
                    worst_excess = if excess.is_nan() {
                        f64::INFINITY
                    } else {
                        excess
                    };
                    rep.worst_at = idx;
                    rep.worst_values = (a, numeric);
                }
            }
            reports.push(rep);
        }
        Ok(GradCheckReport {
            tolerances: *self,
            inputs: reports,
        })
    }
}

/// The outcome of [`GradCheck::jacobian`]: the exact Jacobian against central differences.
#[derive(Debug, Clone, PartialEq)]
pub struct JacobianCheck {
    /// The tolerances used.
    pub tolerances: GradCheck,
    /// The Jacobian from the tape ([`crate::jacobian::jacobian`]).
    pub analytic: Array2<f64>,
    /// The Jacobian from central differences, column by column.
    pub numeric: Array2<f64>,
    /// The largest `|analytic − numeric|`.
    pub max_abs_error: f64,
    /// The entry (output element, input element) where the criterion is worst.
    pub worst_at: (usize, usize),
    /// Whether every entry meets `|analytic − numeric| ≤ atol + rtol·|numeric|`.
    pub passed: bool,
}

impl fmt::Display for JacobianCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (i, j) = self.worst_at;
        write!(
            f,
            "{}: {}×{} Jacobian, max abs error {:.3e}, worst at [{i}, {j}] (analytic {:.9e}, numeric {:.9e}) {}",
            self.tolerances,
            self.analytic.nrows(),
            self.analytic.ncols(),
            self.max_abs_error,
            self.analytic.get((i, j)).copied().unwrap_or(f64::NAN),
            self.numeric.get((i, j)).copied().unwrap_or(f64::NAN),
            if self.passed { "ok" } else { "FAILED" }
        )
    }
}

impl GradCheck {
    /// Checks the Jacobian of `f` at `x` ([`crate::jacobian::jacobian`], exact) against
    /// central differences: column j is `(f(x + eps·eⱼ) − f(x − eps·eⱼ)) / 2eps`, each
    /// evaluation recorded afresh on `tape` from [`Tape::input`]. `f` must compute the same
    /// function every time it is called (reseed any RNG it draws from).
    ///
    /// ```
    /// use gradwell_autodiff::{AutodiffError, GradCheck, Tape};
    /// use ndarray::array;
    ///
    /// let mut tape = Tape::<f64>::new();
    /// let x = array![[0.3, -1.2], [2.0, 0.7]].into_dyn();
    /// let check = GradCheck::default().jacobian(&mut tape, &x.view(), |t, v| {
    ///     let e = t.exp(v)?;
    ///     t.softmax(e, 1)
    /// })?;
    /// assert!(check.passed, "{check}");
    /// # Ok::<(), AutodiffError>(())
    /// ```
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn jacobian<E: From<AutodiffError>>(
        &self,
        tape: &mut Tape<f64>,
        x: &ndarray::ArrayViewD<'_, f64>,
        mut f: impl FnMut(&mut Tape<f64>, Var) -> Result<Var, E>,
    ) -> Result<JacobianCheck, E> {
        let analytic = crate::jacobian::jacobian(tape, x, &mut f)?.matrix;
        let mut numeric = Array2::zeros(analytic.dim());
        let mut xp = x.as_standard_layout().into_owned();
        for j in 0..xp.len() {
            let mut eval = |xp: &mut ArrayD<f64>, delta: f64| -> Result<ArrayD<f64>, E> {
                let flat = xp
                    .as_slice_mut()
                    .unwrap_or_else(|| unreachable!("an owned standard-layout array"));
                let orig = flat[j];
                flat[j] = orig + delta;
                tape.reset();
                let v = tape.input(xp.clone());
                let y = f(tape, v);
                if let Some(flat) = xp.as_slice_mut() {
                    flat[j] = orig;
                }
                Ok(tape.value(y?).to_owned())
            };
            let plus = eval(&mut xp, self.eps)?;
            let minus = eval(&mut xp, -self.eps)?;
            for (i, (p, m)) in plus.iter().zip(minus.iter()).enumerate() {
                if let Some(d) = numeric.get_mut((i, j)) {
                    *d = (p - m) / (2.0 * self.eps);
                }
            }
        }
        let mut check = JacobianCheck {
            tolerances: *self,
            max_abs_error: 0.0,
            worst_at: (0, 0),
            passed: true,
            analytic,
            numeric,
        };
        let mut worst_excess = f64::NEG_INFINITY;
        for ((at, &a), &n) in check.analytic.indexed_iter().zip(check.numeric.iter()) {
            let abs = (a - n).abs();
            check.max_abs_error = check.max_abs_error.max(abs);
            let excess = abs - (self.atol + self.rtol * n.abs());
            let excess = if excess.is_nan() {
                f64::INFINITY
            } else {
                excess
            };
            if excess > 0.0 {
                check.passed = false;
            }
            if excess > worst_excess {
                worst_excess = excess;
                check.worst_at = at;
            }
        }
        Ok(check)
    }
}

/// [`GradCheck::run`] with PyTorch's default tolerances.
///
/// # Errors
/// Whatever `f` returns.
pub fn gradcheck(
    f: impl FnMut(&mut Tape<f64>, &[Var]) -> Result<Var>,
    inputs: &[ArrayD<f64>],
) -> Result<GradCheckReport> {
    GradCheck::default().run(f, inputs)
}

fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        idx[d] = flat % n;
        flat /= n;
    }
    idx
}
