//! Convolutional layers (`dtp_core::conv`): the products against direct loops, the transposed
//! convolution as the adjoint, finite differences of every local loss, of the inverses'
//! reconstruction loss (DTP's and DRL's) and of backprop's gradient, the difference-target
//! identity, the 1×1 convolution as the dense layer (DRL too), and DTP learning the 8×8 digits through a
//! convolution beyond its `η̂ = 0` control.

mod common;

use common::conv_digits::{CONV8, digits_run_of};

use common::conv_nets::{
    Random, SHAPES, SMALL, SMALL_NETS, assert_adjoint, assert_close, close, close_to, config,
    fill_random, numeric, one_by_one_twin, random, small_net, small_net_of, small_trainer,
    small_trainer_of,
};

use dtp_core::conv::{ConvNet, ConvShape, ConvTrainer, DMat, Kind, Layer, LayerSpec};
use dtp_core::{
    Activation, Batches, Config, DynTrainer, Init, Optimiser, Portable, Schedule, SigmaSchedule,
};
use rand_pcg::Pcg32;

/// The convolution written as its definition: `z[b, o, y', x'] = b_o + Σ_{c, ky, kx}
/// W[o, (c·k + ky)·k + kx] · x[b, c, y'·s + ky − p, x'·s + kx − p]` (zero outside).
fn direct_conv(s: &ConvShape, w: &DMat, bias: &[f32], x: &DMat) -> Vec<f32> {
    let (oh, ow) = (s.out_height(), s.out_width());
    let mut out = vec![0.0f32; s.outputs() * x.ncols()];
    for b in 0..x.ncols() {
        for o in 0..s.channels_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut sum = f64::from(bias[o]);
                    for c in 0..s.channels_in {
                        for ky in 0..s.kernel {
                            for kx in 0..s.kernel {
                                let iy = (oy * s.stride + ky) as isize - s.padding as isize;
                                let ix = (ox * s.stride + kx) as isize - s.padding as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= s.height as isize
                                    || ix >= s.width as isize
                                {
                                    continue;
                                }
                                let v = x[(
                                    c * s.height * s.width + iy as usize * s.width + ix as usize,
                                    b,
                                )];
                                let r = (c * s.kernel + ky) * s.kernel + kx;
                                sum += f64::from(w[(o, r)]) * f64::from(v);
                            }
                        }
                    }
                    out[b * s.outputs() + o * oh * ow + oy * ow + ox] = sum as f32;
                }
            }
        }
    }
    out
}

/// The transposed convolution written as its definition (a scatter): every input
/// `h[b, o, y', x']` adds `V[(c·k + ky)·k + kx, o] · h` to output `(c, y'·s + ky − p,
/// x'·s + kx − p)`, then `c_c` is added to every position of channel `c`.
fn direct_conv_transpose(s: &ConvShape, v: &DMat, bias: &[f32], h: &DMat) -> Vec<f32> {
    let (oh, ow) = (s.out_height(), s.out_width());
    let mut out = vec![0.0f64; s.inputs() * h.ncols()];
    for b in 0..h.ncols() {
        for o in 0..s.channels_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let hv = f64::from(h[(o * oh * ow + oy * ow + ox, b)]);
                    for c in 0..s.channels_in {
                        for ky in 0..s.kernel {
                            for kx in 0..s.kernel {
                                let iy = (oy * s.stride + ky) as isize - s.padding as isize;
                                let ix = (ox * s.stride + kx) as isize - s.padding as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= s.height as isize
                                    || ix >= s.width as isize
                                {
                                    continue;
                                }
                                let r = (c * s.kernel + ky) * s.kernel + kx;
                                let at = b * s.inputs()
                                    + c * s.height * s.width
                                    + iy as usize * s.width
                                    + ix as usize;
                                out[at] += f64::from(v[(r, o)]) * hv;
                            }
                        }
                    }
                }
            }
        }
        for c in 0..s.channels_in {
            for e in 0..s.height * s.width {
                out[b * s.inputs() + c * s.height * s.width + e] += f64::from(bias[c]);
            }
        }
    }
    out.into_iter().map(|v| v as f32).collect()
}

/// The im2col products (`Layer::forward` of a convolution and of a transposed convolution)
/// give the definitions' numbers, for every geometry of [`SHAPES`].
#[test]
fn convolutions_match_their_definitions() {
    let mut rng = Pcg32::new(3, 1);
    for s in SHAPES {
        s.check().unwrap();
        let batch = 3;
        let mut conv = Layer::conv(s);
        fill_random(conv.params.w.as_mut_slice(), 1.0, &mut rng);
        fill_random(conv.params.b.as_mut_slice(), 1.0, &mut rng);
        let x = random(s.inputs(), batch, &mut rng);
        let mut y = DMat::zeros(0, 0);
        conv.forward::<Portable>(Activation::Linear, &x, &mut y);
        assert_eq!(y.shape(), (s.outputs(), batch));
        let want = direct_conv(&s, &conv.params.w, conv.params.b.as_slice(), &x);
        assert_close(&format!("conv {s:?}"), y.as_slice(), &want, 1e-5);

        let mut inverse = Layer::conv_transpose(s);
        assert_eq!(
            (inverse.inputs(), inverse.outputs()),
            (s.outputs(), s.inputs())
        );
        fill_random(inverse.params.w.as_mut_slice(), 1.0, &mut rng);
        fill_random(inverse.params.b.as_mut_slice(), 1.0, &mut rng);
        let h = random(s.outputs(), batch, &mut rng);
        let mut g = DMat::zeros(0, 0);
        inverse.forward::<Portable>(Activation::Linear, &h, &mut g);
        let want = direct_conv_transpose(&s, &inverse.params.w, inverse.params.b.as_slice(), &h);
        assert_close(&format!("transposed conv {s:?}"), g.as_slice(), &want, 1e-5);
    }
}

