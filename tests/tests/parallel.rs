//! Data-parallel training (`dtp_core::parallel`): the same seed gives the same bits whatever
//! the number of threads; chunks compute the minibatch's own gradient (their sum equals a
//! whole-minibatch step's up to rounding); one chunk is the trainer's own step.

use dtp_core::noise::standard_normal;
use dtp_core::parallel::Parallel;
use dtp_core::step::Drive;
use dtp_core::{
    BatchColumns, Batches, Blocked, Config, Dyn, DynTrainer, Feedback, Gradient, Init, LayerSet,
    OMat, Optimiser, Portable, Schedule, SigmaSchedule, Units,
};
use rand_core::Rng;
use rand_pcg::Pcg64;

const WIDTHS: [usize; 6] = [12, 9, 7, 8, 6, 4];

struct Data {
    x: Vec<f32>,
    y: Vec<usize>,
}

fn data(n: usize, seed: u64) -> Data {
    let mut r = Pcg64::new(seed.into(), 7);
    Data {
        x: (0..n * WIDTHS[0])
            .map(|_| standard_normal(&mut r))
            .collect(),
        y: (0..n)
            .map(|_| (r.next_u32() as usize) % WIDTHS[5])
            .collect(),
    }
}

struct InOrder<'a>(&'a Data);

impl Batches<Dyn, Dyn, Dyn> for InOrder<'_> {
    fn batches(&self) -> usize {
        self.0.y.len() / 10
    }

    fn fill(&mut self, index: usize, x: &mut OMat<Dyn, Dyn>, t: &mut OMat<Dyn, Dyn>) {
        let (d, f) = (self.0, WIDTHS[0]);
        t.fill(0.0);
        for col in 0..x.ncols() {
            let i = index * x.ncols() + col;
            x.column_mut(col).copy_from_slice(&d.x[i * f..(i + 1) * f]);
            t[(d.y[i], col)] = 1.0;
        }
    }
}

/// The same minibatches as [`InOrder`], written chunk by chunk through
/// [`Batches::columns`]; counts the calls of each kind.
struct ByColumns<'a> {
    data: &'a Data,
    /// Input value planted at (minibatch, column, row), e.g. a NaN.
    plant: Option<(usize, usize, usize, f32)>,
    fills: usize,
    elsewhere: Vec<usize>,
}

impl<'a> ByColumns<'a> {
    fn new(data: &'a Data) -> Self {
        ByColumns {
            data,
            plant: None,
            fills: 0,
            elsewhere: Vec::new(),
        }
    }
}

impl BatchColumns for ByColumns<'_> {
    fn fill_columns(&self, index: usize, first: usize, x: &mut [f32], t: &mut [f32]) {
        let (d, f, o) = (self.data, WIDTHS[0], WIDTHS[5]);
        let n = x.len() / f;
        t.fill(0.0);
        for col in 0..n {
            let i = index * 10 + first + col;
            x[col * f..(col + 1) * f].copy_from_slice(&d.x[i * f..(i + 1) * f]);
            t[col * o + d.y[i]] = 1.0;
            if let Some((b, c, r, v)) = self.plant
                && (b, c) == (index, first + col)
            {
                x[col * f + r] = v;
            }
        }
    }
}

impl Batches<Dyn, Dyn, Dyn> for ByColumns<'_> {
    fn batches(&self) -> usize {
        self.data.y.len() / 10
    }

    fn fill(&mut self, index: usize, x: &mut OMat<Dyn, Dyn>, t: &mut OMat<Dyn, Dyn>) {
        self.fills += 1;
        InOrder(self.data).fill(index, x, t);
    }

    fn columns(&self) -> Option<&dyn BatchColumns> {
        Some(self)
    }

    fn filled_elsewhere(&mut self, index: usize) {
        self.elsewhere.push(index);
    }
}

fn config(units: Units, schedule: Schedule, feedback: Feedback) -> Config {
    Config {
        units,
        eta_hat: 0.7,
        forward: Optimiser::rmsprop(3e-3),
        inverse: Optimiser::rmsprop(1e-3),
        sigma: SigmaSchedule {
            sigma0: 0.3,
            tau: 5.0,
        },
        input_noise: 0.1,
        schedule,
        feedback,
        ..Config::CONTINUOUS
    }
}

