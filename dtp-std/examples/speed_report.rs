//! Speed report for issue #6: where the time of a DTP epoch goes, the matrix phases' achieved
//! GFLOP/s against stand-alone GEMMs at the same shapes, and how epoch time scales with the
//! number of samples and with width.
//!
//! ```text
//! cargo run --release -p dtp-std --example speed_report [-- --threads N]
//! ```
//!
//! All runs use the `mnist-7x240` settings (`Config::CONTINUOUS`: 784-W×7-10 tanh, batch 100,
//! the alternating schedule, orthogonal init) on a synthetic MNIST-sized stream (60 % zero
//! pixels), so no data files are needed. Times are wall-clock on this machine: run it idle.

use dtp_core::kernel::{self, Blocked, Kernel};
use dtp_core::{Config, FixedTrainer, Init};
use dtp_std::batches::EpochBatches;
use dtp_std::data::Dataset;
use rand_core::Rng;
use rand_pcg::Pcg64;
use std::time::Instant;

#[path = "common/timed.rs"]
mod timed;
use timed::Timed;

/// `samples` synthetic MNIST-like images: pixels uniform in [0, 1) with 60 % zeros.
fn synthetic(samples: usize) -> Dataset {
    let mut rng = Pcg64::new(7, 7);
    let mut x = Vec::with_capacity(samples * 784);
    for _ in 0..samples * 784 {
        let u = (rng.next_u32() >> 8) as f32 / 16_777_216.0;
        x.push(if u < 0.6 { 0.0 } else { (u - 0.6) / 0.4 });
    }
    let y = (0..samples).map(|i| (i % 10) as u8).collect();
    Dataset::from_f32("synthetic", 784, 10, x, y)
}

/// Seconds of one DTP epoch (both passes) of a 784-H×7-10 net on `data`; the first epoch is
/// a warm-up and is not counted.
fn epoch_seconds<const H: usize, K: Kernel>(data: &Dataset, epochs: usize) -> f64 {
    let mut t: Box<FixedTrainer<784, H, 10, 6, 100, K>> = bytemuck::zeroed_box();
    t.init(Config::CONTINUOUS, Init::Orthogonal, &mut Pcg64::new(1, 1))
        .expect("reference config");
    let mut rng = Pcg64::new(2, 2);
    let mut run = |t: &mut FixedTrainer<784, H, 10, 6, 100, K>| {
        let mut noop = || {};
        let mut batches = EpochBatches::new(data, 100, &mut Pcg64::new(3, 3), &mut noop);
        t.train_epoch(&mut batches, &mut rng).expect("finite");
    };
    run(&mut t);
    timed::clear();
    let start = Instant::now();
    for _ in 0..epochs {
        run(&mut t);
    }
    start.elapsed().as_secs_f64() / epochs as f64
}

/// GFLOP/s of `C = A·B` (column-major, `M × K` by `K × N`) through matrixmultiply's sgemm and
/// through the `gemm` crate (Blocked, one thread), hot, at one shape.
fn standalone(m: usize, k: usize, n: usize, kind: &str) -> (f64, f64) {
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0.0f32; m * n];
    // Operand strides as the kernel passes them: Aᵀ·B reads A transposed, A·Bᵀ reads B so.
    let (rsa, csa) = if kind == "Aᵀ·B" { (k, 1) } else { (1, m) };
    let (rsb, csb) = if kind == "A·Bᵀ" { (n, 1) } else { (1, k) };
    let flops = 2.0 * (m * k * n) as f64;
    let reps = ((2e9 / flops) as usize).max(20);
    let time = |f: &mut dyn FnMut()| {
        for _ in 0..reps / 10 {
            f();
        }
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        flops * reps as f64 / t.elapsed().as_secs_f64() / 1e9
    };
    // SAFETY: `a` holds m × k floats and `b` k × n, laid out by the strides above (either
    // stride pair addresses exactly its buffer); `c` holds m × n, column-major, and is a
    // separate allocation, so the output aliases neither input.
    let mm = time(&mut || unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            0.0,
            c.as_mut_ptr(),
            1,
            m as isize,
        )
    });
    // SAFETY: the same buffers, shapes and strides as for `sgemm` just above.
    let gm = time(&mut || unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            m as isize,
            1,
            false,
            a.as_ptr(),
            csa as isize,
            rsa as isize,
            b.as_ptr(),
            csb as isize,
            rsb as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    });
    (mm, gm)
}

