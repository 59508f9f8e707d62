//! Locally connected layers (`LayerSpec::Local`, `Kind::Local` and its transpose
//! `Kind::LocalTranspose`): the products against their definitions written as loops, the
//! transpose as the adjoint, a locally connected layer whose positions all share one kernel
//! as the convolution (values and gradients), the per-position orthogonal start, and DTP,
//! DDTP and backprop learning the 8×8 digits through one beyond the `η̂ = 0` control.
//!
//! The generic checks run on locally connected nets too, in `tests/tests/conv.rs`: finite
//! differences of every local loss, of DTP's and DRL's reconstruction losses and of backprop,
//! the difference-target identity, the same bits at 1–3 threads (`SMALL_NETS`); one DTP
//! step against PyTorch autograd in `tests/tests/conv_parity.rs`.

mod common;

use common::conv_digits::{CONV8, digits_run_of};
use common::conv_nets::{SHAPES, assert_adjoint, assert_close, config, fill_random, random};
use dtp_core::conv::{ConvShape, DMat, Layer, LayerSpec};
use dtp_core::{Activation, Config, Feedback, Init, Portable, SigmaSchedule};
use rand_pcg::Pcg32;

/// Input `(c, y, x)` of sample `b`, or `None` outside the image.
fn pixel(s: &ConvShape, x: &DMat, b: usize, c: usize, iy: isize, ix: isize) -> Option<f64> {
    let inside = iy >= 0 && ix >= 0 && iy < s.height as isize && ix < s.width as isize;
    inside.then(|| {
        f64::from(
            x[(
                c * s.height * s.width + iy as usize * s.width + ix as usize,
                b,
            )],
        )
    })
}

/// The input position tap `(ky, kx)` of output `(oy, ox)` reads.
fn tap(s: &ConvShape, oy: usize, ox: usize, ky: usize, kx: usize) -> (isize, isize) {
    (
        (oy * s.stride + ky) as isize - s.padding as isize,
        (ox * s.stride + kx) as isize - s.padding as isize,
    )
}

/// The locally connected layer as its definition: `z[b, o, y', x'] = b[o·P + q] + Σ_{c,ky,kx}
/// W_q[o, (c·k + ky)·k + kx] · x[b, c, y'·s + ky − p, x'·s + kx − p]`, `q = y'·W' + x'`,
/// `W_q[o, r] = w[o, q·K + r]`.
fn direct_local(s: &ConvShape, w: &DMat, bias: &[f32], x: &DMat) -> Vec<f32> {
    let (oh, ow, p, k) = (s.out_height(), s.out_width(), s.positions(), s.patch());
    let mut out = vec![0.0f32; s.outputs() * x.ncols()];
    for b in 0..x.ncols() {
        for o in 0..s.channels_out {
            for (oy, ox) in (0..oh).flat_map(|y| (0..ow).map(move |x| (y, x))) {
                let q = oy * ow + ox;
                let mut sum = f64::from(bias[o * p + q]);
                for c in 0..s.channels_in {
                    for (ky, kx) in (0..s.kernel).flat_map(|y| (0..s.kernel).map(move |x| (y, x))) {
                        let (iy, ix) = tap(s, oy, ox, ky, kx);
                        if let Some(v) = pixel(s, x, b, c, iy, ix) {
                            let r = (c * s.kernel + ky) * s.kernel + kx;
                            sum += f64::from(w[(o, q * k + r)]) * v;
                        }
                    }
                }
                out[b * s.outputs() + o * p + q] = sum as f32;
            }
        }
    }
    out
}

/// The transpose as its definition (a scatter): every unit `h[b, o·P + q]` adds
/// `V_q[(c·k + ky)·k + kx, o] · h` to input position `(c, y'·s + ky − p, x'·s + kx − p)`
/// (`V_q[r, o] = v[r, q·C' + o]`), then `c` is added unit by unit.
fn direct_local_transpose(s: &ConvShape, v: &DMat, bias: &[f32], h: &DMat) -> Vec<f32> {
    let (oh, ow, p, co) = (s.out_height(), s.out_width(), s.positions(), s.channels_out);
    let mut out = vec![0.0f64; s.inputs() * h.ncols()];
    for b in 0..h.ncols() {
        for o in 0..co {
            for (oy, ox) in (0..oh).flat_map(|y| (0..ow).map(move |x| (y, x))) {
                let q = oy * ow + ox;
                let hv = f64::from(h[(o * p + q, b)]);
                for c in 0..s.channels_in {
                    for (ky, kx) in (0..s.kernel).flat_map(|y| (0..s.kernel).map(move |x| (y, x))) {
                        let (iy, ix) = tap(s, oy, ox, ky, kx);
                        if iy < 0 || ix < 0 || iy >= s.height as isize || ix >= s.width as isize {
                            continue;
                        }
                        let r = (c * s.kernel + ky) * s.kernel + kx;
                        let at = b * s.inputs()
                            + c * s.height * s.width
                            + iy as usize * s.width
                            + ix as usize;
                        out[at] += f64::from(v[(r, q * co + o)]) * hv;
                    }
                }
            }
        }
        for (u, &c) in bias.iter().enumerate() {
            out[b * s.inputs() + u] += f64::from(c);
        }
    }
    out.into_iter().map(|v| v as f32).collect()
}

