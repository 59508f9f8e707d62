//! Finite differences against every analytic gradient: the local forward loss, the inverse
//! reconstruction loss, the top-layer NLL (target and output layer) and backprop.
//! Norm-wise relative error < 1e-3 with f32 differences; < 2e-5 where the differences are
//! taken in f64 (every forward-step tensor of every unit type, the straight-through chain).
//! Bernoulli units are tested on fixed samples: the sampler is replayed from its seed.
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
    let n_h0_b = finite_difference(&mut t, |t| &mut t.net.hidden[0].b, loss);
    let n_h1 = finite_difference(&mut t, |t| &mut t.net.hidden[1].w, loss);
    let n_h1_b = finite_difference(&mut t, |t| &mut t.net.hidden[1].b, loss);
    let n_out = finite_difference(&mut t, |t| &mut t.net.output.w, loss);
    let n_out_b = finite_difference(&mut t, |t| &mut t.net.output.b, loss);
    let before = t.net.clone();
    t.backprop_step(Gradient::Exact, &mut rng(1)).unwrap();
    assert_close("∂L/∂W_1", &(before.first.w - t.net.first.w), &n_first);
    assert_close("∂L/∂b_1", &(before.first.b - t.net.first.b), &n_first_b);
    assert_close("∂L/∂W_2", &(before.hidden[0].w - t.net.hidden[0].w), &n_h0);
    assert_close(
        "∂L/∂b_2",
        &(before.hidden[0].b - t.net.hidden[0].b),
        &n_h0_b,
    );
    assert_close("∂L/∂W_3", &(before.hidden[1].w - t.net.hidden[1].w), &n_h1);
    assert_close(
        "∂L/∂b_3",
        &(before.hidden[1].b - t.net.hidden[1].b),
        &n_h1_b,
    );
    assert_close("∂L/∂W_4", &(before.output.w - t.net.output.w), &n_out);
    assert_close("∂L/∂b_4", &(before.output.b - t.net.output.b), &n_out_b);
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

// ---- every tensor, every unit type, straight-through by hand ---------------------------------

/// What each layer of `t` read in its last forward pass, replayed: `q(h_1)` and `q(h_2)` read
/// by layers 2 and 3, `q(h_3)` read by the output layer. The forward pass draws its Bernoulli
/// samples from `rng(seed)` in exactly this order (no input noise: `σ = 0` draws nothing), so
/// replaying the same seed gives the same samples.
fn replayed_reads(t: &Small, seed: u64) -> [Mat<4, 3>; 3] {
    let u = t.config().units;
    let h = t.activations();
    let mut r = rng(seed);
    let mut reads = [Mat::<4, 3>::zeros(); 3];
    for k in 0..3 {
        let q = if k == 2 { u.into_output } else { u.between };
        q.apply(h[k].as_slice(), reads[k].as_mut_slice(), &mut r);
    }
    reads
}

/// `s'` from the output `h = s(a)`, written out here rather than taken from the core.
fn slope(act: Activation, h: f32) -> f32 {
    match act {
        Activation::Tanh => 1.0 - h * h,
        Activation::Sigmoid => h * (1.0 - h),
        Activation::Linear => 1.0,
    }
}

/// Every forward tensor's gradient: `[W_1, b_1, W_2, b_2, W_3, b_3, W_4, b_4]` as slices.
type Grads = Vec<Vec<f32>>;

type SmallNet = dtp_core::Net<dtp_core::Fixed<5, 4, 3, 2>>;

fn forward_tensors(net: &SmallNet) -> Grads {
    let mut out = Vec::new();
    net.for_each_slice(|s| out.push(s.to_vec()));
    out.truncate(8);
    out
}

const NAMES: [&str; 8] = ["W_1", "b_1", "W_2", "b_2", "W_3", "b_3", "W_4", "b_4"];

