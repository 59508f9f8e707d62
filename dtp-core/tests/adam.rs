//! Adam (`OptimiserKind::Adam`): its update against the rule computed independently in f64,
//! the first step's size, partial updates, finite/non-finite reporting, and the step count
//! kept in the state (so a copy of the state resumes with the same bits).

mod common;
use common::*;
use dtp_core::{Const, Mat, Moments, Optimiser, OptimiserKind};

/// `torch.optim.Adam`'s rule, one parameter, written out in f64 (β₁, β₂, ε, λ the f32
/// settings widened): returns the parameter after each of `grads`.
fn reference(opt: &Optimiser, p0: f32, grads: &[f32]) -> Vec<f64> {
    let OptimiserKind::Adam {
        beta1,
        beta2,
        eps,
        weight_decay,
    } = opt.kind
    else {
        panic!("not Adam: {opt:?}")
    };
    let (b1, b2, eps, wd, lr) = (
        beta1 as f64,
        beta2 as f64,
        eps as f64,
        weight_decay as f64,
        opt.lr as f64,
    );
    let (mut p, mut m, mut u) = (p0 as f64, 0.0f64, 0.0f64);
    let mut out = Vec::new();
    for (k, &g) in grads.iter().enumerate() {
        let t = (k + 1) as i32;
        let g = g as f64 + wd * p;
        m = b1 * m + (1.0 - b1) * g;
        u = b2 * u + (1.0 - b2) * g * g;
        let m_hat = m / (1.0 - b1.powi(t));
        let u_hat = u / (1.0 - b2.powi(t));
        p -= lr * m_hat / (u_hat.sqrt() + eps);
        out.push(p);
    }
    out
}

fn settings() -> [Optimiser; 3] {
    let mut decayed = Optimiser::adam(3e-3);
    if let OptimiserKind::Adam {
        beta1,
        beta2,
        eps,
        weight_decay,
    } = &mut decayed.kind
    {
        // Meulemans et al.'s DDTP-linear feedback constants (published-results.md's source).
        (*beta1, *beta2, *eps, *weight_decay) = (0.999, 0.9, 7.7e-5, 4.4e-4);
    }
    [Optimiser::adam(1e-3), Optimiser::adam(0.05), decayed]
}

/// Eight parameters, 30 steps of gradients of mixed sizes and signs (one gradient exactly 0):
/// every parameter within 10⁻⁵ (relative to lr·steps) of the f64 rule after every step.
#[test]
fn adam_matches_the_rule_computed_in_f64() {
    for opt in settings() {
        let mut r = rng(11);
        let p0: Vec<f32> = (0..8)
            .map(|_| dtp_core::noise::standard_normal(&mut r))
            .collect();
        let grads: Vec<Vec<f32>> = (0..30)
            .map(|step| {
                (0..8)
                    .map(|i| {
                        let scale = [1e-4f32, 1e-2, 1.0, 30.0][i % 4];
                        if step == 3 && i == 5 {
                            0.0
                        } else {
                            scale * dtp_core::noise::standard_normal(&mut r)
                        }
                    })
                    .collect()
            })
            .collect();
        let mut p = Mat::<8, 1>::from_column_slice(&p0);
        let mut state = Moments::<Const<8>, Const<1>>::ZERO;
        for (step, g) in grads.iter().enumerate() {
            assert!(opt.update(&mut p, &Mat::<8, 1>::from_column_slice(g), &mut state));
            for i in 0..8 {
                let column: Vec<f32> = grads[..=step].iter().map(|g| g[i]).collect();
                let want = reference(&opt, p0[i], &column)[step];
                // Per step: the f32 rounding of p (2⁻²⁴|p|) and 10⁻⁴ of the step (the f32
                // rule's relative error is ~10⁻⁶; a wrong rule is off by O(lr)).
                let tol = (step + 1) as f64 * (6e-8 * want.abs() + 1e-4 * opt.lr as f64);
                let got = p[(i, 0)] as f64;
                assert!(
                    (got - want).abs() <= tol,
                    "{opt:?} step {step} parameter {i}: {got} vs f64 {want}"
                );
                assert_eq!(state.v[(i, 0)], (step + 1) as f32, "the step count");
            }
        }
    }
}

/// The first step moves each parameter by lr·g/(|g| + ε) ≈ lr·sign(g), whatever |g|
/// (the bias corrections undo the (1−β) factors exactly at t = 1).
#[test]
fn the_first_step_moves_by_lr_times_the_sign() {
    let opt = Optimiser::adam(1e-3);
    let g = [3.0e-3f32, -7.5, 120.0, -0.25, 0.0];
    let mut p = Mat::<5, 1>::from_element(0.5);
    let mut state = Moments::<Const<5>, Const<1>>::ZERO;
    assert!(opt.update(&mut p, &Mat::<5, 1>::from_column_slice(&g), &mut state));
    for (i, &g) in g.iter().enumerate() {
        let moved = p[(i, 0)] - 0.5;
        let want = -1e-3 * g.signum() * (g != 0.0) as i32 as f32;
        assert!(
            (moved - want).abs() <= 1e-3 * 1e-4,
            "g {g}: moved {moved}, want {want}"
        );
    }
}

