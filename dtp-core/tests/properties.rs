//! Property tests over random values and several network shapes: the difference-target
//! identity, no NaN from finite inputs with bounded learning rates, a minibatch of identical
//! samples equals one sample, and resuming from saved state equals continuing.

use dtp_core::noise::standard_normal;
use dtp_core::{Config, FixedTrainer, Init, Mat, Optimiser, Schedule, SigmaSchedule, Units};
use proptest::prelude::*;
use rand_pcg::Pcg32;

fn units(i: u8) -> Units {
    [Units::CONTINUOUS, Units::DISCRETE, Units::STOCHASTIC][i as usize % 3]
}

fn config(u: Units, eta_hat: f32, lr: f32, sigma: f32) -> Config {
    Config {
        units: u,
        eta_hat,
        forward: Optimiser::rmsprop(lr),
        inverse: Optimiser::rmsprop(lr),
        sigma: SigmaSchedule::constant(sigma),
        input_noise: 0.0,
        schedule: Schedule::Interleaved,
        lr_decay: dtp_core::LrDecay::NONE,
        feedback: dtp_core::Feedback::Dtp,
        frozen: dtp_core::LayerSet::NONE,
    }
}

/// A trainer with weights scaled by `scale` and a batch drawn with values up to `input`.
fn random<const IN: usize, const H: usize, const OUT: usize, const R: usize, const B: usize>(
    c: Config,
    seed: u64,
    scale: f32,
    input: f32,
) -> FixedTrainer<IN, H, OUT, R, B> {
    let mut r = Pcg32::new(seed, 3);
    let mut t = FixedTrainer::<IN, H, OUT, R, B>::new(c, Init::Orthogonal, &mut r).unwrap();
    let scale_all = |m: &mut [f32]| m.iter_mut().for_each(|v| *v *= scale);
    scale_all(t.net.first.w.as_mut_slice());
    t.net
        .hidden
        .iter_mut()
        .for_each(|d| scale_all(d.w.as_mut_slice()));
    t.net
        .inverse
        .iter_mut()
        .for_each(|d| scale_all(d.w.as_mut_slice()));
    let (x, labels) = t.batch_mut();
    x.iter_mut()
        .for_each(|v| *v = input * standard_normal(&mut r));
    labels.fill(0.0);
    for b in 0..B {
        labels[((seed as usize + b) % OUT, b)] = 1.0;
    }
    t
}

fn identity_holds<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const B: usize,
>(
    u: Units,
    seed: u64,
    scale: f32,
    input: f32,
) -> Result<(), TestCaseError> {
    let mut t = random::<IN, H, OUT, R, B>(config(u, 0.0, 0.01, 0.1), seed, scale, input);
    let mut r = Pcg32::new(seed, 9);
    t.forward(true, &mut r).unwrap();
    t.top_target().unwrap();
    t.difference_targets(&mut r).unwrap();
    for k in 0..=R {
        prop_assert_eq!(&t.targets()[k], &t.activations()[k]);
    }
    Ok(())
}

