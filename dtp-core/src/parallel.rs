//! Data-parallel training on the desktop (feature `std`): every minibatch split into a fixed
//! number of chunks of columns, each carried by one worker through the forward pass, the
//! targets and the local gradients, the chunks' gradients summed in a fixed order and applied
//! once — the same step as [`Trainer`](crate::Trainer)'s, on as many cores as there are chunks.
//!
//! # Why chunks of the minibatch
//! A DTP step on a 784-240×7-10 network is ~60 products of 240×240×100; threads *inside*
//! each product cost more in synchronisation than they save at these sizes. Chunks of the
//! minibatch meet twice per step (after the gradients, after the update) whatever the depth,
//! and every part of the step — element-wise work, noise, optimiser — is split, not only the
//! products. (The other split DTP allows, one thread per layer once the targets are known,
//! leaves the forward pass and the targets serial; BENCHMARKS.md measures both.) The four jobs
//! of a minibatch pair (two chunk passes, two updates) go to a [`Team`] whose helpers stay
//! awake between them (a pool that puts its workers to sleep paid ≈ 5 % of an epoch in
//! wake-ups).
//!
//! # What the chunks change, and what they do not
//! Every batch mean keeps the minibatch's `B` (not the chunk's column count): a chunk's gradient
//! is its columns' share of the minibatch gradient, the chunks' sum is the minibatch
//! gradient, and the targets are the minibatch's targets (each sample moves by `η̂/B` times
//! its own gradient). What differs from one whole-minibatch [`Trainer`](crate::Trainer) is the order of
//! floating-point sums and the random streams: each chunk draws its noise and Bernoulli
//! samples from its own stream, seeded per minibatch from the caller's generator.
//!
//! **Results depend on the number of chunks, never on the number of threads**: chunk `c`
//! always holds the same columns and the same stream, its arithmetic is the same whichever
//! thread runs it, and layer `l`'s gradient is always `((g_0 + g_1) + g_2) + …` applied by
//! one thread. One chunk is exactly the [`Trainer`](crate::Trainer)'s own step (same code, same streams).

use crate::config::{Feedback, Gradient, Schedule};
use crate::dense::Dense;
use crate::error::{Error, Stage, check_finite};
use crate::kernel::Kernel;
use crate::layout::Dynamic;
use crate::optim::{DenseState, Optimiser};
use crate::team::Team;
use crate::trainer::{BatchColumns, Batches, DynTrainer, EpochStats, StepStats, Workspace};
use alloc::vec::Vec;
use nalgebra::Dyn;
use rand_core::Rng;
use rand_pcg::Pcg64;

type DynDense = Dense<Dyn, Dyn>;

/// Workers that run a [`DynTrainer`]'s steps on chunks of each minibatch in parallel: the
/// trainer keeps the parameters, optimiser states and settings; each method takes it.
///
/// # Example
/// ```
/// use dtp_core::parallel::Parallel;
/// use dtp_core::{Config, DynTrainer, Init, Portable};
/// use rand_pcg::Pcg64;
///
/// let mut t = DynTrainer::<Portable>::with_widths(&[6, 5, 5, 3], 8).unwrap();
/// t.init(Config::CONTINUOUS, Init::Orthogonal, &mut Pcg64::new(1, 1)).unwrap();
/// let mut p = Parallel::new(&t, 2, 2); // two chunks of 4 columns, two threads
/// t.input_mut().fill(0.5);
/// t.labels_mut().row_mut(1).fill(1.0);
/// let stats = p.step(&mut t, &mut Pcg64::new(2, 2)).unwrap();
/// assert!(stats.loss.is_finite() && t.net.is_finite());
/// ```
pub struct Parallel {
    chunks: Vec<Chunk>,
    team: Team,
}

/// One chunk's buffers, gradients and losses.
struct Chunk {
    /// First column of the minibatch this chunk holds.
    start: usize,
    ws: Workspace<Dynamic, Dyn>,
    /// Gradients `f_1 … f_M`.
    forward: Vec<DynDense>,
    /// Gradients `g_2 … g_{M-1}`.
    inverse: Vec<DynDense>,
    /// Local loss of `f_1 … f_{M-1}`, reconstruction loss of `g_2 … g_{M-1}`.
    local_loss: Vec<f32>,
    inverse_loss: Vec<f32>,
    rng: Pcg64,
}

