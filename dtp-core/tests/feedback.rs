//! The feedback rules beside DTP: the difference reconstruction loss (DRL) against finite
//! differences of its loss, recomputed from public parts; fixed feedback weights (FW-DTP)
//! untouched by training; and every rule propagating the same difference targets as DTP
//! when the feedback weights are equal.
#![allow(clippy::needless_range_loop)]

mod common;
use common::*;
use dtp_core::noise::add_gaussian;
use dtp_core::{
    Activation, Batches, Config, Const, Feedback, Mat, OMat, Optimiser, Portable, Schedule,
    SigmaSchedule, Units,
};

const SIGMA: f32 = 0.3;

fn with(feedback: Feedback) -> Config {
    Config {
        feedback,
        sigma: SigmaSchedule::constant(SIGMA),
        ..sgd_one(Units::CONTINUOUS)
    }
}

type H = Mat<4, 3>;

/// `g(v)` of inverse `j` (continuous units read as they are).
fn g(t: &Small, j: usize, v: &H) -> H {
    let mut out = H::zeros();
    t.net.inverse[j].forward::<Portable, Const<3>>(Activation::Tanh, v, &mut out);
    out
}

/// The difference reconstruction loss of inverse `k` (layer `i = k + 2`), recomputed from
/// public parts: corrupt `h[k]` by `c`, forward to the top through `f`, down through the
/// difference rule to `r = h[k] + g_k(ĥ) − g_k(h[k+1])`, `(1/σ²)(1/B) ‖r − c‖²`.
fn drl_loss(t: &Small, k: usize, h: &[H; 3], c: &H) -> f32 {
    let mut up = *c;
    for j in k..2 {
        let mut next = H::zeros();
        t.net.hidden[j].forward::<Portable, Const<3>>(Activation::Tanh, &up, &mut next);
        up = next;
    }
    // up = ĥ_{M-1}; down to ĥ at h[k + 1].
    for j in (k + 1..2).rev() {
        up = h[j] + (g(t, j, &up) - g(t, j, &h[j + 1]));
    }
    let r = h[k] + (g(t, k, &up) - g(t, k, &h[k + 1]));
    (r - c).norm_squared() / (SIGMA * SIGMA * 3.0)
}

/// DRL's step on `(V_i, c_i)` is minus the gradient of its loss (SGD, lr 1), checked against
/// fourth-order central differences of the loss recomputed independently (relative error
/// < 1e-3, the tolerance of `gradients.rs`); the loss the trainer reports matches too.
#[test]
fn drl_gradient_matches_finite_differences_of_its_loss() {
    for seed in [3, 8] {
        let mut t = small(with(Feedback::Drl), seed);
        t.forward(true, &mut rng(1)).unwrap();
        let act = t.activations();
        let h = [act[0], act[1], act[2]];
        // The corruptions drl_step draws: layer by layer, from the stream it is given.
        let mut noise = rng(2);
        let c: Vec<H> = (0..2)
            .map(|k| {
                let mut c = h[k];
                add_gaussian(c.as_mut_slice(), SIGMA, &mut noise);
                c
            })
            .collect();
        let mut probe = small(with(Feedback::Drl), seed);
        probe.forward(true, &mut rng(1)).unwrap();
        probe.drl_step(SIGMA, &mut rng(2)).unwrap();
        for k in 0..2 {
            let loss = drl_loss(&t, k, &h, &c[k]);
            assert!(
                (probe.inverse_loss[k] - loss).abs() <= 1e-5 * loss.max(1.0),
                "seed {seed} layer {}: reported {} vs recomputed {loss}",
                k + 2,
                probe.inverse_loss[k]
            );
            let fv = finite_difference(
                &mut t,
                |t| &mut t.net.inverse[k].w,
                |t| drl_loss(t, k, &h, &c[k]),
            );
            let fc = finite_difference(
                &mut t,
                |t| &mut t.net.inverse[k].b,
                |t| drl_loss(t, k, &h, &c[k]),
            );
            let gv = t.net.inverse[k].w - probe.net.inverse[k].w;
            let gc = t.net.inverse[k].b - probe.net.inverse[k].b;
            for (what, a, n) in [
                ("V", gv.as_slice(), fv.as_slice()),
                ("c", gc.as_slice(), fc.as_slice()),
            ] {
                let e = rel_err(a, n);
                let norm: f32 = n.iter().map(|v| v * v).sum::<f32>().sqrt();
                assert!(norm > 1e-3, "{what}_{}: gradient too small ({norm})", k + 2);
                assert!(
                    e < 1e-3,
                    "seed {seed} ∂/∂{what}_{}: relative error {e:e}",
                    k + 2
                );
            }
        }
    }
}

