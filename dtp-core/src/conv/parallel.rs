//! The chunk-parallel executor of a [`ConvTrainer`]'s steps (feature `std`): every minibatch
//! split into a fixed number of chunks of columns, each carried by one thread of a [`Team`]
//! through the forward pass, the feedback gradients, the targets and the local gradients; each
//! layer's chunk gradients summed in chunk order and applied once. The convolutional twin of
//! [`crate::parallel`], with the same guarantees:
//!
//! - every batch mean keeps the minibatch's `B`, so the chunks' gradients sum to the
//!   minibatch's and the targets are the minibatch's;
//! - chunk `c` always holds the same columns and draws its noise from its own stream
//!   (`Pcg64::new(seed, c)`, `seed` drawn from the caller's generator once per forward pass),
//!   and layer `l`'s gradient is always `((g_0 + g_1) + g_2) + …`, summed and applied by one
//!   thread: **results depend on the number of chunks, never on the number of threads**;
//! - with one chunk every step is the [`ConvTrainer`]'s own (same code, same stream).
//!
//! The steps' order is not written here: [`step`]'s drivers call this executor's
//! [`Steps`] methods, as they call the whole-minibatch trainer's. Each step is one job of the
//! team (the threads meet after it); at the sizes of a convolutional net a step's work is
//! milliseconds, the meeting microseconds.

use alloc::vec::Vec;

use nalgebra::Dyn;
use rand_core::Rng;
use rand_pcg::Pcg64;

use super::{ConvNet, ConvTrainer, Params, Work, zero_gradients};
use crate::config::{Config, Feedback, FeedbackPasses};
use crate::error::Error;
use crate::kernel::Kernel;
use crate::parallel::{Task, cut};
use crate::step::{self, Pass, Steps, Tally};
use crate::team::Team;
use crate::trainer::{Batches, EpochStats, StepStats};

/// Workers that run a [`ConvTrainer`]'s steps on chunks of each minibatch in parallel: the
/// trainer keeps the parameters, optimiser states, settings and the whole minibatch; each
/// method takes it.
///
/// # Example
/// ```
/// use dtp_core::conv::parallel::ConvParallel;
/// use dtp_core::conv::{ConvNet, ConvTrainer, LayerSpec};
/// use dtp_core::step::Drive;
/// use dtp_core::{Config, Init, Portable};
/// use rand_pcg::Pcg64;
///
/// let specs = [
///     LayerSpec::Conv { channels: 2, kernel: 3, stride: 1, padding: 1 },
///     LayerSpec::Dense(5),
///     LayerSpec::Dense(3),
/// ];
/// let mut net = ConvNet::new((1, 4, 4), &specs).unwrap();
/// net.initialise(Init::Orthogonal, &mut Pcg64::new(1, 1));
/// let mut t = ConvTrainer::<Portable>::new(net, 8, Config::CONTINUOUS).unwrap();
/// let mut p = ConvParallel::new(&t, 2, 2); // two chunks of 4 columns, two threads
/// let (x, labels) = t.batch_mut();
/// x.fill(0.5);
/// labels.row_mut(1).fill(1.0);
/// let stats = p.on(&mut t).step(&mut Pcg64::new(2, 2)).unwrap();
/// assert!(stats.loss.is_finite() && t.net.is_finite());
/// ```
pub struct ConvParallel {
    chunks: Vec<Chunk>,
    team: Team,
}

/// One chunk's buffers, gradients, losses and stream.
struct Chunk {
    /// First column of the minibatch this chunk holds.
    start: usize,
    ws: Work,
    /// Gradients of `f_1 … f_M` (`[i − 1]`: `f_i`).
    forward: Vec<Params>,
    /// Gradients of `g_2 … g_{M-1}` (`[i − 2]`: `g_i`).
    inverse: Vec<Params>,
    /// Gradients of DDTP's `Q_1 … Q_{M-1}` (`[i − 1]`: `Q_i`), sized on first use.
    direct: Vec<Params>,
    /// This chunk's share of each `Q_i`'s difference reconstruction loss.
    direct_loss: Vec<f32>,
    /// This chunk's share of each hidden layer's local loss and each inverse's
    /// reconstruction loss.
    local_loss: Vec<f32>,
    inverse_loss: Vec<f32>,
    rng: Pcg64,
}

/// Which half of the parameters an update applies to.
#[derive(Clone, Copy)]
enum Half {
    Forward,
    Inverse,
}

