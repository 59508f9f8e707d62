//! Finite differences against every analytic gradient: the local forward loss, the inverse
//! reconstruction loss, the top-layer NLL (target and output layer) and backprop.
//! Norm-wise relative error < 1e-3 in f32.
#![allow(clippy::needless_range_loop)]

mod common;
use common::*;
use dtp_core::loss::{loss, output_activation};
use dtp_core::noise::standard_normal;
use dtp_core::{
    Activation, Const, Dense, FixedDense, Gradient, Mat, Output, Portable, Quantiser, Units,
};

const TOL: f32 = 1e-3;

#[track_caller]
fn assert_close<const R: usize, const C: usize>(
    what: &str,
    analytic: &Mat<R, C>,
    numeric: &Mat<R, C>,
) {
    let e = rel_err(analytic.as_slice(), numeric.as_slice());
    assert!(
        numeric.norm() > 1e-3,
        "{what}: gradient too small to test ({})",
        numeric.norm()
    );
    assert!(
        e < TOL,
        "{what}: relative error {e:e}\nanalytic {analytic}\nnumeric {numeric}"
    );
}

/// `(1/B) Σ ‖s(W r + b) − t‖²` computed from the layer's forward pass.
fn local_loss<const O: usize, const I: usize, const B: usize>(
    d: &FixedDense<O, I>,
    act: Activation,
    r: &Mat<I, B>,
    t: &Mat<O, B>,
) -> f32 {
    let mut y = Mat::<O, B>::zeros();
    d.forward::<Portable, Const<B>>(act, r, &mut y);
    (y - t).norm_squared() / B as f32
}

#[test]
fn local_forward_loss_gradient() {
    for act in [Activation::Tanh, Activation::Sigmoid, Activation::Linear] {
        let mut r = rng(7);
        let mut g = || standard_normal(&mut r);
        let mut d = FixedDense::<4, 6>::ZERO;
        d.w.iter_mut().for_each(|v| *v = 0.5 * g());
        d.b.iter_mut().for_each(|v| *v = 0.2 * g());
        let input = Mat::<6, 5>::from_fn(|_, _| g());
        let target = Mat::<4, 5>::from_fn(|_, _| 0.5 * g());
        let mut y = Mat::<4, 5>::zeros();
        d.forward::<Portable, Const<5>>(act, &input, &mut y);
        let (mut delta, mut grad) = (Mat::<4, 5>::zeros(), FixedDense::<4, 6>::ZERO);
        let l = Dense::local_gradient::<Portable, Const<5>>(
            act, &input, &y, &target, &mut delta, &mut grad,
        );
        assert!((l - local_loss(&d, act, &input, &target)).abs() < 1e-5);
        let fw = finite_difference(
            &mut d,
            |d| &mut d.w,
            |d| local_loss(d, act, &input, &target),
        );
        let fb = finite_difference(
            &mut d,
            |d| &mut d.b,
            |d| local_loss(d, act, &input, &target),
        );
        assert_close(&format!("{act:?} ∂ℓ/∂W"), &grad.w, &fw);
        assert_close(&format!("{act:?} ∂ℓ/∂b"), &grad.b, &fb);
    }
}

/// The reconstruction loss of inverse `k` at σ = 0, recomputed from public parts:
/// `(1/B) Σ ‖g(q(f(q(h)))) − h‖²`.
fn inverse_loss(t: &Small, k: usize, h_below: &Mat<4, 3>) -> f32 {
    let u = t.config().units;
    let mut r = rng(0);
    let (mut read, mut f, mut g) = (
        Mat::<4, 3>::zeros(),
        Mat::<4, 3>::zeros(),
        Mat::<4, 3>::zeros(),
    );
    u.between
        .apply(h_below.as_slice(), read.as_mut_slice(), &mut r);
    t.net.hidden[k].forward::<Portable, Const<3>>(u.hidden, &read, &mut f);
    u.into_inverse
        .apply(f.as_slice(), read.as_mut_slice(), &mut r);
    t.net.inverse[k].forward::<Portable, Const<3>>(u.inverse, &read, &mut g);
    (g - h_below).norm_squared() / 3.0
}

