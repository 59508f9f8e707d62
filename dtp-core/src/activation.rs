//! Continuous activation functions `s(a)` and their derivatives.

use libm::{expf, tanhf};

/// The continuous part of a unit: `h = s(a)` with `a = W r + b`.
///
/// Discrete and stochastic units are a continuous activation followed by a
/// [`Quantiser`](crate::Quantiser) applied where the next layer reads the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Activation {
    /// `tanh(a)`, values in (−1, 1).
    Tanh = 0,
    /// `1 / (1 + e^{−a})`, values in (0, 1).
    Sigmoid = 1,
    /// `a` (identity).
    Linear = 2,
}

impl Activation {
    /// `s(a)` for one value.
    #[inline]
    pub fn apply(self, a: f32) -> f32 {
        match self {
            Activation::Tanh => tanhf(a),
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

    /// Applies `s` to every value in place.
    pub fn apply_slice(self, values: &mut [f32]) {
        if self != Activation::Linear {
            values.iter_mut().for_each(|v| *v = self.apply(*v));
        }
    }
}

/// The logistic function, computed without overflow for large `|a|`.
#[inline]
pub fn sigmoid(a: f32) -> f32 {
    if a >= 0.0 {
        1.0 / (1.0 + expf(-a))
    } else {
        let e = expf(a);
        e / (1.0 + e)
    }
}
