//! The names a setting takes: the dataset, the kind of model, the unit types, the training
//! algorithm and the optimiser's rule — plain enums that the settings ([`crate::config`]),
//! the presets, the models and the datasets all import, and that serialise by their
//! kebab-case names (`fw-dtp`, `fashion-mnist`, …), as TOML keys and flags take them.

use dtp_core::{Feedback, Units};
use serde::{Deserialize, Serialize};

/// The dataset a run trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DataKind {
    /// The embedded UCI 8×8 digits (or any CSV file given with --data).
    Digits,
    /// The same digits as firmware/ stores them: pixels at 4 bits, and the firmware's
    /// held-out part (every fifth sample, from the fifth) as the test set.
    FirmwareDigits,
    /// MNIST (IDX files).
    Mnist,
    /// Fashion-MNIST (IDX files, the MNIST format).
    FashionMnist,
    /// CIFAR-10 (binary batches).
    Cifar10,
}

/// What a model learns, which decides how its figures read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// A classifier (every preset but `mnist-ae`): `error` is its classification error,
    /// `loss` its negative log-likelihood.
    #[default]
    Classifier,
    /// The denoising auto-encoder (`mnist-ae`): `loss` is the reconstruction error
    /// `‖g(f(x)) − x‖²` per image, `error` the classification error of a linear probe on the
    /// codes `f(x)`.
    Autoencoder,
}

impl ModelKind {
    /// Whether this is [`ModelKind::Classifier`] (serde's `skip_serializing_if`).
    pub fn is_classifier(&self) -> bool {
        *self == ModelKind::Classifier
    }
}

/// The arithmetic a classifier trains in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Arith {
    /// f32: the core's trainers (any units, optimiser, batch, algorithm).
    #[default]
    Float,
    /// The device's integer DTP step (dtp_core::int): i16 weights, sign units, SGD at
    /// power-of-two rates, one sample a step; bit-identical to the firmware's
    /// learn_digits_int (see dtp_std::int_model).
    Int,
}

/// The training algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Algo {
    /// Difference Target Propagation (Lee et al. 2015): inverses trained to reconstruct.
    Dtp,
    /// Backpropagation through the same network (the baseline).
    Bp,
    /// DTP with the difference reconstruction loss (Meulemans et al. 2020), σ = drl_sigma.
    Drl,
    /// Fixed-weight DTP (Shibuya et al. 2023): feedback weights never trained.
    FwDtp,
    /// Direct DTP with linear feedback from the output to every hidden layer (DDTP-linear,
    /// Meulemans et al. 2020), trained by the difference reconstruction loss, σ = drl_sigma.
    DdtpLinear,
    /// Direct DTP through a fixed random hidden layer of 1,024 tanh units (DDTP-RHL,
    /// Meulemans et al. 2020), σ = drl_sigma.
    DdtpRhl,
    /// DTP as Meulemans et al.'s released DTPNetwork runs it (their DTP rows): the target set
    /// at the output and carried to the top hidden layer through a learned inverse of the
    /// output layer, then down by DTP's inverses.
    DtpOutput,
}

impl Algo {
    /// The core's feedback rule of a target-propagation algorithm ([`Feedback::Dtp`] for
    /// backprop, where it plays no role).
    pub fn feedback(self) -> Feedback {
        match self {
            Algo::Dtp | Algo::Bp => Feedback::Dtp,
            Algo::Drl => Feedback::Drl,
            Algo::FwDtp => Feedback::Fixed,
            Algo::DdtpLinear => Feedback::DdtpLinear,
            Algo::DdtpRhl => Feedback::DdtpRhl,
            Algo::DtpOutput => Feedback::DtpOutput,
        }
    }

    /// The target-propagation algorithm of a core feedback rule.
    pub fn from_feedback(f: Feedback) -> Self {
        match f {
            Feedback::Dtp => Algo::Dtp,
            Feedback::Drl => Algo::Drl,
            Feedback::Fixed => Algo::FwDtp,
            Feedback::DdtpLinear => Algo::DdtpLinear,
            Feedback::DdtpRhl => Algo::DdtpRhl,
            Feedback::DtpOutput => Algo::DtpOutput,
        }
    }

    /// Whether the algorithm trains its feedback by the difference reconstruction loss, whose
    /// corruption is `drl_sigma` (DRL, DDTP-linear, DDTP-RHL).
    pub fn uses_drl_sigma(self) -> bool {
        matches!(self, Algo::Drl | Algo::DdtpLinear | Algo::DdtpRhl)
    }

    /// Whether this is DTP or one of its variants (trained by `Trainer::train_epoch`).
    pub fn is_target_propagation(self) -> bool {
        self != Algo::Bp
    }
}

impl std::fmt::Display for Algo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Algo::Dtp => "DTP",
            Algo::Bp => "backprop",
            Algo::Drl => "DRL",
            Algo::FwDtp => "FW-DTP",
            Algo::DdtpLinear => "DDTP-linear",
            Algo::DdtpRhl => "DDTP-RHL",
            Algo::DtpOutput => "DTP (output inverse)",
        })
    }
}

/// The unit types of a network, by name (one of the core's [`Units`] constants): what every
/// layer computes and how the next layer reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum UnitsName {
    /// tanh units read as they are (the paper's continuous net).
    Continuous,
    /// tanh units; hidden layers after the first read sign(h), as do the inverses; the
    /// output reads h (the paper's discrete net).
    Discrete,
    /// Sigmoid units read as Bernoulli samples by the next layer and the output (the paper's
    /// stochastic net).
    Stochastic,
    /// tanh units read as sign(h) by every layer above, the output and the inverses (the
    /// firmware's binary net).
    Sign,
}

impl UnitsName {
    /// The core unit set.
    pub fn units(self) -> Units {
        match self {
            UnitsName::Continuous => Units::CONTINUOUS,
            UnitsName::Discrete => Units::DISCRETE,
            UnitsName::Stochastic => Units::STOCHASTIC,
            UnitsName::Sign => Units::SIGN,
        }
    }

    /// The lowercase name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            UnitsName::Continuous => "continuous",
            UnitsName::Discrete => "discrete",
            UnitsName::Stochastic => "stochastic",
            UnitsName::Sign => "sign",
        }
    }
}

/// The update rule of an optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OptimiserName {
    /// Centred RMSprop with momentum (the reference).
    Rmsprop,
    /// SGD with momentum (rho and eps unused).
    Sgd,
    /// Adam, torch.optim.Adam's form (beta1 0.9, beta2 0.999, eps 1e-8; momentum and rho
    /// unused).
    Adam,
}
