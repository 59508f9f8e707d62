//! Shared helpers of dtp-core's tests: a small network with a random batch.
#![allow(dead_code)]

use dtp_core::noise::{standard_normal, uniform};
use dtp_core::{Config, FixedTrainer, Init, Mat, Optimiser, Schedule, SigmaSchedule, Units};
use rand_pcg::Pcg32;

/// 5 inputs, hidden width 4, 3 classes, 3 hidden layers (R = 2), batch 3.
pub type Small = FixedTrainer<5, 4, 3, 2, 3>;

pub fn rng(seed: u64) -> Pcg32 {
    Pcg32::new(seed, 0x0a02_bdbf_7bb3_c0a7)
}

/// Plain SGD with lr = 1 and no momentum: a step moves every parameter by exactly −∂/∂θ.
pub fn sgd_one(units: Units) -> Config {
    Config {
        units,
        eta_hat: 1.0,
        forward: Optimiser::sgd(1.0, 0.0),
        inverse: Optimiser::sgd(1.0, 0.0),
        sigma: SigmaSchedule::constant(0.0),
        input_noise: 0.0,
        schedule: Schedule::Interleaved,
        lr_decay: dtp_core::LrDecay::NONE,
        feedback: dtp_core::Feedback::Dtp,
        frozen: dtp_core::LayerSet::NONE,
    }
}

/// A trainer with Gaussian weights (σ 0.8), biases (σ 0.2) and a random batch with
/// one-hot labels.
pub fn small(config: Config, seed: u64) -> Small {
    let mut r = rng(seed);
    let mut t = Small::new(config, Init::Orthogonal, &mut r).unwrap();
    let mut fill =
        |m: &mut [f32], s: f32| m.iter_mut().for_each(|v| *v = s * standard_normal(&mut r));
    fill(t.net.first.w.as_mut_slice(), 0.8);
    fill(t.net.first.b.as_mut_slice(), 0.2);
    for d in t.net.hidden.iter_mut().chain(t.net.inverse.iter_mut()) {
        fill(d.w.as_mut_slice(), 0.8);
        fill(d.b.as_mut_slice(), 0.2);
    }
    fill(t.net.output.w.as_mut_slice(), 0.8);
    fill(t.net.output.b.as_mut_slice(), 0.2);
    let mut r = rng(seed + 1000);
    let (x, labels) = t.batch_mut();
    x.iter_mut().for_each(|v| *v = uniform(&mut r));
    labels.fill(0.0);
    for b in 0..3 {
        labels[((b * 2 + seed as usize) % 3, b)] = 1.0;
    }
    t
}

/// Norm-wise relative error ‖a − b‖ / max(‖b‖, tiny).
pub fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let den: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (num.sqrt() / den.sqrt().max(1e-12)) as f32
}

/// Fourth-order central finite difference of `f` with respect to every entry of the matrix chosen by
/// `pick`, perturbing `model` in place and restoring it.
pub fn finite_difference<T, const R: usize, const C: usize>(
    model: &mut T,
    pick: impl Fn(&mut T) -> &mut Mat<R, C>,
    f: impl Fn(&mut T) -> f32,
) -> Mat<R, C> {
    let eps = 1e-2;
    let mut out = Mat::<R, C>::zeros();
    for i in 0..R * C {
        let orig = pick(model).as_slice()[i];
        let mut at = |d: f32| {
            pick(model).as_mut_slice()[i] = orig + d;
            f(model) as f64
        };
        let (p1, m1, p2, m2) = (at(eps), at(-eps), at(2.0 * eps), at(-2.0 * eps));
        pick(model).as_mut_slice()[i] = orig;
        // (f(−2ε) − 8f(−ε) + 8f(ε) − f(2ε)) / 12ε: truncation error O(ε⁴).
        out.as_mut_slice()[i] = ((m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * eps as f64)) as f32;
    }
    out
}
