//! The firmware's training step on the host: one DTP step of the 64-32-32-10 sign network
//! (`FixedTrainer<64, 32, 10, 1, 1>`, Portable kernel, `presets::firmware_config()`: the hyper-parameters of
//! `firmware/src/demo.rs`) on one UCI digit, next to the firmware's instruction count for the
//! same step under QEMU (README, "On a microcontroller").
//!
//! ```text
//! cargo bench -p dtp-std --bench firmware_step
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use dtp_core::bits;
use dtp_core::{FixedTrainer, Init, Mat};
use rand_pcg::Pcg32;
use std::hint::black_box;

type Net = FixedTrainer<64, 32, 10, 1, 1>;

fn bench(c: &mut Criterion) {
    let digits = dtp_std::data::digits();
    let (x, y) = digits.sample(0);
    let x: [f32; 64] = x[..].try_into().expect("64 pixels");
    let mut rng = Pcg32::new(1, 0x0a02_bdbf_7bb3_c0a7);
    let mut t: Box<Net> = bytemuck::zeroed_box();
    t.init(
        dtp_std::presets::firmware_config(),
        Init::Orthogonal,
        &mut rng,
    )
    .expect("config");
    let load = |t: &mut Net| {
        let (bx, bt) = t.batch_mut();
        bx.as_mut_slice().copy_from_slice(&x);
        bt.fill(0.0);
        bt[(y as usize, 0)] = 1.0;
    };
    c.bench_function("firmware 64-32-32-10 sign: DTP step (1 sample)", |b| {
        b.iter(|| {
            load(&mut t);
            black_box(t.step(&mut rng).expect("finite"))
        })
    });
    c.bench_function("firmware 64-32-32-10 sign: evaluate (f32 path)", |b| {
        b.iter(|| {
            load(&mut t);
            black_box(t.evaluate(&mut rng).expect("finite"))
        })
    });
    let input = Mat::<64, 1>::from_column_slice(&x);
    let units = t.config().units;
    c.bench_function("firmware 64-32-32-10 sign: predict (packed bits)", |b| {
        let (mut scratch, mut logits) = ([0.0; 32], [0.0; 10]);
        b.iter(|| {
            black_box(bits::predict_packed::<64, 32, 10, 1, 1>(
                &t.net,
                &units,
                black_box(&input),
                &mut scratch,
                &mut logits,
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