/// A locally connected layer and its transpose with random weights and biases.
fn random_pair(s: ConvShape, rng: &mut Pcg32) -> (Layer, Layer) {
    let (mut local, mut transpose) = (Layer::local(s), Layer::local_transpose(s));
    for l in [&mut local, &mut transpose] {
        fill_random(l.params.w.as_mut_slice(), 1.0, rng);
        fill_random(l.params.b.as_mut_slice(), 1.0, rng);
    }
    (local, transpose)
}

/// `Layer::forward` of a locally connected layer and of its transpose give the definitions'
/// numbers for every geometry of `SHAPES`; the shapes are `C' × (P·K)` and `K × (P·C')` with
/// a bias per unit.
#[test]
fn locally_connected_layers_match_their_definitions() {
    let mut rng = Pcg32::new(3, 5);
    for s in SHAPES {
        let batch = 3;
        let (local, transpose) = random_pair(s, &mut rng);
        let (p, k, co) = (s.positions(), s.patch(), s.channels_out);
        assert_eq!(local.params.w.shape(), (co, p * k), "{s:?}");
        assert_eq!(local.params.b.len(), co * p, "{s:?}");
        assert_eq!(transpose.params.w.shape(), (k, p * co), "{s:?}");
        assert_eq!(transpose.params.b.len(), s.inputs(), "{s:?}");
        assert_eq!((local.inputs(), local.outputs()), (s.inputs(), s.outputs()));
        assert_eq!(
            (transpose.inputs(), transpose.outputs()),
            (s.outputs(), s.inputs())
        );

        let x = random(s.inputs(), batch, &mut rng);
        let mut y = DMat::zeros(0, 0);
        local.forward::<Portable>(Activation::Linear, &x, &mut y);
        assert_eq!(y.shape(), (s.outputs(), batch));
        let want = direct_local(&s, &local.params.w, local.params.b.as_slice(), &x);
        assert_close(&format!("local {s:?}"), y.as_slice(), &want, 1e-5);
        // With the activation: tanh of the same.
        local.forward::<Portable>(Activation::Tanh, &x, &mut y);
        let tanh: Vec<f32> = want.iter().map(|v| v.tanh()).collect();
        assert_close(&format!("tanh local {s:?}"), y.as_slice(), &tanh, 1e-5);

        let h = random(s.outputs(), batch, &mut rng);
        let mut g = DMat::zeros(0, 0);
        transpose.forward::<Portable>(Activation::Linear, &h, &mut g);
        assert_eq!(g.shape(), (s.inputs(), batch));
        let want =
            direct_local_transpose(&s, &transpose.params.w, transpose.params.b.as_slice(), &h);
        assert_close(&format!("local transpose {s:?}"), g.as_slice(), &want, 1e-5);
    }
}

/// `V_q = W_qᵀ` at every position (`w` as `C' × (P·K)`, `v` as `K × (P·C')`).
fn transposed_blocks(s: &ConvShape, w: &DMat) -> DMat {
    let (p, k, co) = (s.positions(), s.patch(), s.channels_out);
    DMat::from_fn(k, p * co, |r, j| {
        let (q, o) = (j / co, j % co);
        w[(o, q * k + r)]
    })
}

/// With `V_q = W_qᵀ` and no bias, the transpose is the adjoint of the locally connected layer:
/// `⟨f(x), y⟩ = ⟨x, fᵀ(y)⟩`; and `Layer::input_gradient` of either is the other's product.
#[test]
fn local_transpose_is_the_adjoint() {
    let mut rng = Pcg32::new(4, 5);
    for s in SHAPES {
        let mut local = Layer::local(s);
        fill_random(local.params.w.as_mut_slice(), 1.0, &mut rng);
        let mut transpose = Layer::local_transpose(s);
        transpose.params.w = transposed_blocks(&s, &local.params.w);
        assert_adjoint(&s, &local, &transpose, &mut rng);
    }
}

