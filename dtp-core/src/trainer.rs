//! [`Trainer`]: a network with its optimiser state and minibatch buffers, and the epoch loop.

use crate::config::{Config, Feedback, FeedbackPasses, Init};
use crate::error::{ConfigError, Error, Stage, check_finite};
use crate::gradient::{Buffered, GradientStore};
use crate::hidden::Hidden;
use crate::kernel::{Kernel, Portable};
#[cfg(feature = "alloc")]
use crate::layout::OptSlot;
use crate::layout::{Alloc, Fixed, Layout};
use crate::mat::{OMat, zeros};
use crate::net::Net;
use crate::optim::{DenseState, InverseState, NetState};
use crate::step::{self, Pass, Steps, Tally};
use core::marker::PhantomData;
use nalgebra::allocator::Allocator;
use nalgebra::{Const, DefaultAllocator, Dim};
use rand_core::Rng;

/// Everything needed to train a [`Net`] of layout `L` with minibatches of `B` samples by DTP
/// or backprop: parameters, separate forward and inverse optimiser state, and every buffer a
/// step uses.
///
/// Two worlds, one algorithm (see [`layout`](crate::layout)):
/// - [`FixedTrainer<IN, H, OUT, R, B>`](FixedTrainer): sizes fixed at compile time, nothing
///   allocated. Per-sample training (a microcontroller) is `B = 1`. A small trainer can be
///   built on the stack with [`Trainer::new`] or live in a `static` initialised from
///   [`Trainer::ZERO`]; a large one is zero-filled on the heap by the caller
///   (`bytemuck::zeroed_box()`), then set up in place by [`Trainer::init`].
/// - `DynTrainer` (feature `alloc`): any widths, depth and batch chosen at run time,
///   built by `Trainer::with_widths`.
///
/// `K` selects the matrix kernel ([`Portable`] by default); `S` what the optimiser steps do
/// with each layer's gradient ([`gradient`](crate::gradient)): [`Buffered`] by default, or
/// [`Fused`](crate::gradient::Fused) for one sample a step without any gradient buffer
/// ([`FusedTrainer`]). `V` holds the inverses' optimiser state ([`FeedbackState`]): one per
/// inverse by default, or none ([`NoFeedbackState`], for fixed feedback weights: FW-DTP).
pub struct Trainer<L: Layout, B: Dim, K: Kernel = Portable, S = Buffered<L>, V = InverseState<L>>
where
    DefaultAllocator: Alloc<L, B>,
{
    pub(crate) config: Config,
    /// Forward and inverse parameters.
    pub net: Net<L>,
    /// Optimiser state of the forward layers (also used by backprop).
    pub forward_state: NetState<L>,
    /// Optimiser state of the inverses (`[k]` belongs to `g_{k+2}`), if the feedback weights
    /// are trained.
    pub inverse_state: V,
    /// Completed epochs; σ of inverse training uses epoch `epoch + 1`.
    pub epoch: u32,
    pub(crate) ws: Workspace<L, B>,
    pub(crate) grad: S,
    /// Local loss of each hidden layer at the last forward step.
    pub local_loss: Hidden<f32, L>,
    /// Reconstruction loss of each inverse at the last inverse step (`[k]` is `g_{k+2}`).
    pub inverse_loss: L::Seq<f32>,
    /// Optimiser state of DDTP's feedback weights ([`Net::direct`]), when the rule is direct.
    #[cfg(feature = "alloc")]
    pub direct_state: L::Opt<crate::direct::DirectState>,
    _kernel: PhantomData<K>,
}

/// A trainer whose sizes are fixed at compile time: `IN → H (×(R+1)) → OUT`, minibatches of
/// `B`. Allocation-free; `static`-able.
pub type FixedTrainer<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const B: usize,
    K = Portable,
> = Trainer<Fixed<IN, H, OUT, R>, Const<B>, K>;

/// A fixed-size trainer of one sample a step that keeps no gradient buffer: each gradient
/// element is formed inside the optimiser's loop ([`Fused`](crate::gradient::Fused)). The same
/// values as [`FixedTrainer`]`<IN, H, OUT, R, 1>` in less memory (the microcontroller's trainer).
pub type FusedTrainer<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    K = Portable,
> = Trainer<Fixed<IN, H, OUT, R>, Const<1>, K, crate::gradient::Fused>;