/// Where the chunks' columns of a minibatch come from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// The trainer's batch buffers: checked on the caller's thread, then each chunk copies its
    /// columns.
    Trainer,
    /// Minibatch `.1` of a column source, written by each chunk straight into its buffers and
    /// checked there (no whole-minibatch fill on the caller's thread, no copy).
    Columns(&'a dyn BatchColumns, usize),
    /// The chunks keep what they hold (the second half of an interleaved step).
    Kept,
}

/// Which half of the parameters an update applies to.
#[derive(Clone, Copy)]
enum Half {
    Forward,
    Inverse,
}

impl Parallel {
    /// Workers for `trainer`'s network and minibatch: the minibatch split into `chunks` chunks
    /// of consecutive columns (as equal as the batch allows; at least 1, at most one column
    /// each), run by `threads` threads (at most one per chunk; 1 runs them one after the other
    /// on the caller's thread): the caller and `threads − 1` helpers of a [`Team`], which
    /// also share each update. Use them with this trainer only (or one of the same shape).
    pub fn new<K: Kernel>(trainer: &DynTrainer<K>, chunks: usize, threads: usize) -> Self {
        let batch = trainer.batch();
        let n = chunks.clamp(1, batch.max(1));
        let widths: Vec<usize> = trainer.net.widths().collect();
        let layers = widths.len() - 1;
        let zeros_like = |d: &DynDense| Dense::zeros_generic(Dyn(d.w.nrows()), Dyn(d.w.ncols()));
        let mut start = 0;
        let chunks = (0..n)
            .map(|c| {
                let width = batch / n + usize::from(c < batch % n);
                let mut ws = Workspace::with_widths(&widths, width);
                ws.mean_over = batch as u32;
                let net = &trainer.net;
                let chunk = Chunk {
                    start,
                    ws,
                    forward: core::iter::once(&net.first)
                        .chain(net.hidden.iter())
                        .chain(core::iter::once(&net.output))
                        .map(zeros_like)
                        .collect(),
                    inverse: net.inverse.iter().map(zeros_like).collect(),
                    local_loss: alloc::vec![0.0; layers - 1],
                    inverse_loss: alloc::vec![0.0; layers - 2],
                    rng: Pcg64::new(0, 0),
                };
                start += width;
                chunk
            })
            .collect();
        Parallel {
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

    /// One interleaved DTP step on the batch in the trainer's buffers (as [`Trainer::step`]):
    /// forward pass and feedback gradients in every chunk, feedback update, targets and
    /// forward gradients in every chunk, forward update.
    ///
    /// [`Trainer::step`]: crate::Trainer::step
    pub fn step<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        t: &mut DynTrainer<K>,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        if self.chunks.len() == 1 {
            return t.step(rng);
        }
        self.step_from(t, rng, Source::Trainer)
    }

    fn step_from<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        t: &mut DynTrainer<K>,
        rng: &mut G,
        source: Source<'_>,
    ) -> Result<StepStats, Error> {
        let stats = self.inverse_half(t, rng, source, true)?;
        // The chunks keep their (noisy) inputs and activations from the first half.
        self.run(t, rng, Source::Kept, |net, config, c| {
            c.targets_and_forward_gradients::<K>(net, config)
                .map(|()| StepStats::default())
        })?;
        self.update(t, Half::Forward)?;
        Ok(stats)
    }

