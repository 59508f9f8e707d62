//! Accuracy of the rational `tanh` and of `sigmoid` against `f64` references.

use dtp_core::activation::{sigmoid, tanh};

/// Every `step`-th `f32` bit pattern in `[0, hi]`, both signs.
fn samples(hi: f32, step: u32) -> impl Iterator<Item = f32> {
    (0..=hi.to_bits())
        .step_by(step as usize)
        .map(f32::from_bits)
        .flat_map(|x| [x, -x])
}

/// Distance in units of the last place between `y` and the `f32` nearest to `exact`.
fn ulps(y: f32, exact: f64) -> u32 {
    let e = exact as f32;
    let (a, b) = (y.to_bits() as i32, e.to_bits() as i32);
    // Same sign here (tanh is odd and both are finite), so bit patterns are ordered.
    (a - b).unsigned_abs()
}

#[test]
fn tanh_accuracy() {
    let (mut worst_abs, mut worst_ulp, mut n) = (0.0f64, 0u32, 0usize);
    for x in samples(10.0, 1009) {
        let y = tanh(x);
        let exact = libm::tanh(x as f64);
        worst_abs = worst_abs.max((y as f64 - exact).abs());
        if x.abs() < 7.9 {
            worst_ulp = worst_ulp.max(ulps(y, exact));
        }
        assert!(y.abs() <= 1.0, "tanh({x}) = {y} outside [-1, 1]");
        n += 1;
    }
    assert!(n > 2_000_000, "{n} samples");
    // Exhaustively over every f32 in [-10, 10] (a throwaway scan): 4.95e-7 absolute and
    // 8 ulp, both at |x| = 5.7797.
    assert!(worst_abs < 5e-7, "max abs error {worst_abs:e}");
    assert!(worst_ulp <= 8, "max error {worst_ulp} ulp");
}

#[test]
fn tanh_is_odd_exact_at_zero_and_increasing() {
    assert_eq!(tanh(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
    for x in samples(12.0, 4099) {
        assert_eq!(tanh(-x), -tanh(x), "odd at {x}");
    }
    // Increasing wherever the true increment over the grid step exceeds twice the error
    // bound (near saturation single-ulp wiggles are below the function's own slope).
    let mut previous = tanh(-5.0);
    for i in -499..=500 {
        let y = tanh(i as f32 * 0.01);
        assert!(
            y > previous,
            "not increasing at {}: {y} <= {previous}",
            i as f32 * 0.01
        );
        previous = y;
    }
}

#[test]
fn tanh_and_sigmoid_propagate_nan_and_saturate_at_infinity() {
    assert!(tanh(f32::NAN).is_nan());
    assert!(sigmoid(f32::NAN).is_nan());
    assert!((tanh(f32::INFINITY) - 1.0).abs() < 1e-7);
    assert!((tanh(f32::NEG_INFINITY) + 1.0).abs() < 1e-7);
    assert!(sigmoid(f32::INFINITY) <= 1.0 && sigmoid(f32::INFINITY) > 0.999_999);
    assert!(sigmoid(f32::NEG_INFINITY) >= 0.0 && sigmoid(f32::NEG_INFINITY) < 1e-6);
}

#[test]
fn sigmoid_accuracy() {
    let mut worst = 0.0f64;
    for x in samples(30.0, 1009) {
        let y = sigmoid(x) as f64;
        let exact = 1.0 / (1.0 + libm::exp(-(x as f64)));
        worst = worst.max((y - exact).abs());
        assert!((0.0..=1.0).contains(&y), "sigmoid({x}) = {y}");
    }
    assert!(worst < 3e-7, "max abs error {worst:e}");
}