/// [`FusedTrainer`] for fixed feedback weights (FW-DTP, [`Feedback::Fixed`] only): no inverse
/// optimiser state either.
pub type FixedFeedbackTrainer<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    K = Portable,
> = Trainer<Fixed<IN, H, OUT, R>, Const<1>, K, crate::gradient::Fused, NoFeedbackState>;

/// A fixed-size trainer of one sample a step trained by DDTP-linear ([`Feedback::DdtpLinear`]
/// only): the feedback maps `Q_i` from the output to each hidden layer, their optimiser state
/// and buffers in place of DTP's inverse optimiser state (no allocation; the microcontroller's
/// DDTP).
pub type DdtpTrainer<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    K = Portable,
> = Trainer<
    Fixed<IN, H, OUT, R>,
    Const<1>,
    K,
    crate::gradient::Fused,
    crate::ddtp::DirectLinear<Fixed<IN, H, OUT, R>, Const<1>>,
>;

/// The optimiser state a trainer keeps for its inverses `g_2 … g_{M-1}`: one [`DenseState`]
/// each (`[DenseState; R]` or `Vec<DenseState>`, the default), none ([`NoFeedbackState`]), or
/// DDTP-linear's maps with theirs in place of DTP's ([`DirectLinear`](crate::ddtp::DirectLinear)).
pub trait FeedbackState<H: Dim>
where
    DefaultAllocator: Allocator<H, H> + Allocator<H>,
{
    /// Whether the feedback weights can be trained (otherwise only [`Feedback::Fixed`] is
    /// accepted).
    const TRAINABLE: bool;
    /// Whether this state holds DDTP-linear's maps ([`DirectLinear`](crate::ddtp::DirectLinear):
    /// then only [`Feedback::DdtpLinear`] is accepted).
    const DIRECT: bool = false;
    /// The state of inverse `[k]` (`g_{k+2}`), or `None`.
    fn state_mut(&mut self, k: usize) -> Option<&mut DenseState<H, H>>;
    /// Resets every state to zero.
    fn reset(&mut self);
    /// DDTP-linear's maps, if this state is a [`DirectLinear`](crate::ddtp::DirectLinear) of
    /// layout `L` and batch `B` (`None` by default).
    fn direct_linear<L: Layout<Hidden = H>, B: Dim>(
        &mut self,
    ) -> Option<&mut crate::ddtp::DirectLinear<L, B>>
    where
        DefaultAllocator: Alloc<L, B> + crate::ddtp::DirectAlloc<L::Hidden, L::Out, B>,
    {
        None
    }
}

impl<H: Dim, const R: usize> FeedbackState<H> for [DenseState<H, H>; R]
where
    DefaultAllocator: Allocator<H, H> + Allocator<H>,
{
    const TRAINABLE: bool = true;
    fn state_mut(&mut self, k: usize) -> Option<&mut DenseState<H, H>> {
        self.get_mut(k)
    }
    fn reset(&mut self) {
        self.iter_mut().for_each(DenseState::reset);
    }
}

#[cfg(feature = "alloc")]
impl<H: Dim> FeedbackState<H> for alloc::vec::Vec<DenseState<H, H>>
where
    DefaultAllocator: Allocator<H, H> + Allocator<H>,
{
    const TRAINABLE: bool = true;
    fn state_mut(&mut self, k: usize) -> Option<&mut DenseState<H, H>> {
        self.get_mut(k)
    }
    fn reset(&mut self) {
        self.iter_mut().for_each(DenseState::reset);
    }
}

/// No inverse optimiser state: the feedback weights keep their initial values
/// ([`Feedback::Fixed`], FW-DTP). A zero-sized type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoFeedbackState;

impl<H: Dim> FeedbackState<H> for NoFeedbackState
where
    DefaultAllocator: Allocator<H, H> + Allocator<H>,
{
    const TRAINABLE: bool = false;
    fn state_mut(&mut self, _: usize) -> Option<&mut DenseState<H, H>> {
        None
    }
    fn reset(&mut self) {}
}

/// A trainer whose widths, depth and batch are chosen at run time (feature `alloc`).
#[cfg(feature = "alloc")]
pub type DynTrainer<K = Portable> = Trainer<crate::layout::Dynamic, nalgebra::Dyn, K>;

