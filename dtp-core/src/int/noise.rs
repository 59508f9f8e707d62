//! The integer step's randomness: Gaussian-like corruption for the inverse step, and the
//! dither of stochastic rounding. Both are fed by the driver's generator (`rand_core::Rng`),
//! so the same seed gives the same bits.

use rand_core::Rng;

/// The standard deviation of the sum of four uniform bytes (Irwin–Hall, `n = 4`):
/// `√(4·(256² − 1)/12) = 147.80`, as the ratio `256/147.80 ≈ 443/256` used by [`Noise`].
const IRWIN_HALL_RATIO: i32 = 443;

/// Corruption `ε` of standard deviation `σ` in Q14: the four bytes of one 32-bit draw summed
/// (mean 510, standard deviation 147.80, range `±3.45σ`, within 0.7 % of a Gaussian's
/// variance and kurtosis `−0.3`), centred and scaled: `ε = ((Σ − 510) · m) >> 8` with
/// `m = (σ_Q14 · 443) >> 8`, so `σ_ε = σ_Q14 · (1 ± 0.3 %)` Q14 LSBs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Noise {
    m: i32,
}

impl Noise {
    /// No corruption.
    pub const NONE: Noise = Noise { m: 0 };

    /// Noise of standard deviation `sigma_q14 / 2¹⁴` (`sigma_q14` at most `2¹⁴`: σ ≤ 1).
    pub const fn new(sigma_q14: u16) -> Noise {
        let s = if sigma_q14 > 1 << 14 {
            1 << 14
        } else {
            sigma_q14 as i32
        };
        Noise {
            m: (s * IRWIN_HALL_RATIO) >> 8,
        }
    }

    /// The multiplier `m` (σ in Q14 is `m · 147.8 / 256`).
    pub const fn multiplier(self) -> i32 {
        self.m
    }

    /// One draw of `ε` in Q14 (one `next_u32` of `rng`, even when σ = 0).
    #[inline(always)]
    pub fn sample<G: Rng + ?Sized>(self, rng: &mut G) -> i32 {
        let r = rng.next_u32();
        let sum = (r & 255) + (r >> 8 & 255) + (r >> 16 & 255) + (r >> 24);
        ((sum as i32 - 510) * self.m) >> 8 // |Σ − 510| ≤ 510, m ≤ 28352: < 2^24
    }
}

/// The seeds of the forward step's stochastic rounding: a 32-bit linear congruential
/// generator (`x ← 1664525·x + 1013904223`, Numerical Recipes; one `MULS` and one `ADDS` on a
/// Cortex-M0), seeded by one draw of the driver's generator a step; [`word`](Dither::word)
/// gives each layer's update its dither word (`kernel::sign_update`, `kernel::input_update`).
/// [`next`](Dither::next) is a uniform offset on `[0, 2^F)` (rounding `v / 2^F` as
/// `(v + r) >> F`; no longer used by the step).
#[derive(Clone, Copy, Debug)]
pub struct Dither(u32);

impl Dither {
    /// A dither seeded from one draw of `rng`.
    #[inline(always)]
    pub fn seeded<G: Rng + ?Sized>(rng: &mut G) -> Dither {
        Dither(rng.next_u32())
    }

    /// A dither from a seed drawn earlier.
    pub const fn from_seed(seed: u32) -> Dither {
        Dither(seed)
    }

    /// The next state, a 32-bit word (the seed of a sign-input update's dither lanes).
    #[inline(always)]
    pub fn word(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        self.0
    }

    /// The next offset, uniform on `[0, 2^bits)` (`1 ≤ bits ≤ 31`).
    #[inline(always)]
    pub fn next(&mut self, bits: u32) -> i32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> (32 - bits)) as i32
    }
}
