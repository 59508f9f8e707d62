//! Direct DTP (DDTP-linear, DDTP-RHL; Meulemans et al. 2020) on the run-time layout: each
//! feedback map's difference reconstruction loss against finite differences of that loss
//! recomputed from public parts; the targets' identities (`η̂ = 0` leaves every target on its
//! activation, `Q_{M-1} = W_Mᵀ` gives DTP's gradient target); the same bits at 1 and 2
//! threads; the feedback weights carried through the tensor visitor (checkpoint/resume).
//! The same for DTP with an inverse of the output layer ([`Feedback::DtpOutput`]): its
//! reconstruction loss against finite differences, its targets against their definition, DTP's
//! inverses trained exactly as by DTP beside it.
#![allow(clippy::needless_range_loop)]

use dtp_core::direct::RHL_WIDTH;
use dtp_core::noise::{add_gaussian_to, standard_normal, uniform};
use dtp_core::parallel::Parallel;
use dtp_core::{
    Activation, Batches, Config, Dense, Dyn, DynTrainer, Feedback, Init, LayerSet, LrDecay, OMat,
    Optimiser, Portable, Schedule, SigmaSchedule, Tensors, Units,
};
use rand_pcg::Pcg32;

const SIGMA: f32 = 0.3;
const WIDTHS: [usize; 5] = [5, 4, 6, 4, 3];
const BATCH: usize = 3;

type M = OMat<Dyn, Dyn>;

fn rng(seed: u64) -> Pcg32 {
    Pcg32::new(seed, 0x0a02_bdbf_7bb3_c0a7)
}

fn config(feedback: Feedback) -> Config {
    Config {
        units: Units::CONTINUOUS,
        eta_hat: 1.0,
        forward: Optimiser::sgd(1.0, 0.0),
        inverse: Optimiser::sgd(1.0, 0.0),
        sigma: SigmaSchedule::constant(SIGMA),
        input_noise: 0.0,
        schedule: Schedule::Interleaved,
        lr_decay: LrDecay::NONE,
        feedback,
        frozen: LayerSet::NONE,
    }
}

/// A trainer of `WIDTHS` with Gaussian weights (σ 0.8, less for wide inputs) and biases (σ 0.2) everywhere (the
/// random layer's as initialised) and a random batch with one-hot labels.
fn small(config: Config, seed: u64) -> DynTrainer<Portable> {
    let mut r = rng(seed);
    let mut t = DynTrainer::<Portable>::with_widths(&WIDTHS, BATCH).unwrap();
    t.init(config, Init::Orthogonal, &mut r).unwrap();
    // Weights of σ 0.8 × √(4 / inputs): units of the feedback maps that read the 1,024-wide
    // random layer do not saturate either.
    let mut fill = |d: &mut Dense<Dyn, Dyn>| {
        let s = 0.8 * (4.0 / d.inputs().max(4) as f32).sqrt();
        d.w.iter_mut()
            .for_each(|v| *v = s * standard_normal(&mut r));
        d.b.iter_mut()
            .for_each(|v| *v = 0.2 * standard_normal(&mut r));
    };
    fill(&mut t.net.first);
    t.net.hidden.iter_mut().for_each(&mut fill);
    fill(&mut t.net.output);
    t.net.inverse.iter_mut().for_each(&mut fill);
    if let Some(d) = &mut t.net.direct {
        d.q.iter_mut().for_each(&mut fill);
    }
    let mut r = rng(seed + 1000);
    let (x, labels) = t.batch_mut();
    x.iter_mut().for_each(|v| *v = uniform(&mut r));
    labels.fill(0.0);
    for b in 0..BATCH {
        labels[((b * 2 + seed as usize) % 3, b)] = 1.0;
    }
    t
}

/// `s(W u + b)` of a layer.
fn apply(d: &Dense<Dyn, Dyn>, act: Activation, u: &M) -> M {
    let mut out = M::zeros(d.outputs(), u.ncols());
    d.forward::<Portable, Dyn>(act, u, &mut out);
    out
}

