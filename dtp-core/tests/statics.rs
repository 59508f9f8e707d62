//! A small trainer lives in a `static` (as on a microcontroller) and trains per sample.

use dtp_core::{Config, FixedTrainer, Init, Trainer};
use rand_pcg::Pcg32;
use std::sync::Mutex;

static TRAINER: Mutex<FixedTrainer<8, 8, 3, 1, 1>> = Mutex::new(Trainer::ZERO);

#[test]
fn a_trainer_lives_in_a_static_and_trains_per_sample() {
    let mut t = TRAINER.lock().unwrap();
    let mut rng = Pcg32::new(1, 2);
    t.init(Config::DISCRETE, Init::Orthogonal, &mut rng)
        .unwrap();
    for step in 0..10 {
        let (x, labels) = t.batch_mut();
        x.fill(0.1 * step as f32);
        labels.fill(0.0);
        labels[(step % 3, 0)] = 1.0;
        t.step(&mut rng).unwrap();
    }
    assert!(t.net.is_finite());
    assert_ne!(
        t.net.first.w,
        FixedTrainer::<8, 8, 3, 1, 1>::ZERO.net.first.w
    );
}
