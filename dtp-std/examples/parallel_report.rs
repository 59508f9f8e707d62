//! Two-core report (issue #14): epoch time of the chunk-parallel trainer at 1 and 2 threads
//! against the whole-minibatch trainer, for DTP and backprop; the matrix products' rate per
//! core inside it against stand-alone GEMMs; and the best the other parallel design (one
//! thread per layer once the targets are known) could reach, from measured phase times.
//!
//! With `--floor`, only the two-core floor: the fastest a 50,000-sample epoch could be with
//! nothing but the work it cannot avoid (its products, at their stand-alone rate or replayed
//! in training's order with nothing else running, plus one `tanh` per unit value, one
//! Gaussian draw per corrupted value and one optimiser update per parameter per minibatch),
//! against the measured epoch and, with `--torch S`, against 3× PyTorch's `S` samples/s.
//!
//! ```text
//! cargo run --release -p dtp-std --example parallel_report [-- --reps 5 --samples 10000]
//! cargo run --release -p dtp-std --example parallel_report -- --floor [--torch 16522]
//! cargo run --release -p dtp-std --example parallel_report -- --dispatch
//! ```
//!
//! `--dispatch` times only the hand-over of a job to two threads: `dtp_core::team::Team` (the
//! trainer's) against a two-thread `rayon` pool.
//!
//! `mnist-7x240` settings (784-240×7-10 tanh, batch 100, the alternating schedule) on a
//! synthetic MNIST-sized stream (60 % zero pixels); no data files. Runs alternate (A, B, C, A,
//! B, C, …) so a busy spell hits every configuration alike; medians are printed. Run it idle.

use dtp_core::kernel::{Blocked, Kernel};
use dtp_core::parallel::Parallel;
use dtp_core::team::Team;
use dtp_core::{Batches, Config, Dyn, DynTrainer, Gradient, Init, OMat};
use rand_core::Rng;
use rand_pcg::Pcg64;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const WIDTHS: [usize; 9] = [784, 240, 240, 240, 240, 240, 240, 240, 10];
const BATCH: usize = 100;

#[path = "common/timed.rs"]
mod timed;
use timed::{Layout, Timed, median};

/// Synthetic MNIST-like samples: pixels uniform in [0, 1) with 60 % zeros, labels `i % 10`;
/// one fixed shuffled order.
struct Synthetic {
    x: Vec<f32>,
    order: Vec<usize>,
}

impl Synthetic {
    fn new(samples: usize) -> Self {
        let mut rng = Pcg64::new(7, 7);
        let x = (0..samples * 784)
            .map(|_| {
                let u = (rng.next_u32() >> 8) as f32 / 16_777_216.0;
                if u < 0.6 { 0.0 } else { (u - 0.6) / 0.4 }
            })
            .collect();
        let mut order: Vec<usize> = (0..samples).collect();
        for i in (1..samples).rev() {
            order.swap(i, rng.next_u32() as usize % (i + 1));
        }
        Synthetic { x, order }
    }
}

impl Batches<Dyn, Dyn, Dyn> for &Synthetic {
    fn batches(&self) -> usize {
        self.order.len() / BATCH
    }

    fn fill(&mut self, index: usize, x: &mut OMat<Dyn, Dyn>, t: &mut OMat<Dyn, Dyn>) {
        t.fill(0.0);
        for col in 0..BATCH {
            let i = self.order[index * BATCH + col];
            x.column_mut(col)
                .copy_from_slice(&self.x[i * 784..(i + 1) * 784]);
            t[(i % 10, col)] = 1.0;
        }
    }
}

fn trainer<K: Kernel>() -> DynTrainer<K> {
    trainer_of(&WIDTHS)
}

fn trainer_of<K: Kernel>(widths: &[usize]) -> DynTrainer<K> {
    let mut t = DynTrainer::<K>::with_widths(widths, BATCH).expect("widths");
    t.init(Config::CONTINUOUS, Init::Orthogonal, &mut Pcg64::new(1, 1))
        .expect("reference config");
    t
}

/// A configuration: `chunks` chunks on `threads` threads, DTP or backprop.
#[derive(Clone, Copy)]
struct Setup {
    chunks: usize,
    threads: usize,
    backprop: bool,
}

/// Seconds of one epoch (both passes for DTP) of `setup`, after a warm-up epoch.
fn epoch_seconds<K: Kernel>(data: &Synthetic, setup: Setup) -> f64 {
    epoch_seconds_of::<K>(&WIDTHS, data, setup)
}

