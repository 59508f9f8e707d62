//! Identities of the algorithm: difference-target identity, descent direction with exact
//! inverses, inverse training, orthogonal initialisation, determinism, error handling.
#![allow(clippy::needless_range_loop)]

mod common;
use common::*;
use dtp_core::init::orthogonal;
use dtp_core::noise::standard_normal;
use dtp_core::{
    Activation, Config, ConfigError, Error, FixedTrainer, Init, Mat, Optimiser, Output, Quantiser,
    Stage, Units,
};

#[test]
fn equal_top_target_gives_equal_targets_exactly() {
    for units in [Units::CONTINUOUS, Units::DISCRETE, Units::STOCHASTIC] {
        let mut config = sgd_one(units);
        config.eta_hat = 0.0;
        let mut t = small(config, 21);
        t.forward(true, &mut rng(1)).unwrap();
        t.top_target().unwrap();
        assert_eq!(
            t.targets()[2],
            t.activations()[2],
            "{units:?}: η̂ = 0 gives ĥ = h"
        );
        if units.into_inverse == Quantiser::Bernoulli {
            continue;
        }
        t.difference_targets(&mut rng(2)).unwrap();
        for k in 0..3 {
            // Bit-for-bit, not approximately.
            assert_eq!(
                t.targets()[k],
                t.activations()[k],
                "{units:?}: layer {}",
                k + 1
            );
        }
        // And a non-zero η̂ does move the targets.
        let mut t = small(sgd_one(units), 21);
        t.forward(true, &mut rng(1)).unwrap();
        t.top_target().unwrap();
        t.difference_targets(&mut rng(2)).unwrap();
        assert_ne!(t.targets()[2], t.activations()[2]);
    }
}

/// Linear layers with exact inverses `g = f⁻¹`: a trainer of width 4, batch 1.
type Lin = FixedTrainer<4, 4, 3, 2, 1>;

fn linear_with_exact_inverses(seed: u64, orthogonal_weights: bool, eta_hat: f32) -> Lin {
    let units = Units {
        hidden: Activation::Linear,
        inverse: Activation::Linear,
        between: Quantiser::Identity,
        into_output: Quantiser::Identity,
        into_inverse: Quantiser::Identity,
        output: Output::SoftmaxNll,
    };
    let mut config = sgd_one(units);
    config.eta_hat = eta_hat;
    let mut r = rng(seed);
    let mut t = Lin::new(config, Init::Orthogonal, &mut r).unwrap();
    for k in 0..2 {
        if !orthogonal_weights {
            let w = &mut t.net.hidden[k].w;
            *w += Mat::<4, 4>::from_fn(|_, _| 0.4 * standard_normal(&mut r));
        }
        t.net.hidden[k].b = Mat::from_fn(|_, _| 0.3 * standard_normal(&mut r));
        let inv = t.net.hidden[k].w.try_inverse().expect("invertible");
        t.net.inverse[k].w = inv;
        t.net.inverse[k].b = -(inv * t.net.hidden[k].b);
    }
    t.net.output.w = Mat::from_fn(|_, _| standard_normal(&mut r));
    let (x, labels) = t.batch_mut();
    *x = Mat::from_fn(|_, _| standard_normal(&mut r));
    labels[(1, 0)] = 1.0;
    t
}

/// `∂L/∂h_k` for the linear network, by the chain rule `∂L/∂h_{k-1} = W_kᵀ ∂L/∂h_k`.
fn gradients(t: &Lin) -> [Mat<4, 1>; 3] {
    let p = t.output();
    let mut labels = Mat::<3, 1>::zeros();
    labels[(1, 0)] = 1.0;
    let top = t.net.output.w.transpose() * (p - labels);
    let mid = t.net.hidden[1].w.transpose() * top;
    let low = t.net.hidden[0].w.transpose() * mid;
    [low, mid, top]
}

