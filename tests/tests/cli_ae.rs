//! The `mnist-ae` preset through the `dtp` CLI, on a small generated IDX dataset: the
//! 784-1000-784 denoising auto-encoder trains by DTP, its reconstruction error falls, the
//! linear probe on its codes beats chance by far, the run resumes bit-identically, and the
//! run directory holds the filters image. On real MNIST (when present; always in CI), the
//! probe on its codes beats the pixel probe and the codes of a frozen encoder.
//!
//! The MNIST split keeps the last 10,000 training images for validation, so the generated
//! training file holds 10,000 + 1,000 images: 10 minibatches of 100 per epoch.

use std::fs;
use std::path::Path;
use std::process::Output;

use dtp_std::checkpoint;
use dtp_std::metrics;
use dtp_std::model::{AeModel, Model, ModelKind};
use dtp_tests::{timeless_records, timeless_summary};
use tempfile::TempDir;

mod common;
use common::cli::{load, plain_command, s, stdout, succeeded, summary};

/// The auto-encoder of a loaded `mnist-ae` checkpoint.
fn ae(m: &Model) -> &AeModel {
    match m {
        Model::Autoencoder(a) => a,
        _ => panic!("not an auto-encoder"),
    }
}

const TRAIN: usize = 1_000;
const VALID: usize = 10_000;
const TEST: usize = 500;

/// `dtp args` with the binary's own thread count (no `DTP_THREADS`).
fn dtp(args: &[&str]) -> Output {
    plain_command(args)
        .env("MATMUL_NUM_THREADS", "1")
        .output()
        .expect("run dtp-cli")
}

fn ok(args: &[&str]) -> String {
    stdout(&succeeded(args, dtp(args)))
}

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

/// `count` 28×28 images of 10 classes: class `c` is a horizontal bar at row `4 + 2c` and a
/// vertical bar at column `23 − 2c` (both 2 pixels thick), shifted by up to one pixel, with
/// uniform noise; labels cycle through the classes in a shuffled order.
fn images(count: usize, rng: &mut Lcg) -> (Vec<u8>, Vec<u8>) {
    let mut img = vec![0, 0, 8, 3];
    for x in [count as u32, 28, 28] {
        img.extend_from_slice(&x.to_be_bytes());
    }
    let mut lab = vec![0, 0, 8, 1];
    lab.extend_from_slice(&(count as u32).to_be_bytes());
    for _ in 0..count {
        let c = (rng.next() % 10) as usize;
        let (dr, dc) = (rng.next() % 3, rng.next() % 3);
        let row = 3 + 2 * c + dr as usize;
        let col = 22 - 2 * c + dc as usize;
        for r in 0..28 {
            for k in 0..28 {
                let on = (r == row || r == row + 1) && (4..24).contains(&k)
                    || (k == col || k == col + 1) && (4..24).contains(&r);
                let noise = (rng.next() % 60) as u8;
                img.push(if on { 195 + noise } else { noise });
            }
        }
        lab.push(c as u8);
    }
    (img, lab)
}

/// A generated MNIST directory: `TRAIN + VALID` training images, `TEST` test images.
fn dataset(dir: &Path) {
    let mut rng = Lcg(7);
    let (img, lab) = images(TRAIN + VALID, &mut rng);
    fs::write(dir.join("train-images-idx3-ubyte"), img).unwrap();
    fs::write(dir.join("train-labels-idx1-ubyte"), lab).unwrap();
    let (img, lab) = images(TEST, &mut rng);
    fs::write(dir.join("t10k-images-idx3-ubyte"), img).unwrap();
    fs::write(dir.join("t10k-labels-idx1-ubyte"), lab).unwrap();
}

