//! Accuracy of the branch-free maths (rational `tanh`, `sigmoid`, the noise's Box–Muller) against `f64` and libm references.

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

/// The noise's branch-free Box–Muller against libm's `logf`/`sincosf` on the same draws.
#[test]
fn box_muller_matches_libm() {
    use dtp_core::noise::normal_pair;
    struct Fixed(std::vec::IntoIter<u32>);
    impl rand_core::TryRng for Fixed {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.0.next().unwrap())
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            unreachable!()
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
            unreachable!()
        }
    }
    let mut words = Vec::new();
    // Every 2^24 position of u1 and of u2 over a coarse grid, plus the extremes.
    for i in (0u32..1 << 24).step_by(4099).chain([0, 1, (1 << 24) - 1]) {
        let j = (i.wrapping_mul(2_654_435_761)) & 0x00FF_FFFF;
        words.push(i << 8);
        words.push(j << 8);
    }
    let n = words.len() / 2;
    let mut rng = Fixed(words.clone().into_iter());
    let mut worst = 0.0f64;
    for p in 0..n {
        let (z0, z1) = normal_pair(&mut rng);
        let u1 = ((words[2 * p] >> 8) + 1) as f64 / 16_777_216.0;
        let u2 = (words[2 * p + 1] >> 8) as f64 / 16_777_216.0;
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        let (e0, e1) = (r * t.cos(), r * t.sin());
        worst = worst
            .max((z0 as f64 - e0).abs())
            .max((z1 as f64 - e1).abs());
    }
    // |z| ≤ 5.8 here; f32 rounding of r·cos alone is ~3e-7 at that size.
    assert!(worst < 2e-6, "worst absolute error {worst:e}");
}