/// With `V = Wᵀ` and no bias, the transposed convolution is the adjoint of the convolution:
/// `⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩`; and `Layer::input_gradient` of either is the other.
#[test]
fn transposed_convolution_is_the_adjoint() {
    let mut rng = Pcg32::new(4, 1);
    for s in SHAPES {
        let mut conv = Layer::conv(s);
        fill_random(conv.params.w.as_mut_slice(), 1.0, &mut rng);
        let mut transpose = Layer::conv_transpose(s);
        transpose.params.w = conv.params.w.transpose();
        assert_adjoint(&s, &conv, &transpose, &mut rng);
    }
}

/// `(1/B) Σ ‖s(f(x)) − t‖²` of a layer.
fn local_loss(layer: &Layer, act: Activation, x: &DMat, t: &DMat) -> f64 {
    let mut y = DMat::zeros(0, 0);
    layer.forward::<Portable>(act, x, &mut y);
    let sum: f64 = y
        .iter()
        .zip(t.iter())
        .map(|(&y, &t)| f64::from(y - t).powi(2))
        .sum();
    sum / x.ncols() as f64
}

/// Step 5's gradients (every hidden layer's local loss, convolutions and dense layers, weights
/// and biases; the output layer's `L`) against finite differences of the losses themselves,
/// with the inputs `h_{i-1}` and the targets `ĥ_i` held constant.
#[test]
fn local_loss_gradients_match_finite_differences() {
    for specs in SMALL_NETS {
        local_loss_gradients_match(specs);
    }
}

fn local_loss_gradients_match(specs: &[LayerSpec]) {
    let (mut t, mut rng) = small_trainer_of(specs, 5, config());
    t.forward_pass(false, &mut rng).unwrap();
    t.top_target().unwrap();
    t.difference_targets().unwrap();
    t.local_gradients();
    let m = t.net.forward.len();
    let x = t.batch_mut().0.clone();
    for i in 1..m {
        let input = if i == 1 {
            x.clone()
        } else {
            t.activations()[i - 2].clone()
        };
        let target = t.targets()[i - 1].clone();
        let mut layer = t.net.forward[i - 1].clone();
        let analytic_loss = t.local_loss[i - 1];
        let direct = local_loss(&layer, Activation::Tanh, &input, &target) as f32;
        assert!(
            (analytic_loss - direct).abs() <= 1e-5 * (1.0 + direct),
            "layer {i} loss"
        );
        let mut w = layer.params.w.as_slice().to_vec();
        let num = numeric(&mut w, &mut |w| {
            layer.params.w.as_mut_slice().copy_from_slice(w);
            local_loss(&layer, Activation::Tanh, &input, &target)
        });
        layer.params.w.as_mut_slice().copy_from_slice(&w);
        close(
            &format!("f{i} weight"),
            t.grad_forward[i - 1].w.as_slice(),
            &num,
        );
        let mut b = layer.params.b.as_slice().to_vec();
        let num = numeric(&mut b, &mut |b| {
            layer.params.b.as_mut_slice().copy_from_slice(b);
            local_loss(&layer, Activation::Tanh, &input, &target)
        });
        close(
            &format!("f{i} bias"),
            t.grad_forward[i - 1].b.as_slice(),
            &num,
        );
    }
    // The output layer: L with h_{M-1} held constant.
    let mut w = t.net.forward[m - 1].params.w.as_slice().to_vec();
    let labels = t.batch_mut().1.clone();
    let h = t.activations()[m - 2].clone();
    let mut output = t.net.forward[m - 1].clone();
    let num = numeric(&mut w, &mut |w| {
        output.params.w.as_mut_slice().copy_from_slice(w);
        nll(&output, &h, &labels)
    });
    close("output weight", t.grad_forward[m - 1].w.as_slice(), &num);
}

/// `L = −(1/B) Σ_b log softmax(W h + b)_{label}` of the output layer.
fn nll(output: &Layer, h: &DMat, labels: &DMat) -> f64 {
    let mut z = DMat::zeros(0, 0);
    output.forward::<Portable>(Activation::Linear, h, &mut z);
    let mut sum = 0.0;
    for b in 0..z.ncols() {
        let column: Vec<f64> = z.column(b).iter().map(|&v| f64::from(v)).collect();
        let max = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_norm = max + column.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        for (k, &v) in column.iter().enumerate() {
            sum -= f64::from(labels[(k, b)]) * (v - log_norm);
        }
    }
    sum / z.ncols() as f64
}

/// Step 4's gradient of each inverse (the transposed convolution `g_2` and the dense `g_3`):
/// finite differences of the loss the trainer itself reports, the same noise `ε` drawn for
/// every evaluation — DTP's reconstruction loss `(1/B) Σ ‖g_i(f_i(h̃)) − h̃‖²` and DRL's
/// difference reconstruction loss (`g_2`'s carried up to `h_3` and back down through `g_3`).
#[test]
fn inverse_reconstruction_gradients_match_finite_differences() {
    for feedback in [dtp_core::Feedback::Dtp, dtp_core::Feedback::Drl] {
        let c = Config {
            feedback,
            ..config()
        };
        for specs in SMALL_NETS {
            let (mut t, mut rng) = small_trainer_of(specs, 6, c);
            t.forward_pass(false, &mut rng).unwrap();
            inverse_gradients_match_finite_differences(&mut t);
        }
    }
}

