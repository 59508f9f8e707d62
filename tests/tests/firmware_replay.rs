//! The device computes what the host computes: `firmware/`'s `learn_digits` demo replayed on
//! the host — the same 4-bit digits table, the same training stream (held-out split, seeded
//! Fisher–Yates order reshuffled every epoch), the same generator, settings and trainer type
//! (`FusedTrainer<64, 32, 10, 1>`) — ends with every weight bit the device ends with: the FNV-1a
//! digest the firmware logs after training (`firmware/src/run.rs`), which `.ci/run` requires on
//! all four QEMU boards, is the one in `firmware/weights-digest-seed1.txt`.
//!
//! The same for the `ddtp` feature's build (`DdtpTrainer<64, 32, 10, 1>`, DDTP-linear with
//! σ = `DRL_SIGMA`): `firmware/ddtp-weights-digest-seed1.txt`.
//!
//! The table, its format, the split, the order and the digest are `dtp_digits`'s, which the
//! firmware and its build script use too; the loop mirrors `firmware/src/run.rs` (`train`).

use dtp_core::{
    Config, Const, Feedback, FeedbackState, Fixed, FixedStore, Fused, Init, Portable, Trainer,
};
use dtp_digits::digest::fnv1a;
use dtp_digits::order::{ORDER_STREAM, TRAINER_STREAM, shuffle};
use dtp_digits::split::{TRAIN, train_index};
use dtp_digits::table::Table;
use dtp_digits::{LEN, PIXELS};
use rand_pcg::Pcg32;
use std::io::Read;

const SEED: u64 = 1;
const EPOCHS: u32 = 4;

/// The digits table as `firmware/build.rs` packs it into flash.
fn device_table() -> Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../dtp-std/data/digits.csv.gz");
    let mut csv = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut csv)
        .unwrap();
    let table = Table::from_csv(&csv).unwrap();
    assert_eq!(table.labels.len(), LEN);
    table
}

/// `learn_digits` on the host with trainer state `V` and `config`: the FNV-1a digest of every
/// network weight after training, as the firmware logs it.
fn replay<V: FeedbackState<Const<32>> + FixedStore>(config: Config) -> String {
    let table = device_table();
    assert_eq!(TRAIN, 1438);
    let mut trainer = bytemuck::zeroed_box::<Trainer<Layout, Const<1>, Portable, Fused, V>>();
    let mut rng = Pcg32::new(SEED, TRAINER_STREAM);
    trainer.init(config, Init::Orthogonal, &mut rng).unwrap();
    let mut order_rng = Pcg32::new(SEED, ORDER_STREAM);
    let mut order: [u16; TRAIN] = std::array::from_fn(|j| j as u16);
    shuffle(&mut order, &mut order_rng);
    let mut x = [0.0f32; PIXELS];
    for epoch in 0..EPOCHS {
        for &j in &order {
            let label = table.sample(train_index(usize::from(j)), &mut x).unwrap();
            let (bx, bt) = trainer.batch_mut();
            bx.as_mut_slice().copy_from_slice(&x);
            bt.fill(0.0);
            bt[usize::from(label)] = 1.0;
            trainer.step(&mut rng).unwrap();
        }
        shuffle(&mut order, &mut order_rng);
        // The firmware divides the forward learning rate by 1 + epoch from the next sample on.
        trainer.epoch = epoch + 1;
    }
    let net = &trainer.net;
    let got = fnv1a(&[
        net.first.w.as_slice(),
        net.first.b.as_slice(),
        net.hidden[0].w.as_slice(),
        net.hidden[0].b.as_slice(),
        net.output.w.as_slice(),
        net.output.b.as_slice(),
        net.inverse[0].w.as_slice(),
        net.inverse[0].b.as_slice(),
    ]);
    format!("{got:#010x}")
}

#[test]
fn the_host_replay_of_learn_digits_ends_with_the_devices_weight_bits() {
    let mut config = Config::FIRMWARE_SIGN;
    config.feedback = Feedback::Dtp;
    let got = replay::<dtp_core::InverseState<Layout>>(config);
    let expected = include_str!("../../firmware/weights-digest-seed1.txt").trim();
    assert_eq!(got, expected, "host replay of learn_digits, seed 1");
}

/// The `ddtp` build: `FIRMWARE_FEATURES=ddtp firmware/run-qemu.sh learn_digits` logs this digest.
#[test]
fn the_host_replay_of_the_ddtp_build_ends_with_the_devices_weight_bits() {
    let mut config = Config::FIRMWARE_SIGN;
    config.feedback = Feedback::DdtpLinear;
    config.sigma.sigma0 = dtp_core::DRL_SIGMA;
    let got = replay::<dtp_core::ddtp::DirectLinear<Layout, Const<1>>>(config);
    let expected = include_str!("../../firmware/ddtp-weights-digest-seed1.txt").trim();
    assert_eq!(
        got, expected,
        "host replay of learn_digits --features ddtp, seed 1"
    );
}

type Layout = Fixed<64, 32, 10, 1>;
