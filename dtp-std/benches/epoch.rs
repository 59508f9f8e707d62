//! One DTP training epoch of the paper's 784-240×7-10 network (the `mnist-7x240` preset:
//! minibatch 100, the blocked GEMM kernel) on a fixed synthetic MNIST-sized stream of 2,000
//! samples, through the same `Model` / `EpochBatches` path as `dtp train`.
//!
//! ```text
//! cargo bench -p dtp-std --bench epoch
//! ```
//!
//! Throughput is reported in samples/s. `MATMUL_NUM_THREADS=1` measures one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dtp_std::batches::EpochBatches;
use dtp_std::config::Algo;
use dtp_std::data::Dataset;
use dtp_std::presets;
use rand_core::Rng;
use rand_pcg::Pcg64;

const SAMPLES: usize = 2_000;

/// Pixels uniform in [0, 1) with 60% zeros (MNIST-like sparsity), labels 0..9.
fn synthetic() -> Dataset {
    let mut rng = Pcg64::new(7, 7);
    let mut x = Vec::with_capacity(SAMPLES * 784);
    for _ in 0..SAMPLES * 784 {
        let u = (rng.next_u32() >> 8) as f32 / 16_777_216.0;
        x.push(if u < 0.6 { 0.0 } else { (u - 0.6) / 0.4 });
    }
    let y = (0..SAMPLES).map(|i| (i % 10) as u8).collect();
    Dataset::from_f32("synthetic", 784, 10, x, y)
}

fn epoch(c: &mut Criterion) {
    let preset = presets::find("mnist-7x240").unwrap();
    let hyper = (preset.defaults)();
    let mut model = dtp_std::model::build(&hyper, &hyper.layers.resolve(784, 10), 10).unwrap();
    model.init(&hyper, &mut Pcg64::new(1, 1)).unwrap();
    let data = synthetic();
    let mut rng = Pcg64::new(2, 2);
    let mut g = c.benchmark_group("dtp-epoch");
    g.throughput(Throughput::Elements(SAMPLES as u64));
    g.sample_size(10);
    g.bench_function("mnist-7x240, 2000 synthetic samples", |b| {
        b.iter(|| {
            let mut noop = || {};
            let mut batches = EpochBatches::new(&data, 100, &mut Pcg64::new(3, 3), &mut noop);
            model
                .train_epoch(&mut batches, Algo::Dtp, hyper.bp_gradient, &mut rng)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
