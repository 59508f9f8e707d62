//! Hyper-parameters and network wiring, with the reference settings of the paper.

use crate::activation::Activation;
use crate::error::ConfigError;
use crate::optim::{Optimiser, OptimiserKind};
use crate::quantise::Quantiser;

/// The output layer and its loss `L` (averaged over the minibatch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Output {
    /// Softmax output, `L = −(1/B) Σ_b Σ_k t_kb log p_kb` (negative log-likelihood for one-hot `t`).
    SoftmaxNll = 0,
    /// Output `y = s(W h + b)` with `L = (1/B) Σ_b ‖y_b − t_b‖²`.
    Mse(Activation) = 1,
}

/// What every layer computes and reads: the network's unit types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Units {
    /// Continuous activation `s_i` of every hidden layer.
    pub hidden: Activation,
    /// Activation of every inverse `g_i(h) = s(V_i q(h) + c_i)` (tanh in the reference).
    pub inverse: Activation,
    /// What hidden layer `i ≥ 2` reads from layer `i − 1`.
    pub between: Quantiser,
    /// What the output layer reads from the last hidden layer.
    pub into_output: Quantiser,
    /// What an inverse `g_i` reads from layer `i`.
    pub into_inverse: Quantiser,
    /// The output layer and loss.
    pub output: Output,
}

impl Units {
    /// The continuous tanh network (784-240×7-10 in the paper).
    pub const CONTINUOUS: Units = Units {
        hidden: Activation::Tanh,
        inverse: Activation::Tanh,
        between: Quantiser::Identity,
        into_output: Quantiser::Identity,
        into_inverse: Quantiser::Identity,
        output: Output::SoftmaxNll,
    };

    /// The discrete network (784-500-500-10): layer 2 reads `sign(h_1)`, `g_2` reads
    /// `sign(h_2)`, the output layer reads `h_2`.
    pub const DISCRETE: Units = Units {
        hidden: Activation::Tanh,
        inverse: Activation::Tanh,
        between: Quantiser::Sign,
        into_output: Quantiser::Identity,
        into_inverse: Quantiser::Sign,
        output: Output::SoftmaxNll,
    };

    /// The binary network of the firmware: tanh units read as `sign(h)` by every layer
    /// above, by the output layer and by the inverses.
    pub const SIGN: Units = Units {
        into_output: Quantiser::Sign,
        ..Units::DISCRETE
    };

    /// The stochastic network (784-200-200-10): sigmoid units read as Bernoulli samples by
    /// the next layer and by the output layer; the inverse reads the probabilities.
    pub const STOCHASTIC: Units = Units {
        hidden: Activation::Sigmoid,
        inverse: Activation::Tanh,
        between: Quantiser::Bernoulli,
        into_output: Quantiser::Bernoulli,
        into_inverse: Quantiser::Identity,
        output: Output::SoftmaxNll,
    };
}

/// The corruption level of inverse training: `σ_e = σ₀ / (1 + e/τ)` at (1-based) epoch `e`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SigmaSchedule {
    /// `σ₀`.
    pub sigma0: f32,
    /// `τ` in epochs; `f32::INFINITY` keeps σ constant.
    pub tau: f32,
}

impl SigmaSchedule {
    /// A constant σ.
    pub const fn constant(sigma: f32) -> Self {
        SigmaSchedule {
            sigma0: sigma,
            tau: f32::INFINITY,
        }
    }

    /// `σ_e = σ₀ / (1 + e/τ)` for the 1-based epoch `e`.
    pub fn at(&self, epoch: u32) -> f32 {
        self.sigma0 / (1.0 + epoch as f32 / self.tau)
    }
}

/// The decay of the forward learning rate: `lr_e = lr₀ / (1 + e/τ)` in (0-based) epoch `e`
/// (the number of epochs completed before it), next to [`SigmaSchedule`] for the inverses'
/// noise. Applied by the trainer from its epoch counter ([`Config::forward_at`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LrDecay {
    /// `τ` in epochs; `f32::INFINITY` keeps the rate constant.
    pub tau: f32,
}

impl LrDecay {
    /// A constant learning rate.
    pub const NONE: LrDecay = LrDecay { tau: f32::INFINITY };

    /// `lr₀ / (1 + e/τ)` for the 0-based epoch `e`.
    pub fn at(&self, lr: f32, epoch: u32) -> f32 {
        lr / (1.0 + epoch as f32 / self.tau)
    }
}

