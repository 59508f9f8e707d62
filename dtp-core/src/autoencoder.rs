//! A denoising auto-encoder trained by difference target propagation, without backprop
//! (section 4.4 of the paper): the encoder `f` and the decoder `g` are each other's
//! approximate inverse, so the decoder's target (the clean input) is carried back to the
//! hidden layer through `f`.

use crate::Init;
use crate::activation::Activation;
use crate::dense::Dense;
use crate::error::{ConfigError, Error, Stage, check_finite};
use crate::init::fill;
use crate::kernel::{Kernel, Portable};
use crate::mat::{OMat, zeros};
use crate::noise::{add_gaussian, uniform};
use crate::optim::{DenseState, Optimiser};
use core::marker::PhantomData;
use nalgebra::allocator::Allocator;
use nalgebra::{Const, DefaultAllocator, Dim};
use rand_core::Rng;

/// Hyper-parameters of [`Autoencoder`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AutoencoderConfig {
    /// Activation of the code `h = s(W x̃ + b)`.
    pub encoder: Activation,
    /// Activation of the reconstruction `x̂ = s(V h + c)` (sigmoid for pixels in [0, 1]).
    pub decoder: Activation,
    /// σ of the Gaussian input corruption `x̃ = m ⊙ x + ε`.
    pub corruption: f32,
    /// Masking corruption (Vincent et al.'s masking noise): the fraction `p` of input values
    /// set to 0 before the Gaussian noise, `x̃ = m ⊙ x + ε` with `m_j = 0` where the `j`-th
    /// [`uniform`] draw of the step is below `p` (one draw per value,
    /// in storage order, before the Gaussian draws), else 1. `0` takes no draws.
    pub mask: f32,
    /// Tied weights (Vincent et al.'s denoising auto-encoder): the decoder's weights are the
    /// encoder's transpose, `V = Wᵀ`, kept so after every step; `W` steps on the sum of the
    /// encoder's and the decoder's gradients (`∂/∂W + (∂/∂V)ᵀ`) with the encoder's optimiser,
    /// and the decoder's optimiser moves its bias `c` alone.
    pub tied: bool,
    /// Optimiser of the encoder `(W, b)`.
    pub encoder_opt: Optimiser,
    /// Optimiser of the decoder `(V, c)`.
    pub decoder_opt: Optimiser,
}

impl AutoencoderConfig {
    /// Sigmoid code and reconstruction, σ = 0.3, RMSprop at 10⁻³ for both halves.
    pub const DEFAULT: Self = AutoencoderConfig {
        encoder: Activation::Sigmoid,
        decoder: Activation::Sigmoid,
        corruption: 0.3,
        mask: 0.0,
        tied: false,
        encoder_opt: Optimiser::rmsprop(1e-3),
        decoder_opt: Optimiser::rmsprop(1e-3),
    };

    fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..1.0).contains(&self.mask) {
            return Err(ConfigError::OutOfRange {
                name: "input_mask",
                value: self.mask,
                allowed: "[0, 1)",
            });
        }
        let mut c = crate::Config::CONTINUOUS;
        c.forward = self.encoder_opt;
        c.inverse = self.decoder_opt;
        c.input_noise = self.corruption;
        c.validate()
    }
}

/// The allocator bounds of an `I → H → I` auto-encoder with minibatches of `B`.
pub trait AeAlloc<I: Dim, H: Dim, B: Dim>:
    Allocator<H, I> + Allocator<I, H> + Allocator<H> + Allocator<I> + Allocator<I, B> + Allocator<H, B>
{
}

impl<I: Dim, H: Dim, B: Dim, A> AeAlloc<I, H, B> for A where
    A: Allocator<H, I>
        + Allocator<I, H>
        + Allocator<H>
        + Allocator<I>
        + Allocator<I, B>
        + Allocator<H, B>
{
}

/// An `IN → H → IN` denoising auto-encoder with minibatches of `B`, trained by DTP. The
/// dimensions are nalgebra's: `Const<N>` (fixed, see [`FixedAutoencoder`]) or `Dyn`.
pub struct Autoencoder<IN: Dim, H: Dim, B: Dim, K: Kernel = Portable>
where
    DefaultAllocator: AeAlloc<IN, H, B>,
{
    config: AutoencoderConfig,
    /// The encoder `f(x) = s(W x + b)`.
    pub encoder: Dense<H, IN>,
    /// The decoder `g(h) = s(V h + c)`.
    pub decoder: Dense<IN, H>,
    /// Optimiser state of the encoder.
    pub encoder_state: DenseState<H, IN>,
    /// Optimiser state of the decoder.
    pub decoder_state: DenseState<IN, H>,
    /// Reconstruction loss `(1/B) Σ ‖g(h) − x‖²` of the last step.
    pub reconstruction_loss: f32,
    /// Local loss `(1/B) Σ ‖f(x̃) − ĥ‖²` of the encoder at the last step.
    pub encoder_loss: f32,
    x: OMat<IN, B>,
    noisy: OMat<IN, B>,
    reconstruction: OMat<IN, B>,
    delta_x: OMat<IN, B>,
    h: OMat<H, B>,
    f_clean: OMat<H, B>,
    f_reconstruction: OMat<H, B>,
    target: OMat<H, B>,
    delta_h: OMat<H, B>,
    grad_encoder: Dense<H, IN>,
    grad_decoder: Dense<IN, H>,
    _kernel: PhantomData<K>,
}