/// Orthogonal W: `W⁻¹ = Wᵀ`, so `ĥ_k − h_k = −η̂ ∂L/∂h_k` exactly, for every layer and η̂; what
/// is left is f32 rounding, bounded as in the descent test below by
/// `2e-6 + 8 ε ‖h_k‖ / (η̂ ‖∇_k‖)` (norm-wise, relative to `η̂ ‖∇_k‖`).
///
/// Measured (seeds 4–6, layers 1–3): ≤ 2.7e-6 at η̂ ≥ 0.1, 4.4e-5 at 0.01, 2.6e-4 at 0.001;
/// the largest 0.23 of its bound. (Before: one η̂, 0.01, to 1e-3 in norm and 1e-4 in cosine.)
#[test]
fn exact_inverses_move_targets_along_the_negative_gradient() {
    let mut worst_ratio = 0.0f32;
    for seed in [4, 5, 6] {
        for eta in [1.0, 0.3, 1e-1, 1e-2, 1e-3] {
            let mut t = linear_with_exact_inverses(seed, true, eta);
            t.forward(true, &mut rng(1)).unwrap();
            t.top_target().unwrap();
            t.difference_targets(&mut rng(1)).unwrap();
            let grads = gradients(&t);
            for k in 0..3 {
                let moved = t.targets()[k] - t.activations()[k];
                let expected = -eta * grads[k];
                let error = (moved - expected).norm() / expected.norm();
                let bound = 2e-6 + 8.0 * f32::EPSILON * t.activations()[k].norm() / expected.norm();
                worst_ratio = worst_ratio.max(error / bound);
                assert!(
                    error < bound,
                    "seed {seed}, η̂ {eta}, layer {}: ĥ − h off −η̂∇ by {error:e} (bound {bound:e})",
                    k + 1
                );
            }
        }
    }
    eprintln!("worst error / bound: {worst_ratio}");
}

/// With linear layers and exact linear inverses the difference targets carry `Δ_k = ĥ_k − h_k`
/// down exactly, `Δ_{k-1} = W_k⁻¹ Δ_k`, while the gradient goes down as `∇_{k-1} = W_kᵀ ∇_k`;
/// so `⟨∇_k, Δ_k⟩ = ⟨∇_{M-1}, Δ_{M-1}⟩ = −η̂ ‖∇_{M-1}‖²` for every layer and every η̂, not only
/// to first order. What is left is f32 rounding: a target `ĥ_k` is stored to half an ulp of
/// `|ĥ_k|`, which is large against `Δ_k` when η̂ is small, so the bound allowed is
/// `2e-6 + 8 ε ‖∇_k‖ ‖h_k‖ / (η̂ ‖∇_{M-1}‖²)` (ε = f32::EPSILON).
///
/// Measured (seeds 5–7, η̂ = 1, 0.3, 0.1, 0.01, 0.001, layers 1–3): at η̂ ≥ 0.1 every
/// deviation ≤ 8.9e-7 (allowed ≥ 2.6e-6); at η̂ = 1e-3 up to 7.5e-5 against bounds of
/// 5.5e-4–1.4e-3; the largest deviation is 0.23 of its bound. (The previous test asserted
/// only η̂ = 1e-3, at 1e-2.)
#[test]
fn exact_inverses_give_a_descent_direction_at_every_eta_hat() {
    let mut worst_ratio = 0.0f32;
    for seed in [5, 6, 7] {
        for eta in [1.0, 0.3, 1e-1, 1e-2, 1e-3] {
            let mut t = linear_with_exact_inverses(seed, false, eta);
            t.forward(true, &mut rng(1)).unwrap();
            t.top_target().unwrap();
            t.difference_targets(&mut rng(1)).unwrap();
            let grads = gradients(&t);
            let predicted = -eta * grads[2].norm_squared();
            for k in 0..3 {
                let moved = t.targets()[k] - t.activations()[k];
                let deviation = (grads[k].dot(&moved) / predicted - 1.0).abs();
                let rounding = 8.0 * f32::EPSILON * grads[k].norm() * t.activations()[k].norm()
                    / predicted.abs();
                let bound = 2e-6 + rounding;
                worst_ratio = worst_ratio.max(deviation / bound);
                assert!(
                    deviation < bound,
                    "seed {seed}, η̂ {eta}, layer {}: ⟨∇, Δ⟩ off by {deviation:e} (bound {bound:e})",
                    k + 1
                );
            }
        }
    }
    eprintln!("worst deviation / bound: {worst_ratio}");
}

