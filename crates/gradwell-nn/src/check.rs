//! Gradient checking of a whole network, parameters included.

use std::fmt;

use gradwell_autodiff::gradcheck::InputReport;
use gradwell_autodiff::{AutodiffError, GradCheck, Tape, Var};
use ndarray::ArrayD;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::module::{Ctx, Module};
use crate::{Network, NnError, Result};

/// The outcome of [`Network::gradcheck`]: one report per trainable parameter, by its
/// state_dict name, and one for the input (named `input`).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkGradCheck {
    /// The tolerances used.
    pub tolerances: GradCheck,
    /// `(name, report)` in parameter order, the input last.
    pub entries: Vec<(String, InputReport)>,
}

impl NetworkGradCheck {
    /// Whether every parameter and the input passed.
    pub fn passed(&self) -> bool {
        self.entries.iter().all(|(_, r)| r.passed)
    }

    /// The report of one parameter (or of `"input"`).
    pub fn get(&self, name: &str) -> Option<&InputReport> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }
}

impl fmt::Display for NetworkGradCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:", self.tolerances)?;
        for (name, r) in &self.entries {
            writeln!(f, "  {name}: {r}")?;
        }
        Ok(())
    }
}

impl Network<f64> {
    /// Checks the gradient of `loss(network(x))` with respect to every trainable parameter
    /// and to `x` against central finite differences ([`GradCheck`]), through the whole
    /// network as it is now (its current weights; training or evaluation mode).
    ///
    /// The check runs the forward pass many times; each run draws dropout masks from a
    /// ChaCha8 RNG seeded afresh with `seed`, so every run sees the same mask and the
    /// function being differentiated is fixed. Buffers (running statistics) are read but
    /// not checked. The network itself is not changed (the check works on a copy of the
    /// parameters, so batch norm's running statistics are not updated either).
    ///
    /// ```
    /// use gradwell_autodiff::GradCheck;
    /// use gradwell_nn::{MlpSpec, Network, losses};
    /// use ndarray::{ArrayD, IxDyn};
    ///
    /// let mut mlp = MlpSpec::new(&[3, 4, 2], "tanh".parse()?);
    /// mlp.batch_norm = true;
    /// let net = Network::<f64>::build(&mlp.to_spec()?, 1)?;
    /// let x = ArrayD::from_shape_fn(IxDyn(&[5, 3]), |i| (i[0] * 3 + i[1]) as f64 * 0.3 - 2.0);
    /// let report = net.gradcheck(&x, true, 0, GradCheck::default(), |tape, y| {
    ///     let labels = tape.labels(&[0, 1, 1, 0, 1]);
    ///     losses::cross_entropy(tape, y, labels, 0.0, losses::LossReduction::Mean)
    /// })?;
    /// assert!(report.passed(), "{report}");
    /// assert!(report.get("1.weight").is_some()); // batch norm's γ
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Whatever the forward pass or `loss` returns.
    pub fn gradcheck(
        &self,
        x: &ArrayD<f64>,
        training: bool,
        seed: u64,
        tolerances: GradCheck,
        mut loss: impl FnMut(&mut Tape<f64>, Var) -> Result<Var>,
    ) -> Result<NetworkGradCheck> {
        // The check's own tape holds a copy of every parameter at the same position as in
        // the network's store, so the layers' handles are valid on it; the input comes last.
        let store = self.tape.params();
        let n = store.len();
        let mut inputs: Vec<ArrayD<f64>> =
            store.ids().map(|id| store.value(id).to_owned()).collect();
        inputs.push(x.clone());
        let root = self.root();
        let mut failure: Option<NnError> = None;
        let report = tolerances.run(
            |tape, vars| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let y = {
                    let mut ctx = Ctx {
                        tape: &mut *tape,
                        training,
                        rng: &mut rng,
                        taps: None,
                    };
                    root.forward(&mut ctx, vars[n])
                };
                y.and_then(|y| loss(tape, y)).map_err(|e| {
                    let why = e.to_string();
                    failure.get_or_insert(e);
                    AutodiffError::invalid("network", why)
                })
            },
            &inputs,
        );
        let report = match report {
            Ok(r) => r,
            Err(e) => return Err(failure.unwrap_or(NnError::from(e))),
        };
        let mut entries = Vec::new();
        for (k, r) in report.inputs.into_iter().enumerate() {
            if k == n {
                entries.push(("input".to_string(), r));
            } else if let Some(id) = store.ids().nth(k)
                && store.is_trainable(id)
            {
                entries.push((store.name(id).to_string(), r));
            }
        }
        Ok(NetworkGradCheck {
            tolerances,
            entries,
        })
    }
}
