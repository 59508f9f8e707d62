//! DDTP on convolutional nets (`--algo ddtp-linear|ddtp-rhl` with a layout of convolutions):
//! each hidden layer, convolutional ones read as their flattened `C'·H'·W'` units, gets its
//! target from the output through its own `Q_i` (`dtp_core::direct`). Finite differences of
//! every feedback loss, the `η̂ = 0` identity, the 1×1-convolution net against the dense DDTP
//! (targets, losses and gradients), chunks and threads, resume through the tensor visitor, and
//! Meulemans et al.'s feedback passes on a convolutional net. Learning on the digits is in
//! `conv.rs`, beside DTP's and DRL's.

mod common;

use common::conv_nets::{
    Random, assert_close, bits, close, config, fill_random, one_by_one_twin, small_net,
};
use dtp_core::conv::ConvTrainer;
use dtp_core::conv::parallel::ConvParallel;
use dtp_core::step::{self, Pass};
use dtp_core::{
    Config, Feedback, FeedbackPasses, Init, Optimiser, Portable, Schedule, SigmaSchedule, Tensors,
};
use rand_pcg::Pcg32;

const RULES: [Feedback; 2] = [Feedback::DdtpLinear, Feedback::DdtpRhl];

/// [`config`] with DDTP's `rule`, SGD at rate 1 on the feedback weights (a step is then minus
/// the gradient) and η̂ = 0.5.
fn ddtp(rule: Feedback) -> Config {
    Config {
        feedback: rule,
        inverse: Optimiser::sgd(1.0, 0.0),
        ..config()
    }
}

/// [`small_net`] (two convolutions, a dense hidden layer) with DDTP's weights initialised, on
/// a minibatch of 3 random samples, after a noiseless forward pass.
fn trainer(rule: Feedback, seed: u64) -> (ConvTrainer, Pcg32) {
    let (net, mut rng) = small_net(seed);
    let c = ddtp(rule);
    let mut t = ConvTrainer::<Portable>::new(net, 3, c).unwrap();
    t.init(c, Init::Orthogonal, &mut rng).unwrap();
    let (x, labels) = t.batch_mut();
    fill_random(x.as_mut_slice(), 1.0, &mut rng);
    labels.fill(0.0);
    for b in 0..3 {
        labels[((2 * b + 1) % 5, b)] = 1.0;
    }
    t.forward_pass(false, &mut rng).unwrap();
    (t, rng)
}

/// One map's gradient: weights, then bias.
type Gradient = (Vec<f32>, Vec<f32>);

/// Each `Q_i`'s loss and gradient by one feedback step from the same noise, the weights put
/// back afterwards: `(losses, gradients as (weight, bias))`.
fn feedback(t: &mut ConvTrainer, noise: &Pcg32) -> (Vec<f32>, Vec<Gradient>) {
    let before = t.net.direct.clone().unwrap();
    t.direct_step(0.3, &mut noise.clone()).unwrap();
    let after = t.net.direct.replace(before.clone()).unwrap();
    let grads = before
        .q
        .iter()
        .zip(&after.q)
        .map(|(b, a)| {
            let w = (&b.w - &a.w).as_slice().to_vec();
            (w, (&b.b - &a.b).as_slice().to_vec())
        })
        .collect();
    (t.direct_state.as_ref().unwrap().loss.clone(), grads)
}