#[test]
fn inverse_training_lowers_reconstruction_error() {
    for units in [Units::CONTINUOUS, Units::DISCRETE] {
        let mut config = sgd_one(units);
        config.inverse = Optimiser::rmsprop(3e-3);
        let mut t =
            FixedTrainer::<8, 16, 3, 2, 32>::new(config, Init::Orthogonal, &mut rng(3)).unwrap();
        let mut r = rng(4);
        let mut first = None;
        let mut last = [0.0; 2];
        for _ in 0..300 {
            let x = t.input_mut();
            x.iter_mut().for_each(|v| *v = standard_normal(&mut r));
            t.labels_mut()[(0, 0)] = 1.0;
            t.forward(true, &mut r).unwrap();
            t.inverse_step(0.1, &mut r).unwrap();
            first.get_or_insert(t.inverse_loss);
            last = t.inverse_loss;
        }
        let first = first.unwrap();
        for k in 0..2 {
            assert!(
                last[k] < 0.5 * first[k],
                "{units:?} g_{}: {} → {}",
                k + 2,
                first[k],
                last[k]
            );
        }
    }
}

fn singular_values<const O: usize, const I: usize>(w: &Mat<O, I>) -> Vec<f64> {
    let d = nalgebra::DMatrix::<f64>::from_fn(O, I, |r, c| w[(r, c)] as f64);
    d.svd(false, false)
        .singular_values
        .iter()
        .copied()
        .collect()
}

#[test]
fn orthogonal_init_has_unit_singular_values() {
    fn check<const O: usize, const I: usize>(seed: u64) {
        let mut w = Mat::<O, I>::zeros();
        orthogonal(&mut w, &mut rng(seed));
        let s = singular_values(&w);
        assert_eq!(s.len(), O.min(I));
        for v in s {
            assert!((v - 1.0).abs() < 1e-5, "{O}×{I}: singular value {v}");
        }
    }
    check::<20, 50>(1);
    check::<50, 20>(2);
    check::<30, 30>(3);
    check::<10, 64>(4);
    check::<240, 240>(5);
}

/// A layer of `BLOCKED_MIN` entries or more takes the blocked path: its rows are still
/// orthonormal (`W Wᵀ = I`), and it draws a different matrix for a different seed.
#[test]
fn orthogonal_init_of_a_large_layer_has_orthonormal_rows() {
    const O: usize = 500;
    const I: usize = 784;
    const { assert!(O * I >= dtp_core::init::BLOCKED_MIN) };
    // A 1.6 MB matrix: built on a thread with room for it on the stack.
    let draw = |seed| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || {
                let mut w = Box::new(Mat::<O, I>::zeros());
                orthogonal(&mut *w, &mut rng(seed));
                nalgebra::DMatrix::from_column_slice(O, I, w.as_slice())
            })
            .unwrap()
            .join()
            .unwrap()
    };
    let w = draw(6);
    let gram = &w * w.transpose();
    let worst = (0..O)
        .flat_map(|r| (0..O).map(move |c| (r, c)))
        .map(|(r, c)| (gram[(r, c)] - if r == c { 1.0 } else { 0.0 }).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-5, "|W Wᵀ − I| up to {worst}");
    assert_ne!(w, draw(7));
}

#[test]
fn same_seed_gives_bit_identical_weights() {
    let run = |seed: u64| {
        let mut config = Config::STOCHASTIC;
        config.schedule = dtp_core::Schedule::Interleaved;
        let mut r = rng(seed);
        let mut t = FixedTrainer::<6, 8, 3, 1, 4>::new(config, Init::Uniform, &mut r).unwrap();
        for step in 0..50 {
            let x = t.input_mut();
            x.iter_mut()
                .for_each(|v| *v = dtp_core::noise::uniform(&mut r));
            let labels = t.labels_mut();
            labels.fill(0.0);
            for b in 0..4 {
                labels[((b + step) % 3, b)] = 1.0;
            }
            t.step(&mut r).unwrap();
        }
        t.net
    };
    let (a, b, c) = (run(1), run(1), run(2));
    let bits = |n: &dtp_core::FixedNet<6, 8, 3, 1>| {
        n.first
            .w
            .iter()
            .chain(n.hidden[0].w.iter())
            .chain(n.inverse[0].w.iter())
            .chain(n.output.b.iter())
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&a), bits(&b));
    assert_ne!(bits(&a), bits(&c));
}

