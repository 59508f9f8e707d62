//! [`ConvFront`]: a fixed-size convolution in front of a fixed-size dense trainer — the
//! device's convolutional network, trained one sample a step by the [`step`](crate::step)
//! driver.
//!
//! The network is `x → f_1 (convolution, X → F) → f_2 … f_M (a dense `Trainer` of
//! `F → H (×(R+1)) → OUT`)`. The dense trainer is an executor of [`Steps`] already; this one
//! runs each of its steps and adds what the convolution needs around them:
//!
//! | step | the dense trainer | the front |
//! |---|---|---|
//! | 1 forward | `h_2 … h_{M-1}`, `p`, `L` from its input `h_1` | `h_1 = s(f_1(x))`, written into the dense trainer's input first |
//! | 4 feedback | `g_3 … g_{M-1}` | `g_2` (dense, `H → F`), first: a step on `‖g_2(f_2(h̃_1)) − h̃_1‖²` |
//! | 2 top target | `ĥ_{M-1}` | — |
//! | 3 difference targets | `ĥ_{M-2} … ĥ_2` | then `ĥ_1 = h_1 + (g_2(ĥ_2) − g_2(h_2))` |
//! | 5 forward step | `f_2 … f_M` | then `f_1` on `‖s(f_1(x)) − ĥ_1‖²` |
//!
//! The order of the steps stays the driver's. The convolution is the first layer, so it
//! needs no inverse of its own (the input takes no target); its inverse would be a
//! [`FixedConvTranspose`](crate::fixed_conv::FixedConvTranspose). Continuous units only
//! (every quantiser the identity) and no input noise: the dense trainer's input is `h_1`.
//! [`Config::frozen`] numbers the dense trainer's layers (its layer 1 is `f_2`); the
//! convolution and `g_2` always learn.

use crate::config::{Config, Feedback, Init};
use crate::conv_shape::ConvShape;
use crate::dense::{Dense, FixedDense};
use crate::dtp::{FORWARD, INVERSE};
use crate::error::{ConfigError, Error, Stage, check_finite};
use crate::fixed_conv::{Column, ConvScratch, FixedConv};
use crate::gradient::{Fused, GradientStore, apply_buffer};
use crate::init::fill;
use crate::kernel::{Kernel, Portable};
use crate::layout::Fixed;
use crate::mat::zeros;
use crate::noise::add_gaussian_to;
use crate::optim::DenseState;
use crate::step::{Pass, Steps};
use crate::trainer::{FeedbackState, FixedStore, StepStats, Trainer};
use nalgebra::{Const, U1};
use rand_core::Rng;

/// A convolution `f_1` (`X = C·H·W → F = C'·P`, `C'` channels, `KK = C·k·k`, `P` positions)
/// in front of a dense trainer of `F → H (×(R+1)) → OUT`, one sample a step, with the
/// inverse `g_2` that gives the convolution its target. `K`, `S`, `V`: the dense trainer's
/// kernel, gradient store and feedback state ([`Fused`] by default, as
/// [`FusedTrainer`](crate::FusedTrainer)).
pub struct ConvFront<
    const X: usize,
    const F: usize,
    const CO: usize,
    const KK: usize,
    const P: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    K: Kernel = Portable,
    S = Fused,
    V = [DenseState<Const<H>, Const<H>>; R],
