use gradwell_init::{FanMode, Fans, InitError, Layout};
use proptest::prelude::*;

fn check(shape: &[usize], layout: Layout, fan_in: usize, fan_out: usize) {
    let f = Fans::of(shape, layout).unwrap();
    assert_eq!(
        (f.fan_in, f.fan_out),
        (fan_in, fan_out),
        "{shape:?} {layout:?}"
    );
}

#[test]
fn pytorch_fans_match_pytorch() {
    // The values torch's _calculate_fan_in_and_fan_out returns.
    check(&[7, 3], Layout::PyTorch, 3, 7);
    check(&[16, 8, 3, 5], Layout::PyTorch, 120, 240);
    check(&[8, 1, 3, 3], Layout::PyTorch, 9, 72); // depthwise conv
    check(&[128, 784], Layout::PyTorch, 784, 128);
}

#[test]
fn keras_fans_match_keras() {
    check(&[784, 128], Layout::Keras, 784, 128);
    check(&[3, 5, 8, 16], Layout::Keras, 120, 240);
}

#[test]
fn fewer_than_two_dimensions_is_an_error() {
    for shape in [&[][..], &[5][..]] {
        for layout in [Layout::PyTorch, Layout::Keras] {
            let err = Fans::of(shape, layout).unwrap_err();
            assert!(matches!(err, InitError::RankTooLow { .. }), "{err}");
            assert!(err.to_string().contains("fewer than 2 dimensions"), "{err}");
        }
    }
}

#[test]
fn modes_select_in_out_and_their_mean() {
    let f = Fans {
        fan_in: 3,
        fan_out: 8,
    };
    assert_eq!(f.select(FanMode::FanIn), 3.0);
    assert_eq!(f.select(FanMode::FanOut), 8.0);
    assert_eq!(f.select(FanMode::FanAvg), 5.5);
}

proptest! {
    #![proptest_config(crate::config(256))]

    /// The same weight stored either way ([out, in, *k] or [*k, in, out]) has the same fans,
    /// and they are in·Πk and out·Πk.
    #[test]
    fn layouts_agree_on_the_same_weight(
        out in 1_usize..50, inp in 1_usize..50, kernel in proptest::collection::vec(1_usize..6, 0..3)
    ) {
        let receptive: usize = kernel.iter().product();
        let torch: Vec<usize> = [out, inp].iter().chain(&kernel).copied().collect();
        let keras: Vec<usize> = kernel.iter().chain(&[inp, out]).copied().collect();
        let a = Fans::of(&torch, Layout::PyTorch).unwrap();
        let b = Fans::of(&keras, Layout::Keras).unwrap();
        prop_assert_eq!(a, b);
        prop_assert_eq!((a.fan_in, a.fan_out), (inp * receptive, out * receptive));
    }
}
