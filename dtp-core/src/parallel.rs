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

use crate::config::{Feedback, FeedbackPasses, Gradient};
use crate::dense::Dense;
use crate::error::{Error, Stage, check_finite};
use crate::kernel::Kernel;
use crate::layout::Dynamic;
use crate::optim::{DenseState, Optimiser};
use crate::step::{self, Pass, Steps, Tally};
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
/// use dtp_core::step::Drive;
/// use dtp_core::{Config, DynTrainer, Init, Portable};
/// use rand_pcg::Pcg64;
///
/// let mut t = DynTrainer::<Portable>::with_widths(&[6, 5, 5, 3], 8).unwrap();
/// t.init(Config::CONTINUOUS, Init::Orthogonal, &mut Pcg64::new(1, 1)).unwrap();
/// let mut p = Parallel::new(&t, 2, 2); // two chunks of 4 columns, two threads
/// t.input_mut().fill(0.5);
/// t.labels_mut().row_mut(1).fill(1.0);
/// let stats = p.on(&mut t).step(&mut Pcg64::new(2, 2)).unwrap();
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
    /// Gradients of DDTP's `Q_1 … Q_{M-1}` (made on first use).
    direct: Vec<DynDense>,
    /// Local loss of `f_1 … f_{M-1}`, reconstruction loss of `g_2 … g_{M-1}`, DDTP's
    /// difference reconstruction loss of `Q_1 … Q_{M-1}`.
    local_loss: Vec<f32>,
    inverse_loss: Vec<f32>,
    direct_loss: Vec<f32>,
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
                    direct: Vec::new(),
                    local_loss: alloc::vec![0.0; layers - 1],
                    inverse_loss: alloc::vec![0.0; layers - 2],
                    direct_loss: Vec::new(),
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

    /// The executor of the step driver ([`step`] module) for `t`'s minibatch, held in
    /// `t`'s batch buffers: `p.on(&mut t).step(rng)` (with [`Drive`](crate::step::Drive) in
    /// scope) is one DTP step on the chunks. With one chunk it is `t` itself (same code, same
    /// streams).
    pub fn on<'a, K: Kernel>(&'a mut self, t: &'a mut DynTrainer<K>) -> Exec<'a, K> {
        Exec {
            par: self,
            t,
            data: None,
            source: Load::Trainer,
            unreported: None,
            plan: Plan::default(),
            stats: StepStats::default(),
        }
    }

    /// One epoch over `data` (as [`Trainer::train_epoch`](crate::Trainer::train_epoch)), by
    /// the step driver ([`step::epoch`]).
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
        self.train_epoch_with(t, data, FeedbackPasses::NONE, rng)
    }

    /// [`train_epoch`](Self::train_epoch) with feedback-only passes around the epoch's
    /// training (as [`Trainer::train_epoch_with`](crate::Trainer::train_epoch_with)).
    pub fn train_epoch_with<K, D, G>(
        &mut self,
        t: &mut DynTrainer<K>,
        data: &mut D,
        feedback_passes: FeedbackPasses,
        rng: &mut G,
    ) -> Result<EpochStats, Error>
    where
        K: Kernel,
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        let sigma = t.sigma();
        let (schedule, feedback) = (t.config.schedule, t.config.feedback);
        let (n, batch) = (data.batches(), t.batch());
        let mut data = Data(data);
        let mut e = self.on(t);
        e.data = Some(&mut data);
        let load = |e: &mut Exec<'_, K>, index| e.load(index);
        let trains = feedback != Feedback::Fixed;
        let tally = step::epoch(&mut e, schedule, trains, feedback_passes, n, rng, load)?;
        e.report_filled();
        let mut stats = EpochStats::from_pass(&tally, batch);
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
        let (n, batch) = (data.batches(), t.batch());
        let mut data = Data(data);
        let mut e = self.on(t);
        e.data = Some(&mut data);
        let load = |e: &mut Exec<'_, K>, index| e.load(index);
        let tally = step::pass(&mut e, n, rng, load, |e, r| e.backprop_step(gradient, r))?;
        e.report_filled();
        t.epoch = t.epoch.saturating_add(1);
        Ok(EpochStats::from_pass(&tally, batch))
    }

    /// Runs `task` on every chunk (in parallel when there is a team), after seeding its
    /// stream from `seed` and loading its columns from `source` (checked: finite inputs and
    /// targets); returns the sum of the chunks' statistics, or the first chunk's error.
    fn run<K, F>(
        &mut self,
        t: &DynTrainer<K>,
        seed: u128,
        source: Source<'_>,
        task: F,
    ) -> Result<StepStats, Error>
    where
        K: Kernel,
        F: Fn(&crate::net::Net<Dynamic>, &crate::Config, &mut Chunk) -> Result<StepStats, Error>
            + Sync,
    {
        if let Source::Trainer = source {
            t.check_batch()?;
        }
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
            total.add(r?);
        }
        Ok(total)
    }

    /// Sums each layer's chunk gradients in chunk order and applies the optimiser, layers in
    /// parallel; then sums the chunks' losses into the trainer's.
    fn update<K: Kernel>(&mut self, t: &mut DynTrainer<K>, half: Half) -> Result<(), Error> {
        let (opt, inverse_opt) = (t.config.forward_at(t.epoch), t.config.inverse);
        let direct = t.config.feedback.is_direct();
        let mut grads: Vec<_> = self
            .chunks
            .iter_mut()
            .map(|c| match half {
                Half::Forward => c.forward.iter_mut().chain(c.direct[..0].iter_mut()),
                Half::Inverse if direct => c.inverse[..0].iter_mut().chain(c.direct.iter_mut()),
                // DTP's inverses, then the output layer's inverse of `Feedback::DtpOutput`.
                Half::Inverse => c.inverse.iter_mut().chain(c.direct.iter_mut()),
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
                // Every layer's gradients are taken from the chunks; those of the layers in
                // `Config::frozen` are dropped.
                let frozen = t.config.frozen;
                let grads = next();
                if !frozen.contains(1) {
                    cut(
                        &mut tasks,
                        &mut net.first,
                        &mut state.first,
                        grads,
                        opt,
                        1,
                        fwd,
                    );
                }
                let hidden = net.hidden.iter_mut().zip(state.hidden.iter_mut());
                for (k, (p, s)) in hidden.enumerate() {
                    let grads = next();
                    if !frozen.contains(k + 2) {
                        cut(&mut tasks, p, s, grads, opt, k + 2, fwd);
                    }
                }
                let grads = next();
                if !frozen.contains(m) {
                    cut(
                        &mut tasks,
                        &mut net.output,
                        &mut state.output,
                        grads,
                        opt,
                        m,
                        fwd,
                    );
                }
            }
            Half::Inverse if direct => {
                let inv = [Stage::InverseGradient, Stage::InverseWeights];
                let d = net.direct.as_deref_mut().ok_or(Error::NoFeedbackState)?;
                let st = t
                    .direct_state
                    .as_deref_mut()
                    .ok_or(Error::NoFeedbackState)?;
                for (k, (p, s)) in d.q.iter_mut().zip(st.state.iter_mut()).enumerate() {
                    cut(&mut tasks, p, s, next(), inverse_opt, k + 1, inv);
                }
            }
            Half::Inverse => {
                let inv = [Stage::InverseGradient, Stage::InverseWeights];
                let states = t.inverse_state.iter_mut();
                let m = net.layers();
                for (k, (p, s)) in net.inverse.iter_mut().zip(states).enumerate() {
                    cut(&mut tasks, p, s, next(), inverse_opt, k + 2, inv);
                }
                if let (Some(d), Some(st)) =
                    (net.direct.as_deref_mut(), t.direct_state.as_deref_mut())
                {
                    // The output layer's inverse (`Feedback::DtpOutput`), layer M's.
                    for (p, s) in d.q.iter_mut().zip(st.state.iter_mut()) {
                        cut(&mut tasks, p, s, next(), inverse_opt, m, inv);
                    }
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
            Half::Inverse if direct => {
                if let Some(st) = t.direct_state.as_deref_mut() {
                    for (k, l) in st.loss.iter_mut().enumerate() {
                        *l = self.chunks.iter().map(|c| c.direct_loss[k]).sum();
                    }
                }
            }
            Half::Inverse => {
                for (k, l) in t.inverse_loss.iter_mut().enumerate() {
                    *l = self.chunks.iter().map(|c| c.inverse_loss[k]).sum();
                }
                if let Some(st) = t.direct_state.as_deref_mut() {
                    for (k, l) in st.loss.iter_mut().enumerate() {
                        *l = self.chunks.iter().map(|c| c.direct_loss[k]).sum();
                    }
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
pub(crate) struct Task<'a> {
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
    pub(crate) fn run(&mut self) -> Result<(), Error> {
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
pub(crate) fn cut<'a>(
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
    /// Step 4's gradients on this chunk (after its forward pass), by the configured rule
    /// ([`Workspace::feedback_gradient`]); nothing for fixed feedback weights.
    fn feedback_gradients<K: Kernel>(
        &mut self,
        net: &crate::net::Net<Dynamic>,
        config: &crate::Config,
        sigma: f32,
    ) -> Result<(), Error> {
        if config.feedback == Feedback::Fixed {
            return Ok(());
        }
        if config.feedback.is_direct() {
            return self.direct_gradients::<K>(net, config, sigma);
        }
        for k in 1..=net.depth() {
            let (ws, grad, rng) = (&mut self.ws, &mut self.inverse[k - 1], &mut self.rng);
            let rule = match config.feedback {
                Feedback::DtpOutput => Feedback::Dtp,
                rule => rule,
            };
            let (loss, g) = ws.feedback_gradient::<K, _>(rule, net, config.units, k, sigma, rng)?;
            g.write::<K>(grad);
            self.inverse_loss[k - 1] = loss;
        }
        if config.feedback == Feedback::DtpOutput {
            // The output layer's inverse, after DTP's (as `Trainer::feedback_step`).
            return self.direct_gradients::<K>(net, config, sigma);
        }
        Ok(())
    }

    /// DDTP's step 4 gradients on this chunk ([`Workspace::direct_gradients`]).
    fn direct_gradients<K: Kernel>(
        &mut self,
        net: &crate::net::Net<Dynamic>,
        config: &crate::Config,
        sigma: f32,
    ) -> Result<(), Error> {
        let d = net.direct.as_deref().ok_or(Error::NoFeedbackState)?;
        crate::direct::fit_buffers(d, &mut self.direct, &mut self.direct_loss);
        let sink = crate::direct::store::<K>(&mut self.direct, &mut self.direct_loss);
        self.ws
            .direct_gradients::<K, _, _>(net, config, sigma, &mut self.rng, sink)
    }

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

/// Where the next job's minibatch comes from, as the executor records it.
#[derive(Clone, Copy)]
enum Load {
    /// The trainer's batch buffers.
    Trainer,
    /// Minibatch `.0` of the epoch's column source.
    Columns(usize),
    /// What the chunks hold already.
    Kept,
}

/// The steps an executor has been asked for and not yet run: they run as one job on the
/// chunks when the parameters must change (a feedback or forward update) or when the figures
/// are asked for.
#[derive(Clone, Copy, Default)]
struct Plan {
    /// Step 1, and how much of it.
    forward: Option<Pass>,
    /// Step 4's gradients.
    feedback: bool,
    /// Steps 2, 3 and 5's gradients.
    targets: bool,
    /// The chunks' streams' seed, drawn from the caller's generator when the job's first
    /// step that draws was asked for.
    seed: Option<u128>,
}

/// A minibatch source seen by the executor (any [`Batches`], type-erased).
trait Loader {
    fn fill(
        &mut self,
        index: usize,
        x: &mut crate::mat::OMat<Dyn, Dyn>,
        t: &mut crate::mat::OMat<Dyn, Dyn>,
    );
    fn columns(&self) -> Option<&dyn BatchColumns>;
    fn filled_elsewhere(&mut self, index: usize);
}

/// The [`Source`] of a job whose minibatch was recorded as `load`.
fn source<'s>(load: Load, data: Option<&'s (dyn Loader + 's)>) -> Source<'s> {
    match load {
        Load::Trainer => Source::Trainer,
        Load::Kept => Source::Kept,
        Load::Columns(index) => {
            let columns = data.and_then(Loader::columns);
            Source::Columns(columns.expect("an epoch's column source"), index)
        }
    }
}

/// A `&mut` [`Batches`] as a [`Loader`].
struct Data<'d, D: ?Sized>(&'d mut D);

impl<D: Batches<Dyn, Dyn, Dyn> + ?Sized> Loader for Data<'_, D> {
    fn fill(
        &mut self,
        index: usize,
        x: &mut crate::mat::OMat<Dyn, Dyn>,
        t: &mut crate::mat::OMat<Dyn, Dyn>,
    ) {
        self.0.fill(index, x, t);
    }
    fn columns(&self) -> Option<&dyn BatchColumns> {
        self.0.columns()
    }
    fn filled_elsewhere(&mut self, index: usize) {
        self.0.filled_elsewhere(index);
    }
}

/// The chunk-parallel executor of the step driver ([`Parallel::on`]): steps 1 and 4 run as
/// one job on the chunks, then the feedback update; steps 2, 3 and 5 as another, then the
/// forward update. With one chunk every step is the trainer's own.
pub struct Exec<'a, K: Kernel> {
    par: &'a mut Parallel,
    t: &'a mut DynTrainer<K>,
    data: Option<&'a mut dyn Loader>,
    source: Load,
    /// A minibatch written through the source's columns whose step has not been reported.
    unreported: Option<usize>,
    plan: Plan,
    stats: StepStats,
}

impl<K: Kernel> Exec<'_, K> {
    /// Whether the chunks are the trainer itself.
    fn whole(&self) -> bool {
        self.par.chunks.len() == 1
    }

    /// Puts minibatch `index` of the epoch's source into the executor: each chunk writes its
    /// own columns when the source can, else the trainer's buffers are filled.
    fn load(&mut self, index: usize) -> Result<(), Error> {
        self.report_filled();
        let whole = self.whole();
        let data = self.data.as_deref_mut().expect("an epoch's source");
        if !whole && data.columns().is_some() {
            self.unreported = Some(index);
            self.source = Load::Columns(index);
        } else {
            let (x, labels) = self.t.batch_mut();
            data.fill(index, x, labels);
            self.source = Load::Trainer;
        }
        Ok(())
    }

    /// Tells the source that the last minibatch its columns gave was trained on
    /// ([`Batches::filled_elsewhere`]): once its step succeeded, before the next is loaded.
    fn report_filled(&mut self) {
        if let (Some(index), Some(data)) = (self.unreported.take(), self.data.as_deref_mut()) {
            data.filled_elsewhere(index);
        }
    }

    /// Draws the chunks' seed for the pending job, unless it has one.
    fn seed<G: Rng + ?Sized>(&mut self, rng: &mut G) {
        if self.plan.seed.is_none() {
            self.plan.seed = Some((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()));
        }
    }

    /// Runs the pending steps as one job on the chunks, then `update` (if any).
    fn flush(&mut self, update: Option<Half>) -> Result<(), Error> {
        let plan = core::mem::take(&mut self.plan);
        let source = source(self.source, self.data.as_deref());
        let sigma = self.t.sigma();
        let seed = plan.seed.unwrap_or(0);
        let stats = self.par.run(self.t, seed, source, |net, config, c| {
            let mut stats = StepStats::default();
            match plan.forward {
                Some(Pass::Feedback) if config.feedback == Feedback::Dtp => {
                    c.ws.forward_for_inverses::<K, _>(net, config, &mut c.rng);
                }
                Some(pass) => {
                    stats =
                        c.ws.forward::<K, _>(net, config, pass.training(), &mut c.rng)?;
                }
                None => {}
            }
            if plan.feedback {
                c.feedback_gradients::<K>(net, config, sigma)?;
            }
            if plan.targets {
                c.targets_and_forward_gradients::<K>(net, config)?;
            }
            Ok(stats)
        })?;
        self.source = Load::Kept;
        if let Some(pass) = plan.forward {
            self.stats = stats;
            if pass == Pass::Evaluation {
                self.gather_output();
            }
        }
        match update {
            Some(Half::Inverse) if self.t.config.feedback == Feedback::Fixed => Ok(()),
            Some(half) => self.par.update(self.t, half),
            None => Ok(()),
        }
    }

    /// Copies the chunks' outputs into the trainer's [`output`](crate::Trainer::output).
    fn gather_output(&mut self) {
        let rows = self.t.ws.p.nrows();
        let p = self.t.ws.p.as_mut_slice();
        for c in &self.par.chunks {
            let part = c.ws.p.as_slice();
            p[c.start * rows..c.start * rows + part.len()].copy_from_slice(part);
        }
    }

    /// One backprop step (as [`Trainer::backprop_step`](crate::Trainer::backprop_step)):
    /// forward pass and every layer's exact gradient on the chunks, then the forward update.
    pub fn backprop_step<G: Rng + ?Sized>(
        &mut self,
        gradient: Gradient,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        if self.whole() {
            return self.t.backprop_step(gradient, rng);
        }
        self.seed(rng);
        let seed = self.plan.seed.take().unwrap_or(0);
        let source = source(self.source, self.data.as_deref());
        let stats = self.par.run(self.t, seed, source, |net, config, c| {
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
        self.source = Load::Kept;
        self.par.update(self.t, Half::Forward)?;
        Ok(stats)
    }
}

impl<K: Kernel> Steps for Exec<'_, K> {
    type Stats = StepStats;

    fn forward<G: Rng + ?Sized>(&mut self, pass: Pass, rng: &mut G) -> Result<StepStats, Error> {
        if self.whole() {
            return Steps::forward(self.t, pass, rng);
        }
        self.plan.forward = Some(pass);
        self.seed(rng);
        Ok(StepStats::default())
    }

    fn feedback_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        if self.whole() {
            return Steps::feedback_step(self.t, rng);
        }
        self.plan.feedback = true;
        self.seed(rng);
        self.flush(Some(Half::Inverse))
    }

    fn top_target(&mut self) -> Result<(), Error> {
        if self.whole() {
            return Steps::top_target(self.t);
        }
        self.plan.targets = true;
        Ok(())
    }

    fn difference_targets<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        if self.whole() {
            return Steps::difference_targets(self.t, rng);
        }
        self.plan.targets = true;
        self.seed(rng);
        Ok(())
    }

    fn forward_step(&mut self) -> Result<(), Error> {
        if self.whole() {
            return Steps::forward_step(self.t);
        }
        self.flush(Some(Half::Forward))
    }

    fn measured(&mut self, forward: StepStats) -> Result<StepStats, Error> {
        if self.whole() {
            return Ok(forward);
        }
        if self.plan.forward.is_some() {
            self.flush(None)?;
        }
        Ok(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::standard_normal;
    use crate::{Config, Init, OMat, Portable, Schedule, SigmaSchedule, Units};

    const WIDTHS: [usize; 4] = [6, 5, 4, 3];
    const BATCH: usize = 8;

    /// Four minibatches of random inputs and one-hot targets.
    struct Data(Vec<f32>, Vec<usize>);

    impl Batches<Dyn, Dyn, Dyn> for Data {
        fn batches(&self) -> usize {
            self.1.len() / BATCH
        }

        fn fill(&mut self, index: usize, x: &mut OMat<Dyn, Dyn>, t: &mut OMat<Dyn, Dyn>) {
            let f = WIDTHS[0];
            t.fill(0.0);
            for col in 0..x.ncols() {
                let i = index * x.ncols() + col;
                x.column_mut(col)
                    .copy_from_slice(&self.0[i * f..(i + 1) * f]);
                t[(self.1[i], col)] = 1.0;
            }
        }
    }

    /// Every weight's bits after an epoch of `units` with four chunks on `threads` threads,
    /// the chunks handed out last first if `reverse`.
    fn trained(units: Units, threads: usize, reverse: bool) -> Vec<u32> {
        let mut r = Pcg64::new(1, 1);
        let n = 4 * BATCH;
        let xs = (0..n * WIDTHS[0])
            .map(|_| standard_normal(&mut r))
            .collect();
        let ys = (0..n).map(|_| r.next_u32() as usize % WIDTHS[3]).collect();
        let config = Config {
            units,
            forward: Optimiser::rmsprop(3e-3),
            inverse: Optimiser::rmsprop(1e-3),
            sigma: SigmaSchedule {
                sigma0: 0.3,
                tau: 5.0,
            },
            input_noise: 0.1,
            schedule: Schedule::Alternating,
            ..Config::CONTINUOUS
        };
        let mut t = DynTrainer::<Portable>::with_widths(&WIDTHS, BATCH).unwrap();
        t.init(config, Init::Orthogonal, &mut Pcg64::new(3, 3))
            .unwrap();
        let mut p = Parallel::new(&t, 4, threads);
        if reverse {
            p.team.claim_in_reverse();
        }
        p.train_epoch(&mut t, &mut Data(xs, ys), &mut Pcg64::new(5, 5))
            .unwrap();
        let mut bits = Vec::new();
        t.net
            .for_each_slice(|s| bits.extend(s.iter().map(|x| x.to_bits())));
        bits
    }

    /// Each chunk's random stream is the chunk's, not the order in which the threads happened
    /// to claim the chunks: with the chunks handed out last first (on one thread, so the order
    /// is certain, and on two) every weight bit is that of the natural order. Timing plays no
    /// part: a stream seeded from a claim counter gets chunk 3 the stream of chunk 0 on every
    /// run.
    #[test]
    fn the_order_the_chunks_are_claimed_in_does_not_change_a_bit() {
        // Under Miri (minutes a training there) only the stochastic units, on two threads.
        let units: &[Units] = if cfg!(miri) {
            &[Units::STOCHASTIC]
        } else {
            &[Units::CONTINUOUS, Units::STOCHASTIC]
        };
        for &units in units {
            let natural = trained(units, 1, false);
            if !cfg!(miri) {
                assert_eq!(
                    trained(units, 1, true),
                    natural,
                    "{units:?}, 1 thread, reversed"
                );
            }
            assert_eq!(
                trained(units, 2, true),
                natural,
                "{units:?}, 2 threads, reversed"
            );
        }
    }
}
