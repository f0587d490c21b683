//! The memory a model will need, weighed against what the machine has before anything is
//! allocated.
//!
//! A [`MemoryBudget`] is what may be used: `GRADWELL_MAX_MEMORY_MB` ([`MAX_MEMORY_ENV`]) when
//! set, otherwise the kernel's `MemAvailable` (Linux's `/proc/meminfo`), otherwise
//! [`FALLBACK_MEMORY_BUDGET`]. A [`MemoryUse`] says what a model's memory is for: building
//! it (each parameter's value and gradient), running batches through it (each layer's
//! outputs and their gradients), training it (also the optimizer's buffers).
//! [`MemoryBudget::check`] adds it up layer by layer from a [`ModelPlan`], with saturating
//! arithmetic (no count can overflow), and refuses with [`NnError::TooLarge`], which names
//! the layer where the total passes the budget. [`crate::ModelSpec::build`] and
//! [`crate::Network::build`] check the building cost, so the library refuses a model that
//! cannot fit, not only the command line.
//!
//! The figure is an estimate from below of the large buffers: parameters, gradients,
//! optimizer state and layer outputs. Scratch space (an initializer's temporaries, a
//! matrix product's packing) and small bookkeeping are not counted.
//!
//! ```
//! use gradwell_nn::{MemoryBudget, MemoryUse, MlpSpec, NnError};
//!
//! let spec = MlpSpec::new(&[784, 1_000_000, 10], "relu".parse()?).to_spec()?;
//! let plan = spec.plan()?;
//! // 794 million parameters: 6.4 GB as f32 values and gradients, more than 1 GiB.
//! let err = MemoryBudget::new(1 << 30).check(&plan, &MemoryUse::build::<f32>()).unwrap_err();
//! assert!(matches!(err, NnError::TooLarge { .. }));
//! assert!(err.to_string().contains("layer 0 (Linear(→1000000)) alone needs"), "{err}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use gradwell_tensor::Float;

use crate::plan::{ModelPlan, human_bytes};
use crate::{NnError, Result};

/// The environment variable that sets the memory budget in MiB, replacing the detected
/// figure: lower it to keep a run small, raise it when swap or other knowledge says more
/// may be used.
pub const MAX_MEMORY_ENV: &str = "GRADWELL_MAX_MEMORY_MB";

/// The budget where the available memory cannot be read (no `/proc/meminfo`, as on macOS
/// or Windows) and [`MAX_MEMORY_ENV`] is not set: 16 GiB.
pub const FALLBACK_MEMORY_BUDGET: u64 = 16 << 30;

/// Where a [`MemoryBudget`]'s figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetSource {
    /// [`MAX_MEMORY_ENV`].
    Env,
    /// `MemAvailable` in `/proc/meminfo`.
    MemAvailable,
    /// [`FALLBACK_MEMORY_BUDGET`].
    Fallback,
    /// Given by the caller ([`MemoryBudget::new`]).
    Given,
}

impl fmt::Display for BudgetSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BudgetSource::Env => MAX_MEMORY_ENV,
            BudgetSource::MemAvailable => "MemAvailable in /proc/meminfo",
            BudgetSource::Fallback => "the fallback cap where available memory cannot be read",
            BudgetSource::Given => "the budget given",
        })
    }
}

/// How many bytes a model may use, and where the figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// The bytes that may be used.
    pub bytes: u64,
    /// Where the figure comes from.
    pub source: BudgetSource,
}

impl MemoryBudget {
    /// A budget of `bytes` ([`BudgetSource::Given`]).
    pub fn new(bytes: u64) -> Self {
        MemoryBudget {
            bytes,
            source: BudgetSource::Given,
        }
    }

