//! `dtp train --arith int` (the `digits-int` preset), as a user runs it: the device's integer
//! DTP step on the desktop. Seed 1 ends with the weights `learn_digits_int` ends with on the
//! Cortex-M0 (the digest in `firmware/int-weights-digest-seed1.txt`, printed); the run
//! directory holds metrics, a summary and an I16 checkpoint that `dtp eval`, `dtp info` and
//! `dtp export` read; the export is the flat i16 parameters a device loads.

use dtp_core::int::{Arrays, Input, IntTrainer, Settings, buffers, params};
use dtp_core::step;
use dtp_std::checkpoint;
use dtp_std::int_model;
use dtp_std::metrics;
use dtp_std::presets;
use rand_pcg::Pcg32;

mod common;
use common::cli::{dtp, ok_stdout as ok, s};

const DEVICE_DIGEST: &str = include_str!("../../firmware/int-weights-digest-seed1.txt");

#[test]
fn digits_int_seed_1_is_the_devices_run_and_its_checkpoint_evaluates_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("di");
    let out = ok(&[
        "train",
        "--preset",
        "digits-int",
        "--seed",
        "1",
        "--out",
        s(&run),
        "--quiet",
    ]);
    let digest = DEVICE_DIGEST.trim();
    assert!(
        out.contains(&format!("weights digest {digest}")),
        "the device's digest {digest} not printed:\n{out}"
    );
    // The run directory: metrics (4 epochs), summary with the digest, an I16 checkpoint.
    assert_eq!(metrics::read(&run).unwrap().len(), 4);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join(metrics::SUMMARY)).unwrap())
            .unwrap();
    assert_eq!(summary["weights_digest"], digest);
    let ckpt = run.join(checkpoint::FILE_NAME);
    assert!(int_model::is_int_checkpoint(&ckpt));
    let c = int_model::load(&ckpt).unwrap();
    assert_eq!(
        format!("{:#010x}", int_model::digest(c.model.t.params())),
        digest
    );
    assert_eq!(c.model.epoch, 4);
    assert_eq!(c.samples_seen, 4 * 1438);
    // dtp eval: the device's held-out figure, 337 of 359.
    let json: serde_json::Value = serde_json::from_str(&ok(&["eval", s(&run), "--json"])).unwrap();
    assert_eq!(json["test"]["samples"], 359);
    let wrong = (json["test"]["error"].as_f64().unwrap() * 359.0).round() as u32;
    assert_eq!(359 - wrong, 337, "{json}");
    assert_eq!(json["weights_digest"], digest);
    // dtp info.
    let info = ok(&["info", s(&run)]);
    for needle in ["digits-int", "64-32-32-10", digest, "net.g2.weight", "I16"] {
        assert!(info.contains(needle), "{needle} not in:\n{info}");
    }
    // dtp export: the flat i16 parameters, little-endian.
    let bin = dir.path().join("w.bin");
    ok(&["export", s(&run), "--firmware", s(&bin)]);
    let bytes = std::fs::read(&bin).unwrap();
    const W: [usize; 4] = [64, 32, 32, 10];
    assert_eq!(bytes.len(), 2 * params(&W));
    let expected: Vec<u8> = c
        .model
        .t
        .params()
        .iter()
        .flat_map(|p| p.to_le_bytes())
        .collect();
    assert_eq!(bytes, expected);
    // …which a device-side trainer loads with params_mut().copy_from_slice, and classifies the
    // held-out digits as the device does.
    type Net = Arrays<4, { params(&W) }, { buffers(&W) }>;
    let mut t = Box::new(IntTrainer::new(Net::new(W), Settings::DIGITS));
    let loaded: Vec<i16> = bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    t.params_mut().copy_from_slice(&loaded);
    let held = dtp_std::datasets::load(presets::DataKind::FirmwareDigits, None)
        .unwrap()
        .test;
    let mut rng = Pcg32::new(1, 2);
    let mut correct = 0;
    let mut x = vec![0f32; 64];
    for i in 0..held.len() {
        let label = held.sample_into(i, &mut x);
        for (d, &v) in t.input_mut().iter_mut().zip(&x) {
            *d = Input::from_4bit((v * 15.0).round() as u8).0;
        }
        t.set_label(u16::from(label));
        correct += step::evaluate(&mut *t, &mut rng).unwrap().correct;
    }
    assert_eq!(correct, 337);
}

#[test]
fn a_short_int_run_and_what_int_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("short");
    ok(&[
        "train",
        "--preset",
        "digits-int",
        "--epochs",
        "1",
        "--out",
        s(&run),
        "-q",
    ]);
    assert_eq!(metrics::read(&run).unwrap().len(), 1);
    assert!(
        run.join(dtp_std::plot::FILE_NAME).is_file(),
        "no curves.png"
    );
    let eval = ok(&["eval", s(&run)]);
    assert!(eval.contains("integer arithmetic"), "{eval}");
    for (k, (args, needle)) in [
        (vec!["--preset", "digits-int", "--batch", "10"], "batch"),
        (vec!["--arith", "int"], "batch"),
        (
            vec!["--preset", "digits-int", "--units", "discrete"],
            "units",
        ),
        (
            vec!["--preset", "digits-int", "--optimiser", "rmsprop"],
            "SGD",
        ),
        (
            vec!["--preset", "digits-int", "--layers", "64-32-10"],
            "layout",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let out = dir.path().join(format!("bad{k}"));
        let mut a = vec!["train", "--out", s(&out), "-q", "--epochs", "1"];
        a.extend(args.iter().copied());
        let o = dtp(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.contains(needle), "{a:?}: {needle} not in {err}");
    }
}