fn inverse_gradients_match_finite_differences(t: &mut ConvTrainer) {
    for i in 2..t.net.forward.len() {
        let noise = Pcg32::new(77, i as u64);
        t.inverse_gradient(i, 0.3, &mut noise.clone());
        let analytic = t.grad_inverse[i - 2].clone();
        for part in 0..2 {
            let mut values = if part == 0 {
                t.net.inverse[i - 2].params.w.as_slice().to_vec()
            } else {
                t.net.inverse[i - 2].params.b.as_slice().to_vec()
            };
            let num = numeric(&mut values, &mut |v| {
                let p = &mut t.net.inverse[i - 2].params;
                if part == 0 {
                    p.w.as_mut_slice().copy_from_slice(v);
                } else {
                    p.b.as_mut_slice().copy_from_slice(v);
                }
                f64::from(t.inverse_gradient(i, 0.3, &mut noise.clone()))
            });
            let rule = t.config().feedback;
            let p = &mut t.net.inverse[i - 2].params;
            if part == 0 {
                p.w.as_mut_slice().copy_from_slice(&values);
                close(
                    &format!("{rule:?} g{i} weight"),
                    analytic.w.as_slice(),
                    &num,
                );
            } else {
                p.b.as_mut_slice().copy_from_slice(&values);
                // DRL's bias terms nearly cancel in g(ĥ) − g(h): a gradient ≈ 25× smaller than
                // the weights' against an f32 loss of the same size, so the differences carry
                // ≈ 0.5 % of rounding; the 1×1 parity test below holds them to 1e-4.
                let tol = if rule == dtp_core::Feedback::Drl {
                    1e-2
                } else {
                    2e-3
                };
                close_to(
                    &format!("{rule:?} g{i} bias"),
                    analytic.b.as_slice(),
                    &num,
                    tol,
                );
            }
        }
    }
}

/// DRL through 1×1 convolutions is the dense DRL (`Trainer::drl_step`, whose loss has its own
/// finite-difference and definition tests): `64x1x1-c32k1-c24k1-c16k1-10` against `DynTrainer`
/// 64-32-24-16-10 with the same weights, noise stream and batch — each inverse's loss and
/// gradient to 1e-5 (relative), `g_2`'s carried up to `h_3` and back down through `g_3`.
#[test]
fn drl_through_one_by_one_convolutions_is_the_dense_drl() {
    let c = Config {
        feedback: dtp_core::Feedback::Drl,
        ..config()
    };
    let mut rng = Pcg32::new(3, 9);
    let (mut dense, mut net) = one_by_one_twin(c, &mut rng);
    for k in 0..2 {
        // The transposed 1×1 convolution adds its bias after the product, like the dense
        // inverse: give both the same (non-zero) biases.
        fill_random(dense.net.inverse[k].b.as_mut_slice(), 0.3, &mut rng);
        net.inverse[k].params = dense.net.inverse[k].clone();
    }
    let mut conv = ConvTrainer::<Portable>::new(net, 4, c).unwrap();
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
    let mut noise = Pcg32::new(8, 8);
    let before: Vec<_> = dense.net.inverse.to_vec();
    dense
        .set_config(Config {
            inverse: Optimiser::sgd(1.0, 0.0),
            ..c
        })
        .unwrap();
    dense.drl_step(0.3, &mut noise.clone()).unwrap();
    for i in 2..4 {
        let loss = conv.inverse_gradient(i, 0.3, &mut noise);
        let want = dense.inverse_loss[i - 2];
        assert!(
            (loss - want).abs() <= 1e-5 * want,
            "g{i}: loss {loss} vs dense {want}"
        );
        // SGD at rate 1: the dense step is minus the gradient.
        let step = &before[i - 2].w - &dense.net.inverse[i - 2].w;
        assert_close(
            &format!("g{i} weight gradient"),
            conv.grad_inverse[i - 2].w.as_slice(),
            step.as_slice(),
            1e-4,
        );
        let step = &before[i - 2].b - &dense.net.inverse[i - 2].b;
        assert_close(
            &format!("g{i} bias gradient"),
            conv.grad_inverse[i - 2].b.as_slice(),
            step.as_slice(),
            1e-4,
        );
    }
}

/// Backprop's gradient in every forward parameter (two convolutions, two dense layers)
/// against finite differences of `L` through the whole network.
#[test]
fn backprop_gradient_matches_finite_differences() {
    for specs in SMALL_NETS {
        backprop_gradient_matches(specs);
    }
}

fn backprop_gradient_matches(specs: &[LayerSpec]) {
    let (mut t, mut rng) = small_trainer_of(specs, 7, config());
    t.forward_pass(false, &mut rng).unwrap();
    t.backprop_gradients();
    let analytic = t.grad_forward.clone();
    for i in 1..=t.net.forward.len() {
        for part in 0..2 {
            let get = |t: &ConvTrainer| {
                let p = &t.net.forward[i - 1].params;
                if part == 0 {
                    p.w.as_slice().to_vec()
                } else {
                    p.b.as_slice().to_vec()
                }
            };
            let mut values = get(&t);
            let num = numeric(&mut values, &mut |v| {
                let p = &mut t.net.forward[i - 1].params;
                if part == 0 {
                    p.w.as_mut_slice().copy_from_slice(v);
                } else {
                    p.b.as_mut_slice().copy_from_slice(v);
                }
                let mut r = Pcg32::new(0, 0);
                f64::from(t.forward_pass(false, &mut r).unwrap().loss)
            });
            let p = &mut t.net.forward[i - 1].params;
            let want = if part == 0 {
                p.w.as_mut_slice().copy_from_slice(&values);
                analytic[i - 1].w.as_slice()
            } else {
                p.b.as_mut_slice().copy_from_slice(&values);
                analytic[i - 1].b.as_slice()
            };
            close(&format!("f{i} part {part}"), want, &num);
        }
    }
}

