//! Parity with an independent implementation: one full DTP step of the Rust core against
//! fixtures written by the PyTorch autograd script `tests/parity/dtp_step_torch.py`
//! (targets, inverse update, forward update, RMSprop state):
//! - `tests/fixtures/dtp_step.json`: 6-5-5-5-4 tanh, batch 3, RMSprop from non-zero state;
//! - `tests/fixtures/dtp_step_tanh_block.json`: 9-8-8-8-4 tanh, batch 17, input noise 0.2, so
//!   that the input (153 values) and each corrupted layer (136) take the 128-draw block path
//!   of `add_gaussian`, then its pair remainder and (the input) an odd last value;
//! - `tests/fixtures/dtp_step_bernoulli_block.json`: the same sizes with the stochastic wiring
//!   (sigmoid units read as Bernoulli samples), input noise 0.3.
//!
//! The reference draws the same Pcg32 stream as the core (a Python port); its samples and noise
//! are in the fixtures, and the Rust draws are checked against them before the step is.

use dtp_core::noise::{add_gaussian, normal_pair, standard_normal};
use dtp_core::{
    Config, Const, DenseState, FixedTrainer, Init, Mat, Moments, Optimiser, Quantiser, Schedule,
    SigmaSchedule, Units,
};
use rand_core::Rng;
use rand_pcg::Pcg32;
use serde_json::Value;

const TOL: f32 = 1e-5;

fn fixture() -> Value {
    load("dtp_step.json")
}

fn load(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture exists"))
        .expect("valid JSON")
}

/// A fixture matrix (list of rows, or a flat list read as a column).
fn mat<const R: usize, const C: usize>(v: &Value) -> Mat<R, C> {
    let rows = v.as_array().expect("array");
    assert_eq!(rows.len(), R, "rows of {v}");
    Mat::from_fn(|r, c| match &rows[r] {
        Value::Array(row) => {
            assert_eq!(row.len(), C);
            row[c].as_f64().unwrap() as f32
        }
        x => {
            assert_eq!(C, 1);
            x.as_f64().unwrap() as f32
        }
    })
}

fn moments<const R: usize, const C: usize>(v: &Value) -> Moments<Const<R>, Const<C>> {
    Moments {
        a: mat(&v["a"]),
        s: mat(&v["s"]),
        v: mat(&v["v"]),
    }
}

fn dense_state<const O: usize, const I: usize>(
    v: &Value,
    w: &str,
    b: &str,
) -> DenseState<Const<O>, Const<I>> {
    DenseState {
        w: moments(&v[w]),
        b: moments(&v[b]),
    }
}

#[track_caller]
fn close<const R: usize, const C: usize>(what: &str, ours: &Mat<R, C>, theirs: &Value) {
    let theirs: Mat<R, C> = mat(theirs);
    let diff = (ours - theirs).abs().max();
    assert!(
        diff < TOL,
        "{what}: max |difference| {diff:e} ≥ {TOL:e}\nours {ours}\ntheirs {theirs}"
    );
}

fn rng(f: &Value) -> Pcg32 {
    let state: u64 = f["rng"]["state"].as_str().unwrap().parse().unwrap();
    let stream: u64 = f["rng"]["stream"].as_str().unwrap().parse().unwrap();
    Pcg32::new(state, stream)
}

