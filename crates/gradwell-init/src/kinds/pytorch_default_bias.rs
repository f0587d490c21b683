//! `pytorch-default-bias[:FAN_IN]`: the bias init of `nn.Linear` and `nn.ConvNd`.

use crate::registry::{Drawn, Entry};
use crate::{Fans, InitError, Law, Layout};

/// PyTorch's default for the bias of `nn.Linear` and `nn.ConvNd`: U(±1/√fan_in), `fan_in`
/// being the **weight's**, as their `reset_parameters` computes it:
///
/// ```python
/// fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
/// bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
/// init.uniform_(self.bias, -bound, bound)
/// ```
///
/// A bias has no fans of its own, so the fan-in comes from outside. Written
/// `pytorch-default-bias` (`fan_in: None`), it is the weight's: a layer given it as its bias
/// initializer (`--bias-init pytorch-default-bias`, `bias_init = "pytorch-default-bias"`)
/// supplies it through [`Init::for_bias_of`](crate::Init::for_bias_of), and filling
/// anything else with it is an error. `pytorch-default-bias:FAN_IN` fixes it. Its law has
/// variance 1/(3·fan_in); [`Init::pytorch_default_bias`](crate::Init::pytorch_default_bias)
/// is this initializer for a given fan-in, what a layer without a bias initializer uses.
///
/// ```
/// use gradwell_init::{Init, InitInfo, Law, PytorchDefaultBias};
///
/// // nn.Linear(784, 128): the weight is [128, 784], the bias U(±1/28).
/// let bias: Init = "pytorch-default-bias".parse()?;
/// let bound = bias.for_bias_of(&[128, 784])?;
/// assert_eq!(bound, Init::PytorchDefaultBias(PytorchDefaultBias { fan_in: Some(784) }));
/// assert_eq!(bound, Init::pytorch_default_bias(784));
/// assert_eq!(bound.to_string(), "pytorch-default-bias:784");
/// assert_eq!(bound.law(&[128])?, Some(Law::Uniform { low: -1.0 / 28.0, high: 1.0 / 28.0 }));
/// // A Conv2d(8, 16, 3×3) weight [16, 8, 3, 3] has fan_in 72.
/// assert_eq!(bias.for_bias_of(&[16, 8, 3, 3])?, Init::pytorch_default_bias(72));
/// // Without a weight there is no fan-in.
/// assert!(bias.law(&[128]).is_err());
/// # Ok::<(), gradwell_init::InitError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PytorchDefaultBias {
    /// The weight's fan-in; `None` until a layer supplies it.
    pub fan_in: Option<usize>,
}

impl PytorchDefaultBias {
    const NAME: &'static str = "pytorch-default-bias";
}

impl Drawn for PytorchDefaultBias {
    fn check(&self) -> Result<(), InitError> {
        Ok(())
    }
    fn law_for(&self, _shape: &[usize]) -> Result<Law, InitError> {
        let fan_in = self.fan_in.ok_or(InitError::FanInUnknown {
            initializer: Self::NAME,
        })?;
        // PyTorch's `1 / math.sqrt(fan_in) if fan_in > 0 else 0`.
        let bound = if fan_in > 0 {
            1.0 / (fan_in as f64).sqrt()
        } else {
            0.0
        };
        Ok(Law::Uniform {
            low: -bound,
            high: bound,
        })
    }
}

impl Entry for PytorchDefaultBias {
    const NAMES: &'static [&'static str] = &["pytorch-default-bias"];
    const USAGE: &'static str = "pytorch-default-bias[:FAN_IN]";
    fn from_args(args: &[String]) -> Result<Self, String> {
        let fan_in = match args {
            [] => None,
            [n] => Some(
                n.parse::<usize>()
                    .map_err(|_| format!("{n:?} is not a fan-in (a whole number of at least 0)"))?,
            ),
            _ => {
                return Err(format!(
                    "expected at most 1 parameter, FAN_IN, got {}",
                    args.len()
                ));
            }
        };
        Ok(PytorchDefaultBias { fan_in })
    }
    fn args(&self) -> Vec<String> {
        self.fan_in.iter().map(usize::to_string).collect()
    }
    fn examples() -> Vec<Self> {
        // nn.Linear(784, 128)'s and a Conv2d(8, 16, 3×3)'s biases.
        vec![
            PytorchDefaultBias { fan_in: Some(784) },
            PytorchDefaultBias { fan_in: Some(72) },
        ]
    }
    /// The weight's fan-in, unless one was given.
    fn for_bias_of(&self, weight_shape: &[usize]) -> Result<Self, InitError> {
        let fan_in = match self.fan_in {
            Some(fan_in) => fan_in,
            None => Fans::for_initializer(weight_shape, Layout::PyTorch, Self::NAME)?.fan_in,
        };
        Ok(PytorchDefaultBias {
            fan_in: Some(fan_in),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn law_is_u_of_one_over_root_weight_fan_in() {
        let law = |fan_in| PytorchDefaultBias { fan_in }.law_for(&[7]);
        let Ok(Law::Uniform { low, high }) = law(Some(50)) else {
            panic!("{:?}", law(Some(50)))
        };
        assert_eq!(high, 1.0 / 50.0_f64.sqrt());
        assert_eq!(low, -high);
        // PyTorch's bound 0 for a weight without inputs.
        assert_eq!(
            law(Some(0)),
            Ok(Law::Uniform {
                low: 0.0,
                high: 0.0
            })
        );
        let e = law(None).unwrap_err();
        assert!(e.to_string().contains("pytorch-default-bias:FAN_IN"), "{e}");
    }

    #[test]
    fn the_fan_in_is_the_weights_unless_given() {
        let unbound = PytorchDefaultBias::default();
        let bound = |w: &[usize]| unbound.for_bias_of(w).map(|b| b.fan_in);
        assert_eq!(bound(&[10, 30]), Ok(Some(30)));
        assert_eq!(bound(&[16, 8, 3, 5]), Ok(Some(120)));
        assert!(matches!(bound(&[10]), Err(InitError::RankTooLow { .. })));
        let given = PytorchDefaultBias { fan_in: Some(4) };
        assert_eq!(given.for_bias_of(&[10, 30]), Ok(given));
    }

    #[test]
    fn spelling() {
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            PytorchDefaultBias::from_args(&args)
        };
        assert_eq!(parse(&[]), Ok(PytorchDefaultBias { fan_in: None }));
        assert_eq!(parse(&["12"]), Ok(PytorchDefaultBias { fan_in: Some(12) }));
        assert!(
            parse(&["-1"])
                .unwrap_err()
                .contains("\"-1\" is not a fan-in")
        );
        assert!(parse(&["1.5"]).is_err());
        assert!(parse(&["1", "2"]).unwrap_err().contains("at most 1"));
        assert_eq!(
            PytorchDefaultBias { fan_in: None }.args(),
            Vec::<String>::new()
        );
    }
}
