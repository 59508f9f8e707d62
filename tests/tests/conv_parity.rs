//! One DTP step of a convolutional net against an independent PyTorch (autograd, float64)
//! implementation, `tests/parity/conv_step_torch.py`, on two nets:
//!
//! * `tests/fixtures/conv_step.json`: `1x6x6-c3k3s1p1-c4k3s2p1-12-5` ([`conv_nets::SMALL`]):
//!   two tanh convolutions by `conv2d`, a dense layer, a softmax output; the inverse of the
//!   second convolution a `conv_transpose2d` with its own weights ([`Kind::ConvTranspose`]),
//!   the dense layer's a dense tanh map;
//! * `tests/fixtures/local_step.json` (the script's `--local`): the same net with both
//!   convolutions locally connected, `1x6x6-l3k3s1p1-l4k3s2p1-12-5`
//!   ([`conv_nets::SMALL_LOCAL`]): in torch, patches by `F.unfold` and a weight per position
//!   by `einsum`, a bias per output unit ([`Kind::Local`]); the inverse of the second layer
//!   its transpose with its own weights per position, summed back into the image by `F.fold`
//!   (col2im), a bias per input unit ([`Kind::LocalTranspose`]).
//!
//! Batch 4, weights drawn by the script. Each fixture holds the activations, the output and
//! loss, the top and difference targets, every forward layer's gradient (local losses; the
//! exact one for the output layer) and both inverses' reconstruction gradients at σ = 0; the
//! [`ConvTrainer`]'s must match to 1e-5 (relative to the larger of 1 and the value's size; it
//! computes in f32).

mod common;

use common::conv_nets;
use dtp_core::conv::{ConvNet, ConvTrainer, DMat, Kind, LayerSpec};
use dtp_core::{
    Config, Dyn, Feedback, LayerSet, LrDecay, Optimiser, Schedule, SigmaSchedule, Units,
};
use rand_pcg::Pcg32;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture exists"))
        .expect("valid JSON")
}

/// A fixture matrix (list of rows).
fn mat(v: &Value) -> DMat {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).expect("list of rows");
    let (r, c) = (rows.len(), rows.first().map_or(0, Vec::len));
    DMat::from_fn_generic(Dyn(r), Dyn(c), |i, j| rows[i][j] as f32)
}

/// A fixture vector as a column.
fn column(v: &Value) -> DMat {
    let values: Vec<f64> = serde_json::from_value(v.clone()).expect("list");
    DMat::from_fn_generic(Dyn(values.len()), Dyn(1), |i, _| values[i] as f32)
}

/// The comparisons of one fixture, keeping the largest absolute difference seen and the
/// largest in units of the tolerance's scale (the larger of 1 and the value's size).
#[derive(Default)]
struct Compare {
    worst: f32,
    worst_scaled: f32,
}

impl Compare {
    fn close(&mut self, what: &str, ours: &[f32], theirs: &[f32]) {
        assert_eq!(ours.len(), theirs.len(), "{what}: sizes");
        for (i, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
            let tol = 1e-5 * b.abs().max(1.0);
            assert!(
                (a - b).abs() <= tol,
                "{what}[{i}]: ours {a}, PyTorch {b} (difference {})",
                (a - b).abs()
            );
            self.worst = self.worst.max((a - b).abs());
            self.worst_scaled = self.worst_scaled.max((a - b).abs() / b.abs().max(1.0));
        }
    }

    fn close_mat(&mut self, what: &str, ours: &DMat, theirs: &Value) {
        let theirs = mat(theirs);
        assert_eq!(ours.shape(), theirs.shape(), "{what}: shape");
        self.close(what, ours.as_slice(), theirs.as_slice());
    }
}

