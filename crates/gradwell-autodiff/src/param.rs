use gradwell_tensor::Float;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

/// A handle to a parameter in a [`ParamStore`]: cheap to copy, stable for the store's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub(crate) usize);

impl ParamId {
    /// The parameter's position in its store (the order parameters were added).
    pub fn index(self) -> usize {
        self.0
    }
}

/// Persistent parameters: for each, a name, a value and a gradient of the same shape.
///
/// Parameters survive across training steps (the [`crate::Tape`] is reset every step, the
/// store is not). Gradients accumulate over backward passes until [`ParamStore::zero_grad`].
/// Values and gradients are kept as separate contiguous arrays so that a backward pass can
/// read every value while writing gradients, and an optimizer can update them in place as
/// flat slices ([`ParamStore::slots_mut`]).
///
/// ```
/// use gradwell_autodiff::ParamStore;
/// use ndarray::ArrayD;
///
/// let mut store = ParamStore::<f32>::new();
/// let w = store.add("weight", ArrayD::zeros(ndarray::IxDyn(&[3, 2])));
/// assert_eq!(store.name(w), "weight");
/// assert_eq!(store.grad(w).shape(), &[3, 2]);
/// assert_eq!(store.num_elements(), 6);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ParamStore<F> {
    pub(crate) names: Vec<String>,
    pub(crate) values: Vec<ArrayD<F>>,
    pub(crate) grads: Vec<ArrayD<F>>,
    pub(crate) trainable: Vec<bool>,
}

impl<F: Float> ParamStore<F> {
    /// An empty store.
    pub fn new() -> Self {
        ParamStore {
            names: Vec::new(),
            values: Vec::new(),
            grads: Vec::new(),
            trainable: Vec::new(),
        }
    }

    /// Adds a trainable parameter with a zero gradient; the value is stored in standard
    /// (row-major, contiguous) layout.
    pub fn add(&mut self, name: impl Into<String>, value: ArrayD<F>) -> ParamId {
        self.add_with(name, value, true)
    }

    /// Adds a parameter that is (`trainable = true`) or is not updated by optimizers;
    /// buffers such as batch norm's running statistics are stored with `false`.
    pub fn add_with(
        &mut self,
        name: impl Into<String>,
        value: ArrayD<F>,
        trainable: bool,
    ) -> ParamId {
        let value = if value.is_standard_layout() {
            value
        } else {
            value.as_standard_layout().into_owned()
        };
        self.grads.push(ArrayD::zeros(value.raw_dim()));
        self.values.push(value);
        self.names.push(name.into());
        self.trainable.push(trainable);
        ParamId(self.values.len() - 1)
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the store holds no parameter.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The total number of scalar elements over all parameters.
    pub fn num_elements(&self) -> usize {
        self.values.iter().map(ArrayD::len).sum()
    }

    /// Every parameter's handle, in the order they were added.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = ParamId> + use<F> {
        (0..self.values.len()).map(ParamId)
    }

    /// A parameter's name.
    pub fn name(&self, id: ParamId) -> &str {
        &self.names[id.0]
    }

    /// Renames a parameter (used by containers that learn their children's full path).
    pub fn rename(&mut self, id: ParamId, name: impl Into<String>) {
        self.names[id.0] = name.into();
    }

    /// Whether optimizers update this parameter.
    pub fn is_trainable(&self, id: ParamId) -> bool {
        self.trainable[id.0]
    }

    /// A parameter's value.
    pub fn value(&self, id: ParamId) -> ArrayViewD<'_, F> {
        self.values[id.0].view()
    }

    /// A parameter's value, mutable (its shape stays fixed).
    pub fn value_mut(&mut self, id: ParamId) -> ArrayViewMutD<'_, F> {
        self.values[id.0].view_mut()
    }

    /// A parameter's accumulated gradient.
    pub fn grad(&self, id: ParamId) -> ArrayViewD<'_, F> {
        self.grads[id.0].view()
    }

    /// A parameter's gradient, mutable (for clipping and the like).
    pub fn grad_mut(&mut self, id: ParamId) -> ArrayViewMutD<'_, F> {
        self.grads[id.0].view_mut()
    }

    /// Sets every gradient to zero (buffers are kept).
    pub fn zero_grad(&mut self) {
        for g in &mut self.grads {
            gradwell_tensor::fill_zero(g);
        }
    }

    /// Each trainable parameter as `(name, value, gradient)` flat slices, in order: what an
    /// optimizer updates in place.
    pub fn slots_mut(&mut self) -> impl Iterator<Item = (&str, &mut [F], &mut [F])> {
        self.names
            .iter()
            .zip(self.values.iter_mut())
            .zip(self.grads.iter_mut())
            .zip(self.trainable.iter())
            .filter(|(_, t)| **t)
            .filter_map(|(((n, v), g), _)| Some((n.as_str(), v.as_slice_mut()?, g.as_slice_mut()?)))
    }
}