/// `g_{k+1}(z)`: through the random layer first for DDTP-RHL below the top hidden layer.
fn g(t: &DynTrainer<Portable>, k: usize, z: &M) -> M {
    let d = t.net.direct.as_deref().unwrap();
    let top = k + 1 == d.q.len();
    match (&d.random, top) {
        (Some(r), false) => apply(&d.q[k], Activation::Tanh, &apply(r, Activation::Tanh, z)),
        (Some(_), true) => apply(&d.q[k], Activation::Tanh, z),
        (None, _) => apply(&d.q[k], Activation::Linear, z),
    }
}

/// The difference reconstruction loss of `Q_{k+1}`, recomputed from public parts: `c` (the
/// corrupted `h[k]`) carried up through `f_{k+2} … f_M` to `z̃`,
/// `(1/σ²)(1/B) ‖h[k] + g(z̃) − g(z) − c‖²`.
fn ddtp_loss(t: &DynTrainer<Portable>, k: usize, h: &[M], c: &M) -> f32 {
    let mut up = c.clone();
    for j in k..h.len() - 1 {
        up = apply(&t.net.hidden[j], Activation::Tanh, &up);
    }
    let zc = apply(&t.net.output, Activation::Linear, &up);
    let z = apply(&t.net.output, Activation::Linear, &h[h.len() - 1]);
    let r = &h[k] + (g(t, k, &zc) - g(t, k, &z));
    (r - c).norm_squared() / (SIGMA * SIGMA * BATCH as f32)
}

/// `Q_{k+1}` of a trainer.
fn q(t: &mut DynTrainer<Portable>, k: usize) -> &mut Dense<Dyn, Dyn> {
    &mut t.net.direct.as_mut().unwrap().q[k]
}

/// Fourth-order central differences of `f` with respect to every entry of `pick(t)`.
fn finite_difference(
    t: &mut DynTrainer<Portable>,
    pick: impl Fn(&mut DynTrainer<Portable>) -> &mut [f32],
    f: impl Fn(&DynTrainer<Portable>) -> f32,
) -> Vec<f32> {
    let eps = 1e-2;
    let mut out = pick(t).to_vec();
    for i in 0..out.len() {
        let orig = pick(t)[i];
        let mut at = |d: f32| {
            pick(t)[i] = orig + d;
            f(t) as f64
        };
        let (p1, m1, p2, m2) = (at(eps), at(-eps), at(2.0 * eps), at(-2.0 * eps));
        pick(t)[i] = orig;
        out[i] = ((m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * eps as f64)) as f32;
    }
    out
}

fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let den: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (num.sqrt() / den.sqrt().max(1e-12)) as f32
}

