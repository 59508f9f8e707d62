//! Quantisers: what a layer *reads* from the layer below (identity, sign, Bernoulli sample).
//!
//! The layer that produces a discrete value trains on its continuous output; the quantiser is
//! applied where the next layer (or an inverse) reads it, and no derivative is taken through
//! it (backprop uses zero, or one for the straight-through estimator).

use crate::noise::bernoulli;
use rand_core::Rng;

/// How a layer reads the activation of the layer below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Quantiser {
    /// Reads `h` unchanged.
    Identity = 0,
    /// Reads `sign(h)`: `+1` if `h > 0`, else `−1` (the reference code's `switch(h > 0, 1, −1)`).
    Sign = 1,
    /// Reads a Bernoulli sample with probability `h` (for `h` in [0, 1], e.g. sigmoid units).
    Bernoulli = 2,
}

impl Quantiser {
    /// Writes the value read from `src` into `dst` (same length).
    pub fn apply<R: Rng + ?Sized>(self, src: &[f32], dst: &mut [f32], rng: &mut R) {
        match self {
            Quantiser::Identity => dst.copy_from_slice(src),
            Quantiser::Sign => dst
                .iter_mut()
                .zip(src)
                .for_each(|(d, &s)| *d = if s > 0.0 { 1.0 } else { -1.0 }),
            Quantiser::Bernoulli => dst
                .iter_mut()
                .zip(src)
                .for_each(|(d, &s)| *d = bernoulli(rng, s)),
        }
    }

    /// Whether reading through this quantiser changes the value.
    pub fn is_identity(self) -> bool {
        self == Quantiser::Identity
    }
}
