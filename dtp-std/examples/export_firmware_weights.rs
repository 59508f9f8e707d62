//! Trains the firmware's 64-32-32-10 sign network on the host and writes its weight blob
//! (`dtp_core::blob`), the starting point of the firmware's adaptation demo.
//!
//! ```text
//! cargo run --release -p dtp-std --example export_firmware_weights -- firmware/weights/digits-sign-64-32-32-10.dtpw
//! ```
//!
//! Same data as the device sees: the UCI digits with pixels quantised to 4 bits as
//! `firmware/build.rs` stores them (`q = round(15v/16)`, read as `q/15`), samples with
//! `i % 5 == 4` held out; same units and hyper-parameters as `firmware/src/demo.rs`, 4 epochs
//! of one-sample DTP steps in a shuffled order. Then, as a preview of the device run, it
//! continues on inverted digits and prints how the held-out accuracy recovers.

use dtp_core::{Config, Init, Optimiser, Quantiser, Schedule, SigmaSchedule, Trainer, Units};
use rand_pcg::Pcg32;

type Net = Trainer<64, 32, 10, 1, 1>;
type Set = Vec<([f32; 64], u8)>;

fn quantise(x: f32) -> f32 {
    let v = (x * 16.0).round() as u32;
    ((v * 15 + 8) / 16) as f32 / 15.0
}

fn config(lr: f32) -> Config {
    Config {
        units: Units {
            into_output: Quantiser::Sign,
            ..Units::DISCRETE
        },
        eta_hat: 3.0,
        forward: Optimiser::rmsprop(lr),
        inverse: Optimiser::rmsprop(1e-4),
        sigma: SigmaSchedule::constant(0.5),
        input_noise: 0.0,
        schedule: Schedule::Interleaved,
    }
}

fn load(t: &mut Net, x: &[f32; 64], y: u8) {
    let (bx, bt) = t.batch_mut();
    bx.as_mut_slice().copy_from_slice(x);
    bt.fill(0.0);
    bt[(y as usize, 0)] = 1.0;
}

fn accuracy(t: &mut Net, set: &Set, rng: &mut Pcg32) -> f32 {
    let mut correct = 0;
    for (x, y) in set {
        load(t, x, *y);
        correct += t.evaluate(rng).expect("finite").correct;
    }
    100.0 * correct as f32 / set.len() as f32
}

fn epoch(t: &mut Net, set: &Set, e: usize, rng: &mut Pcg32) {
    const STRIDES: [usize; 8] = [601, 577, 1031, 863, 997, 1151, 1213, 1301];
    let n = set.len();
    for j in 0..n {
        let (x, y) = &set[(j * STRIDES[e % 8] + 37 * e) % n];
        load(t, x, *y);
        t.step(rng).expect("finite");
    }
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "firmware/weights/digits-sign-64-32-32-10.dtpw".into());
    let digits = dtp_std::data::digits();
    let (mut train, mut test) = (Set::new(), Set::new());
    for i in 0..digits.len() {
        let (x, y) = digits.sample(i);
        let mut q = [0.0f32; 64];
        q.iter_mut().zip(x).for_each(|(q, &x)| *q = quantise(x));
        if i % 5 == 4 {
            test.push((q, y));
        } else {
            train.push((q, y));
        }
    }
    let mut rng = Pcg32::new(7, 0x0a02_bdbf_7bb3_c0a7);
    let mut t: Box<Net> = bytemuck::zeroed_box();
    t.init(config(6e-4), Init::Orthogonal, &mut rng)
        .expect("config");
    for e in 0..4 {
        t.set_config(config(6e-4 / (1.0 + e as f32)))
            .expect("config");
        epoch(&mut t, &train, e, &mut rng);
        let acc = accuracy(&mut t, &test, &mut rng);
        println!("host epoch {e}: held-out {acc:.1}%");
    }
    let mut blob = vec![0u8; dtp_core::Net::<64, 32, 10, 1>::BLOB_LEN];
    t.net
        .write_blob(&t.config().units, &mut blob)
        .expect("blob");
    std::fs::write(&out, &blob).expect("write blob");
    println!("wrote {} bytes to {out}", blob.len());

    // Preview of the device's adaptation demo: inverted digits, fresh optimiser state.
    let lr: f32 = std::env::var("ADAPT_LR")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6e-4);
    let right = std::env::var("ADAPT").as_deref() == Ok("right");
    let invert = |set: &Set| -> Set {
        set.iter()
            .map(|(x, y)| {
                let mut z = x.map(|v| 1.0 - v);
                if right {
                    z = *x;
                    for row in z.chunks_exact_mut(8) {
                        row.copy_within(0..7, 1);
                        row[0] = 0.0;
                    }
                }
                (z, *y)
            })
            .collect()
    };
    let (train_inv, test_inv) = (invert(&train), invert(&test));
    t.init(config(6e-4), Init::Orthogonal, &mut rng)
        .expect("config");
    t.net.read_blob(&blob).expect("blob");
    let acc = accuracy(&mut t, &test_inv, &mut rng);
    println!("inverted, before adapting: held-out {acc:.1}%");
    for e in 0..3 {
        t.set_config(config(lr / (1.0 + e as f32))).expect("config");
        epoch(&mut t, &train_inv, e, &mut rng);
        let inv = accuracy(&mut t, &test_inv, &mut rng);
        let clean = accuracy(&mut t, &test, &mut rng);
        println!("inverted, after epoch {e}: held-out {inv:.1}% (clean digits: {clean:.1}%)");
    }
}
