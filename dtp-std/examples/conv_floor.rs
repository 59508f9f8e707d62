//! The two-core floor of a `mnist-conv` epoch (issue 31 item 4): how fast a 50,000-sample DTP
//! epoch of `1x28x28-c32k3s2p1-c64k3s2p1-1024-10` could be if it did nothing but its matrix
//! products, each at the rate the `gemm` crate reaches on that shape and layout stand-alone
//! (hot, both cores running one each), against the epoch as trained (2 chunks on 2 threads,
//! as `dtp train --preset mnist-conv --threads 2` runs it) — the conv net's counterpart of
//! `parallel_report --floor`.
//!
//! ```text
//! cargo run --release -p dtp-std --example conv_floor [-- --batches 100 --reps 3 --torch 2254]
//! ```
//!
//! Every product of a timed stretch of training (`--batches` minibatches of a synthetic
//! MNIST-sized stream, 60 % zero pixels; no data files) is recorded with its shape `M×K×N`,
//! its layout (`A·B`, `Aᵀ·B`, `A·Bᵀ`) and the time it took inside training. The table lists
//! each kind: how often an epoch runs it, its rate inside training and stand-alone. The floor
//! is the products' FLOPs at their stand-alone rates split evenly over the two cores; the
//! rest of the measured epoch (im2col/col2im, tanh, noise, the updates, copies, the threads'
//! meetings, products slower than stand-alone) is what any speed-up must come from. With
//! `--torch S` (PyTorch's samples/s from `bench/compare.sh --preset mnist-conv`) it prints
//! what 1.5× PyTorch would need. Run it on an idle machine.

use dtp_core::conv::parallel::ConvParallel;
use dtp_core::conv::{ConvNet, ConvTrainer, LayerSpec};
use dtp_core::kernel::{Auto, Kernel};
use dtp_core::{Batches, Config, Dyn, Init, OMat};
use rand_core::Rng;
use rand_pcg::Pcg64;
use std::time::Instant;

const BATCH: usize = 100;
const PIXELS: usize = 784;
const EPOCH: f64 = 50_000.0;

#[path = "common/timed.rs"]
mod timed;
use timed::{Timed, median, standalone};

/// Synthetic MNIST-like samples: pixels uniform in [0, 1) with 60 % zeros, labels `i % 10`.
struct Synthetic {
    x: Vec<f32>,
    batches: usize,
}

impl Synthetic {
    fn new(batches: usize) -> Self {
        let mut rng = Pcg64::new(7, 7);
        let x = (0..batches * BATCH * PIXELS)
            .map(|_| {
                let u = (rng.next_u32() >> 8) as f32 / 16_777_216.0;
                if u < 0.6 { 0.0 } else { (u - 0.6) / 0.4 }
            })
            .collect();
        Synthetic { x, batches }
    }
}

impl Batches<Dyn, Dyn, Dyn> for &Synthetic {
    fn batches(&self) -> usize {
        self.batches
    }

    fn fill(&mut self, index: usize, x: &mut OMat<Dyn, Dyn>, t: &mut OMat<Dyn, Dyn>) {
        t.fill(0.0);
        for col in 0..BATCH {
            let i = index * BATCH + col;
            x.column_mut(col)
                .copy_from_slice(&self.x[i * PIXELS..(i + 1) * PIXELS]);
            t[(i % 10, col)] = 1.0;
        }
    }
}

/// `mnist-conv`'s trainer (the continuous reference settings, orthogonal start).
fn trainer<K: Kernel>() -> ConvTrainer<K> {
    let specs = [
        LayerSpec::Conv {
            channels: 32,
            kernel: 3,
            stride: 2,
            padding: 1,
        },
        LayerSpec::Conv {
            channels: 64,
            kernel: 3,
            stride: 2,
            padding: 1,
        },
        LayerSpec::Dense(1024),
        LayerSpec::Dense(10),
    ];
    let mut net = ConvNet::new((1, 28, 28), &specs).expect("mnist-conv's layout");
    net.initialise(Init::Orthogonal, &mut Pcg64::new(1, 1));
    ConvTrainer::new(net, BATCH, Config::CONTINUOUS).expect("reference settings")
}