#[test]
fn inverse_loss_gradient() {
    for units in [Units::CONTINUOUS, Units::DISCRETE] {
        let mut t = small(sgd_one(units), 3);
        t.forward(true, &mut rng(1)).unwrap();
        let h = t.activations().clone();
        for k in 0..2 {
            let fv = finite_difference(
                &mut t,
                |t| &mut t.net.inverse[k].w,
                |t| inverse_loss(t, k, &h[k]),
            );
            let fc = finite_difference(
                &mut t,
                |t| &mut t.net.inverse[k].b,
                |t| inverse_loss(t, k, &h[k]),
            );
            let before = t.net.inverse[k].clone();
            let mut probe = small(sgd_one(units), 3);
            probe.forward(true, &mut rng(1)).unwrap();
            probe.inverse_step(0.0, &mut rng(2)).unwrap();
            assert!((probe.inverse_loss[k] - inverse_loss(&t, k, &h[k])).abs() < 1e-5);
            let gv = before.w - probe.net.inverse[k].w;
            let gc = before.b - probe.net.inverse[k].b;
            assert_close(&format!("{units:?} ∂/∂V_{}", k + 2), &gv, &fv);
            assert_close(&format!("{units:?} ∂/∂c_{}", k + 2), &gc, &fc);
        }
    }
}

/// `L` as a function of what the output layer reads.
fn nll_of_top(t: &Small, top: &Mat<4, 3>) -> f32 {
    let mut z = Mat::<3, 3>::zeros();
    t.net
        .output
        .forward::<Portable, Const<3>>(Activation::Linear, top, &mut z);
    output_activation(Output::SoftmaxNll, &mut z);
    let mut labels = Mat::<3, 3>::zeros();
    for b in 0..3 {
        labels[((b * 2 + 5) % 3, b)] = 1.0;
    }
    loss(Output::SoftmaxNll, &z, &labels)
}

#[test]
fn top_target_is_minus_eta_times_the_nll_gradient() {
    let mut t = small(sgd_one(Units::CONTINUOUS), 5);
    t.forward(true, &mut rng(1)).unwrap();
    t.top_target().unwrap();
    let mut top = t.activations()[2];
    // η̂ = 1: h − ĥ = ∂L/∂h.
    let analytic = top - t.targets()[2];
    let numeric = finite_difference(&mut top, |m| m, |m| nll_of_top(&t, m));
    assert_close("∂L/∂h_{M-1}", &analytic, &numeric);
}

#[test]
fn output_layer_step_follows_the_nll_gradient() {
    let mut t = small(sgd_one(Units::CONTINUOUS), 5);
    let numeric = finite_difference(
        &mut t,
        |t| &mut t.net.output.w,
        |t| t.evaluate(&mut rng(1)).unwrap().loss,
    );
    let numeric_b = finite_difference(
        &mut t,
        |t| &mut t.net.output.b,
        |t| t.evaluate(&mut rng(1)).unwrap().loss,
    );
    let before = t.net.output.clone();
    t.forward_only(&mut rng(1)).unwrap();
    assert_close("∂L/∂W_M", &(before.w - t.net.output.w), &numeric);
    assert_close("∂L/∂b_M", &(before.b - t.net.output.b), &numeric_b);
}

#[test]
fn hidden_forward_step_follows_its_local_loss() {
    let mut t = small(sgd_one(Units::DISCRETE), 11);
    t.forward(true, &mut rng(1)).unwrap();
    t.top_target().unwrap();
    t.difference_targets(&mut rng(1)).unwrap();
    let h = t.activations().clone();
    let targets = t.targets().clone();
    // Layer 3 (hidden[1]) reads sign(h_2) in the discrete net.
    let mut read = Mat::<4, 3>::zeros();
    Quantiser::Sign.apply(h[1].as_slice(), read.as_mut_slice(), &mut rng(0));
    let f = |t: &mut Small| local_loss(&t.net.hidden[1], Activation::Tanh, &read, &targets[2]);
    let numeric = finite_difference(&mut t, |t| &mut t.net.hidden[1].w, f);
    let before = t.net.hidden[1].w;
    t.forward_step().unwrap();
    assert!(
        (t.local_loss[2]
            - local_loss(
                &{
                    let mut d = t.net.hidden[1].clone();
                    d.w = before;
                    d
                },
                Activation::Tanh,
                &read,
                &targets[2]
            ))
        .abs()
            < 1e-3
    );
    assert_close("∂ℓ_3/∂W_3", &(before - t.net.hidden[1].w), &numeric);
}

#[test]
fn first_layer_step_follows_its_local_loss() {
    let fresh = || small(sgd_one(Units::CONTINUOUS), 12);
    let mut t = fresh();
    t.forward_only(&mut rng(1)).unwrap();
    let x = *t.batch_mut().0;
    let target = t.targets()[0];
    let mut first = fresh().net.first;
    let numeric = finite_difference(
        &mut first,
        |d| &mut d.w,
        |d| local_loss(d, Activation::Tanh, &x, &target),
    );
    assert_close(
        "∂ℓ_1/∂W_1",
        &(fresh().net.first.w - t.net.first.w),
        &numeric,
    );
}

