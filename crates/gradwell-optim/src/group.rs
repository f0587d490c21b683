//! Parameter groups: per-parameter learning-rate multipliers and weight-decay overrides,
//! chosen by rules on the parameter's name.

use serde::{Deserialize, Serialize};

use crate::{OptimError, validate};

/// A test on a parameter name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    /// The whole name equals the string.
    Exact(String),
    /// The name starts with the string (e.g. a layer's prefix `"encoder."`).
    Prefix(String),
    /// The name ends with the string (e.g. `"bias"`).
    Suffix(String),
    /// The name contains the string (e.g. `"norm"`).
    Contains(String),
    /// Any of the tests matches.
    AnyOf(Vec<NameMatch>),
}

impl NameMatch {
    /// Whether `name` passes the test.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NameMatch::Exact(s) => name == s,
            NameMatch::Prefix(s) => name.starts_with(s.as_str()),
            NameMatch::Suffix(s) => name.ends_with(s.as_str()),
            NameMatch::Contains(s) => name.contains(s.as_str()),
            NameMatch::AnyOf(all) => all.iter().any(|m| m.matches(name)),
        }
    }

    /// Biases and normalization-layer parameters: names ending in `bias` or containing
    /// `norm` (the usual set excluded from weight decay).
    pub fn bias_or_norm() -> Self {
        NameMatch::AnyOf(vec![
            NameMatch::Suffix("bias".into()),
            NameMatch::Contains("norm".into()),
        ])
    }
}

/// One rule: parameters whose names match get these settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRule {
    /// Which parameters the rule applies to.
    pub matcher: NameMatch,
    /// Multiplies the optimizer's (scheduled) learning rate for these parameters.
    pub lr_scale: f64,
    /// Replaces the optimizer's weight decay for these parameters (`Some(0.0)` excludes
    /// them from decay); `None` keeps the optimizer's.
    pub weight_decay: Option<f64>,
}

impl GroupRule {
    /// A rule that changes nothing yet (scale 1, optimizer's decay); refine it with
    /// [`GroupRule::lr_scale`] and [`GroupRule::weight_decay`].
    pub fn new(matcher: NameMatch) -> Self {
        GroupRule {
            matcher,
            lr_scale: 1.0,
            weight_decay: None,
        }
    }

    /// Sets the learning-rate multiplier.
    pub fn lr_scale(mut self, scale: f64) -> Self {
        self.lr_scale = scale;
        self
    }

    /// Sets the group's own weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = Some(weight_decay);
        self
    }
}

/// An ordered list of [`GroupRule`]s; a parameter takes the first rule its name matches,
/// or the optimizer's own settings if none does.
///
/// This is PyTorch's `param_groups` expressed by name, so that the same configuration can
/// be written before the model exists and saved with an experiment. A group's learning rate
/// is `lr_scale` times the optimizer's current learning rate, so one schedule drives every
/// group (PyTorch schedules each group from its own initial lr, which is the same thing for
/// multiplicative schedules; for schedules with an absolute floor such as `eta_min` the
/// floor is scaled too).
///
/// ```
/// use gradwell_optim::{GroupRule, NameMatch, ParamGroups};
///
/// // No decay on biases and norm parameters; the head learns ten times faster.
/// let groups = ParamGroups::no_decay_on_bias_and_norm()
///     .rule(GroupRule::new(NameMatch::Prefix("head.".into())).lr_scale(10.0));
/// assert_eq!(groups.settings("layer1.bias", 0.01), (1.0, 0.0));
/// assert_eq!(groups.settings("head.weight", 0.01), (10.0, 0.01));
/// assert_eq!(groups.settings("layer1.weight", 0.01), (1.0, 0.01));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParamGroups {
    rules: Vec<GroupRule>,
}

impl ParamGroups {
    /// No rules: every parameter uses the optimizer's settings.
    pub fn new() -> Self {
        ParamGroups::default()
    }

    /// Biases and normalization parameters ([`NameMatch::bias_or_norm`]) get no weight
    /// decay.
    pub fn no_decay_on_bias_and_norm() -> Self {
        ParamGroups::new().rule(GroupRule::new(NameMatch::bias_or_norm()).weight_decay(0.0))
    }

    /// Appends a rule (earlier rules win).
    pub fn rule(mut self, rule: GroupRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[GroupRule] {
        &self.rules
    }

    /// `(lr_scale, weight_decay)` for a parameter, given the optimizer's weight decay.
    pub fn settings(&self, name: &str, weight_decay: f64) -> (f64, f64) {
        match self.rules.iter().find(|r| r.matcher.matches(name)) {
            Some(r) => (r.lr_scale, r.weight_decay.unwrap_or(weight_decay)),
            None => (1.0, weight_decay),
        }
    }

    /// Checks every rule: `lr_scale > 0`, `weight_decay >= 0`, all finite.
    pub(crate) fn validate(&self, owner: &'static str) -> Result<(), OptimError> {
        for r in &self.rules {
            validate::positive(owner, "group lr_scale", r.lr_scale)?;
            if let Some(wd) = r.weight_decay {
                validate::non_negative(owner, "group weight_decay", wd)?;
            }
        }
        Ok(())
    }
}