/// When inverses and forward layers are updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Schedule {
    /// Each epoch: a full pass updating only the inverses, then a full pass updating only the
    /// forward layers (the reference code).
    Alternating = 0,
    /// Each minibatch: an inverse step, then a forward step.
    Interleaved = 1,
}

/// How the feedback (inverse) weights `V_i, c_i` are trained: the rule that distinguishes DTP
/// from its successors. Every rule propagates targets with the same difference correction
/// `ĥ_{i-1} = h_{i-1} + g_i(ĥ_i) − g_i(h_i)`; they differ only in the feedback step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Feedback {
    /// DTP (Lee et al. 2015): each inverse learns to reconstruct its own layer's corrupted
    /// input, `‖g_i(f_i(h̃_{i-1})) − h̃_{i-1}‖²` ([`Trainer::inverse_step`]).
    ///
    /// [`Trainer::inverse_step`]: crate::Trainer::inverse_step
    #[default]
    Dtp = 0,
    /// The difference reconstruction loss (Meulemans et al. 2020): the corrupted value is
    /// carried up to the last hidden layer and back down by the difference rule, and `g_i`
    /// learns to reconstruct it, scaled by `1/σ²` ([`Trainer::drl_step`]).
    ///
    /// [`Trainer::drl_step`]: crate::Trainer::drl_step
    Drl = 1,
    /// Fixed-weight DTP (FW-DTP, Shibuya et al. 2023): the feedback weights keep their random
    /// initial values; there is no feedback step, and no inverse optimiser state is used.
    Fixed = 2,
    /// Direct DTP with linear feedback (DDTP-linear; Meulemans et al. 2020, their
    /// `DDTPMLPLayer` without hidden feedback layers): every hidden layer `i = 1 … M−1` gets
    /// its target straight from the output layer's pre-activation `z_M` through its own
    /// linear map, `ĥ_i = h_i + Q_i ẑ_M − Q_i z_M` with `ẑ_M = z_M − η̂ ∂L/∂z_M`; each `Q_i`
    /// trains on the difference reconstruction loss. Run-time layouts only (feature
    /// `alloc`); see [`crate::direct`].
    DdtpLinear = 3,
    /// Direct DTP through a random hidden layer (DDTP-RHL; Meulemans et al. 2020, their
    /// `DDTPRHLLayer`): `z_M` is first carried by a fixed random layer
    /// `a = tanh(R z_M + r)` of [`RHL_WIDTH`](crate::direct::RHL_WIDTH) units (never trained),
    /// then `ĥ_i = h_i + s(Q_i â + c_i) − s(Q_i a + c_i)` with `s` the inverse activation;
    /// the last hidden layer reads `z_M` directly, as in their code. Run-time layouts only.
    DdtpRhl = 4,
    /// DTP as Meulemans et al.'s released `DTPNetwork` runs it (their "DTP" rows): the target
    /// is set at the output pre-activation, `ẑ_M = z_M − η̂ ∂L/∂z_M`, and carried to the top
    /// hidden layer through a learned inverse of the output layer too,
    /// `ĥ_{M-1} = h_{M-1} + g_M(ẑ_M) − g_M(z_M)` with `g_M(z) = s(Q z + c)`, then down by
    /// DTP's inverses as usual. Every feedback map, `g_M` included, trains on DTP's
    /// reconstruction loss (`‖g_M(f_M(h̃_{M-1})) − h̃_{M-1}‖²` for the top one, `f_M` the
    /// output layer's linear part). Lee et al.'s DTP ([`Feedback::Dtp`]) instead sets the top
    /// target at `h_{M-1}` by the gradient and has no inverse of the output layer. Run-time
    /// layouts only; see [`crate::direct`].
    DtpOutput = 5,
}

impl Feedback {
    /// Whether the rule is direct DTP ([`Feedback::DdtpLinear`], [`Feedback::DdtpRhl`]):
    /// feedback weights `Q_i` from the output to every hidden layer instead of the inverses.
    pub const fn is_direct(self) -> bool {
        matches!(self, Feedback::DdtpLinear | Feedback::DdtpRhl)
    }

