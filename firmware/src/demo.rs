//! The on-device network, its hyper-parameters, and held-out evaluation.
//!
//! A 64-32-32-10 network (`FusedTrainer<64, 32, 10, 1>`: one sample a step, each gradient element
//! formed inside the optimiser's loop, no gradient buffers) with binary hidden
//! units, trained by `dtp_core`'s DTP step; nothing here computes a gradient or a target.
//! Hyper-parameters were chosen on the host with the same stream (5 seeds, 4 epochs:
//! 91.9–93.3 % held-out for the sign net; see firmware/README section in the root README).

use crate::digits::{self, CLASSES, PIXELS};
use crate::source::Shift;
use dtp_core::bits::{self, Bits};
use dtp_core::{Config, Feedback, Quantiser, Units};
use dtp_digits::order::{EVAL_SEED, TRAINER_STREAM};

/// Hidden width.
pub const H: usize = 32;
/// Words of one packed hidden layer.
pub const WORDS: usize = bits::words(H);
/// The trainer: every weight, inverse, both optimiser states and the step buffers.
#[cfg(not(any(feature = "fw-dtp", feature = "ddtp")))]
pub type DigitsTrainer = dtp_core::FusedTrainer<PIXELS, H, CLASSES, 1>;
/// The trainer with DDTP-linear's feedback maps `Q_1, Q_2` (from the output layer to each
/// hidden layer) and their optimiser state in place of DTP's inverse state.
#[cfg(feature = "ddtp")]
pub type DigitsTrainer = dtp_core::DdtpTrainer<PIXELS, H, CLASSES, 1>;
/// The trainer with fixed feedback weights: no inverse optimiser state either.
#[cfg(feature = "fw-dtp")]
pub type DigitsTrainer = dtp_core::FixedFeedbackTrainer<PIXELS, H, CLASSES, 1>;
/// The parameters alone.
pub type DigitsNet = dtp_core::FixedNet<PIXELS, H, CLASSES, 1>;

/// Which binary hidden units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub enum Variant {
    /// tanh units read as `sign(h)` by every layer above and by the inverse (a deterministic
    /// binary network: both hidden layers are ±1 wherever they are read).
    Sign,
    /// sigmoid units read as Bernoulli samples by the layer above and the output layer (the
    /// paper's stochastic network; the inverse reads the probabilities).
    Bernoulli,
}

/// Units of the sign variant: `Units::DISCRETE` with the output layer reading signs too.
pub const SIGN_UNITS: Units = Units::SIGN;

/// The feedback rule of this build: DTP's trained inverse, with the `fw-dtp` feature
/// fixed-weight DTP (no inverse update), with the `drl` feature the difference reconstruction
/// loss, with the `ddtp` feature DDTP-linear (each hidden layer's target straight from the
/// output through its own trained map).
pub const FEEDBACK: Feedback = if cfg!(feature = "fw-dtp") {
    Feedback::Fixed
} else if cfg!(feature = "drl") {
    Feedback::Drl
} else if cfg!(feature = "ddtp") {
    Feedback::DdtpLinear
} else {
    Feedback::Dtp
};

#[cfg(any(
    all(feature = "fw-dtp", feature = "drl"),
    all(feature = "fw-dtp", feature = "ddtp"),
    all(feature = "drl", feature = "ddtp")
))]
compile_error!("the features `fw-dtp`, `drl` and `ddtp` choose different feedback rules: pick one");

/// σ of DRL's corruption with the `drl` feature (and of DDTP's with `ddtp`): the core's [`dtp_core::DRL_SIGMA`]
/// (Meulemans et al.'s MNIST setting, the `dtp train --algo drl` default), the demos' σ
/// schedule otherwise unchanged.
pub const DRL_SIGMA: f32 = dtp_core::DRL_SIGMA;

