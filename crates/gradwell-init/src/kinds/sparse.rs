//! `sparse:SPARSITY[,STD]`: PyTorch's `sparse_`, a fraction of each column zero.

use ndarray::ArrayViewMutD;
use num_traits::Float;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::initializer::finite;
use crate::registry::{Entry, number, print};
use crate::{InitError, InitInfo, Initializer, Law, Moments};

/// A sparse matrix as PyTorch's `sparse_(w, sparsity, std=0.01)` makes it (Martens 2010,
/// "Deep learning via Hessian-free optimization"): in each column, `num_zeros =
/// ceil(sparsity · rows)` distinct rows chosen uniformly at random are 0, and every other
/// element is drawn from N(0, std²). Matrices only (`[rows, cols]`, PyTorch's `[out, in]`
/// for a `Linear` weight, so each input reaches all but `num_zeros` outputs), written
/// `sparse:SPARSITY[,STD]`; the sparsity has no default, as in PyTorch.
///
/// `num_zeros` is PyTorch's float expression, [`Sparse::zeros_per_column`]: 0.55 of 100
/// rows is `ceil(55.00000000000001)` = 56 zeros, as PyTorch makes it. The sparsity must be in
/// [0, 1] (PyTorch does not check it, and a negative one would zero all *but* the last
/// rows through Python's slicing); the std at least 0.
///
/// The elements of a column are not independent (their zeros are counted exactly), so there
/// is no per-element [`Law`]; the moments are exact: mean 0 and variance
/// (1 − num_zeros/rows)·std², what the monitor's theory reads.
///
/// ```
/// use gradwell_init::{Init, InitInfo, Initializer, Sparse};
/// use rand::SeedableRng;
///
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
/// let init: Init = "sparse:0.1".parse()?;
/// assert_eq!(init, Init::Sparse(Sparse { sparsity: 0.1, std: 0.01 }));
/// // A [32, 4] matrix: ceil(0.1 · 32) = 4 zeros in every column.
/// let w: ndarray::ArrayD<f64> = init.sample(&[32, 4], &mut rng)?;
/// let w = w.into_dimensionality::<ndarray::Ix2>().unwrap();
/// for column in w.columns() {
///     assert_eq!(column.iter().filter(|&&x| x == 0.0).count(), 4);
/// }
/// let m = init.moments(&[32, 4])?.unwrap();
/// assert_eq!(m.mean, 0.0);
/// assert!((m.variance / (28.0 / 32.0 * 1e-4) - 1.0).abs() < 1e-15);
/// // PyTorch's refusal of anything but a matrix.
/// let vector: Result<ndarray::ArrayD<f64>, _> = init.sample(&[30], &mut rng);
/// assert!(vector.unwrap_err().to_string().contains("Only tensors with 2 dimensions are supported"));
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sparse {
    /// The fraction of each column set to zero, in [0, 1].
    pub sparsity: f64,
    /// The standard deviation of the other elements, at least 0 (PyTorch's default 0.01).
    pub std: f64,
}

impl Sparse {
    const NAME: &'static str = "sparse";

    /// PyTorch's default standard deviation of the non-zero elements.
    pub const DEFAULT_STD: f64 = 0.01;

    /// A sparsity with PyTorch's default std, 0.01.
    pub fn new(sparsity: f64) -> Self {
        Sparse {
            sparsity,
            std: Self::DEFAULT_STD,
        }
    }

    /// The zeros in each column of a matrix with `rows` rows: PyTorch's
    /// `math.ceil(sparsity * rows)`, computed in the same floating point (at most `rows`).
    ///
    /// ```
    /// use gradwell_init::Sparse;
    /// assert_eq!(Sparse::new(0.1).zeros_per_column(128), 13);
    /// assert_eq!(Sparse::new(0.55).zeros_per_column(100), 56); // 0.55 · 100 = 55.00000000000001
    /// assert_eq!(Sparse::new(0.0).zeros_per_column(30), 0);
    /// ```
    pub fn zeros_per_column(&self, rows: usize) -> usize {
        let zeros = (self.sparsity * rows as f64).ceil();
        if zeros >= rows as f64 {
            rows
        } else {
            // A valid sparsity makes this a whole number in [0, rows).
            zeros.max(0.0) as usize
        }
    }