/// The learning rate of [`sgd_big`]: a power of two, so `−LR·g` is exact and the step
/// `θ − LR·g` is large against `θ`, and `(θ_before − θ_after)/LR` gives `g` to about one
/// rounding of `g` itself (with lr 1 the subtraction from `θ` would cost `ε|θ|/|g|`).
const LR: f32 = 1024.0;

/// Plain SGD without momentum at learning rate [`LR`] for the forward layers.
fn sgd_big(units: Units) -> dtp_core::Config {
    let mut c = sgd_one(units);
    c.forward = dtp_core::Optimiser::sgd(LR, 0.0);
    c
}

/// The gradient an SGD step at learning rate [`LR`] applied to every forward tensor:
/// `(θ_before − θ_after)/LR`.
fn steps(before: &SmallNet, after: &SmallNet) -> Grads {
    forward_tensors(before)
        .into_iter()
        .zip(forward_tensors(after))
        .map(|(b, a)| b.iter().zip(&a).map(|(x, y)| (x - y) / LR).collect())
        .collect()
}

/// Backprop written out by hand from the chain rule, at the network of `t` after its forward
/// pass: `δ_4 = (p − t)/B`; then downward `∂L/∂q(h_k) = W_{k+1}ᵀ δ_{k+1}`,
/// `δ_k = ∂L/∂q(h_k) · q'_k ⊙ s'(h_k)`, `∂L/∂W_k = δ_k q(h_{k-1})ᵀ`, `∂L/∂b_k = Σ_b δ_k`.
/// `q_prime[k]` is the derivative taken through the quantiser that reads `h_{k+1}`: 1 for
/// the identity and for the straight-through estimator.
fn hand_chain(
    t: &Small,
    x: &Mat<5, 3>,
    labels: &Mat<3, 3>,
    reads: &[Mat<4, 3>; 3],
    q_prime: [f32; 3],
) -> Grads {
    let act = t.config().units.hidden;
    let h = t.activations();
    let delta_out = (t.output() - labels) / 3.0;
    let mut grads = vec![Vec::new(); 8];
    grads[6] = (delta_out * reads[2].transpose()).as_slice().to_vec();
    grads[7] = delta_out.column_sum().as_slice().to_vec();
    // ∂L/∂q(h_3).
    let mut up = t.net.output.w.transpose() * delta_out;
    for k in (0..3).rev() {
        let delta = Mat::<4, 3>::from_fn(|r, c| up[(r, c)] * q_prime[k] * slope(act, h[k][(r, c)]));
        if k == 0 {
            grads[0] = (delta * x.transpose()).as_slice().to_vec();
        } else {
            grads[2 * k] = (delta * reads[k - 1].transpose()).as_slice().to_vec();
            up = t.net.hidden[k - 1].w.transpose() * delta;
        }
        grads[2 * k + 1] = delta.column_sum().as_slice().to_vec();
    }
    grads
}

/// The forward tensors of `net` in f64, in the order of [`NAMES`] (column-major).
fn tensors64(net: &SmallNet) -> Vec<Vec<f64>> {
    forward_tensors(net)
        .into_iter()
        .map(|t| t.into_iter().map(f64::from).collect())
        .collect()
}

type M64 = nalgebra::DMatrix<f64>;

fn m64<const R: usize, const C: usize>(m: &Mat<R, C>) -> M64 {
    M64::from_iterator(R, C, m.iter().map(|&v| f64::from(v)))
}

/// Layer `k` (0-based, 3 = output) of the f64 tensors applied to `input`: `s(W r + b)`.
fn layer64(p: &[Vec<f64>], k: usize, act: Activation, input: &M64) -> M64 {
    let rows = p[2 * k + 1].len();
    let w = M64::from_column_slice(rows, input.nrows(), &p[2 * k]);
    let mut z = w * input;
    for mut col in z.column_iter_mut() {
        for (v, b) in col.iter_mut().zip(&p[2 * k + 1]) {
            *v += b;
        }
    }
    z.map(|a| match act {
        Activation::Tanh => a.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-a).exp()),
        Activation::Linear => a,
    })
}