// SAFETY: every field is made of `f32`s, `u32`s, fieldless `#[repr(u8)]` enums whose
// discriminant 0 exists, `#[repr(u8)]` enums whose variant 0 is fieldless, or `PhantomData`,
// all stored inline (fixed sizes), or zero-sized (`Never`, the fixed layouts' `Layout::Opt`):
// the all-zero bit pattern is a valid value of each.
unsafe impl<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const B: usize,
    K: Kernel,
    S: FixedStore,
    V: FixedStore,
> bytemuck::Zeroable for Trainer<Fixed<IN, H, OUT, R>, Const<B>, K, S, V>
{
}

/// A part of a fixed-size trainer chosen by type — its gradient store (`S`: [`Buffered`] or
/// [`Fused`](crate::gradient::Fused)) or its inverses' optimiser state (`V`: `[DenseState; R]`
/// or [`NoFeedbackState`]) — stored inline, with an all-zero value that is valid and `const`
/// (so [`Trainer::ZERO`] and `bytemuck::Zeroable` cover every combination).
///
/// # Safety
/// The all-zero bit pattern must be a valid value (as for `bytemuck::Zeroable`).
pub unsafe trait FixedStore {
    /// The all-zero value.
    const ZERO: Self;
}

// SAFETY: `f32` matrices stored inline.
unsafe impl<const IN: usize, const H: usize, const OUT: usize, const R: usize> FixedStore
    for Buffered<Fixed<IN, H, OUT, R>>
{
    const ZERO: Self = Buffered::ZERO;
}

// SAFETY: a zero-sized type.
unsafe impl FixedStore for crate::gradient::Fused {
    const ZERO: Self = crate::gradient::Fused;
}

// SAFETY: `f32` matrices stored inline.
unsafe impl<const H: usize, const R: usize> FixedStore for [DenseState<Const<H>, Const<H>>; R] {
    const ZERO: Self = [DenseState::ZERO; R];
}

// SAFETY: a zero-sized type.
unsafe impl FixedStore for NoFeedbackState {
    const ZERO: Self = NoFeedbackState;
}

/// Minibatch buffers: inputs, activations, targets and scratch, all `units × B`.
pub(crate) struct Workspace<L: Layout, B: Dim>
where
    DefaultAllocator: Alloc<L, B>,
{
    /// The input batch `x = h_0` (with input noise added in training).
    pub x: OMat<L::In, B>,
    /// Label targets `t` (one-hot for classification).
    pub t: OMat<L::Out, B>,
    /// Continuous activations `h_1 … h_{M-1}`.
    pub h: Hidden<OMat<L::Hidden, B>, L>,
    /// What the layer above read: `read[k] = q(h[k])` (the output layer reads `read[R]`).
    pub read: Hidden<OMat<L::Hidden, B>, L>,
    /// Output `p = f_M(…)`.
    pub p: OMat<L::Out, B>,
    /// `∂L/∂z_M`, the output pre-activation gradient.
    pub delta_out: OMat<L::Out, B>,
    /// Targets `ĥ_1 … ĥ_{M-1}`.
    pub target: Hidden<OMat<L::Hidden, B>, L>,
    /// Scratch, shared by layers ([`Width::fit`] sizes it to the layer at hand).
    pub s1: OMat<L::Hidden, B>,
    pub s2: OMat<L::Hidden, B>,
    pub s3: OMat<L::Hidden, B>,
    pub s4: OMat<L::Hidden, B>,
    /// The `B` of every batch mean (`(1/B) Σ_b`): 0 for the column count of these buffers
    /// (a whole minibatch), the minibatch's size when they hold one chunk of it.
    pub mean_over: u32,
    /// DDTP's scratch buffers, made on first use ([`direct`](crate::direct)).
    #[cfg(feature = "alloc")]
    pub dd: L::Opt<crate::direct::Scratch>,
}

impl<L: Layout, B: Dim> Workspace<L, B>
where
    DefaultAllocator: Alloc<L, B>,
{
    /// The divisor of batch means.
    pub(crate) fn mean_over(&self) -> f32 {
        if self.mean_over == 0 {
            self.x.ncols() as f32
        } else {
            self.mean_over as f32
        }
    }
}

