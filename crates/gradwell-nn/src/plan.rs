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
    /// The layer as Keras 3 has it, for the Keras-style summary.
    pub keras: KerasLayer,
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

/// A layer as Keras 3 has it, which the Keras-style summary ([`ModelPlan::summary`])
/// names as Keras does: the class's name in snake case, `_1`, `_2`, … from the second of a
/// class on (`dense`, `dense_1`; Keras's `auto_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KerasLayer {
    /// A linear layer: Keras's `Dense`.
    Dense,
    /// A parameter-free activation: written into the `Dense` it directly follows
    /// (`Dense(128, activation="relu")`, no row of its own, as a classifier's last
    /// `Dense(10, activation="softmax")`), else a layer of the Keras class given
    /// (`Activation`, `Softmax`).
    Activation(&'static str),
    /// Any other layer, of the Keras class given (`BatchNormalization`, `Dropout`).
    Other(&'static str),
}

/// Keras's `to_snake_case` of a class name: `Dense` → `dense`, `BatchNormalization` →
/// `batch_normalization`, `PReLU` → `p_re_lu`.
fn keras_snake_case(class: &str) -> String {
    let c: Vec<char> = class
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut out = String::new();
    for (i, &ch) in c.iter().enumerate() {
        // An upper-case letter that starts a capitalized word (`Normalization`), or that
        // follows a lower-case letter.
        let starts_word = ch.is_uppercase() && c.get(i + 1).is_some_and(|n| n.is_lowercase());
        let after_lower = i > 0 && c[i - 1].is_lowercase() && ch.is_uppercase();
        if i > 0 && (starts_word || after_lower) && !out.ends_with('_') {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

/// Greedy word wrap of a cell's text into lines of at most `width` characters, a word
/// longer than that cut (as Keras's table, drawn by rich, wraps it).
fn wrap_cell(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        let len = |s: &String| s.chars().count();
        if !current.is_empty() && len(&current) + 1 + word.len() <= width {
            current.push(' ');
            current.extend(word);
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        while word.len() > width {
            lines.push(word.drain(..width).collect());
        }
        current = word.into_iter().collect();
    }
    lines.push(current);
    lines
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

    /// A Keras-style summary for parameters of type `F`: one row per layer as Keras 3
    /// prints it (name and class, output shape, parameter count; [`KerasLayer`]: a linear
    /// layer is a `Dense`, named `dense`, `dense_1`, …, with the activation that directly
    /// follows it written into it), then the totals with trainable and non-trainable
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
        // The rows: (Keras class, output shape, parameters); an activation after a Dense
        // is folded into its row.
        let mut rows: Vec<(&str, &[usize], u64)> = Vec::new();
        let mut after_dense = false;
        for l in &self.layers {
            let params = l.trainable.saturating_add(l.non_trainable);
            let class = match l.keras {
                KerasLayer::Activation(_) if after_dense => {
                    if let Some(row) = rows.last_mut() {
                        row.1 = &l.output_shape;
                        row.2 = row.2.saturating_add(params);
                    }
                    after_dense = false;
                    continue;
                }
                KerasLayer::Dense => "Dense",
                KerasLayer::Activation(class) | KerasLayer::Other(class) => class,
            };
            after_dense = l.keras == KerasLayer::Dense;
            rows.push((class, &l.output_shape, params));
        }
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for (i, (class, output_shape, params)) in rows.iter().enumerate() {
            let base = keras_snake_case(class);
            let count = seen.entry(base.clone()).or_insert(0);
            let name = match *count {
                0 => base,
                n => format!("{base}_{n}"),
            };
            *count += 1;
            let shape = output_shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let names = wrap_cell(&format!("{name} ({class})"), w[0] - 2);
            for (j, cell) in names.iter().enumerate() {
                let (shape, params) = match j {
                    0 => (format!("(None, {shape})"), thousands(*params)),
                    _ => (String::new(), String::new()),
                };
                let _ = writeln!(
                    s,
                    "│ {:<a$}│ {:<b$}│ {:>c$} │",
                    cell,
                    shape,
                    params,
                    a = w[0] - 1,
                    b = w[1] - 1,
                    c = w[2] - 2
                );
            }
            s += &if i + 1 < rows.len() {
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

#[cfg(test)]
mod tests {
    use super::{keras_snake_case, wrap_cell};

    #[test]
    fn class_names_in_snake_case_as_keras_writes_them() {
        for (class, name) in [
            ("Dense", "dense"),
            ("BatchNormalization", "batch_normalization"),
            ("LayerNormalization", "layer_normalization"),
            ("AlphaDropout", "alpha_dropout"),
            ("PReLU", "p_re_lu"),
            ("ReLU", "re_lu"),
        ] {
            assert_eq!(keras_snake_case(class), name);
        }
    }

    #[test]
    fn cells_wrap_at_spaces_and_cut_longer_words() {
        assert_eq!(wrap_cell("dense (Dense)", 31), ["dense (Dense)"]);
        assert_eq!(
            wrap_cell("batch_normalization (BatchNormalization)", 31),
            ["batch_normalization", "(BatchNormalization)"]
        );
        assert_eq!(wrap_cell("abcdefg (X)", 3), ["abc", "def", "g", "(X)"]);
    }
}
