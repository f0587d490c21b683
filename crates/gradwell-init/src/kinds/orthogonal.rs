//! `orthogonal[:GAIN]`: a Haar-random (semi-)orthogonal matrix, PyTorch's `orthogonal_`.

use ndarray::ArrayViewMutD;
use num_traits::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::initializer::{cast, finite};
use crate::registry::{Entry, numbers, print_gain};
use crate::sample::standard_normal;
use crate::{InitError, InitInfo, Initializer, Law, Moments};

/// A (semi-)orthogonal matrix times `gain`, as PyTorch's `orthogonal_(t, gain)`: the shape is
/// flattened to `rows = shape[0]` by `cols = product of the rest` (row-major, PyTorch's
/// flattening), and the result satisfies `W·Wᵀ = gain²·I` when rows ≤ cols, `Wᵀ·W =
/// gain²·I` when rows ≥ cols.
///
/// The matrix is the Q factor of a Gaussian matrix, computed in f64 by Gram–Schmidt with
/// re-orthogonalization. Gram–Schmidt's R has a positive diagonal, which is exactly
/// Mezzadri's sign fix (multiplying Q's columns by sign(diag R)), so W is Haar-distributed
/// over the (semi-)orthogonal matrices. For rank-2 shapes Keras's `Orthogonal` flattens
/// the same way.
///
/// ```
/// use gradwell_init::{Initializer, Orthogonal};
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
/// let w: ndarray::ArrayD<f64> = Orthogonal { gain: 2.0 }.sample(&[3, 5], &mut rng)?;
/// let w = w.into_dimensionality::<ndarray::Ix2>().unwrap();
/// let wwt = w.dot(&w.t());
/// for ((i, j), x) in wwt.indexed_iter() {
///     let want = if i == j { 4.0 } else { 0.0 };
///     assert!((x - want).abs() < 1e-12);
/// }
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Orthogonal {
    /// The factor applied to the orthogonal matrix.
    pub gain: f64,
}

impl Default for Orthogonal {
    /// Gain 1, PyTorch's default.
    fn default() -> Self {
        Orthogonal { gain: 1.0 }
    }
}

impl Orthogonal {
    /// Rows and columns of the flattened matrix, after checking the gain and the rank.
    fn matrix(&self, shape: &[usize]) -> Result<(usize, usize), InitError> {
        self.validate()?;
        if shape.len() < 2 {
            let why = "orthogonal needs 2 or more dimensions";
            return Err(InitError::BadShape {
                initializer: "orthogonal",
                shape: shape.to_vec(),
                why,
            });
        }
        let cols = shape[1..]
            .iter()
            .try_fold(1_usize, |n, &d| n.checked_mul(d));
        let too_large = || InitError::ShapeTooLarge {
            shape: shape.to_vec(),
        };
        Ok((shape[0], cols.ok_or_else(too_large)?))
    }
}

impl InitInfo for Orthogonal {
    fn validate(&self) -> Result<(), InitError> {
        finite("orthogonal", "gain", self.gain).map(drop)
    }

    /// `None`: the elements are not independent.
    fn law(&self, shape: &[usize]) -> Result<Option<Law>, InitError> {
        self.matrix(shape).map(|_| None)
    }

    /// Mean 0 and variance gain²·min(rows, cols)/(rows·cols) (`None` for an empty shape):
    /// the squared Frobenius norm gain²·min(rows, cols) spread evenly, every element having
    /// the same law by the Haar measure's invariance under permutations and sign flips.
    fn moments(&self, shape: &[usize]) -> Result<Option<Moments>, InitError> {
        let (rows, cols) = self.matrix(shape)?;
        if rows == 0 || cols == 0 {
            return Ok(None);
        }
        let (rows, cols) = (rows as f64, cols as f64);
        Ok(Some(Moments {
            mean: 0.0,
            variance: self.gain * self.gain * rows.min(cols) / (rows * cols),
        }))
    }
}

impl<F: Float> Initializer<F> for Orthogonal {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) -> Result<(), InitError> {
        let (rows, cols) = self.matrix(a.shape())?;
        if a.is_empty() {
            return Ok(());
        }
        let w = orthogonal_rows(rows, cols, rng);
        a.iter_mut()
            .zip(w)
            .for_each(|(x, v)| *x = cast(self.gain * v));
        Ok(())
    }
}

impl Entry for Orthogonal {
    const NAMES: &'static [&'static str] = &["orthogonal"];
    const USAGE: &'static str = "orthogonal[:GAIN]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        Ok(Orthogonal {
            gain: numbers(args, &[Orthogonal::default().gain], false)?[0],
        })
    }
    fn args(&self) -> Vec<String> {
        print_gain(self.gain)
    }
    fn examples() -> Vec<Self> {
        vec![Orthogonal::default(), Orthogonal { gain: 2.0 }]
    }
}

/// A Haar-random `rows × cols` matrix with orthonormal rows or columns (whichever are
/// fewer), row-major. Both sizes are at least 1.
fn orthogonal_rows(rows: usize, cols: usize, rng: &mut dyn RngCore) -> Vec<f64> {
    let (m, n) = (rows.max(cols), rows.min(cols));
    // n columns of length m, orthonormalized in turn.
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(n);
    while q.len() < n {
        let mut v: Vec<f64> = (0..m).map(|_| standard_normal(rng)).collect();
        // Classical Gram–Schmidt, done twice, is orthogonal to working precision.
        for _ in 0..2 {
            for u in &q {
                let d = dot(u, &v);
                v.iter_mut().zip(u).for_each(|(x, y)| *x -= d * y);
            }
        }
        let norm = dot(&v, &v).sqrt();
        // A Gaussian column is in the span of the others with probability 0; if rounding
        // makes it nearly so, draw it again rather than divide by almost nothing.
        if norm > 1e-6 * (m as f64).sqrt() {
            v.iter_mut().for_each(|x| *x /= norm);
            q.push(v);
        }
    }
    let mut w = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            // rows ≥ cols: W = Q (column j is q[j]); otherwise W = Qᵀ (row i is q[i]).
            w[i * cols + j] = if rows >= cols { q[j][i] } else { q[i][j] };
        }
    }
    w
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The declared variance is the mean square of an actual draw (exact, up to rounding:
    /// the squared Frobenius norm of a (semi-)orthogonal matrix is fixed).
    #[test]
    fn moments_are_the_mean_square_of_a_draw() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        for shape in [[20, 10], [10, 20], [6, 6]] {
            let init = Orthogonal { gain: 2.0 };
            let w: ndarray::ArrayD<f64> = init.sample(&shape, &mut rng).unwrap();
            let mean_square = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
            let m = init.moments(&shape).unwrap().unwrap();
            assert!((m.variance - mean_square).abs() < 1e-12, "{shape:?}");
        }
    }
}