/// DDTP's feedback step on each `(Q_i, c_i)` is minus the gradient of its difference
/// reconstruction loss (SGD, lr 1), checked against fourth-order central differences of the
/// loss recomputed independently (relative error < 1e-3); the reported loss matches too.
/// DDTP-linear's loss does not depend on its biases (they cancel in `g(z̃) − g(z)`): their
/// step is zero up to rounding.
#[test]
fn ddtp_gradients_match_finite_differences_of_their_loss() {
    for feedback in [Feedback::DdtpLinear, Feedback::DdtpRhl] {
        for seed in [3, 8] {
            let mut t = small(config(feedback), seed);
            t.forward(true, &mut rng(1)).unwrap();
            let h: Vec<M> = (0..WIDTHS.len() - 2)
                .map(|k| t.activations()[k].clone())
                .collect();
            // The corruptions direct_step draws: layer by layer, from the stream it is given.
            let mut noise = rng(2);
            let c: Vec<M> = h
                .iter()
                .map(|h| {
                    let mut c = h.clone();
                    add_gaussian_to(c.as_mut_slice(), h.as_slice(), SIGMA, &mut noise);
                    c
                })
                .collect();
            let mut probe = small(config(feedback), seed);
            probe.forward(true, &mut rng(1)).unwrap();
            probe.direct_step(SIGMA, &mut rng(2)).unwrap();
            let reported = probe.direct_state.as_ref().unwrap().loss.clone();
            for k in 0..h.len() {
                let loss = ddtp_loss(&t, k, &h, &c[k]);
                assert!(
                    (reported[k] - loss).abs() <= 1e-5 * loss.max(1.0),
                    "{feedback:?} seed {seed} Q_{}: reported {} vs recomputed {loss}",
                    k + 1,
                    reported[k]
                );
                let loss = |t: &DynTrainer<Portable>| ddtp_loss(t, k, &h, &c[k]);
                let fw = finite_difference(&mut t, |t| q(t, k).w.as_mut_slice(), loss);
                let fb = finite_difference(&mut t, |t| q(t, k).b.as_mut_slice(), loss);
                let gw = &q(&mut t, k).w - &q(&mut probe, k).w;
                let gb = &q(&mut t, k).b - &q(&mut probe, k).b;
                let mut checks = vec![("Q", gw.as_slice().to_vec(), fw)];
                if feedback == Feedback::DdtpRhl {
                    checks.push(("c", gb.as_slice().to_vec(), fb));
                } else {
                    // The loss does not depend on c_i: its gradient is zero up to rounding.
                    assert!(gb.norm() < 1e-5, "DDTP-linear moved c_{}: {gb}", k + 1);
                    assert!(fb.iter().all(|v| v.abs() < 1e-3), "c_{}: {fb:?}", k + 1);
                }
                for (what, a, n) in checks {
                    let e = rel_err(&a, &n);
                    let norm: f32 = n.iter().map(|v| v * v).sum::<f32>().sqrt();
                    assert!(norm > 1e-3, "{what}_{}: gradient too small ({norm})", k + 1);
                    assert!(
                        e < 1e-3,
                        "{feedback:?} seed {seed} ∂/∂{what}_{}: relative error {e:e}",
                        k + 1
                    );
                }
            }
        }
    }
}

/// With `η̂ = 0` the output target is `z_M` itself and every hidden target is its
/// activation, bit for bit (the difference is formed first); with `η̂ = 1` none is.
#[test]
fn eta_zero_leaves_every_ddtp_target_on_its_activation() {
    for feedback in [Feedback::DdtpLinear, Feedback::DdtpRhl, Feedback::DtpOutput] {
        for (eta, equal) in [(0.0, true), (1.0, false)] {
            let mut t = small(
                Config {
                    eta_hat: eta,
                    ..config(feedback)
                },
                5,
            );
            t.forward(false, &mut rng(1)).unwrap();
            t.top_target().unwrap();
            t.difference_targets(&mut rng(2)).unwrap();
            for k in 0..WIDTHS.len() - 2 {
                let same = t.targets()[k] == t.activations()[k];
                assert_eq!(same, equal, "{feedback:?} η̂ = {eta}, layer {}", k + 1);
            }
        }
    }
}

/// Steps 1–3 of `small`'s seed-7 trainer with `feedback` and `η̂ = eta`, with `z_M` and
/// `ẑ_M = z_M − η̂ (p − t)/B` (softmax with the negative log-likelihood) recomputed from
/// public parts.
fn targets_of(feedback: Feedback, eta: f32) -> (DynTrainer<Portable>, M, M) {
    let mut t = small(
        Config {
            eta_hat: eta,
            ..config(feedback)
        },
        7,
    );
    t.forward(false, &mut rng(1)).unwrap();
    t.top_target().unwrap();
    t.difference_targets(&mut rng(2)).unwrap();
    let r = WIDTHS.len() - 3;
    let z = apply(&t.net.output, Activation::Linear, &t.activations()[r]);
    let mut labels = M::zeros(3, BATCH);
    for b in 0..BATCH {
        labels[((b * 2 + 7) % 3, b)] = 1.0;
    }
    let zt = &z - (t.output() - &labels) * (eta / BATCH as f32);
    (t, z, zt)
}

