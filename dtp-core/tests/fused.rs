//! The gradient-free store (`Fused`, `FusedTrainer`) against the buffered one: a one-sample
//! trainer that forms each gradient element inside the optimiser loop takes the same steps as
//! one that writes the gradient to a buffer first — every weight, bias and optimiser state
//! equal after many steps of DTP, DRL, FW-DTP and backprop, continuous, sign and Bernoulli
//! units, RMSprop and SGD — and is smaller by exactly the gradient buffers.

use dtp_core::noise::standard_normal;
use dtp_core::{
    Config, Error, Feedback, FixedTrainer, FusedTrainer, Gradient, Init, Optimiser, Stage,
};
use rand_core::Rng;
use rand_pcg::Pcg32;

type Buffered = FixedTrainer<6, 8, 3, 2, 1>;
type Fused = FusedTrainer<6, 8, 3, 2>;

#[derive(Clone, Copy, Debug)]
enum Algo {
    Dtp,
    Backprop(Gradient),
}

/// Runs `steps` one-sample steps on both trainers from the same init and streams; asserts
/// they stay equal (`==`, so a zero's sign may differ) and that training moved the weights.
fn same_steps(config: Config, algo: Algo, steps: usize, seed: u64) {
    let mut init_rng = Pcg32::new(seed, 7);
    let mut b = Buffered::new(config, Init::Orthogonal, &mut init_rng).unwrap();
    let mut init_rng = Pcg32::new(seed, 7);
    let mut f = Fused::new(config, Init::Orthogonal, &mut init_rng).unwrap();
    let start = b.net.clone();
    let (mut rb, mut rf) = (Pcg32::new(seed, 11), Pcg32::new(seed, 11));
    let mut data = Pcg32::new(seed, 13);
    for step in 0..steps {
        let class = (data.next_u32() % 3) as usize;
        let x: Vec<f32> = (0..6)
            .map(|i| standard_normal(&mut data) * 0.5 + if i % 3 == class { 1.0 } else { 0.0 })
            .collect();
        for (input, labels) in [b.batch_mut(), f.batch_mut()] {
            input.as_mut_slice().copy_from_slice(&x);
            labels.fill(0.0);
            labels[class] = 1.0;
        }
        let (sb, sf) = match algo {
            Algo::Dtp => (b.step(&mut rb).unwrap(), f.step(&mut rf).unwrap()),
            Algo::Backprop(g) => (
                b.backprop_step(g, &mut rb).unwrap(),
                f.backprop_step(g, &mut rf).unwrap(),
            ),
        };
        assert_eq!(sb, sf, "{config:?} {algo:?}: step {step} stats");
        assert!(
            b.net == f.net,
            "{algo:?} {:?}: weights differ at step {step}",
            config.feedback
        );
        assert!(
            b.forward_state == f.forward_state,
            "{algo:?}: forward state, step {step}"
        );
        assert!(
            b.inverse_state == f.inverse_state,
            "{algo:?}: inverse state, step {step}"
        );
        assert_eq!(b.local_loss, f.local_loss);
        assert_eq!(b.inverse_loss, f.inverse_loss);
    }
    assert!(b.net.output.w != start.output.w);
    // (No signal reaches layer 1 through sign units with the exact derivative, zero.)
    let exact_through_sign =
        matches!(algo, Algo::Backprop(Gradient::Exact)) && !config.units.between.is_identity();
    assert_eq!(b.net.first.w != start.first.w, !exact_through_sign);
    let inverse_trained = matches!(algo, Algo::Dtp) && config.feedback != Feedback::Fixed;
    assert_eq!(
        b.net.inverse != start.inverse,
        inverse_trained,
        "{algo:?} {config:?}"
    );
}

fn with(mut config: Config, feedback: Feedback, sgd: bool) -> Config {
    config.feedback = feedback;
    if sgd {
        config.forward = Optimiser::sgd(0.01, 0.9);
        config.inverse = Optimiser::sgd(0.01, 0.9);
    }
    config
}

#[test]
fn fused_and_buffered_stores_take_the_same_dtp_steps() {
    let configs = [
        Config::CONTINUOUS,
        Config::DISCRETE,
        Config::STOCHASTIC,
        Config::FIRMWARE_SIGN,
        Config::FIRMWARE_BERNOULLI,
    ];
    for (i, config) in configs.into_iter().enumerate() {
        for feedback in [Feedback::Dtp, Feedback::Drl, Feedback::Fixed] {
            for sgd in [false, true] {
                same_steps(with(config, feedback, sgd), Algo::Dtp, 150, 1 + i as u64);
            }
        }
    }
}

