//! Any network, one algorithm: a user trains their own layout, batch and data width from the
//! command line and from a TOML file; checkpoints describe their own network.

use std::fs;
use std::path::Path;

use dtp_std::checkpoint;
use dtp_std::model::Model;
use dtp_tests::{timeless_records, timeless_summary};
use tempfile::TempDir;

mod common;
use common::cli::{dtp, load, ok_stdout as ok, s, summary, text};

#[test]
fn a_layout_and_batch_of_ones_own_learn_the_digits() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("run");
    let line = ok(&[
        "train",
        "--layers",
        "64-48-24-10",
        "--batch",
        "7",
        "--epochs",
        "20",
        "--out",
        s(&out),
        "--quiet",
        "--no-plot",
    ]);
    let sum = summary(&out);
    let err = sum["test_error"].as_f64().unwrap();
    assert!(err < 0.10, "test error {err}: {line}");
    assert_eq!(sum["widths"], "64-48-24-10");
    let c = load(&out);
    assert_eq!(c.hyper.batch, 7);
    assert_eq!(c.model.shape().layers, vec![64, 48, 24, 10]);
    assert_eq!(c.model.shape().batch, 7);
    // `dtp info` prints the layout and batch.
    let info = ok(&["info", s(&out)]);
    assert!(info.contains("64-48-24-10"), "{info}");
    assert!(info.contains("minibatch 7"), "{info}");
    assert!(info.contains("layers = \"64-48-24-10\""), "{info}");
    // The run's config.toml holds the same keys.
    let toml = fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        toml.contains("layers = \"64-48-24-10\"") && toml.contains("batch = 7"),
        "{toml}"
    );
}

#[test]
fn a_toml_file_sets_layout_batch_and_units() {
    let tmp = TempDir::new().unwrap();
    let cfg = tmp.path().join("net.toml");
    fs::write(
        &cfg,
        "layers = \"64-40-30-20-10\"\nbatch = 5\nunits = \"discrete\"\nepochs = 2\n",
    )
    .unwrap();
    let out = tmp.path().join("run");
    ok(&[
        "train",
        "--config",
        s(&cfg),
        "--out",
        s(&out),
        "--quiet",
        "--no-plot",
    ]);
    let c = load(&out);
    assert_eq!(c.model.shape().layers, vec![64, 40, 30, 20, 10]);
    assert_eq!(c.hyper.batch, 5);
    let Model::Classifier(classifier) = &c.model else {
        panic!("a classifier")
    };
    assert_eq!(classifier.config().units, dtp_core::Units::DISCRETE);
    assert_eq!(c.model.epoch(), 2);
    // Three hidden layers: four forward layers and two inverses (g_2, g_3).
    let names: Vec<String> = c.model.tensors().iter().map(|t| t.name.clone()).collect();
    for g in ["net.f4.weight", "net.g2.weight", "net.g3.weight"] {
        assert!(names.iter().any(|n| n == g), "{g} missing: {names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n == "net.g4.weight" || n == "net.f5.weight")
    );
    // The written config.toml trains the same network again.
    let again = tmp.path().join("again");
    ok(&[
        "train",
        "--config",
        s(&out.join("config.toml")),
        "--out",
        s(&again),
        "--quiet",
        "--no-plot",
    ]);
    assert_eq!(timeless_summary(&out), timeless_summary(&again));
}

#[test]
fn a_preset_keeps_its_settings_under_another_layout() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("run");
    ok(&[
        "train",
        "--preset",
        "digits-firmware",
        "--layers",
        "auto-16-16-16-auto",
        "--epochs",
        "1",
        "--out",
        s(&out),
        "--quiet",
        "--no-plot",
    ]);
    let c = load(&out);
    let preset = (dtp_std::presets::find("digits-firmware").unwrap().defaults)();
    assert_eq!(c.model.shape().layers, vec![64, 16, 16, 16, 10]);
    assert_eq!(c.hyper.layers.to_string(), "auto-16-16-16-auto");
    assert_eq!(c.hyper.units, preset.units);
    assert_eq!(c.hyper.batch, preset.batch);
    assert_eq!(c.hyper.forward, preset.forward);
    assert_eq!(c.hyper.eta_hat, preset.eta_hat);
}