    /// The inverse half of a step (as [`Trainer::inverse_only`](crate::Trainer::inverse_only)).
    pub fn inverse_only<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        t: &mut DynTrainer<K>,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        if self.chunks.len() == 1 {
            return t.inverse_only(rng);
        }
        self.inverse_half(t, rng, Source::Trainer, true)
    }

    /// The forward half of a step (as [`Trainer::forward_only`](crate::Trainer::forward_only)).
    pub fn forward_only<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        t: &mut DynTrainer<K>,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        if self.chunks.len() == 1 {
            return t.forward_only(rng);
        }
        self.forward_from(t, rng, Source::Trainer)
    }

    fn forward_from<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        t: &mut DynTrainer<K>,
        rng: &mut G,
        source: Source<'_>,
    ) -> Result<StepStats, Error> {
        let stats = self.run(t, rng, source, |net, config, c| {
            let stats = c.ws.forward::<K, _>(net, config, true, &mut c.rng)?;
            c.targets_and_forward_gradients::<K>(net, config)?;
            Ok(stats)
        })?;
        self.update(t, Half::Forward)?;
        Ok(stats)
    }

    /// One backprop step (as [`Trainer::backprop_step`](crate::Trainer::backprop_step)).
    pub fn backprop_step<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        t: &mut DynTrainer<K>,
        gradient: Gradient,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        if self.chunks.len() == 1 {
            return t.backprop_step(gradient, rng);
        }
        self.backprop_from(t, gradient, rng, Source::Trainer)
    }

    fn backprop_from<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        t: &mut DynTrainer<K>,
        gradient: Gradient,
        rng: &mut G,
        source: Source<'_>,
    ) -> Result<StepStats, Error> {
        let stats = self.run(t, rng, source, |net, config, c| {
            let stats = c.ws.forward::<K, _>(net, config, true, &mut c.rng)?;
            let units = config.units;
            let (ws, grads) = (&mut c.ws, &mut c.forward);
            let m = grads.len();
            ws.backprop_output::<K>(&net.output, units)
                .write::<K>(&mut grads[m - 1]);
            for k in (1..=net.depth()).rev() {
                ws.backprop_hidden::<K>(&net.hidden[k - 1], units, gradient, k)
                    .write::<K>(&mut grads[k]);
            }
            ws.backprop_first(units, gradient).write::<K>(&mut grads[0]);
            Ok(stats)
        })?;
        self.update(t, Half::Forward)?;
        Ok(stats)
    }

    /// The forward pass alone on the batch in the trainer's buffers, without training (as
    /// [`Trainer::evaluate`](crate::Trainer::evaluate)); the trainer's
    /// [`output`](crate::Trainer::output) holds the result.
    pub fn evaluate<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        t: &mut DynTrainer<K>,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        if self.chunks.len() == 1 {
            return t.evaluate(rng);
        }
        let stats = self.run(t, rng, Source::Trainer, |net, config, c| {
            c.ws.forward::<K, _>(net, config, false, &mut c.rng)
        })?;
        let rows = t.ws.p.nrows();
        let p = t.ws.p.as_mut_slice();
        for c in &self.chunks {
            let part = c.ws.p.as_slice();
            p[c.start * rows..c.start * rows + part.len()].copy_from_slice(part);
        }
        Ok(stats)
    }

    /// One epoch over `data` (as [`Trainer::train_epoch`](crate::Trainer::train_epoch)).
    pub fn train_epoch<K, D, G>(
        &mut self,
        t: &mut DynTrainer<K>,
        data: &mut D,
        rng: &mut G,
    ) -> Result<EpochStats, Error>
    where
        K: Kernel,
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        if self.chunks.len() == 1 {
            return t.train_epoch(data, rng);
        }
        let sigma = t.sigma();
        let config = t.config;
        if config.schedule == Schedule::Alternating && config.feedback != Feedback::Fixed {
            // Its statistics are not reported: the forward pass stops where the inverses'
            // training stops reading it.
            self.pass(t, data, rng, |p, t, r, s| p.inverse_half(t, r, s, false))?;
        }
        let mut stats = self.pass(t, data, rng, |p, t, r, s| match config.schedule {
            Schedule::Alternating => p.forward_from(t, r, s),
            Schedule::Interleaved => p.step_from(t, r, s),
        })?;
        stats.sigma = sigma;
        t.epoch = t.epoch.saturating_add(1);
        Ok(stats)
    }

    /// One epoch of backprop over `data` (as
    /// [`Trainer::backprop_epoch`](crate::Trainer::backprop_epoch)).
    pub fn backprop_epoch<K, D, G>(
        &mut self,
        t: &mut DynTrainer<K>,
        data: &mut D,
        gradient: Gradient,
        rng: &mut G,
    ) -> Result<EpochStats, Error>
    where
        K: Kernel,
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        if self.chunks.len() == 1 {
            return t.backprop_epoch(data, gradient, rng);
        }
        let stats = self.pass(t, data, rng, |p, t, r, s| {
            p.backprop_from(t, gradient, r, s)
        })?;
        t.epoch = t.epoch.saturating_add(1);
        Ok(stats)
    }

    fn pass<K, D, G>(
        &mut self,
        t: &mut DynTrainer<K>,
        data: &mut D,
        rng: &mut G,
        mut step: impl FnMut(
            &mut Self,
            &mut DynTrainer<K>,
            &mut G,
            Source<'_>,
        ) -> Result<StepStats, Error>,
    ) -> Result<EpochStats, Error>
    where
        K: Kernel,
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        let n = data.batches();
        let mut total = EpochStats::default();
        let mut correct = 0u64;
        for index in 0..n {
            let stats = match data.columns() {
                Some(columns) => step(self, t, rng, Source::Columns(columns, index))?,
                None => {
                    let (x, labels) = t.batch_mut();
                    data.fill(index, x, labels);
                    step(self, t, rng, Source::Trainer)?
                }
            };
            if data.columns().is_some() {
                data.filled_elsewhere(index);
            }
            total.loss += stats.loss;
            correct += u64::from(stats.correct);
        }
        if n > 0 {
            total.loss /= n as f32;
            total.error = 1.0 - correct as f32 / (n * t.batch()) as f32;
        }
        total.batches = n as u32;
        Ok(total)
    }

    /// Forward pass and feedback gradients in every chunk, then the feedback update. With
    /// `full` false and DTP's feedback, the forward pass stops below the last hidden layer
    /// ([`Workspace::forward_for_inverses`]: the same bits for everything after it) and the
    /// statistics returned are zero.
    fn inverse_half<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        t: &mut DynTrainer<K>,
        rng: &mut G,
        source: Source<'_>,
        full: bool,
    ) -> Result<StepStats, Error> {
        let sigma = t.sigma();
        let stats = self.run(t, rng, source, |net, config, c| {
            let stats = if full || config.feedback != Feedback::Dtp {
                c.ws.forward::<K, _>(net, config, true, &mut c.rng)?
            } else {
                c.ws.forward_for_inverses::<K, _>(net, config, &mut c.rng);
                StepStats::default()
            };
            let units = config.units;
            for k in 1..=net.depth() {
                let (ws, grad, rng) = (&mut c.ws, &mut c.inverse[k - 1], &mut c.rng);
                c.inverse_loss[k - 1] = match config.feedback {
                    Feedback::Dtp => {
                        let (loss, g) = ws.inverse_gradient::<K, _>(net, units, k, sigma, rng);
                        g.write::<K>(grad);
                        loss
                    }
                    Feedback::Drl => {
                        let (loss, g) = ws.drl_gradient::<K, _>(net, units, k, sigma, rng)?;
                        g.write::<K>(grad);
                        loss
                    }
                    Feedback::Fixed => 0.0,
                };
            }
            Ok(stats)
        })?;
        if t.config.feedback != Feedback::Fixed {
            self.update(t, Half::Inverse)?;
        }
        Ok(stats)
    }

    /// Runs `task` on every chunk (in parallel when there is a pool), after seeding its
    /// stream from `rng` and loading its columns from `source` (checked: finite inputs and
    /// targets); returns the sum of the chunks' statistics, or the first chunk's error.
    fn run<K, G, F>(
        &mut self,
        t: &DynTrainer<K>,
        rng: &mut G,
        source: Source<'_>,
        task: F,
    ) -> Result<StepStats, Error>
    where
        K: Kernel,
        G: Rng + ?Sized,
        F: Fn(&crate::net::Net<Dynamic>, &crate::Config, &mut Chunk) -> Result<StepStats, Error>
            + Sync,
    {
        if let Source::Trainer = source {
            t.check_batch()?;
        }
        let seed = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        let (net, config, ws) = (&t.net, &t.config, &t.ws);
        let one = |index: usize, c: &mut Chunk| {
            c.rng = Pcg64::new(seed, index as u128);
            match source {
                Source::Kept => {}
                Source::Trainer => {
                    let (xs, ts) = (ws.x.nrows(), ws.t.nrows());
                    let cols = c.ws.x.ncols();
                    let x = &ws.x.as_slice()[c.start * xs..(c.start + cols) * xs];
                    let t = &ws.t.as_slice()[c.start * ts..(c.start + cols) * ts];
                    c.ws.x.as_mut_slice().copy_from_slice(x);
                    c.ws.t.as_mut_slice().copy_from_slice(t);
                }
                Source::Columns(columns, batch) => {
                    let (x, t) = (c.ws.x.as_mut_slice(), c.ws.t.as_mut_slice());
                    columns.fill_columns(batch, c.start, x, t);
                    check_finite(c.ws.x.as_slice(), Stage::Input, 0)?;
                    check_finite(c.ws.t.as_slice(), Stage::Labels, 0)?;
                }
            }
            task(net, config, c)
        };
        let results = self.team.map(&mut self.chunks, one);
        let mut total = StepStats::default();
        for r in results {
            let s = r?;
            total.loss += s.loss;
            total.correct += s.correct;
        }
        Ok(total)
    }

    /// Sums each layer's chunk gradients in chunk order and applies the optimiser, layers in
    /// parallel; then sums the chunks' losses into the trainer's.
    fn update<K: Kernel>(&mut self, t: &mut DynTrainer<K>, half: Half) -> Result<(), Error> {
        let (opt, inverse_opt) = (t.config.forward_at(t.epoch), t.config.inverse);
        let mut grads: Vec<_> = self
            .chunks
            .iter_mut()
            .map(|c| match half {
                Half::Forward => c.forward.iter_mut(),
                Half::Inverse => c.inverse.iter_mut(),
            })
            .collect();
        let mut next = || {
            grads
                .iter_mut()
                .filter_map(Iterator::next)
                .collect::<Vec<_>>()
        };
        let net = &mut t.net;
        let mut tasks: Vec<Task<'_>> = Vec::new();
        match half {
            Half::Forward => {
                let fwd = [Stage::ForwardGradient, Stage::ForwardWeights];
                let state = &mut t.forward_state;
                let m = net.layers();
                cut(
                    &mut tasks,
                    &mut net.first,
                    &mut state.first,
                    next(),
                    opt,
                    1,
                    fwd,
                );
                let hidden = net.hidden.iter_mut().zip(state.hidden.iter_mut());
                for (k, (p, s)) in hidden.enumerate() {
                    cut(&mut tasks, p, s, next(), opt, k + 2, fwd);
                }
                cut(
                    &mut tasks,
                    &mut net.output,
                    &mut state.output,
                    next(),
                    opt,
                    m,
                    fwd,
                );
            }
            Half::Inverse => {
                let inv = [Stage::InverseGradient, Stage::InverseWeights];
                let states = t.inverse_state.iter_mut();
                for (k, (p, s)) in net.inverse.iter_mut().zip(states).enumerate() {
                    cut(&mut tasks, p, s, next(), inverse_opt, k + 2, inv);
                }
            }
        }
        let results = self.team.map(&mut tasks, |_, task| task.run());
        results.into_iter().collect::<Result<(), Error>>()?;
        match half {
            Half::Forward => {
                for (k, l) in t.local_loss.iter_mut().enumerate() {
                    *l = self.chunks.iter().map(|c| c.local_loss[k]).sum();
                }
            }
            Half::Inverse => {
                for (k, l) in t.inverse_loss.iter_mut().enumerate() {
                    *l = self.chunks.iter().map(|c| c.inverse_loss[k]).sum();
                }
            }
        }
        Ok(())
    }
}