/// Every `Q_i`'s gradient (weights and bias; the convolutional layers' maps, 108 × 5 and
/// 36 × 5 for DDTP-linear, 108 × 1,024 and 36 × 1,024 through DDTP-RHL's random layer, and
/// the dense layer's) against fourth-order differences of its own difference reconstruction
/// loss, with the corruption drawn the same each time (DDTP-linear's biases cancel in its loss:
/// their step must be zero). For DDTP-RHL's wide maps, 150 entries spread over the matrix.
#[test]
fn ddtp_feedback_gradients_match_finite_differences() {
    for rule in RULES {
        let (mut t, _) = trainer(rule, 6);
        let noise = Pcg32::new(77, 1);
        let (_, grads) = feedback(&mut t, &noise);
        let layers = t.net.direct.as_ref().unwrap().q.len();
        assert_eq!(layers, 3, "a map for each hidden layer");
        for k in 0..layers {
            if rule == Feedback::DdtpLinear {
                // DDTP-linear's loss does not depend on its biases (they cancel in
                // g(z̃) − g(z)): their step is zero up to rounding.
                let g = &grads[k].1;
                assert!(
                    g.iter().all(|v| v.abs() < 1e-6),
                    "Q{} bias step {g:?}",
                    k + 1
                );
            }
            let parts = if rule == Feedback::DdtpLinear { 1 } else { 2 };
            for part in 0..parts {
                let len = {
                    let q = &t.net.direct.as_ref().unwrap().q[k];
                    if part == 0 { q.w.len() } else { q.b.len() }
                };
                let step = len.div_ceil(150);
                let picked: Vec<usize> = (0..len).step_by(step).collect();
                let mut analytic = Vec::new();
                let mut numeric = Vec::new();
                for &n in &picked {
                    let eps = 1e-2f32;
                    let mut at = |d: f32| {
                        let q = &mut t.net.direct.as_mut().unwrap().q[k];
                        let v = if part == 0 { &mut q.w[n] } else { &mut q.b[n] };
                        *v += d;
                        let (losses, _) = feedback(&mut t, &noise);
                        let q = &mut t.net.direct.as_mut().unwrap().q[k];
                        let v = if part == 0 { &mut q.w[n] } else { &mut q.b[n] };
                        *v -= d;
                        f64::from(losses[k])
                    };
                    let (p1, m1, p2, m2) = (at(eps), at(-eps), at(2.0 * eps), at(-2.0 * eps));
                    numeric
                        .push(((m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * f64::from(eps))) as f32);
                    let g = &grads[k];
                    analytic.push(if part == 0 { g.0[n] } else { g.1[n] });
                }
                let what = format!("{rule:?} Q{} {}", k + 1, ["weight", "bias"][part]);
                close(&what, &analytic, &numeric);
            }
        }
    }
}

/// With η̂ = 0 every target is its activation, bit for bit (the difference is formed first),
/// through both convolutions; with η̂ > 0 every layer's target moves.
#[test]
fn ddtp_targets_are_the_activations_when_eta_is_zero() {
    for rule in RULES {
        for eta in [0.0, 0.5] {
            let (mut t, _) = trainer(rule, 4);
            t.set_config(Config {
                eta_hat: eta,
                ..ddtp(rule)
            })
            .unwrap();
            t.top_target().unwrap();
            t.difference_targets().unwrap();
            for (k, (h, target)) in t.activations().iter().zip(t.targets()).enumerate() {
                let same = h.as_slice() == target.as_slice();
                assert_eq!(same, eta == 0.0, "{rule:?} η̂ = {eta}: layer {}", k + 1);
            }
        }
    }
}

/// DDTP through 1×1 convolutions is the dense DDTP (`DynTrainer`, whose targets and losses
/// have their own definition and finite-difference tests): `64x1x1-c32k1-c24k1-c16k1-10`
/// against 64-32-24-16-10 with the same weights (forward and `Q_i`), batch and noise stream —
/// every target to 1e-5, each `Q_i`'s loss to 1e-5 (relative) and gradient to 1e-4.
#[test]
fn ddtp_through_one_by_one_convolutions_is_the_dense_ddtp() {
    for rule in RULES {
        let c = ddtp(rule);
        let mut rng = Pcg32::new(3, 9);
        let (mut dense, net) = one_by_one_twin(c, &mut rng);
        let mut direct = dense.net.direct.as_deref().unwrap().clone();
        for q in &mut direct.q {
            // Non-zero biases, so a bias read wrongly shows.
            fill_random(q.b.as_mut_slice(), 0.3, &mut rng);
        }
        dense.net.direct = Some(Box::new(direct.clone()));
        let mut conv = ConvTrainer::<Portable>::new(net, 4, c).unwrap();
        conv.net.direct = Some(direct);
        let (x, labels) = dense.batch_mut();
        fill_random(x.as_mut_slice(), 1.0, &mut rng);
        labels.fill(0.0);
        for b in 0..4 {
            labels[(b * 3 % 10, b)] = 1.0;
        }
        let (cx, cl) = conv.batch_mut();
        cx.as_mut_slice()
            .copy_from_slice(dense.input_mut().as_slice());
        cl.as_mut_slice()
            .copy_from_slice(dense.labels_mut().as_slice());
        dense.forward(false, &mut Pcg32::new(1, 1)).unwrap();
        conv.forward_pass(false, &mut Pcg32::new(1, 1)).unwrap();
        dense.top_target().unwrap();
        dense.difference_targets(&mut Pcg32::new(2, 2)).unwrap();
        conv.top_target().unwrap();
        conv.difference_targets().unwrap();
        for (k, (a, b)) in conv
            .targets()
            .iter()
            .zip(dense.targets().iter())
            .enumerate()
        {
            let what = format!("{rule:?} target {}", k + 1);
            assert_close(&what, a.as_slice(), b.as_slice(), 1e-5);
        }
        let noise = Pcg32::new(8, 8);
        let (losses, grads) = feedback(&mut conv, &noise);
        let before = dense.net.direct.clone().unwrap();
        dense.direct_step(0.3, &mut noise.clone()).unwrap();
        let after = dense.net.direct.as_deref().unwrap();
        let want = &dense.direct_state.as_ref().unwrap().loss;
        for k in 0..3 {
            let (loss, want) = (losses[k], want[k]);
            assert!(
                (loss - want).abs() <= 1e-5 * want,
                "{rule:?} Q{}: loss {loss} vs dense {want}",
                k + 1
            );
            let step = &before.q[k].w - &after.q[k].w;
            let what = format!("{rule:?} Q{} weight gradient", k + 1);
            assert_close(&what, &grads[k].0, step.as_slice(), 1e-4);
            let step = &before.q[k].b - &after.q[k].b;
            let what = format!("{rule:?} Q{} bias gradient", k + 1);
            assert_close(&what, &grads[k].1, step.as_slice(), 1e-4);
        }
    }
}