fn steps_stay_finite<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const B: usize,
>(
    c: Config,
    seed: u64,
    scale: f32,
    input: f32,
) -> Result<(), TestCaseError> {
    let mut t = random::<IN, H, OUT, R, B>(c, seed, scale, input);
    let mut r = Pcg32::new(seed, 10);
    for _ in 0..5 {
        prop_assert!(t.step(&mut r).is_ok());
        prop_assert!(
            t.backprop_step(dtp_core::Gradient::StraightThrough, &mut r)
                .is_ok()
        );
    }
    prop_assert!(t.net.is_finite());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn difference_target_identity(seed in any::<u64>(), u in 0u8..2, scale in 0.1f32..3.0, input in 0.0f32..5.0) {
        // Deterministic quantisers only: a Bernoulli inverse input re-samples by design.
        identity_holds::<3, 5, 2, 1, 1>(units(u), seed, scale, input)?;
        identity_holds::<7, 4, 3, 3, 4>(units(u), seed, scale, input)?;
        identity_holds::<16, 9, 10, 2, 6>(units(u), seed, scale, input)?;
    }

    #[test]
    fn finite_inputs_and_bounded_rates_never_give_nan(
        seed in any::<u64>(),
        u in 0u8..3,
        eta in 0.0f32..60.0,
        lr in 0.0f32..0.1,
        sigma in 0.0f32..1.0,
        scale in 0.1f32..3.0,
        input in 0.0f32..10.0,
    ) {
        let c = config(units(u), eta, lr, sigma);
        steps_stay_finite::<3, 5, 2, 1, 1>(c, seed, scale, input)?;
        steps_stay_finite::<12, 8, 4, 2, 5>(c, seed, scale, input)?;
    }

    #[test]
    fn a_batch_of_copies_steps_like_one_sample(seed in any::<u64>(), u in 0u8..2) {
        // Losses are batch means: B identical samples give the gradient of one. The top target
        // moves each sample by η̂/B times its own gradient (the reference's scaling), so the
        // batch of four uses 4η̂.
        let mut c = config(units(u), 0.7, 0.05, 0.0);
        c.forward = Optimiser::sgd(0.05, 0.5);
        c.inverse = Optimiser::sgd(0.05, 0.5);
        let mut one = random::<6, 5, 3, 2, 1>(c, seed, 1.0, 1.0);
        let c4 = Config { eta_hat: 4.0 * c.eta_hat, ..c };
        let mut four = FixedTrainer::<6, 5, 3, 2, 4>::new(c4, Init::Orthogonal, &mut Pcg32::new(0, 0)).unwrap();
        four.net = one.net.clone();
        let (x1, t1) = (*one.batch_mut().0, *one.batch_mut().1);
        let (x4, t4) = four.batch_mut();
        for b in 0..4 {
            x4.set_column(b, &x1.column(0));
            t4.set_column(b, &t1.column(0));
        }
        for _ in 0..3 {
            one.step(&mut Pcg32::new(1, 1)).unwrap();
            four.step(&mut Pcg32::new(1, 1)).unwrap();
        }
        let diff = |a: &Mat<5, 6>, b: &Mat<5, 6>| (a - b).abs().max();
        prop_assert!(diff(&one.net.first.w, &four.net.first.w) < 1e-5);
        prop_assert!((one.net.output.w - four.net.output.w).abs().max() < 1e-5);
        prop_assert!((one.net.inverse[1].w - four.net.inverse[1].w).abs().max() < 1e-5);
    }

    #[test]
    fn resuming_from_saved_state_equals_continuing(seed in any::<u64>(), u in 0u8..3, split in 0usize..6) {
        let c = config(units(u), 5.0, 0.01, 0.3);
        let mut rng = Pcg32::new(seed, 4);
        let mut straight = random::<8, 6, 3, 1, 2>(c, seed, 1.0, 1.0);
        let batch = (*straight.batch_mut().0, *straight.batch_mut().1);
        let mut saved = None;
        for i in 0..6 {
            if i == split {
                saved = Some((
                    straight.net.clone(),
                    straight.forward_state.clone(),
                    straight.inverse_state.clone(),
                    straight.epoch,
                    rng.clone(),
                ));
            }
            straight.step(&mut rng).unwrap();
        }
        let (net, fs, is, epoch, mut rng2) = saved.unwrap();
        let mut resumed = FixedTrainer::<8, 6, 3, 1, 2>::new(c, Init::Uniform, &mut Pcg32::new(0, 0)).unwrap();
        resumed.net = net;
        resumed.forward_state = fs;
        resumed.inverse_state = is;
        resumed.epoch = epoch;
        *resumed.batch_mut().0 = batch.0;
        *resumed.batch_mut().1 = batch.1;
        for _ in split..6 {
            resumed.step(&mut rng2).unwrap();
        }
        prop_assert_eq!(&resumed.net, &straight.net);
        prop_assert_eq!(&resumed.forward_state, &straight.forward_state);
    }
}