impl ConvParallel {
    /// Workers for `trainer`'s network and minibatch: the minibatch split into `chunks` chunks
    /// of consecutive columns (as equal as the batch allows; at least 1, at most one column
    /// each), run by `threads` threads (at most one per chunk; 1 runs them one after the other
    /// on the caller's thread). Use them with this trainer only (or one of the same shape).
    pub fn new<K: Kernel>(trainer: &ConvTrainer<K>, chunks: usize, threads: usize) -> Self {
        let batch = trainer.batch();
        let n = chunks.clamp(1, batch.max(1));
        let net = &trainer.net;
        let mut start = 0;
        let chunks = (0..n)
            .map(|c| {
                let width = batch / n + usize::from(c < batch % n);
                let (forward, inverse) = zero_gradients(net);
                let chunk = Chunk {
                    start,
                    ws: Work::new(net, width, batch),
                    forward,
                    inverse,
                    direct: Vec::new(),
                    direct_loss: Vec::new(),
                    local_loss: alloc::vec![0.0; trainer.local_loss.len()],
                    inverse_loss: alloc::vec![0.0; trainer.inverse_loss.len()],
                    rng: Pcg64::new(0, 0),
                };
                start += width;
                chunk
            })
            .collect();
        ConvParallel {
            chunks,
            team: Team::new(threads.clamp(1, n)),
        }
    }

    /// Number of chunks each minibatch is split into.
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Number of threads that run them.
    pub fn threads(&self) -> usize {
        self.team.threads()
    }

    /// Tests only: the team hands the chunks out last first (see `Team::claim_in_reverse`).
    #[cfg(test)]
    pub(crate) fn claim_in_reverse(&mut self) {
        self.team.claim_in_reverse();
    }

    /// The executor of the step driver for `t`'s minibatch, held in `t`'s batch buffers:
    /// `p.on(&mut t).step(rng)` (with [`Drive`](crate::step::Drive) in scope) is one DTP step
    /// on the chunks. With one chunk it is `t` itself.
    pub fn on<'a, K: Kernel>(&'a mut self, t: &'a mut ConvTrainer<K>) -> ConvExec<'a, K> {
        ConvExec { par: self, t }
    }

