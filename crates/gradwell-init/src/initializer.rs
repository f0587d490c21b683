use ndarray::{ArrayD, ArrayViewMutD, IxDyn};
use num_traits::Float;
use rand::RngCore;

use crate::InitError;

/// Something that fills an array with initial weights, drawing any randomness from the
/// caller's RNG (never a global or thread-local one), so that a seed reproduces a fill
/// exactly.
///
/// The trait is object-safe: `Box<dyn Initializer<f32>>` holds any initializer, and any
/// [`rand::Rng`] passes as `&mut dyn RngCore`. Values are drawn in f64 and rounded to `F`
/// once, in the array's logical (row-major) order whatever its memory layout. An array with
/// no elements is left as it is, without error — but a shape the initializer cannot read
/// (rank below 2 for a fan-based one, as in PyTorch) is an error even when it is empty.
pub trait Initializer<F: Float> {
    /// Fills `a` in place.
    fn fill(&self, a: &mut ArrayViewMutD<'_, F>, rng: &mut dyn RngCore) -> Result<(), InitError>;

    /// A new array of this shape, filled.
    ///
    /// ```
    /// use gradwell_init::{Initializer, VarianceScaling};
    /// use rand::SeedableRng;
    ///
    /// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    /// let w: ndarray::ArrayD<f32> = VarianceScaling::xavier_uniform(1.0).sample(&[3, 4], &mut rng)?;
    /// let bound = (6.0_f32 / 7.0).sqrt();
    /// assert!(w.iter().all(|x| x.abs() <= bound));
    /// # Ok::<(), gradwell_init::InitError>(())
    /// ```
    fn sample(&self, shape: &[usize], rng: &mut dyn RngCore) -> Result<ArrayD<F>, InitError> {
        let count = shape.iter().try_fold(1_usize, |acc, &d| acc.checked_mul(d));
        let limit = isize::MAX as usize / std::mem::size_of::<F>().max(1);
        if count.is_none_or(|n| n > limit) {
            return Err(InitError::ShapeTooLarge {
                shape: shape.to_vec(),
            });
        }
        let mut a = ArrayD::zeros(IxDyn(shape));
        self.fill(&mut a.view_mut(), rng)?;
        Ok(a)
    }
}

/// Rounds an f64 to `F` (exact for f64, nearest for f32).
pub(crate) fn cast<F: Float>(x: f64) -> F {
    F::from(x).unwrap_or_else(F::nan)
}

/// Sets every element, in logical order, to the next value of `next`.
pub(crate) fn fill_each<F: Float>(a: &mut ArrayViewMutD<'_, F>, mut next: impl FnMut() -> f64) {
    a.iter_mut().for_each(|x| *x = cast(next()));
}

/// Checks that a parameter is finite.
pub(crate) fn finite(
    initializer: &'static str,
    parameter: &'static str,
    value: f64,
) -> Result<f64, InitError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(InitError::BadParameter {
            initializer,
            parameter,
            value,
            why: "must be finite",
        })
    }
}
