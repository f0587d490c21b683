//! [`ModelPlan`]: what a model will hold, computed from its [`crate::ModelSpec`] alone,
//! before anything is allocated.
//!
//! [`crate::ModelSpec::plan`] walks the layers as building them would: every width is
//! checked, every shape worked out, every parameter counted with checked arithmetic, and
//! nothing is allocated but the plan itself. The plan is what the memory check
//! ([`crate::MemoryBudget`]) weighs before a model is built, and what the Keras-style
//! summary prints, so a summary of a model far too large to build costs nothing.

use std::fmt::Write as _;

use gradwell_tensor::Float;

/// One layer of a [`ModelPlan`]: a layer of the spec's top level (a residual block is one
/// layer, its branch inside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPlan {
    /// The path, PyTorch-style (`"3"`, or `"2.body.1"` inside a residual block).
    pub path: String,
    /// The layer's type as PyTorch names it (`"Linear"`, `"ReLU"`, `"BatchNorm1d"`), as the
    /// built layer's `Module::kind` gives it.
    pub kind: &'static str,
    /// The layer as errors name it: path and description, e.g. `0 (Linear(→128))`.
    pub label: String,
    /// The per-sample input shape.
    pub input_shape: Vec<usize>,
    /// The per-sample output shape.
    pub output_shape: Vec<usize>,
    /// Trainable scalars (weights, biases, norm scales and shifts).
    pub trainable: u64,
    /// Non-trainable scalars counted as parameters (batch norm's running statistics).
    pub non_trainable: u64,
    /// Scalars stored with the parameters but not counted as parameters (batch norm's
    /// batch counter).
    pub uncounted: u64,
    /// Scalars one sample produces inside the layer: its output, and for a residual block
    /// the output of every layer of its branch, of the projection and of the sum.
    pub outputs_per_sample: u64,
    /// The layers of a residual block's branch.
    pub body: Vec<LayerPlan>,
}

impl LayerPlan {
    /// Every scalar the layer stores: counted parameters and the rest.
    pub fn stored(&self) -> u64 {
        self.trainable
            .saturating_add(self.non_trainable)
            .saturating_add(self.uncounted)
    }
}

/// The plan of a whole model: its layers in order (see [`crate::ModelSpec::plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPlan {
    /// The per-sample input shape.
    pub input_shape: Vec<usize>,
    /// The per-sample output shape.
    pub output_shape: Vec<usize>,
    /// The top-level layers.
    pub layers: Vec<LayerPlan>,
}

impl ModelPlan {
    /// Trainable and non-trainable parameter counts, as the built network's
    /// `Network::num_params` gives them.
    pub fn num_params(&self) -> (u64, u64) {
        self.layers.iter().fold((0u64, 0u64), |(t, f), l| {
            (
                t.saturating_add(l.trainable),
                f.saturating_add(l.non_trainable),
            )
        })
    }

    /// A Keras-style summary for parameters of type `F`: one row per layer (name and type,
    /// output shape, parameter count), then the totals with trainable and non-trainable
    /// counts and their size.
    pub fn summary<F: Float>(&self) -> String {
        let (trainable, frozen) = self.num_params();
        let float = std::mem::size_of::<F>() as u64;
        let size = |n: u64| human_bytes(n.saturating_mul(float));
        let w = [33usize, 24, 15];
        let line = |l: char, m: char, r: char, f: char| {
            format!(
                "{l}{}{m}{}{m}{}{r}\n",
                f.to_string().repeat(w[0]),
                f.to_string().repeat(w[1]),
                f.to_string().repeat(w[2])
            )
        };
        let mut s = String::from("Model: \"sequential\"\n");
        s += &line('┏', '┳', '┓', '━');
        let _ = writeln!(
            s,
            "┃ {:<a$}┃ {:<b$}┃ {:>c$} ┃",
            "Layer (type)",
            "Output Shape",
            "Param #",
            a = w[0] - 1,
            b = w[1] - 1,
            c = w[2] - 2
        );
        s += &line('┡', '╇', '┩', '━');
        for (i, l) in self.layers.iter().enumerate() {
            let shape = l
                .output_shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                s,
                "│ {:<a$}│ {:<b$}│ {:>c$} │",
                format!("{} ({})", l.path, l.kind),
                format!("(None, {shape})"),
                thousands(l.trainable.saturating_add(l.non_trainable)),
                a = w[0] - 1,
                b = w[1] - 1,
                c = w[2] - 2
            );
            s += &if i + 1 < self.layers.len() {
                line('├', '┼', '┤', '─')
            } else {
                line('└', '┴', '┘', '─')
            };
        }
        let total = trainable.saturating_add(frozen);
        let _ = writeln!(s, " Total params: {} ({})", thousands(total), size(total));
        let _ = writeln!(
            s,
            " Trainable params: {} ({})",
            thousands(trainable),
            size(trainable)
        );
        let _ = writeln!(
            s,
            " Non-trainable params: {} ({})",
            thousands(frozen),
            size(frozen)
        );
        s
    }
}

/// `101770` → `101,770`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keras's size notation (1024-based): `0.00 B`, `397.54 KB`, `1.53 MB`, on to `EB`.
pub(crate) fn human_bytes(n: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < units.len() {
        x /= 1024.0;
        u += 1;
    }
    format!("{x:.2} {}", units[u])
}