fn trainer(c: Config) -> DynTrainer<Blocked> {
    let mut t = DynTrainer::<Blocked>::with_widths(&WIDTHS, 10).unwrap();
    t.init(c, Init::Orthogonal, &mut Pcg64::new(3, 3)).unwrap();
    t
}

/// Every parameter and optimiser-state value, in a fixed order.
fn bits<K: dtp_core::Kernel>(t: &DynTrainer<K>) -> Vec<u32> {
    let mut v = Vec::new();
    t.net
        .for_each_slice(|s| v.extend(s.iter().map(|x| x.to_bits())));
    let states = [&t.forward_state.first, &t.forward_state.output]
        .into_iter()
        .chain(t.forward_state.hidden.iter())
        .chain(t.inverse_state.iter());
    for s in states {
        for m in [&s.w.a, &s.w.s, &s.w.v] {
            v.extend(m.iter().map(|x| x.to_bits()));
        }
        for m in [&s.b.a, &s.b.s, &s.b.v] {
            v.extend(m.iter().map(|x| x.to_bits()));
        }
    }
    v
}

/// Two epochs of `algo` with `chunks` chunks on `threads` threads; the trainer after them.
fn train(c: Config, backprop: bool, chunks: usize, threads: usize) -> DynTrainer<Blocked> {
    let d = data(60, 11);
    let mut t = trainer(c);
    let mut p = Parallel::new(&t, chunks, threads);
    let mut rng = Pcg64::new(5, 5);
    for _ in 0..2 {
        if backprop {
            p.backprop_epoch(
                &mut t,
                &mut InOrder(&d),
                Gradient::StraightThrough,
                &mut rng,
            )
            .unwrap();
        } else {
            p.train_epoch(&mut t, &mut InOrder(&d), &mut rng).unwrap();
        }
    }
    t
}

#[test]
fn the_number_of_threads_does_not_change_a_bit() {
    let cases = [
        (
            Units::CONTINUOUS,
            Schedule::Alternating,
            Feedback::Dtp,
            false,
        ),
        (
            Units::CONTINUOUS,
            Schedule::Interleaved,
            Feedback::Dtp,
            false,
        ),
        (
            Units::STOCHASTIC,
            Schedule::Alternating,
            Feedback::Dtp,
            false,
        ),
        (Units::DISCRETE, Schedule::Alternating, Feedback::Drl, false),
        (Units::SIGN, Schedule::Alternating, Feedback::Fixed, false),
        (Units::DISCRETE, Schedule::Alternating, Feedback::Dtp, true),
    ];
    for (units, schedule, feedback, backprop) in cases {
        let c = config(units, schedule, feedback);
        for chunks in [2, 3] {
            let one = train(c, backprop, chunks, 1);
            let two = train(c, backprop, chunks, 2);
            let what = format!("{units:?} {schedule:?} {feedback:?} bp={backprop} chunks={chunks}");
            assert!(one.net.is_finite(), "{what}");
            assert_eq!(bits(&one), bits(&two), "{what}: 1 vs 2 threads");
            assert_eq!(one.local_loss, two.local_loss, "{what}");
            assert_eq!(one.inverse_loss, two.inverse_loss, "{what}");
            // … and the chunks did train: not the untrained network.
            assert_ne!(bits(&one), bits(&trainer(c)), "{what}");
        }
    }
}

#[test]
fn one_chunk_is_the_trainers_own_step() {
    let c = config(Units::STOCHASTIC, Schedule::Alternating, Feedback::Dtp);
    let d = data(60, 11);
    let mut alone = trainer(c);
    let mut rng = Pcg64::new(5, 5);
    alone.train_epoch(&mut InOrder(&d), &mut rng).unwrap();
    let chunked = {
        let mut t = trainer(c);
        let mut p = Parallel::new(&t, 1, 2);
        p.train_epoch(&mut t, &mut InOrder(&d), &mut Pcg64::new(5, 5))
            .unwrap();
        t
    };
    assert_eq!(bits(&alone), bits(&chunked));
}

