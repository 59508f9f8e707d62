//! Divergence: a step that produces a NaN or an infinity anywhere (weights, optimiser state)
//! returns an error naming the layer; a step that returns `Ok` leaves everything finite.

mod common;
use common::*;
use dtp_core::{DenseState, Error, Mat, Optimiser, Units};

fn state_is_finite<const O: usize, const I: usize>(
    s: &DenseState<dtp_core::Const<O>, dtp_core::Const<I>>,
) -> bool {
    [&s.w.a, &s.w.s, &s.w.v]
        .iter()
        .all(|m| m.iter().all(|v| v.is_finite()))
        && [&s.b.a, &s.b.s, &s.b.v]
            .iter()
            .all(|m| m.iter().all(|v| v.is_finite()))
}

fn all_finite(t: &Small) -> bool {
    let f = &t.forward_state;
    t.net.is_finite()
        && state_is_finite(&f.first)
        && f.hidden.iter().all(state_is_finite)
        && state_is_finite(&f.output)
        && t.inverse_state.iter().all(state_is_finite)
}

/// Regression: a gradient whose square overflows made RMSprop's `s` infinite while the weight
/// stayed finite (the update became `g/∞ = 0`), so the step "succeeded" and the next
/// checkpoint held an `∞` it could not be loaded from (found with `dtp train --eta-hat 2e21`).
#[test]
fn rmsprop_reports_an_overflowing_running_average() {
    let opt = Optimiser::rmsprop(1e-3);
    let mut p = Mat::<2, 1>::zeros();
    let g = Mat::<2, 1>::from_element(1e20);
    let mut state = dtp_core::Moments::<dtp_core::Const<2>, dtp_core::Const<1>>::ZERO;
    assert!(!opt.update(&mut p, &g, &mut state));
    assert!(state.s[(0, 0)].is_infinite());
    assert!(
        p.iter().all(|v| v.is_finite()),
        "the weight itself stays finite"
    );
    // A large but representable gradient is fine, and updates exactly as before.
    let mut p = Mat::<2, 1>::zeros();
    let mut state = dtp_core::Moments::<dtp_core::Const<2>, dtp_core::Const<1>>::ZERO;
    assert!(opt.update(&mut p, &Mat::from_element(1e15), &mut state));
    let (a, s) = (0.05f32 * 1e15, 0.05f32 * 1e15 * 1e15);
    let v = -1e-3f32 * 1e15 / dtp_core::math::sqrt(s - a * a + 0.001);
    assert_eq!(p[(0, 0)], v);
}

/// With η̂ and learning rates far too high, training stops at the step that produced the first
/// non-finite number: every step before it left weights and optimiser state finite, and the
/// error names the layer.
#[test]
fn divergence_stops_at_the_first_non_finite_step_naming_the_layer() {
    for units in [Units::CONTINUOUS, Units::DISCRETE] {
        for (eta_hat, rmsprop) in [(1e30, false), (1e30, true), (2e21, true), (1e10, true)] {
            let mut config = sgd_one(units);
            config.eta_hat = eta_hat;
            if rmsprop {
                config.forward = Optimiser::rmsprop(1e-3);
                config.inverse = Optimiser::rmsprop(1e-3);
            } else {
                config.forward = Optimiser::sgd(1e38, 0.0);
            }
            let mut t = small(config, 2);
            let mut failed = None;
            for step in 0..200 {
                match t.step(&mut rng(step)) {
                    Ok(_) => assert!(
                        all_finite(&t),
                        "{units:?} η̂ {eta_hat}: step {step} returned Ok with a non-finite value"
                    ),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let Some(e) = failed else {
                assert!(eta_hat < 1e20, "{units:?} η̂ {eta_hat}: did not diverge");
                continue;
            };
            let Error::NonFinite { layer, .. } = e else {
                panic!("{units:?} η̂ {eta_hat}: {e:?}, not a non-finite value");
            };
            assert!((1..=4).contains(&layer), "{e:?}");
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("layer {layer}")) || msg.contains(&format!("g_{layer}")),
                "{msg}"
            );
        }
    }
}
