//! [`Trainer`]: a network with its optimiser state and minibatch buffers, and the epoch loop.

use crate::config::{Config, Init, Schedule};
use crate::dense::Dense;
use crate::error::{ConfigError, Error, Stage, check_finite};
use crate::hidden::Hidden;
use crate::kernel::{Kernel, Portable};
use crate::net::Net;
use crate::optim::NetState;
use crate::{Mat, zeros};
use core::marker::PhantomData;
use rand_core::Rng;

/// Everything needed to train a [`Net`] with minibatches of `B` samples by DTP or backprop:
/// parameters, separate forward and inverse optimiser state, and every buffer a step uses.
///
/// Per-sample training (a microcontroller) is `B = 1`. `K` selects the matrix kernel
/// ([`Portable`] by default).
///
/// Nothing here allocates. A small trainer can be built on the stack with [`Trainer::new`]
/// or live in a `static` initialised from [`Trainer::ZERO`]; a large one (the paper's
/// 784-240×7-10 with `B = 100` is about 20 MB) is zero-filled on the heap by the caller,
/// e.g. `bytemuck::zeroed_box()`, then set up in place by [`Trainer::init`].
pub struct Trainer<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const B: usize,
    K: Kernel = Portable,
> {
    pub(crate) config: Config,
    /// Forward and inverse parameters.
    pub net: Net<IN, H, OUT, R>,
    /// Optimiser state of the forward layers (also used by backprop).
    pub forward_state: NetState<IN, H, OUT, R>,
    /// Optimiser state of the inverses (`hidden[k]` belongs to `g_{k+2}`).
    pub inverse_state: NetState<IN, H, OUT, R>,
    /// Completed epochs; σ of inverse training uses epoch `epoch + 1`.
    pub epoch: u32,
    pub(crate) ws: Workspace<IN, H, OUT, R, B>,
    pub(crate) grad: Grads<IN, H, OUT>,
    /// Local loss of each hidden layer at the last forward step.
    pub local_loss: Hidden<f32, R>,
    /// Reconstruction loss of each inverse at the last inverse step (`[k]` is `g_{k+2}`).
    pub inverse_loss: [f32; R],
    _kernel: PhantomData<K>,
}

// SAFETY: every field is made of `f32`s, `u32`s, fieldless `#[repr(u8)]` enums whose
// discriminant 0 exists, `#[repr(u8)]` enums whose variant 0 is fieldless, or `PhantomData`:
// the all-zero bit pattern is a valid value of each.
unsafe impl<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const B: usize,
    K: Kernel,
> bytemuck::Zeroable for Trainer<IN, H, OUT, R, B, K>
{
}

/// Minibatch buffers: inputs, activations, targets and scratch, all `units × B`.
pub(crate) struct Workspace<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const B: usize,
> {
    /// The input batch `x = h_0` (with input noise added in training).
    pub x: Mat<IN, B>,
    /// Label targets `t` (one-hot for classification).
    pub t: Mat<OUT, B>,
    /// Continuous activations `h_1 … h_{M-1}`.
    pub h: Hidden<Mat<H, B>, R>,
    /// What the layer above read: `read[k] = q(h[k])` (the output layer reads `read[R]`).
    pub read: Hidden<Mat<H, B>, R>,
    /// Output `p = f_M(…)`.
    pub p: Mat<OUT, B>,
    /// `∂L/∂z_M`, the output pre-activation gradient.
    pub delta_out: Mat<OUT, B>,
    /// Targets `ĥ_1 … ĥ_{M-1}`.
    pub target: Hidden<Mat<H, B>, R>,
    /// Scratch.
    pub s1: Mat<H, B>,
    pub s2: Mat<H, B>,
    pub s3: Mat<H, B>,
    pub s4: Mat<H, B>,
}

/// One gradient buffer per layer shape (a layer's gradient is applied before the next).
pub(crate) struct Grads<const IN: usize, const H: usize, const OUT: usize> {
    pub first: Dense<H, IN>,
    pub hidden: Dense<H, H>,
    pub output: Dense<OUT, H>,
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

/// A source of minibatches for [`Trainer::train_epoch`].
pub trait Batches<const IN: usize, const OUT: usize, const B: usize> {
    /// Number of minibatches in one epoch.
    fn batches(&self) -> usize;
    /// Writes minibatch `index` (`0..batches()`): inputs `x` (`IN × B`, one sample a column)
    /// and targets `t` (`OUT × B`, one-hot for classification).
    fn fill(&mut self, index: usize, x: &mut Mat<IN, B>, t: &mut Mat<OUT, B>);
}

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize, const B: usize, K: Kernel>
    Trainer<IN, H, OUT, R, B, K>
{
    /// An all-zero, unconfigured trainer, for `static` storage; call [`Trainer::init`].
    pub const ZERO: Self = Trainer {
        config: Config::CONTINUOUS,
        net: Net::ZERO,
        forward_state: NetState::ZERO,
        inverse_state: NetState::ZERO,
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
        },
        grad: Grads {
            first: Dense::ZERO,
            hidden: Dense::ZERO,
            output: Dense::ZERO,
        },
        local_loss: Hidden::splat(0.0),
        inverse_loss: [0.0; R],
        _kernel: PhantomData,
    };

