//! Every activation's stated derivative bound, on a dense f64 grid.

use gradwell_activations::{
    Activation, ActivationInfo, ActivationKind, Elu, Hardtanh, LeakyRelu, Prelu, Softplus,
};

use super::{Check, Outcome};

/// Grid points over [−50, 50].
const GRID_POINTS: usize = 2_000_000;

/// The largest |f′(x)| over 2·10⁶ evenly spaced points of [−50, 50] (step 5e-5), every kink
/// and the floats about one ulp either side, and the extremes (0, ±1e4, ±1e300, ±f64::MAX, the
/// smallest normal). NaN if any derivative is NaN.
fn max_abs_derivative(k: &ActivationKind) -> f64 {
    let step = 100.0 / (GRID_POINTS - 1) as f64;
    let grid = (0..GRID_POINTS).map(|i| -50.0 + i as f64 * step);
    let mut special = vec![0.0, 1e4, 1e300, f64::MAX, f64::MIN_POSITIVE];
    special.extend(special.clone().into_iter().map(|x| -x));
    for c in k.kinks() {
        let ulp = c.abs().max(f64::MIN_POSITIVE) * f64::EPSILON;
        special.extend([c, c - ulp, c + ulp]);
    }
    let mut max: f64 = 0.0;
    for x in grid.chain(special) {
        let d = Activation::<f64>::derivative(k, x).abs();
        if d.is_nan() {
            return f64::NAN;
        }
        max = max.max(d);
    }
    max
}

/// One check per activation with PyTorch's defaults, and per non-default parameter whose
/// bound depends on it.
pub fn checks() -> Vec<Check> {
    let mut kinds = ActivationKind::defaults();
    let extra: [ActivationKind; 5] = [
        LeakyRelu::new(0.2)
            .expect("valid constant parameter")
            .into(),
        Prelu::new(2.5).expect("valid constant parameter").into(),
        Elu::new(2.0).expect("valid constant parameter").into(),
        Softplus::new(2.0, 20.0)
            .expect("valid constant parameter")
            .into(),
        Hardtanh::new(-2.0, 3.0)
            .expect("valid constant parameter")
            .into(),
    ];
    kinds.extend(extra);
    kinds
        .into_iter()
        .map(|k| {
            Check::new(format!("activations/derivative-bound/{k}"), move || {
                Outcome::at_most(max_abs_derivative(&k), k.derivative_bound())
            })
        })
        .collect()
}