    /// One epoch of DTP over `data` by the configured schedule (as
    /// [`ConvTrainer::train_epoch`], by [`step::epoch`]).
    pub fn train_epoch<K, D, G>(
        &mut self,
        t: &mut ConvTrainer<K>,
        data: &mut D,
        rng: &mut G,
    ) -> Result<EpochStats, Error>
    where
        K: Kernel,
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        self.train_epoch_with(t, data, FeedbackPasses::NONE, rng)
    }

    /// [`train_epoch`](Self::train_epoch) with feedback-only passes around the epoch's
    /// training (as [`ConvTrainer::train_epoch_with`]).
    pub fn train_epoch_with<K, D, G>(
        &mut self,
        t: &mut ConvTrainer<K>,
        data: &mut D,
        passes: FeedbackPasses,
        rng: &mut G,
    ) -> Result<EpochStats, Error>
    where
        K: Kernel,
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        let sigma = t.sigma();
        let (schedule, trains) = (t.config.schedule, t.config.feedback != Feedback::Fixed);
        let (n, batch) = (data.batches(), t.batch());
        let mut e = self.on(t);
        let load = |e: &mut ConvExec<'_, K>, index| {
            let (x, labels) = e.t.batch_mut();
            data.fill(index, x, labels);
            Ok(())
        };
        let tally = step::epoch(&mut e, schedule, trains, passes, n, rng, load)?;
        let mut stats = EpochStats::from_pass(&tally, batch);
        stats.sigma = sigma;
        t.epoch = t.epoch.saturating_add(1);
        Ok(stats)
    }

    /// One epoch of backprop over `data` (as [`ConvTrainer::backprop_epoch`]).
    pub fn backprop_epoch<K, D, G>(
        &mut self,
        t: &mut ConvTrainer<K>,
        data: &mut D,
        rng: &mut G,
    ) -> Result<EpochStats, Error>
    where
        K: Kernel,
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        let (n, batch) = (data.batches(), t.batch());
        let mut e = self.on(t);
        let load = |e: &mut ConvExec<'_, K>, index| {
            let (x, labels) = e.t.batch_mut();
            data.fill(index, x, labels);
            Ok(())
        };
        let tally = step::pass(&mut e, n, rng, load, |e, r| e.backprop_step(r))?;
        t.epoch = t.epoch.saturating_add(1);
        Ok(EpochStats::from_pass(&tally, batch))
    }

    /// Runs `task` on every chunk (in parallel when there is a team); returns the chunks'
    /// statistics summed in chunk order, or the error of the first chunk (in chunk order)
    /// that failed.
    fn run<F>(&mut self, net: &ConvNet, config: &Config, task: F) -> Result<StepStats, Error>
    where
        F: Fn(&ConvNet, &Config, usize, &mut Chunk) -> Result<StepStats, Error> + Sync,
    {
        let results = self
            .team
            .map(&mut self.chunks, |index, c| task(net, config, index, c));
        let mut total = StepStats::default();
        for r in results {
            total.add(r?);
        }
        Ok(total)
    }

    /// Sums each layer's chunk gradients in chunk order and applies the optimiser (pieces of
    /// the layers in parallel), then sums the chunks' losses into the trainer's.
    fn update<K: Kernel>(&mut self, t: &mut ConvTrainer<K>, half: Half) -> Result<(), Error> {
        let direct = t.config.feedback.is_direct();
        let mut grads: Vec<_> = self
            .chunks
            .iter_mut()
            .map(|c| match half {
                Half::Forward => c.forward.iter_mut(),
                Half::Inverse if direct => c.direct.iter_mut(),
                Half::Inverse => c.inverse.iter_mut(),
            })
            .collect();
        let mut next = || {
            grads
                .iter_mut()
                .filter_map(Iterator::next)
                .collect::<Vec<_>>()
        };
        let mut tasks: Vec<Task<'_>> = Vec::new();
        match half {
            Half::Forward => {
                let (opt, frozen) = (t.config.forward_at(t.epoch), t.config.frozen);
                let layers = t.net.forward.iter_mut().zip(t.forward_state.iter_mut());
                for (n, (layer, state)) in layers.enumerate() {
                    // Every layer's gradients are taken from the chunks; a frozen one's dropped.
                    let grads = next();
                    if !frozen.contains(n + 1) {
                        let stages = crate::dtp::FORWARD;
                        cut(
                            &mut tasks,
                            &mut layer.params,
                            state,
                            grads,
                            opt,
                            n + 1,
                            stages,
                        );
                    }
                }
            }
            Half::Inverse if direct => {
                let opt = t.config.inverse;
                let d = t.net.direct.as_mut().ok_or(Error::NoFeedbackState)?;
                let st = t.direct_state.as_mut().ok_or(Error::NoFeedbackState)?;
                for (k, (q, state)) in d.q.iter_mut().zip(st.state.iter_mut()).enumerate() {
                    let stages = crate::dtp::INVERSE;
                    cut(&mut tasks, q, state, next(), opt, k + 1, stages);
                }
            }
            Half::Inverse => {
                let opt = t.config.inverse;
                let layers = t.net.inverse.iter_mut().zip(t.inverse_state.iter_mut());
                for (k, (layer, state)) in layers.enumerate() {
                    let stages = crate::dtp::INVERSE;
                    cut(
                        &mut tasks,
                        &mut layer.params,
                        state,
                        next(),
                        opt,
                        k + 2,
                        stages,
                    );
                }
            }
        }
        let results = self.team.map(&mut tasks, |_, task| task.run());
        results.into_iter().collect::<Result<(), Error>>()?;
        let losses = match (half, t.direct_state.as_mut()) {
            (Half::Forward, _) => &mut t.local_loss,
            (Half::Inverse, Some(st)) if direct => &mut st.loss,
            (Half::Inverse, _) => &mut t.inverse_loss,
        };
        for (k, l) in losses.iter_mut().enumerate() {
            *l = self
                .chunks
                .iter()
                .map(|c| match half {
                    Half::Forward => c.local_loss[k],
                    Half::Inverse if direct => c.direct_loss[k],
                    Half::Inverse => c.inverse_loss[k],
                })
                .sum();
        }
        Ok(())
    }
}

/// The chunk-parallel executor of the step driver ([`ConvParallel::on`]): each step one job
/// on the chunks; the feedback and forward steps then one update each. With one chunk every
/// step is the trainer's own.
pub struct ConvExec<'a, K: Kernel> {
    par: &'a mut ConvParallel,
    t: &'a mut ConvTrainer<K>,
}