fn build<const IN: usize, const H: usize, const OUT: usize, const B: usize>(
    f: &Value,
) -> FixedTrainer<IN, H, OUT, 2, B> {
    let h = &f["hyper"];
    let g = |k: &str| h[k].as_f64().unwrap() as f32;
    let sizes = &f["sizes"];
    for (key, n) in [("in", IN), ("hidden", H), ("out", OUT), ("batch", B)] {
        assert_eq!(sizes[key].as_u64(), Some(n as u64), "fixture size {key}");
    }
    let config = Config {
        units: match f["units"].as_str() {
            Some("bernoulli") => Units::STOCHASTIC,
            None | Some("tanh") => Units::CONTINUOUS,
            Some(other) => panic!("units {other}"),
        },
        eta_hat: g("eta_hat"),
        forward: Optimiser::rmsprop(g("lr_f")),
        inverse: Optimiser::rmsprop(g("lr_inv")),
        sigma: SigmaSchedule::constant(g("sigma")),
        input_noise: h["input_noise"].as_f64().unwrap_or(0.0) as f32,
        schedule: Schedule::Interleaved,
        lr_decay: dtp_core::LrDecay::NONE,
        feedback: dtp_core::Feedback::Dtp,
        frozen: dtp_core::LayerSet::NONE,
    };
    let mut t =
        FixedTrainer::<IN, H, OUT, 2, B>::new(config, Init::Orthogonal, &mut Pcg32::new(0, 0))
            .unwrap();
    let p = &f["params_before"];
    t.net.first.w = mat(&p["W1"]);
    t.net.first.b = mat(&p["b1"]);
    t.net.hidden[0].w = mat(&p["W2"]);
    t.net.hidden[0].b = mat(&p["b2"]);
    t.net.hidden[1].w = mat(&p["W3"]);
    t.net.hidden[1].b = mat(&p["b3"]);
    t.net.output.w = mat(&p["W4"]);
    t.net.output.b = mat(&p["b4"]);
    t.net.inverse[0].w = mat(&p["V2"]);
    t.net.inverse[0].b = mat(&p["c2"]);
    t.net.inverse[1].w = mat(&p["V3"]);
    t.net.inverse[1].b = mat(&p["c3"]);
    let s = &f["state_before"];
    t.forward_state.first = dense_state(&s["forward"], "W1", "b1");
    t.forward_state.hidden[0] = dense_state(&s["forward"], "W2", "b2");
    t.forward_state.hidden[1] = dense_state(&s["forward"], "W3", "b3");
    t.forward_state.output = dense_state(&s["forward"], "W4", "b4");
    t.inverse_state[0] = dense_state(&s["inverse"], "V2", "c2");
    t.inverse_state[1] = dense_state(&s["inverse"], "V3", "c3");
    let (x, labels) = t.batch_mut();
    *x = mat(&f["x"]);
    labels.fill(0.0);
    for (b, l) in f["labels"].as_array().unwrap().iter().enumerate() {
        labels[(l.as_u64().unwrap() as usize, b)] = 1.0;
    }
    t
}