/// `−(1/B) Σ_b log softmax(z)[label_b]` in f64.
fn nll64(z: &M64, labels: &Mat<3, 3>) -> f64 {
    let mut total = 0.0;
    for (b, col) in z.column_iter().enumerate() {
        let max = col.max();
        let lse = max + col.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        for (k, v) in col.iter().enumerate() {
            total -= f64::from(labels[(k, b)]) * (v - lse);
        }
    }
    total / z.ncols() as f64
}

/// `(1/B) Σ_b ‖y_b − t_b‖²` in f64.
fn sq64(y: &M64, t: &M64) -> f64 {
    (y - t).norm_squared() / y.ncols() as f64
}

/// Central differences in f64 (`ε = 1e-5`, error ~1e-10 here) of `f` in every element of
/// tensor `i` of `p`.
fn fd64(p: &[Vec<f64>], i: usize, f: &dyn Fn(&[Vec<f64>]) -> f64) -> Vec<f32> {
    let mut p = p.to_vec();
    let eps = 1e-5;
    (0..p[i].len())
        .map(|e| {
            let v = p[i][e];
            p[i][e] = v + eps;
            let plus = f(&p);
            p[i][e] = v - eps;
            let minus = f(&p);
            p[i][e] = v;
            ((plus - minus) / (2.0 * eps)) as f32
        })
        .collect()
}

/// Norm-wise relative error below `tol`, on a gradient large enough to mean something.
#[track_caller]
fn assert_slices_close(what: &str, analytic: &[f32], reference: &[f32], tol: f32) -> f32 {
    let norm = reference.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!(norm > 1e-4, "{what}: gradient too small to test ({norm})");
    let e = rel_err(analytic, reference);
    assert!(
        e < tol,
        "{what}: relative error {e:e}\nanalytic  {analytic:?}\nreference {reference:?}"
    );
    e
}

/// `L` (in f64) of a network whose every quantiser is replaced by the identity plus a
/// constant offset, `q(h) ≈ h + (q(h⁰) − h⁰)` with `h⁰` the activations at the point tested:
/// its exact gradient there is the straight-through estimator's, and it is smooth, so finite
/// differences apply.
fn surrogate_loss(
    p: &[Vec<f64>],
    act: Activation,
    x: &M64,
    labels: &Mat<3, 3>,
    offsets: &[M64; 3],
) -> f64 {
    let mut read = x.clone();
    for k in 0..3 {
        read = layer64(p, k, act, &read) + &offsets[k];
    }
    nll64(&layer64(p, 3, Activation::Linear, &read), labels)
}