/// Step 3 through the transposed convolution: with `ĥ_{M-1} = h_{M-1}` (η̂ = 0) every target
/// equals its activation bit for bit; with a top target moved by `Δ`, each target below is
/// `h_{i-1} + g_i(ĥ_i) − g_i(h_i)`, computed here from the layers directly.
#[test]
fn difference_targets_through_the_transposed_convolution() {
    for specs in SMALL_NETS {
        difference_targets_through(specs);
    }
}

fn difference_targets_through(specs: &[LayerSpec]) {
    let (mut t, mut rng) = small_trainer_of(
        specs,
        8,
        Config {
            eta_hat: 0.0,
            ..config()
        },
    );
    // Inverses that are not the forward layers' adjoints: a few feedback steps first.
    t.forward_pass(true, &mut rng).unwrap();
    for _ in 0..3 {
        t.feedback_step(0.3, &mut rng).unwrap();
    }
    t.forward_pass(false, &mut rng).unwrap();
    t.top_target().unwrap();
    t.difference_targets().unwrap();
    for (k, (target, h)) in t.targets().iter().zip(t.activations()).enumerate() {
        assert_eq!(target, h, "ĥ_{} ≠ h_{} with η̂ = 0", k + 1, k + 1);
    }
    let top = t.activations().len() - 1;
    let delta = random(t.activations()[top].nrows(), 3, &mut rng) * 0.2;
    t.targets_mut()[top] = &t.activations()[top] + &delta;
    t.difference_targets().unwrap();
    for i in (2..t.net.forward.len()).rev() {
        let g = &t.net.inverse[i - 2];
        let (mut gt, mut gh) = (DMat::zeros(0, 0), DMat::zeros(0, 0));
        g.forward::<Portable>(Activation::Tanh, &t.targets()[i - 1], &mut gt);
        g.forward::<Portable>(Activation::Tanh, &t.activations()[i - 1], &mut gh);
        let want = &t.activations()[i - 2] + (gt - gh);
        assert_close(
            &format!("ĥ_{}", i - 1),
            t.targets()[i - 2].as_slice(),
            want.as_slice(),
            1e-6,
        );
        assert_ne!(t.targets()[i - 2], t.activations()[i - 2]);
    }
}

/// A network of 1×1 convolutions over `C×1×1` images is the dense network of the same widths:
/// `64x1x1-c32k1-c16k1-10` against `DynTrainer` 64-32-16-10 with the same weights, config and
/// random stream, after a few DTP steps and a backprop step.
#[test]
fn one_by_one_convolutions_are_the_dense_network() {
    let c = Config {
        schedule: Schedule::Interleaved,
        ..config()
    };
    let mut rng = Pcg32::new(9, 9);
    let mut dense = DynTrainer::<Portable>::with_widths(&[64, 32, 16, 10], 4).unwrap();
    dense.init(c, Init::Orthogonal, &mut rng).unwrap();
    let specs = [
        LayerSpec::Conv {
            channels: 32,
            kernel: 1,
            stride: 1,
            padding: 0,
        },
        LayerSpec::Conv {
            channels: 16,
            kernel: 1,
            stride: 1,
            padding: 0,
        },
        LayerSpec::Dense(10),
    ];
    let mut net = ConvNet::new((64, 1, 1), &specs).unwrap();
    net.forward[0].params = dense.net.first.clone();
    net.forward[1].params = dense.net.hidden[0].clone();
    net.forward[2].params = dense.net.output.clone();
    net.inverse[0].params = dense.net.inverse[0].clone();
    let mut conv = ConvTrainer::<Portable>::new(net, 4, c).unwrap();
    let mut data = Pcg32::new(1, 1);
    let (x, labels) = dense.batch_mut();
    fill_random(x.as_mut_slice(), 1.0, &mut data);
    labels.fill(0.0);
    for b in 0..4 {
        labels[(b * 3 % 10, b)] = 1.0;
    }
    let (cx, cl) = conv.batch_mut();
    cx.as_mut_slice()
        .copy_from_slice(dense.input_mut().as_slice());
    cl.as_mut_slice()
        .copy_from_slice(dense.labels_mut().as_slice());
    let (mut r1, mut r2) = (Pcg32::new(5, 5), Pcg32::new(5, 5));
    // The forward layers' products are the dense products: the same bits.
    dense.evaluate(&mut r1).unwrap();
    conv.evaluate(&mut r2).unwrap();
    for (d, c) in dense.activations().iter().zip(conv.activations()) {
        assert_eq!(d.as_slice(), c.as_slice());
    }
    assert_eq!(dense.output().as_slice(), conv.output().as_slice());
    // Then the same training to rounding (the transposed convolution adds its bias after the
    // product, the dense inverse before).
    for _ in 0..3 {
        let a = dense.step(&mut r1).unwrap();
        let b = conv.step(&mut r2).unwrap();
        assert!(
            (a.loss - b.loss).abs() <= 1e-6 * a.loss,
            "{} vs {}",
            a.loss,
            b.loss
        );
    }
    dense
        .backprop_step(dtp_core::Gradient::Exact, &mut r1)
        .unwrap();
    conv.backprop_step(&mut r2).unwrap();
    let pairs = [
        (&dense.net.first, &conv.net.forward[0].params),
        (&dense.net.hidden[0], &conv.net.forward[1].params),
        (&dense.net.output, &conv.net.forward[2].params),
        (&dense.net.inverse[0], &conv.net.inverse[0].params),
    ];
    for (n, (d, c)) in pairs.into_iter().enumerate() {
        assert_close(
            &format!("layer {n} weight"),
            c.w.as_slice(),
            d.w.as_slice(),
            1e-5,
        );
        assert_close(
            &format!("layer {n} bias"),
            c.b.as_slice(),
            d.b.as_slice(),
            1e-5,
        );
    }
}

