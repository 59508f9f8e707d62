//! Continuous activation functions `s(a)` and their derivatives.
//!
//! `tanh` is a branch-free rational approximation (see [`tanh`]) rather than `libm::tanhf`:
//! the activations of a 7×240 minibatch step are ~1.3 million `tanh` calls, and libm's scalar
//! `tanhf` (through `expm1f`) was 45 % of a desktop training epoch. The approximation runs
//! in SIMD lanes on the host and in ~20 FPU instructions on a Cortex-M4F, on every target
//! the same, so the host and the microcontroller compute the same network.

/// The continuous part of a unit: `h = s(a)` with `a = W r + b`.
///
/// Discrete and stochastic units are a continuous activation followed by a
/// [`Quantiser`](crate::Quantiser) applied where the next layer reads the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Activation {
    /// `tanh(a)`, values in [−1, 1].
    Tanh = 0,
    /// `1 / (1 + e^{−a})`, values in [0, 1].
    Sigmoid = 1,
    /// `a` (identity).
    Linear = 2,
}

impl Activation {
    /// `s(a)` for one value.
    #[inline]
    pub fn apply(self, a: f32) -> f32 {
        match self {
            Activation::Tanh => tanh(a),
            Activation::Sigmoid => sigmoid(a),
            Activation::Linear => a,
        }
    }

    /// `s'(a)` expressed through the output `h = s(a)`: `1 − h²`, `h(1 − h)` or `1`.
    #[inline]
    pub fn derivative_from_output(self, h: f32) -> f32 {
        match self {
            Activation::Tanh => 1.0 - h * h,
            Activation::Sigmoid => h * (1.0 - h),
            Activation::Linear => 1.0,
        }
    }

    /// Applies `s` to every value in place (one tight loop per activation, so that the
    /// compiler vectorises it).
    pub fn apply_slice(self, values: &mut [f32]) {
        match self {
            Activation::Tanh => crate::arm::tanh::tanh_in_place(values),
            Activation::Sigmoid => crate::simd::wide(
                #[inline(always)]
                || values.iter_mut().for_each(|v| *v = sigmoid(*v)),
            ),
            Activation::Linear => {}
        }
    }
}

/// Beyond `|a| ≥ TANH_CLAMP` the approximation is held at its value there (±1 in `f32`).
pub(crate) const TANH_CLAMP: f32 = 7.905_311;

/// `tanh(a)` by the [13/6] odd rational minimax approximation on [−7.905, 7.905] that Eigen
/// uses for `float` (`generic_fast_tanh_float`): `tanh(a) ≈ a·P(a²)/Q(a²)` after clamping `a`,
/// and `a` itself for `|a| < 4·10⁻⁴`.
///
/// Largest error against the correctly rounded value, over every `f32` in [−10, 10]:
/// 4.95·10⁻⁷ absolute, 8 units in the last place (both at |a| ≈ 5.78; `libm::tanhf` is
/// within 1 ulp); see the `tanh_accuracy` test. Odd exactly; NaN in, NaN out (so divergence
/// is still detected downstream); ±∞ give ±1.
#[inline]
pub fn tanh(a: f32) -> f32 {
    #[cfg(target_arch = "arm")]
    {
        // The common case `4·10⁻⁴ ≤ |a| ≤ TANH_CLAMP`, where neither the clamp nor the small-`a`
        // branch changes anything, found by one unsigned compare of |a|'s bits (positive
        // floats order as their bits; NaN lies above the range): on Arm cores each float
        // compare costs a `vcmp` and a `vmrs`. Same arithmetic, so the same bits.
        let m = a.to_bits() & 0x7FFF_FFFF;
        let (small, clamp) = (TANH_SMALL.to_bits(), TANH_CLAMP.to_bits());
        if m.wrapping_sub(small) <= clamp - small {
            return tanh_rational(a);
        }
    }
    // `clamp` keeps NaN (unlike `min`/`max`, which would replace it).
    let x = a.clamp(-TANH_CLAMP, TANH_CLAMP);
    let r = tanh_rational(x);
    if x.abs() < TANH_SMALL { x } else { r }
}

/// The coefficients of [`tanh`]'s numerator `x·P(x²)` and denominator `Q(x²)`.
pub(crate) const A1: f32 = 4.893_524_6e-3;
pub(crate) const A3: f32 = 6.372_619_3e-4;
pub(crate) const A5: f32 = 1.485_722_4e-5;
pub(crate) const A7: f32 = 5.122_297e-8;
pub(crate) const A9: f32 = -8.604_672e-11;
pub(crate) const A11: f32 = 2.000_188e-13;
pub(crate) const A13: f32 = -2.760_768_5e-16;
pub(crate) const B0: f32 = 4.893_525e-3;
pub(crate) const B2: f32 = 2.268_434_6e-3;
pub(crate) const B4: f32 = 1.185_347e-4;
pub(crate) const B6: f32 = 1.198_258_4e-6;

/// Below `|a| < TANH_SMALL` [`tanh`] returns `a` itself.
pub(crate) const TANH_SMALL: f32 = 4e-4;

/// The rational part of [`tanh`]: `x·P(x²)/Q(x²)` for an already clamped `x`.
#[inline(always)]
fn tanh_rational(x: f32) -> f32 {
    let x2 = x * x;
    let mut p = x2 * A13 + A11;
    p = p * x2 + A9;
    p = p * x2 + A7;
    p = p * x2 + A5;
    p = p * x2 + A3;
    p = p * x2 + A1;
    p *= x;
    let mut q = x2 * B6 + B4;
    q = q * x2 + B2;
    q = q * x2 + B0;
    p / q
}

/// The logistic function `1 / (1 + e^{−a}) = (1 + tanh(a/2)) / 2`, through [`tanh`]: absolute
/// error below 3·10⁻⁷, no overflow for any `a`, and values within [0, 1].
#[inline]
pub fn sigmoid(a: f32) -> f32 {
    0.5 * tanh(0.5 * a) + 0.5
}