/// What one training step measured on its minibatch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StepStats {
    /// The global loss `L` of the forward pass.
    pub loss: f32,
    /// Samples of the batch classified correctly (argmax of output = argmax of target).
    pub correct: u32,
}

impl Tally for StepStats {
    fn add(&mut self, other: Self) {
        self.loss += other.loss;
        self.correct += other.correct;
    }
    fn loss(&self) -> f32 {
        self.loss
    }
    fn correct(&self) -> u64 {
        u64::from(self.correct)
    }
}

/// What one epoch measured (averages over the forward-training pass).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EpochStats {
    /// Mean global loss `L` over the batches.
    pub loss: f32,
    /// Training error in [0, 1] over the batches, as measured during training.
    pub error: f32,
    /// Number of batches.
    pub batches: u32,
    /// σ used for inverse training this epoch.
    pub sigma: f32,
}

impl EpochStats {
    /// A pass's figures ([`step::PassTally`]) as an epoch's: the mean loss over its minibatches
    /// and the error over its `batches × batch` samples (σ left 0).
    pub fn from_pass<T: Tally>(pass: &step::PassTally<T>, batch: usize) -> Self {
        let mut total = EpochStats::default();
        let n = pass.batches;
        if n > 0 {
            total.loss = pass.sum.loss() / n as f32;
            total.error = 1.0 - pass.sum.correct() as f32 / (n * batch) as f32;
        }
        total.batches = n as u32;
        total
    }
}

/// A source of minibatches for [`Trainer::train_epoch`].
///
/// `I`, `O` and `B` are the input width, output width and batch dimensions of the trainer
/// (nalgebra dimensions: `Const<N>` or `Dyn`).
pub trait Batches<I: Dim, O: Dim, B: Dim>
where
    DefaultAllocator: Allocator<I, B> + Allocator<O, B>,
{
    /// Number of minibatches in one epoch.
    fn batches(&self) -> usize;
    /// Writes minibatch `index` (`0..batches()`): inputs `x` (`I × B`, one sample a column)
    /// and targets `t` (`O × B`, one-hot for classification).
    fn fill(&mut self, index: usize, x: &mut OMat<I, B>, t: &mut OMat<O, B>);

    /// A view that writes any columns of any minibatch from any thread, when the source has
    /// one: the data-parallel trainer (`parallel::Parallel`, feature `std`) then fills
    /// each chunk of the minibatch on the thread that trains it, instead of [`fill`]ing the
    /// whole minibatch on the caller's thread and copying the chunks out. It must write
    /// exactly what [`fill`] would. `None` (the default) keeps [`fill`].
    ///
    /// [`fill`]: Batches::fill
    fn columns(&self) -> Option<&dyn BatchColumns> {
        None
    }

    /// Called once for each minibatch that was written through [`columns`](Batches::columns)
    /// instead of [`fill`](Batches::fill) (which is then not called for it), in order:
    /// whatever `fill` does besides writing (counting, progress) belongs here too.
    fn filled_elsewhere(&mut self, index: usize) {
        let _ = index;
    }
}

/// Writes columns of a minibatch, from any thread (see [`Batches::columns`]).
pub trait BatchColumns: Sync {
    /// Writes columns `first .. first + n` of minibatch `index` into `x` (`n` samples of the
    /// input width, one after the other: column-major) and their targets into `t` (`n`
    /// columns of the output width), `n` being `x.len()` ÷ the input width.
    fn fill_columns(&self, index: usize, first: usize, x: &mut [f32], t: &mut [f32]);
}

impl<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const B: usize,
    K: Kernel,
    S: FixedStore,
    V: FixedStore,