/// Every hidden target is its definition recomputed from public parts:
/// `ĥ_i = h_i + g_i(ẑ_M) − g_i(z_M)`, `z_M = W_M h_{M-1} + b_M`, `ẑ_M = z_M − η̂ (p − t)/B`
/// (softmax with the negative log-likelihood), `g_i` through the random layer for DDTP-RHL
/// (relative error < 1e-5 on the displacement `ĥ_i − h_i`, which must not vanish).
#[test]
fn ddtp_targets_match_their_definition() {
    for feedback in [Feedback::DdtpLinear, Feedback::DdtpRhl] {
        let (t, z, zt) = targets_of(feedback, 0.8);
        let r = WIDTHS.len() - 3;
        for k in 0..=r {
            let h = &t.activations()[k];
            let want = g(&t, k, &zt) - g(&t, k, &z);
            let got = &t.targets()[k] - h;
            assert!(
                want.norm() > 1e-4,
                "{feedback:?} layer {}: no displacement",
                k + 1
            );
            let e = rel_err(got.as_slice(), want.as_slice());
            assert!(
                e < 1e-5,
                "{feedback:?} layer {}: relative error {e:e}",
                k + 1
            );
        }
    }
}

/// DDTP-linear with `Q_{M-1} = W_Mᵀ` gives the last hidden layer DTP's gradient target
/// `ĥ_{M-1} = h_{M-1} − η̂ W_Mᵀ ∂L/∂z_M` (up to rounding: DDTP forms `ẑ − z`); on a net with
/// one hidden layer this is the whole of both algorithms' targets.
#[test]
fn ddtp_linear_with_the_transposed_output_weights_gives_dtps_top_target() {
    for widths in [&WIDTHS[..], &[5, 4, 3][..]] {
        let mut t = DynTrainer::<Portable>::with_widths(widths, BATCH).unwrap();
        let c = Config {
            eta_hat: 0.7,
            ..config(Feedback::DdtpLinear)
        };
        t.init(c, Init::Orthogonal, &mut rng(4)).unwrap();
        let mut r = rng(9);
        t.input_mut().iter_mut().for_each(|v| *v = uniform(&mut r));
        for b in 0..BATCH {
            t.labels_mut()[(b % 3, b)] = 1.0;
        }
        let top = widths.len() - 3;
        let wt = t.net.output.w.transpose();
        t.net.direct.as_mut().unwrap().q[top].w = wt;
        t.forward(false, &mut rng(1)).unwrap();
        t.top_target().unwrap(); // DTP's top target, on target[top]
        let dtp = t.targets()[top].clone();
        let h = t.activations()[top].clone();
        t.difference_targets(&mut rng(2)).unwrap();
        let ddtp = t.targets()[top].clone();
        assert!((&dtp - &h).norm() > 1e-3, "the top target did not move");
        let e = rel_err((&ddtp - &h).as_slice(), (&dtp - &h).as_slice());
        assert!(e < 1e-5, "{widths:?}: relative error {e:e}");
    }
}

/// Four fixed minibatches of 8 for the thread and resume tests.
struct Data(Vec<(M, M)>);

impl Data {
    fn new() -> Self {
        let mut r = rng(77);
        Data(
            (0..4)
                .map(|_| {
                    let x = M::from_fn(WIDTHS[0], 8, |_, _| uniform(&mut r));
                    let t = M::from_fn(3, 8, |i, b| f32::from(u8::from((b * 7 + i) % 3 == 0)));
                    (x, t)
                })
                .collect(),
        )
    }
}

impl Batches<Dyn, Dyn, Dyn> for Data {
    fn batches(&self) -> usize {
        self.0.len()
    }
    fn fill(&mut self, index: usize, x: &mut M, t: &mut M) {
        x.copy_from(&self.0[index].0);
        t.copy_from(&self.0[index].1);
    }
}

fn trainer(feedback: Feedback, schedule: Schedule) -> DynTrainer<Portable> {
    let c = Config {
        schedule,
        eta_hat: 0.3,
        forward: Optimiser::rmsprop(1e-3),
        inverse: Optimiser::rmsprop(1e-3),
        ..config(feedback)
    };
    let mut t = DynTrainer::<Portable>::with_widths(&WIDTHS, 8).unwrap();
    t.init(c, Init::Orthogonal, &mut rng(12)).unwrap();
    t
}