/// Every tensor's bits after two epochs of [`small_net`] by `rule` (RMSprop on both halves,
/// input noise on) with `passes` feedback-only passes, on minibatches of 12 in `chunks`
/// chunks run by `threads` threads (`None`: the whole-minibatch trainer).
fn trained(
    rule: Feedback,
    passes: (u32, u32),
    par: Option<(usize, usize)>,
) -> Vec<(String, Vec<u32>)> {
    let (net, mut rng) = small_net(21);
    let c = Config {
        feedback: rule,
        input_noise: 0.1,
        ..config()
    };
    let mut t = ConvTrainer::<Portable>::new(net, 12, c).unwrap();
    t.init(c, Init::Orthogonal, &mut rng).unwrap();
    let mut data = Random::new(4, &mut rng);
    let start = t.net.direct.clone().unwrap();
    let mut p = par.map(|(chunks, threads)| ConvParallel::new(&t, chunks, threads));
    for _ in 0..2 {
        let passes = FeedbackPasses::at(passes.0, passes.1, t.epoch);
        match &mut p {
            Some(p) => p.train_epoch_with(&mut t, &mut data, passes, &mut rng),
            None => t.train_epoch_with(&mut data, passes, &mut rng),
        }
        .unwrap();
    }
    let trained = &t.net.direct.as_ref().unwrap().q;
    for (k, (a, b)) in start.q.iter().zip(trained).enumerate() {
        assert!(
            a.w != b.w && a.b != b.b,
            "{rule:?} {par:?}: Q{} not trained",
            k + 1
        );
    }
    let mut out = Vec::new();
    Tensors::visit(&t, &mut |name, _, values| {
        out.push((
            name.to_string(),
            values.iter().map(|v| v.to_bits()).collect(),
        ))
    });
    let losses = t
        .local_loss
        .iter()
        .chain(&t.direct_state.as_ref().unwrap().loss);
    out.extend(
        losses
            .zip(1..)
            .map(|(l, n)| (format!("loss {n}"), vec![l.to_bits()])),
    );
    out
}

/// The chunk-parallel executor under DDTP (both rules, with feedback passes): three chunks
/// give the same bits on 1, 2 and 3 threads — every parameter and optimiser state, `Q_i` and
/// their states included (and every `Q_i` trained), and the last losses; one chunk gives the
/// whole-minibatch trainer's bits.
#[test]
fn chunked_ddtp_does_not_depend_on_the_thread_count() {
    for rule in RULES {
        let one = trained(rule, (1, 1), Some((3, 1)));
        assert!(one.iter().any(|(n, _)| n == "net.q1.weight"), "Q_1 saved");
        for threads in [2, 3] {
            let other = trained(rule, (1, 1), Some((3, threads)));
            assert!(one == other, "{rule:?}: bits differ at {threads} threads");
        }
        let whole = trained(rule, (1, 1), None);
        let single = trained(rule, (1, 1), Some((1, 2)));
        assert!(
            whole == single,
            "{rule:?}: one chunk differs from the trainer"
        );
        assert!(whole != one, "{rule:?}: three chunks draw their own noise");
    }
}