> Trainer<Fixed<IN, H, OUT, R>, Const<B>, K, S, V>
{
    /// An all-zero, unconfigured trainer, for `static` storage; call [`Trainer::init`].
    pub const ZERO: Self = Trainer {
        config: Config::CONTINUOUS,
        net: Net::ZERO,
        forward_state: NetState::ZERO,
        inverse_state: V::ZERO,
        epoch: 0,
        ws: Workspace {
            x: zeros(),
            t: zeros(),
            h: Hidden {
                first: zeros(),
                rest: [zeros(); R],
            },
            read: Hidden {
                first: zeros(),
                rest: [zeros(); R],
            },
            p: zeros(),
            delta_out: zeros(),
            target: Hidden {
                first: zeros(),
                rest: [zeros(); R],
            },
            s1: zeros(),
            s2: zeros(),
            s3: zeros(),
            s4: zeros(),
            mean_over: 0,
            #[cfg(feature = "alloc")]
            dd: crate::layout::Never::EMPTY,
        },
        grad: S::ZERO,
        local_loss: Hidden::splat(0.0),
        inverse_loss: [0.0; R],
        #[cfg(feature = "alloc")]
        direct_state: crate::layout::Never::EMPTY,
        _kernel: PhantomData,
    };

    /// Builds a trainer by value (on the stack: for small networks only; see [`Trainer::init`]).
    pub fn new<G: Rng + ?Sized>(
        config: Config,
        init: Init,
        rng: &mut G,
    ) -> Result<Self, ConfigError>
    where
        S: GradientStore<Fixed<IN, H, OUT, R>>,
        V: FeedbackState<Const<H>>,
    {
        let mut trainer = Self::ZERO;
        trainer.init(config, init, rng)?;
        Ok(trainer)
    }
}

#[cfg(feature = "alloc")]
impl Workspace<crate::layout::Dynamic, nalgebra::Dyn> {
    /// Buffers for minibatches of `batch` samples through layers of `widths` (checked by the
    /// caller: at least one hidden layer).
    pub(crate) fn with_widths(widths: &[usize], batch: usize) -> Self {
        use alloc::vec::Vec;
        use nalgebra::Dyn;
        let m = widths.len() - 1;
        let b = Dyn(batch);
        let col = |w: usize| OMat::zeros_generic(Dyn(w), b);
        let hidden = || Hidden {
            first: col(widths[1]),
            rest: (2..m).map(|i| col(widths[i])).collect::<Vec<_>>(),
        };
        let widest = widths[1..m].iter().copied().max().unwrap_or(0);
        Workspace {
            x: col(widths[0]),
            t: col(widths[m]),
            h: hidden(),
            read: hidden(),
            p: col(widths[m]),
            delta_out: col(widths[m]),
            target: hidden(),
            s1: col(widest),
            s2: col(widest),
            s3: col(widest),
            s4: col(widest),
            mean_over: 0,
            dd: None,
        }
    }
}

#[cfg(feature = "alloc")]
impl<K: Kernel> Trainer<crate::layout::Dynamic, nalgebra::Dyn, K> {
    /// An all-zero, unconfigured trainer of layer widths `widths` (`[w_0, …, w_M]`: input,
    /// hidden layers, output) and minibatches of `batch`; call [`Trainer::init`].
    ///
    /// # Example
    /// ```
    /// use dtp_core::{Config, DynTrainer, Init, Portable};
    /// use rand_pcg::Pcg32;
    ///
    /// // 20 inputs, hidden layers of 13, 9 and 7 units, 4 classes; minibatches of 5.
    /// let mut t = DynTrainer::<Portable>::with_widths(&[20, 13, 9, 7, 4], 5).unwrap();
    /// t.init(Config::CONTINUOUS, Init::Orthogonal, &mut Pcg32::new(1, 1)).unwrap();
    /// assert_eq!(t.net.widths().collect::<Vec<_>>(), [20, 13, 9, 7, 4]);
    /// assert_eq!((t.net.depth(), t.batch()), (2, 5)); // two inverses: g_2, g_3
    /// assert!(DynTrainer::<Portable>::with_widths(&[20, 4], 5).is_err()); // no hidden layer
    /// ```
    pub fn with_widths(widths: &[usize], batch: usize) -> Result<Self, ConfigError> {
        use nalgebra::{Dyn, U1};
        if batch == 0 {
            return Err(ConfigError::ZeroBatch);
        }
        let net = Net::with_widths(widths)?;
        let m = widths.len() - 1;
        use crate::dense::Dense;
        let dense = |o: usize, i: usize| Dense::zeros_generic(Dyn(o), Dyn(i));
        Ok(Trainer {
            config: Config::CONTINUOUS,
            forward_state: NetState::zeros_like(&net),
            inverse_state: net.inverse.iter().map(DenseState::zeros_like).collect(),
            epoch: 0,
            ws: Workspace::with_widths(widths, batch),
            grad: Buffered {
                first: dense(widths[1], widths[0]),
                hidden: Dense {
                    w: OMat::zeros_generic(Dyn(0), Dyn(0)),
                    b: OMat::zeros_generic(Dyn(0), U1),
                },
                output: dense(widths[m], widths[m - 1]),
            },
            local_loss: Hidden {
                first: 0.0,
                rest: alloc::vec![0.0; m - 2],
            },
            inverse_loss: alloc::vec![0.0; m - 2],
            direct_state: None,
            net,
            _kernel: PhantomData,
        })
    }
}