/// The straight-through baseline (a RESULTS.md row) is the chain rule with `q' = 1` through
/// every sign and Bernoulli read: every one of the eight forward tensors of one
/// `backprop_step` equals the chain written out by hand (`hand_chain`) on the same samples,
/// for the discrete, sign and stochastic wirings; with the exact gradient the same chain with
/// `q' = 0` below each quantiser. The hand chain is itself checked against finite differences
/// of the network whose quantisers are replaced by `h + (q(h⁰) − h⁰)`.
///
/// Measured: implementation vs hand chain ≤ 4.7e-7 norm-wise relative error (allowed 1e-5);
/// hand chain vs f64 finite differences ≤ 2.1e-6 (allowed 2e-5).
#[test]
fn straight_through_backprop_is_the_hand_computed_chain() {
    let mut worst = [0.0f32; 2];
    for units in [
        Units::CONTINUOUS,
        Units::DISCRETE,
        Units::SIGN,
        Units::STOCHASTIC,
    ] {
        let mut probe = small(sgd_one(units), 9);
        let x = *probe.batch_mut().0;
        let labels = *probe.labels_mut();
        probe.forward(true, &mut rng(1)).unwrap();
        let reads = replayed_reads(&probe, 1);
        let quantisers = [units.between, units.between, units.into_output];
        for gradient in [Gradient::StraightThrough, Gradient::Exact] {
            let q_prime = quantisers.map(|q| {
                if q.is_identity() || gradient == Gradient::StraightThrough {
                    1.0
                } else {
                    0.0
                }
            });
            let hand = hand_chain(&probe, &x, &labels, &reads, q_prime);
            let mut t = small(sgd_big(units), 9);
            let before = t.net.clone();
            t.backprop_step(gradient, &mut rng(1)).unwrap();
            let got = steps(&before, &t.net);
            for i in 0..8 {
                let what = format!("{units:?} {gradient:?} ∂L/∂{}", NAMES[i]);
                if hand[i].iter().all(|&v| v == 0.0) {
                    // No signal below an exact quantiser: the layer is left bit for bit.
                    assert!(got[i].iter().all(|&v| v == 0.0), "{what}: {:?}", got[i]);
                    assert_eq!(gradient, Gradient::Exact, "{what}: zero chain");
                    continue;
                }
                let e = assert_slices_close(&what, &got[i], &hand[i], 1e-5);
                worst[0] = worst[0].max(e);
            }
            if gradient == Gradient::StraightThrough {
                let offsets = [0, 1, 2].map(|k| m64(&reads[k]) - m64(&probe.activations()[k]));
                let (act, p, x64) = (units.hidden, tensors64(&probe.net), m64(&x));
                for i in 0..8 {
                    let numeric = fd64(&p, i, &|p| surrogate_loss(p, act, &x64, &labels, &offsets));
                    let what = format!("{units:?} hand chain ∂L/∂{} vs differences", NAMES[i]);
                    let e = assert_slices_close(&what, &hand[i], &numeric, 2e-5);
                    worst[1] = worst[1].max(e);
                }
            }
        }
    }
    eprintln!(
        "worst: implementation vs hand chain {:e}, hand chain vs differences {:e}",
        worst[0], worst[1]
    );
}

/// The forward step of every unit type moves each of the eight forward tensors by minus the
/// gradient of its own loss: a hidden layer's `(1/B) Σ ‖s(W q(h_{k-1}) + b) − ĥ_k‖²` with the
/// value it read and its target held, the output layer's `L` with `q(h_{M-1})` held. For
/// Bernoulli units the reads are the samples the forward pass drew (replayed from the same
/// seed), so the step must train on the samples, not on the probabilities.
///
/// Finite differences in f64 (central, ε = 1e-5); measured ≤ 2.2e-6 norm-wise relative error
/// (allowed 2e-5) over the 32 tensors.
#[test]
fn forward_step_gradients_of_every_tensor_and_unit_type() {
    let mut worst = 0.0f32;
    for units in [
        Units::CONTINUOUS,
        Units::DISCRETE,
        Units::SIGN,
        Units::STOCHASTIC,
    ] {
        let mut config = sgd_big(units);
        // Large enough to flip signs in the discrete nets, so every layer gets a target.
        config.eta_hat = if units.between == Quantiser::Sign {
            20.0
        } else {
            2.0
        };
        let mut t = small(config, 11);
        let x = *t.batch_mut().0;
        let labels = *t.labels_mut();
        t.forward(true, &mut rng(1)).unwrap();
        t.top_target().unwrap();
        t.difference_targets(&mut rng(2)).unwrap();
        let reads = replayed_reads(&t, 1);
        let targets = t.targets().clone();
        let before = t.net.clone();
        t.forward_step().unwrap();
        let got = steps(&before, &t.net);
        let act = units.hidden;
        let inputs = [m64(&x), m64(&reads[0]), m64(&reads[1]), m64(&reads[2])];
        let p = tensors64(&before);
        for i in 0..8 {
            let k = i / 2;
            let numeric = fd64(&p, i, &|p| {
                if k < 3 {
                    sq64(&layer64(p, k, act, &inputs[k]), &m64(&targets[k]))
                } else {
                    nll64(&layer64(p, 3, Activation::Linear, &inputs[3]), &labels)
                }
            });
            let what = format!("{units:?} forward step ∂/∂{}", NAMES[i]);
            worst = worst.max(assert_slices_close(&what, &got[i], &numeric, 2e-5));
        }
    }
    eprintln!("worst relative error {worst:e}");
}