> {
    /// `f_1`, the convolution.
    pub conv: FixedConv<X, F, CO, KK, P>,
    /// Optimiser state of `f_1`.
    pub conv_state: DenseState<Const<CO>, Const<KK>>,
    /// `g_2`: the inverse of the dense trainer's first layer `f_2`, `H → F`.
    pub inverse: FixedDense<F, H>,
    /// Optimiser state of `g_2`.
    pub inverse_state: DenseState<Const<F>, Const<H>>,
    /// `f_2 … f_M` and `g_3 … g_{M-1}`, with their optimiser states and buffers; its input
    /// is `h_1`.
    pub dense: Trainer<Fixed<F, H, OUT, R>, Const<1>, K, S, V>,
    /// Local loss of `f_1` at the last forward step.
    pub conv_loss: f32,
    /// Reconstruction loss of `g_2` at the last feedback step.
    pub inverse_loss: f32,
    /// The input `x` (`X`).
    x: Column<X>,
    /// `h_1` (`F`), as the convolution wrote it.
    h: Column<F>,
    /// `ĥ_1` (`F`).
    target: Column<F>,
    /// Scratch of `F` values: `δ`, `g_2(ĥ_2)`, `h̃_1`.
    s1: Column<F>,
    /// Scratch of `F` values: `g_2(h_2)`, `g_2(f_2(h̃_1))`.
    s2: Column<F>,
    /// Scratch of `H` values: `f_2(h̃_1)`.
    s3: Column<H>,
    /// Gradient of `f_1`.
    grad: FixedDense<CO, KK>,
    /// Gradient of `g_2`.
    grad_inverse: FixedDense<F, H>,
    scratch: ConvScratch<CO, KK, P>,
}

/// The placeholder geometry of [`ConvFront::ZERO`] (all zero: every index lands in the
/// padding, nothing is read).
const NO_SHAPE: ConvShape = ConvShape {
    channels_in: 0,
    height: 0,
    width: 0,
    channels_out: 0,
    kernel: 0,
    stride: 0,
    padding: 0,
};

// SAFETY: every field is `f32`, `usize` (the shape), an `f32` matrix stored inline (fixed
// sizes), or the dense `Trainer`, which is `bytemuck::Zeroable` for these `K`, `S`, `V`: the
// all-zero bit pattern is a valid value of each. (So a `static` of it can live in `.bss`;
// [`ConvFront::ZERO`] goes to `.data`, its placeholder settings not all zero bits.)
unsafe impl<
    const X: usize,
    const F: usize,
    const CO: usize,
    const KK: usize,
    const P: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    K: Kernel,
    S: FixedStore,
    V: FixedStore,
> bytemuck::Zeroable for ConvFront<X, F, CO, KK, P, H, OUT, R, K, S, V>
{
}

impl<
    const X: usize,
    const F: usize,
    const CO: usize,
    const KK: usize,
    const P: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    K: Kernel,
    S: FixedStore,
    V: FixedStore,
> ConvFront<X, F, CO, KK, P, H, OUT, R, K, S, V>
{
    /// An all-zero, unconfigured network, for `static` storage; call
    /// [`init`](Self::init).
    pub const ZERO: Self = ConvFront {
        conv: FixedConv {
            shape: NO_SHAPE,
            params: Dense::ZERO,
        },
        conv_state: DenseState::ZERO,
        inverse: Dense::ZERO,
        inverse_state: DenseState::ZERO,
        dense: Trainer::ZERO,
        conv_loss: 0.0,
        inverse_loss: 0.0,
        x: zeros(),
        h: zeros(),
        target: zeros(),
        s1: zeros(),
        s2: zeros(),
        s3: zeros(),
        grad: Dense::ZERO,
        grad_inverse: Dense::ZERO,
        scratch: ConvScratch::ZERO,
    };
}

impl<
    const X: usize,
    const F: usize,
    const CO: usize,
    const KK: usize,
    const P: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    K: Kernel,
    S: GradientStore<Fixed<F, H, OUT, R>> + FixedStore,
    V: FeedbackState<Const<H>> + FixedStore,