/// Any part of a tensor updated on its own gives the same bits as the whole (the parallel
/// trainer updates chunks), and the column form (`g = δ·c`) the bits of the formed gradient.
#[test]
fn parts_and_columns_update_as_the_whole() {
    for opt in settings() {
        let mut r = rng(5);
        let delta: Vec<f32> = (0..4)
            .map(|_| dtp_core::noise::standard_normal(&mut r))
            .collect();
        let scales = [0.5f32, -2.0, 1.25];
        let grad: Vec<f32> = scales
            .iter()
            .flat_map(|&c| delta.iter().map(move |&d| d * c))
            .collect();
        let p0: Vec<f32> = (0..12).map(|i| 0.1 * i as f32 - 0.4).collect();
        let (mut whole, mut parts, mut columns) = (p0.clone(), p0.clone(), p0.clone());
        let mut st = [[0.0f32; 12]; 9];
        for _ in 0..3 {
            let [a1, s1, v1, a2, s2, v2, a3, s3, v3] = &mut st;
            assert!(opt.update_slices(&mut whole, &grad, a1, s1, v1));
            let (pa, pb) = parts.split_at_mut(5);
            let ((aa, ab), (sa, sb), (va, vb)) =
                (a2.split_at_mut(5), s2.split_at_mut(5), v2.split_at_mut(5));
            assert!(opt.update_slices(pa, &grad[..5], aa, sa, va));
            assert!(opt.update_slices(pb, &grad[5..], ab, sb, vb));
            assert!(opt.update_columns(&mut columns, &delta, &scales, a3, s3, v3));
        }
        assert_eq!(whole, parts, "{opt:?}");
        assert_eq!(whole, columns, "{opt:?}");
        assert_eq!(st[0], st[3]);
        assert_eq!(st[0], st[6]);
        assert_ne!(whole, p0);
    }
}

/// As RMSprop's: a gradient whose square overflows makes the second moment infinite while the
/// weight stays finite (every later update would be 0), and the update says so; a large but
/// representable gradient is fine. A non-finite gradient is reported too.
#[test]
fn adam_reports_an_overflowing_second_moment_and_non_finite_values() {
    let opt = Optimiser::adam(1e-3);
    let mut p = Mat::<2, 1>::zeros();
    let mut state = Moments::<Const<2>, Const<1>>::ZERO;
    // (1−β₂)·g·g = 10⁻³·10³⁰·10³⁰ overflows.
    assert!(!opt.update(&mut p, &Mat::from_element(1e30), &mut state));
    assert!(state.s[(0, 0)].is_infinite());
    assert!(p.iter().all(|v| v.is_finite()), "the weight stays finite");

    let mut p = Mat::<2, 1>::zeros();
    let mut state = Moments::<Const<2>, Const<1>>::ZERO;
    assert!(opt.update(&mut p, &Mat::from_element(1e15), &mut state));
    assert!((p[(0, 0)] + 1e-3).abs() < 1e-9, "{}", p[(0, 0)]);

    for bad in [f32::NAN, f32::INFINITY] {
        let mut p = Mat::<2, 1>::zeros();
        let mut state = Moments::<Const<2>, Const<1>>::ZERO;
        let g = Mat::<2, 1>::from_column_slice(&[0.5, bad]);
        assert!(!opt.update(&mut p, &g, &mut state), "{bad}");
    }
}

/// A fixed-size trainer (the device's world) trains with Adam on both passes; its state, the
/// step count included, copied into a second trainer makes the next steps bit-identical
/// (what a checkpoint does), while a copy that loses the count does not.
#[test]
fn a_fixed_trainer_with_adam_resumes_from_a_copy_of_its_state() {
    let mut config = sgd_one(dtp_core::Units::CONTINUOUS);
    config.eta_hat = 0.1;
    config.forward = Optimiser::adam(1e-3);
    config.inverse = Optimiser::adam(1e-3);
    config.sigma = dtp_core::SigmaSchedule::constant(0.1);
    let mut a = small(config, 3);
    for step in 0..5 {
        a.step(&mut rng(step)).unwrap();
    }
    assert_eq!(a.forward_state.first.w.v[(0, 0)], 5.0, "five forward steps");
    let copy = |a: &Small| {
        let mut b = small(config, 3);
        b.net = a.net.clone();
        b.forward_state = a.forward_state.clone();
        b.inverse_state = a.inverse_state.clone();
        b
    };
    let mut b = copy(&a);
    let mut forgot = copy(&a);
    forgot.forward_state.first.w.v.fill(0.0);
    for step in 5..9 {
        a.step(&mut rng(step)).unwrap();
        b.step(&mut rng(step)).unwrap();
        forgot.step(&mut rng(step)).unwrap();
    }
    assert_eq!(a.net, b.net);
    assert_eq!(a.forward_state, b.forward_state);
    assert_ne!(a.net.first.w, forgot.net.first.w, "the count matters");
}
