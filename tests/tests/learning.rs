//! Learning curves on real data: DTP learns the UCI 8×8 digits (1,797 images), and a net of
//! sign units learns with DTP where backprop through sign cannot.

use dtp_core::{
    AutoencoderConfig, Config, FixedTrainer, Gradient, Init, Optimiser, Schedule, SigmaSchedule,
    Units,
};
use dtp_std::data::digits_split;
use dtp_tests::{Shuffled, accuracy};
use rand_pcg::Pcg32;

/// 64-64-64-10, minibatches of 10.
type Digits = FixedTrainer<64, 64, 10, 1, 10>;

fn config(units: Units) -> Config {
    Config {
        units,
        eta_hat: 0.5,
        forward: Optimiser::rmsprop(1e-3),
        inverse: Optimiser::rmsprop(1e-3),
        sigma: SigmaSchedule::constant(0.3),
        input_noise: 0.0,
        schedule: Schedule::Alternating,
    }
}

#[test]
fn dtp_learns_the_digits() {
    let (train, test) = digits_split(0.25, 1).unwrap();
    let mut rng = Pcg32::new(42, 0);
    let mut t = Digits::new(config(Units::CONTINUOUS), Init::Orthogonal, &mut rng).unwrap();
    let before = accuracy(&mut t, &test);
    let mut batches = Shuffled::new(&train, 3);
    for _ in 0..20 {
        t.train_epoch(&mut batches, &mut rng).unwrap();
    }
    let after = accuracy(&mut t, &test);
    println!("DTP digits test accuracy: {before:.3} → {after:.3}");
    assert!(after >= 0.90, "test accuracy {after}");
}

#[test]
fn sign_units_learn_with_dtp_but_not_with_backprop_through_sign() {
    let (train, test) = digits_split(0.25, 1).unwrap();
    let run = |dtp: bool| {
        let mut rng = Pcg32::new(7, 0);
        let mut c = config(Units::DISCRETE);
        c.eta_hat = 5.0;
        let mut t = Digits::new(c, Init::Orthogonal, &mut rng).unwrap();
        let first_layer = t.net.first.clone();
        let mut batches = Shuffled::new(&train, 3);
        for _ in 0..20 {
            if dtp {
                t.train_epoch(&mut batches, &mut rng).unwrap();
            } else {
                t.backprop_epoch(&mut batches, Gradient::Exact, &mut rng)
                    .unwrap();
            }
        }
        (accuracy(&mut t, &test), t.net.first == first_layer)
    };
    let (dtp, dtp_first_unchanged) = run(true);
    let (bp, bp_first_unchanged) = run(false);
    println!("sign net: DTP {dtp:.3}, backprop through sign {bp:.3}");
    // Backprop's exact gradient through sign is zero: layer 1 never moves.
    assert!(bp_first_unchanged);
    assert!(!dtp_first_unchanged);
    assert!(dtp >= 0.90, "DTP with sign units: {dtp}");
    assert!(dtp > bp + 0.02, "DTP {dtp} vs BP-through-sign {bp}");
}

/// Held-out reconstruction error of a 64-32-64 DTP auto-encoder after 10 epochs, at
/// initialisation and after training; `encoder_lr = 0` freezes the encoder.
fn autoencoder_run(encoder_lr: f32) -> (f32, f32) {
    use dtp_core::{AutoencoderConfig, FixedAutoencoder};
    let (train, test) = digits_split(0.25, 1).unwrap();
    let mut ae: Box<FixedAutoencoder<64, 32, 10>> = bytemuck::zeroed_box();
    let mut rng = Pcg32::new(5, 0);
    let mut config = AutoencoderConfig::DEFAULT;
    config.encoder_opt.lr = encoder_lr;
    ae.init(config, Init::Orthogonal, &mut rng).unwrap();
    let test_loss = |ae: &mut FixedAutoencoder<64, 32, 10>| {
        let mut total = 0.0;
        let n = test.len() / 10;
        for k in 0..n {
            for b in 0..10 {
                ae.input_mut()
                    .column_mut(b)
                    .copy_from_slice(test.sample(k * 10 + b).0);
            }
            total += ae.evaluate().unwrap();
        }
        total / n as f32
    };
    let before = test_loss(&mut ae);
    for _ in 0..10 {
        for k in 0..train.len() / 10 {
            for b in 0..10 {
                ae.input_mut()
                    .column_mut(b)
                    .copy_from_slice(train.sample(k * 10 + b).0);
            }
            ae.step(&mut rng).unwrap();
        }
    }
    (before, test_loss(&mut ae))
}

#[test]
fn dtp_autoencoder_learns_to_reconstruct_digits() {
    let (before, after) = autoencoder_run(AutoencoderConfig::DEFAULT.encoder_opt.lr);
    let (_, frozen) = autoencoder_run(0.0);
    println!(
        "DTP auto-encoder held-out reconstruction error: {before:.2} → {after:.2} \
         (decoder only, encoder frozen: {frozen:.2})"
    );
    assert!(after < 0.4 * before, "{before} → {after}");
    // The encoder's DTP target helps beyond what the decoder alone achieves.
    assert!(
        after < 0.9 * frozen,
        "trained {after} vs frozen encoder {frozen}"
    );
}