/// `1x8x8-c8k3s1p1-64-10` on the digits ([`digits_run_of`]).
fn digits_run(c: Config, seed: u64, backprop: bool) -> (f32, f32, bool) {
    digits_run_of(CONV8, c, seed, backprop)
}

/// DTP through a convolution learns the 8×8 digits beyond its `η̂ = 0` control (the same
/// code, seeds and stream; every target then equals its activation, so the convolution and
/// the dense hidden layer keep their random weights and only the output layer learns) and
/// beyond the same run with the convolution frozen (so the convolution's own learning, from
/// targets through the dense inverse `g_2`, adds to the fit); backprop on the same network
/// learns too.
///
/// Measured (`cargo test -p dtp-tests --test conv learns -- --nocapture`), seeds
/// 1–3, 10 epochs, minibatches of 10: test accuracy DTP 96.0–96.9 %, η̂ = 0 control
/// 90.9–92.7 %, convolution frozen 95.1–95.6 %; training loss DTP / control 0.067–0.100,
/// DTP / convolution frozen 0.47–0.55; backprop 96.7 %.
#[test]
fn conv_dtp_learns_the_digits_beyond_its_control() {
    let c = config();
    let (mut gaps, mut ratios) = (Vec::new(), Vec::new());
    for seed in [1, 2, 3] {
        let (dtp, dtp_loss, moved) = digits_run(c, seed, false);
        let (ctl, ctl_loss, ctl_moved) = digits_run(Config { eta_hat: 0.0, ..c }, seed, false);
        let frozen = dtp_core::LayerSet::NONE.with(1);
        let (fro, fro_loss, _) = digits_run(Config { frozen, ..c }, seed, false);
        println!("seed {seed}: convolution frozen: test {fro:.4} train loss {fro_loss:.4}");
        assert!(
            dtp_loss <= 0.75 * fro_loss,
            "seed {seed}: the convolution's learning adds nothing: training loss {dtp_loss} vs \
             {fro_loss} with it frozen"
        );
        println!(
            "seed {seed}: DTP test {dtp:.4} train loss {dtp_loss:.4}; η̂ = 0 control test {ctl:.4} \
             train loss {ctl_loss:.4}"
        );
        assert!(moved && !ctl_moved, "the convolution learns under DTP only");
        assert!(dtp >= 0.90, "seed {seed}: DTP test accuracy {dtp}");
        gaps.push(dtp - ctl);
        ratios.push(dtp_loss / ctl_loss);
    }
    let gap = gaps.iter().sum::<f32>() / gaps.len() as f32;
    let ratio = ratios.iter().sum::<f32>() / ratios.len() as f32;
    println!("mean test gap {gap:.4}, mean training-loss ratio {ratio:.3}");
    // Measured (seeds 1–3): test gap 4.2–5.1 points (mean 4.5), training-loss ratio
    // 0.067–0.100 (mean 0.079). Margins: mean gap ≥ 2 points, every ratio ≤ 0.3.
    assert!(gap >= 0.02, "mean test gap over the control {gap}");
    assert!(
        ratios.iter().all(|&r| r <= 0.3),
        "training loss ratios {ratios:?}"
    );
    let (bp, bp_loss, _) = digits_run(c, 1, true);
    println!("backprop: test {bp:.4} train loss {bp_loss:.4}");
    assert!(bp >= 0.90, "backprop test accuracy {bp}");
}

/// DTP with DRL's feedback step through a convolution learns the digits beyond its `η̂ = 0`
/// control (`digits_run`'s net, seeds 1–3, σ = 0.0569, Meulemans et al.'s DRL setting).
///
/// Measured: test accuracy 95.3–95.8 % against the control's 90.9–92.7 % (mean gap 3.7
/// points), training loss 0.025–0.039 against 0.22–0.25. Bars: mean gap ≥ 2 points, each
/// loss ratio ≤ 0.3.
#[test]
fn conv_drl_learns_the_digits_beyond_its_control() {
    let c = Config {
        feedback: dtp_core::Feedback::Drl,
        sigma: SigmaSchedule::constant(0.0569),
        ..config()
    };
    let mut gaps = Vec::new();
    for seed in [1, 2, 3] {
        let (drl, drl_loss, moved) = digits_run(c, seed, false);
        let (ctl, ctl_loss, _) = digits_run(Config { eta_hat: 0.0, ..c }, seed, false);
        println!(
            "seed {seed}: DRL test {drl:.4} train loss {drl_loss:.4}; η̂ = 0 control test \
             {ctl:.4} train loss {ctl_loss:.4}"
        );
        assert!(moved, "seed {seed}: the convolution did not learn");
        assert!(
            drl_loss <= 0.3 * ctl_loss,
            "seed {seed}: training loss {drl_loss} vs {ctl_loss}"
        );
        gaps.push(drl - ctl);
    }
    let gap = gaps.iter().sum::<f32>() / gaps.len() as f32;
    println!("mean test gap {gap:.4}");
    assert!(gap >= 0.02, "mean test gap over the control {gap}");
}