#[test]
fn invalid_hyper_parameters_are_rejected_when_building() {
    let mut r = rng(0);
    let build = |c: Config| Small::new(c, Init::Orthogonal, &mut rng(0)).map(|_| ());
    let mut c = Config::CONTINUOUS;
    c.forward.lr = -0.1;
    assert_eq!(
        build(c),
        Err(ConfigError::Negative {
            name: "forward.lr",
            value: -0.1
        })
    );
    let mut c = Config::CONTINUOUS;
    c.sigma.sigma0 = -1.0;
    assert!(matches!(
        build(c),
        Err(ConfigError::Negative {
            name: "sigma.sigma0",
            ..
        })
    ));
    let mut c = Config::CONTINUOUS;
    c.inverse.lr = f32::NAN;
    assert!(matches!(
        build(c),
        Err(ConfigError::Negative {
            name: "inverse.lr",
            ..
        })
    ));
    let mut c = Config::CONTINUOUS;
    c.sigma.tau = 0.0;
    assert!(matches!(
        build(c),
        Err(ConfigError::OutOfRange {
            name: "sigma.tau",
            ..
        })
    ));
    let mut c = Config::CONTINUOUS;
    c.eta_hat = f32::INFINITY;
    assert!(build(c).is_err());
    let mut c = Config::CONTINUOUS;
    c.forward = Optimiser::sgd(0.1, 1.5);
    assert!(matches!(
        build(c),
        Err(ConfigError::OutOfRange {
            name: "forward.momentum",
            ..
        })
    ));
    assert_eq!(
        FixedTrainer::<4, 4, 2, 0, 0>::new(Config::CONTINUOUS, Init::Orthogonal, &mut r)
            .map(|_| ()),
        Err(ConfigError::ZeroBatch)
    );
    // set_config validates too and keeps the old config on error.
    let mut t = small(Config::CONTINUOUS, 1);
    let mut bad = Config::CONTINUOUS;
    bad.input_noise = -1.0;
    assert!(t.set_config(bad).is_err());
    assert_eq!(*t.config(), Config::CONTINUOUS);
    // Every message names the field.
    let msg = format!(
        "{}",
        ConfigError::Negative {
            name: "forward.lr",
            value: -0.1
        }
    );
    assert!(msg.contains("forward.lr"), "{msg}");
}

#[test]
fn non_finite_input_is_an_error_not_a_panic() {
    let mut t = small(Config::CONTINUOUS, 1);
    t.input_mut()[(2, 1)] = f32::NAN;
    assert_eq!(
        t.step(&mut rng(1)),
        Err(Error::NonFinite {
            stage: Stage::Input,
            layer: 0
        })
    );
    let mut t = small(Config::CONTINUOUS, 1);
    t.labels_mut()[(0, 0)] = f32::INFINITY;
    assert_eq!(
        t.step(&mut rng(1)),
        Err(Error::NonFinite {
            stage: Stage::Labels,
            layer: 0
        })
    );
    let mut t = small(Config::CONTINUOUS, 1);
    t.net.output.w[(0, 0)] = f32::NAN;
    assert_eq!(
        t.step(&mut rng(1)),
        Err(Error::NonFinite {
            stage: Stage::Forward,
            layer: 4
        })
    );
    let mut t = small(Config::CONTINUOUS, 1);
    t.net.inverse[1].w[(0, 0)] = f32::INFINITY;
    let e = t.step(&mut rng(1)).unwrap_err();
    assert!(matches!(e, Error::NonFinite { layer: 3, .. }), "{e:?}");
    assert!(format!("{e}").contains('3'));
}

#[test]
fn a_huge_learning_rate_stops_with_an_error_naming_a_layer() {
    for units in [Units::CONTINUOUS, Units::DISCRETE] {
        let mut config = sgd_one(units);
        config.forward = Optimiser::sgd(1e38, 0.0);
        config.eta_hat = 1e30;
        let mut t = small(config, 2);
        let mut failed = None;
        for _ in 0..20 {
            if let Err(e) = t.step(&mut rng(1)) {
                failed = Some(e);
                break;
            }
        }
        let e = failed.expect("diverges");
        assert!(matches!(e, Error::NonFinite { layer: 1..=4, .. }), "{e:?}");
    }
}