/// [`epoch_seconds`] of a 784-…-10 network of `widths`.
fn epoch_seconds_of<K: Kernel>(widths: &[usize], data: &Synthetic, setup: Setup) -> f64 {
    let mut t = trainer_of::<K>(widths);
    let mut p = Parallel::new(&t, setup.chunks, setup.threads);
    let mut rng = Pcg64::new(2, 2);
    let mut run = |t: &mut DynTrainer<K>| {
        let mut d = data;
        if setup.backprop {
            p.backprop_epoch(t, &mut d, Gradient::Exact, &mut rng)
        } else {
            p.train_epoch(t, &mut d, &mut rng)
        }
        .expect("finite");
    };
    run(&mut t);
    timed::clear();
    let start = Instant::now();
    run(&mut t);
    start.elapsed().as_secs_f64()
}

/// `C ← A·B` with the `gemm` crate on one thread: `C` is `m × n` column-major with leading
/// dimension `ldc`; `A` (`m × k`) and `B` (`k × n`) are given as (pointer, column stride, row
/// stride).
///
/// # Safety
/// The pointers and strides must describe buffers holding those shapes, `C` aliasing neither.
unsafe fn product(
    (m, k, n): (usize, usize, usize),
    (c, ldc): (*mut f32, usize),
    (a, acs, ars): (*const f32, usize, usize),
    (b, bcs, brs): (*const f32, usize, usize),
) {
    // SAFETY: as the caller promises.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            ldc as isize,
            1,
            false,
            a,
            acs as isize,
            ars as isize,
            b,
            bcs as isize,
            brs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// Seconds of each phase of a whole-minibatch DTP epoch, one thread: the forward passes of
/// both halves, the inverse gradients + updates, the targets, the forward gradients +
/// updates.
fn phases(data: &Synthetic) -> [f64; 5] {
    let mut t = trainer::<Blocked>();
    let mut rng = Pcg64::new(2, 2);
    let mut d = data;
    let mut s = [0.0f64; 5];
    let mut clock = |i: usize, t0: &mut Instant| {
        s[i] += t0.elapsed().as_secs_f64();
        *t0 = Instant::now();
    };
    for index in 0..d.batches() {
        let (x, y) = t.batch_mut();
        d.fill(index, x, y);
        let mut t0 = Instant::now();
        t.forward(true, &mut rng).expect("finite");
        clock(0, &mut t0);
        t.inverse_step(t.sigma(), &mut rng).expect("finite");
        clock(1, &mut t0);
    }
    for index in 0..d.batches() {
        let (x, y) = t.batch_mut();
        d.fill(index, x, y);
        let mut t0 = Instant::now();
        t.forward(true, &mut rng).expect("finite");
        clock(2, &mut t0);
        t.top_target().expect("finite");
        t.difference_targets(&mut rng).expect("finite");
        clock(3, &mut t0);
        t.forward_step().expect("finite");
        clock(4, &mut t0);
    }
    s
}

/// One product of a minibatch pair's sequence on weight matrix `w` (the forward layers in
/// order, then the inverses g_2, g_3, …): `Forward` is `W·h`, `Transposed` is `Wᵀ·e` (the top
/// target's), `Gradient` is `δ·hᵀ`; `Meet` marks where the chunks meet (the end of a half).
#[derive(Clone, Copy)]
enum Product {
    Forward(usize),
    Transposed(usize),
    Gradient(usize),
    Meet,
}

/// Rows and columns of weight matrix `w` of a network of `widths`.
fn weight_shape(widths: &[usize], w: usize) -> (usize, usize) {
    let layers = widths.len() - 1;
    if w < layers {
        (widths[w + 1], widths[w])
    } else {
        let k = w - layers + 2; // g_k maps h_k back to h_{k-1}
        (widths[k - 1], widths[k])
    }
}

/// The products of one minibatch pair of the alternating schedule, in the order training runs
/// them (the inverse half's forward pass stops below the last hidden layer).
fn pair_products(widths: &[usize]) -> Vec<Product> {
    use Product::*;
    let layers = widths.len() - 1;
    let hidden = layers - 1;
    let inverse = |k: usize| layers + k - 2;
    let mut seq = Vec::new();
    // Inverse half: h_1 … h_{last−1}, then f_k(h̃_{k−1}), g_k of it and ∂V_k for each inverse.
    seq.extend((0..hidden - 1).map(Forward));
    for k in 2..=hidden {
        seq.extend([Forward(k - 1), Forward(inverse(k)), Gradient(inverse(k))]);
    }
    seq.push(Meet);
    // Forward half: the whole forward pass, the top target, g_k(ĥ_k) and g_k(h_k) for each
    // target below it, then every layer's ∂W.
    seq.extend((0..layers).map(Forward));
    seq.push(Transposed(layers - 1));
    for k in (2..=hidden).rev() {
        seq.extend([Forward(inverse(k)), Forward(inverse(k))]);
    }
    seq.extend((0..layers).map(Gradient));
    seq.push(Meet);
    seq
}

/// `(m, k, n)` of `product` over `n` columns (the shape the timed kernel records).
fn product_shape(widths: &[usize], product: Product, n: usize) -> Option<(usize, usize, usize)> {
    let shape = |w| weight_shape(widths, w);
    match product {
        Product::Forward(w) => Some((shape(w).0, shape(w).1, n)),
        Product::Transposed(w) => Some((shape(w).1, shape(w).0, n)),
        Product::Gradient(w) => Some((shape(w).0, n, shape(w).1)),
        Product::Meet => None,
    }
}

/// A spin barrier for two threads that never sleep (each has a core of its own).
struct Spin {
    arrived: AtomicU64,
    generation: AtomicU64,
}

impl Spin {
    fn wait(&self, threads: u64) {
        let g = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == threads {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
        } else {
            while self.generation.load(Ordering::Acquire) == g {
                std::hint::spin_loop();
            }
        }
    }
}

/// Seconds of a 50,000-sample epoch's products alone, replayed in training's order on two
/// threads over distinct weight matrices (the caches see what training's products see, and
/// nothing else runs): with `rows` false each thread takes a chunk of 50 columns of every
/// product and the threads meet at the end of each half, as the chunk-parallel trainer does;
/// with `rows` true each thread takes half the rows of every product over the whole
/// minibatch and the threads meet after every product (a spin barrier), as a trainer
/// splitting every product would. `pairs` minibatch pairs are timed and scaled.
fn replay(widths: &[usize], rows: bool, pairs: usize) -> f64 {
    let seq = pair_products(widths);
    let weights = widths.len() - 1 + widths.len() - 3;
    let ws: Vec<Vec<f32>> = (0..weights)
        .map(|w| {
            let (r, c) = weight_shape(widths, w);
            vec![0.01f32; r * c]
        })
        .collect();
    let widest = *widths.iter().max().unwrap();
    let spin = Spin {
        arrived: AtomicU64::new(0),
        generation: AtomicU64::new(0),
    };
    let n = if rows { BATCH } else { BATCH / 2 };
    let one = |thread: usize| {
        let h = vec![0.5f32; widest * n];
        let mut out = vec![0f32; widest * n];
        let mut grads: Vec<Vec<f32>> = ws.iter().map(|w| vec![0f32; w.len()]).collect();
        let range = |m: usize| {
            if rows {
                (thread * m / 2, (thread + 1) * m / 2)
            } else {
                (0, m)
            }
        };
        for _ in 0..pairs {
            for &p in &seq {
                let Some((m, k, cols)) = product_shape(widths, p, n) else {
                    spin.wait(2);
                    continue;
                };
                let (r0, r1) = range(m);
                // SAFETY: every pointer and stride below stays inside its buffer: rows r0..r1
                // of an m × cols result and of the matching rows of its left factor.
                unsafe {
                    let (c, ldc, a, acs, ars, b, bcs, brs) = match p {
                        Product::Forward(w) => (
                            out.as_mut_ptr().add(r0),
                            m,
                            ws[w].as_ptr().add(r0),
                            m,
                            1,
                            h.as_ptr(),
                            k,
                            1,
                        ),
                        Product::Transposed(w) => (
                            out.as_mut_ptr().add(r0),
                            m,
                            ws[w].as_ptr().add(r0 * k),
                            1,
                            k,
                            h.as_ptr(),
                            k,
                            1,
                        ),
                        Product::Gradient(w) => (
                            grads[w].as_mut_ptr().add(r0),
                            m,
                            out.as_ptr().add(r0),
                            m,
                            1,
                            h.as_ptr(),
                            1,
                            cols,
                        ),
                        Product::Meet => unreachable!(),
                    };
                    product((r1 - r0, k, cols), (c, ldc), (a, acs, ars), (b, bcs, brs));
                }
                if rows {
                    spin.wait(2);
                }
            }
        }
    };
    let run = || {
        let start = Instant::now();
        std::thread::scope(|s| {
            let one = &one;
            let handles: Vec<_> = (0..2).map(|t| s.spawn(move || one(t))).collect();
            handles.into_iter().for_each(|h| h.join().unwrap());
        });
        start.elapsed().as_secs_f64() * (50_000 / BATCH) as f64 / pairs as f64
    };
    run();
    run()
}

/// Nanoseconds per element of `work` on a buffer of `len` floats, minus those of `base` (the
/// part of the loop that is not the work measured), with `threads` threads each running
/// their own at the same time (the median thread's figure).
fn per_element(
    threads: usize,
    len: usize,
    work: impl Fn(&mut [f32], &mut Pcg64) + Sync,
    base: impl Fn(&mut [f32], &mut Pcg64) + Sync,
) -> f64 {
    let time = |f: &(dyn Fn(&mut [f32], &mut Pcg64) + Sync), seed: usize| {
        let mut buf = vec![0.25f32; len];
        let mut rng = Pcg64::new(seed as u128, 3);
        let reps = (100_000_000 / len).max(10);
        for _ in 0..reps / 10 {
            f(&mut buf, &mut rng);
        }
        let t = Instant::now();
        for _ in 0..reps {
            f(&mut buf, &mut rng);
        }
        t.elapsed().as_secs_f64() * 1e9 / (reps * len) as f64
    };
    let one = |seed: usize| time(&work, seed) - time(&base, seed);
    let mut v: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|i| s.spawn(move || one(i))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    median(&mut v)
}

/// Nanoseconds per parameter of the optimiser's update (the reference RMSprop, one gradient,
/// state not in cache), `threads` threads each updating `params` parameters of their own.
fn update_per_param(threads: usize, params: usize) -> f64 {
    let one = || {
        let opt = Config::CONTINUOUS.inverse;
        let (mut p, g) = (vec![0.1f32; params], vec![1e-3f32; params]);
        let (mut a, mut s, mut v) = (vec![0f32; params], vec![0f32; params], vec![0f32; params]);
        let reps = 40;
        assert!(opt.update_slices(&mut p, &g, &mut a, &mut s, &mut v));
        let t = Instant::now();
        for _ in 0..reps {
            assert!(opt.update_slices(&mut p, &g, &mut a, &mut s, &mut v));
        }
        t.elapsed().as_secs_f64() * 1e9 / (reps * params) as f64
    };
    let mut v: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(one)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    median(&mut v)
}

/// The fastest a 50,000-sample DTP epoch of `mnist-7x240` could run on two cores with the
/// work it must do: every product at the stand-alone `gemm` rate of its shape (both cores
/// running one), plus the element-wise work no fusion removes — one `tanh` per unit value
/// computed, one Gaussian draw per corrupted value, one optimiser update per parameter per
/// minibatch — at their stand-alone rates, split evenly over the two cores with no
/// synchronisation, no copies, no local deltas and no loss. Prints it against the measured
/// epoch and, with `--torch S` (PyTorch's best samples/s from `bench/compare.sh`), against 3×.
fn floor(data: &Synthetic, samples: usize, reps: usize) {
    const EPOCH: f64 = 50_000.0;
    let scale = EPOCH / samples as f64;
    let hidden = &WIDTHS[1..WIDTHS.len() - 1];
    let last = hidden.len() - 1;
    // Per sample. Inverse half: the forward pass below the last hidden layer, then for each
    // inverse g_k (k = 2..): f_k(h_{k-1} + noise) and g_k of it. Forward half: the forward
    // pass, then g_k(ĥ_k) and g_k(h_k) for each target below the top.
    let below_last: usize = hidden[..last].iter().sum();
    let all: usize = hidden.iter().sum();
    let inverses: usize = (1..hidden.len()).map(|k| hidden[k] + hidden[k - 1]).sum();
    let targets: usize = (1..hidden.len()).map(|k| 2 * hidden[k - 1]).sum();
    let noise: usize = hidden[..last].iter().sum();
    let tanh = below_last + inverses + all + targets;
    let forward: usize = WIDTHS.windows(2).map(|w| w[0] * w[1] + w[1]).sum();
    let inverse: usize = (1..hidden.len())
        .map(|k| hidden[k] * hidden[k - 1] + hidden[k - 1])
        .sum();
    let batches = EPOCH / BATCH as f64;
    let updates = batches * (forward + inverse) as f64;

    let mut measured = Vec::new();
    for _ in 0..reps {
        let setup = Setup {
            chunks: 2,
            threads: 2,
            backprop: false,
        };
        measured.push(epoch_seconds::<Blocked>(data, setup) * scale);
    }
    let measured = median(&mut measured);

    println!(
        "## The two-core floor: a 50,000-sample DTP epoch with nothing but its work
"
    );
    println!("| part | work an epoch | stand-alone rate, both cores busy | seconds on 2 cores |");
    println!("|---|---|---|---|");
    // The products of one 2-chunk epoch as run, and the same products over whole minibatches
    // (each 50-column dimension 100, half as many): what one core per product would face.
    let setup = Setup {
        chunks: 2,
        threads: 2,
        backprop: false,
    };
    epoch_seconds::<Timed<Blocked>>(data, setup);
    let chunked = timed::shapes();
    let whole: BTreeMap<_, _> = chunked
        .iter()
        .map(|(&(m, k, n), &count)| {
            let w = |d: usize| if d == BATCH / 2 { BATCH } else { d };
            ((w(m), w(k), w(n)), count / 2)
        })
        .collect();
    let mut listed = BTreeMap::new();
    for p in pair_products(&WIDTHS) {
        if let Some(shape) = product_shape(&WIDTHS, p, BATCH / 2) {
            *listed.entry(shape).or_insert(0u64) += 2 * (samples / BATCH) as u64;
        }
    }
    assert_eq!(
        listed, chunked,
        "pair_products no longer lists the products training runs"
    );
    let mut products = [0.0f64; 4];
    for (i, (label, shapes)) in [
        ("2-chunk (50-column)", &chunked),
        ("whole-minibatch (100-column)", &whole),
    ]
    .into_iter()
    .enumerate()
    {
        let (mut flop, mut secs) = (0.0f64, 0.0f64);
        for (&(m, k, n), &count) in shapes {
            let f = 2.0 * (m * k * n) as f64 * count as f64 * scale;
            flop += f;
            secs += f / (timed::standalone(Layout::Nn, m, k, n, 2) * 1e9);
        }
        products[i] = secs / 2.0;
        println!(
            "| products, {label} shapes ({} kinds) | {:.0} GFLOP | {:.1} GFLOP/s per core | {:.3} |",
            shapes.len(),
            flop / 1e9,
            flop / secs / 1e9,
            products[i]
        );
    }
    let flop: f64 = chunked
        .iter()
        .map(|(&(m, k, n), &c)| 2.0 * (m * k * n) as f64 * c as f64 * scale)
        .sum();
    for (i, rows, label) in [
        (2, false, "replayed in training's order, 2 chunks"),
        (
            3,
            true,
            "replayed in training's order, rows split, a barrier after each",
        ),
    ] {
        let mut v: Vec<f64> = (0..reps).map(|_| replay(&WIDTHS, rows, 100)).collect();
        products[i] = median(&mut v);
        println!(
            "| products, {label} | {:.0} GFLOP | {:.1} GFLOP/s per core | {:.3} |",
            flop / 1e9,
            flop / products[i] / 2e9,
            products[i]
        );
    }
    let block = hidden[0] * 50;
    let pre: Vec<f32> = {
        let mut rng = Pcg64::new(9, 9);
        (0..block)
            .map(|_| dtp_core::noise::standard_normal(&mut rng))
            .collect()
    };
    let tanh_ns = per_element(
        2,
        block,
        |b, _| {
            b.copy_from_slice(&pre);
            dtp_core::Activation::Tanh.apply_slice(b)
        },
        |b, _| b.copy_from_slice(&pre),
    );
    let noise_ns = per_element(
        2,
        block,
        |b, rng| dtp_core::noise::add_gaussian(b, 0.36, rng),
        |_, _| {},
    );
    let update_ns = update_per_param(2, (forward + inverse) / 2);
    let rest = [
        ("tanh", tanh as f64 * EPOCH, "values", tanh_ns),
        ("Gaussian noise", noise as f64 * EPOCH, "draws", noise_ns),
        ("RMSprop update", updates, "parameter updates", update_ns),
    ];
    let mut others = 0.0;
    for (name, count, unit, ns) in rest {
        let secs = count * ns * 1e-9 / 2.0;
        others += secs;
        println!(
            "| {name} | {:.3e} {unit} | {ns:.3} ns each per core | {secs:.3} |",
            count
        );
    }
    println!();
    for (label, p) in [
        ("2-chunk shapes, stand-alone", products[0]),
        ("whole-minibatch shapes, stand-alone", products[1]),
        ("products replayed in order, 2 chunks", products[2]),
        ("products replayed in order, rows split", products[3]),
    ] {
        let total = p + others;
        println!(
            "- floor with the {label}: {total:.3} s an epoch = {:.0} samples/s \
             (2 × 50,000 / s, as `bench/compare.sh` counts)",
            2.0 * EPOCH / total
        );
    }
    println!(
        "- measured, 2 chunks on 2 threads: {measured:.3} s an epoch = {:.0} samples/s",
        2.0 * EPOCH / measured
    );
    if let Some(torch) = std::env::args()
        .skip_while(|a| a != "--torch")
        .nth(1)
        .and_then(|v| v.parse::<f64>().ok())
    {
        let budget = 2.0 * EPOCH / (3.0 * torch);
        println!(
            "- 3× PyTorch's {torch:.0} samples/s is {:.0} samples/s: {budget:.3} s an epoch; \
             the four floors leave {:.3} / {:.3} / {:.3} / {:.3} s for everything else",
            3.0 * torch,
            budget - products[0] - others,
            budget - products[1] - others,
            budget - products[2] - others,
            budget - products[3] - others
        );
    }
}

/// Microseconds a job of `work` µs (busy on every thread) costs beyond `work` when handed to
/// two threads: by [`Team::map`] (the trainer's) and by a two-thread `rayon` pool's
/// `install` + `par_iter_mut` (what the trainer used before), alternating, medians.
fn dispatch(reps: usize) {
    use rayon::prelude::*;
    let busy = |us: u64| {
        let t = Instant::now();
        while t.elapsed().as_micros() < u128::from(us) {
            std::hint::spin_loop();
        }
    };
    let mut team = Team::new(2);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("two threads");
    println!("## Handing a job to two threads: overhead per job, µs (median of {reps})\n");
    println!("| job length | `dtp_core::team::Team` | `rayon` pool (2 threads) |");
    println!("|---|---|---|");
    for us in [0u64, 50, 500, 2000] {
        let jobs = 400_000u64.checked_div(us).map_or(20_000, |j| j as usize);
        let mut items = [0u64; 2];
        let (mut t, mut r) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let start = Instant::now();
            for _ in 0..jobs {
                team.map(&mut items, |_, x| {
                    busy(us);
                    *x += 1;
                });
            }
            t.push(start.elapsed().as_secs_f64() * 1e6 / jobs as f64 - us as f64);
            let start = Instant::now();
            for _ in 0..jobs {
                pool.install(|| {
                    items.par_iter_mut().for_each(|x| {
                        busy(us);
                        *x += 1;
                    })
                });
            }
            r.push(start.elapsed().as_secs_f64() * 1e6 / jobs as f64 - us as f64);
        }
        println!(
            "| {us} µs | {:.1} | {:.1} |",
            median(&mut t),
            median(&mut r)
        );
    }
    println!();
}

