//! DTP in integer arithmetic, for parts without a floating-point unit (Cortex-M0/M0+/M3):
//! the same five steps as [`Trainer`](crate::Trainer)'s, executed by [`IntTrainer`] under the step driver
//! ([`crate::step`]), with
//! - `i16` weights, inverses and biases in Q3.12, `i32` activations and sums
//!   ([`format`]: ranges, scaling, rounding);
//! - sign hidden units as in [`Config::FIRMWARE_SIGN`](crate::Config::FIRMWARE_SIGN): each
//!   hidden layer computes `h = tanh(a)` and every layer above (the output layer and the
//!   inverses too) reads `sign(h)`, so its product is adds and subtracts of weight columns
//!   ([`kernel`]);
//! - `tanh`, `1 − h²`, `exp` and a Newton reciprocal from tables, shifts and 32-bit multiplies
//!   ([`table`]); softmax outputs with the loss `−log p_t`;
//! - SGD with rates `mul · 2^−shift`, rounded stochastically to the weights' LSB, and no
//!   optimiser state ([`settings`]): each row's step and fraction are computed once a row,
//!   and a weight rounds up when the fraction's top 16 bits plus 16 bits of a Weyl dither
//!   word (seeded from the driver's generator, one draw a layer) carry out ([`kernel`]);
//! - on Cortex-M4/M7 (`target_feature = "dsp"`) the products and updates take two rows a
//!   word with `SMLAD`, `SADD16`, `UADD16`, `SEL` (up to 128 B of multipliers and offsets on
//!   the stack), on the Cortex-M0 the sign-input update and products are Thumb-1 loops: the
//!   same bits as the portable loops ([`kernel`]);
//! - the inverses' corruption as an Irwin–Hall sum of four uniform bytes ([`noise`]);
//! - the forward rates decayed as `lr₀/(1 + k)` by the trainer itself, `k` the number of
//!   completed `decay_every`-sample periods ([`Settings::decay_every`]).
//!
//! No `f32`/`f64`, no division and no square root in the step; no `i64` in a loop. Sums and
//! products are bounded where they are formed; a weight that would leave `i16`, or an input-
//! layer sum that would leave `i32`, makes the step return [`Error::Overflow`] instead of
//! wrapping.
//!
//! Storage: one code over two owners ([`net`]): [`Arrays`] (const-sized, no allocation,
//! fits a `static`) and `Vectors` (feature `alloc`, widths at run time). Any widths, any depth
//! with two hidden layers or more (e.g. 16-24-16-3).
//!
//! ```
//! use dtp_core::int::{Arrays, Input, IntTrainer, Settings, buffers, params};
//! use dtp_core::step;
//! use rand_pcg::Pcg32;
//!
//! const W: [usize; 5] = [16, 24, 16, 16, 3];
//! type Net = Arrays<5, { params(&W) }, { buffers(&W) }>;
//! let mut rng = Pcg32::new(1, 2);
//! let mut t = IntTrainer::new(Net::new(W), Settings::DIGITS);
//! t.init(&mut rng);
//! for sample in 0..30 {
//!     let class = sample % 3;
//!     let x = t.input_mut(); // Q8: 256 is 1.0
//!     x.fill(0);
//!     x[class] = Input::ONE.0;
//!     t.set_label(class as u16);
//!     step::step(&mut t, &mut rng).unwrap(); // forward, inverses, targets, forward layers
//! }
//! step::evaluate(&mut t, &mut rng).unwrap();
//! assert_eq!(t.predicted(), 2);
//! ```

pub mod format;
pub mod kernel;
pub mod net;
pub mod noise;
pub mod settings;
pub mod table;

mod steps;

pub use format::{Act, Fx, Input, Pre, Prob};
#[cfg(feature = "alloc")]
pub use net::Vectors;
pub use net::{Arrays, MAX_WIDTH, Storage, buffers, params, valid_widths};
pub use noise::Noise;
pub use settings::{Rate, Scale, Settings};

use crate::error::Error;
use crate::step::{Pass, Steps, Tally};
use net::Shape;
use noise::Dither;
use rand_core::Rng;
use steps::View;

/// What one forward pass (or a sum of them) measured, in integers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IntStats {
    /// Samples whose largest output was the label.
    pub correct: u32,
    /// `Σ (1 − p_label)` in Q15 (a bounded stand-in for the log-loss: no logarithm on the part).
    pub miss: u64,
}

impl Tally for IntStats {
    fn add(&mut self, other: Self) {
        self.correct += other.correct;
        self.miss += other.miss;
    }
    /// `Σ (1 − p_label)` (not `−log p`), as `f32`: a desktop figure, outside the step.
    fn loss(&self) -> f32 {
        self.miss as f32 / 32768.0
    }
    fn correct(&self) -> u64 {
        u64::from(self.correct)
    }
}