    /// Whether the rule keeps feedback weights from the output layer
    /// ([`Net::direct`](crate::Net::direct)): DDTP's `Q_i`, or the output layer's inverse of
    /// [`Feedback::DtpOutput`]. Such rules need a run-time layout.
    pub const fn reads_output(self) -> bool {
        matches!(
            self,
            Feedback::DdtpLinear | Feedback::DdtpRhl | Feedback::DtpOutput
        )
    }

    /// Whether the rule trains feedback weights (every rule but [`Feedback::Fixed`]).
    pub const fn trains(self) -> bool {
        !matches!(self, Feedback::Fixed)
    }
}

/// Passes of the feedback step alone (steps 1 and 4 over every minibatch, no forward
/// update) that an epoch adds around its training, as Meulemans et al.'s released code runs
/// them (`train_only_feedback_parameters`: a forward pass and a feedback step on every
/// minibatch of the training set): `epochs_fb` passes before forward training starts (the
/// first epoch runs them first) and `extra_fb_epochs` after each epoch's training. The
/// default, none, is every epoch as it was, bit for bit. [`FeedbackPasses::NONE`] for
/// fixed feedback weights, which have no feedback step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FeedbackPasses {
    /// Feedback-only passes before the epoch's training.
    pub before: u32,
    /// Feedback-only passes after it.
    pub after: u32,
}

impl FeedbackPasses {
    /// No extra pass.
    pub const NONE: FeedbackPasses = FeedbackPasses {
        before: 0,
        after: 0,
    };

    /// The passes of 0-based epoch `epoch` under `pretrain` pre-training passes (run before
    /// epoch 0's training) and `extra` passes after every epoch's.
    pub const fn at(pretrain: u32, extra: u32, epoch: u32) -> FeedbackPasses {
        FeedbackPasses {
            before: if epoch == 0 { pretrain } else { 0 },
            after: extra,
        }
    }
}

/// How backprop treats a quantiser, whose true derivative is zero almost everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Gradient {
    /// The exact derivative: zero through sign and Bernoulli sampling.
    Exact = 0,
    /// The straight-through estimator: derivative one through every quantiser.
    StraightThrough = 1,
}

/// Weight initialisation; biases always start at zero.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Init {
    /// Random orthogonal: Gaussian, then Gram–Schmidt on the shorter side, so every singular
    /// value is 1 (the reference for the continuous and discrete nets).
    Orthogonal,
    /// Uniform in `±√(6 / (fan_in + fan_out))` (the reference for the stochastic net).
    Uniform,
    /// Gaussian of standard deviation `√(2 / (fan_in + fan_out))` (`xavier_normal`, Meulemans
    /// et al. 2020's released settings).
    XavierNormal,
}

/// A set of forward layers, by their number `i = 1 … M` (hidden layers `1 … M−1`, the
/// output layer `M`; at most 32): the layers [`Config::frozen`] keeps fixed.
///
/// A frozen layer's parameters `(W_i, b_i)` and its optimiser state are left as they are by
/// every forward update — DTP's step 5 and backprop's step — while everything else runs as
/// before: its activation is computed, targets are propagated through it (its inverse
/// `g_i` still trains), and the layers around it learn. Uses: fine-tuning (freeze the
/// lower layers of a trained network, e.g. `LayerSet::NONE.with(1)`), and controls that
/// show what one layer's learning adds (freeze it, compare). The empty set (the default)
/// changes nothing, bit for bit.
///
/// ```
/// # use dtp_core::LayerSet;
/// let below_top = LayerSet::range(1, 2); // layers 1 and 2 of a 64-64-64-64-10 net
/// assert!(below_top.contains(1) && below_top.contains(2) && !below_top.contains(3));
/// assert_eq!(below_top, LayerSet::NONE.with(1).with(2));
/// assert!(LayerSet::NONE.is_empty());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayerSet(
    /// Bit `i − 1` set: layer `i` is in the set.
    pub u32,
);

impl LayerSet {
    /// No layer.
    pub const NONE: LayerSet = LayerSet(0);

    /// This set and layer `i` (`1 ≤ i ≤ 32`; panics otherwise).
    pub const fn with(self, i: usize) -> LayerSet {
        assert!(i >= 1 && i <= 32, "layer numbers run from 1 to 32");
        LayerSet(self.0 | 1 << (i - 1))
    }

    /// Layers `first ..= last` (empty when `first > last`; `1 ≤ first`, `last ≤ 32`).
    pub const fn range(first: usize, last: usize) -> LayerSet {
        let mut set = LayerSet::NONE;
        let mut i = first;
        while i <= last {
            set = set.with(i);
            i += 1;
        }
        set
    }

