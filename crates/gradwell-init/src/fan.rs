use serde::{Deserialize, Serialize};

use crate::InitError;

/// Which axes of a weight's shape hold its inputs and outputs.
///
/// | layout | dense weight | convolution weight | receptive field |
/// |---|---|---|---|
/// | [`Layout::PyTorch`] (default) | `[out, in]` | `[out, in, k1, …, kN]` | product of `shape[2..]` |
/// | [`Layout::Keras`] | `[in, out]` | `[k1, …, kN, in, out]` | product of `shape[..rank-2]` |
///
/// Either way `fan_in = in × receptive field` and `fan_out = out × receptive field`
/// (PyTorch's `_calculate_fan_in_and_fan_out`, Keras's `compute_fans`). Unlike Keras, a
/// shape of rank 0 or 1 is an error in both layouts, as in PyTorch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `[out, in, *kernel]`, as `torch.nn.Linear` and `torch.nn.ConvNd` store weights.
    #[default]
    PyTorch,
    /// `[*kernel, in, out]`, as Keras `Dense` and `Conv*` store kernels.
    Keras,
}

impl Layout {
    /// Both layouts.
    pub const ALL: [Layout; 2] = [Layout::PyTorch, Layout::Keras];

    /// The kebab-case name used in initializer strings (`pytorch`, `keras`).
    pub fn name(self) -> &'static str {
        match self {
            Layout::PyTorch => "pytorch",
            Layout::Keras => "keras",
        }
    }

    /// The layout of this kebab-case name.
    pub fn from_name(name: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// The fan-in and fan-out of a weight: how many inputs feed each output, and how many
/// outputs each input feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fans {
    /// Inputs per output unit: `in × receptive field`.
    pub fan_in: usize,
    /// Outputs per input unit: `out × receptive field`.
    pub fan_out: usize,
}

/// Which fan a variance-scaling initializer divides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FanMode {
    /// `fan_in`: preserves the variance of activations in the forward pass (PyTorch's
    /// default for Kaiming).
    #[default]
    FanIn,
    /// `fan_out`: preserves the variance of gradients in the backward pass.
    FanOut,
    /// `(fan_in + fan_out) / 2`: Glorot's compromise between the two (Keras's `fan_avg`).
    FanAvg,
}

impl FanMode {
    /// Every mode.
    pub const ALL: [FanMode; 3] = [FanMode::FanIn, FanMode::FanOut, FanMode::FanAvg];

    /// The kebab-case name used in initializer strings (`fan-in`, `fan-out`, `fan-avg`).
    pub fn name(self) -> &'static str {
        match self {
            FanMode::FanIn => "fan-in",
            FanMode::FanOut => "fan-out",
            FanMode::FanAvg => "fan-avg",
        }
    }

    /// The mode of this kebab-case name.
    pub fn from_name(name: &str) -> Option<FanMode> {
        FanMode::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl Fans {
    /// The fans of a weight of this shape in this layout.
    ///
    /// ```
    /// use gradwell_init::{Fans, Layout};
    /// // A PyTorch conv weight [out=16, in=8, 3, 5]: receptive field 15.
    /// let f = Fans::of(&[16, 8, 3, 5], Layout::PyTorch)?;
    /// assert_eq!((f.fan_in, f.fan_out), (120, 240));
    /// // The same kernel as Keras stores it, [3, 5, in=8, out=16].
    /// assert_eq!(Fans::of(&[3, 5, 8, 16], Layout::Keras)?, f);
    /// // A bias has no fans.
    /// assert!(Fans::of(&[16], Layout::PyTorch).is_err());
    /// # Ok::<(), gradwell_init::InitError>(())
    /// ```
    pub fn of(shape: &[usize], layout: Layout) -> Result<Fans, InitError> {
        Fans::for_initializer(shape, layout, "fans")
    }

    /// As [`Fans::of`], naming `initializer` in the error.
    pub(crate) fn for_initializer(
        shape: &[usize],
        layout: Layout,
        initializer: &'static str,
    ) -> Result<Fans, InitError> {
        let rank = shape.len();
        if rank < 2 {
            return Err(InitError::RankTooLow {
                initializer,
                shape: shape.to_vec(),
            });
        }
        let (out, inp, kernel) = match layout {
            Layout::PyTorch => (shape[0], shape[1], &shape[2..]),
            Layout::Keras => (shape[rank - 1], shape[rank - 2], &shape[..rank - 2]),
        };
        let too_large = || InitError::ShapeTooLarge {
            shape: shape.to_vec(),
        };
        let receptive = kernel
            .iter()
            .try_fold(1_usize, |acc, &k| acc.checked_mul(k));
        let receptive = receptive.ok_or_else(too_large)?;
        Ok(Fans {
            fan_in: inp.checked_mul(receptive).ok_or_else(too_large)?,
            fan_out: out.checked_mul(receptive).ok_or_else(too_large)?,
        })
    }

    /// The fan a mode selects, as a real number (the average may be a half).
    pub fn select(&self, mode: FanMode) -> f64 {
        match mode {
            FanMode::FanIn => self.fan_in as f64,
            FanMode::FanOut => self.fan_out as f64,
            FanMode::FanAvg => (self.fan_in as f64 + self.fan_out as f64) / 2.0,
        }
    }
}