/// The integer DTP trainer: a network in storage `S` ([`Arrays`] or `Vectors`), its
/// [`Settings`], the sample it holds and its schedule. An executor of [`Steps`]: train it
/// with [`step::step`](crate::step::step), evaluate with
/// [`step::evaluate`](crate::step::evaluate).
///
/// Memory: the storage (2 B a parameter, 4 B a buffer entry, the widths) and 48 B of
/// settings and counters (32-bit target): 10,468 B for 64-32-32-10, 2.31 B a parameter.
#[derive(Clone, Debug)]
pub struct IntTrainer<S> {
    storage: S,
    settings: Settings,
    label: u16,
    predicted: u16,
    /// The dither seed drawn by the last training forward pass (for step 5).
    dither: u32,
    /// Samples trained on (completed forward steps).
    samples: u32,
    /// Samples left in the current decay period.
    countdown: u32,
    /// Completed decay periods, `k`.
    decays: u32,
    /// `2¹⁶/(1 + k)`: the forward rates' current factor (Q16).
    rate_scale: u32,
}

impl<S: Storage> IntTrainer<S> {
    /// A trainer over `storage` (weights as they are: zero for new storage, see
    /// [`init`](Self::init) and [`params_mut`](Self::params_mut)).
    ///
    /// # Panics
    /// When `!settings.is_valid()` (at compile time in a `const` or `static`).
    pub const fn new(storage: S, settings: Settings) -> Self {
        assert!(settings.is_valid(), "integer settings out of range");
        IntTrainer {
            storage,
            settings,
            label: 0,
            predicted: 0,
            dither: 0,
            samples: 0,
            countdown: settings.decay_every,
            decays: 0,
            rate_scale: 1 << 16,
        }
    }

    /// Random weights: every `W_i`, `V_i` uniform in `±⌊√(3/fan_in)⌋` (Q12; variance
    /// `1/fan_in`, the scale of an orthogonal matrix's entries), biases 0; the schedule
    /// starts over. Integer only (an integer square root, at initialisation).
    pub fn init<G: Rng + ?Sized>(&mut self, rng: &mut G) {
        let (n, params, _) = self.storage.parts();
        let s = Shape { n };
        fn fill<G: Rng + ?Sized>(w: &mut [i16], fan_in: usize, rng: &mut G) {
            let a = ((3u64 << 24) / (fan_in as u64).max(1)).isqrt() as i32; // √(3/fan_in) in Q12
            for w in w {
                let r = (rng.next_u32() >> 16) as i32; // [0, 2^16)
                *w = (((r * (2 * a + 1)) >> 16) - a) as i16;
            }
        }
        for i in 1..=s.m() {
            let (w, b) = s.forward(i);
            fill(params.get_mut(w).unwrap_or(&mut []), s.w(i - 1), rng);
            params.get_mut(b).unwrap_or(&mut []).fill(0);
        }
        for i in 2..s.m() {
            let (v, c) = s.inverse(i);
            fill(params.get_mut(v).unwrap_or(&mut []), s.w(i), rng);
            params.get_mut(c).unwrap_or(&mut []).fill(0);
        }
        self.restart_schedule();
    }

    /// Starts the learning-rate schedule over (samples seen 0, full rates).
    pub fn restart_schedule(&mut self) {
        self.samples = 0;
        self.countdown = self.settings.decay_every;
        self.decays = 0;
        self.rate_scale = 1 << 16;
    }

    /// The widths `n_0 … n_M`.
    pub fn widths(&self) -> &[usize] {
        self.storage.widths()
    }

    /// The input `x` to fill before a step, Q8 (`256` is 1.0; `|x| ≤ 256`, else the forward
    /// pass refuses it).
    pub fn input_mut(&mut self) -> &mut [i32] {
        let (n, _, b) = self.storage.parts();
        let len = n.first().copied().unwrap_or(0);
        b.get_mut(..len).unwrap_or(&mut [])
    }

    /// The class of the sample held (one-hot target).
    pub fn set_label(&mut self, label: u16) {
        self.label = label;
    }

    /// The class of the sample held.
    pub fn label(&self) -> u16 {
        self.label
    }

    /// The output probabilities `p` of the last forward pass, Q15.
    pub fn output(&self) -> &[i32] {
        let s = Shape {
            n: self.storage.widths(),
        };
        let (at, len) = (s.p(), s.w(s.m()));
        self.storage.buffers().get(at..at + len).unwrap_or(&[])
    }

    /// The class the last forward pass predicted (the largest output; the first on ties).
    pub fn predicted(&self) -> usize {
        usize::from(self.predicted)
    }

    /// Hidden activations `h_i` (`i ∈ 1 ..= M−1`) of the last forward pass, Q14.
    pub fn hidden(&self, i: usize) -> &[i32] {
        let s = Shape {
            n: self.storage.widths(),
        };
        let (at, len) = (s.h(i), s.w(i));
        self.storage.buffers().get(at..at + len).unwrap_or(&[])
    }

