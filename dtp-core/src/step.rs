//! The step driver: the order of DTP's five steps, and of an epoch's passes, written once.
//!
//! Every way dtp trains a network — a whole minibatch ([`Trainer`](crate::Trainer)), chunks
//! of it on threads (`parallel::Parallel`, feature `std`), one sample on a microcontroller
//! (`FusedTrainer`), integer arithmetic on a part without an FPU — is an *executor* of the same
//! steps: it implements [`Steps`] (what each step computes, in its own arithmetic and
//! storage), and the functions of this module decide in which order they run:
//!
//! | driver | order |
//! |---|---|
//! | [`step`] | 1 forward, 4 feedback, 2 top target, 3 difference targets, 5 forward step |
//! | [`inverse_only`] | 1 forward (as far as the feedback needs it), 4 feedback |
//! | [`forward_only`] | 1 forward, 2 top target, 3 difference targets, 5 forward step |
//! | [`evaluate`] | 1 forward without noise |
//! | [`epoch`] | [`FeedbackPasses::before`] passes of [`inverse_only`], the [`Schedule`]'s passes over the minibatches (each minibatch by the above), [`FeedbackPasses::after`] passes of [`inverse_only`] |
//!
//! An executor may defer work: the data-parallel one runs steps 1 and 4 as one job on its
//! threads and steps 2, 3 and 5 as another, because it only needs to meet its threads where
//! the parameters change (after 4 and after 5).

use crate::config::{FeedbackPasses, Schedule};
use crate::error::Error;
use rand_core::Rng;

/// How much of the forward pass (step 1) to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Training: input noise and every activation, the output and the loss.
    Training,
    /// Training, for the feedback step alone (the alternating schedule's inverse pass): an
    /// executor may stop where its feedback rule stops reading (DTP's inverses read no
    /// further than `h_{M-2}`), provided what it computes is the same bits; the statistics it
    /// returns are then not used.
    Feedback,
    /// Evaluation: no input noise, no training.
    Evaluation,
}

impl Pass {
    /// Whether this pass trains (adds input noise).
    pub fn training(self) -> bool {
        self != Pass::Evaluation
    }
}

/// What a forward pass measured, summed over minibatches by the drivers.
pub trait Tally: Copy + Default {
    /// Adds another minibatch's (or chunk's) figures.
    fn add(&mut self, other: Self);
    /// The summed global loss, as `f32` (for [`EpochStats`](crate::EpochStats)).
    fn loss(&self) -> f32;
    /// The summed number of correctly classified samples.
    fn correct(&self) -> u64;
}

/// An executor of DTP's five steps (Lee et al. 2015) on the minibatch it holds.
///
/// Each method is one step; its arithmetic, storage and threads are the executor's own. The
/// order is not: the drivers of this module call them. The equations are those of
/// [`Trainer`](crate::Trainer)'s methods of the same names.
pub trait Steps {
    /// What a forward pass measures.
    type Stats: Tally;

    /// **Step 1 — forward pass**: `h_i = s_i(W_i q(h_{i-1}) + b_i)`, `p = f_M(h_{M-1})`, `L(p, t)`.
    /// Checks the minibatch it reads first (non-finite inputs or labels are an error). Returns
    /// what it measured, or — for an executor that defers the pass — a placeholder that
    /// [`measured`](Steps::measured) replaces.
    fn forward<G: Rng + ?Sized>(&mut self, pass: Pass, rng: &mut G) -> Result<Self::Stats, Error>;

    /// **Step 4 — feedback step**, by the configured rule: DTP's inverse step on
    /// `‖g_i(f_i(h̃)) − h̃‖²`, DRL's difference reconstruction loss, or nothing for fixed
    /// feedback weights.
    fn feedback_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error>;

    /// **Step 2 — top target**: `ĥ_{M-1} = h_{M-1} − η̂ ∂L/∂h_{M-1}`.
    fn top_target(&mut self) -> Result<(), Error>;

    /// **Step 3 — difference targets**: `ĥ_{i-1} = h_{i-1} + g_i(ĥ_i) − g_i(h_i)`, downward.
    fn difference_targets<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error>;

    /// **Step 5 — forward step**: each hidden layer a step on `‖f_i(h_{i-1}) − ĥ_i‖²`, the
    /// output layer a step on `L`.
    fn forward_step(&mut self) -> Result<(), Error>;

    /// What the last forward pass measured, once every step the executor deferred has run;
    /// `forward` is what [`forward`](Steps::forward) returned (an executor that runs each
    /// step at once returns it as it is).
    fn measured(&mut self, forward: Self::Stats) -> Result<Self::Stats, Error>;
}

/// One DTP step on the minibatch the executor holds, inverse then forward (the interleaved
/// schedule): steps 1, 4, 2, 3, 5 — the difference targets are taken through the inverses
/// just updated.
pub fn step<E: Steps + ?Sized, G: Rng + ?Sized>(e: &mut E, rng: &mut G) -> Result<E::Stats, Error> {
    let stats = e.forward(Pass::Training, rng)?;
    e.feedback_step(rng)?;
    e.top_target()?;
    e.difference_targets(rng)?;
    e.forward_step()?;
    e.measured(stats)
}