#[test]
fn a_checkpoint_of_a_new_layout_resumes_bit_for_bit() {
    let tmp = TempDir::new().unwrap();
    let (whole, split) = (tmp.path().join("whole"), tmp.path().join("split"));
    let args = |out: &Path, epochs: &str| {
        vec![
            "train".to_string(),
            "--layers".into(),
            "64-30-20-12-10".into(),
            "--batch".into(),
            "9".into(),
            "--units".into(),
            "stochastic".into(),
            "--input-noise".into(),
            "0.2".into(),
            "--epochs".into(),
            epochs.into(),
            "--out".into(),
            s(out).into(),
            "--quiet".into(),
            "--no-plot".into(),
        ]
    };
    let run = |a: Vec<String>| ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    run(args(&whole, "4"));
    run(args(&split, "2"));
    let mut resume = args(&split, "4");
    resume.push("--resume".into());
    run(resume);
    let bytes = |d: &Path| {
        let c = load(d);
        let mut v = Vec::new();
        for t in c.model.tensors() {
            v.push((t.name.clone(), t.data.to_vec()));
        }
        v
    };
    assert_eq!(bytes(&whole), bytes(&split));
    assert_eq!(timeless_records(&whole), timeless_records(&split));
    // The network is the checkpoint's: resuming with another layout is refused.
    let mut other = args(&split, "5");
    other[2] = "64-30-20-10".into();
    other.push("--resume".into());
    let o = dtp(&other.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("keeps its network"));
}

#[test]
fn a_layout_that_does_not_fit_the_data_stops_before_training() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("run");
    let o = dtp(&[
        "train",
        "--layers",
        "50-20-20-10",
        "--out",
        s(&out),
        "--quiet",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("64 features") && err.contains("50"), "{err}");
    assert!(!out.join(checkpoint::FILE_NAME).exists());
    // Too few classes at the output.
    let o = dtp(&[
        "train",
        "--layers",
        "64-20-20-7",
        "--out",
        s(&out),
        "--quiet",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("10 classes") && err.contains("7"), "{err}");
    // Not a layout at all.
    for bad in ["64-10", "64-x-10", "64-0-10", "64-auto-10"] {
        let o = dtp(&["train", "--layers", bad, "--out", s(&out), "--quiet"]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(bad), "{}", text(&o.stderr));
    }
}

#[test]
fn csv_data_of_any_width_trains_with_auto_ends() {
    // 20 features, 4 classes: each class a bump on its own five features, plus noise.
    let tmp = TempDir::new().unwrap();
    let mut csv = String::new();
    let mut state = 12345u32;
    for i in 0..400 {
        let c = i % 4;
        for f in 0..20 {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f32 / 16_777_216.0 * 0.6;
            let v = if f / 5 == c { 1.0 } else { 0.0 } + noise;
            csv.push_str(&format!("{v:.3},"));
        }
        csv.push_str(&format!("{c}\n"));
    }
    let file = tmp.path().join("bumps.csv");
    fs::write(&file, csv).unwrap();
    let out = tmp.path().join("run");
    ok(&[
        "train",
        "--data",
        s(&file),
        "--layers",
        "auto-16-12-auto",
        "--batch",
        "8",
        "--epochs",
        "15",
        "--out",
        s(&out),
        "--quiet",
        "--no-plot",
    ]);
    let sum = summary(&out);
    assert_eq!(sum["widths"], "20-16-12-4");
    assert!(sum["test_error"].as_f64().unwrap() < 0.1, "{sum}");
    // eval reads the recorded data and the recorded network.
    let e = ok(&["eval", s(&out), "--json"]);
    let e: serde_json::Value = serde_json::from_str(&e).unwrap();
    assert_eq!(e["widths"], "20-16-12-4");
}

/// A `dtp-checkpoint/1` file (written before layouts were settings, by `dtp train --preset
/// digits-firmware --epochs 1` at commit 2641174): test error 27.86 %, valid 22.92 %.
const V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/v1-digits-firmware.safetensors"
);

#[test]
fn checkpoints_of_the_previous_format_still_load_and_continue_the_same_run() {
    let tmp = TempDir::new().unwrap();
    let old = tmp.path().join("old");
    fs::create_dir_all(&old).unwrap();
    fs::copy(V1, old.join(checkpoint::FILE_NAME)).unwrap();
    let c = load(&old);
    assert_eq!(c.model.shape().layers, vec![64, 32, 32, 10]);
    assert_eq!(c.hyper.layers.to_string(), "64-32-32-10");
    assert_eq!(c.model.epoch(), 1);
    let info = ok(&["info", s(&old)]);
    assert!(
        info.contains("64-32-32-10") && info.contains("sign units"),
        "{info}"
    );
    // The same figures as the code that wrote it.
    let e: serde_json::Value = serde_json::from_str(&ok(&["eval", s(&old), "--json"])).unwrap();
    assert!(
        (e["test"]["error"].as_f64().unwrap() - 0.2786).abs() < 5e-5,
        "{e}"
    );
    assert!(
        (e["valid"]["error"].as_f64().unwrap() - 0.2292).abs() < 5e-5,
        "{e}"
    );
    // Resumed by today's code, it is the run today's code trains from scratch: the preset's
    // network and settings take the same steps as before the redesign.
    let new = tmp.path().join("new");
    let common = [
        "--preset",
        "digits-firmware",
        "--epochs",
        "2",
        "--quiet",
        "--no-plot",
    ];
    let mut a = vec!["train", "--out", s(&old), "--resume"];
    a.extend(common);
    ok(&a);
    let mut b = vec!["train", "--out", s(&new)];
    b.extend(common);
    ok(&b);
    let tensors = |d: &Path| {
        load(d)
            .model
            .tensors()
            .iter()
            .map(|t| (t.name.clone(), t.data.to_vec()))
            .collect::<Vec<_>>()
    };
    assert_eq!(tensors(&old), tensors(&new));
}