#[test]
fn fused_and_buffered_stores_take_the_same_backprop_steps() {
    for (i, config) in [Config::CONTINUOUS, Config::FIRMWARE_SIGN]
        .into_iter()
        .enumerate()
    {
        for gradient in [Gradient::StraightThrough, Gradient::Exact] {
            for sgd in [false, true] {
                let config = with(config, Feedback::Dtp, sgd);
                same_steps(config, Algo::Backprop(gradient), 100, 5 + i as u64);
            }
        }
    }
}

#[test]
fn the_fused_trainer_is_smaller_by_exactly_the_gradient_buffers() {
    // first 8×6 + 8, the hidden shape 8×8 + 8, the output 3×8 + 3: f32 each.
    let buffers = ((8 * 6 + 8) + (8 * 8 + 8) + (3 * 8 + 3)) * 4;
    assert_eq!(
        core::mem::size_of::<Buffered>() - core::mem::size_of::<Fused>(),
        buffers
    );
    assert_eq!(core::mem::size_of::<dtp_core::Fused>(), 0);
}

#[test]
fn a_non_finite_factor_is_reported_at_the_gradient_stage_before_any_write() {
    // A NaN target reaches the first layer's δ only: the fused store must refuse it before
    // touching the layer, as the buffered store refuses a NaN gradient.
    let mut rng = Pcg32::new(3, 3);
    let mut f = Fused::new(Config::CONTINUOUS, Init::Orthogonal, &mut rng).unwrap();
    let (x, t) = f.batch_mut();
    x.fill(0.5);
    t[0] = 1.0;
    f.forward(true, &mut rng).unwrap();
    f.top_target().unwrap();
    f.difference_targets(&mut rng).unwrap();
    f.targets_mut()[0][0] = f32::NAN;
    let before = f.net.clone();
    let err = f.forward_step().unwrap_err();
    assert_eq!(
        err,
        Error::NonFinite {
            stage: Stage::ForwardGradient,
            layer: 1
        }
    );
    assert!(f.net == before, "the layer was written before the check");
}

#[test]
fn the_firmware_trainer_needs_at_most_18_bytes_a_parameter() {
    // firmware/'s 64-32-32-10: W_1, W_2, W_3 and the inverse V_2, with biases.
    type Device = FusedTrainer<64, 32, 10, 1>;
    let params = (32 * 64 + 32) + (32 * 32 + 32) + (10 * 32 + 10) + (32 * 32 + 32);
    let bytes = core::mem::size_of::<Device>();
    eprintln!(
        "FusedTrainer<64, 32, 10, 1>: {bytes} B for {params} parameters = {:.2} B each \
         (FixedTrainer<64, 32, 10, 1, 1>: {} B)",
        bytes as f64 / params as f64,
        core::mem::size_of::<FixedTrainer<64, 32, 10, 1, 1>>()
    );
    assert!(bytes <= 18 * params, "{bytes} B for {params} parameters");
}

type FixedFeedback = dtp_core::FixedFeedbackTrainer<6, 8, 3, 2>;

#[test]
fn a_trainer_without_inverse_state_takes_fw_dtps_steps_in_less_memory() {
    for (i, config) in [
        Config::CONTINUOUS,
        Config::FIRMWARE_SIGN,
        Config::FIRMWARE_BERNOULLI,
    ]
    .into_iter()
    .enumerate()
    {
        let config = with(config, Feedback::Fixed, i == 1);
        let seed = 20 + i as u64;
        let mut b = Buffered::new(config, Init::Orthogonal, &mut Pcg32::new(seed, 7)).unwrap();
        let mut f = FixedFeedback::new(config, Init::Orthogonal, &mut Pcg32::new(seed, 7)).unwrap();
        let (mut rb, mut rf) = (Pcg32::new(seed, 11), Pcg32::new(seed, 11));
        let mut data = Pcg32::new(seed, 13);
        let start = b.net.clone();
        for step in 0..150 {
            let class = (data.next_u32() % 3) as usize;
            let x: Vec<f32> = (0..6).map(|_| standard_normal(&mut data)).collect();
            for (input, labels) in [b.batch_mut(), f.batch_mut()] {
                input.as_mut_slice().copy_from_slice(&x);
                input[class] += 1.0;
                labels.fill(0.0);
                labels[class] = 1.0;
            }
            assert_eq!(
                b.step(&mut rb).unwrap(),
                f.step(&mut rf).unwrap(),
                "step {step}"
            );
            assert!(
                b.net == f.net && b.forward_state == f.forward_state,
                "step {step}"
            );
        }
        assert!(b.net.first.w != start.first.w);
        assert!(
            f.net.inverse == start.inverse,
            "fixed feedback weights moved"
        );
    }
    // Smaller by exactly the inverse optimiser state: 2 inverses × (8×8 + 8) × a, s, v.
    let state = 2 * (8 * 8 + 8) * 3 * 4;
    let (fused, fixed) = (
        core::mem::size_of::<Fused>(),
        core::mem::size_of::<FixedFeedback>(),
    );
    assert_eq!(fused - fixed, state);
}