/// The net of `specs` on [`conv_nets::SMALL_IMAGE`] with the fixture's parameters and
/// minibatch, in a trainer of the fixture's η̂ at σ = 0.
fn trainer(f: &Value, specs: &[LayerSpec]) -> ConvTrainer {
    let mut net = ConvNet::new(conv_nets::SMALL_IMAGE, specs).unwrap();
    for (layer, spec) in net.forward.iter().zip(specs) {
        match spec {
            LayerSpec::Conv { .. } => assert!(matches!(layer.kind, Kind::Conv(_))),
            LayerSpec::Local { .. } => assert!(matches!(layer.kind, Kind::Local(_))),
            LayerSpec::Dense(_) => assert!(matches!(layer.kind, Kind::Dense)),
        }
    }
    match specs[1] {
        LayerSpec::Conv { .. } => assert!(matches!(net.inverse[0].kind, Kind::ConvTranspose(_))),
        LayerSpec::Local { .. } => assert!(matches!(net.inverse[0].kind, Kind::LocalTranspose(_))),
        LayerSpec::Dense(_) => panic!("the second layer of a parity net is not dense"),
    }
    assert!(matches!(net.inverse[1].kind, Kind::Dense));
    let layers = net.forward.iter_mut().zip(f["f"].as_array().unwrap());
    let inverses = net.inverse.iter_mut().zip(f["g"].as_array().unwrap());
    for (layer, v) in layers.chain(inverses) {
        let (w, b) = (mat(&v["w"]), column(&v["b"]));
        assert_eq!(layer.params.w.shape(), w.shape(), "weight shape");
        assert_eq!(layer.params.b.nrows(), b.nrows(), "bias length");
        layer.params.w.copy_from(&w);
        layer.params.b.as_mut_slice().copy_from_slice(b.as_slice());
    }
    let config = Config {
        units: Units::CONTINUOUS,
        eta_hat: f["eta_hat"].as_f64().unwrap() as f32,
        forward: Optimiser::rmsprop(1e-3),
        inverse: Optimiser::rmsprop(1e-3),
        sigma: SigmaSchedule::constant(0.0),
        input_noise: 0.0,
        schedule: Schedule::Alternating,
        lr_decay: LrDecay::NONE,
        feedback: Feedback::Dtp,
        frozen: LayerSet::NONE,
    };
    let batch = f["batch"].as_u64().unwrap() as usize;
    let mut t = ConvTrainer::new(net, batch, config).unwrap();
    let x = mat(&f["x"]);
    let labels: Vec<usize> = serde_json::from_value(f["labels"].clone()).unwrap();
    let (xs, ts) = t.batch_mut();
    xs.copy_from(&x);
    ts.fill(0.0);
    for (b, &l) in labels.iter().enumerate() {
        ts[(l, b)] = 1.0;
    }
    t
}

/// One DTP step of the net `specs` against the fixture `name` (printing the largest
/// differences seen).
fn dtp_step_matches_pytorch(name: &str, specs: &[LayerSpec]) {
    let f = load(name);
    let mut c = Compare::default();
    let mut t = trainer(&f, specs);
    let mut rng = Pcg32::new(1, 1);
    let stats = t.forward_pass(false, &mut rng).unwrap();
    for (i, h) in t.activations().iter().enumerate() {
        c.close_mat(&format!("h{}", i + 1), h, &f["h"][i]);
    }
    c.close_mat("p", t.output(), &f["p"]);
    c.close("loss", &[stats.loss], &[f["loss"].as_f64().unwrap() as f32]);

    // Step 4 at σ = 0 (the reconstruction gradients of g_2, a transposed convolution or the
    // transpose of a locally connected layer, and g_3, dense), before the targets so that
    // the inverses are the fixture's.
    for i in 2..=3 {
        let loss = t.inverse_gradient(i, 0.0, &mut rng);
        let g = &t.grad_inverse[i - 2];
        c.close_mat(&format!("grad g{i} weight"), &g.w, &f["grad_g"][i - 2]["w"]);
        c.close(
            &format!("grad g{i} bias"),
            g.b.as_slice(),
            column(&f["grad_g"][i - 2]["b"]).as_slice(),
        );
        let want = f["inverse_loss"][i - 2].as_f64().unwrap() as f32;
        c.close(&format!("reconstruction loss of g{i}"), &[loss], &[want]);
    }

    // Steps 2 and 3: the top target, then the difference targets through g_3 and g_2.
    t.top_target().unwrap();
    t.difference_targets().unwrap();
    for (i, target) in t.targets().iter().enumerate() {
        c.close_mat(&format!("target {}", i + 1), target, &f["targets"][i]);
    }

    // Step 5's gradients: the hidden layers' local losses, the output layer's exact one.
    t.local_gradients();
    for (i, g) in t.grad_forward.iter().enumerate() {
        c.close_mat(
            &format!("grad f{} weight", i + 1),
            &g.w,
            &f["grad_f"][i]["w"],
        );
        c.close(
            &format!("grad f{} bias", i + 1),
            g.b.as_slice(),
            column(&f["grad_f"][i]["b"]).as_slice(),
        );
    }
    let want: Vec<f32> = serde_json::from_value::<Vec<f64>>(f["local_loss"].clone())
        .unwrap()
        .into_iter()
        .map(|v| v as f32)
        .collect();
    c.close("local losses", &t.local_loss, &want);
    println!(
        "{name}: largest |ours − PyTorch| = {:e} ({:e} of max(1, |PyTorch|))",
        c.worst, c.worst_scaled
    );
}

#[test]
fn one_conv_dtp_step_matches_pytorch_autograd() {
    dtp_step_matches_pytorch("conv_step.json", &conv_nets::SMALL);
}

#[test]
fn one_locally_connected_dtp_step_matches_pytorch_autograd() {
    dtp_step_matches_pytorch("local_step.json", &conv_nets::SMALL_LOCAL);
}