impl<L: Layout, B: Dim, K: Kernel, S: GradientStore<L>, V: FeedbackState<L::Hidden>>
    Trainer<L, B, K, S, V>
where
    DefaultAllocator: Alloc<L, B>,
{
    /// Configures a trainer in place: validates `config`, initialises the weights by `init`
    /// (biases zero), zeroes both optimiser states and the epoch counter.
    ///
    /// Works on a zero-filled value anywhere in memory, so a large network never passes
    /// through the stack.
    pub fn init<G: Rng + ?Sized>(
        &mut self,
        config: Config,
        init: Init,
        rng: &mut G,
    ) -> Result<(), ConfigError> {
        self.check_shape()?;
        Self::validate(&config)?;
        self.config = config;
        self.shape_direct();
        self.net.initialise(init, rng);
        // DDTP-linear's maps held in place of the inverse state: drawn after the network, as
        // the run-time layout's are.
        if let Some(d) = self.inverse_state.direct_linear::<L, B>() {
            d.initialise(init, rng);
        }
        self.forward_state.reset();
        self.inverse_state.reset();
        #[cfg(feature = "alloc")]
        if let Some(s) = self.direct_state.get_mut() {
            s.reset();
        }
        self.epoch = 0;
        Ok(())
    }

    fn check_shape(&self) -> Result<(), ConfigError> {
        if self.batch() == 0 {
            Err(ConfigError::ZeroBatch)
        } else if self.net.widths().any(|w| w == 0) {
            Err(ConfigError::ZeroWidth)
        } else {
            Ok(())
        }
    }

    /// The minibatch size `B`.
    pub fn batch(&self) -> usize {
        self.ws.x.ncols()
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the hyper-parameters (e.g. a learning-rate schedule), validating them.
    ///
    /// A direct feedback rule (DDTP) gets its feedback weights and their optimiser state here
    /// if the trainer has none of the rule's shapes yet (all zero: load them, or call
    /// [`init`](Self::init)); another rule drops them.
    pub fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        Self::validate(&config)?;
        self.config = config;
        self.shape_direct();
        Ok(())
    }

    /// [`Config::validate`], fixed feedback if this trainer keeps no inverse state, and a
    /// run-time layout for direct feedback.
    fn validate(config: &Config) -> Result<(), ConfigError> {
        config.validate()?;
        if !V::TRAINABLE && config.feedback != Feedback::Fixed {
            return Err(ConfigError::FeedbackNotTrainable);
        }
        if V::DIRECT && config.feedback != Feedback::DdtpLinear {
            return Err(ConfigError::TrainerIsDdtpLinear);
        }
        if config.feedback.reads_output() && !Self::run_time() && !V::DIRECT {
            return Err(ConfigError::DirectNeedsRunTimeLayout);
        }
        Ok(())
    }

    /// Whether this is the run-time layout's trainer (`Dynamic` widths and batch), the one
    /// that holds DDTP's feedback weights.
    #[cfg(feature = "alloc")]
    fn run_time() -> bool {
        use core::any::TypeId;
        TypeId::of::<L>() == TypeId::of::<crate::layout::Dynamic>()
            && TypeId::of::<B>() == TypeId::of::<nalgebra::Dyn>()
    }

    #[cfg(not(feature = "alloc"))]
    fn run_time() -> bool {
        false
    }

    /// Gives the net DDTP's feedback weights (and the trainer their optimiser state) of the
    /// configured rule's shapes when it has none, or drops them for another rule.
    #[cfg(feature = "alloc")]
    fn shape_direct(&mut self) {
        use crate::direct::{Direct, DirectState};
        let rule = self.config.feedback;
        if !rule.reads_output() {
            self.net.direct.put(None);
            self.direct_state.put(None);
            return;
        }
        let widths: alloc::vec::Vec<usize> = self.net.widths().collect();
        if !self.net.direct.get().is_some_and(|d| d.fits(rule, &widths)) {
            self.net.direct.put(Some(Direct::zeros(rule, &widths)));
        }
        let Some(direct) = self.net.direct.get() else {
            return; // a fixed layout, refused by `validate`
        };
        if !self.direct_state.get().is_some_and(|s| s.fits(direct)) {
            let state = DirectState::zeros_like(direct);
            self.direct_state.put(Some(state));
        }
    }

    #[cfg(not(feature = "alloc"))]
    fn shape_direct(&mut self) {}

    /// The input batch buffer `x` (`IN × B`): write a minibatch here before a step.
    pub fn input_mut(&mut self) -> &mut OMat<L::In, B> {
        &mut self.ws.x
    }

    /// The label-target buffer `t` (`OUT × B`): write a minibatch here before a step.
    pub fn labels_mut(&mut self) -> &mut OMat<L::Out, B> {
        &mut self.ws.t
    }

    /// Both batch buffers at once.
    #[allow(clippy::type_complexity)]
    pub fn batch_mut(&mut self) -> (&mut OMat<L::In, B>, &mut OMat<L::Out, B>) {
        (&mut self.ws.x, &mut self.ws.t)
    }

    /// The output `p` of the last forward pass (`OUT × B`).
    pub fn output(&self) -> &OMat<L::Out, B> {
        &self.ws.p
    }

    /// The continuous activations `h_1 … h_{M-1}` of the last forward pass.
    pub fn activations(&self) -> &Hidden<OMat<L::Hidden, B>, L> {
        &self.ws.h
    }

    /// The targets `ĥ_1 … ĥ_{M-1}` of the last target computation.
    pub fn targets(&self) -> &Hidden<OMat<L::Hidden, B>, L> {
        &self.ws.target
    }

    /// Mutable targets, for experiments that set a target by hand.
    pub fn targets_mut(&mut self) -> &mut Hidden<OMat<L::Hidden, B>, L> {
        &mut self.ws.target
    }

    /// σ of inverse training for the current epoch (`epoch + 1`, 1-based).
    pub fn sigma(&self) -> f32 {
        self.config.sigma.at(self.epoch.saturating_add(1))
    }

    /// Checks that the batch in the buffers is finite.
    pub(crate) fn check_batch(&self) -> Result<(), Error> {
        check_finite(self.ws.x.as_slice(), Stage::Input, 0)?;
        check_finite(self.ws.t.as_slice(), Stage::Labels, 0)
    }

    /// Evaluates the batch in the buffers without training (no input noise): the forward pass
    /// only ([`step::evaluate`]). Returns the loss and the number of correct samples.
    pub fn evaluate<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        step::evaluate(self, rng)
    }

    /// One DTP step on the batch in the buffers, inverse then forward (the interleaved
    /// schedule), by the step driver ([`step::step`]): [`forward`](Self::forward),
    /// [`feedback_step`](Self::feedback_step) (the configured rule: DTP's
    /// [`inverse_step`](Self::inverse_step), DRL's [`drl_step`](Self::drl_step), or none for
    /// fixed feedback weights), [`top_target`](Self::top_target),
    /// [`difference_targets`](Self::difference_targets) (with the updated inverses),
    /// [`forward_step`](Self::forward_step).
    ///
    /// It does not advance [`epoch`](Self::epoch), which the learning-rate decay and σ's
    /// schedule read: one sample at a time, step through a
    /// [`SampleClock`](crate::SampleClock) (or set `epoch` yourself).
    pub fn step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        step::step(self, rng)
    }

    /// The inverse half of a step on the batch in the buffers ([`step::inverse_only`]):
    /// forward pass, inverse update by the configured rule
    /// ([`feedback_step`](Self::feedback_step)).
    pub fn inverse_only<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        step::inverse_only(self, Pass::Training, rng)
    }

    /// The forward half of a step on the batch in the buffers ([`step::forward_only`]):
    /// forward pass, targets, forward update.
    pub fn forward_only<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        step::forward_only(self, rng)
    }

    /// One epoch of DTP over `data` following the configured [`Schedule`](crate::Schedule) ([`step::epoch`]),
    /// then advances the epoch counter. Stops at the first error, leaving the epoch counter
    /// unchanged. With fixed feedback weights ([`Feedback::Fixed`]) the alternating schedule
    /// skips its inverse pass: one pass of forward steps.
    pub fn train_epoch<D, G>(&mut self, data: &mut D, rng: &mut G) -> Result<EpochStats, Error>
    where
        D: Batches<L::In, L::Out, B> + ?Sized,
        G: Rng + ?Sized,
    {
        self.train_epoch_with(data, FeedbackPasses::NONE, rng)
    }

    /// [`train_epoch`](Self::train_epoch) with `feedback` passes of the feedback step alone
    /// before and after the epoch's training ([`FeedbackPasses`]; none for fixed feedback
    /// weights); the returned figures are the training passes'. σ is the epoch's in all of
    /// them. [`FeedbackPasses::NONE`] is [`train_epoch`](Self::train_epoch).
    pub fn train_epoch_with<D, G>(
        &mut self,
        data: &mut D,
        feedback_passes: FeedbackPasses,
        rng: &mut G,
    ) -> Result<EpochStats, Error>
    where
        D: Batches<L::In, L::Out, B> + ?Sized,
        G: Rng + ?Sized,
    {
        let sigma = self.sigma();
        let (schedule, feedback) = (self.config.schedule, self.config.feedback);
        let trains_feedback = feedback != Feedback::Fixed;
        let n = data.batches();
        let load = |t: &mut Self, index| {
            data.fill(index, &mut t.ws.x, &mut t.ws.t);
            Ok(())
        };
        let tally = step::epoch(
            self,
            schedule,
            trains_feedback,
            feedback_passes,
            n,
            rng,
            load,
        )?;
        let mut stats = EpochStats::from_pass(&tally, self.batch());
        stats.sigma = sigma;
        self.epoch = self.epoch.saturating_add(1);
        Ok(stats)
    }

    /// One epoch of backprop over `data` (the baseline), then advances the epoch counter.
    pub fn backprop_epoch<D, G>(
        &mut self,
        data: &mut D,
        gradient: crate::Gradient,
        rng: &mut G,
    ) -> Result<EpochStats, Error>
    where
        D: Batches<L::In, L::Out, B> + ?Sized,
        G: Rng + ?Sized,
    {
        let n = data.batches();
        let load = |t: &mut Self, index| {
            data.fill(index, &mut t.ws.x, &mut t.ws.t);
            Ok(())
        };
        let tally = step::pass(self, n, rng, load, |t, r| t.backprop_step(gradient, r))?;
        self.epoch = self.epoch.saturating_add(1);
        Ok(EpochStats::from_pass(&tally, self.batch()))
    }
}