/// Elements per update task: pieces of a few L2-resident arrays each, so two threads share
/// any mix of layers evenly (a per-element update gives the same bits however it is cut).
const PIECE: usize = 8192;

/// One piece of one tensor's update: its chunks' gradients summed into the first (in chunk
/// order), then the optimiser step.
struct Task<'a> {
    p: &'a mut [f32],
    a: &'a mut [f32],
    s: &'a mut [f32],
    v: &'a mut [f32],
    grads: Vec<&'a mut [f32]>,
    opt: Optimiser,
    /// The layer's number and the stages its errors are reported as.
    number: usize,
    stages: [Stage; 2],
}

impl Task<'_> {
    fn run(&mut self) -> Result<(), Error> {
        let Task {
            p,
            a,
            s,
            v,
            grads,
            opt,
            number,
            stages,
        } = self;
        let (number, stages) = (*number, *stages);
        let (sum, rest) = grads.split_first_mut().expect("at least one chunk");
        for g in rest {
            crate::simd::wide(
                #[inline(always)]
                || {
                    for (s, &g) in sum.iter_mut().zip(g.iter()) {
                        *s += g;
                    }
                },
            );
        }
        check_finite(sum, stages[0], number)?;
        if opt.update_slices(p, sum, a, s, v) {
            Ok(())
        } else {
            Err(Error::NonFinite {
                stage: stages[1],
                layer: number as u16,
            })
        }
    }
}

