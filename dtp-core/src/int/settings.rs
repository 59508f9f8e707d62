//! The integer step's hyper-parameters: rates and `η̂` as integers and shifts, the
//! corruption σ in Q14, and the learning-rate schedule the trainer advances itself.

use super::noise::Noise;

/// A non-negative scale `mul · 2^−shift` (`η̂`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Scale {
    /// The multiplier, at most 2¹².
    pub mul: u16,
    /// The shift, at most 30.
    pub shift: u8,
}

impl Scale {
    /// Zero (the control: `η̂ = 0`).
    pub const ZERO: Scale = Scale { mul: 0, shift: 0 };
}

/// A learning rate `lr = mul · 2^−shift` of SGD (give `mul` a few bits, e.g. 256: the decay
/// scales it), `θ ← θ − lr · δ · x`, rounded
/// stochastically to the weights' Q12.
///
/// Inside the step the update of a weight is `⌊(d·x + r) / 2^(shift + 2)⌋` with
/// `d = −δ_Q14 · mul` (the `+2`: Q14 deltas onto Q12 weights) and `r` the dither (its top 16
/// bits: exact in expectation for `shift ≤ 14`, within 2⁻¹⁶ LSB below above); `mul` at most
/// 2¹⁴ and `shift + 2` at most 30 keep `d·x` inside `i32` (`|δ| ≤ 3`). A rounded step beyond
/// 4.0 on a sign-input weight is refused like a weight leaving `[−8, 8)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rate {
    /// The multiplier, at most 2¹⁴.
    pub mul: u16,
    /// The shift, at most 28.
    pub shift: u8,
}

impl Rate {
    /// Whether `mul ≤ 2¹⁴` and `shift ≤ 28`.
    pub const fn is_valid(self) -> bool {
        self.mul <= 1 << 14 && self.shift <= 28
    }
}

/// Every hyper-parameter of the integer step, in integers.
///
/// The loss: softmax outputs and `L = −log p_t` (its gradient `p − t`, as the float
/// firmware's). The local losses are `½‖h − ĥ‖²` (so `δ = (h − ĥ)(1 − h²)`, half the float
/// step's gradient of `‖·‖²`: fold the 2 into the rates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Settings {
    /// `η̂` of the top target `ĥ_{M-1} = h_{M-1} − η̂ ∂L/∂q(h_{M-1})`.
    pub eta_hat: Scale,
    /// SGD rate of the hidden layers `W_i, b_i`, `i < M`.
    pub hidden: Rate,
    /// SGD rate of the output layer `W_M, b_M`.
    pub output: Rate,
    /// SGD rate of the inverses `V_i, c_i`.
    pub inverse: Rate,
    /// Corruption of the inverse step.
    pub noise: Noise,
    /// Samples per decay step: the forward rates (hidden and output) at decay step `k` are
    /// `lr₀ / (1 + k)`, `k = ⌊samples seen / decay_every⌋`, advanced by the trainer itself
    /// (0: no decay). The firmware's `lr₀/(1 + epoch)` is `decay_every` = the epoch's length.
    pub decay_every: u32,
}

impl Settings {
    /// The 64-32-32-10 sign-unit digits net, one sample a step, 1,438 samples an epoch:
    /// `η̂ = 8`, hidden rate 2⁻⁴, output rate 2⁻⁶, inverse rate 2⁻⁷, σ = 0.5, the forward
    /// rates divided by `1 + epoch`. Chosen on the host over a grid of shifts (4 epochs of the
    /// firmware's stream; `tests/tests/int_learning.rs`, `tune`). With the row-constant
    /// rounding (`kernel`): held-out 93.9 % and 94.4 % for seeds 1 and 2, 91.9–96.4 % over
    /// seeds 1–10; controls (`η̂ = 0`) 54.3–64.1 %. A hidden rate of 2⁻³ scores about the same
    /// (93.0–94.7 % over seeds 1–6) and sits next to 2⁻², where a weight leaves `[−8, 8)` and
    /// the step refuses ([`Error::Overflow`](crate::Error::Overflow), seed 1).
    pub const DIGITS: Settings = Settings {
        eta_hat: Scale { mul: 8, shift: 0 },
        hidden: Rate {
            mul: 256,
            shift: 12,
        },
        output: Rate {
            mul: 256,
            shift: 14,
        },
        inverse: Rate {
            mul: 256,
            shift: 15,
        },
        noise: Noise::new(8192),
        decay_every: 1438,
    };

    /// These settings with `η̂ = 0`: every target equals its activation, only the output
    /// layer learns (the control of a learning claim).
    pub const fn control(self) -> Settings {
        Settings {
            eta_hat: Scale::ZERO,
            ..self
        }
    }

    /// Whether every field is in its range (multipliers and shifts as documented).
    pub const fn is_valid(&self) -> bool {
        self.eta_hat.mul <= 1 << 12
            && self.eta_hat.shift <= 30
            && self.hidden.is_valid()
            && self.output.is_valid()
            && self.inverse.is_valid()
    }
}
