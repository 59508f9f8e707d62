//! Two-core report (issue #14): epoch time of the chunk-parallel trainer at 1 and 2 threads
//! against the whole-minibatch trainer, for DTP and backprop; the matrix products' rate per
//! core inside it against stand-alone GEMMs; and the best the other parallel design (one
//! thread per layer once the targets are known) could reach, from measured phase times.
//!
//! ```text
//! cargo run --release -p dtp-std --example parallel_report [-- --reps 5 --samples 10000]
//! ```
//!
//! `mnist-7x240` settings (784-240×7-10 tanh, batch 100, the alternating schedule) on a
//! synthetic MNIST-sized stream (60 % zero pixels); no data files. Runs alternate (A, B, C, A,
//! B, C, …) so a busy spell hits every configuration alike; medians are printed. Run it idle.

use dtp_core::kernel::{Blocked, Kernel};
use dtp_core::parallel::Parallel;
use dtp_core::{Batches, Config, Dyn, DynTrainer, Gradient, Init, OMat};
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};
use rand_core::Rng;
use rand_pcg::Pcg64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const WIDTHS: [usize; 9] = [784, 240, 240, 240, 240, 240, 240, 240, 10];
const BATCH: usize = 100;

/// Nanoseconds and FLOPs of every product, over all threads.
static NANOS: AtomicU64 = AtomicU64::new(0);
static FLOPS: AtomicU64 = AtomicU64::new(0);

/// [`Blocked`] with a stopwatch around every product.
struct Timed;

fn record(m: usize, k: usize, n: usize, start: Instant) {
    NANOS.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    FLOPS.fetch_add(2 * (m * k * n) as u64, Ordering::Relaxed);
}

impl Kernel for Timed {
    fn gemm<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<M, K>,
        b: &OMat<K, N>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<K, N>,
    {
        let t = Instant::now();
        Blocked::gemm(c, alpha, a, b, beta);
        record(c.nrows(), a.ncols(), c.ncols(), t);
    }
    fn gemm_tn<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<K, M>,
        b: &OMat<K, N>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<K, M> + Allocator<K, N>,
    {
        let t = Instant::now();
        Blocked::gemm_tn(c, alpha, a, b, beta);
        record(c.nrows(), a.nrows(), c.ncols(), t);
    }
    fn gemm_nt<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<M, K>,
        b: &OMat<N, K>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<N, K>,
    {
        let t = Instant::now();
        Blocked::gemm_nt(c, alpha, a, b, beta);
        record(c.nrows(), a.ncols(), c.ncols(), t);
    }
}

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
    NANOS.store(0, Ordering::Relaxed);
    FLOPS.store(0, Ordering::Relaxed);
    let start = Instant::now();
    run(&mut t);
    start.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// GFLOP/s of one stand-alone `gemm` crate product `M×K×N` per thread, hot, with `threads`
/// threads each running their own at the same time (1: one core alone).
fn standalone(m: usize, k: usize, n: usize, threads: usize) -> f64 {
    let flops = 2.0 * (m * k * n) as f64;
    let reps = ((2e9 / flops) as usize).max(20);
    let one = || {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0.0f32; m * n];
        let mut product = || unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                m as isize,
                1,
                false,
                a.as_ptr(),
                m as isize,
                1,
                b.as_ptr(),
                k as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        };
        for _ in 0..reps / 10 {
            product();
        }
        let t = Instant::now();
        for _ in 0..reps {
            product();
        }
        flops * reps as f64 / t.elapsed().as_secs_f64() / 1e9
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(one)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum::<f64>() / threads as f64
    })
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
        epoch_seconds::<Timed>(&data, setup);
        let secs = NANOS.load(Ordering::Relaxed) as f64 * 1e-9;
        let rate = FLOPS.load(Ordering::Relaxed) as f64 / secs / 1e9;
        let alone = standalone(240, 240, n, threads);
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