/// Cuts one layer's update (weights and bias) into [`Task`]s, `grads[c]` being chunk `c`'s
/// gradient of it.
fn cut<'a>(
    tasks: &mut Vec<Task<'a>>,
    param: &'a mut DynDense,
    state: &'a mut DenseState<Dyn, Dyn>,
    grads: Vec<&'a mut DynDense>,
    opt: Optimiser,
    number: usize,
    stages: [Stage; 2],
) {
    let (mut gw, mut gb): (Vec<_>, Vec<_>) = grads
        .into_iter()
        .map(|g| {
            (
                g.w.as_mut_slice().chunks_mut(PIECE),
                g.b.as_mut_slice().chunks_mut(PIECE),
            )
        })
        .unzip();
    let (sw, sb) = (&mut state.w, &mut state.b);
    let tensors = [
        (
            param.w.as_mut_slice(),
            [
                sw.a.as_mut_slice(),
                sw.s.as_mut_slice(),
                sw.v.as_mut_slice(),
            ],
            &mut gw,
        ),
        (
            param.b.as_mut_slice(),
            [
                sb.a.as_mut_slice(),
                sb.s.as_mut_slice(),
                sb.v.as_mut_slice(),
            ],
            &mut gb,
        ),
    ];
    for (p, [a, s, v], g) in tensors {
        let pieces = p
            .chunks_mut(PIECE)
            .zip(a.chunks_mut(PIECE))
            .zip(s.chunks_mut(PIECE))
            .zip(v.chunks_mut(PIECE));
        for (((p, a), s), v) in pieces {
            tasks.push(Task {
                p,
                a,
                s,
                v,
                grads: g.iter_mut().filter_map(Iterator::next).collect(),
                opt,
                number,
                stages,
            });
        }
    }
}

impl Chunk {
    /// Steps 2, 3 and 5's gradients on this chunk (after its forward pass).
    fn targets_and_forward_gradients<K: Kernel>(
        &mut self,
        net: &crate::net::Net<Dynamic>,
        config: &crate::Config,
    ) -> Result<(), Error> {
        let act = config.units.hidden;
        self.ws.top_target::<K>(net, config)?;
        self.ws
            .difference_targets::<K, _>(net, config, &mut self.rng)?;
        let (ws, grads, loss) = (&mut self.ws, &mut self.forward, &mut self.local_loss);
        // grads: f_1, f_2 … f_{M-1}, f_M; loss: f_1 … f_{M-1}.
        let (first, rest) = grads.split_first_mut().expect("a first layer");
        let (output, hidden) = rest.split_last_mut().expect("an output layer");
        let (l, g) = ws.first_gradient(act);
        g.write::<K>(first);
        loss[0] = l;
        for (k, (grad, l)) in hidden.iter_mut().zip(&mut loss[1..]).enumerate() {
            let (loss, g) = ws.hidden_gradient(act, k + 1);
            g.write::<K>(grad);
            *l = loss;
        }
        ws.output_gradient().write::<K>(output);
        Ok(())
    }
}