/// Four fixed batches of the small net's shape.
struct Four(Vec<(OMat<Const<5>, Const<3>>, OMat<Const<3>, Const<3>>)>);

impl Four {
    fn new() -> Self {
        Four(
            (0..4)
                .map(|s| {
                    let mut t = small(sgd_one(Units::CONTINUOUS), 20 + s);
                    let (x, l) = t.batch_mut();
                    (*x, *l)
                })
                .collect(),
        )
    }
}

impl Batches<Const<5>, Const<3>, Const<3>> for Four {
    fn batches(&self) -> usize {
        self.0.len()
    }
    fn fill(
        &mut self,
        index: usize,
        x: &mut OMat<Const<5>, Const<3>>,
        t: &mut OMat<Const<3>, Const<3>>,
    ) {
        (*x, *t) = self.0[index];
    }
}

/// FW-DTP: after three epochs of each schedule the feedback weights and biases are the
/// initial ones bit for bit and their optimiser state is still zero, while every forward
/// layer has moved. The same run with DTP's rule moves the feedback weights (so the
/// comparison can fail).
#[test]
fn fixed_feedback_weights_stay_bit_identical_through_training() {
    for schedule in [Schedule::Alternating, Schedule::Interleaved] {
        for feedback in [Feedback::Fixed, Feedback::Dtp] {
            let config = Config {
                forward: Optimiser::rmsprop(1e-2),
                inverse: Optimiser::rmsprop(1e-2),
                schedule,
                ..with(feedback)
            };
            let mut t = small(config, 4);
            let bits = |t: &Small| -> Vec<u32> {
                t.net
                    .inverse
                    .iter()
                    .flat_map(|d| d.w.iter().chain(d.b.iter()).map(|v| v.to_bits()))
                    .collect()
            };
            let (inverse, first, output) = (bits(&t), t.net.first.clone(), t.net.output.clone());
            let mut data = Four::new();
            let mut r = rng(9);
            for _ in 0..3 {
                t.train_epoch(&mut data, &mut r).unwrap();
            }
            let unchanged = bits(&t) == inverse;
            assert_eq!(
                unchanged,
                feedback == Feedback::Fixed,
                "{schedule:?} {feedback:?}"
            );
            if feedback == Feedback::Fixed {
                let zero = t
                    .inverse_state
                    .iter()
                    .all(|s| *s == dtp_core::DenseState::ZERO);
                assert!(zero, "{schedule:?}: inverse optimiser state touched");
            }
            assert_ne!(t.net.first, first, "{schedule:?} {feedback:?}");
            assert_ne!(t.net.output, output, "{schedule:?} {feedback:?}");
        }
    }
}

/// With the feedback weights held equal (inverse learning rate 0, so no rule moves them),
/// one `step` under each rule leaves the same targets and the same forward weights, bit
/// for bit: DRL and FW-DTP propagate DTP's difference targets and differ only in the
/// feedback step. Continuous and discrete (sign-reading) units.
#[test]
fn every_rule_propagates_dtps_targets_when_feedback_weights_are_equal() {
    for units in [Units::CONTINUOUS, Units::DISCRETE] {
        let run = |feedback| {
            let config = Config {
                units,
                inverse: Optimiser::sgd(0.0, 0.0),
                ..with(feedback)
            };
            let mut t = small(config, 6);
            t.step(&mut rng(11)).unwrap();
            (t.targets().clone(), t.net.clone())
        };
        let (dtp_targets, dtp_net) = run(Feedback::Dtp);
        let reference = small(with(Feedback::Dtp), 6);
        assert_ne!(dtp_net.first, reference.net.first, "the step moved nothing");
        for feedback in [Feedback::Drl, Feedback::Fixed] {
            let (targets, net) = run(feedback);
            assert_eq!(targets, dtp_targets, "{units:?} {feedback:?}");
            assert_eq!(net, dtp_net, "{units:?} {feedback:?}");
        }
    }
}