/// The feedback half of a step: steps 1 and 4. With `pass` [`Pass::Feedback`] the executor may
/// shorten the forward pass (its statistics are then not meaningful).
pub fn inverse_only<E: Steps + ?Sized, G: Rng + ?Sized>(
    e: &mut E,
    pass: Pass,
    rng: &mut G,
) -> Result<E::Stats, Error> {
    let stats = e.forward(pass, rng)?;
    e.feedback_step(rng)?;
    e.measured(stats)
}

/// The forward half of a step: steps 1, 2, 3 and 5.
pub fn forward_only<E: Steps + ?Sized, G: Rng + ?Sized>(
    e: &mut E,
    rng: &mut G,
) -> Result<E::Stats, Error> {
    let stats = e.forward(Pass::Training, rng)?;
    e.top_target()?;
    e.difference_targets(rng)?;
    e.forward_step()?;
    e.measured(stats)
}

/// The forward pass alone, without noise or training.
pub fn evaluate<E: Steps + ?Sized, G: Rng + ?Sized>(
    e: &mut E,
    rng: &mut G,
) -> Result<E::Stats, Error> {
    let stats = e.forward(Pass::Evaluation, rng)?;
    e.measured(stats)
}

/// What one pass over the minibatches summed, before it becomes
/// [`EpochStats`](crate::EpochStats).
#[derive(Clone, Copy, Debug, Default)]
pub struct PassTally<T> {
    /// The forward passes' figures, summed.
    pub sum: T,
    /// Minibatches in the pass.
    pub batches: usize,
}

/// One pass over `batches` minibatches: `load(e, index)` puts minibatch `index` into the
/// executor, then `one(e, rng)` trains on it (one of the drivers above); the figures are
/// summed. Stops at the first error.
pub fn pass<E, G, Ld, One>(
    e: &mut E,
    batches: usize,
    rng: &mut G,
    mut load: Ld,
    mut one: One,
) -> Result<PassTally<E::Stats>, Error>
where
    E: Steps + ?Sized,
    G: Rng + ?Sized,
    Ld: FnMut(&mut E, usize) -> Result<(), Error>,
    One: FnMut(&mut E, &mut G) -> Result<E::Stats, Error>,
{
    let mut total = PassTally {
        sum: E::Stats::default(),
        batches,
    };
    for index in 0..batches {
        load(e, index)?;
        total.sum.add(one(e, rng)?);
    }
    Ok(total)
}

/// One epoch of DTP over `batches` minibatches, following `schedule`:
/// - [`Schedule::Interleaved`]: one pass of [`step`];
/// - [`Schedule::Alternating`]: a pass of [`inverse_only`] (skipped when `trains_feedback` is
///   false: fixed feedback weights), then a pass of [`forward_only`], whose figures are
///   returned.
///
/// Around it, `feedback.before` passes of [`inverse_only`] first and `feedback.after` passes
/// last ([`FeedbackPasses`]: Meulemans et al.'s feedback pre-training and extra feedback
/// epochs; none when `trains_feedback` is false). With [`FeedbackPasses::NONE`] the epoch is
/// the schedule's passes alone.
///
/// `load(e, index)` puts minibatch `index` into the executor. The caller advances its epoch
/// counter.
pub fn epoch<E, G, Ld>(
    e: &mut E,
    schedule: Schedule,
    trains_feedback: bool,
    feedback: FeedbackPasses,
    batches: usize,
    rng: &mut G,
    mut load: Ld,
) -> Result<PassTally<E::Stats>, Error>
where
    E: Steps + ?Sized,
    G: Rng + ?Sized,
    Ld: FnMut(&mut E, usize) -> Result<(), Error>,
{
    let feedback = if trains_feedback {
        feedback
    } else {
        FeedbackPasses::NONE
    };
    let feedback_pass = |e: &mut E, rng: &mut G, load: &mut Ld| {
        pass(e, batches, rng, load, |e, r| {
            inverse_only(e, Pass::Feedback, r)
        })
    };
    for _ in 0..feedback.before {
        feedback_pass(e, rng, &mut load)?;
    }
    let tally = match schedule {
        Schedule::Interleaved => pass(e, batches, rng, &mut load, |e, r| step(e, r)),
        Schedule::Alternating => {
            if trains_feedback {
                feedback_pass(e, rng, &mut load)?;
            }
            pass(e, batches, rng, &mut load, |e, r| forward_only(e, r))
        }
    }?;
    for _ in 0..feedback.after {
        feedback_pass(e, rng, &mut load)?;
    }
    Ok(tally)
}

/// The drivers as methods of every executor: `e.step(rng)` is [`step`]`(e, rng)`.
pub trait Drive: Steps {
    /// [`step`]: steps 1, 4, 2, 3, 5.
    fn step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<Self::Stats, Error> {
        step(self, rng)
    }
    /// [`inverse_only`] with the whole forward pass: steps 1 and 4.
    fn inverse_only<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<Self::Stats, Error> {
        inverse_only(self, Pass::Training, rng)
    }
    /// [`forward_only`]: steps 1, 2, 3 and 5.
    fn forward_only<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<Self::Stats, Error> {
        forward_only(self, rng)
    }
    /// [`evaluate`]: step 1 without noise.
    fn evaluate<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<Self::Stats, Error> {
        evaluate(self, rng)
    }
}

impl<E: Steps + ?Sized> Drive for E {}