/// Feedback pre-training and extra feedback passes on a convolutional net (DTP, DRL, DDTP):
/// an epoch with them is the same bits as the feedback-only passes run by hand around a plain
/// epoch, and they change the result.
#[test]
fn conv_feedback_passes_are_feedback_only_passes_around_the_epoch() {
    for rule in [Feedback::Dtp, Feedback::Drl, Feedback::DdtpLinear] {
        let (net, mut rng) = small_net(9);
        let c = Config {
            feedback: rule,
            input_noise: 0.1,
            ..config()
        };
        let mut t = ConvTrainer::<Portable>::new(net, 12, c).unwrap();
        t.init(c, Init::Orthogonal, &mut rng).unwrap();
        let mut data = Random::new(3, &mut rng);
        let mut by_hand = ConvTrainer::<Portable>::new(t.net.clone(), 12, c).unwrap();
        let mut with = ConvTrainer::<Portable>::new(t.net.clone(), 12, c).unwrap();
        let mut plain = ConvTrainer::<Portable>::new(t.net.clone(), 12, c).unwrap();
        let (mut r1, mut r2, mut r3) = (rng.clone(), rng.clone(), rng.clone());
        let passes = FeedbackPasses::at(2, 1, 0);
        with.train_epoch_with(&mut data, passes, &mut r1).unwrap();
        plain.train_epoch(&mut data, &mut r3).unwrap();
        let n = 3;
        let feedback_pass = |t: &mut ConvTrainer, data: &mut Random, r: &mut Pcg32| {
            let load = |t: &mut ConvTrainer, index| {
                let (x, labels) = t.batch_mut();
                dtp_core::Batches::fill(data, index, x, labels);
                Ok(())
            };
            step::pass(t, n, r, load, |e, r| {
                step::inverse_only(e, Pass::Feedback, r)
            })
            .unwrap();
        };
        for _ in 0..2 {
            feedback_pass(&mut by_hand, &mut data, &mut r2);
        }
        by_hand.train_epoch(&mut data, &mut r2).unwrap();
        feedback_pass(&mut by_hand, &mut data, &mut r2);
        assert!(
            bits(&with) == bits(&by_hand),
            "{rule:?}: passes differ from by hand"
        );
        assert!(
            bits(&with) != bits(&plain),
            "{rule:?}: passes changed nothing"
        );
    }
}

/// A DDTP run on a convolutional net resumes bit for bit: its tensors (with `net.q*`,
/// `net.rhl`, `opt.direct.q*`) copied by name into a fresh trainer of the same rule, both go
/// on for an epoch and agree in every bit.
#[test]
fn conv_ddtp_resumes_bit_for_bit_through_the_tensor_visitor() {
    for rule in RULES {
        let (net, mut rng) = small_net(12);
        let c = Config {
            feedback: rule,
            ..config()
        };
        let mut a = ConvTrainer::<Portable>::new(net.clone(), 12, c).unwrap();
        a.init(c, Init::Orthogonal, &mut rng).unwrap();
        let mut data = Random::new(2, &mut rng);
        a.train_epoch(&mut data, &mut rng).unwrap();
        let mut saved = Vec::new();
        Tensors::visit(&a, &mut |name, _, values| {
            saved.push((name.to_string(), values.to_vec()))
        });
        let names: Vec<_> = saved.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"opt.direct.q1.weight.v") || names.contains(&"opt.direct.q1.weight.a")
        );
        assert_eq!(names.contains(&"net.rhl.weight"), rule == Feedback::DdtpRhl);
        let mut b = ConvTrainer::<Portable>::new(net, 12, c).unwrap();
        let mut seen = 0;
        Tensors::visit_mut(&mut b, &mut |name, _, values| {
            let (_, v) = saved.iter().find(|(n, _)| *n == name.to_string()).unwrap();
            values.copy_from_slice(v);
            seen += 1;
        });
        assert_eq!(seen, saved.len());
        b.epoch = a.epoch;
        let mut rb = rng.clone();
        a.train_epoch(&mut data, &mut rng).unwrap();
        b.train_epoch(&mut data, &mut rb).unwrap();
        assert!(bits(&a) == bits(&b), "{rule:?}: the resumed run differs");
    }
}

/// The schedule and `dtp-output` on a convolutional net: DDTP takes either schedule;
/// `dtp-output` (an inverse of the output layer before DTP's) is refused.
#[test]
fn conv_ddtp_takes_either_schedule_and_refuses_dtp_output() {
    let (net, _) = small_net(1);
    for schedule in [Schedule::Alternating, Schedule::Interleaved] {
        let c = Config {
            schedule,
            sigma: SigmaSchedule::constant(0.1),
            ..ddtp(Feedback::DdtpRhl)
        };
        let mut t = ConvTrainer::<Portable>::new(net.clone(), 4, c).unwrap();
        t.init(c, Init::Orthogonal, &mut Pcg32::new(1, 1)).unwrap();
        let (_, labels) = t.batch_mut();
        labels.row_mut(0).fill(1.0);
        t.step(&mut Pcg32::new(2, 2)).unwrap();
        assert!(t.net.is_finite());
    }
    let c = Config {
        feedback: Feedback::DtpOutput,
        ..config()
    };
    assert!(ConvTrainer::<Portable>::new(net, 4, c).is_err());
}