#[test]
fn noise_stream_matches_the_reference_port() {
    let f = fixture();
    let mut r = rng(&f);
    let first: Vec<u64> = (0..6).map(|_| r.next_u32() as u64).collect();
    let expected: Vec<u64> = f["noise_u32_first6"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(first, expected);
    // ε_2 then ε_3, each one 5 × 3 slice in storage order (odd length: seven Box–Muller
    // pairs, then one cosine-branch value), σ = 0.3.
    let sigma = f["hyper"]["sigma"].as_f64().unwrap() as f32;
    let mut r = rng(&f);
    for key in ["eps2", "eps3"] {
        let mut eps = Mat::<5, 3>::zeros();
        add_gaussian(eps.as_mut_slice(), sigma, &mut r);
        close(key, &eps, &f["noise"][key]);
    }
    // The single-value draw is the cosine branch of the pair draw.
    let (mut a, mut b) = (rng(&f), rng(&f));
    for _ in 0..100 {
        assert_eq!(standard_normal(&mut a), normal_pair(&mut b).0);
    }
}

#[test]
fn one_dtp_step_matches_pytorch_autograd() {
    let f = fixture();
    let mut t = build::<6, 5, 4, 3>(&f);
    check_step(&mut t, &f);
}

/// One `step` of the trainer built from fixture `f`, compared with the reference: loss,
/// activations, output, inverse losses, targets, local losses, every parameter and every
/// optimiser-state tensor after the step (and, when input noise is on, the noisy input).
fn check_step<const IN: usize, const H: usize, const OUT: usize, const B: usize>(
    t: &mut FixedTrainer<IN, H, OUT, 2, B>,
    f: &Value,
) {
    let mut r = rng(f);
    let stats = t.step(&mut r).expect("finite step");
    if let Some(next) = f["next_u32_after_step"].as_u64() {
        assert_eq!(
            u64::from(r.next_u32()),
            next,
            "the step drew as many numbers"
        );
    }

    let fw = &f["forward"];
    assert!((stats.loss - fw["loss"].as_f64().unwrap() as f32).abs() < TOL);
    if !fw["x_noisy"].is_null() {
        close("x + input noise", t.input_mut(), &fw["x_noisy"]);
    }
    close("h1", &t.activations()[0], &fw["h1"]);
    close("h2", &t.activations()[1], &fw["h2"]);
    close("h3", &t.activations()[2], &fw["h3"]);
    close("p", t.output(), &fw["p"]);

    for (k, key) in ["loss2", "loss3"].iter().enumerate() {
        let theirs = f["inverse"][key].as_f64().unwrap() as f32;
        assert!(
            (t.inverse_loss[k] - theirs).abs() < TOL * theirs.max(1.0),
            "{key}"
        );
    }
    close("h3_hat", &t.targets()[2], &f["targets"]["h3_hat"]);
    close("h2_hat", &t.targets()[1], &f["targets"]["h2_hat"]);
    close("h1_hat", &t.targets()[0], &f["targets"]["h1_hat"]);
    for (k, key) in ["l1", "l2", "l3"].iter().enumerate() {
        let theirs = f["local_loss"][key].as_f64().unwrap() as f32;
        assert!((t.local_loss[k] - theirs).abs() < TOL, "{key}");
    }

    let p = &f["params_after"];
    close("W1", &t.net.first.w, &p["W1"]);
    close("b1", &t.net.first.b, &p["b1"]);
    close("W2", &t.net.hidden[0].w, &p["W2"]);
    close("b2", &t.net.hidden[0].b, &p["b2"]);
    close("W3", &t.net.hidden[1].w, &p["W3"]);
    close("b3", &t.net.hidden[1].b, &p["b3"]);
    close("W4", &t.net.output.w, &p["W4"]);
    close("b4", &t.net.output.b, &p["b4"]);
    close("V2", &t.net.inverse[0].w, &p["V2"]);
    close("c2", &t.net.inverse[0].b, &p["c2"]);
    close("V3", &t.net.inverse[1].w, &p["V3"]);
    close("c3", &t.net.inverse[1].b, &p["c3"]);

    let s = &f["state_after"];
    close_state("forward", &t.forward_state.first, &s["forward"], "W1", "b1");
    close_state(
        "forward",
        &t.forward_state.hidden[0],
        &s["forward"],
        "W2",
        "b2",
    );
    close_state(
        "forward",
        &t.forward_state.hidden[1],
        &s["forward"],
        "W3",
        "b3",
    );
    close_state(
        "forward",
        &t.forward_state.output,
        &s["forward"],
        "W4",
        "b4",
    );
    close_state("inverse", &t.inverse_state[0], &s["inverse"], "V2", "c2");
    close_state("inverse", &t.inverse_state[1], &s["inverse"], "V3", "c3");
}

#[track_caller]
fn close_state<const O: usize, const I: usize>(
    what: &str,
    ours: &DenseState<Const<O>, Const<I>>,
    v: &Value,
    w: &str,
    b: &str,
) {
    close_moments(&format!("{what} {w}"), &ours.w, &v[w]);
    close_moments(&format!("{what} {b}"), &ours.b, &v[b]);
}

#[track_caller]
fn close_moments<const R: usize, const C: usize>(
    what: &str,
    ours: &Moments<Const<R>, Const<C>>,
    v: &Value,
) {
    close(&format!("{what}.a"), &ours.a, &v["a"]);
    close(&format!("{what}.s"), &ours.s, &v["s"]);
    close(&format!("{what}.v"), &ours.v, &v["v"]);
}

// ---- the block cases: 9-8-8-8-4, batch 17, input noise on --------------------------------

/// What the step drew, replayed from the fixture's stream in the step's order and compared
/// with the reference's draws: input noise (153 values: one 128-draw block, 12 pairs, one odd
/// value), the Bernoulli samples read by layers 2, 3 and the output layer (from the
/// reference's probabilities), then for g_2 and g_3 the corruption noise (136 values: one
/// block and 4 pairs) and the samples of the corrupted value; and nothing more.
fn check_draws(f: &Value) {
    const IN: usize = 9;
    const H: usize = 8;
    const B: usize = 17;
    const { assert!(IN * B >= 128 && H * B >= 128, "too small for a noise block") };
    let sigma_in = f["hyper"]["input_noise"].as_f64().unwrap() as f32;
    let sigma = f["hyper"]["sigma"].as_f64().unwrap() as f32;
    assert!(sigma_in > 0.0 && sigma > 0.0);
    let sampled = f["units"] == "bernoulli";
    let mut r = rng(f);
    let mut eps_x = Mat::<IN, B>::zeros();
    add_gaussian(eps_x.as_mut_slice(), sigma_in, &mut r);
    close("input noise", &eps_x, &f["noise"]["eps_x"]);
    let h: [Mat<H, B>; 3] = [
        mat(&f["forward"]["h1"]),
        mat(&f["forward"]["h2"]),
        mat(&f["forward"]["h3"]),
    ];
    let sample = |p: &Mat<H, B>, key: &str, r: &mut Pcg32| {
        let mut s = Mat::<H, B>::zeros();
        Quantiser::Bernoulli.apply(p.as_slice(), s.as_mut_slice(), r);
        let theirs: Mat<H, B> = mat(&f["samples"][key]);
        assert_eq!(s, theirs, "samples {key}");
        assert!(s.iter().any(|&v| v == 0.0) && s.iter().any(|&v| v == 1.0));
    };
    if sampled {
        for (k, key) in ["s1", "s2", "s3"].iter().enumerate() {
            sample(&h[k], key, &mut r);
        }
    }
    for (k, key) in ["eps2", "eps3"].iter().enumerate() {
        let mut eps = Mat::<H, B>::zeros();
        add_gaussian(eps.as_mut_slice(), sigma, &mut r);
        close(key, &eps, &f["noise"][key]);
        if sampled {
            sample(&(h[k] + eps), &format!("s_tilde{}", k + 1), &mut r);
        }
    }
    let next = f["next_u32_after_step"].as_u64().unwrap();
    assert_eq!(
        u64::from(r.next_u32()),
        next,
        "as many draws as the reference"
    );
}

/// Every gradient of the step, read from RMSprop's first moment: the block cases start from
/// zero state, so `a = (1 − ρ) g` after the step. Norm-wise relative error against the
/// reference's autograd gradients; returns the worst.
fn check_gradients<const IN: usize, const H: usize, const OUT: usize, const B: usize>(
    t: &FixedTrainer<IN, H, OUT, 2, B>,
    f: &Value,
    tol: f32,
) -> f32 {
    let one_minus_rho = 1.0 - f["hyper"]["rho"].as_f64().unwrap() as f32;
    let mut worst = 0.0f32;
    let mut grad = |what: &str, a: &[f32], theirs: &Value, shape: (usize, usize)| {
        let theirs: Vec<f32> = match theirs.as_array().unwrap()[0] {
            // Lists of rows to column-major.
            Value::Array(_) => (0..shape.1)
                .flat_map(|c| (0..shape.0).map(move |r| (r, c)))
                .map(|(r, c)| theirs[r][c].as_f64().unwrap() as f32)
                .collect(),
            _ => theirs
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect(),
        };
        let ours: Vec<f32> = a.iter().map(|v| v / one_minus_rho).collect();
        let num: f32 = ours
            .iter()
            .zip(&theirs)
            .map(|(x, y)| (x - y) * (x - y))
            .sum();
        let den: f32 = theirs.iter().map(|y| y * y).sum();
        assert!(den.sqrt() > 1e-4, "{what}: gradient too small to test");
        let e = (num / den).sqrt();
        assert!(e < tol, "{what}: relative error {e:e} ≥ {tol:e}");
        worst = worst.max(e);
    };
    let (fs, fg) = (&t.forward_state, &f["grad_forward"]);
    grad("∂/∂W1", fs.first.w.a.as_slice(), &fg["W1"], (H, IN));
    grad("∂/∂b1", fs.first.b.a.as_slice(), &fg["b1"], (H, 1));
    for k in 0..2 {
        let (w, b) = (format!("W{}", k + 2), format!("b{}", k + 2));
        grad(&w, fs.hidden[k].w.a.as_slice(), &fg[&w], (H, H));
        grad(&b, fs.hidden[k].b.a.as_slice(), &fg[&b], (H, 1));
        let (v, c) = (format!("V{}", k + 2), format!("c{}", k + 2));
        let ig = &f["inverse"]["grad"];
        grad(&v, t.inverse_state[k].w.a.as_slice(), &ig[&v], (H, H));
        grad(&c, t.inverse_state[k].b.a.as_slice(), &ig[&c], (H, 1));
    }
    grad("∂/∂W4", fs.output.w.a.as_slice(), &fg["W4"], (OUT, H));
    grad("∂/∂b4", fs.output.b.a.as_slice(), &fg["b4"], (OUT, 1));
    worst
}

#[test]
fn noise_blocks_and_bernoulli_samples_match_the_reference_stream() {
    check_draws(&load("dtp_step_tanh_block.json"));
    check_draws(&load("dtp_step_bernoulli_block.json"));
}

/// The tanh case with input noise, whose every noise draw goes through the 128-draw blocks:
/// one step against the reference to 1e-5, and its twelve gradients to 2e-5 (norm-wise; measured 2.0e-6).
#[test]
fn one_dtp_step_with_input_noise_and_noise_blocks_matches_pytorch() {
    let f = load("dtp_step_tanh_block.json");
    let mut t = build::<9, 8, 4, 17>(&f);
    check_step(&mut t, &f);
    let worst = check_gradients(&t, &f, 2e-5);
    eprintln!("tanh block: worst gradient relative error {worst:e}");
}

/// The stochastic wiring: sigmoid units read as Bernoulli samples by the layer above and by
/// the output layer, input noise 0.3, the top target taken at the sample, each layer
/// training on the sample it read. One step against the reference to 1e-5, its twelve
/// gradients to 2e-5 (measured 9.1e-7).
#[test]
fn one_dtp_step_of_bernoulli_units_matches_pytorch() {
    let f = load("dtp_step_bernoulli_block.json");
    let mut t = build::<9, 8, 4, 17>(&f);
    assert_eq!(t.config().units, Units::STOCHASTIC);
    check_step(&mut t, &f);
    let worst = check_gradients(&t, &f, 2e-5);
    eprintln!("Bernoulli block: worst gradient relative error {worst:e}");
}