/// The sum over positions of a `rows × (P·cols)` matrix of blocks: `Σ_q block_q`.
fn sum_blocks(m: &DMat, positions: usize) -> DMat {
    let cols = m.ncols() / positions;
    DMat::from_fn(m.nrows(), cols, |r, c| {
        (0..positions).map(|q| m[(r, q * cols + c)]).sum()
    })
}

/// A locally connected layer whose positions all hold the convolution's kernel `W` (and whose
/// bias repeats `b_o` over the positions) is that convolution: the same outputs and input
/// gradient, and its per-position weight gradients sum to the convolution's (its bias's over
/// the positions of a channel to the convolution's bias gradient). Likewise the transpose
/// against the transposed convolution.
#[test]
fn shared_weights_make_the_convolution() {
    let mut rng = Pcg32::new(5, 5);
    for s in SHAPES {
        let (p, k, co) = (s.positions(), s.patch(), s.channels_out);
        let mut conv = Layer::conv(s);
        fill_random(conv.params.w.as_mut_slice(), 1.0, &mut rng);
        fill_random(conv.params.b.as_mut_slice(), 1.0, &mut rng);
        let mut local = Layer::local(s);
        local.params.w = DMat::from_fn(co, p * k, |o, j| conv.params.w[(o, j % k)]);
        for (u, v) in local.params.b.iter_mut().enumerate() {
            *v = conv.params.b[u / p];
        }
        same_maps(&format!("{s:?}"), &conv, &local, p, p, &mut rng);

        // The transposes: V_q = V, c per unit = c per channel.
        let mut tconv = Layer::conv_transpose(s);
        fill_random(tconv.params.w.as_mut_slice(), 1.0, &mut rng);
        fill_random(tconv.params.b.as_mut_slice(), 1.0, &mut rng);
        let mut tlocal = Layer::local_transpose(s);
        tlocal.params.w = DMat::from_fn(k, p * co, |r, j| tconv.params.w[(r, j % co)]);
        let plane = s.height * s.width;
        for (u, v) in tlocal.params.b.iter_mut().enumerate() {
            *v = tconv.params.b[u / plane];
        }
        same_maps(
            &format!("transpose {s:?}"),
            &tconv,
            &tlocal,
            p,
            plane,
            &mut rng,
        );
    }
}

/// `local`, the unshared twin of `shared` (its `positions` blocks all `shared`'s weights, its
/// bias `shared`'s repeated over `per_bias` units each), computes the same map: outputs and
/// input gradients equal on random data (batch 3), its blocks' weight gradients summed equal to
/// `shared`'s, its bias gradient summed over each run of `per_bias` units equal to `shared`'s.
#[track_caller]
fn same_maps(
    what: &str,
    shared: &Layer,
    local: &Layer,
    positions: usize,
    per_bias: usize,
    rng: &mut Pcg32,
) {
    let (x, delta) = (
        random(shared.inputs(), 3, rng),
        random(shared.outputs(), 3, rng),
    );
    let (mut a, mut b) = (DMat::zeros(0, 0), DMat::zeros(0, 0));
    shared.forward::<Portable>(Activation::Tanh, &x, &mut a);
    local.forward::<Portable>(Activation::Tanh, &x, &mut b);
    assert_close(&format!("{what} outputs"), b.as_slice(), a.as_slice(), 1e-5);
    shared.input_gradient::<Portable>(&delta, &mut a);
    local.input_gradient::<Portable>(&delta, &mut b);
    assert_close(
        &format!("{what} input gradients"),
        b.as_slice(),
        a.as_slice(),
        1e-5,
    );
    let (mut gs, mut gl) = (shared.params.clone(), local.params.clone());
    shared.gradient_from_delta::<Portable>(&x, &delta, &mut gs);
    local.gradient_from_delta::<Portable>(&x, &delta, &mut gl);
    let summed = sum_blocks(&gl.w, positions);
    assert_close(
        &format!("{what} weight gradients"),
        summed.as_slice(),
        gs.w.as_slice(),
        1e-5,
    );
    let per_channel: Vec<f32> =
        gl.b.as_slice()
            .chunks(per_bias)
            .map(|c| c.iter().sum())
            .collect();
    assert_close(
        &format!("{what} bias gradients"),
        &per_channel,
        gs.b.as_slice(),
        1e-5,
    );
}