/// DDTP-linear and DDTP-RHL through a convolution learn the digits beyond their `η̂ = 0`
/// controls (`digits_run`'s net, seeds 1–3): each hidden layer, the convolution's 8×8×8 units
/// included, takes its target from the output through its own `Q_i` (σ = 0.1; η̂ = 0.5 for
/// DDTP-linear, 2 for DDTP-RHL, whose targets move less through the random layer).
///
/// Measured: DDTP-linear test accuracy 94.9–95.1 % against the control's 90.9–92.7 % (mean gap
/// 3.0 points), training loss 0.090–0.091 against 0.22–0.25 (ratio 0.36–0.41); DDTP-RHL
/// 92.7–95.1 % (mean gap 2.2 points), training loss 0.087–0.123 (ratio 0.34–0.50). Bars: mean
/// gap ≥ 1.5 points, each loss ratio ≤ 0.6.
#[test]
fn conv_ddtp_learns_the_digits_beyond_its_control() {
    for rule in [dtp_core::Feedback::DdtpLinear, dtp_core::Feedback::DdtpRhl] {
        let c = Config {
            feedback: rule,
            sigma: SigmaSchedule::constant(0.1),
            eta_hat: if rule == dtp_core::Feedback::DdtpRhl {
                2.0
            } else {
                0.5
            },
            ..config()
        };
        let mut gaps = Vec::new();
        for seed in [1, 2, 3] {
            let (ddtp, ddtp_loss, moved) = digits_run(c, seed, false);
            let (ctl, ctl_loss, _) = digits_run(Config { eta_hat: 0.0, ..c }, seed, false);
            println!(
                "{rule:?} seed {seed}: test {ddtp:.4} train loss {ddtp_loss:.4}; η̂ = 0 control \
                 test {ctl:.4} train loss {ctl_loss:.4}"
            );
            assert!(moved, "{rule:?} seed {seed}: the convolution did not learn");
            assert!(
                ddtp_loss <= 0.6 * ctl_loss,
                "{rule:?} seed {seed}: training loss {ddtp_loss} vs {ctl_loss}"
            );
            gaps.push(ddtp - ctl);
        }
        let gap = gaps.iter().sum::<f32>() / gaps.len() as f32;
        println!("{rule:?}: mean test gap {gap:.4}");
        assert!(
            gap >= 0.015,
            "{rule:?}: mean test gap over the control {gap}"
        );
    }
}

/// Bartunov et al. 2018's MNIST network, `1x28x28-c32k3s2-c64k3s2-1024-10`, with convolutions
/// (their LC net shares no weights; this is its convolutional form): the shapes, then DTP
/// (both inverses, a transposed convolution and a dense layer, trained) and backprop each
/// lower `L` on one fixed minibatch of random images.
#[test]
fn bartunov_mnist_net_trains_by_dtp_and_backprop() {
    let specs = [
        LayerSpec::Conv {
            channels: 32,
            kernel: 3,
            stride: 2,
            padding: 0,
        },
        LayerSpec::Conv {
            channels: 64,
            kernel: 3,
            stride: 2,
            padding: 0,
        },
        LayerSpec::Dense(1024),
        LayerSpec::Dense(10),
    ];
    let mut net = ConvNet::new((1, 28, 28), &specs).unwrap();
    let widths: Vec<usize> = net.forward.iter().map(Layer::outputs).collect();
    assert_eq!(widths, [32 * 13 * 13, 64 * 6 * 6, 1024, 10]);
    assert_eq!(net.forward[1].params.w.shape(), (64, 32 * 9));
    assert!(matches!(net.inverse[0].kind, Kind::ConvTranspose(_)));
    assert_eq!(
        (net.inverse[0].inputs(), net.inverse[0].outputs()),
        (2304, 5408)
    );
    assert_eq!(net.inverse[1].params.w.shape(), (2304, 1024));
    let mut rng = Pcg32::new(11, 0);
    // Scaled uniform: orthogonalising the 1024 × 2304 layers would take most of the test.
    net.initialise(Init::Uniform, &mut rng);
    let c = Config {
        schedule: Schedule::Interleaved,
        ..config()
    };
    for backprop in [false, true] {
        let mut t = ConvTrainer::<Portable>::new(net.clone(), 4, c).unwrap();
        let (x, labels) = t.batch_mut();
        fill_random(x.as_mut_slice(), 1.0, &mut rng);
        x.apply(|v| *v = v.abs());
        labels.fill(0.0);
        for b in 0..4 {
            labels[(b % 10, b)] = 1.0;
        }
        let mut r = Pcg32::new(1, 1);
        let first = t.evaluate(&mut r).unwrap().loss;
        let inverse_before = t.net.inverse.clone();
        for _ in 0..5 {
            if backprop {
                t.backprop_step(&mut r).unwrap();
            } else {
                t.step(&mut r).unwrap();
            }
        }
        let last = t.evaluate(&mut r).unwrap().loss;
        println!("backprop {backprop}: L {first:.4} → {last:.4}");
        assert!(
            last < 0.8 * first,
            "backprop {backprop}: L {first} → {last}"
        );
        assert!(t.net.is_finite());
        assert_eq!(
            t.net.inverse != inverse_before,
            !backprop,
            "inverses train under DTP only"
        );
    }
}

/// Every tensor of a trainer, by the visitor: `(name, shape, values)`.
fn saved(t: &ConvTrainer) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    use dtp_core::Tensors;
    let mut out = Vec::new();
    t.visit(&mut |name, shape, values| {
        out.push((name.to_string(), shape.to_vec(), values.to_vec()))
    });
    out
}