/// Without noise (σ = 0 for the inverses, no input noise, deterministic units), one step on
/// chunks and one on the whole minibatch compute the same gradients up to the order of sums:
/// the parameters after it agree to float rounding. A chunk that divided by its own column
/// count instead of the minibatch's, or moved its targets by η̂/(chunk size), would be off by
/// a factor of 2 or 3 in its updates.
#[test]
fn chunks_sum_to_the_minibatch_gradient() {
    for feedback in [Feedback::Dtp, Feedback::Drl] {
        for (units, backprop) in [
            (Units::CONTINUOUS, false),
            (Units::SIGN, false),
            (Units::CONTINUOUS, true),
        ] {
            let mut c = config(units, Schedule::Interleaved, feedback);
            c.input_noise = 0.0;
            // DRL divides by σ²: keep it, its noise is drawn per chunk (compared below with
            // a looser tolerance through the inverse only).
            c.sigma.sigma0 = if feedback == Feedback::Drl { 0.3 } else { 0.0 };
            // Plain SGD: RMSprop's first steps are ±lr whatever the gradient's scale.
            c.forward = Optimiser::sgd(0.05, 0.0);
            c.inverse = Optimiser::sgd(0.05, 0.0);
            let d = data(10, 4);
            let run = |chunks: usize| {
                let mut t = trainer(c);
                let (x, labels) = t.batch_mut();
                InOrder(&d).fill(0, x, labels);
                let mut p = Parallel::new(&t, chunks, 1);
                let mut rng = Pcg64::new(9, 9);
                if backprop {
                    p.on(&mut t)
                        .backprop_step(Gradient::StraightThrough, &mut rng)
                        .unwrap();
                } else {
                    p.on(&mut t).step(&mut rng).unwrap();
                }
                t
            };
            let start = trainer(c);
            let whole = run(1);
            for chunks in [2, 3] {
                let split = run(chunks);
                let what = format!("{feedback:?} {units:?} bp={backprop} chunks={chunks}");
                let forward = |t: &DynTrainer<Blocked>| {
                    let mut v = Vec::new();
                    for l in std::iter::once(&t.net.first)
                        .chain(t.net.hidden.iter())
                        .chain(std::iter::once(&t.net.output))
                    {
                        v.extend(l.w.iter().chain(l.b.iter()).copied());
                    }
                    v
                };
                let (s, w, o) = (forward(&start), forward(&whole), forward(&split));
                let mut worst = 0.0f32;
                let mut moved = 0.0f32;
                for ((s, w), o) in s.iter().zip(&w).zip(&o) {
                    worst = worst.max((w - o).abs());
                    moved = moved.max((w - s).abs());
                }
                assert!(moved > 1e-4, "{what}: the step moved nothing ({moved})");
                // The forward step of DRL runs after inverses trained on other noise.
                let tol = if feedback == Feedback::Drl && !backprop {
                    0.02 * moved
                } else {
                    1e-6
                };
                assert!(
                    worst <= tol,
                    "{what}: chunked step differs by {worst} (update size {moved})"
                );
            }
        }
    }
}

/// Evaluation on chunks writes the same outputs as the whole minibatch's forward pass.
#[test]
fn chunked_evaluation_gives_the_whole_batchs_outputs() {
    let c = config(Units::DISCRETE, Schedule::Alternating, Feedback::Dtp);
    let d = data(10, 2);
    let mut whole = trainer(c);
    let (x, labels) = whole.batch_mut();
    InOrder(&d).fill(0, x, labels);
    let mut split = trainer(c);
    let (x, labels) = split.batch_mut();
    InOrder(&d).fill(0, x, labels);
    let a = whole.evaluate(&mut Pcg64::new(1, 1)).unwrap();
    let mut p = Parallel::new(&split, 3, 2);
    let b = p.on(&mut split).evaluate(&mut Pcg64::new(1, 1)).unwrap();
    assert_eq!(a.correct, b.correct);
    assert!((a.loss - b.loss).abs() <= 1e-6 * a.loss.abs().max(1.0));
    let (pa, pb) = (whole.output().as_slice(), split.output().as_slice());
    for (u, v) in pa.iter().zip(pb) {
        assert!((u - v).abs() <= 1e-6, "{u} vs {v}");
    }
    // The Portable kernel too (the firmware's): same outputs.
    let mut portable = DynTrainer::<Portable>::with_widths(&WIDTHS, 10).unwrap();
    portable
        .init(c, Init::Orthogonal, &mut Pcg64::new(3, 3))
        .unwrap();
    let (x, labels) = portable.batch_mut();
    InOrder(&d).fill(0, x, labels);
    let mut p = Parallel::new(&portable, 2, 2);
    p.on(&mut portable).evaluate(&mut Pcg64::new(1, 1)).unwrap();
    for (u, v) in pa.iter().zip(portable.output().as_slice()) {
        assert!((u - v).abs() <= 1e-5, "{u} vs {v}");
    }
}

