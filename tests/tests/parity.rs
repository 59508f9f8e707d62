//! Parity with an independent implementation: one full DTP step of the Rust core against
//! `tests/fixtures/dtp_step.json`, written by the PyTorch autograd script
//! `tests/parity/dtp_step_torch.py` (targets, inverse update, forward update, RMSprop state).

use dtp_core::noise::{add_gaussian, normal_pair, standard_normal};
use dtp_core::{
    Config, Const, DenseState, FixedTrainer, Init, Mat, Moments, Optimiser, Schedule,
    SigmaSchedule, Units,
};
use rand_core::Rng;
use rand_pcg::Pcg32;
use serde_json::Value;

type Step = FixedTrainer<6, 5, 4, 2, 3>;
const TOL: f32 = 1e-5;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dtp_step.json");
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

fn build(f: &Value) -> Step {
    let h = &f["hyper"];
    let g = |k: &str| h[k].as_f64().unwrap() as f32;
    let config = Config {
        units: Units::CONTINUOUS,
        eta_hat: g("eta_hat"),
        forward: Optimiser::rmsprop(g("lr_f")),
        inverse: Optimiser::rmsprop(g("lr_inv")),
        sigma: SigmaSchedule::constant(g("sigma")),
        input_noise: 0.0,
        schedule: Schedule::Interleaved,
        lr_decay: dtp_core::LrDecay::NONE,
        feedback: dtp_core::Feedback::Dtp,
    };
    let mut t = Step::new(config, Init::Orthogonal, &mut Pcg32::new(0, 0)).unwrap();
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
    let mut t = build(&f);
    let stats = t.step(&mut rng(&f)).expect("finite step");

    let fw = &f["forward"];
    assert!((stats.loss - fw["loss"].as_f64().unwrap() as f32).abs() < TOL);
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