    /// Rows, columns and zeros per column, after checking the parameters and the shape.
    fn matrix(&self, shape: &[usize]) -> Result<(usize, usize, usize), InitError> {
        self.validate()?;
        match *shape {
            [rows, cols] => Ok((rows, cols, self.zeros_per_column(rows))),
            _ => Err(InitError::BadShape {
                initializer: Self::NAME,
                shape: shape.to_vec(),
                // PyTorch's message.
                why: "Only tensors with 2 dimensions are supported",
            }),
        }
    }
}

impl InitInfo for Sparse {
    fn validate(&self) -> Result<(), InitError> {
        let bad = |parameter, value, why| InitError::BadParameter {
            initializer: Self::NAME,
            parameter,
            value,
            why,
        };
        let sparsity = finite(Self::NAME, "sparsity", self.sparsity)?;
        if !(0.0..=1.0).contains(&sparsity) {
            return Err(bad("sparsity", sparsity, "a fraction must be in [0, 1]"));
        }
        let std = finite(Self::NAME, "std", self.std)?;
        if std < 0.0 {
            return Err(bad("std", std, "a standard deviation must be at least 0"));
        }
        Ok(())
    }

    /// `None`: the zeros of a column are counted exactly, so its elements are not
    /// independent.
    fn law(&self, shape: &[usize]) -> Result<Option<Law>, InitError> {
        self.matrix(shape).map(|_| None)
    }

    /// Mean 0 and variance (1 − num_zeros/rows)·std² (`None` for an empty matrix): each
    /// element is 0 with probability num_zeros/rows, and N(0, std²) otherwise.
    fn moments(&self, shape: &[usize]) -> Result<Option<Moments>, InitError> {
        let (rows, cols, zeros) = self.matrix(shape)?;
        if rows == 0 || cols == 0 {
            return Ok(None);
        }
        let nonzero = 1.0 - zeros as f64 / rows as f64;
        Ok(Some(Moments {
            mean: 0.0,
            variance: nonzero * self.std * self.std,
        }))
    }
}

impl<F: Float> Initializer<F> for Sparse {
    /// As PyTorch: every element from N(0, std²) in logical order, then, column by column,
    /// `num_zeros` distinct rows drawn uniformly (`rand`'s `index::sample`) set to 0.
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) -> Result<(), InitError> {
        let (rows, cols, zeros) = self.matrix(a.shape())?;
        if a.is_empty() {
            return Ok(());
        }
        Law::Normal {
            mean: 0.0,
            std: self.std,
        }
        .fill(a, rng);
        for col in 0..cols {
            for row in rand::seq::index::sample(rng, rows, zeros) {
                a[[row, col]] = F::zero();
            }
        }
        Ok(())
    }
}