    /// Builds a trainer by value (on the stack: for small networks only; see [`Trainer::init`]).
    pub fn new<G: Rng + ?Sized>(
        config: Config,
        init: Init,
        rng: &mut G,
    ) -> Result<Self, ConfigError> {
        let mut trainer = Self::ZERO;
        trainer.init(config, init, rng)?;
        Ok(trainer)
    }

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
        Self::check_shape()?;
        config.validate()?;
        self.config = config;
        self.net.initialise(init, rng);
        self.forward_state.reset();
        self.inverse_state.reset();
        self.epoch = 0;
        Ok(())
    }

    fn check_shape() -> Result<(), ConfigError> {
        if B == 0 {
            Err(ConfigError::ZeroBatch)
        } else if IN == 0 || H == 0 || OUT == 0 {
            Err(ConfigError::ZeroWidth)
        } else {
            Ok(())
        }
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the hyper-parameters (e.g. a learning-rate schedule), validating them.
    pub fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// The input batch buffer `x` (`IN × B`): write a minibatch here before a step.
    pub fn input_mut(&mut self) -> &mut Mat<IN, B> {
        &mut self.ws.x
    }

    /// The label-target buffer `t` (`OUT × B`): write a minibatch here before a step.
    pub fn labels_mut(&mut self) -> &mut Mat<OUT, B> {
        &mut self.ws.t
    }

    /// Both batch buffers at once.
    pub fn batch_mut(&mut self) -> (&mut Mat<IN, B>, &mut Mat<OUT, B>) {
        (&mut self.ws.x, &mut self.ws.t)
    }

    /// The output `p` of the last forward pass (`OUT × B`).
    pub fn output(&self) -> &Mat<OUT, B> {
        &self.ws.p
    }

    /// The continuous activations `h_1 … h_{M-1}` of the last forward pass.
    pub fn activations(&self) -> &Hidden<Mat<H, B>, R> {
        &self.ws.h
    }

    /// The targets `ĥ_1 … ĥ_{M-1}` of the last target computation.
    pub fn targets(&self) -> &Hidden<Mat<H, B>, R> {
        &self.ws.target
    }

    /// Mutable targets, for experiments that set a target by hand.
    pub fn targets_mut(&mut self) -> &mut Hidden<Mat<H, B>, R> {
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
    /// only. Returns the loss and the number of correct samples.
    pub fn evaluate<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        self.check_batch()?;
        self.forward(false, rng)
    }

    /// One DTP step on the batch in the buffers, inverse then forward (the interleaved
    /// schedule): [`forward`](Self::forward), [`inverse_step`](Self::inverse_step),
    /// [`top_target`](Self::top_target), [`difference_targets`](Self::difference_targets)
    /// (with the updated inverses), [`forward_step`](Self::forward_step).
    pub fn step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        self.check_batch()?;
        let stats = self.forward(true, rng)?;
        self.inverse_step(self.sigma(), rng)?;
        self.top_target()?;
        self.difference_targets(rng)?;
        self.forward_step()?;
        Ok(stats)
    }

    /// The inverse half of a step on the batch in the buffers: forward pass, inverse update.
    pub fn inverse_only<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        self.check_batch()?;
        let stats = self.forward(true, rng)?;
        self.inverse_step(self.sigma(), rng)?;
        Ok(stats)
    }

    /// The forward half of a step on the batch in the buffers: forward pass, targets,
    /// forward update.
    pub fn forward_only<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        self.check_batch()?;
        let stats = self.forward(true, rng)?;
        self.top_target()?;
        self.difference_targets(rng)?;
        self.forward_step()?;
        Ok(stats)
    }

    /// One epoch of DTP over `data` following the configured [`Schedule`], then advances the
    /// epoch counter. Stops at the first error, leaving the epoch counter unchanged.
    pub fn train_epoch<D, G>(&mut self, data: &mut D, rng: &mut G) -> Result<EpochStats, Error>
    where
        D: Batches<IN, OUT, B> + ?Sized,
        G: Rng + ?Sized,
    {
        let sigma = self.sigma();
        if self.config.schedule == Schedule::Alternating {
            self.pass(data, rng, |t, r| t.inverse_only(r))?;
        }
        let mut stats = self.pass(data, rng, |t, r| match t.config.schedule {
            Schedule::Alternating => t.forward_only(r),
            Schedule::Interleaved => t.step(r),
        })?;
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
        D: Batches<IN, OUT, B> + ?Sized,
        G: Rng + ?Sized,
    {
        let stats = self.pass(data, rng, |t, r| t.backprop_step(gradient, r))?;
        self.epoch = self.epoch.saturating_add(1);
        Ok(stats)
    }

    /// One pass over `data`: fills each minibatch and runs `step` on it; returns the mean loss
    /// and the error over the pass (σ left 0).
    fn pass<D, G>(
        &mut self,
        data: &mut D,
        rng: &mut G,
        mut step: impl FnMut(&mut Self, &mut G) -> Result<StepStats, Error>,
    ) -> Result<EpochStats, Error>
    where
        D: Batches<IN, OUT, B> + ?Sized,
        G: Rng + ?Sized,
    {
        let n = data.batches();
        let mut total = EpochStats::default();
        let mut correct = 0u64;
        for index in 0..n {
            data.fill(index, &mut self.ws.x, &mut self.ws.t);
            let stats = step(self, rng)?;
            total.loss += stats.loss;
            correct += stats.correct as u64;
        }
        if n > 0 {
            total.loss /= n as f32;
            total.error = 1.0 - correct as f32 / (n * B) as f32;
        }
        total.batches = n as u32;
        Ok(total)
    }
}