#[test]
fn backprop_gradient_of_every_layer() {
    let mut t = small(sgd_one(Units::CONTINUOUS), 9);
    let loss = |t: &mut Small| t.evaluate(&mut rng(1)).unwrap().loss;
    let n_first = finite_difference(&mut t, |t| &mut t.net.first.w, loss);
    let n_first_b = finite_difference(&mut t, |t| &mut t.net.first.b, loss);
    let n_h0 = finite_difference(&mut t, |t| &mut t.net.hidden[0].w, loss);
    let n_h1_b = finite_difference(&mut t, |t| &mut t.net.hidden[1].b, loss);
    let n_out = finite_difference(&mut t, |t| &mut t.net.output.w, loss);
    let before = t.net.clone();
    t.backprop_step(Gradient::Exact, &mut rng(1)).unwrap();
    assert_close("∂L/∂W_1", &(before.first.w - t.net.first.w), &n_first);
    assert_close("∂L/∂b_1", &(before.first.b - t.net.first.b), &n_first_b);
    assert_close("∂L/∂W_2", &(before.hidden[0].w - t.net.hidden[0].w), &n_h0);
    assert_close(
        "∂L/∂b_3",
        &(before.hidden[1].b - t.net.hidden[1].b),
        &n_h1_b,
    );
    assert_close("∂L/∂W_4", &(before.output.w - t.net.output.w), &n_out);
}

#[test]
fn backprop_through_sign_gives_zero_gradient_below_it() {
    let mut t = small(sgd_one(Units::DISCRETE), 9);
    let before = t.net.clone();
    t.backprop_step(Gradient::Exact, &mut rng(1)).unwrap();
    // Layers 1 and 2 sit below a sign: their exact gradient is zero.
    assert_eq!(before.first, t.net.first);
    assert_eq!(before.hidden[0], t.net.hidden[0]);
    // Layer 3 feeds the output directly and does learn.
    assert_ne!(before.hidden[1], t.net.hidden[1]);
    // The straight-through estimator does pass a signal down.
    let mut st = small(sgd_one(Units::DISCRETE), 9);
    st.backprop_step(Gradient::StraightThrough, &mut rng(1))
        .unwrap();
    assert_ne!(before.first, st.net.first);
}

#[test]
fn mse_output_gradients() {
    for act in [Activation::Sigmoid, Activation::Linear] {
        let mut units = Units::CONTINUOUS;
        units.output = Output::Mse(act);
        let mut t = small(sgd_one(units), 13);
        // Regression targets instead of one-hot labels.
        let labels = t.labels_mut();
        labels
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = 0.1 + 0.07 * i as f32);
        let global = |t: &mut Small| t.evaluate(&mut rng(1)).unwrap().loss;
        let numeric = finite_difference(&mut t, |t| &mut t.net.output.w, global);
        let numeric_first = finite_difference(&mut t, |t| &mut t.net.first.w, global);
        // The top target: h − ĥ = ∂L/∂h_{M-1} at η̂ = 1.
        t.forward(true, &mut rng(1)).unwrap();
        t.top_target().unwrap();
        let mut top = t.activations()[2];
        let analytic_top = top - t.targets()[2];
        let target_copy = *t.labels_mut();
        let mse_of_top = |m: &mut Mat<4, 3>| {
            let mut z = Mat::<3, 3>::zeros();
            t.net
                .output
                .forward::<Portable, Const<3>>(Activation::Linear, m, &mut z);
            output_activation(Output::Mse(act), &mut z);
            loss(Output::Mse(act), &z, &target_copy)
        };
        let numeric_top = finite_difference(&mut top, |m| m, mse_of_top);
        assert_close(
            &format!("MSE {act:?} ∂L/∂h_{{M-1}}"),
            &analytic_top,
            &numeric_top,
        );
        let mut bp = small(sgd_one(units), 13);
        *bp.labels_mut() = target_copy;
        let before = bp.net.clone();
        bp.backprop_step(Gradient::Exact, &mut rng(1)).unwrap();
        assert_close(
            &format!("MSE {act:?} ∂L/∂W_M"),
            &(before.output.w - bp.net.output.w),
            &numeric,
        );
        assert_close(
            &format!("MSE {act:?} ∂L/∂W_1"),
            &(before.first.w - bp.net.first.w),
            &numeric_first,
        );
    }
}
