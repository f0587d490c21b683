//! Initializers with structure rather than a distribution per element.

use ndarray::ArrayViewMutD;
use num_traits::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::initializer::{cast, finite};
use crate::sample::Gaussian;
use crate::{InitError, Initializer};

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

impl<F: Float> Initializer<F> for Orthogonal {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) -> Result<(), InitError> {
        let gain = finite("orthogonal", "gain", self.gain)?;
        let shape = a.shape();
        if shape.len() < 2 {
            let why = "orthogonal needs 2 or more dimensions";
            return Err(InitError::BadShape {
                initializer: "orthogonal",
                shape: shape.to_vec(),
                why,
            });
        }
        if a.is_empty() {
            return Ok(());
        }
        let rows = shape[0];
        let cols = a.len() / rows;
        let w = orthogonal_rows(rows, cols, rng);
        a.iter_mut().zip(w).for_each(|(x, v)| *x = cast(gain * v));
        Ok(())
    }
}

/// A Haar-random `rows × cols` matrix with orthonormal rows or columns (whichever are
/// fewer), row-major. Both sizes are at least 1.
fn orthogonal_rows(rows: usize, cols: usize, rng: &mut dyn RngCore) -> Vec<f64> {
    let (m, n) = (rows.max(cols), rows.min(cols));
    let mut gauss = Gaussian::default();
    // n columns of length m, orthonormalized in turn.
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(n);
    while q.len() < n {
        let mut v: Vec<f64> = (0..m).map(|_| gauss.next(rng)).collect();
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

/// The identity matrix, as PyTorch's `eye_`: ones on the main diagonal, zeros elsewhere;
/// non-square matrices get ones at `(i, i)` for `i < min(rows, cols)`. Matrices only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Eye;

impl<F: Float> Initializer<F> for Eye {
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, _rng: &mut dyn RngCore) -> Result<(), InitError> {
        if a.ndim() != 2 {
            let why = "eye needs a 2-D shape";
            return Err(InitError::BadShape {
                initializer: "eye",
                shape: a.shape().to_vec(),
                why,
            });
        }
        for (index, x) in a.indexed_iter_mut() {
            *x = if index[0] == index[1] {
                F::one()
            } else {
                F::zero()
            };
        }
        Ok(())
    }
}