/// The DTP hyper-parameters (per-sample steps, interleaved inverse and forward updates, the
/// forward learning rate divided by `1 + e` in epoch `e`): the core's firmware settings,
/// shared with the `digits-firmware` preset and the no-panic proof, with this build's
/// [`FEEDBACK`] rule.
///
/// With the `sgd` feature, both optimisers are SGD with momentum 0.9 and lr 0.003 instead of
/// RMSprop (no division and no square root per parameter; the rates chosen on the host by the
/// validation error of `dtp train --preset digits-firmware --optimiser sgd`).
pub const fn config(variant: Variant) -> Config {
    let c = match variant {
        Variant::Sign => Config::FIRMWARE_SIGN,
        Variant::Bernoulli => Config::FIRMWARE_BERNOULLI,
    };
    let c = Config {
        feedback: FEEDBACK,
        sigma: if cfg!(any(feature = "drl", feature = "ddtp")) {
            dtp_core::SigmaSchedule {
                sigma0: DRL_SIGMA,
                ..c.sigma
            }
        } else {
            c.sigma
        },
        ..c
    };
    if cfg!(feature = "sgd") {
        let forward = match variant {
            Variant::Sign => SGD_LR,
            Variant::Bernoulli => SGD_LR_BERNOULLI,
        };
        Config {
            forward: dtp_core::Optimiser::sgd(forward, 0.9),
            inverse: dtp_core::Optimiser::sgd(SGD_LR, 0.9),
            ..c
        }
    } else {
        c
    }
}

/// Learning rate of both optimisers with the `sgd` feature (the inverse's for Bernoulli units).
const SGD_LR: f32 = 0.003;
/// Forward learning rate with the `sgd` feature for Bernoulli units.
const SGD_LR_BERNOULLI: f32 = 0.01;

/// Who learns in a run: DTP, or its control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub enum Learner {
    /// The DTP step with the demo's `η̂`.
    Dtp,
    /// The same code, stream, seed and learning-rate decay with `η̂ = 0`: every target equals
    /// its activation, so the hidden layers' local losses are zero and only the output layer
    /// learns (on the hidden layers it started with).
    Control,
}

impl Learner {
    /// The settings of this learner (the trainer decays the learning rate by its epoch).
    pub const fn config(self, variant: Variant) -> Config {
        let c = config(variant);
        match self {
            Learner::Dtp => c,
            Learner::Control => Config { eta_hat: 0.0, ..c },
        }
    }
}

/// Held-out results.
#[derive(Clone, Copy, Debug, Default, defmt::Format)]
pub struct Eval {
    /// Samples evaluated.
    pub n: u32,
    /// Correct through `Trainer::evaluate` (f32 activations).
    pub correct: u32,
    /// Correct through `bits::predict_packed` (hidden units packed in u32 words; sign only).
    pub packed_correct: u32,
    /// Samples where both paths predict the same class.
    pub agree: u32,
}

impl Eval {
    /// Accuracy in percent.
    pub fn percent(&self) -> f32 {
        100.0 * self.correct as f32 / self.n.max(1) as f32
    }

    /// Accuracy of the packed path in percent.
    pub fn packed_percent(&self) -> f32 {
        100.0 * self.packed_correct as f32 / self.n.max(1) as f32
    }
}

/// Evaluates the held-out digits (through `shift`), by the trainer's forward pass and, for
/// sign units, by the bit-packed path as well.
pub fn evaluate(trainer: &mut DigitsTrainer, shift: Shift) -> Eval {
    held_out(trainer, true, |trainer, x, label| {
        shift.apply(x);
        let (bx, bt) = trainer.batch_mut();
        bx.as_mut_slice().copy_from_slice(x);
        digits::one_hot(label, bt.as_mut_slice());
    })
}

/// Evaluates the held-out digits: `load` puts each digit (its pixels in `x`, which it may
/// change, and its label) into the trainer's batch — through an input shift ([`evaluate`]) or
/// as a sensor reads it (`sensor::evaluate`); then the trainer's forward pass and, with
/// `with_packed` and sign units, the bit-packed path on `x` as well.
///
/// Bernoulli units are sampled from a generator seeded afresh for every evaluation (one
/// sampled pass per digit), so the same weights always score the same.
#[inline(always)]
pub fn held_out(
    trainer: &mut DigitsTrainer,
    with_packed: bool,
    mut load: impl FnMut(&mut DigitsTrainer, &mut [f32; PIXELS], u8),
) -> Eval {
    let rng = &mut rand_pcg::Pcg32::new(EVAL_SEED, TRAINER_STREAM);
    let mut e = Eval::default();
    let mut x = [0.0f32; PIXELS];
    let packed = with_packed && trainer.config().units.between == Quantiser::Sign;
    for j in 0..digits::HELD_OUT {
        let label = match digits::sample(digits::held_out_index(j), &mut x) {
            Some(l) => l,
            None => defmt::panic!("no held-out digit {=usize}", j),
        };
        load(trainer, &mut x, label);
        let stats = match trainer.evaluate(rng) {
            Ok(s) => s,
            Err(err) => defmt::panic!("evaluate: {}", err),
        };
        e.n += 1;
        e.correct += stats.correct;
        if packed {
            let full = bits::argmax(trainer.output().as_slice());
            let mut scratch = [0.0; H];
            let mut logits = [0.0; CLASSES];
            let units = trainer.config().units;
            let input = dtp_core::Mat::<PIXELS, 1>::from_column_slice(&x);
            // `None` only for units that do not read signs, which `packed` rules out.
            if let Some(p) = bits::predict_packed::<PIXELS, H, CLASSES, 1, WORDS>(
                &trainer.net,
                &units,
                &input,
                &mut scratch,
                &mut logits,
            ) {
                e.packed_correct += (p == label as usize) as u32;
                e.agree += (p == full) as u32;
            }
        }
    }
    e
}