> ConvFront<X, F, CO, KK, P, H, OUT, R, K, S, V>
{
    /// Builds a network by value (on the stack): [`ZERO`](Self::ZERO), then
    /// [`init`](Self::init).
    pub fn new<G: Rng + ?Sized>(
        shape: ConvShape,
        config: Config,
        init: Init,
        rng: &mut G,
    ) -> Result<Self, ConfigError> {
        let mut t = Self::ZERO;
        t.init(shape, config, init, rng)?;
        Ok(t)
    }

    /// Configures a network in place: checks `shape` against the sizes and `config` (as the
    /// dense trainer does, plus: identity quantisers, no input noise, DTP or fixed feedback),
    /// initialises `f_1`'s, then `g_2`'s weights by `init`, then the dense trainer's
    /// ([`Trainer::init`]); biases and optimiser states zero.
    pub fn init<G: Rng + ?Sized>(
        &mut self,
        shape: ConvShape,
        config: Config,
        init: Init,
        rng: &mut G,
    ) -> Result<(), ConfigError> {
        self.conv = FixedConv::new(shape)?;
        Self::validate(&config)?;
        fill(init, &mut self.conv.params.w, rng);
        fill(init, &mut self.inverse.w, rng);
        self.inverse.b.fill(0.0);
        self.conv_state.reset();
        self.inverse_state.reset();
        self.dense.init(config, init, rng)
    }

    fn validate(config: &Config) -> Result<(), ConfigError> {
        let u = config.units;
        let identity = u.between.is_identity() && u.into_output.is_identity();
        if !(identity && u.into_inverse.is_identity()) {
            return Err(ConfigError::OutOfRange {
                name: "units",
                value: 0.0,
                allowed: "continuous units (identity quantisers) behind a convolution",
            });
        }
        if config.input_noise != 0.0 {
            return Err(ConfigError::OutOfRange {
                name: "input_noise",
                value: config.input_noise,
                allowed: "0 behind a convolution (the dense trainer's input is h_1)",
            });
        }
        if !matches!(config.feedback, Feedback::Dtp | Feedback::Fixed) {
            return Err(ConfigError::OutOfRange {
                name: "feedback",
                value: 0.0,
                allowed: "DTP or fixed feedback behind a convolution",
            });
        }
        Ok(())
    }

    /// The hyper-parameters (the dense trainer's).
    pub fn config(&self) -> &Config {
        self.dense.config()
    }

    /// Replaces the hyper-parameters (checked as by [`init`](Self::init)).
    pub fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        Self::validate(&config)?;
        self.dense.set_config(config)
    }

    /// The sample: input `x` (`X`) and one-hot label (`OUT`), writable.
    pub fn batch_mut(&mut self) -> (&mut Column<X>, &mut Column<OUT>) {
        (&mut self.x, self.dense.labels_mut())
    }

    /// The output `p` of the last forward pass.
    pub fn output(&self) -> &Column<OUT> {
        self.dense.output()
    }

    /// `h_1`, the convolution's output at the last forward pass.
    pub fn conv_output(&self) -> &Column<F> {
        &self.h
    }

    /// `ĥ_1`, the convolution's target of the last step 3.
    pub fn conv_target(&self) -> &Column<F> {
        &self.target
    }

    /// **Step 1, front** — `h_1 = s(to_sample(W_1 im2col(x) + b_1 1ᵀ))` into the dense
    /// trainer's input.
    fn conv_forward(&mut self) -> Result<(), Error> {
        check_finite(self.x.as_slice(), Stage::Input, 0)?;
        let act = self.config().units.hidden;
        self.conv
            .forward::<K>(act, &self.x, &mut self.h, &mut self.scratch);
        check_finite(self.h.as_slice(), Stage::Forward, 1)?;
        self.dense.input_mut().copy_from(&self.h);
        Ok(())
    }

    /// **Step 4, front** — corrupt `h̃_1 = h_1 + ε`, `ε ~ N(0, σ²)`, and take an optimiser
    /// step on `(V_2, c_2)` to reduce `‖g_2(f_2(h̃_1)) − h̃_1‖²` with `f_2(h̃_1)` and `h̃_1`
    /// held constant: `δ = 2(g − h̃) ⊙ s'(g)`, `∂/∂V_2 = δ f_2(h̃_1)ᵀ`, `∂/∂c_2 = δ`
    /// (Lee et al. 2015, arXiv:1412.7525, Eq. 13).
    fn inverse_front<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        let c = *self.config();
        let (corrupt, g_out) = (&mut self.s1, &mut self.s2);
        add_gaussian_to(corrupt.as_mut_slice(), self.h.as_slice(), sigma, rng);
        let f2 = &self.dense.net.first;
        f2.forward::<K, U1>(c.units.hidden, corrupt, &mut self.s3);
        let inverse_act = c.units.inverse;
        self.inverse.forward::<K, U1>(inverse_act, &self.s3, g_out);
        let mut delta: Column<F> = zeros();
        self.inverse_loss = Dense::<Const<F>, Const<H>>::local_delta_over(
            inverse_act,
            g_out,
            corrupt,
            &mut delta,
            1.0,
        );
        Dense::gradient_from_delta::<K, U1>(&self.s3, &delta, &mut self.grad_inverse);
        let (layer, state) = (&mut self.inverse, &mut self.inverse_state);
        apply_buffer(&c.inverse, layer, &self.grad_inverse, state, 2, INVERSE)
    }

    /// **Step 3, front** — `ĥ_1 = h_1 + (g_2(ĥ_2) − g_2(h_2))`, the difference formed first
    /// (so `ĥ_2 = h_2` gives `ĥ_1 = h_1` bit for bit).
    fn target_front(&mut self) -> Result<(), Error> {
        let act = self.config().units.inverse;
        let (h2, t2) = (&self.dense.activations().first, &self.dense.targets().first);
        self.inverse.forward::<K, U1>(act, t2, &mut self.s1);
        self.inverse.forward::<K, U1>(act, h2, &mut self.s2);
        let pairs = self.s1.iter().zip(self.s2.iter());
        for ((t, &h), (&gt, &gh)) in self.target.iter_mut().zip(self.h.iter()).zip(pairs) {
            *t = h + (gt - gh);
        }
        check_finite(self.target.as_slice(), Stage::Target, 1)
    }

    /// **Step 5, front** — an optimiser step on `(W_1, b_1)` to reduce
    /// `‖s(f_1(x)) − ĥ_1‖²` with `x` and `ĥ_1` held constant
    /// ([`FixedConv::local_gradient`]; Lee et al. 2015, arXiv:1412.7525, Eq. 15).
    fn forward_front(&mut self) -> Result<(), Error> {
        let c = *self.config();
        self.conv_loss = self.conv.local_gradient::<K>(
            c.units.hidden,
            &self.x,
            &self.h,
            &self.target,
            &mut self.s1,
            &mut self.grad,
            &mut self.scratch,
        );
        let opt = c.forward_at(self.dense.epoch);
        let (layer, state) = (&mut self.conv.params, &mut self.conv_state);
        apply_buffer(&opt, layer, &self.grad, state, 1, FORWARD)
    }
}