/// A conv trainer saved through the tensor visitor mid-run and loaded into a fresh one of the
/// same layout continues bit for bit like the run that never stopped (parameters, both
/// optimiser states, the epoch counter and the random stream carried over).
#[test]
fn conv_trainer_resumes_bit_for_bit_through_the_tensor_visitor() {
    use dtp_core::Tensors;
    let c = config();
    let (mut a, mut rng) = small_trainer(12, c);
    let step = |t: &mut ConvTrainer, rng: &mut Pcg32| {
        let (x, _) = t.batch_mut();
        fill_random(x.as_mut_slice(), 1.0, rng);
        t.step(rng).unwrap();
        t.backprop_step(rng).unwrap();
    };
    for _ in 0..3 {
        step(&mut a, &mut rng);
    }
    a.epoch = 2;
    let checkpoint = saved(&a);
    let names: Vec<&str> = checkpoint.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names[..4],
        [
            "net.f1.weight",
            "net.f1.bias",
            "net.f2.weight",
            "net.f2.bias"
        ]
    );
    assert!(names.contains(&"net.g2.bias") && names.contains(&"opt.inverse.g3.weight.v"));
    assert_eq!(checkpoint.len(), 2 * (4 + 2) + 6 * (4 + 2));
    let g2 = checkpoint
        .iter()
        .find(|(n, _, _)| n == "net.g2.bias")
        .unwrap();
    assert_eq!(
        g2.1,
        [3, 1],
        "the transposed convolution's bias: one per input channel"
    );

    let (net, _) = small_net(99); // other weights: all are overwritten
    let mut b = ConvTrainer::<Portable>::new(net, 3, c).unwrap();
    let mut entries = checkpoint.iter();
    b.visit_mut(&mut |name, shape, values| {
        let (n, s, v) = entries.next().expect("as many tensors");
        assert_eq!(
            (name.to_string().as_str(), shape),
            (n.as_str(), s.as_slice())
        );
        values.copy_from_slice(v);
    });
    assert!(entries.next().is_none(), "as many tensors");
    b.epoch = a.epoch;
    b.batch_mut().1.copy_from_slice(a.batch_mut().1.as_slice());
    let mut rng_b = rng.clone();
    for _ in 0..3 {
        step(&mut a, &mut rng);
        step(&mut b, &mut rng_b);
    }
    assert!(saved(&a) == saved(&b), "the resumed run differs");
}

/// The desktop's kernel ([`dtp_core::Auto`]: the blocked GEMM for the large products) gives
/// the same bits at 1 and 2 threads: Bartunov et al.'s net, three DTP steps and a backprop
/// step, every tensor compared.
#[test]
fn conv_trainer_bits_do_not_depend_on_the_thread_count() {
    let specs = [
        LayerSpec::Conv {
            channels: 32,
            kernel: 3,
            stride: 2,
            padding: 0,
        },
        LayerSpec::Conv {
            channels: 64,
            kernel: 3,
            stride: 2,
            padding: 0,
        },
        LayerSpec::Dense(1024),
        LayerSpec::Dense(10),
    ];
    let mut net = ConvNet::new((1, 28, 28), &specs).unwrap();
    net.initialise(Init::Uniform, &mut Pcg32::new(13, 0));
    let c = Config {
        schedule: Schedule::Interleaved,
        ..config()
    };
    let run = |threads: usize| {
        dtp_core::kernel::set_threads(threads);
        let mut t = ConvTrainer::<dtp_core::Auto>::new(net.clone(), 16, c).unwrap();
        let mut rng = Pcg32::new(3, 3);
        let (x, labels) = t.batch_mut();
        fill_random(x.as_mut_slice(), 1.0, &mut rng);
        labels.fill(0.0);
        for b in 0..16 {
            labels[(b % 10, b)] = 1.0;
        }
        for _ in 0..3 {
            t.step(&mut rng).unwrap();
        }
        t.backprop_step(&mut rng).unwrap();
        dtp_core::kernel::set_threads(1);
        let mut out = Vec::new();
        dtp_core::Tensors::visit(&t, &mut |name, _, values| {
            out.push((
                name.to_string(),
                values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            ))
        });
        out
    };
    let (one, two) = (run(1), run(2));
    for ((name, a), (_, b)) in one.iter().zip(&two) {
        assert!(a == b, "{name} differs between 1 and 2 threads");
    }
}

/// Every tensor of a trainer by name, as bits.
type Bits = Vec<(String, Vec<u32>)>;

/// How a [`chunked`] run trains.
#[derive(Clone, Copy, Debug)]
enum Run {
    /// DTP epochs by this schedule.
    Dtp(Schedule),
    /// DTP epochs with DRL's feedback step (alternating schedule).
    Drl,
    /// Backprop epochs.
    Backprop,
}

/// Every tensor's bits and every epoch's figures (loss and error bits) after two epochs
/// of [`small_net`] on minibatches of 12 split into `chunks` chunks run by `threads` threads
/// (input noise on, so every chunk draws from its stream).
fn chunked(
    specs: &[LayerSpec],
    run: Run,
    chunks: usize,
    threads: usize,
) -> (Bits, Vec<(u32, u32)>) {
    use dtp_core::conv::parallel::ConvParallel;
    let (net, mut rng) = small_net_of(specs, 21);
    let schedule = match run {
        Run::Dtp(s) => s,
        Run::Drl | Run::Backprop => Schedule::Alternating,
    };
    let feedback = match run {
        Run::Drl => dtp_core::Feedback::Drl,
        _ => dtp_core::Feedback::Dtp,
    };
    let c = Config {
        schedule,
        input_noise: 0.1,
        feedback,
        ..config()
    };
    let mut t = ConvTrainer::<Portable>::new(net, 12, c).unwrap();
    let mut data = Random::new(4, &mut rng);
    let mut par = ConvParallel::new(&t, chunks, threads);
    assert_eq!(par.chunks(), chunks);
    assert_eq!(par.threads(), threads.min(chunks));
    let mut figures = Vec::new();
    for _ in 0..2 {
        let s = match run {
            Run::Dtp(_) | Run::Drl => par.train_epoch(&mut t, &mut data, &mut rng),
            Run::Backprop => par.backprop_epoch(&mut t, &mut data, &mut rng),
        }
        .unwrap();
        figures.push((s.loss.to_bits(), s.error.to_bits()));
    }
    let mut out = Vec::new();
    dtp_core::Tensors::visit(&t, &mut |name, _, values| {
        out.push((
            name.to_string(),
            values.iter().map(|v| v.to_bits()).collect(),
        ))
    });
    for (l, name) in t.local_loss.iter().chain(&t.inverse_loss).zip(1..) {
        out.push((format!("loss {name}"), vec![l.to_bits()]));
    }
    (out, figures)
}