/// The whole-minibatch executor of the step driver: each step on the trainer's own buffers,
/// each layer's gradient applied as soon as it is formed (through the gradient store `S`).
impl<L: Layout, B: Dim, K: Kernel, S: GradientStore<L>, V: FeedbackState<L::Hidden>> Steps
    for Trainer<L, B, K, S, V>
where
    DefaultAllocator: Alloc<L, B>,
{
    type Stats = StepStats;

    fn forward<G: Rng + ?Sized>(&mut self, pass: Pass, rng: &mut G) -> Result<StepStats, Error> {
        self.check_batch()?;
        let (net, config) = (&self.net, &self.config);
        if pass == Pass::Feedback && config.feedback == Feedback::Dtp {
            self.ws.forward_for_inverses::<K, G>(net, config, rng);
            Ok(StepStats::default())
        } else {
            self.ws.forward::<K, G>(net, config, pass.training(), rng)
        }
    }

    fn feedback_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        Trainer::feedback_step(self, self.sigma(), rng)
    }

    fn top_target(&mut self) -> Result<(), Error> {
        Trainer::top_target(self)
    }

    fn difference_targets<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        Trainer::difference_targets(self, rng)
    }

    fn forward_step(&mut self) -> Result<(), Error> {
        Trainer::forward_step(self)
    }

    fn measured(&mut self, forward: StepStats) -> Result<StepStats, Error> {
        Ok(forward)
    }
}
