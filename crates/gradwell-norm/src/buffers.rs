//! What the norm ops share to run without allocating in steady state: flat views of the
//! tape's values and gradients, per-op vectors refilled in place, and input lists on the
//! stack.

use gradwell_autodiff::{AutodiffError, Var};
use ndarray::{ArrayViewD, ArrayViewMutD};

/// The most inputs a norm op takes (`x, running_mean, running_var, weight, bias`).
pub(crate) const MAX_INPUTS: usize = 5;

/// A contiguous input of the op `op`, or an error naming it (the tape hands ops contiguous
/// values, so this fails only for a misuse of the op outside a tape).
pub(crate) fn contiguous<'a, F>(
    op: &'static str,
    v: &'a ArrayViewD<'_, F>,
    what: &str,
) -> gradwell_autodiff::Result<&'a [F]> {
    v.as_slice()
        .ok_or_else(|| AutodiffError::invalid(op, format!("{what} must be contiguous")))
}

/// The position of the optional weight and bias among an op's inputs, after `first`.
pub(crate) fn positions(
    first: usize,
    weight: Option<Var>,
    bias: Option<Var>,
) -> (Option<usize>, Option<usize>) {
    let w = weight.map(|_| first);
    let b = bias.map(|_| first + usize::from(weight.is_some()));
    (w, b)
}

/// A value the tape handed an op, as a flat slice.
pub(crate) fn slice<'a, F>(v: &'a ArrayViewD<'_, F>) -> &'a [F] {
    v.as_slice()
        .unwrap_or_else(|| unreachable!("the tape hands ops values in standard layout"))
}

/// The gradient targets as flat slices, by input position (`None` past the op's inputs).
pub(crate) fn targets<'a, F>(
    grads: &'a mut [Option<ArrayViewMutD<'_, F>>],
) -> [Option<&'a mut [F]>; MAX_INPUTS] {
    let mut t = [None, None, None, None, None];
    for (t, g) in t.iter_mut().zip(grads) {
        *t = g.as_mut().map(|g| {
            g.as_slice_mut()
                .unwrap_or_else(|| unreachable!("gradient buffers are in standard layout"))
        });
    }
    t
}

/// Replaces the contents of `buf` with `values`, keeping its allocation.
pub(crate) fn refill<T>(buf: &mut Vec<T>, values: impl IntoIterator<Item = T>) {
    buf.clear();
    buf.extend(values);
}

/// `buf` holding `n` copies of `value`, keeping its allocation.
pub(crate) fn filled<T: Copy>(buf: &mut Vec<T>, n: usize, value: T) -> &[T] {
    buf.clear();
    buf.resize(n, value);
    buf
}

/// An op's inputs, the leading ones followed by the optional weight and bias, held on
/// the stack.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs {
    vars: [Var; MAX_INPUTS],
    len: usize,
}

impl Inputs {
    /// `leading` (one to three values), then `weight` and `bias` when present.
    pub(crate) fn new(leading: &[Var], weight: Option<Var>, bias: Option<Var>) -> Self {
        let mut vars = [leading[0]; MAX_INPUTS];
        let mut len = 0;
        for v in leading.iter().copied().chain(weight).chain(bias) {
            vars[len] = v;
            len += 1;
        }
        Inputs { vars, len }
    }

    /// The inputs in order.
    pub(crate) fn as_slice(&self) -> &[Var] {
        &self.vars[..self.len]
    }
}