impl<K: Kernel> ConvExec<'_, K> {
    /// Whether the chunks are the trainer itself.
    fn whole(&self) -> bool {
        self.par.chunks.len() == 1
    }

    /// Step 1 on the chunks: each chunk copies its columns of the trainer's minibatch,
    /// seeds its stream from `seed` and runs the forward pass; an evaluation's outputs are
    /// gathered into the trainer's [`output`](ConvTrainer::output).
    fn forward_chunks(&mut self, pass: Pass, seed: u128) -> Result<StepStats, Error> {
        let (x, labels) = (&self.t.ws.x, &self.t.ws.t);
        let (xs, ts) = (x.nrows(), labels.nrows());
        let (x, labels) = (x.as_slice(), labels.as_slice());
        let training = pass.training();
        let stats = self
            .par
            .run(&self.t.net, &self.t.config, |net, config, i, c| {
                c.rng = Pcg64::new(seed, i as u128);
                let cols = c.ws.columns();
                let (cx, ct) = c.ws.batch_mut();
                cx.as_mut_slice()
                    .copy_from_slice(&x[c.start * xs..(c.start + cols) * xs]);
                ct.as_mut_slice()
                    .copy_from_slice(&labels[c.start * ts..(c.start + cols) * ts]);
                c.ws.forward::<K, _>(net, config, training, &mut c.rng)
            })?;
        if pass == Pass::Evaluation {
            let p = self.t.output_mut();
            let rows = p.nrows();
            let p = p.as_mut_slice();
            for c in &self.par.chunks {
                let part = c.ws.output().as_slice();
                p[c.start * rows..c.start * rows + part.len()].copy_from_slice(part);
            }
        }
        Ok(stats)
    }

    /// One backprop step (as [`ConvTrainer::backprop_step`]): forward pass and every layer's
    /// exact gradient on the chunks, then the forward update.
    pub fn backprop_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        if self.whole() {
            return self.t.backprop_step(rng);
        }
        let stats = self.forward_chunks(Pass::Training, seed(rng))?;
        self.par
            .run(&self.t.net, &self.t.config, |net, config, _, c| {
                c.ws.backprop_gradients::<K>(net, config, &mut c.forward);
                Ok(StepStats::default())
            })?;
        self.par.update(self.t, Half::Forward)?;
        Ok(stats)
    }
}

impl Chunk {
    /// DDTP's step 4 gradients on this chunk ([`Work::direct_gradients`]), into its own
    /// buffers (made to the net's `Q_i` shapes on first use).
    fn direct_gradients<K: Kernel>(
        &mut self,
        net: &ConvNet,
        config: &Config,
        sigma: f32,
    ) -> Result<(), Error> {
        let d = net.direct.as_ref().ok_or(Error::NoFeedbackState)?;
        crate::direct::fit_buffers(d, &mut self.direct, &mut self.direct_loss);
        let sink = crate::direct::store::<K>(&mut self.direct, &mut self.direct_loss);
        self.ws
            .direct_gradients::<K, _, _>(net, config, sigma, &mut self.rng, sink)
    }
}