fn main() {
    let threads = std::env::args()
        .skip_while(|a| a != "--threads")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    kernel::set_threads(threads);
    println!("# dtp speed report ({threads} thread(s) for the products)\n");

    // 1. Where the time of an epoch goes, per product shape.
    let data = synthetic(10_000);
    let total = epoch_seconds::<240, Timed<Blocked>>(&data, 2);
    let ledger = timed::ledger();
    let gemm_seconds: f64 = ledger.values().map(|v| v.1 as f64 * 1e-9).sum::<f64>() / 2.0;
    println!("## 7x240, 10,000 samples, one epoch (both passes): {total:.3} s");
    println!(
        "matrix products {gemm_seconds:.3} s ({:.0} %), everything else {:.3} s\n",
        100.0 * gemm_seconds / total,
        total - gemm_seconds
    );
    println!(
        "| product | M×K×N | calls/epoch | in training GFLOP/s | gemm crate alone | matrixmultiply alone | in training / best alone |"
    );
    println!("|---|---|---|---|---|---|---|");
    let (mut flops_all, mut best_all) = (0.0, 0.0);
    for (&(layout, m, k, n), &(calls, nanos)) in &ledger {
        let (kind, seconds) = (layout.name(), nanos as f64 * 1e-9);
        let flops = 2.0 * (m * k * n) as f64 * calls as f64;
        let achieved = flops / seconds / 1e9;
        let (mm, gm) = standalone(m, k, n, kind);
        let best = mm.max(gm);
        flops_all += flops;
        best_all += flops / (best * 1e9);
        println!(
            "| {kind} | {m}×{k}×{n} | {} | {achieved:.1} | {gm:.1} | {mm:.1} | {:.0} % |",
            calls / 2,
            100.0 * achieved / best
        );
    }
    let achieved_all = flops_all / (gemm_seconds * 2.0) / 1e9;
    let best_rate = flops_all / best_all / 1e9;
    println!(
        "| all | | | {achieved_all:.1} | | best alone, same mix: {best_rate:.1} | {:.0} % |\n",
        100.0 * achieved_all / best_rate
    );
    println!(
        "epoch FLOPs in products: {:.1} GFLOP per 10,000 samples\n",
        flops_all / 2.0 / 1e9
    );

    // 2. Scaling with the number of samples (7x240) and with width (10,000 samples).
    println!("## Scaling (one epoch, both passes)\n");
    println!("| samples | seconds | µs per sample |");
    println!("|---|---|---|");
    for samples in [5_000, 10_000, 20_000] {
        let s = epoch_seconds::<240, Blocked>(&synthetic(samples), 1);
        println!("| {samples} | {s:.3} | {:.1} |", 1e6 * s / samples as f64);
    }
    println!("\n| width | parameters | seconds | ns per parameter per sample |");
    println!("|---|---|---|---|");
    let params = |h: usize| 784 * h + h + 6 * (h * h + h) + 10 * h + 10;
    let widths: [(usize, f64); 3] = [
        (120, epoch_seconds::<120, Blocked>(&data, 1)),
        (240, epoch_seconds::<240, Blocked>(&data, 1)),
        (480, epoch_seconds::<480, Blocked>(&data, 1)),
    ];
    for (h, s) in widths {
        println!(
            "| {h} | {} | {s:.3} | {:.3} |",
            params(h),
            1e9 * s / (params(h) as f64 * 10_000.0)
        );
    }
}