#[test]
fn a_trainer_without_inverse_state_refuses_trained_feedback() {
    let mut rng = Pcg32::new(1, 1);
    for feedback in [Feedback::Dtp, Feedback::Drl] {
        let config = with(Config::CONTINUOUS, feedback, false);
        let refused = FixedFeedback::new(config, Init::Orthogonal, &mut rng).err();
        assert_eq!(refused, Some(dtp_core::ConfigError::FeedbackNotTrainable));
    }
    let fixed = with(Config::CONTINUOUS, Feedback::Fixed, false);
    let mut t = FixedFeedback::new(fixed, Init::Orthogonal, &mut rng).unwrap();
    let dtp = with(Config::CONTINUOUS, Feedback::Dtp, false);
    assert_eq!(
        t.set_config(dtp),
        Err(dtp_core::ConfigError::FeedbackNotTrainable)
    );
    t.batch_mut().0.fill(0.5);
    t.forward(true, &mut rng).unwrap();
    assert_eq!(t.inverse_step(0.1, &mut rng), Err(Error::NoFeedbackState));
    assert_eq!(t.drl_step(0.1, &mut rng), Err(Error::NoFeedbackState));
}

#[test]
fn a_fused_minibatch_trainer_forms_each_element_as_a_dot_product() {
    // With B = 4 the fused store sums δ_ib r_jb inside the loop: the same gradient as the
    // buffered product up to rounding, so the same step to a few ulps.
    type B4 = FixedTrainer<6, 8, 3, 2, 4>;
    type Fused4 = dtp_core::Trainer<
        dtp_core::Fixed<6, 8, 3, 2>,
        dtp_core::Const<4>,
        dtp_core::Portable,
        dtp_core::Fused,
    >;
    for feedback in [Feedback::Dtp, Feedback::Drl] {
        let config = with(Config::CONTINUOUS, feedback, false);
        let mut b = B4::new(config, Init::Orthogonal, &mut Pcg32::new(9, 7)).unwrap();
        let mut f = Fused4::new(config, Init::Orthogonal, &mut Pcg32::new(9, 7)).unwrap();
        let start = b.net.clone();
        let (mut rb, mut rf) = (Pcg32::new(9, 11), Pcg32::new(9, 11));
        let mut data = Pcg32::new(9, 13);
        let x: Vec<f32> = (0..24).map(|_| standard_normal(&mut data)).collect();
        for (input, labels) in [b.batch_mut(), f.batch_mut()] {
            input.as_mut_slice().copy_from_slice(&x);
            labels.fill(0.0);
            for col in 0..4 {
                labels[(col % 3, col)] = 1.0;
            }
        }
        b.step(&mut rb).unwrap();
        f.step(&mut rf).unwrap();
        let (pb, pf) = (b.net.first.w, f.net.first.w);
        let moved = (pb - start.first.w).abs().max();
        let apart = (pb - pf).abs().max();
        assert!(moved > 1e-3, "{feedback:?}: the step moved W_1 by {moved}");
        assert!(
            apart <= 1e-6 * (1.0 + pb.abs().max()),
            "{feedback:?}: {apart}"
        );
        let inverse_apart = (b.net.inverse[0].w - f.net.inverse[0].w).abs().max();
        assert!(
            inverse_apart <= 1e-6,
            "{feedback:?}: inverse {inverse_apart}"
        );
        assert!(b.net.inverse[0].w != start.inverse[0].w);
    }
}