fn train(data: &Path, out: &Path, epochs: u32, extra: &[&str]) -> String {
    let e = epochs.to_string();
    let mut args = vec![
        "train",
        "--preset",
        "mnist-ae",
        "--data",
        s(data),
        "--out",
        s(out),
        "--epochs",
        &e,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ok(&args)
}

/// Width and height of a PNG file, and whether it is 8-bit grayscale.
fn png_header(path: &Path) -> (u32, u32, bool) {
    let b = fs::read(path).unwrap();
    assert!(
        b.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is no PNG",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    (be(16), be(20), b[24] == 8 && b[25] == 0)
}

#[test]
fn mnist_ae_trains_probes_reports_and_has_a_backprop_baseline() {
    let dir = TempDir::new().unwrap();
    let (data, out) = (dir.path().join("mnist"), dir.path().join("run"));
    fs::create_dir(&data).unwrap();
    dataset(&data);
    let line = train(&data, &out, 4, &[]);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains("mnist-ae 784-1000-784 DTP: reconstruction error test"),
        "{line}"
    );

    // Per-epoch metrics: the reconstruction error of held-out images falls.
    let r = metrics::read(&out).unwrap();
    assert_eq!(r.len(), 4);
    assert!(r.iter().all(|e| e.kind == ModelKind::Autoencoder));
    let rec: Vec<f64> = r.iter().map(|e| e.valid_loss).collect();
    println!("valid reconstruction per epoch: {rec:?}");
    assert!(rec[3] < 0.8 * rec[0], "{rec:?}");
    assert!(r[3].test_loss < r[0].test_loss);
    assert_eq!(r[3].local_loss.len(), 2, "encoder and decoder losses");
    assert!(r[3].local_loss.iter().all(|v| v.is_finite() && *v > 0.0));
    let csv = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with("encoder_loss,decoder_loss")
    );
    assert_eq!(csv.lines().count(), 5);

    // The summary: the final linear probe on the codes beats chance (90 % error) by far.
    let sm = summary(&out);
    let test_error = sm["test_error"].as_f64().unwrap();
    println!(
        "probe on codes {test_error}, on pixels {}",
        sm["pixel_probe"]["test_error"]
    );
    assert!(test_error < 0.3, "probe test error {test_error}");
    assert_eq!(sm["probe"]["test_error"], sm["test_error"]);
    assert_eq!(sm["probe"]["width"], 1000);
    assert_eq!(sm["pixel_probe"]["width"], 784);
    let rec_test = sm["reconstruction"]["test"].as_f64().unwrap();
    assert!(rec_test > 0.0 && rec_test < r[0].test_loss, "{sm}");
    assert_eq!(sm["epochs"], 4);

    // Files: checkpoint with the final probe, filters (10 × 10 grid of 28×28 at 2×), curves.
    assert_eq!(png_header(&out.join("filters.png")), (582, 582, true));
    png_header(&out.join("curves.png"));
    let c = load(&out);
    assert_eq!(c.model.epoch(), 4);
    assert_eq!(ae(&c.model).finished().map(|f| f.epoch), Some(4));

    // eval agrees with the summary; info, plot and export behave.
    let e: serde_json::Value =
        serde_json::from_str(&ok(&["eval", s(&out), "--data", s(&data), "--json"])).unwrap();
    assert_eq!(e["kind"], "autoencoder");
    assert_eq!(e["probe"], "final");
    assert_eq!(e["test"]["error"], sm["test_error"]);
    assert_eq!(e["test"]["loss"], sm["reconstruction"]["test"]);
    assert_eq!(e["test"]["samples"], TEST);
    let text = ok(&["eval", s(&out), "--data", s(&data)]);
    assert!(text.contains("reconstruction error") && text.contains("final linear probe"));
    let info = ok(&["info", s(&out)]);
    for needle in [
        "784-1000-784",
        "net.f1.weight",
        "[1000, 784]",
        "net.g1.weight",
        "[784, 1000]",
        "probe.final.weight",
        "final probe fitted on the weights of epoch 4",
    ] {
        assert!(info.contains(needle), "{needle:?} not in:\n{info}");
    }
    fs::remove_file(out.join("filters.png")).unwrap();
    fs::remove_file(out.join("curves.png")).unwrap();
    let p = ok(&["plot", s(&out)]);
    assert!(p.contains("filters.png"), "{p}");
    assert!(out.join("filters.png").is_file() && out.join("curves.png").is_file());
    let o = dtp(&[
        "export",
        s(&out),
        "--firmware",
        s(&dir.path().join("x.bin")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("classifiers only"));

    // A NaN (an overflowing learning rate) stops with exit 3 and keeps the checkpoint.
    let before = fs::read(out.join(checkpoint::FILE_NAME)).unwrap();
    let o = dtp(&[
        "train",
        "--out",
        s(&out),
        "--data",
        s(&data),
        "--resume",
        "--epochs",
        "5",
        "--lr-forward",
        "1e38",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("epoch 5: NaN or infinity") && err.contains("(epoch 4)"),
        "{err}"
    );
    assert_eq!(fs::read(out.join(checkpoint::FILE_NAME)).unwrap(), before);
    // The backprop baseline of the same shape trains too (no hidden target: null encoder
    // loss in the metrics).
    let c = dir.path().join("bp");
    train(&data, &c, 2, &["--algo", "bp", "--no-plot"]);
    let r = metrics::read(&c).unwrap();
    assert!(r[1].local_loss[0].is_nan() && r[1].local_loss[1].is_finite());
    assert!(r[1].valid_loss < r[0].valid_loss);
    assert!(summary(&c)["test_error"].as_f64().unwrap() < 0.5);

    // `--out` elsewhere: the filters go next to it; several runs: reconstruction curves.
    let single = dir.path().join("dtp.png");
    ok(&["plot", s(&out), "--out", s(&single)]);
    assert!(png_header(&dir.path().join("dtp-filters.png")).2);
    let both = dir.path().join("both.png");
    ok(&["plot", s(&out), s(&c), "--out", s(&both)]);
    png_header(&both);
}

/// The records without their wall-clock fields.
/// A run of `extra` settings interrupted in epoch 2 and resumed ends with the bits of an
/// uninterrupted one; returns the uninterrupted run's directory (inside `dir`).
fn resume_is_bit_identical(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let data = dir.join("mnist");
    if !data.exists() {
        fs::create_dir(&data).unwrap();
        dataset(&data);
    }
    let tag = extra.join("");
    let (a, b) = (dir.join(format!("a{tag}")), dir.join(format!("b{tag}")));
    let mut flags = vec!["--seed", "4", "--no-plot"];
    flags.extend_from_slice(extra);
    train(&data, &a, 3, &flags);
    // 10 batches an epoch: abort in epoch 2, after the checkpoint of epoch 1.
    let mut args = vec![
        "train",
        "--preset",
        "mnist-ae",
        "--data",
        s(&data),
        "--out",
        s(&b),
        "--epochs",
        "3",
        "--seed",
        "4",
        "--quiet",
        "--no-plot",
        "--abort-after-batches",
        "15",
    ];
    args.extend_from_slice(extra);
    let o = dtp(&args);
    assert!(!o.status.success());
    assert_eq!(load(&b).model.epoch(), 1);
    assert!(ae(&load(&b).model).finished().is_none());
    ok(&[
        "train",
        "--out",
        s(&b),
        "--data",
        s(&data),
        "--resume",
        "--quiet",
        "--no-plot",
    ]);
    let (x, y) = (load(&a), load(&b));
    assert_eq!(x.train_rng, y.train_rng);
    assert_eq!(x.shuffle_rng, y.shuffle_rng);
    assert_eq!(ae(&x.model).finished(), ae(&y.model).finished());
    let bits = |d: &[f32]| d.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let (tx, ty) = (x.model.tensors(), y.model.tensors());
    assert_eq!(tx.len(), ty.len());
    for (p, q) in tx.iter().zip(&ty) {
        assert_eq!(p.name, q.name);
        assert!(bits(p.data) == bits(q.data), "tensor {} differs", p.name);
    }
    assert_eq!(timeless_records(&a), timeless_records(&b));
    assert_eq!(timeless_summary(&a), timeless_summary(&b));
    a
}

#[test]
fn mnist_ae_resume_is_bit_identical() {
    let dir = TempDir::new().unwrap();
    resume_is_bit_identical(dir.path(), &[]);
}

/// `--input-mask` (masking corruption): recorded in the run's settings, taken up again on
/// resume (bit-identical), and used (the weights differ from the unmasked run's); refused
/// for a classifier, which has no use for it, with exit 2 and no run directory left (as is
/// `--init-scale`).
#[test]
fn input_mask_is_recorded_resumed_and_used() {
    let dir = TempDir::new().unwrap();
    let plain = resume_is_bit_identical(dir.path(), &[]);
    let masked = resume_is_bit_identical(dir.path(), &["--input-mask", "0.25"]);
    let config = fs::read_to_string(masked.join("config.toml")).unwrap();
    assert!(config.contains("input_mask = 0.25"), "{config}");
    let (x, y) = (load(&plain), load(&masked));
    let w = |c: &checkpoint::Checkpoint| c.model.tensors()[0].data.to_vec();
    assert_ne!(w(&x), w(&y), "the mask changed nothing");

    let out = dir.path().join("classifier");
    let o = dtp(&["train", "--input-mask", "0.3", "--out", s(&out), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--input-mask 0.3"), "{err}");
    assert!(!out.exists(), "a refused run left {}", out.display());
    let o = dtp(&["train", "--init-scale", "0.5", "--out", s(&out), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--init-scale 0.5"), "{err}");
    assert!(!out.exists(), "a refused run left {}", out.display());
}

/// `--tied-weights`: recorded in the run's settings, taken up again on resume (bit-identical),
/// used (the decoder's saved weights are the encoder's transpose, bit for bit, and differ from
/// the untied run's), `--tied-weights false` is the untied run; refused for a classifier.
#[test]
fn tied_weights_are_recorded_resumed_and_used() {
    let dir = TempDir::new().unwrap();
    let plain = resume_is_bit_identical(dir.path(), &[]);
    let tied = resume_is_bit_identical(dir.path(), &["--tied-weights"]);
    let config = fs::read_to_string(tied.join("config.toml")).unwrap();
    assert!(config.contains("tied_weights = true"), "{config}");
    let (x, y) = (load(&plain), load(&tied));
    let (enc, dec) = (&ae(&y.model).ae.encoder.w, &ae(&y.model).ae.decoder.w);
    assert_eq!(*dec, enc.transpose(), "the saved decoder is not Wᵀ");
    assert_ne!(ae(&x.model).ae.encoder.w, *enc, "tying changed nothing");
    let untied = resume_is_bit_identical(dir.path(), &["--tied-weights", "false"]);
    assert_eq!(
        ae(&load(&untied).model).ae.encoder.w,
        ae(&x.model).ae.encoder.w
    );

    let out = dir.path().join("classifier");
    let o = dtp(&["train", "--tied-weights", "--out", s(&out), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--tied-weights"), "{err}");
    assert!(!out.exists(), "a refused run left {}", out.display());
}

/// The real MNIST directory, or `None` (skip, with a note) when it is absent; under
/// `CI=true`, where `.ci/run` fetches it, its absence fails the test.
fn real_mnist() -> Option<std::path::PathBuf> {
    let dir = dtp_std::data::default_data_dir().join("mnist");
    if dir.is_dir() {
        return Some(dir);
    }
    let help = dtp_std::data::missing_data_help(&dir, "mnist");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but MNIST is missing (.ci/run fetches it): {help}"
    );
    println!("note: skipping the real-MNIST auto-encoder check: {help}");
    None
}

/// `(probe on the codes, probe on the pixels)` test errors of one epoch of `mnist-ae` on
/// real MNIST, seed 1, with `extra` flags.
fn real_mnist_probes(data: &Path, extra: &[&str]) -> (f64, f64) {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    let args = [&["--seed", "1", "--no-plot"][..], extra].concat();
    train(data, &out, 1, &args);
    let sm = summary(&out);
    (
        sm["test_error"].as_f64().unwrap(),
        sm["pixel_probe"]["test_error"].as_f64().unwrap(),
    )
}

/// On real MNIST (50k training images), one epoch of DTP makes codes that a linear probe
/// classifies better than the raw pixels, and better than the codes of the untrained encoder
/// (the control: `--lr-forward 0`, the encoder frozen at its random orthogonal start, the
/// decoder still learning). Measured, one epoch each, seeds 1 / 2 / 3 (`dtp train --preset
/// mnist-ae --epochs 1 --seed S [--lr-forward 0]`, ~1 min a run on one thread): probe on
/// DTP's codes 4.89 / 4.70 / 4.86 %, on the pixels 7.40 / 7.44 / 7.35 % (2.49–2.74 points
/// behind), on the frozen encoder's codes 8.85 / 8.36 / 8.80 % (3.66–3.96 points behind).
/// Margins: the codes' probe ≥ 1.5 points below the pixels' and ≥ 2 points below the frozen
/// encoder's; the test runs seed 1.
#[test]
fn mnist_ae_codes_beat_the_pixel_probe_and_the_frozen_encoder_on_real_mnist() {
    let Some(data) = real_mnist() else {
        return;
    };
    let (codes, pixels) = real_mnist_probes(&data, &[]);
    let (frozen, _) = real_mnist_probes(&data, &["--lr-forward", "0"]);
    println!(
        "real MNIST, 1 epoch: probe on DTP codes {codes:.4}, on pixels {pixels:.4}, on the \
         frozen encoder's codes {frozen:.4}"
    );
    assert!(codes <= pixels - 0.015, "codes {codes} vs pixels {pixels}");
    assert!(
        codes <= frozen - 0.02,
        "codes {codes} vs frozen encoder {frozen}"
    );
}