    /// Targets `ĥ_i` (`i ∈ 1 ..= M−1`) of the last step, Q14.
    pub fn target(&self, i: usize) -> &[i32] {
        let s = Shape {
            n: self.storage.widths(),
        };
        let (at, len) = (s.target(i), s.w(i));
        self.storage.buffers().get(at..at + len).unwrap_or(&[])
    }

    /// Every parameter, Q3.12, in the arena's order ([`net`]): the save format.
    pub fn params(&self) -> &[i16] {
        self.storage.params()
    }

    /// Every parameter, to load a save into (same order as [`params`](Self::params)).
    pub fn params_mut(&mut self) -> &mut [i16] {
        self.storage.parts().1
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The settings.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Replaces the settings (the schedule continues); `false` and unchanged unless valid.
    pub fn set_settings(&mut self, settings: Settings) -> bool {
        if settings.is_valid() {
            self.settings = settings;
        }
        settings.is_valid()
    }

    /// Samples trained on since [`init`](Self::init) or
    /// [`restart_schedule`](Self::restart_schedule).
    pub fn samples_seen(&self) -> u32 {
        self.samples
    }

    /// The forward rates' current factor `1/(1 + k)`, Q16.
    pub fn rate_scale(&self) -> u32 {
        self.rate_scale
    }

    fn view(&mut self) -> View<'_> {
        let (n, p, b) = self.storage.parts();
        View {
            s: Shape { n },
            p,
            b,
        }
    }

    /// A rate scaled by the schedule's factor.
    fn decayed(&self, r: Rate) -> Rate {
        Rate {
            mul: ((r.mul as u32 * self.rate_scale) >> 16) as u16,
            shift: r.shift,
        }
    }

    /// One more sample trained: the schedule advances (`k += 1` and `2¹⁶/(1 + k)` by Newton's
    /// reciprocal at the end of each period).
    fn advance(&mut self) {
        self.samples = self.samples.wrapping_add(1);
        if self.settings.decay_every == 0 {
            return;
        }
        self.countdown = self.countdown.saturating_sub(1);
        if self.countdown == 0 {
            self.countdown = self.settings.decay_every;
            self.decays = self.decays.saturating_add(1);
            let (y, s) = table::reciprocal(self.decays + 1);
            // 2^16/(1+k) = y·2^s/2^45 · 2^16 = y·2^s >> 29 (s ≤ 29 for 1 + k ≥ 2).
            self.rate_scale = (y as u32) >> 29u32.saturating_sub(s);
        }
    }
}

impl<S: Storage> Steps for IntTrainer<S> {
    type Stats = IntStats;

    /// **Step 1** ([`steps`](self) `forward`): `h_i`, `p`; draws one dither seed for step 5
    /// when training.
    fn forward<G: Rng + ?Sized>(&mut self, pass: Pass, rng: &mut G) -> Result<IntStats, Error> {
        let label = usize::from(self.label);
        let (best, miss) = steps::forward(&mut self.view(), label)?;
        if pass.training() {
            self.dither = rng.next_u32();
        }
        self.predicted = best as u16;
        Ok(IntStats {
            correct: u32::from(best == label),
            miss: u64::from(miss),
        })
    }

    /// **Step 4**: the inverse step on noisy reconstructions.
    fn feedback_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        let (noise, rate) = (self.settings.noise, self.settings.inverse);
        steps::inverse_step(&mut self.view(), noise, rate, rng)
    }

    /// **Step 2**: `ĥ_{M−1} = h_{M−1} − η̂ W_Mᵀ (p − t)`.
    fn top_target(&mut self) -> Result<(), Error> {
        let (label, eta) = (usize::from(self.label), self.settings.eta_hat);
        steps::top_target(&mut self.view(), label, eta)
    }

    /// **Step 3**: `ĥ_{i−1} = h_{i−1} + g_i(ĥ_i) − g_i(h_i)` (draws nothing).
    fn difference_targets<G: Rng + ?Sized>(&mut self, _rng: &mut G) -> Result<(), Error> {
        steps::difference_targets(&mut self.view())
    }

    /// **Step 5**: SGD of every forward layer at the decayed rates; then the schedule advances.
    fn forward_step(&mut self) -> Result<(), Error> {
        let hidden = self.decayed(self.settings.hidden);
        let output = self.decayed(self.settings.output);
        let mut dither = Dither::from_seed(self.dither);
        steps::forward_step(&mut self.view(), hidden, output, &mut dither)?;
        self.advance();
        Ok(())
    }

    /// Every step runs at once: what step 1 measured.
    fn measured(&mut self, forward: IntStats) -> Result<IntStats, Error> {
        Ok(forward)
    }
}