impl<
    const X: usize,
    const F: usize,
    const CO: usize,
    const KK: usize,
    const P: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    K: Kernel,
    S: GradientStore<Fixed<F, H, OUT, R>> + FixedStore,
    V: FeedbackState<Const<H>> + FixedStore,
> Steps for ConvFront<X, F, CO, KK, P, H, OUT, R, K, S, V>
{
    type Stats = StepStats;

    fn forward<G: Rng + ?Sized>(&mut self, pass: Pass, rng: &mut G) -> Result<StepStats, Error> {
        self.conv_forward()?;
        Steps::forward(&mut self.dense, pass, rng)
    }

    fn feedback_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        if self.config().feedback != Feedback::Fixed {
            self.inverse_front(self.dense.sigma(), rng)?;
        }
        Steps::feedback_step(&mut self.dense, rng)
    }

    fn top_target(&mut self) -> Result<(), Error> {
        Steps::top_target(&mut self.dense)
    }

    fn difference_targets<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        Steps::difference_targets(&mut self.dense, rng)?;
        self.target_front()
    }

    fn forward_step(&mut self) -> Result<(), Error> {
        Steps::forward_step(&mut self.dense)?;
        self.forward_front()
    }

    fn measured(&mut self, forward: StepStats) -> Result<StepStats, Error> {
        Steps::measured(&mut self.dense, forward)
    }
}
