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

pub use crate::arm::tanh::tanh;

/// The logistic function `1 / (1 + e^{−a}) = (1 + tanh(a/2)) / 2`, through [`tanh`]: absolute
/// error below 3·10⁻⁷, no overflow for any `a`, and values within [0, 1].
#[inline]
pub fn sigmoid(a: f32) -> f32 {
    0.5 * tanh(0.5 * a) + 0.5
}
