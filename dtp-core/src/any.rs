//! [`AnyTrainer`]: one bound for "any trainer", and what a helper generic over the layout
//! names, without a direct `nalgebra` dependency.
//!
//! A [`Trainer`] has five type parameters (layout, batch, kernel, gradient store, feedback
//! state) and its methods need `DefaultAllocator: Alloc<L, B>`, nalgebra's way of saying
//! "matrices of these dimensions exist". Three ways to write a helper, simplest first:
//!
//! **1. Over `AnyTrainer`** — every trainer implements it, with the buffers as slices and no
//! nalgebra bound; `AnyTrainer<Layout = Fixed<…>>` is "any trainer of this layout"
//! ([`FusedTrainer`](crate::FusedTrainer), [`FixedTrainer`](crate::FixedTrainer),
//! [`FixedFeedbackTrainer`](crate::FixedFeedbackTrainer) alike):
//!
//! ```
//! use dtp_core::{AnyTrainer, Config, Feedback, Fixed, FixedFeedbackTrainer, FusedTrainer, Init};
//! use rand_pcg::Pcg32;
//!
//! /// Learns one sensor reading with label `class`; any trainer of the 4-8-8-3 layout.
//! fn learn<T: AnyTrainer<Layout = Fixed<4, 8, 3, 1>>>(
//!     t: &mut T,
//!     reading: &[f32; 4],
//!     class: usize,
//!     rng: &mut Pcg32,
//! ) -> bool {
//!     t.input().copy_from_slice(reading);
//!     let labels = t.labels();
//!     labels.fill(0.0);
//!     labels[class] = 1.0;
//!     t.step(rng).is_ok()
//! }
//!
//! let mut rng = Pcg32::new(1, 2);
//! let mut a: FusedTrainer<4, 8, 3, 1> =
//!     FusedTrainer::new(Config::FIRMWARE_SIGN, Init::Orthogonal, &mut rng).unwrap();
//! let fw = Config { feedback: Feedback::Fixed, ..Config::FIRMWARE_SIGN };
//! let mut b: FixedFeedbackTrainer<4, 8, 3, 1> =
//!     FixedFeedbackTrainer::new(fw, Init::Orthogonal, &mut rng).unwrap();
//! assert!(learn(&mut a, &[1.0, 0.0, 0.0, 0.5], 2, &mut rng));
//! assert!(learn(&mut b, &[1.0, 0.0, 0.0, 0.5], 2, &mut rng));
//! ```
//!
//! **2. Over the widths** — a fixed trainer's widths as const generics need no bound at all:
//!
//! ```
//! use dtp_core::FusedTrainer;
//! # use dtp_core::{Config, Init};
//! # use rand_pcg::Pcg32;
//!
//! /// The predicted class of the last forward pass, for any fused trainer.
//! fn predicted<const IN: usize, const H: usize, const OUT: usize, const R: usize>(
//!     t: &FusedTrainer<IN, H, OUT, R>,
//! ) -> usize {
//!     t.output().argmax().0
//! }
//! # let mut rng = Pcg32::new(1, 2);
//! # let t: FusedTrainer<16, 24, 3, 1> =
//! #     FusedTrainer::new(Config::FIRMWARE_SIGN, Init::Orthogonal, &mut rng).unwrap();
//! # assert!(predicted(&t) < 3);
//! ```
//!
//! **3. Over `Trainer<L, B, K, S, V>`** — the full type, for code that reaches the matrices
//! (`OMat<L::In, B>`); this is the bound bundle, every name re-exported by `dtp_core`:
//!
//! ```
//! use dtp_core::{
//!     Alloc, DefaultAllocator, Dim, FeedbackState, GradientStore, Kernel, Layout, StepStats,
//!     Trainer,
//! };
//! # use dtp_core::{Config, FusedTrainer, Init};
//! # use rand_pcg::Pcg32;
//!
//! fn step_twice<L, B, K, S, V>(t: &mut Trainer<L, B, K, S, V>, rng: &mut rand_pcg::Pcg32)
//!     -> Result<StepStats, dtp_core::Error>
//! where
//!     L: Layout,
//!     B: Dim,
//!     K: Kernel,
//!     S: GradientStore<L>,
//!     V: FeedbackState<L::Hidden>,
//!     DefaultAllocator: Alloc<L, B>,
//! {
//!     t.input_mut().fill(0.5); // an `OMat<L::In, B>`
//!     t.step(rng)?;
//!     t.step(rng)
//! }
//! # let mut rng = Pcg32::new(1, 2);
//! # let mut t: FusedTrainer<16, 24, 3, 1> =
//! #     FusedTrainer::new(Config::FIRMWARE_SIGN, Init::Orthogonal, &mut rng).unwrap();
//! # t.labels_mut()[0] = 1.0;
//! # step_twice(&mut t, &mut rng).unwrap();
//! ```
//!
//! `templates/device/src/main.rs` compiles forms 1 and 3 in a crate without `nalgebra` among
//! its dependencies.

use crate::error::Error;
use crate::gradient::GradientStore;
use crate::kernel::Kernel;
use crate::layout::{Alloc, Layout};
use crate::trainer::{FeedbackState, StepStats, Trainer};
use nalgebra::{DefaultAllocator, Dim};
use rand_core::Rng;

/// Any trainer ([`Trainer`] of any layout, batch, kernel, gradient store and feedback state):
/// its buffers as `f32` slices (column-major: sample `b` is column `b`) and its steps. See the
/// [module](self) for helpers generic over it.
pub trait AnyTrainer {
    /// The layout: `AnyTrainer<Layout = Fixed<IN, H, OUT, R>>` is any trainer of these
    /// widths.
    type Layout: Layout;
    /// The input batch `x` (`IN × B`): write a minibatch here before a step.
    fn input(&mut self) -> &mut [f32];
    /// The label targets `t` (`OUT × B`, one-hot for classification).
    fn labels(&mut self) -> &mut [f32];
    /// The output `p` of the last forward pass (`OUT × B`).
    fn output(&self) -> &[f32];
    /// The minibatch size `B`.
    fn batch(&self) -> usize;
    /// The epoch counter the schedules read ([`Trainer::epoch`]).
    fn epoch_mut(&mut self) -> &mut u32;
    /// One DTP step ([`Trainer::step`]).
    fn step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error>;
    /// The forward pass without training ([`Trainer::evaluate`]).
    fn evaluate<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error>;
}

impl<L, B, K, S, V> AnyTrainer for Trainer<L, B, K, S, V>
where
    L: Layout,
    B: Dim,
    K: Kernel,
    S: GradientStore<L>,
    V: FeedbackState<L::Hidden>,
    DefaultAllocator: Alloc<L, B>,
{
    type Layout = L;
    fn input(&mut self) -> &mut [f32] {
        self.input_mut().as_mut_slice()
    }
    fn labels(&mut self) -> &mut [f32] {
        self.labels_mut().as_mut_slice()
    }
    fn output(&self) -> &[f32] {
        Trainer::output(self).as_slice()
    }
    fn batch(&self) -> usize {
        Trainer::batch(self)
    }
    fn epoch_mut(&mut self) -> &mut u32 {
        &mut self.epoch
    }
    fn step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        Trainer::step(self, rng)
    }
    fn evaluate<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        Trainer::evaluate(self, rng)
    }
}