/// Seconds of one pass of DTP over `data` (2 chunks, 2 threads), scaled to a 50,000-sample
/// epoch, after a warm-up pass.
fn epoch_seconds<K: Kernel>(data: &Synthetic) -> f64 {
    let mut t = trainer::<K>();
    let mut p = ConvParallel::new(&t, 2, 2);
    let mut rng = Pcg64::new(2, 2);
    let mut d = data;
    p.train_epoch(&mut t, &mut d, &mut rng).expect("finite");
    let start = Instant::now();
    let mut d = data;
    p.train_epoch(&mut t, &mut d, &mut rng).expect("finite");
    start.elapsed().as_secs_f64() * EPOCH / (data.batches * BATCH) as f64
}

fn arg(name: &str) -> Option<f64> {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|v| v.parse().ok())
}

fn main() {
    let batches = arg("--batches").unwrap_or(100.0) as usize;
    let reps = arg("--reps").unwrap_or(3.0) as usize;
    let data = Synthetic::new(batches.max(2));
    let scale = EPOCH / (data.batches * BATCH) as f64;

    // The epoch as trained, with the CLI's kernel; then once with the stopwatch.
    let mut measured: Vec<f64> = (0..reps).map(|_| epoch_seconds::<Auto>(&data)).collect();
    let measured = median(&mut measured);
    let timed = {
        let mut t = trainer::<Timed<Auto>>();
        let mut p = ConvParallel::new(&t, 2, 2);
        let mut rng = Pcg64::new(2, 2);
        let mut d = &data;
        p.train_epoch(&mut t, &mut d, &mut rng).expect("finite");
        timed::clear();
        let start = Instant::now();
        let mut d = &data;
        p.train_epoch(&mut t, &mut d, &mut rng).expect("finite");
        start.elapsed().as_secs_f64() * scale
    };
    let record = timed::ledger();

    println!("## The two-core floor of a `mnist-conv` epoch (50,000 samples, DTP, 2 chunks)\n");
    println!(
        "| product | M×K×N | an epoch | GFLOP an epoch | in training, GFLOP/s per thread | \
         stand-alone, both cores busy | floor s (2 cores) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let (mut flop, mut inside, mut floor, mut small) = (0.0, 0.0, 0.0, 0.0);
    for (&(layout, m, k, n), &(count, ns)) in &record {
        let f = 2.0 * (m * k * n) as f64 * count as f64 * scale;
        let secs = ns as f64 * 1e-9 * scale;
        flop += f;
        inside += secs;
        let blocked = (m * k * n) >= dtp_core::kernel::AUTO_BLOCKED_MIN;
        let rate = if blocked {
            standalone(layout, m, k, n, 2)
        } else {
            // Below the threshold `Auto` runs nalgebra's loops: their in-training rate is
            // their floor here (they are a few per cent of the FLOPs).
            small += f;
            f / secs / 1e9
        };
        let fl = f / (rate * 1e9) / 2.0;
        floor += fl;
        println!(
            "| {} | {m}×{k}×{n} | {:.0} | {:.2} | {:.1} | {:.1}{} | {fl:.3} |",
            layout.name(),
            count as f64 * scale,
            f / 1e9,
            f / secs / 1e9,
            rate,
            if blocked { "" } else { " (loops)" },
        );
    }
    println!();
    println!(
        "- products: {:.1} GFLOP an epoch ({:.1} % of it below `AUTO_BLOCKED_MIN`)",
        flop / 1e9,
        100.0 * small / flop
    );
    println!(
        "- **floor**, the products alone at their stand-alone rates on 2 cores: {floor:.3} s \
         an epoch = {:.0} samples/s (2 × 50,000 / s, as `bench/compare.sh` counts)",
        2.0 * EPOCH / floor
    );
    println!(
        "- measured, 2 chunks on 2 threads: {measured:.3} s an epoch = {:.0} samples/s: \
         **{:.2}× the floor**",
        2.0 * EPOCH / measured,
        measured / floor
    );
    println!(
        "- the timed epoch: {timed:.3} s, of which inside products {:.3} s a thread \
         ({:.0} %); everything else {:.3} s",
        inside / 2.0,
        100.0 * inside / 2.0 / timed,
        timed - inside / 2.0
    );
    if let Some(torch) = arg("--torch") {
        let budget = 2.0 * EPOCH / (1.5 * torch);
        println!(
            "- 1.5× PyTorch's {torch:.0} samples/s is {:.0} samples/s: {budget:.3} s an epoch, \
             {:.2}× the floor; it leaves {:.3} s beyond the products' floor (today {:.3} s)",
            1.5 * torch,
            budget / floor,
            budget - floor,
            measured - floor
        );
    }
}
