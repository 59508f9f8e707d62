//! The fixed-point formats of the integer step, as types: `Fx<F>` is an `i32` holding
//! `value · 2^F`, so a function that wants an activation (`Act`, Q14) cannot be handed a
//! pre-activation (`Pre`, Q12) by mistake.
//!
//! | quantity | storage | format | range | 1 LSB |
//! |---|---|---|---|---|
//! | weights and biases `W, b, V, c` | `i16` | Q3.12 ([`W_FRAC`]) | `[−8, 8)` | 2.4·10⁻⁴ |
//! | inputs `x` | `i32` | Q8 ([`Input`]), `|x| ≤ 1` enforced | `[−1, 1]` | 3.9·10⁻³ |
//! | pre-activations of sign-input layers, logits `z` | `i32` | Q12 ([`Pre`]) | `±(n+1)·8` | 2.4·10⁻⁴ |
//! | pre-activations of the input layer | `i32` | Q20 (Q12·Q8), then `>> 8` to Q12 (floor) | | |
//! | activations `h`, targets `ĥ`, deltas `δ` | `i32` | Q14 ([`Act`]) | `h ∈ [−1, 1]`, `ĥ ∈ [−2, 2]`, `δ ∈ [−3, 3]` | 6.1·10⁻⁵ |
//! | probabilities `p` | `i32` | Q15 ([`Prob`]) | `[0, 1]` | 3.1·10⁻⁵ |
//!
//! Products are formed in `i32` and shifted back with an arithmetic shift (rounding towards
//! −∞) unless a function says otherwise; every bound that makes an `i32` product or sum safe
//! is stated where it is formed. Values that could leave their range are clamped where the
//! clamp cannot hurt learning (a target beyond ±2 that no tanh can reach, a tanh argument
//! beyond ±8), and refused with [`Error::Overflow`](crate::Error::Overflow) where it would
//! (a weight leaving `[−8, 8)`, an input-layer sum leaving `i32`).

/// Fraction bits of weights and biases (`i16`, Q3.12).
pub const W_FRAC: u32 = 12;
/// Fraction bits of activations, targets and deltas (Q14).
pub const H_FRAC: u32 = 14;
/// Fraction bits of inputs (Q8).
pub const X_FRAC: u32 = 8;
/// Fraction bits of probabilities (Q15).
pub const P_FRAC: u32 = 15;

/// A fixed-point number: the `i32` `raw` holds `raw / 2^F`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Fx<const F: u32>(pub i32);

/// A pre-activation or logit, Q12.
pub type Pre = Fx<W_FRAC>;
/// An activation, target or delta, Q14.
pub type Act = Fx<H_FRAC>;
/// An input, Q8.
pub type Input = Fx<X_FRAC>;
/// A probability, Q15.
pub type Prob = Fx<P_FRAC>;

impl<const F: u32> Fx<F> {
    /// The value 1.
    pub const ONE: Self = Fx(1 << F);
    /// The value 0.
    pub const ZERO: Self = Fx(0);

    /// The nearest representable value (ties away from zero), saturated to `i32`. A desktop
    /// helper (floating point): not for the step.
    pub fn from_f64(v: f64) -> Self {
        Fx(libm::round(v * (1u64 << F) as f64) as i32)
    }

    /// The value as `f64` (a desktop helper: not for the step).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / (1u64 << F) as f64
    }
}

impl Input {
    /// A 4-bit intensity `q ∈ 0..=15` read as `q/15` (the firmware's digits), rounded to
    /// nearest: `(273q + 8) >> 4` (`273/16 = 256/15 − 0.004`, exact at 0 and 15 → 256).
    pub const fn from_4bit(q: u8) -> Self {
        Fx((273 * q as i32 + 8) >> 4)
    }
}

/// A weight as stored (Q3.12) from `f64`, saturated (a desktop helper: not for the step).
pub fn weight_from_f64(v: f64) -> i16 {
    libm::round(v * (1 << W_FRAC) as f64).clamp(i16::MIN as f64, i16::MAX as f64) as i16
}
