//! One DTP step of a convolutional net against an independent PyTorch (autograd, float64)
//! implementation: `tests/parity/conv_step_torch.py` wrote `tests/fixtures/conv_step.json`
//! for `1x6x6-c3k3s1p1-c4k3s2p1-12-5` (two tanh convolutions by `conv2d`, a dense layer, a
//! softmax output; the inverse of the second convolution a `conv_transpose2d` with its own
//! weights, the dense layer's a dense tanh map), batch 4, weights drawn by the script. The
//! fixture holds the activations, the output and loss, the top and difference targets, every
//! forward layer's gradient (local losses; the exact one for the output layer) and both
//! inverses' reconstruction gradients at σ = 0; the [`ConvTrainer`]'s must match to 1e-5
//! (relative to the larger of 1 and the value's size; it computes in f32).

mod common;

use dtp_core::conv::{ConvNet, ConvTrainer, DMat, Kind};
use dtp_core::{
    Config, Dyn, Feedback, LayerSet, LrDecay, Optimiser, Schedule, SigmaSchedule, Units,
};
use rand_pcg::Pcg32;
use serde_json::Value;

fn load() -> Value {
    let path = format!("{}/fixtures/conv_step.json", env!("CARGO_MANIFEST_DIR"));
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

fn close(what: &str, ours: &[f32], theirs: &[f32]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: sizes");
    for (i, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
        let tol = 1e-5 * b.abs().max(1.0);
        assert!(
            (a - b).abs() <= tol,
            "{what}[{i}]: ours {a}, PyTorch {b} (difference {})",
            (a - b).abs()
        );
    }
}

fn close_mat(what: &str, ours: &DMat, theirs: &Value) {
    let theirs = mat(theirs);
    assert_eq!(ours.shape(), theirs.shape(), "{what}: shape");
    close(what, ours.as_slice(), theirs.as_slice());
}

fn trainer(f: &Value) -> ConvTrainer {
    let (image, specs) = (common::conv_nets::SMALL_IMAGE, common::conv_nets::SMALL);
    let mut net = ConvNet::new(image, &specs).unwrap();
    assert!(matches!(net.inverse[0].kind, Kind::ConvTranspose(_)));
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

#[test]
fn one_conv_dtp_step_matches_pytorch_autograd() {
    let f = load();
    let mut t = trainer(&f);
    let mut rng = Pcg32::new(1, 1);
    let stats = t.forward_pass(false, &mut rng).unwrap();
    for (i, h) in t.activations().iter().enumerate() {
        close_mat(&format!("h{}", i + 1), h, &f["h"][i]);
    }
    close_mat("p", t.output(), &f["p"]);
    close("loss", &[stats.loss], &[f["loss"].as_f64().unwrap() as f32]);

    // Step 4 at σ = 0 (the reconstruction gradients of g_2, a transposed convolution, and
    // g_3, dense), before the targets so that the inverses are the fixture's.
    for i in 2..=3 {
        let loss = t.inverse_gradient(i, 0.0, &mut rng);
        let g = &t.grad_inverse[i - 2];
        close_mat(&format!("grad g{i} weight"), &g.w, &f["grad_g"][i - 2]["w"]);
        close(
            &format!("grad g{i} bias"),
            g.b.as_slice(),
            column(&f["grad_g"][i - 2]["b"]).as_slice(),
        );
        let want = f["inverse_loss"][i - 2].as_f64().unwrap() as f32;
        close(&format!("reconstruction loss of g{i}"), &[loss], &[want]);
    }

    // Steps 2 and 3: the top target, then the difference targets through g_3 and g_2.
    t.top_target().unwrap();
    t.difference_targets().unwrap();
    for (i, target) in t.targets().iter().enumerate() {
        close_mat(&format!("target {}", i + 1), target, &f["targets"][i]);
    }

    // Step 5's gradients: the hidden layers' local losses, the output layer's exact one.
    t.local_gradients();
    for (i, g) in t.grad_forward.iter().enumerate() {
        close_mat(
            &format!("grad f{} weight", i + 1),
            &g.w,
            &f["grad_f"][i]["w"],
        );
        close(
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
    close("local losses", &t.local_loss, &want);
}
