//! Parameters as the optimizers see them: a name, a value slice and a gradient slice.

use gradwell_tensor::Float;

/// One named parameter: its values and its gradient, as contiguous slices of equal length.
///
/// The optimizers know nothing else about a parameter (no shape, no autodiff): any store
/// that keeps values and gradients contiguously — the autodiff crate's parameter store, or
/// a user's own arrays via `as_slice_mut` — can hand them over. Optimizer state is keyed
/// by [`ParamSlot::name`], so names must be unique and stable from step to step.
///
/// ```
/// use gradwell_optim::ParamSlot;
///
/// let mut w = vec![1.0_f64, 2.0];
/// let mut g = vec![0.5, -0.5];
/// let slot = ParamSlot::new("layer0.weight", &mut w, &mut g);
/// assert_eq!(slot.len(), 2);
/// ```
#[derive(Debug)]
pub struct ParamSlot<'a, F> {
    /// Unique, stable name (e.g. `"layers.0.weight"`); keys the optimizer state and the
    /// parameter-group rules.
    pub name: &'a str,
    /// The parameter's values, updated in place by a step.
    pub value: &'a mut [F],
    /// Its gradient (read by a step, scaled in place by clipping, zeroed by
    /// [`zero_grad`]).
    pub grad: &'a mut [F],
}

impl<'a, F> ParamSlot<'a, F> {
    /// A slot from a name, a value slice and a gradient slice.
    pub fn new(name: &'a str, value: &'a mut [F], grad: &'a mut [F]) -> Self {
        ParamSlot { name, value, grad }
    }

    /// Number of elements of the value.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the parameter has no elements.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// A reusable buffer for the slice of [`ParamSlot`]s a step takes, so that building it
/// every step allocates nothing after the first: the slots borrow the parameters only for
/// the duration of [`SlotBuffer::with`], and the buffer keeps just its capacity.
///
/// ```
/// use gradwell_optim::{ParamSlot, SlotBuffer};
///
/// let mut params = vec![(String::from("w"), vec![1.0_f32, 2.0], vec![0.5_f32, 0.5])];
/// let mut buf = SlotBuffer::new();
/// let n = buf.with(
///     params.iter_mut().map(|(n, v, g)| ParamSlot::new(n, v, g)),
///     |slots| slots.len(),
/// );
/// assert_eq!(n, 1);
/// ```
#[derive(Debug, Default)]
pub struct SlotBuffer<F: 'static> {
    spare: Vec<ParamSlot<'static, F>>,
}

/// An empty vector of slots of another lifetime that reuses `v`'s allocation (the
/// elements have the same layout, so the standard library collects in place).
fn recycle<'a, 'b, F>(mut v: Vec<ParamSlot<'a, F>>) -> Vec<ParamSlot<'b, F>> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector was cleared"))
        .collect()
}

impl<F: 'static> SlotBuffer<F> {
    /// An empty buffer.
    pub fn new() -> Self {
        SlotBuffer { spare: Vec::new() }
    }

    /// Collects `slots` into the buffer and runs `f` on them.
    pub fn with<'a, R>(
        &mut self,
        slots: impl Iterator<Item = ParamSlot<'a, F>>,
        f: impl FnOnce(&mut [ParamSlot<'a, F>]) -> R,
    ) -> R {
        let mut v: Vec<ParamSlot<'a, F>> = recycle(std::mem::take(&mut self.spare));
        v.extend(slots);
        let r = f(&mut v);
        self.spare = recycle(v);
        r
    }
}

/// Sets every gradient to zero (PyTorch's `zero_grad(set_to_none=False)`).
pub fn zero_grad<F: Float>(params: &mut [ParamSlot<'_, F>]) {
    for p in params {
        p.grad.fill(F::zero());
    }
}

/// Lanes checked together by [`first_non_finite`]: wide enough for the compiler to use
/// vector compares, and short enough to stop soon after a bad element.
const LANES: usize = 16;

/// The index of the first NaN or infinite element, if any. Scans in blocks without an
/// early exit inside a block, so the compare loop vectorizes.
pub(crate) fn first_non_finite<F: Float>(xs: &[F]) -> Option<usize> {
    gradwell_tensor::vectorized(
        #[inline(always)]
        || first_non_finite_in(xs),
    )
}

#[inline(always)]
fn first_non_finite_in<F: Float>(xs: &[F]) -> Option<usize> {
    let mut chunks = xs.chunks_exact(LANES);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut ok = true;
        for &x in chunk {
            ok &= x.is_finite();
        }
        if !ok {
            return chunk.iter().position(|x| !x.is_finite()).map(|i| base + i);
        }
        base += LANES;
    }
    chunks
        .remainder()
        .iter()
        .position(|x| !x.is_finite())
        .map(|i| base + i)
}

#[cfg(test)]
mod slot_buffer_tests {
    use super::*;

    #[test]
    fn the_buffer_keeps_its_allocation_across_steps() {
        let mut params: Vec<(String, Vec<f32>, Vec<f32>)> = (0..40)
            .map(|i| (format!("p{i}"), vec![0.0; 3], vec![1.0; 3]))
            .collect();
        let mut buf = SlotBuffer::new();
        let mut pointers = Vec::new();
        for _ in 0..3 {
            let p = buf.with(
                params.iter_mut().map(|(n, v, g)| ParamSlot::new(n, v, g)),
                |s| {
                    assert_eq!(s.len(), 40);
                    s.as_ptr() as usize
                },
            );
            pointers.push(p);
            // Between steps the buffer holds the allocation itself (equal pointers alone
            // could come from the allocator handing back a block just freed).
            assert!(buf.spare.capacity() >= 40, "{}", buf.spare.capacity());
        }
        assert!(pointers.windows(2).all(|w| w[0] == w[1]), "{pointers:?}");
    }
}
