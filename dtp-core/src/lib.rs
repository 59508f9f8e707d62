//! # dtp-core — Difference Target Propagation without `std`, without allocation
//!
//! Difference Target Propagation (Lee, Zhang, Fischer & Bengio, ECML-PKDD 2015) trains a
//! deep network without propagating derivatives through it: each hidden layer gets a
//! *target*, computed top-down through learned approximate inverses, and learns from a
//! purely local squared error towards it. Because no derivative flows through a layer,
//! layers may be discrete (sign) or stochastic (Bernoulli-sampled) units.
//!
//! This crate is the shared core used by the desktop trainer (`dtp-std`) and by the
//! Cortex-M firmware: one implementation of the algorithm, two size worlds ([`layout`]).
//! A [`FixedTrainer`] has its widths in its type, stores every matrix inline in fixed-size
//! [`nalgebra`] types and needs no allocator, so a small network lives in a `static` and a
//! large one is placed on the heap by zero-filling (see [`Trainer::init`]); with the `alloc`
//! feature a `DynTrainer` has any widths, depth and batch chosen at run time.
//!
//! ```
//! use dtp_core::{Config, FixedTrainer, Init};
//! use rand_pcg::Pcg32;
//!
//! // A 4-8-8-3 network trained one sample at a time, as on a microcontroller. It can live in
//! // a `static`: `FixedTrainer::ZERO` (a `const`, placed in `.data`: its placeholder settings
//! // are not all zero bits) or `unsafe { core::mem::zeroed() }` (`.bss`; sound, the trainer
//! // is `bytemuck::Zeroable`), then `init` in place.
//! let mut rng = Pcg32::new(1, 2);
//! let mut t: FixedTrainer<4, 8, 3, 1, 1> =
//!     FixedTrainer::new(Config::DISCRETE, Init::Orthogonal, &mut rng).unwrap();
//! for step in 0..30 {
//!     let class = step % 3;
//!     let (x, label) = t.batch_mut();
//!     x.fill(0.0);
//!     x[class] = 1.0; // a sensor sample
//!     label.fill(0.0);
//!     label[class] = 1.0;
//!     t.step(&mut rng).unwrap(); // one DTP step: forward, inverses, targets, forward layers
//! }
//! assert!(t.net.is_finite());
//! ```
//!
//! On a microcontroller, prefer [`FusedTrainer`]`<IN, H, OUT, R>` to `FixedTrainer<…, 1>`: the
//! same steps without gradient buffers, each gradient element formed inside the optimiser's
//! loop ([`gradient`]); [`FixedFeedbackTrainer`] drops the inverses' optimiser state too, for
//! fixed feedback weights (FW-DTP).
//!
//! A convolution on the device: [`fixed_conv`] (a convolution and its transposed-convolution
//! inverse with every size in the type) and [`conv_front`] (one in front of a fixed dense
//! trainer, trained by the same step driver).
//!
//! Saving the weights to flash and loading them after a reset: the example of the `storage`
//! module (feature `storage`). A run-time-shaped network: `DynTrainer::with_widths` (feature
//! `alloc`).
//!
//! ## The five steps (one minibatch)
//! Each is a named method of [`Trainer`] whose documentation gives its equation:
//! 1. [`Trainer::forward`] — `h_i = s_i(W_i h_{i-1} + b_i)`, keeping every activation;
//! 2. [`Trainer::top_target`] — `ĥ_{M-1} = h_{M-1} − η̂ ∂L/∂h_{M-1}`;
//! 3. [`Trainer::difference_targets`] — `ĥ_{i-1} = h_{i-1} + g_i(ĥ_i) − g_i(h_i)`;
//! 4. [`Trainer::inverse_step`] — a step on `‖g_i(f_i(h+ε)) − (h+ε)‖²`, `ε ~ N(0, σ²)`;
//! 5. [`Trainer::forward_step`] — a step on `‖f_i(h_{i-1}) − ĥ_i‖²` (on `L` for the output).
//!
//! [`int`] runs the same five steps in integer arithmetic (`i16` weights, sign units, no
//! floating point, no division) for parts without an FPU, under the [`step`] driver.
//!
//! [`Trainer::backprop_step`] trains the same network by ordinary backpropagation: the
//! baseline every DTP result is compared with.
//!
//! ## Guarantees
//! - no `std`, no `alloc`: builds for `thumbv7em-none-eabihf` with only `core`;
//! - no allocation on any path (the default [`Portable`] kernel); the optional `std` feature
//!   adds `Blocked`, a cache-blocked GEMM for the desktop that does allocate packing buffers;
//! - no panic on numeric input: NaN or infinity in inputs, targets, gradients or weights is
//!   reported as an [`Error`] naming the stage and the layer; invalid hyper-parameters are
//!   rejected with a [`ConfigError`] when the trainer is built.
#![no_std]
#![deny(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`, every feature: `[package.metadata.docs.rs]`) marks each
// feature-gated item with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod activation;
pub mod any;
pub mod autoencoder;
pub mod bits;
pub mod blob;
pub mod clock;
pub mod config;
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub mod conv;
pub mod conv_front;
pub mod conv_shape;
pub mod ddtp;
pub mod dense;
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub mod direct;
pub mod error;
pub mod fixed_conv;
pub mod gradient;
pub mod hidden;
pub mod init;
pub mod int;
pub mod kernel;
pub mod layout;
pub mod loss;
pub mod mat;
pub mod math;
pub mod net;
pub mod noise;
pub mod optim;
pub mod outer;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub mod parallel;
pub mod quantise;
pub mod simd;
pub mod step;
#[cfg(feature = "storage")]
#[cfg_attr(docsrs, doc(cfg(feature = "storage")))]
pub mod storage;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub mod team;
// The team's atomics, locks and threads: std's, or loom's under `--cfg loom`.
#[cfg(feature = "std")]
mod sync;
pub mod tensors;
pub mod trainer;