    /// Whether layer `i` is in the set (never for `i = 0` or `i > 32`).
    #[inline(always)]
    pub const fn contains(self, i: usize) -> bool {
        i >= 1 && i <= 32 && self.0 & (1 << (i - 1)) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The highest layer number in the set (0 when empty).
    pub const fn highest(self) -> usize {
        (32 - self.0.leading_zeros()) as usize
    }
}

/// σ of the difference reconstruction loss's corruption ([`Feedback::Drl`]): the value
/// Meulemans et al. (2020) tuned for DTP with DRL on MNIST (their released
/// `final_configs/mnist_DTPDRL.py`), used by `dtp train --algo drl` by default and by the
/// firmware's `drl` feature.
pub const DRL_SIGMA: f32 = 0.0569;

/// Every hyper-parameter of DTP training.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// The unit types and wiring.
    pub units: Units,
    /// η̂, the step of the top target `ĥ_{M-1} = h_{M-1} − η̂ ∂L/∂h_{M-1}`.
    pub eta_hat: f32,
    /// Optimiser of the forward layers (and of backprop).
    pub forward: Optimiser,
    /// Optimiser of the inverse layers.
    pub inverse: Optimiser,
    /// Corruption σ of inverse training.
    pub sigma: SigmaSchedule,
    /// Standard deviation of Gaussian noise added to the input in training (0.3 for the
    /// stochastic net, else 0).
    pub input_noise: f32,
    /// When inverses and forward layers are updated.
    pub schedule: Schedule,
    /// Decay of the forward learning rate over epochs.
    pub lr_decay: LrDecay,
    /// How the feedback weights are trained (DTP, DRL, or fixed). Absent from older
    /// serialised configs, where it reads as [`Feedback::Dtp`].
    #[cfg_attr(feature = "serde", serde(default))]
    pub feedback: Feedback,
    /// Forward layers whose parameters no update changes ([`LayerSet`]): empty in every
    /// preset. Layer numbers above the network's `M` name no layer and change nothing.
    /// Absent from older serialised configs (and not written when empty).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "LayerSet::is_empty")
    )]
    pub frozen: LayerSet,
}

impl Config {
    /// Reference settings of the continuous 784-240×7-10 tanh net: the base the other
    /// constants (and `dtp-std`'s presets) change with `..`.
    pub const CONTINUOUS: Config = Config {
        units: Units::CONTINUOUS,
        eta_hat: 0.327_736_32,
        forward: Optimiser::rmsprop(0.014_889_349),
        inverse: Optimiser::rmsprop(0.005_011_491),
        sigma: SigmaSchedule::constant(0.359_829_57),
        input_noise: 0.0,
        schedule: Schedule::Alternating,
        lr_decay: LrDecay::NONE,
        feedback: Feedback::Dtp,
        frozen: LayerSet::NONE,
    };

    /// Reference settings of the discrete 784-500-500-10 net.
    pub const DISCRETE: Config = Config {
        units: Units::DISCRETE,
        eta_hat: 27.965_483,
        forward: Optimiser::rmsprop(6.600_554e-4),
        inverse: Optimiser::rmsprop(4.328_317_3e-4),
        sigma: SigmaSchedule {
            sigma0: 0.5,
            tau: 50.0,
        },
        ..Config::CONTINUOUS
    };

    /// Reference settings of the stochastic 784-200-200-10 net.
    pub const STOCHASTIC: Config = Config {
        units: Units::STOCHASTIC,
        eta_hat: 58.438_52,
        forward: Optimiser::rmsprop(3.087_400_2e-3),
        inverse: Optimiser::rmsprop(2.716_292_6e-6),
        sigma: SigmaSchedule {
            sigma0: 0.5,
            tau: 100.0,
        },
        input_noise: 0.3,
        ..Config::CONTINUOUS
    };