/// Chunks that write their own columns (`Batches::columns`) train the same bits as a
/// whole-minibatch fill copied into the chunks, at 1 and 2 threads, for every algorithm;
/// `fill` is then never called and `filled_elsewhere` once per minibatch, in order.
#[test]
fn chunks_filling_their_own_columns_give_the_same_bits() {
    let cases = [
        (
            Units::CONTINUOUS,
            Schedule::Alternating,
            Feedback::Dtp,
            false,
        ),
        (
            Units::STOCHASTIC,
            Schedule::Interleaved,
            Feedback::Dtp,
            false,
        ),
        (Units::DISCRETE, Schedule::Alternating, Feedback::Drl, false),
        (Units::SIGN, Schedule::Alternating, Feedback::Fixed, false),
        (Units::DISCRETE, Schedule::Alternating, Feedback::Dtp, true),
    ];
    let d = data(60, 11);
    for (units, schedule, feedback, backprop) in cases {
        let c = config(units, schedule, feedback);
        for (chunks, threads) in [(2, 1), (2, 2), (3, 2)] {
            let what =
                format!("{units:?} {schedule:?} {feedback:?} bp={backprop} {chunks}/{threads}");
            let filled = train(c, backprop, chunks, threads);
            let mut t = trainer(c);
            let mut p = Parallel::new(&t, chunks, threads);
            let mut rng = Pcg64::new(5, 5);
            let mut source = ByColumns::new(&d);
            for _ in 0..2 {
                if backprop {
                    p.backprop_epoch(&mut t, &mut source, Gradient::StraightThrough, &mut rng)
                        .unwrap();
                } else {
                    p.train_epoch(&mut t, &mut source, &mut rng).unwrap();
                }
            }
            assert_eq!(bits(&filled), bits(&t), "{what}");
            assert_eq!(filled.local_loss, t.local_loss, "{what}");
            assert_eq!(source.fills, 0, "{what}");
            let passes =
                if backprop || schedule == Schedule::Interleaved || feedback == Feedback::Fixed {
                    2
                } else {
                    4
                };
            let expected: Vec<usize> = (0..passes).flat_map(|_| 0..6).collect();
            assert_eq!(source.elsewhere, expected, "{what}");
        }
    }
}

/// The inverse pass of an alternating epoch stops each forward pass below the last hidden
/// layer (nothing the inverses' training reads lies above it; the skipped stochastic units'
/// draws are still taken): the same bits as full forward passes, i.e. `inverse_only` on every
/// minibatch, then `forward_only` on every minibatch. A skipped draw, or one taken in another
/// order, would change every later noise sample of the stochastic case.
#[test]
fn the_inverse_pass_stops_its_forward_pass_early_with_the_same_bits() {
    let d = data(60, 11);
    for units in [
        Units::CONTINUOUS,
        Units::STOCHASTIC,
        Units::SIGN,
        Units::DISCRETE,
    ] {
        let c = config(units, Schedule::Alternating, Feedback::Dtp);
        for (chunks, threads) in [(2, 1), (3, 2)] {
            let what = format!("{units:?} {chunks}/{threads}");
            let mut epoch = trainer(c);
            let mut p = Parallel::new(&epoch, chunks, threads);
            p.train_epoch(&mut epoch, &mut InOrder(&d), &mut Pcg64::new(5, 5))
                .unwrap();

            let mut halves = trainer(c);
            let mut q = Parallel::new(&halves, chunks, threads);
            let mut rng = Pcg64::new(5, 5);
            let mut source = InOrder(&d);
            let n = source.batches();
            for i in 0..n {
                let (x, t) = halves.batch_mut();
                source.fill(i, x, t);
                q.on(&mut halves).inverse_only(&mut rng).unwrap();
            }
            for i in 0..n {
                let (x, t) = halves.batch_mut();
                source.fill(i, x, t);
                q.on(&mut halves).forward_only(&mut rng).unwrap();
            }
            assert_eq!(bits(&epoch), bits(&halves), "{what}");
            assert_eq!(epoch.inverse_loss, halves.inverse_loss, "{what}");
            assert_ne!(bits(&epoch), bits(&trainer(c)), "{what}: trained");
        }
    }
}