/// Every tensor of a trainer, by name.
fn tensors(t: &DynTrainer<Portable>) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    t.visit(&mut |name, _, s| out.push((name.to_string(), s.to_vec())));
    out
}

/// Two epochs on chunks of the minibatch (2 and 3 chunks) give the same bits at 1 and 2
/// threads, both schedules, every rule, and train `Q_1`; one chunk is the trainer's own epoch.
#[test]
fn ddtp_on_chunks_gives_the_same_bits_at_any_thread_count() {
    for feedback in [Feedback::DdtpLinear, Feedback::DdtpRhl, Feedback::DtpOutput] {
        for schedule in [Schedule::Interleaved, Schedule::Alternating] {
            let run = |chunks: usize, threads: usize| {
                let mut t = trainer(feedback, schedule);
                let mut p = Parallel::new(&t, chunks, threads);
                let mut r = rng(5);
                for _ in 0..2 {
                    p.train_epoch(&mut t, &mut Data::new(), &mut r).unwrap();
                }
                tensors(&t)
            };
            let mut own = trainer(feedback, schedule);
            let before = tensors(&own);
            let mut r = rng(5);
            for _ in 0..2 {
                own.train_epoch(&mut Data::new(), &mut r).unwrap();
            }
            let own = tensors(&own);
            assert_ne!(own, before, "{feedback:?} {schedule:?}: nothing trained");
            let q = |ts: &[(String, Vec<f32>)]| {
                ts.iter()
                    .find(|(n, _)| n == "net.q1.weight")
                    .unwrap()
                    .1
                    .clone()
            };
            assert_ne!(q(&own), q(&before), "{feedback:?}: Q_1 did not train");
            assert_eq!(run(1, 1), own, "{feedback:?} {schedule:?}: one chunk");
            for chunks in [2, 3] {
                let one = run(chunks, 1);
                assert_eq!(one, run(chunks, 2), "{feedback:?} {schedule:?} {chunks}");
                assert_ne!(
                    q(&one),
                    q(&before),
                    "{feedback:?}: Q_1 untrained on {chunks}"
                );
            }
        }
    }
}

/// The forward half of a step (targets through `Q_i`, forward update) on 2 and 3 chunks
/// equals the whole minibatch's to 1e-5 (no noise in it): each chunk's targets are the
/// minibatch's (`∂L/∂z_M` with the minibatch's `B`), its gradients its share.
#[test]
fn ddtp_targets_on_chunks_are_the_whole_minibatchs() {
    use dtp_core::step::Drive;
    for feedback in [Feedback::DdtpLinear, Feedback::DdtpRhl, Feedback::DtpOutput] {
        let data = Data::new();
        let load = |t: &mut DynTrainer<Portable>| {
            t.input_mut().copy_from(&data.0[0].0);
            t.labels_mut().copy_from(&data.0[0].1);
        };
        let mut whole = trainer(feedback, Schedule::Interleaved);
        load(&mut whole);
        let before = whole.net.first.w.clone();
        whole.forward_only(&mut rng(3)).unwrap();
        assert!(
            (&whole.net.first.w - &before).norm() > 1e-5,
            "nothing moved"
        );
        for chunks in [2, 3] {
            let mut t = trainer(feedback, Schedule::Interleaved);
            load(&mut t);
            let mut p = Parallel::new(&t, chunks, 1);
            p.on(&mut t).forward_only(&mut rng(3)).unwrap();
            let (a, b) = (tensors(&t), tensors(&whole));
            for ((name, x), (_, y)) in a.iter().zip(&b) {
                let e = x
                    .iter()
                    .zip(y)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max);
                assert!(e < 1e-5, "{feedback:?} {chunks} chunks: {name} off by {e}");
            }
        }
    }
}

