//! `im2col`, `col2im` and the channel-major reorders (`to_samples`, `from_samples`) of one
//! 50-sample chunk at `mnist-conv`'s two convolutions (the
//! run-time world's batched forms, `dtp_core::conv_shape::ConvShape`): the patch copies a
//! convolution's products need before (and the transposed convolution's after) each GEMM.
//!
//! ```text
//! cargo bench -p dtp-std --bench im2col
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dtp_core::conv::DMat;
use dtp_core::conv_shape::ConvShape;
use std::hint::black_box;

const CHUNK: usize = 50;

fn bench(c: &mut Criterion) {
    let layers = [
        ("1x28x28 k3s2p1", (1, 28, 28, 32)),
        ("32x14x14 k3s2p1", (32, 14, 14, 64)),
    ];
    let mut g = c.benchmark_group("im2col");
    for (name, (ci, h, w, co)) in layers {
        let shape = ConvShape {
            channels_in: ci,
            height: h,
            width: w,
            channels_out: co,
            kernel: 3,
            stride: 2,
            padding: 1,
        };
        let x = DMat::from_fn(shape.inputs(), CHUNK, |r, b| {
            ((r * 7 + b * 3) % 11) as f32 - 5.0
        });
        let mut cols = DMat::zeros(shape.patch(), CHUNK * shape.positions());
        g.throughput(Throughput::Elements(cols.len() as u64));
        g.bench_function(format!("im2col {name}"), |bch| {
            bch.iter(|| shape.im2col(black_box(&x), &mut cols))
        });
        let mut z = DMat::zeros(co, CHUNK * shape.positions());
        z.as_mut_slice()
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = (i % 13) as f32);
        let mut y = DMat::zeros(shape.outputs(), CHUNK);
        g.bench_function(format!("to_samples {name}"), |bch| {
            bch.iter(|| shape.to_samples(black_box(&z), &mut y))
        });
        g.bench_function(format!("from_samples {name}"), |bch| {
            bch.iter(|| shape.from_samples(black_box(&y), &mut z))
        });
        let mut back = DMat::zeros(shape.inputs(), CHUNK);
        g.bench_function(format!("col2im {name}"), |bch| {
            bch.iter(|| shape.col2im(black_box(&cols), CHUNK, &mut back))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
