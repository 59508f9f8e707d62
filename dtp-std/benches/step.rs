//! One minibatch of the paper's 784-240×7-10 network (batch 100, `Config::CONTINUOUS`, the
//! blocked GEMM on one thread): what DTP costs per step against backprop on the same net.
//!
//! ```text
//! cargo bench -p dtp-std --bench step
//! ```
//!
//! - `dtp alternating`: the work one minibatch costs in the reference schedule, i.e. its
//!   inverse-pass step (`inverse_only`: forward pass, inverse training) plus its forward-pass
//!   step (`forward_only`: forward pass, targets, forward training);
//! - `dtp interleaved`: [`Trainer::step`] (one forward pass shared by both updates);
//! - `backprop`: [`Trainer::backprop_step`] (forward, exact backward, RMSprop).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dtp_core::kernel::{self, Blocked};
use dtp_core::{Config, FixedTrainer, Gradient, Init, Optimiser};
use rand_core::Rng;
use rand_pcg::Pcg64;
use std::hint::black_box;

type Paper = FixedTrainer<784, 240, 10, 6, 100, Blocked>;

fn trainer() -> Box<Paper> {
    let mut t: Box<Paper> = bytemuck::zeroed_box();
    t.init(Config::CONTINUOUS, Init::Orthogonal, &mut Pcg64::new(1, 1))
        .expect("reference config");
    let mut rng = Pcg64::new(5, 5);
    let (x, y) = t.batch_mut();
    for v in x.iter_mut() {
        let u = (rng.next_u32() >> 8) as f32 / 16_777_216.0;
        *v = if u < 0.6 { 0.0 } else { (u - 0.6) / 0.4 };
    }
    y.fill(0.0);
    for b in 0..100 {
        y[(b % 10, b)] = 1.0;
    }
    t
}

fn bench(c: &mut Criterion) {
    kernel::set_threads(1);
    let mut g = c.benchmark_group("7x240 minibatch of 100");
    g.throughput(Throughput::Elements(100));
    g.sample_size(30);
    let mut rng = Pcg64::new(2, 2);
    let mut t = trainer();
    g.bench_function("dtp alternating (inverse_only + forward_only)", |b| {
        b.iter(|| {
            black_box(t.inverse_only(&mut rng).expect("finite"));
            black_box(t.forward_only(&mut rng).expect("finite"))
        })
    });
    let mut t = trainer();
    g.bench_function("dtp interleaved (step)", |b| {
        b.iter(|| black_box(t.step(&mut rng).expect("finite")))
    });
    let mut t = trainer();
    // The RESULTS.md backprop learning rate (the DTP one diverges under backprop).
    let config = Config {
        forward: Optimiser::rmsprop(1e-3),
        ..Config::CONTINUOUS
    };
    t.set_config(config).expect("valid config");
    g.bench_function("backprop (exact)", |b| {
        b.iter(|| black_box(t.backprop_step(Gradient::Exact, &mut rng).expect("finite")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