    /// The settings of the firmware's binary network (`firmware/`'s sign demo and the
    /// `digits-firmware` preset; 64-32-32-10, one sample a step): tanh units read as signs
    /// everywhere, η̂ = 3, RMSprop with lr 6·10⁻⁴ (forward, divided by `1 + e` in epoch `e`)
    /// and 10⁻⁴ (inverse), σ = 0.5, interleaved updates. The decay reads the trainer's
    /// epoch counter, which `Trainer::step` does not advance: on a stream, step through a
    /// [`SampleClock`](crate::SampleClock).
    pub const FIRMWARE_SIGN: Config = Config {
        units: Units::SIGN,
        eta_hat: 3.0,
        forward: Optimiser::rmsprop(6e-4),
        inverse: Optimiser::rmsprop(1e-4),
        sigma: SigmaSchedule::constant(0.5),
        schedule: Schedule::Interleaved,
        lr_decay: LrDecay { tau: 1.0 },
        ..Config::CONTINUOUS
    };

    /// The firmware's stochastic network: [`Config::FIRMWARE_SIGN`] with sigmoid units read
    /// as Bernoulli samples ([`Units::STOCHASTIC`]) and a forward lr of 10⁻³.
    pub const FIRMWARE_BERNOULLI: Config = Config {
        units: Units::STOCHASTIC,
        forward: Optimiser::rmsprop(1e-3),
        ..Config::FIRMWARE_SIGN
    };

    /// The forward optimiser of 0-based epoch `epoch`: its learning rate decayed by
    /// [`lr_decay`](Config::lr_decay).
    pub fn forward_at(&self, epoch: u32) -> Optimiser {
        Optimiser {
            lr: self.lr_decay.at(self.forward.lr, epoch),
            ..self.forward
        }
    }

    /// Checks every hyper-parameter; the trainer calls this when it is built.
    pub fn validate(&self) -> Result<(), ConfigError> {
        nonneg("eta_hat", self.eta_hat)?;
        nonneg("input_noise", self.input_noise)?;
        nonneg("sigma.sigma0", self.sigma.sigma0)?;
        if matches!(
            self.feedback,
            Feedback::Drl | Feedback::DdtpLinear | Feedback::DdtpRhl
        ) && self.sigma.sigma0 <= 0.0
        {
            // The difference reconstruction loss is scaled by 1/σ².
            return Err(ConfigError::OutOfRange {
                name: "sigma.sigma0",
                value: self.sigma.sigma0,
                allowed: "(0, ∞) with the difference reconstruction loss",
            });
        }
        if self.lr_decay.tau.is_nan() || self.lr_decay.tau <= 0.0 {
            return Err(ConfigError::OutOfRange {
                name: "lr_decay.tau",
                value: self.lr_decay.tau,
                allowed: "(0, ∞]",
            });
        }
        if self.sigma.tau.is_nan() || self.sigma.tau <= 0.0 {
            return Err(ConfigError::OutOfRange {
                name: "sigma.tau",
                value: self.sigma.tau,
                allowed: "(0, ∞]",
            });
        }
        validate_optimiser(
            &self.forward,
            [
                "forward.lr",
                "forward.momentum",
                "forward.rho",
                "forward.eps",
                "forward.beta1",
                "forward.beta2",
                "forward.weight_decay",
            ],
        )?;
        validate_optimiser(
            &self.inverse,
            [
                "inverse.lr",
                "inverse.momentum",
                "inverse.rho",
                "inverse.eps",
                "inverse.beta1",
                "inverse.beta2",
                "inverse.weight_decay",
            ],
        )
    }
}

fn nonneg(name: &'static str, value: f32) -> Result<(), ConfigError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError::Negative { name, value })
    }
}

fn unit_interval(name: &'static str, value: f32) -> Result<(), ConfigError> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            name,
            value,
            allowed: "[0, 1)",
        })
    }
}

fn validate_optimiser(opt: &Optimiser, names: [&'static str; 7]) -> Result<(), ConfigError> {
    nonneg(names[0], opt.lr)?;
    match opt.kind {
        OptimiserKind::Sgd { momentum } => unit_interval(names[1], momentum),
        OptimiserKind::RmsProp { rho, momentum, eps } => {
            unit_interval(names[1], momentum)?;
            unit_interval(names[2], rho)?;
            positive(names[3], eps)
        }
        #[cfg(not(target_os = "none"))]
        OptimiserKind::Adam {
            beta1,
            beta2,
            eps,
            weight_decay,
        } => {
            unit_interval(names[4], beta1)?;
            unit_interval(names[5], beta2)?;
            positive(names[3], eps)?;
            nonneg(names[6], weight_decay)
        }
    }
}

fn positive(name: &'static str, value: f32) -> Result<(), ConfigError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            name,
            value,
            allowed: "(0, ∞)",
        })
    }
}