mod arm;
mod backprop;
mod dtp;

pub use activation::Activation;
pub use any::AnyTrainer;
pub use autoencoder::{Autoencoder, AutoencoderConfig, FixedAutoencoder};
pub use blob::BlobError;
pub use clock::SampleClock;
pub use config::{
    Config, DRL_SIGMA, Feedback, FeedbackPasses, Gradient, Init, LayerSet, LrDecay, Output,
    Schedule, SigmaSchedule, Units,
};
pub use dense::{Dense, FixedDense};
pub use error::{ConfigError, Error, Stage};
pub use gradient::{Buffered, Fused, GradientStore, Outer};
pub use hidden::Hidden;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use kernel::{Auto, Blocked};
pub use kernel::{Kernel, Portable};
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub use layout::Dynamic;
pub use layout::{Alloc, Fixed, Layout, NetAlloc, Never, OptSlot, Width};
pub use mat::{Mat, OMat, zeros};
/// The nalgebra names a user's code may need (dimensions, the allocator bound of
/// [`Alloc`], matrix types), so that it needs no `nalgebra` dependency of its own: see
/// [`any`] for a helper generic over the layout.
pub use nalgebra::{
    Const, DefaultAllocator, Dim, DimName, Dyn, OMatrix, SMatrix, U1, allocator::Allocator,
};
pub use net::{FixedNet, Net};
pub use optim::{
    DenseState, FixedNetState, InverseState, Moments, NetState, Optimiser, OptimiserKind,
};
pub use quantise::Quantiser;
pub use tensors::{Name, Tensors};
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub use trainer::DynTrainer;
pub use trainer::{
    BatchColumns, Batches, DdtpTrainer, EpochStats, FeedbackState, FixedFeedbackTrainer,
    FixedStore, FixedTrainer, FusedTrainer, NoFeedbackState, StepStats, Trainer,
};