/// Bernoulli units in the output layer's step, with the sampler seeded so that every
/// evaluation of `L` draws the same samples: the step on `(W_M, b_M)` is minus the gradient
/// of `L` at the samples of the forward pass; and the top target of a sampled last layer is
/// `h − η̂ ∂L/∂q(h)`, the gradient taken at the sample the output layer read.
#[test]
fn sampled_units_output_step_and_top_target_follow_the_nll() {
    let mut t = small(sgd_one(Units::STOCHASTIC), 5);
    let loss_at = |t: &mut Small| t.evaluate(&mut rng(1)).unwrap().loss;
    let numeric = finite_difference(&mut t, |t| &mut t.net.output.w, loss_at);
    let numeric_b = finite_difference(&mut t, |t| &mut t.net.output.b, loss_at);
    // The samples are those of the forward pass below, whatever W_M: replaying seed 1 after a
    // forward pass gives them.
    t.forward(true, &mut rng(1)).unwrap();
    let reads = replayed_reads(&t, 1);
    assert!(
        reads[2].iter().any(|&v| v == 0.0) && reads[2].iter().any(|&v| v == 1.0),
        "both outcomes drawn: {}",
        reads[2]
    );
    t.top_target().unwrap();
    let analytic_top = t.activations()[2] - t.targets()[2];
    let mut sample = reads[2];
    let numeric_top = finite_difference(&mut sample, |m| m, |m| nll_of_top(&t, m));
    assert_close("∂L/∂q(h_3) at the sample", &analytic_top, &numeric_top);
    let before = t.net.output.clone();
    t.forward_only(&mut rng(1)).unwrap();
    assert_close("sampled ∂L/∂W_M", &(before.w - t.net.output.w), &numeric);
    assert_close("sampled ∂L/∂b_M", &(before.b - t.net.output.b), &numeric_b);
}

/// The inverse loss of a stochastic net, `(1/B) Σ ‖g(f(s)) − h‖²` with `s` the Bernoulli
/// sample of `h̃ = h` (σ = 0) that the inverse step drew (replayed from its seed): the step on
/// `(V, c)` is minus its gradient, with the samples fixed.
#[test]
fn inverse_loss_gradient_with_bernoulli_samples() {
    let units = Units::STOCHASTIC;
    let mut t = small(sgd_one(units), 3);
    t.forward(true, &mut rng(1)).unwrap();
    let h = t.activations().clone();
    let before = t.net.clone();
    t.inverse_step(0.0, &mut rng(2)).unwrap();
    // The step draws q(h̃_1) for g_2, then q(h̃_2) for g_3, from its rng.
    let mut r = rng(2);
    let samples = [0, 1].map(|k| {
        let mut s = Mat::<4, 3>::zeros();
        Quantiser::Bernoulli.apply(h[k].as_slice(), s.as_mut_slice(), &mut r);
        s
    });
    for k in 0..2 {
        let mut f = Mat::<4, 3>::zeros();
        before.hidden[k].forward::<Portable, Const<3>>(units.hidden, &samples[k], &mut f);
        let reconstruction = |g: &mut FixedDense<4, 4>| local_loss(g, units.inverse, &f, &h[k]);
        assert!(
            (t.inverse_loss[k] - reconstruction(&mut before.inverse[k].clone())).abs() < 1e-5,
            "g_{}: reported loss",
            k + 2
        );
        let mut g = before.inverse[k].clone();
        let fv = finite_difference(&mut g, |g| &mut g.w, reconstruction);
        let fc = finite_difference(&mut g, |g| &mut g.b, reconstruction);
        let gv = before.inverse[k].w - t.net.inverse[k].w;
        let gc = before.inverse[k].b - t.net.inverse[k].b;
        assert_close(&format!("sampled ∂/∂V_{}", k + 2), &gv, &fv);
        assert_close(&format!("sampled ∂/∂c_{}", k + 2), &gc, &fc);
    }
}