fn arg(name: &str, default: usize) -> usize {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let reps = arg("--reps", 5);
    let samples = arg("--samples", 10_000);
    let data = Synthetic::new(samples);
    if let Some(threads) = std::env::args().skip_while(|a| a != "--profile").nth(1) {
        // For a profiler: DTP epochs of 2 chunks on THREADS threads, nothing else.
        let threads = threads.parse().expect("--profile THREADS");
        for _ in 0..reps {
            let setup = Setup {
                chunks: 2,
                threads,
                backprop: false,
            };
            println!("{:.3} s", epoch_seconds::<Blocked>(&data, setup));
        }
        return;
    }
    if std::env::args().any(|a| a == "--dispatch") {
        dispatch(reps);
        return;
    }
    if std::env::args().any(|a| a == "--floor") {
        floor(&data, samples, reps);
        return;
    }
    println!("# dtp two-core report: 784-240×7-10, batch 100, {samples} synthetic samples\n");

    for backprop in [false, true] {
        let name = if backprop {
            "backprop"
        } else {
            "DTP (both passes)"
        };
        let setups = [
            ("whole minibatch, 1 thread", 1, 1),
            ("2 chunks, 1 thread", 2, 1),
            ("2 chunks, 2 threads", 2, 2),
        ];
        let mut times = vec![Vec::new(); setups.len()];
        for _ in 0..reps {
            for (i, &(_, chunks, threads)) in setups.iter().enumerate() {
                let setup = Setup {
                    chunks,
                    threads,
                    backprop,
                };
                times[i].push(epoch_seconds::<Blocked>(&data, setup));
            }
        }
        println!("## {name}: seconds per epoch, median of {reps} (alternating runs)\n");
        println!("| setup | seconds | samples/s | vs whole minibatch, 1 thread |");
        println!("|---|---|---|---|");
        let base = median(&mut times[0].clone());
        for (i, (label, _, _)) in setups.iter().enumerate() {
            let m = median(&mut times[i]);
            let passes = if backprop { 1.0 } else { 2.0 };
            println!(
                "| {label} | {m:.3} | {:.0} | {:.2}× |",
                passes * samples as f64 / m,
                base / m
            );
        }
        println!();
    }

    println!("## Scaling: DTP epoch seconds at 1 and 2 threads, median of {reps}\n");
    println!("| network | samples | whole minibatch, 1 thread | 2 chunks, 2 threads | ratio |");
    println!("|---|---|---|---|---|");
    for (w, n) in [
        (120, samples),
        (240, samples / 2),
        (240, samples),
        (480, samples),
    ] {
        let widths = [784, w, w, w, w, w, w, w, 10];
        let part = Synthetic::new(n);
        let (mut one, mut two) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            for (v, chunks, threads) in [(&mut one, 1, 1), (&mut two, 2, 2)] {
                let setup = Setup {
                    chunks,
                    threads,
                    backprop: false,
                };
                v.push(epoch_seconds_of::<Blocked>(&widths, &part, setup));
            }
        }
        let (a, b) = (median(&mut one), median(&mut two));
        println!(
            "| 784-{w}×7-10 | {n} | {a:.3} s | {b:.3} s | {:.2}× |",
            a / b
        );
    }
    println!();

    println!("## Matrix products inside training, per core (DTP epoch, timed kernel)\n");
    println!(
        "| setup | product time (all threads) | GFLOP/s per core | stand-alone, same shape, per core | ratio |"
    );
    println!("|---|---|---|---|---|");
    for (label, chunks, threads, n) in [
        ("whole minibatch, 1 thread", 1, 1, 100),
        ("2 chunks, 1 thread", 2, 1, 50),
        ("2 chunks, 2 threads", 2, 2, 50),
    ] {
        let setup = Setup {
            chunks,
            threads,
            backprop: false,
        };
        epoch_seconds::<Timed<Blocked>>(&data, setup);
        let (nanos, flops) = timed::totals();
        let secs = nanos as f64 * 1e-9;
        let rate = flops as f64 / secs / 1e9;
        let alone = timed::standalone(Layout::Nn, 240, 240, n, threads);
        println!(
            "| {label} | {secs:.3} s | {rate:.1} | {alone:.1} (240×240×{n}, {threads} at once) | {:.0} % |",
            100.0 * rate / alone
        );
    }

    println!("\n## The other design: one thread per layer, bounded from measured phases\n");
    let s = phases(&data);
    let [fwd_a, inv, fwd_b, targets, fstep] = s;
    let serial: f64 = s.iter().sum();
    // Inverse half: the forward pass must run first (each g_i needs h_{i-1}); the inverse
    // updates could overlap it and each other. Forward half: the forward pass and the targets
    // are a chain (each target needs the one above); the layers' updates could overlap them.
    let inverse_half = fwd_a.max((fwd_a + inv) / 2.0);
    let forward_half = (fwd_b + targets).max((fwd_b + targets + fstep) / 2.0);
    println!("| phase (one thread, whole minibatch) | seconds |");
    println!("|---|---|");
    for (name, v) in [
        ("forward pass, inverse half", fwd_a),
        ("inverse gradients + updates", inv),
        ("forward pass, forward half", fwd_b),
        ("top + difference targets", targets),
        ("forward gradients + updates", fstep),
    ] {
        println!("| {name} | {v:.3} |");
    }
    println!(
        "\nserial {serial:.3} s; with two threads per layer at best {:.3} s: at most {:.2}× \
         (no synchronisation counted)",
        inverse_half + forward_half,
        serial / (inverse_half + forward_half)
    );
}