/// An IDX image file (`rows × cols` u8 pixels) and its label file, in `dir` under MNIST's
/// names.
fn write_idx(dir: &Path, prefix: &str, rows: u32, cols: u32, labels: &[u8], seed: u32) {
    let n = labels.len() as u32;
    let mut img = vec![0, 0, 8, 3];
    for v in [n, rows, cols] {
        img.extend_from_slice(&v.to_be_bytes());
    }
    let mut state = seed;
    for &l in labels {
        for p in 0..rows * cols {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            // Class `l` lights its own band of pixels; noise everywhere.
            let on = p % 12 == u32::from(l);
            img.push(if on { 200 } else { 0 }.max(((state >> 24) % 60) as u8));
        }
    }
    let mut lab = vec![0, 0, 8, 1];
    lab.extend_from_slice(&n.to_be_bytes());
    lab.extend_from_slice(labels);
    fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), img).unwrap();
    fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), lab).unwrap();
}

#[test]
fn idx_data_of_another_size_and_more_classes_trains_with_auto_ends() {
    // 12×12 images, 12 classes (labels 0..=11): not MNIST's 784 and 10.
    let tmp = TempDir::new().unwrap();
    let data = tmp.path().join("idx");
    fs::create_dir_all(&data).unwrap();
    let labels = |n: usize, k: usize| (0..n).map(|i| ((i * 7 + k) % 12) as u8).collect::<Vec<_>>();
    write_idx(&data, "train", 12, 12, &labels(10_600, 0), 1);
    write_idx(&data, "t10k", 12, 12, &labels(600, 5), 2);
    let out = tmp.path().join("run");
    ok(&[
        "train",
        "--preset",
        "mnist-7x240",
        "--data",
        s(&data),
        "--layers",
        "auto-32-24-auto",
        "--batch",
        "50",
        "--epochs",
        "2",
        "--out",
        s(&out),
        "--quiet",
        "--no-plot",
    ]);
    let sum = summary(&out);
    assert_eq!(sum["widths"], "144-32-24-12");
    assert!(sum["test_error"].as_f64().unwrap() < 0.2, "{sum}");
    // The preset's own 784-wide layout does not fit these images: exit 2, naming both widths.
    let o = dtp(&[
        "train",
        "--preset",
        "mnist-7x240",
        "--data",
        s(&data),
        "--out",
        s(&tmp.path().join("other")),
        "--quiet",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("144 features") && err.contains("784"), "{err}");
}

/// `--threads` never changes a result: the same run with one and two threads writes the same
/// checkpoint bytes (every weight, optimiser state and random stream) and the same metrics;
/// `--chunks` is a setting of the run, recorded in its config and checkpoint.
#[test]
fn the_number_of_threads_does_not_change_a_bit() {
    let tmp = TempDir::new().unwrap();
    let run = |threads: &str| {
        let out = tmp.path().join(format!("t{threads}"));
        ok(&[
            "train",
            "--batch",
            "20",
            "--chunks",
            "3",
            "--units",
            "stochastic",
            "--epochs",
            "3",
            "--threads",
            threads,
            "--out",
            s(&out),
            "--no-plot",
            "-q",
        ]);
        out
    };
    let (one, two) = (run("1"), run("2"));
    // Every tensor bit for bit, the settings and both random streams.
    let state = |d: &Path| {
        let c = load(d);
        let tensors: Vec<(String, Vec<u32>)> = c
            .model
            .tensors()
            .into_iter()
            .map(|t| (t.name, t.data.iter().map(|v| v.to_bits()).collect()))
            .collect();
        (tensors, c.hyper, c.train_rng, c.shuffle_rng)
    };
    assert!(state(&one) == state(&two), "the checkpoints differ");
    assert_eq!(timeless_records(&one), timeless_records(&two));
    assert_eq!(load(&one).hyper.chunks, 3);
    assert!(
        fs::read_to_string(one.join("config.toml"))
            .unwrap()
            .contains("chunks = 3")
    );
    // … and the chunks change the run (a different split is a different stream).
    let other = tmp.path().join("c1");
    ok(&[
        "train",
        "--batch",
        "20",
        "--chunks",
        "1",
        "--units",
        "stochastic",
        "--epochs",
        "3",
        "--out",
        s(&other),
        "--no-plot",
        "-q",
    ]);
    assert!(state(&one).0 != state(&other).0);
    // More chunks than samples in a batch is an input error naming the setting.
    let o = dtp(&[
        "train",
        "--batch",
        "4",
        "--chunks",
        "5",
        "--out",
        s(&tmp.path().join("x")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("chunks = 5"),
        "{}",
        text(&o.stderr)
    );
}