/// How many units of the last hidden layer the DTP target of the last step flipped:
/// `popcount(sign(ĥ) ⊕ sign(h))` on packed words — a binary × binary comparison.
pub fn target_flips(trainer: &DigitsTrainer) -> u32 {
    let h: Bits<WORDS> = Bits::pack_sign(trainer.activations()[1].as_slice());
    let t: Bits<WORDS> = Bits::pack_sign(trainer.targets()[1].as_slice());
    h.hamming(&t, H)
}

/// Multiply-accumulates of one DTP step of [`DigitsTrainer`] (matrix products only):
/// forward pass `H·IN + H² + OUT·H`; inverse step (corrupted forward, `g`, `∂V`) `3H²`;
/// top target `OUT·H`; difference target (`g(ĥ)`, `g(h)`) `2H²`; forward-step gradients
/// `H·IN + H² + OUT·H`. The optimiser then updates every parameter once (RMSprop: one
/// square root and one division each).
///
/// With the `ddtp` feature the feedback and target products are DDTP-linear's instead: `z_M`
/// (`OUT·H`) for the targets and again for the feedback step, the corrupted samples carried up
/// (`H² + 2·OUT·H`), two map products and a two-term gradient per map (`2 · 4·H·OUT`), the two
/// targets (`2 · 2·H·OUT`) and the top target (`OUT·H`).
pub const STEP_MACS: usize = if cfg!(feature = "ddtp") {
    2 * (H * PIXELS + H * H + CLASSES * H) + H * H + 17 * CLASSES * H
} else {
    2 * (H * PIXELS + H * H + CLASSES * H) + 5 * H * H + CLASSES * H
};

/// Trained feedback parameters: DTP's inverse `g_2` (`H·(H + 1)`), or with the `ddtp` feature
/// DDTP-linear's maps `Q_1, Q_2` (`2·H·(OUT + 1)`; the unused inverse stays in the network).
pub const FEEDBACK_PARAMS: usize = if cfg!(feature = "ddtp") {
    2 * H * (CLASSES + 1)
} else {
    DigitsNet::INVERSE_PARAMS
};

/// Trainable parameters: forward and feedback.
pub const PARAMS: usize = DigitsNet::FORWARD_PARAMS + FEEDBACK_PARAMS;

/// Held-out accuracy (percent) with hidden layer 2 binarised too (`bits::XnorDense`: ±1
/// weights × ±1 inputs by XNOR/popcount), input and output layers unchanged. Sign units only.
pub fn evaluate_xnor(net: &DigitsNet, xnor: &mut bits::XnorDense<H, H, WORDS>) -> f32 {
    xnor.binarise(&net.hidden[0]);
    let mut x = [0.0f32; PIXELS];
    let mut correct = 0u32;
    for j in 0..digits::HELD_OUT {
        let label = match digits::sample(digits::held_out_index(j), &mut x) {
            Some(l) => l,
            None => defmt::panic!("no held-out digit {=usize}", j),
        };
        let input = dtp_core::Mat::<PIXELS, 1>::from_column_slice(&x);
        let mut a = net.first.b;
        a.gemv(1.0, &net.first.w, &input, 1.0);
        let s1: Bits<WORDS> = Bits::pack_sign(a.as_slice());
        let mut a2 = [0.0; H];
        xnor.forward(&s1, &mut a2);
        let s2: Bits<WORDS> = Bits::pack_sign(&a2);
        let mut logits = [0.0; CLASSES];
        bits::gemv_signs(&net.output.w, &net.output.b, &s2, &mut logits);
        correct += (bits::argmax(&logits) == label as usize) as u32;
    }
    100.0 * correct as f32 / digits::HELD_OUT as f32
}
