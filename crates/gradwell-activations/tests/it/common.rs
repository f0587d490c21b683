//! Inputs and activation lists shared by the property tests.

use gradwell_activations::{
    ActivationInfo, ActivationKind, Celu, Elu, Hardtanh, LeakyRelu, Prelu, Softplus,
};
use proptest::prelude::*;

/// Every activation with PyTorch's defaults, plus non-default parameters (slopes above 1
/// and negative, α ≠ 1 for ELU and CELU, β ≠ 1, an asymmetric hardtanh).
pub fn all_kinds() -> Vec<ActivationKind> {
    let mut kinds = ActivationKind::defaults();
    let extra: [ActivationKind; 10] = [
        LeakyRelu::new(0.2).unwrap().into(),
        LeakyRelu::new(-0.5).unwrap().into(),
        Prelu::new(3.0).unwrap().into(),
        Elu::new(2.0).unwrap().into(),
        Elu::new(0.5).unwrap().into(),
        Softplus::new(2.0, 20.0).unwrap().into(),
        Softplus::new(0.5, 5.0).unwrap().into(),
        Hardtanh::new(-2.0, 3.0).unwrap().into(),
        Celu::new(2.0).unwrap().into(),
        Celu::new(0.5).unwrap().into(),
    ];
    kinds.extend(extra);
    kinds
}

/// f64 inputs over a wide range: uniform on [−1e4, 1e4], on [−10, 10], near 0, and
/// log-uniform magnitudes from 1e-8 to 1e4 of either sign.
pub fn wide() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e4..1e4_f64,
        -10.0..10.0_f64,
        -1e-3..1e-3_f64,
        (-8.0..4.0_f64, any::<bool>()).prop_map(|(e, neg)| {
            let m = 10f64.powf(e);
            if neg { -m } else { m }
        }),
    ]
}

/// Whether x is within `dist` of a kink of `k`.
pub fn near_kink(k: &ActivationKind, x: f64, dist: f64) -> bool {
    k.kinks().iter().any(|&c| (x - c).abs() <= dist)
}