/// A non-finite input written by a chunk is refused before any update, like one in a
/// whole-minibatch fill.
#[test]
fn a_chunk_refuses_a_non_finite_input_before_any_update() {
    let c = config(Units::CONTINUOUS, Schedule::Alternating, Feedback::Dtp);
    let d = data(60, 11);
    for (batch, column) in [(0, 1), (0, 8), (3, 5)] {
        let mut t = trainer(c);
        let mut p = Parallel::new(&t, 2, 2);
        let mut source = ByColumns::new(&d);
        source.plant = Some((batch, column, 4, f32::NAN));
        let err = p
            .train_epoch(&mut t, &mut source, &mut Pcg64::new(5, 5))
            .unwrap_err();
        assert!(
            matches!(
                err,
                dtp_core::Error::NonFinite {
                    stage: dtp_core::Stage::Input,
                    layer: 0
                }
            ),
            "{err:?}"
        );
        assert_eq!(source.elsewhere, (0..batch).collect::<Vec<_>>());
        if batch == 0 {
            assert_eq!(
                bits(&t),
                bits(&trainer(c)),
                "column {column}: updated before refusing"
            );
        }
    }
}

/// The parameters and forward optimiser state of forward layer `i` (1 … M), as bits.
fn layer_bits<K: dtp_core::Kernel>(t: &DynTrainer<K>, i: usize) -> Vec<u32> {
    let m = WIDTHS.len() - 1;
    let (layer, state) = match i {
        1 => (&t.net.first, &t.forward_state.first),
        i if i == m => (&t.net.output, &t.forward_state.output),
        i => (&t.net.hidden[i - 2], &t.forward_state.hidden[i - 2]),
    };
    let mut v: Vec<u32> = layer
        .w
        .iter()
        .chain(layer.b.iter())
        .map(|x| x.to_bits())
        .collect();
    for m in [&state.w.a, &state.w.s, &state.w.v] {
        v.extend(m.iter().map(|x| x.to_bits()));
    }
    for m in [&state.b.a, &state.b.s, &state.b.v] {
        v.extend(m.iter().map(|x| x.to_bits()));
    }
    v
}

/// `Config::frozen`: under DTP and backprop, on the whole minibatch (one chunk) and in chunks,
/// the frozen layers' parameters and optimiser state end bit for bit where they started and
/// every other forward layer moves.
#[test]
fn frozen_layers_keep_every_bit_and_the_others_learn() {
    let m = WIDTHS.len() - 1;
    let c = config(Units::CONTINUOUS, Schedule::Alternating, Feedback::Dtp);
    let start = trainer(c);
    for frozen in [
        LayerSet::NONE.with(2),
        LayerSet::NONE.with(1).with(m),
        LayerSet::range(1, 3),
    ] {
        for backprop in [false, true] {
            for chunks in [1, 3] {
                let t = train(Config { frozen, ..c }, backprop, chunks, 2);
                for i in 1..=m {
                    let kept = layer_bits(&t, i) == layer_bits(&start, i);
                    assert_eq!(
                        kept,
                        frozen.contains(i),
                        "frozen {frozen:?}, backprop {backprop}, {chunks} chunks: layer {i} kept"
                    );
                }
            }
        }
    }
}
