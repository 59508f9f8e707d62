//! `SampleClock`: the per-sample path advances the learning-rate schedule. A device that steps
//! a `FusedTrainer` on a stream with `Config::FIRMWARE_SIGN` (forward rate ÷ (1 + epoch)) gets
//! the decay through the clock — the same bits as the firmware's demos, which set `epoch` at
//! each epoch's end — and not without it (issue 27: the silent no-decay).

use dtp_core::noise::standard_normal;
use dtp_core::{Config, Error, FusedTrainer, Init, SampleClock, Stage};
use rand_core::Rng;
use rand_pcg::Pcg32;

type T = FusedTrainer<6, 8, 3, 1>;
const PERIOD: u32 = 40;

fn trainer() -> T {
    T::new(
        Config::FIRMWARE_SIGN,
        Init::Orthogonal,
        &mut Pcg32::new(3, 7),
    )
    .unwrap()
}

fn sample(t: &mut T, data: &mut Pcg32) {
    let class = (data.next_u32() % 3) as usize;
    let (x, labels) = t.batch_mut();
    for (i, v) in x.iter_mut().enumerate() {
        *v = standard_normal(data) * 0.3 + if i % 3 == class { 1.0 } else { 0.0 };
    }
    labels.fill(0.0);
    labels[class] = 1.0;
}

/// Steps `samples` samples; `how` steps one.
fn run(samples: u32, mut how: impl FnMut(&mut T, &mut Pcg32, u32)) -> T {
    let mut t = trainer();
    let (mut rng, mut data) = (Pcg32::new(3, 11), Pcg32::new(3, 13));
    for k in 0..samples {
        sample(&mut t, &mut data);
        how(&mut t, &mut rng, k);
    }
    t
}

#[test]
fn the_clock_decays_as_the_firmware_does() {
    let mut clock = SampleClock::every(PERIOD);
    let clocked = run(3 * PERIOD + 5, |t, rng, _| {
        clock.step(t, rng).unwrap();
    });
    assert_eq!(clocked.epoch, 3);
    assert_eq!(clock.seen, 5);
    assert_eq!(clocked.config().forward_at(clocked.epoch).lr, 6e-4 / 4.0);
    // The firmware's way: `epoch` set by hand after each period of the stream.
    let by_hand = run(3 * PERIOD + 5, |t, rng, k| {
        t.step(rng).unwrap();
        t.epoch = (k + 1) / PERIOD;
    });
    assert_eq!(
        clocked.net, by_hand.net,
        "the clock decays exactly as the demos do"
    );
    // Plain `step` never decays: other weights (this is what a device without the clock
    // learned, silently).
    let plain = run(3 * PERIOD + 5, |t, rng, _| {
        t.step(rng).unwrap();
    });
    assert_eq!(plain.epoch, 0);
    assert_ne!(clocked.net, plain.net, "the decay must change the weights");
}

#[test]
fn a_zero_period_never_advances_and_an_error_is_not_counted() {
    let mut clock = SampleClock::every(0);
    let t = run(100, |t, rng, _| {
        clock.step(t, rng).unwrap();
    });
    assert_eq!((t.epoch, clock.seen), (0, 0));

    let mut clock = SampleClock::every(2);
    let mut t = trainer();
    let mut rng = Pcg32::new(3, 11);
    sample(&mut t, &mut Pcg32::new(3, 13));
    clock.step(&mut t, &mut rng).unwrap();
    t.batch_mut().0[0] = f32::NAN;
    let e = clock.step(&mut t, &mut rng).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                stage: Stage::Input,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!((t.epoch, clock.seen), (0, 1));
}