    /// The budget of this process: [`MAX_MEMORY_ENV`] if set, else `MemAvailable` from
    /// `/proc/meminfo`, else [`FALLBACK_MEMORY_BUDGET`].
    ///
    /// # Errors
    /// [`NnError::Config`] when [`MAX_MEMORY_ENV`] is set to anything but a whole number of
    /// MiB from 1 up.
    pub fn detect() -> Result<Self> {
        if let Some(text) = std::env::var_os(MAX_MEMORY_ENV) {
            let text = text.to_string_lossy();
            let bytes = text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|&mb| mb >= 1)
                .and_then(|mb| mb.checked_mul(1 << 20));
            return match bytes {
                Some(bytes) => Ok(MemoryBudget {
                    bytes,
                    source: BudgetSource::Env,
                }),
                None => Err(NnError::Config(format!(
                    "{MAX_MEMORY_ENV}=`{text}`: give a whole number of MiB, at least 1"
                ))),
            };
        }
        Ok(match mem_available() {
            Some(bytes) => MemoryBudget {
                bytes,
                source: BudgetSource::MemAvailable,
            },
            None => MemoryBudget {
                bytes: FALLBACK_MEMORY_BUDGET,
                source: BudgetSource::Fallback,
            },
        })
    }

    /// Adds up what `plan` needs for `use_`, layer by layer, and returns the total when it
    /// fits in the budget.
    ///
    /// # Errors
    /// [`NnError::TooLarge`] when it does not: it names the layer where the running total
    /// passes the budget and the largest layer.
    pub fn check(&self, plan: &ModelPlan, use_: &MemoryUse) -> Result<u64> {
        let per_layer: Vec<(u64, u64)> = plan
            .layers
            .iter()
            .map(|l| {
                (
                    use_.param_bytes(l.stored()),
                    use_.output_bytes(l.outputs_per_sample),
                )
            })
            .collect();
        let bytes = |&(p, o): &(u64, u64)| p.saturating_add(o);
        let mut total = 0u64;
        let mut crossing = None;
        for (i, layer) in per_layer.iter().enumerate() {
            total = total.saturating_add(bytes(layer));
            if crossing.is_none() && total > self.bytes {
                crossing = Some(i);
            }
        }
        let Some(at) = crossing else {
            return Ok(total);
        };
        // The first of the largest layers.
        let largest = (0..per_layer.len())
            .min_by_key(|&i| std::cmp::Reverse(bytes(&per_layer[i])))
            .unwrap_or(at);
        let (params, outputs) = per_layer.iter().fold((0u64, 0u64), |(p, o), &(lp, lo)| {
            (p.saturating_add(lp), o.saturating_add(lo))
        });
        let label = |i: usize| plan.layers[i].label.clone();
        let at_bytes = bytes(&per_layer[at]);
        let culprit = if at_bytes > self.bytes {
            format!("layer {} alone needs {}", label(at), human_bytes(at_bytes))
        } else {
            format!(
                "the running total passes it at layer {} (of {} layers); the largest layer, {}, \
                 needs {}",
                label(at),
                plan.layers.len(),
                label(largest),
                human_bytes(bytes(&per_layer[largest]))
            )
        };
        Err(NnError::TooLarge {
            purpose: use_.purpose,
            needed: total,
            available: self.bytes,
            budget: self.source,
            breakdown: use_.breakdown(params, outputs),
            culprit,
            batches: use_.value_rows > 0,
        })
    }
}

/// `MemAvailable` of `/proc/meminfo`, in bytes, where the file exists and says.
fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// What a model's memory is for: how many copies of each parameter, and of each layer's
/// outputs for how many samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// What the memory is for, as messages say it: `"to build"`, `"to train"`, ….
    pub purpose: &'static str,
    /// Bytes of one scalar (4 for `f32`).
    pub float_bytes: u64,
    /// Buffers per parameter beyond its value and gradient (an optimizer's state: 2 for
    /// Adam, 1 for SGD with momentum).
    pub optimizer_buffers: u64,
    /// Samples whose layer outputs are held at once (the larger of the training and the
    /// evaluation batch).
    pub value_rows: u64,
    /// Samples whose output gradients are held at once (the training batch).
    pub grad_rows: u64,
}

impl MemoryUse {
    /// Building a model: each parameter's value and gradient.
    pub fn build<F: Float>() -> Self {
        MemoryUse {
            purpose: "to build",
            float_bytes: std::mem::size_of::<F>() as u64,
            optimizer_buffers: 0,
            value_rows: 0,
            grad_rows: 0,
        }
    }

    /// Building a model and running one batch of `rows` samples forward and backward
    /// through it (what a probe does).
    pub fn forward_backward<F: Float>(rows: usize) -> Self {
        MemoryUse {
            purpose: "to run a batch through",
            value_rows: rows as u64,
            grad_rows: rows as u64,
            ..Self::build::<F>()
        }
    }

    /// Training a model: parameters, gradients and `optimizer_buffers` more per parameter,
    /// the outputs of batches of `batch` samples with their gradients, and the outputs of
    /// evaluation batches of `eval_batch` samples.
    pub fn training<F: Float>(optimizer_buffers: usize, batch: usize, eval_batch: usize) -> Self {
        MemoryUse {
            purpose: "to train",
            optimizer_buffers: optimizer_buffers as u64,
            value_rows: batch.max(eval_batch) as u64,
            grad_rows: batch as u64,
            ..Self::build::<F>()
        }
    }

    /// Copies of each parameter: value, gradient, optimizer buffers.
    fn param_copies(&self) -> u64 {
        self.optimizer_buffers.saturating_add(2)
    }

    fn param_bytes(&self, scalars: u64) -> u64 {
        scalars
            .saturating_mul(self.param_copies())
            .saturating_mul(self.float_bytes)
    }

    fn output_bytes(&self, per_sample: u64) -> u64 {
        per_sample
            .saturating_mul(self.value_rows.saturating_add(self.grad_rows))
            .saturating_mul(self.float_bytes)
    }

    /// The parts of the total, in words.
    fn breakdown(&self, params: u64, outputs: u64) -> String {
        let copies = match self.optimizer_buffers {
            0 => "values and gradients".to_string(),
            n => format!("values, gradients and {n} optimizer buffer(s)"),
        };
        let mut s = format!("{} for the parameters' {copies}", human_bytes(params));
        if self.value_rows > 0 {
            let rows = if self.value_rows == self.grad_rows {
                format!("batches of {} samples", self.value_rows)
            } else {
                format!(
                    "batches of {} samples and evaluation batches of {}",
                    self.grad_rows, self.value_rows
                )
            };
            s.push_str(&format!(
                ", {} for the layer outputs of {rows}",
                human_bytes(outputs)
            ));
        }
        s
    }
}