/// An auto-encoder whose sizes are fixed at compile time (allocation-free, `static`-able).
pub type FixedAutoencoder<const IN: usize, const H: usize, const B: usize, K = Portable> =
    Autoencoder<Const<IN>, Const<H>, Const<B>, K>;

// SAFETY: only inline `f32` matrices, `#[repr(u8)]` enums with a variant 0, and `PhantomData`.
unsafe impl<const IN: usize, const H: usize, const B: usize, K: Kernel> bytemuck::Zeroable
    for FixedAutoencoder<IN, H, B, K>
{
}

impl<const IN: usize, const H: usize, const B: usize, K: Kernel> FixedAutoencoder<IN, H, B, K> {
    /// An all-zero, unconfigured auto-encoder (for `static` storage); call [`Self::init`].
    pub const ZERO: Self = Autoencoder {
        config: AutoencoderConfig::DEFAULT,
        encoder: Dense::ZERO,
        decoder: Dense::ZERO,
        encoder_state: DenseState::ZERO,
        decoder_state: DenseState::ZERO,
        reconstruction_loss: 0.0,
        encoder_loss: 0.0,
        x: zeros(),
        noisy: zeros(),
        reconstruction: zeros(),
        delta_x: zeros(),
        h: zeros(),
        f_clean: zeros(),
        f_reconstruction: zeros(),
        target: zeros(),
        delta_h: zeros(),
        grad_encoder: Dense::ZERO,
        grad_decoder: Dense::ZERO,
        _kernel: PhantomData,
    };
}

#[cfg(feature = "alloc")]
impl<K: Kernel> Autoencoder<nalgebra::Dyn, nalgebra::Dyn, nalgebra::Dyn, K> {
    /// An all-zero, unconfigured `inputs → hidden → inputs` auto-encoder with minibatches of
    /// `batch`, sized at run time; call [`Self::init`].
    pub fn with_widths(inputs: usize, hidden: usize, batch: usize) -> Self {
        use nalgebra::Dyn;
        let (i, h, b) = (Dyn(inputs), Dyn(hidden), Dyn(batch));
        Autoencoder {
            config: AutoencoderConfig::DEFAULT,
            encoder: Dense::zeros_generic(h, i),
            decoder: Dense::zeros_generic(i, h),
            encoder_state: DenseState::zeros_generic_shape(h, i),
            decoder_state: DenseState::zeros_generic_shape(i, h),
            reconstruction_loss: 0.0,
            encoder_loss: 0.0,
            x: OMat::zeros_generic(i, b),
            noisy: OMat::zeros_generic(i, b),
            reconstruction: OMat::zeros_generic(i, b),
            delta_x: OMat::zeros_generic(i, b),
            h: OMat::zeros_generic(h, b),
            f_clean: OMat::zeros_generic(h, b),
            f_reconstruction: OMat::zeros_generic(h, b),
            target: OMat::zeros_generic(h, b),
            delta_h: OMat::zeros_generic(h, b),
            grad_encoder: Dense::zeros_generic(h, i),
            grad_decoder: Dense::zeros_generic(i, h),
            _kernel: PhantomData,
        }
    }
}

