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
            Quantiser::Sign => crate::arm::sign::sign(src, dst),
            Quantiser::Bernoulli => dst
                .iter_mut()
                .zip(src)
                .for_each(|(d, &s)| *d = bernoulli(rng, s)),
        }
    }

    /// Takes from `rng` the draws [`apply`](Self::apply) takes for `n` values (one `next_u32`
    /// a value for [`Bernoulli`](Quantiser::Bernoulli), none otherwise), without reading or
    /// writing any value: the stream then continues exactly as after `apply`.
    pub fn skip<R: Rng + ?Sized>(self, n: usize, rng: &mut R) {
        if self == Quantiser::Bernoulli {
            for _ in 0..n {
                rng.next_u32();
            }
        }
    }

    /// Whether reading through this quantiser changes the value.
    pub fn is_identity(self) -> bool {
        self == Quantiser::Identity
    }
}