/// A fresh 128-bit seed for the chunks' streams, from the caller's generator.
fn seed<G: Rng + ?Sized>(rng: &mut G) -> u128 {
    (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
}

impl<K: Kernel> Steps for ConvExec<'_, K> {
    type Stats = StepStats;

    fn forward<G: Rng + ?Sized>(&mut self, pass: Pass, rng: &mut G) -> Result<StepStats, Error> {
        if self.whole() {
            return Steps::forward(self.t, pass, rng);
        }
        // An evaluation draws no noise, and takes nothing from the caller's generator (as the
        // whole-minibatch trainer's).
        let seed = if pass.training() { seed(rng) } else { 0 };
        self.forward_chunks(pass, seed)
    }

    fn feedback_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        if self.whole() {
            return Steps::feedback_step(self.t, rng);
        }
        if self.t.config.feedback == Feedback::Fixed {
            return Ok(());
        }
        let sigma = self.t.sigma();
        if self.t.config.feedback.is_direct() {
            self.par
                .run(&self.t.net, &self.t.config, |net, config, _, c| {
                    c.direct_gradients::<K>(net, config, sigma)?;
                    Ok(StepStats::default())
                })?;
            return self.par.update(self.t, Half::Inverse);
        }
        self.par
            .run(&self.t.net, &self.t.config, |net, config, _, c| {
                for i in 2..net.forward.len() {
                    let (ws, grad, rng) = (&mut c.ws, &mut c.inverse[i - 2], &mut c.rng);
                    c.inverse_loss[i - 2] =
                        ws.inverse_gradient::<K, _>(net, config, i, sigma, rng, grad);
                }
                Ok(StepStats::default())
            })?;
        self.par.update(self.t, Half::Inverse)
    }

    fn top_target(&mut self) -> Result<(), Error> {
        if self.whole() {
            return Steps::top_target(self.t);
        }
        self.par
            .run(&self.t.net, &self.t.config, |net, config, _, c| {
                c.ws.top_target::<K>(net, config)?;
                Ok(StepStats::default())
            })?;
        Ok(())
    }

    fn difference_targets<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        if self.whole() {
            return Steps::difference_targets(self.t, rng);
        }
        self.par
            .run(&self.t.net, &self.t.config, |net, config, _, c| {
                c.ws.difference_targets::<K>(net, config)?;
                Ok(StepStats::default())
            })?;
        Ok(())
    }

    fn forward_step(&mut self) -> Result<(), Error> {
        if self.whole() {
            return Steps::forward_step(self.t);
        }
        self.par
            .run(&self.t.net, &self.t.config, |net, config, _, c| {
                let (grads, losses) = (&mut c.forward, &mut c.local_loss);
                c.ws.local_gradients::<K>(net, config, grads, losses);
                Ok(StepStats::default())
            })?;
        self.par.update(self.t, Half::Forward)
    }

    fn measured(&mut self, forward: StepStats) -> Result<StepStats, Error> {
        Ok(forward)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::LayerSpec;
    use crate::noise::standard_normal;
    use crate::step::Drive;
    use crate::{Init, Optimiser, Portable, Schedule, SigmaSchedule};

    /// Every tensor's bits after two DTP steps (one per schedule's order) and a backprop step
    /// of a `1×5×5 - c3k3s1p1 - c2k3s2 - 6 - 3` net on a minibatch of 8 split in four chunks
    /// on `threads` threads, the chunks handed out last first if `reverse`.
    fn trained(threads: usize, reverse: bool) -> Vec<u32> {
        let specs = [
            LayerSpec::Conv {
                channels: 3,
                kernel: 3,
                stride: 1,
                padding: 1,
            },
            LayerSpec::Conv {
                channels: 2,
                kernel: 3,
                stride: 2,
                padding: 0,
            },
            LayerSpec::Dense(6),
            LayerSpec::Dense(3),
        ];
        let mut net = ConvNet::new((1, 5, 5), &specs).unwrap();
        let mut r = Pcg64::new(1, 1);
        net.initialise(Init::Orthogonal, &mut r);
        let config = Config {
            forward: Optimiser::rmsprop(3e-3),
            sigma: SigmaSchedule::constant(0.3),
            input_noise: 0.1,
            schedule: Schedule::Interleaved,
            ..Config::CONTINUOUS
        };
        let mut t = ConvTrainer::<Portable>::new(net, 8, config).unwrap();
        let (x, labels) = t.batch_mut();
        x.as_mut_slice()
            .iter_mut()
            .for_each(|v| *v = standard_normal(&mut r));
        labels.fill(0.0);
        for b in 0..8 {
            labels[(b % 3, b)] = 1.0;
        }
        let mut p = ConvParallel::new(&t, 4, threads);
        if reverse {
            p.claim_in_reverse();
        }
        let mut rng = Pcg64::new(5, 5);
        p.on(&mut t).step(&mut rng).unwrap();
        p.on(&mut t).inverse_only(&mut rng).unwrap();
        p.on(&mut t).forward_only(&mut rng).unwrap();
        p.on(&mut t).backprop_step(&mut rng).unwrap();
        let mut bits = Vec::new();
        crate::Tensors::visit(&t, &mut |_, _, v| {
            bits.extend(v.iter().map(|x| x.to_bits()))
        });
        bits
    }

    /// Each chunk's stream and each chunk's place in the sums are the chunk's, not the order
    /// in which the threads claimed (or finished) the chunks: handed out last first, on one
    /// thread (an order that is certain) and on two, every bit is that of the natural order.
    #[test]
    fn the_order_the_chunks_are_claimed_in_does_not_change_a_bit() {
        let natural = trained(1, false);
        if !cfg!(miri) {
            assert_eq!(trained(1, true), natural, "1 thread, reversed");
        }
        assert_eq!(trained(2, true), natural, "2 threads, reversed");
    }
}