/// The trainer's tensors name DDTP's weights (`net.q1 …`, `net.rhl`) and their optimiser
/// state (`opt.direct.q1 …`); copied by name into a fresh trainer of the same settings
/// (what a checkpoint does), training continues with the same bits.
#[test]
fn ddtp_weights_and_state_resume_through_the_tensor_visitor() {
    for feedback in [Feedback::DdtpLinear, Feedback::DdtpRhl, Feedback::DtpOutput] {
        let mut a = trainer(feedback, Schedule::Interleaved);
        let mut r = rng(6);
        a.train_epoch(&mut Data::new(), &mut r).unwrap();
        let saved = tensors(&a);
        let names: Vec<&str> = saved.iter().map(|(n, _)| n.as_str()).collect();
        let last = if feedback == Feedback::DtpOutput {
            1
        } else {
            3
        };
        let want = [
            "net.q1.weight".to_string(),
            format!("net.q{last}.bias"),
            format!("opt.direct.q{last}.weight.v"),
            "opt.inverse.g2.weight.v".to_string(),
        ];
        for n in &want {
            assert!(
                names.contains(&n.as_str()),
                "{feedback:?}: no {n} in {names:?}"
            );
        }
        assert!(!names.contains(&"net.q2.weight") || feedback != Feedback::DtpOutput);
        let rhl = saved.iter().find(|(n, _)| n == "net.rhl.weight");
        assert_eq!(
            rhl.map(|(_, v)| v.len()),
            (feedback == Feedback::DdtpRhl).then_some(RHL_WIDTH * 3)
        );
        let mut b = DynTrainer::<Portable>::with_widths(&WIDTHS, 8).unwrap();
        b.set_config(*a.config()).unwrap();
        b.epoch = a.epoch;
        let mut values = saved.iter();
        b.visit_mut(&mut |name, _, s| {
            let (n, v) = values.next().unwrap();
            assert_eq!(n, &name.to_string());
            s.copy_from_slice(v);
        });
        assert!(values.next().is_none());
        let mut r2 = r.clone();
        a.train_epoch(&mut Data::new(), &mut r).unwrap();
        b.train_epoch(&mut Data::new(), &mut r2).unwrap();
        assert_eq!(tensors(&a), tensors(&b), "{feedback:?}");
    }
}

/// A trainer of fixed layout refuses direct feedback (its weights have no place there).
#[test]
fn a_fixed_layout_refuses_ddtp() {
    let mut t = dtp_core::FixedTrainer::<5, 4, 3, 2, 3>::ZERO;
    for feedback in [Feedback::DdtpLinear, Feedback::DdtpRhl, Feedback::DtpOutput] {
        let e = t.init(config(feedback), Init::Orthogonal, &mut rng(1));
        assert_eq!(e, Err(dtp_core::ConfigError::DirectNeedsRunTimeLayout));
    }
}

/// `g_M(z) = tanh(Q z + c)`, the output layer's inverse of [`Feedback::DtpOutput`].
fn g_out(t: &DynTrainer<Portable>, z: &M) -> M {
    apply(&t.net.direct.as_deref().unwrap().q[0], Activation::Tanh, z)
}

/// DTP's reconstruction loss of the output layer's inverse, recomputed from public parts:
/// `c` (the corrupted top hidden layer) carried to `z̃_M = W_M c + b_M`,
/// `(1/B) ‖g_M(z̃_M) − c‖²`.
fn output_inverse_loss(t: &DynTrainer<Portable>, c: &M) -> f32 {
    let z = apply(&t.net.output, Activation::Linear, c);
    (g_out(t, &z) - c).norm_squared() / BATCH as f32
}