/// The chunk-parallel executor: three chunks of a minibatch of 12 give the same bits —
/// every parameter and optimiser state, the last local and reconstruction losses, every
/// epoch's loss and count — on 1, 2 and 3 threads, for DTP by either schedule, DTP with
/// DRL's feedback step, and backprop; convolutions and locally connected layers.
#[test]
fn chunked_conv_training_does_not_depend_on_the_thread_count() {
    for (specs, run) in SMALL_NETS.into_iter().flat_map(|s| {
        [
            Run::Dtp(Schedule::Alternating),
            Run::Dtp(Schedule::Interleaved),
            Run::Drl,
            Run::Backprop,
        ]
        .map(|r| (s, r))
    }) {
        let local = matches!(specs[0], LayerSpec::Local { .. });
        let one = chunked(specs, run, 3, 1);
        for threads in [2, 3] {
            let other = chunked(specs, run, 3, threads);
            assert!(
                one.0 == other.0,
                "{run:?} (local {local}): tensors differ at {threads} threads"
            );
            assert_eq!(
                one.1, other.1,
                "{run:?} (local {local}): figures differ at {threads} threads"
            );
        }
    }
}

/// One chunk is the whole-minibatch trainer itself: an epoch through `ConvParallel` with one
/// chunk gives the bits of `ConvTrainer::train_epoch` (and of `backprop_epoch`).
#[test]
fn one_chunk_is_the_whole_minibatch_trainer() {
    for run in [Run::Dtp(Schedule::Alternating), Run::Backprop] {
        let (net, mut rng) = small_net(21);
        let c = Config {
            input_noise: 0.1,
            ..config()
        };
        let mut t = ConvTrainer::<Portable>::new(net, 12, c).unwrap();
        let mut data = Random::new(4, &mut rng);
        for _ in 0..2 {
            match run {
                Run::Dtp(_) | Run::Drl => t.train_epoch(&mut data, &mut rng),
                Run::Backprop => t.backprop_epoch(&mut data, &mut rng),
            }
            .unwrap();
        }
        let mut whole = Vec::new();
        dtp_core::Tensors::visit(&t, &mut |name, _, values| {
            whole.push((
                name.to_string(),
                values.iter().map(|v| v.to_bits()).collect(),
            ))
        });
        let (chunked, _) = chunked(&SMALL, run, 1, 2);
        let chunked: Vec<_> = chunked
            .into_iter()
            .filter(|(n, _)| !n.starts_with("loss"))
            .collect();
        assert!(
            whole == chunked,
            "{run:?}: one chunk differs from the trainer"
        );
    }
}

/// The chunks' gradients sum to the minibatch's: from the same state, one noiseless DTP
/// forward step and one backprop step on three chunks move every parameter as the
/// whole-minibatch trainer does, up to the order of floating-point sums (batch means over
/// the minibatch's `B`, not a chunk's).
#[test]
fn chunk_gradients_sum_to_the_minibatch_gradient() {
    use dtp_core::conv::parallel::ConvParallel;
    use dtp_core::step::Drive;
    for backprop in [false, true] {
        let (net, mut rng) = small_net(5);
        // No input noise: the forward half of a step draws nothing. SGD: a step is the
        // gradient itself (RMSprop's normalisation would hide a wrongly scaled one).
        let c = Config {
            forward: Optimiser::sgd(0.1, 0.0),
            ..config()
        };
        let mut data = Random::new(1, &mut rng);
        let mut whole = ConvTrainer::<Portable>::new(net.clone(), 12, c).unwrap();
        let mut split = ConvTrainer::<Portable>::new(net, 12, c).unwrap();
        let mut par = ConvParallel::new(&split, 3, 2);
        for t in [&mut whole, &mut split] {
            let (x, labels) = t.batch_mut();
            data.fill(0, x, labels);
        }
        let (a, b) = if backprop {
            (
                whole.backprop_step(&mut rng.clone()).unwrap(),
                par.on(&mut split).backprop_step(&mut rng.clone()).unwrap(),
            )
        } else {
            (
                Drive::forward_only(&mut whole, &mut rng.clone()).unwrap(),
                par.on(&mut split).forward_only(&mut rng.clone()).unwrap(),
            )
        };
        assert!(
            (a.loss - b.loss).abs() < 1e-5,
            "loss {} vs {}",
            a.loss,
            b.loss
        );
        assert_eq!(a.correct, b.correct);
        for (n, (l, m)) in whole.net.forward.iter().zip(&split.net.forward).enumerate() {
            let what = format!("backprop {backprop}, f{}", n + 1);
            assert_close(&what, m.params.w.as_slice(), l.params.w.as_slice(), 1e-6);
            assert_close(&what, m.params.b.as_slice(), l.params.b.as_slice(), 1e-6);
        }
        if !backprop {
            for (k, (l, m)) in whole.local_loss.iter().zip(&split.local_loss).enumerate() {
                assert!((l - m).abs() < 1e-5, "local loss {k}: {l} vs {m}");
            }
        }
    }
}
