//! The device computes what the host computes: `firmware/`'s `learn_digits` demo replayed on
//! the host — the same 4-bit digits, the same training stream (held-out split, seeded
//! Fisher–Yates order reshuffled every epoch), the same generator, settings and trainer type
//! (`FusedTrainer<64, 32, 10, 1>`) — ends with every weight bit the device ends with: the FNV-1a
//! digest the firmware logs after training (`firmware/src/run.rs`), which `.ci/run` requires on
//! all four QEMU boards, is the one in `firmware/weights-digest-seed1.txt`.
//!
//! This mirrors `firmware/build.rs` (4-bit pixels), `firmware/src/digits.rs` (split, scaling)
//! and `firmware/src/source.rs` (order); a change there must change this too, or this fails.

use dtp_core::{Config, Feedback, FusedTrainer, Init};
use rand_core::Rng;
use rand_pcg::Pcg32;
use std::io::Read;

const PIXELS: usize = 64;
const LEN: usize = 1797;
const SEED: u64 = 1;
const EPOCHS: u32 = 4;
/// The stream of the trainer's generator (`firmware/src/run.rs`, `rng()`).
const TRAINER_STREAM: u64 = 0x0a02_bdbf_7bb3_c0a7;
/// The stream of the sample order (`firmware/src/source.rs`, `ORDER_STREAM`).
const ORDER_STREAM: u64 = 0x5851_f42d_4c95_7f2d;

/// The digits as the firmware holds them: pixel `v ∈ 0..=16` stored as `q = (15v + 8)/16` (4
/// bits) and read as `q · (1/15)`; and the labels.
fn device_digits() -> (Vec<[f32; PIXELS]>, Vec<u8>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../dtp-std/data/digits.csv.gz");
    let mut csv = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut csv)
        .unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for line in csv.lines() {
        let Ok(values) = line
            .split(',')
            .map(|f| f.trim().parse::<f64>().map(|v| v as u32))
            .collect::<Result<Vec<u32>, _>>()
        else {
            continue; // a header line
        };
        let mut image = [0.0f32; PIXELS];
        for (p, &v) in image.iter_mut().zip(&values[..PIXELS]) {
            *p = ((v * 15 + 8) / 16) as f32 * (1.0 / 15.0);
        }
        x.push(image);
        y.push(values[PIXELS] as u8);
    }
    assert_eq!(y.len(), LEN);
    (x, y)
}

/// Fisher–Yates as `FlashDigits::shuffle`: for `i` from the last down to 1, swap with
/// `⌊r·(i+1)/2³²⌋`.
fn shuffle(order: &mut [u16], rng: &mut Pcg32) {
    for i in (1..order.len()).rev() {
        let r = u64::from(rng.next_u32());
        let j = ((r * (i as u64 + 1)) >> 32) as usize;
        order.swap(i, j);
    }
}

fn digest(parts: &[&[f32]]) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for v in parts.iter().copied().flatten() {
        for byte in v.to_bits().to_le_bytes() {
            h = (h ^ byte as u32).wrapping_mul(0x0100_0193);
        }
    }
    h
}

#[test]
fn the_host_replay_of_learn_digits_ends_with_the_devices_weight_bits() {
    let (x, y) = device_digits();
    // Held out: every fifth sample (i % 5 == 4); the stream's j-th sample is j/4·5 + j%4.
    let train: Vec<usize> = (0..LEN).filter(|i| i % 5 != 4).collect();
    assert_eq!(train.len(), 1438);
    let mut config = Config::FIRMWARE_SIGN;
    config.feedback = Feedback::Dtp;
    let mut trainer = bytemuck::zeroed_box::<FusedTrainer<64, 32, 10, 1>>();
    let mut rng = Pcg32::new(SEED, TRAINER_STREAM);
    trainer.init(config, Init::Orthogonal, &mut rng).unwrap();
    let mut order_rng = Pcg32::new(SEED, ORDER_STREAM);
    let mut order: Vec<u16> = (0..train.len() as u16).collect();
    shuffle(&mut order, &mut order_rng);
    for epoch in 0..EPOCHS {
        for &j in &order {
            let i = train[usize::from(j)];
            let (bx, bt) = trainer.batch_mut();
            bx.as_mut_slice().copy_from_slice(&x[i]);
            bt.fill(0.0);
            bt[usize::from(y[i])] = 1.0;
            trainer.step(&mut rng).unwrap();
        }
        shuffle(&mut order, &mut order_rng);
        // The firmware divides the forward learning rate by 1 + epoch from the next sample on.
        trainer.epoch = epoch + 1;
    }
    let net = &trainer.net;
    let got = digest(&[
        net.first.w.as_slice(),
        net.first.b.as_slice(),
        net.hidden[0].w.as_slice(),
        net.hidden[0].b.as_slice(),
        net.output.w.as_slice(),
        net.output.b.as_slice(),
        net.inverse[0].w.as_slice(),
        net.inverse[0].b.as_slice(),
    ]);
    let expected = include_str!("../../firmware/weights-digest-seed1.txt").trim();
    assert_eq!(
        format!("{got:#010x}"),
        expected,
        "host replay of learn_digits, seed 1"
    );
}