/// The output layer's inverse of [`Feedback::DtpOutput`] steps (SGD, lr 1) by minus the
/// gradient of its reconstruction loss, against fourth-order central differences of the loss
/// recomputed independently (relative error < 1e-3, weights and biases); the reported loss
/// matches. In the whole feedback step DTP's inverses train first, on the same draws as by
/// [`Feedback::Dtp`] (their weights equal DTP's bit for bit), then `g_M` on the draws after.
#[test]
fn dtp_output_inverse_gradient_matches_finite_differences_of_its_loss() {
    for seed in [3, 8] {
        let mut t = small(config(Feedback::DtpOutput), seed);
        t.forward(true, &mut rng(1)).unwrap();
        let r = WIDTHS.len() - 3;
        let h = t.activations()[r].clone();
        let mut c = h.clone();
        add_gaussian_to(c.as_mut_slice(), h.as_slice(), SIGMA, &mut rng(2));
        let mut probe = small(config(Feedback::DtpOutput), seed);
        probe.forward(true, &mut rng(1)).unwrap();
        probe.direct_step(SIGMA, &mut rng(2)).unwrap();
        let reported = probe.direct_state.as_ref().unwrap().loss[0];
        let loss = output_inverse_loss(&t, &c);
        assert!(
            (reported - loss).abs() <= 1e-5 * loss.max(1.0),
            "seed {seed}: reported {reported} vs recomputed {loss}"
        );
        let f = |t: &DynTrainer<Portable>| output_inverse_loss(t, &c);
        let fw = finite_difference(&mut t, |t| q(t, 0).w.as_mut_slice(), f);
        let fb = finite_difference(&mut t, |t| q(t, 0).b.as_mut_slice(), f);
        let gw = &q(&mut t, 0).w - &q(&mut probe, 0).w;
        let gb = &q(&mut t, 0).b - &q(&mut probe, 0).b;
        for (what, a, n) in [("Q", gw.as_slice(), fw), ("c", gb.as_slice(), fb)] {
            let norm: f32 = n.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!(norm > 1e-3, "{what}: gradient too small ({norm})");
            let e = rel_err(a, &n);
            assert!(e < 1e-3, "seed {seed} ∂/∂{what}: relative error {e:e}");
        }
        // The whole step: DTP's inverses as DTP trains them, then g_M.
        let mut whole = small(config(Feedback::DtpOutput), seed);
        let mut dtp = small(config(Feedback::DtpOutput), seed);
        dtp.set_config(config(Feedback::Dtp)).unwrap();
        for t in [&mut whole, &mut dtp] {
            t.forward(true, &mut rng(1)).unwrap();
            t.feedback_step(SIGMA, &mut rng(2)).unwrap();
        }
        let before = small(config(Feedback::DtpOutput), seed);
        for k in 0..whole.net.inverse.len() {
            assert_eq!(whole.net.inverse[k], dtp.net.inverse[k], "g_{}", k + 2);
            assert_ne!(
                whole.net.inverse[k],
                before.net.inverse[k],
                "g_{} still",
                k + 2
            );
        }
        assert_ne!(
            q(&mut whole, 0).w,
            q(&mut probe, 0).w,
            "g_M on the first draws"
        );
        assert_ne!(
            q(&mut whole, 0).w,
            before.net.direct.as_ref().unwrap().q[0].w
        );
    }
}

/// [`Feedback::DtpOutput`]'s targets are their definition recomputed from public parts: the
/// top one `ĥ_{M-1} = h_{M-1} + g_M(ẑ_M) − g_M(z_M)` with `ẑ_M = z_M − η̂ (p − t)/B`, each
/// one below `ĥ_{i-1} = h_{i-1} + g_i(ĥ_i) − g_i(h_i)` through DTP's inverses (relative error
/// < 1e-5 on each displacement, which must not vanish).
#[test]
fn dtp_output_targets_match_their_definition() {
    let (t, z, zt) = targets_of(Feedback::DtpOutput, 0.8);
    let r = WIDTHS.len() - 3;
    let mut want = g_out(&t, &zt) - g_out(&t, &z);
    for k in (0..=r).rev() {
        let got = &t.targets()[k] - &t.activations()[k];
        assert!(want.norm() > 1e-4, "layer {}: no displacement", k + 1);
        let e = rel_err(got.as_slice(), want.as_slice());
        assert!(e < 1e-5, "layer {}: relative error {e:e}", k + 1);
        if k > 0 {
            let g = &t.net.inverse[k - 1];
            want = apply(g, Activation::Tanh, &t.targets()[k])
                - apply(g, Activation::Tanh, &t.activations()[k]);
        }
    }
}