impl<IN: Dim, H: Dim, B: Dim, K: Kernel> Autoencoder<IN, H, B, K>
where
    DefaultAllocator: AeAlloc<IN, H, B>,
{
    /// Validates `config`, initialises both weight matrices by `init` (biases zero) and
    /// zeroes the optimiser state, in place.
    pub fn init<G: Rng + ?Sized>(
        &mut self,
        config: AutoencoderConfig,
        init: Init,
        rng: &mut G,
    ) -> Result<(), ConfigError> {
        if self.x.ncols() == 0 {
            return Err(ConfigError::ZeroBatch);
        }
        if self.x.nrows() == 0 || self.h.nrows() == 0 {
            return Err(ConfigError::ZeroWidth);
        }
        config.validate()?;
        self.config = config;
        fill(init, &mut self.encoder.w, rng);
        fill(init, &mut self.decoder.w, rng);
        if config.tied {
            // The decoder's draws are taken all the same, so the encoder's start and the
            // noise that follows do not depend on `tied`.
            self.tie_decoder();
        }
        self.encoder.b.fill(0.0);
        self.decoder.b.fill(0.0);
        self.encoder_state.reset();
        self.decoder_state.reset();
        Ok(())
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AutoencoderConfig {
        &self.config
    }

    /// Replaces the hyper-parameters (validated), keeping weights and optimiser state (e.g.
    /// after loading a checkpoint into a zeroed auto-encoder); with [tied
    /// weights](AutoencoderConfig::tied) the decoder's weights are set to `Wᵀ` (a no-op for
    /// weights that were trained tied).
    pub fn set_config(&mut self, config: AutoencoderConfig) -> Result<(), ConfigError> {
        config.validate()?;
        self.config = config;
        if config.tied {
            self.tie_decoder();
        }
        Ok(())
    }

    /// The input batch buffer (`IN × B`, one sample a column): write a batch here.
    pub fn input_mut(&mut self) -> &mut OMat<IN, B> {
        &mut self.x
    }

    /// The codes `h` of the last pass.
    pub fn codes(&self) -> &OMat<H, B> {
        &self.h
    }

    /// The reconstructions `x̂ = g(h)` of the last pass.
    pub fn reconstruction(&self) -> &OMat<IN, B> {
        &self.reconstruction
    }

    /// The corrupted input `x̃` of the last training step (masked, then noised).
    pub fn corrupted_input(&self) -> &OMat<IN, B> {
        &self.noisy
    }

    /// The hidden targets `ĥ` of the last step.
    pub fn targets(&self) -> &OMat<H, B> {
        &self.target
    }

    /// Encodes and decodes the batch without corruption or training; returns the
    /// reconstruction loss.
    pub fn evaluate(&mut self) -> Result<f32, Error> {
        check_finite(self.x.as_slice(), Stage::Input, 0)?;
        self.encoder
            .forward::<K, B>(self.config.encoder, &self.x, &mut self.h);
        self.decoder
            .forward::<K, B>(self.config.decoder, &self.h, &mut self.reconstruction);
        let loss = (&self.reconstruction - &self.x).norm_squared() / self.x.ncols() as f32;
        if loss.is_finite() {
            Ok(loss)
        } else {
            Err(Error::NonFinite {
                stage: Stage::Forward,
                layer: 2,
            })
        }
    }

    /// One training step on the batch in the buffer:
    /// 1. `x̃ = x + ε`, `ε ~ N(0, σ²)`; `h = f(x̃)`; `x̂ = g(h)`;
    /// 2. target `ĥ = h + (f(x) − f(x̂))`: the decoder's target, the clean `x`, carried back
    ///    through `f`, the approximate inverse of `g` (with an uncorrupted code,
    ///    `f(x) = h` and `ĥ = 2h − f(g(h))`);
    /// 3. the decoder steps on `(1/B) Σ ‖g(h) − x‖²` with `h` held constant;
    /// 4. the encoder steps on `(1/B) Σ ‖f(x̃) − ĥ‖²` with `ĥ` held constant.
    ///
    /// With [tied weights](AutoencoderConfig::tied), `W` takes one step on the sum of both
    /// losses' gradients, the encoder's and the decoder's transposed (each loss's own, with
    /// the other's terms held constant as above), and `V = Wᵀ` after it.
    ///
    /// Returns the reconstruction loss before the update.
    pub fn step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<f32, Error> {
        let c = self.config;
        self.corrupted_pass(rng)?;

        self.encoder
            .forward::<K, B>(c.encoder, &self.x, &mut self.f_clean);
        self.encoder
            .forward::<K, B>(c.encoder, &self.reconstruction, &mut self.f_reconstruction);
        for ((t, &h), (&fx, &fr)) in self
            .target
            .as_mut_slice()
            .iter_mut()
            .zip(self.h.as_slice())
            .zip(
                self.f_clean
                    .as_slice()
                    .iter()
                    .zip(self.f_reconstruction.as_slice()),
            )
        {
            *t = h + (fx - fr);
        }
        check_finite(self.target.as_slice(), Stage::Target, 1)?;

        self.reconstruction_loss = Dense::local_gradient::<K, B>(
            c.decoder,
            &self.h,
            &self.reconstruction,
            &self.x,
            &mut self.delta_x,
            &mut self.grad_decoder,
        );
        self.encoder_loss = Dense::local_gradient::<K, B>(
            c.encoder,
            &self.noisy,
            &self.h,
            &self.target,
            &mut self.delta_h,
            &mut self.grad_encoder,
        );
        self.apply_gradients()?;
        Ok(self.reconstruction_loss)
    }

    /// Applies both halves' gradients: the decoder's optimiser to `(V, c)`, then the
    /// encoder's to `(W, b)`; with [tied weights](AutoencoderConfig::tied) the decoder's
    /// weight gradient is first added, transposed, to the encoder's (and zeroed, so the
    /// decoder's optimiser moves `c` alone), and `V = Wᵀ` is restored after the update.
    fn apply_gradients(&mut self) -> Result<(), Error> {
        let c = self.config;
        if c.tied {
            let (ge, gd) = (&mut self.grad_encoder.w, &mut self.grad_decoder.w);
            for j in 0..ge.ncols() {
                for i in 0..ge.nrows() {
                    ge[(i, j)] += gd[(j, i)];
                }
            }
            gd.fill(0.0);
        }
        crate::dtp::apply(
            &c.decoder_opt,
            &mut self.decoder,
            &self.grad_decoder,
            &mut self.decoder_state,
            2,
        )?;
        crate::dtp::apply(
            &c.encoder_opt,
            &mut self.encoder,
            &self.grad_encoder,
            &mut self.encoder_state,
            1,
        )?;
        if c.tied {
            self.tie_decoder();
        }
        Ok(())
    }

    /// `V = Wᵀ`: the decoder's weights made the encoder's transpose.
    fn tie_decoder(&mut self) {
        self.encoder.w.transpose_to(&mut self.decoder.w);
    }

    /// `x̃ = m ⊙ x + ε` (mask `m` at rate [`AutoencoderConfig::mask`], `ε ~ N(0, σ²)`);
    /// `h = f(x̃)`; `x̂ = g(h)` (the start of both training steps).
    fn corrupted_pass<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        let c = self.config;
        check_finite(self.x.as_slice(), Stage::Input, 0)?;
        self.noisy.as_mut_slice().copy_from_slice(self.x.as_slice());
        if c.mask > 0.0 {
            for v in self.noisy.as_mut_slice() {
                if uniform(rng) < c.mask {
                    *v = 0.0;
                }
            }
        }
        add_gaussian(self.noisy.as_mut_slice(), c.corruption, rng);
        self.encoder
            .forward::<K, B>(c.encoder, &self.noisy, &mut self.h);
        self.decoder
            .forward::<K, B>(c.decoder, &self.h, &mut self.reconstruction);
        check_finite(self.reconstruction.as_slice(), Stage::Forward, 2)
    }

    /// One step of ordinary backpropagation on the same denoising loss (the baseline the
    /// paper compares the DTP auto-encoder with):
    /// 1. `x̃ = x + ε`; `h = f(x̃)`; `x̂ = g(h)` (the same noise draws as [`Self::step`]);
    /// 2. `ℓ = (1/B) Σ ‖g(f(x̃)) − x‖²`; the decoder's `δ_x = (2/B)(x̂ − x) ⊙ s'(x̂)`;
    /// 3. the encoder's `δ_h = (Vᵀ δ_x) ⊙ s'(h)`: the exact gradient through the decoder;
    /// 4. both halves step on `ℓ`; with [tied weights](AutoencoderConfig::tied) `W` on
    ///    `∂ℓ/∂W` through both of its uses (the encoder's term plus the decoder's transposed:
    ///    the exact gradient of `ℓ(W, b, c)` with `V = Wᵀ`), then `V = Wᵀ`.
    ///
    /// [`Self::encoder_loss`] is set to NaN (there is no hidden target). Returns `ℓ` before
    /// the update.
    pub fn backprop_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<f32, Error> {
        let c = self.config;
        self.corrupted_pass(rng)?;
        self.reconstruction_loss = Dense::local_gradient::<K, B>(
            c.decoder,
            &self.h,
            &self.reconstruction,
            &self.x,
            &mut self.delta_x,
            &mut self.grad_decoder,
        );
        K::gemm_tn(&mut self.delta_h, 1.0, &self.decoder.w, &self.delta_x, 0.0);
        for (d, &h) in self
            .delta_h
            .as_mut_slice()
            .iter_mut()
            .zip(self.h.as_slice())
        {
            *d *= c.encoder.derivative_from_output(h);
        }
        Dense::gradient_from_delta::<K, B>(&self.noisy, &self.delta_h, &mut self.grad_encoder);
        self.encoder_loss = f32::NAN;
        self.apply_gradients()?;
        Ok(self.reconstruction_loss)
    }
}