impl Entry for Sparse {
    const NAMES: &'static [&'static str] = &["sparse"];
    const USAGE: &'static str = "sparse:SPARSITY[,STD]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        match args {
            [sparsity] => Ok(Sparse::new(number(sparsity)?)),
            [sparsity, std] => Ok(Sparse {
                sparsity: number(sparsity)?,
                std: number(std)?,
            }),
            _ => Err(format!(
                "expected SPARSITY[,STD] (the fraction of each column that is zero, and the \
                 std of the rest, default {}), got {} parameters",
                Self::DEFAULT_STD,
                args.len()
            )),
        }
    }
    fn args(&self) -> Vec<String> {
        if self.std == Self::DEFAULT_STD {
            print(&[self.sparsity])
        } else {
            print(&[self.sparsity, self.std])
        }
    }
    fn examples() -> Vec<Self> {
        // PyTorch's docstring example, and a denser zero pattern with another std.
        vec![
            Sparse::new(0.1),
            Sparse {
                sparsity: 0.3,
                std: 0.05,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_per_column_is_pytorchs_ceil() {
        // Python: math.ceil(s * rows), including the rounding of s * rows.
        for (sparsity, rows, zeros) in [
            (0.1, 10, 1),
            (0.1, 30, 3),
            (0.55, 100, 56),
            (0.7, 90, 63),
            (0.1, 128, 13),
            (0.5, 7, 4),
            (0.99, 3, 3),
            (1.0, 5, 5),
            (0.0, 5, 0),
            (0.3, 0, 0),
        ] {
            assert_eq!(
                Sparse::new(sparsity).zeros_per_column(rows),
                zeros,
                "{sparsity} of {rows}"
            );
        }
    }

    #[test]
    fn parameters_and_shapes_are_checked() {
        for (sparsity, std, parameter) in [
            (-0.1, 0.01, "sparsity"),
            (1.5, 0.01, "sparsity"),
            (f64::NAN, 0.01, "sparsity"),
            (0.1, -1.0, "std"),
            (0.1, f64::INFINITY, "std"),
        ] {
            let e = Sparse { sparsity, std }.validate().unwrap_err();
            assert!(
                matches!(e, InitError::BadParameter { parameter: p, .. } if p == parameter),
                "{e}"
            );
        }
        for shape in [&[4][..], &[2, 3, 4][..], &[][..]] {
            let e = Sparse::new(0.1).law(shape).unwrap_err();
            assert!(
                e.to_string()
                    .contains("Only tensors with 2 dimensions are supported"),
                "{e}"
            );
        }
    }

    #[test]
    fn spelling() {
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            Sparse::from_args(&args)
        };
        assert_eq!(parse(&["0.1"]), Ok(Sparse::new(0.1)));
        assert_eq!(
            parse(&["0.2", "0.5"]),
            Ok(Sparse {
                sparsity: 0.2,
                std: 0.5
            })
        );
        assert!(parse(&[]).unwrap_err().contains("SPARSITY"));
        assert!(parse(&["x"]).unwrap_err().contains("not a number"));
        assert_eq!(Sparse::new(0.1).args(), ["0.1"]);
        let wide = Sparse {
            sparsity: 0.1,
            std: 0.5,
        };
        assert_eq!(wide.args(), ["0.1", "0.5"]);
    }

    /// Exactly `num_zeros` zeros in every column of every fill, f32 and f64 alike, and the
    /// non-zero elements where the normal fill put them.
    #[test]
    fn every_column_has_exactly_its_zeros() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for (sparsity, rows, cols) in [(0.1, 30, 7), (0.5, 9, 3), (1.0, 4, 2), (0.0, 5, 5)] {
            let init = Sparse::new(sparsity);
            let want = init.zeros_per_column(rows);
            let w: ndarray::ArrayD<f32> = init.sample(&[rows, cols], &mut rng).unwrap();
            let w = w.into_dimensionality::<ndarray::Ix2>().unwrap();
            for column in w.columns() {
                let zeros = column.iter().filter(|&&x| x == 0.0).count();
                assert_eq!(zeros, want, "{sparsity} of {rows}");
            }
        }
    }

    /// The declared variance is the mean square of the fills: 64 fills of [40, 50] with 4
    /// zeros per column hold n = 115200 normal draws; their mean square, times 36/40, has
    /// relative standard deviation √(2/n) = 0.42 %, and 6 of them are allowed (a false
    /// alarm with probability 2·10⁻⁹). Without the zeros (variance std²) it is off by 10 %.
    #[test]
    fn moments_are_the_mean_square_of_the_fills() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let init = Sparse {
            sparsity: 0.1,
            std: 0.5,
        };
        let shape = [40, 50];
        let fills = 64;
        let mut m2 = 0.0;
        for _ in 0..fills {
            let w: ndarray::ArrayD<f64> = init.sample(&shape, &mut rng).unwrap();
            m2 += w.iter().map(|x| x * x).sum::<f64>() / (w.len() * fills) as f64;
        }
        let variance = init.moments(&shape).unwrap().unwrap().variance;
        assert!((variance / (0.9 * 0.25) - 1.0).abs() < 1e-15, "{variance}");
        let n = (36 * 50 * fills) as f64;
        assert!((m2 / variance - 1.0).abs() < 6.0 * (2.0 / n).sqrt(), "{m2}");
    }
}
