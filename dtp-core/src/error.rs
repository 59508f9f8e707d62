//! Errors: non-finite numbers met during a step, and invalid hyper-parameters.

use core::fmt;

/// Where in a training step a non-finite number was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// The input batch `x`.
    Input,
    /// The label / regression targets `t`.
    Labels,
    /// The forward pass (activations or the global loss).
    Forward,
    /// A layer target `ĥ_i`.
    Target,
    /// A gradient of a forward layer's loss (local loss, or `L` for the output layer).
    ForwardGradient,
    /// A gradient of an inverse layer's reconstruction loss.
    InverseGradient,
    /// A forward weight or bias after its update.
    ForwardWeights,
    /// An inverse weight or bias after its update.
    InverseWeights,
}

/// A training step met a NaN or an infinity.
///
/// When the stage is a gradient, nothing was written: the parameters are those before the
/// step. When the stage is `ForwardWeights`/`InverseWeights` the update itself overflowed and
/// that layer holds non-finite values; restore from the last good checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// A non-finite value at `stage` in `layer`: forward layers are numbered `1..=M` (the
    /// output layer is `M`), inverse layers by the forward layer `i` they invert (`g_i`).
    /// `layer` is 0 for the input batch and labels.
    NonFinite {
        /// The step stage that produced the value.
        stage: Stage,
        /// The layer, numbered as in the paper.
        layer: u16,
    },
    /// The integer step (`dtp_core::int`) met a value it cannot represent: a weight leaving
    /// `i16` at a weights stage (that layer keeps its values from before the update; the
    /// layers updated before it in the same step keep theirs), an input-layer sum leaving `i32` at [`Stage::Forward`], an input
    /// outside `[−1, 1]` at [`Stage::Input`] or a label outside the outputs at
    /// [`Stage::Labels`] (nothing written); at [`Stage::Forward`] with layer 0, arenas that do
    /// not match their widths (impossible through the integer storages' constructors). Layers
    /// numbered as for `NonFinite`.
    Overflow {
        /// The step stage that produced the value.
        stage: Stage,
        /// The layer, numbered as in the paper.
        layer: u16,
    },
    /// An inverse step asked of a trainer that keeps no optimiser state for its inverses
    /// (`NoFeedbackState`: fixed feedback weights).
    NoFeedbackState,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NonFinite { stage, layer } => {
                let (what, prefix) = match stage {
                    Stage::Input => return write!(f, "NaN or infinity in the input batch"),
                    Stage::Labels => return write!(f, "NaN or infinity in the label targets"),
                    Stage::Forward => ("forward activations of layer", " "),
                    Stage::Target => ("target of layer", " "),
                    Stage::ForwardGradient => ("gradient of forward layer", " "),
                    Stage::InverseGradient => ("gradient of inverse layer", " g_"),
                    Stage::ForwardWeights => ("updated weights of forward layer", " "),
                    Stage::InverseWeights => ("updated weights of inverse layer", " g_"),
                };
                write!(
                    f,
                    "NaN or infinity in the {what}{prefix}{layer} (learning rate or η̂ too high?)"
                )
            }
            Error::Overflow { stage, layer } => {
                let (what, prefix) = match stage {
                    Stage::Input => return write!(f, "integer input outside [-1, 1]"),
                    Stage::Labels => return write!(f, "label outside the integer net's outputs"),
                    Stage::Forward if layer == 0 => {
                        return write!(f, "integer net's storage does not match its widths");
                    }
                    Stage::Forward => ("sum of forward layer", " "),
                    Stage::Target => ("target of layer", " "),
                    Stage::ForwardGradient => ("gradient of forward layer", " "),
                    Stage::InverseGradient => ("gradient of inverse layer", " g_"),
                    Stage::ForwardWeights => ("weights of forward layer", " "),
                    Stage::InverseWeights => ("weights of inverse layer", " g_"),
                };
                write!(
                    f,
                    "integer overflow in the {what}{prefix}{layer} (learning rate or η̂ too high?)"
                )
            }
            Error::NoFeedbackState => write!(
                f,
                "this trainer keeps no optimiser state for its inverses (fixed feedback \
                 weights): it cannot train them"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// A hyper-parameter that cannot be trained with; returned when the trainer is built.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    /// The minibatch size (the const parameter `B`) is zero.
    ZeroBatch,
    /// A network dimension (input, hidden or output width) is zero.
    ZeroWidth,
    /// A layout without a hidden layer: `layers` widths given, at least 3 needed (input,
    /// one hidden layer, output).
    TooShallow {
        /// Number of widths given.
        layers: usize,
    },
    /// A hyper-parameter that must be finite and `≥ 0` is negative, NaN or infinite.
    Negative {
        /// The field, e.g. `"forward.lr"`.
        name: &'static str,
        /// The rejected value.
        value: f32,
    },
    /// A hyper-parameter outside its allowed range.
    OutOfRange {
        /// The field, e.g. `"forward.rho"`.
        name: &'static str,
        /// The rejected value.
        value: f32,
        /// Human-readable allowed range, e.g. `"[0, 1)"`.
        allowed: &'static str,
    },
    /// A trainer without inverse optimiser state (`NoFeedbackState`) given feedback weights to
    /// train: only `Feedback::Fixed` fits it.
    FeedbackNotTrainable,
    /// Feedback from the output layer (DDTP: `Feedback::DdtpLinear`, `Feedback::DdtpRhl`; the
    /// output layer's inverse of `Feedback::DtpOutput`) asked of a trainer whose layout is
    /// fixed at compile time whose feedback state is not DDTP-linear's (`DirectLinear`, the
    /// `DdtpTrainer`): those feedback weights exist in the run-time layout (`Dynamic`, feature
    /// `alloc`) and, for DDTP-linear, in a `DirectLinear`.
    DirectNeedsRunTimeLayout,
    /// A trainer that holds DDTP-linear's maps in place of DTP's inverse state
    /// (`DdtpTrainer`, `DirectLinear`) given another feedback rule: only
    /// `Feedback::DdtpLinear` fits it.
    TrainerIsDdtpLinear,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::ZeroBatch => write!(f, "the minibatch size must be at least 1"),
            ConfigError::ZeroWidth => write!(f, "every layer width must be at least 1"),
            ConfigError::DirectNeedsRunTimeLayout => write!(
                f,
                "feedback from the output layer (DDTP, DTP with an output inverse) needs a run-time \
                 layout (a DynTrainer), or for DDTP-linear a DdtpTrainer; this trainer has no place \
                 for its feedback weights"
            ),
            ConfigError::TrainerIsDdtpLinear => write!(
                f,
                "this trainer holds DDTP-linear's feedback maps in place of DTP's inverse state: \
                 only DDTP-linear fits it"
            ),
            ConfigError::FeedbackNotTrainable => write!(
                f,
                "this trainer keeps no optimiser state for its inverses: only fixed feedback \
                 weights (FW-DTP) fit it"
            ),
            ConfigError::TooShallow { layers } => write!(
                f,
                "{layers} layer widths: a network needs an input, at least one hidden layer and \
                 an output (e.g. 64-32-10); difference targets need two hidden layers"
            ),
            ConfigError::Negative { name, value } => {
                write!(f, "{name} = {value}: must be a finite number ≥ 0")
            }
            ConfigError::OutOfRange {
                name,
                value,
                allowed,
            } => write!(f, "{name} = {value}: must be in {allowed}"),
        }
    }
}

impl core::error::Error for ConfigError {}

/// `Err(NonFinite)` unless every value of `data` is finite.
pub(crate) fn check_finite(data: &[f32], stage: Stage, layer: usize) -> Result<(), Error> {
    // `Σ v·0`: one test per slice instead of one per element.
    let sum = crate::arm::finite::sum_times_zero(data);
    if sum == 0.0 {
        Ok(())
    } else {
        Err(Error::NonFinite {
            stage,
            layer: layer as u16,
        })
    }
}