/// The orthogonal start is drawn position by position: every `W_q` (`C' × K`, `C' ≤ K`) has
/// orthonormal rows, as a convolution's kernel does, and no two positions share weights.
#[test]
fn orthogonal_start_is_per_position() {
    let s = ConvShape {
        channels_in: 2,
        height: 6,
        width: 6,
        channels_out: 4,
        kernel: 3,
        stride: 2,
        padding: 1,
    };
    let (p, k, co) = (s.positions(), s.patch(), s.channels_out);
    let mut local = Layer::local(s);
    fill_random(local.params.b.as_mut_slice(), 1.0, &mut Pcg32::new(1, 1));
    local.initialise(Init::Orthogonal, &mut Pcg32::new(6, 5));
    assert!(local.params.b.iter().all(|&v| v == 0.0), "bias zeroed");
    let blocks: Vec<DMat> = (0..p)
        .map(|q| DMat::from_fn(co, k, |o, r| local.params.w[(o, q * k + r)]))
        .collect();
    for (q, w) in blocks.iter().enumerate() {
        let gram = w * w.transpose();
        let identity = DMat::identity(co, co);
        assert_close(
            &format!("W_{q} W_{q}ᵀ"),
            gram.as_slice(),
            identity.as_slice(),
            1e-5,
        );
    }
    for q in 1..p {
        assert_ne!(blocks[q], blocks[0], "W_{q} = W_0");
    }
}

/// The digits nets' locally connected first layer: 8 maps, 3×3, stride 1, padding 1.
const LOCAL8: LayerSpec = LayerSpec::Local {
    channels: 8,
    kernel: 3,
    stride: 1,
    padding: 1,
};

/// DTP (and DDTP-linear) through a locally connected first layer learns the 8×8 digits beyond
/// the `η̂ = 0` control (the same code, seeds and stream: every target equals its activation,
/// so only the output layer learns), the layer itself moves; backprop on the same net learns.
///
/// Measured (`cargo test --release -p dtp-tests --test local learns -- --nocapture`), seeds
/// 1–3, 10 epochs, minibatches of 10: DTP test accuracy 95.3–96.0 % against the control's
/// 90.7–94.0 % (mean gap 3.3 points), training loss ratio 0.13–0.16; DDTP-linear 94.4–95.1 %
/// (mean gap 2.4 points), ratio 0.38–0.42; backprop 96.4 % (96.7 % with the convolution).
/// Bars: mean gap ≥ 1.5 points, each loss ratio ≤ 0.6.
#[test]
fn local_dtp_learns_the_digits_beyond_its_control() {
    let ddtp = Config {
        feedback: Feedback::DdtpLinear,
        sigma: SigmaSchedule::constant(0.1),
        ..config()
    };
    for c in [config(), ddtp] {
        let rule = c.feedback;
        let (mut gaps, mut ratios) = (Vec::new(), Vec::new());
        for seed in [1, 2, 3] {
            let (acc, loss, moved) = digits_run_of(LOCAL8, c, seed, false);
            let control = Config { eta_hat: 0.0, ..c };
            let (ctl, ctl_loss, ctl_moved) = digits_run_of(LOCAL8, control, seed, false);
            println!(
                "{rule:?} seed {seed}: test {acc:.4} train loss {loss:.4}; η̂ = 0 control test \
                 {ctl:.4} train loss {ctl_loss:.4}"
            );
            assert!(
                moved && !ctl_moved,
                "{rule:?}: the layer learns under DTP only"
            );
            gaps.push(acc - ctl);
            ratios.push(loss / ctl_loss);
        }
        let gap = gaps.iter().sum::<f32>() / gaps.len() as f32;
        println!("{rule:?}: mean test gap {gap:.4}, loss ratios {ratios:?}");
        assert!(
            gap >= 0.015,
            "{rule:?}: mean test gap over the control {gap}"
        );
        assert!(
            ratios.iter().all(|&r| r <= 0.6),
            "{rule:?}: training loss ratios {ratios:?}"
        );
    }
    let (bp, bp_loss, _) = digits_run_of(LOCAL8, config(), 1, true);
    let (conv_bp, _, _) = digits_run_of(CONV8, config(), 1, true);
    println!("backprop: test {bp:.4} train loss {bp_loss:.4} (convolution: {conv_bp:.4})");
    assert!(bp >= 0.90, "backprop test accuracy {bp}");
}
