//! The `dtp` CLI run as a user runs it: a separate process, its exit code, its files.
//!
//! The binary is `dtp-cli`, built by this crate from dtp-std's own `src/bin/dtp.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use dtp_core::blob;
use dtp_std::checkpoint;
use dtp_std::datasets;
use dtp_std::metrics::{self, EpochRecord};
use dtp_std::presets::{
    DataKind, DigitsTrainer, FIRMWARE_UNITS, FirmwareTrainer, digits_config, firmware_config,
};
use dtp_tests::{accuracy, generated_cifar, timeless_records, timeless_summary};
use rand_pcg::Pcg32;
use tempfile::TempDir;

mod common;
use common::cli::{bad_input, command, dtp, load, ok_stdout as ok, s, stderr};

fn train_digits(out: &Path, epochs: u32, extra: &[&str]) -> String {
    let e = epochs.to_string();
    let mut args = vec!["train", "--out", s(out), "--epochs", &e, "--quiet"];
    args.extend_from_slice(extra);
    ok(&args)
}

/// The records without their wall-clock fields.
fn assert_same_run(a: &Path, b: &Path) {
    let (x, y) = (load(a), load(b));
    assert_eq!(x.model.epoch(), y.model.epoch());
    assert_eq!(x.train_rng, y.train_rng);
    assert_eq!(x.shuffle_rng, y.shuffle_rng);
    for (p, q) in x.model.tensors().iter().zip(y.model.tensors()) {
        assert_eq!(p.name, q.name);
        let bits = |d: &[f32]| d.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert!(bits(p.data) == bits(q.data), "tensor {} differs", p.name);
    }
    assert_eq!(timeless_records(a), timeless_records(b));
    assert_eq!(timeless_summary(a), timeless_summary(b));
}

/// Each rule's metrics list the losses of the feedback weights it trains: DTP's inverses
/// `g_2 … g_{M-1}`, DDTP's `Q_1 … Q_{M-1}`, and `dtp-output`'s inverses then the output
/// layer's (64-64-64-10: one inverse, two `Q`s, two).
#[test]
fn metrics_list_every_trained_feedback_map() {
    let dir = TempDir::new().unwrap();
    for (algo, n) in [("dtp", 1), ("ddtp-linear", 2), ("dtp-output", 2)] {
        let out = dir.path().join(algo);
        train_digits(&out, 1, &["--algo", algo]);
        let r = metrics::read(&out).unwrap();
        assert_eq!(
            r[0].inverse_loss.len(),
            n,
            "{algo}: {:?}",
            r[0].inverse_loss
        );
        assert!(
            r[0].inverse_loss.iter().all(|l| *l > 0.0),
            "{algo}: {:?}",
            r[0].inverse_loss
        );
    }
}

#[test]
fn train_on_digits_reaches_90_percent_and_writes_the_run() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    let line = train_digits(&out, 10, &[]);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains("digits 64-64-64-10 DTP: test error"),
        "{line}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for key in [
        "test_error",
        "valid_error",
        "train_error",
        "epochs",
        "seconds",
        "samples_per_sec",
    ] {
        assert!(summary[key].is_number(), "{key} missing: {summary}");
    }
    let test_error = summary["test_error"].as_f64().unwrap();
    assert!(test_error <= 0.10, "test accuracy {}", 1.0 - test_error);
    assert_eq!(summary["epochs"], 10);
    let r = metrics::read(&out).unwrap();
    assert_eq!(r.len(), 10);
    assert_eq!(r[9].local_loss.len(), 2);
    assert_eq!(r[9].inverse_loss.len(), 1);
    let csv = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 11);
    assert!(csv.starts_with("epoch,train_error,"));
    let png = fs::read(out.join("curves.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(load(&out).model.epoch(), 10);

    // eval, info and plot on the same run.
    let e = ok(&["eval", s(&out), "--json"]);
    let e: serde_json::Value = serde_json::from_str(&e).unwrap();
    assert_eq!(e["test"]["error"], summary["test_error"]);
    assert_eq!(e["test"]["samples"], 359);
    let info = ok(&["info", s(&out.join(checkpoint::FILE_NAME))]);
    assert!(
        info.contains("64-64-64-10") && info.contains("net.f1.weight") && info.contains("[64, 64]"),
        "{info}"
    );
    fs::remove_file(out.join("curves.png")).unwrap();
    ok(&["plot", s(&out)]);
    assert!(out.join("curves.png").is_file());
    // Two runs on one plot (the same run twice is enough to exercise the path).
    let both = dir.path().join("both.png");
    let said = ok(&["plot", s(&out), s(&out), "--out", s(&both)]);
    assert!(said.contains("2 runs"), "{said}");
    assert!(fs::read(&both).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn crash_and_resume_is_bit_identical() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    train_digits(&a, 5, &["--seed", "3"]);
    // 1293 training digits = 129 batches, handed over twice per epoch (alternating schedule):
    // abort in the middle of epoch 3, after the checkpoint of epoch 2.
    let o = dtp(&[
        "train",
        "--out",
        s(&b),
        "--epochs",
        "5",
        "--seed",
        "3",
        "--quiet",
        "--abort-after-batches",
        "600",
    ]);
    assert!(!o.status.success());
    assert_eq!(load(&b).model.epoch(), 2);
    assert!(!b.join("summary.json").exists());
    ok(&["train", "--out", s(&b), "--resume", "--quiet"]);
    assert_same_run(&a, &b);
}

/// With Adam on both passes (its step counts live in the optimiser state the checkpoint
/// saves) and DDTP-linear's direct maps: a run aborted mid-epoch and resumed from its
/// checkpoint ends with the bits of the uninterrupted run, and the resumed run keeps Adam's
/// settings from the TOML file (β₂, ε, weight decay).
#[test]
fn adam_crash_and_resume_is_bit_identical() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let cfg = write(
        dir.path(),
        "adam.toml",
        b"[forward]\nkind = \"adam\"\nlr = 1e-3\n[inverse]\nkind = \"adam\"\nlr = 1e-4\nbeta2 = 0.99\neps = 1e-6\nweight_decay = 1e-4\n",
    );
    let args = ["--seed", "4", "--algo", "ddtp-linear", "--config", s(&cfg)];
    train_digits(&a, 4, &args);
    let config = fs::read_to_string(a.join("config.toml")).unwrap();
    assert!(
        config.contains("adam") && config.contains("weight_decay"),
        "{config}"
    );
    let mut abort = vec!["train", "--out", s(&b), "--epochs", "4", "--quiet"];
    abort.extend_from_slice(&args);
    abort.extend_from_slice(&["--abort-after-batches", "400"]);
    assert!(!dtp(&abort).status.success());
    assert!(load(&b).model.epoch() >= 1);
    ok(&["train", "--out", s(&b), "--resume", "--quiet"]);
    assert_same_run(&a, &b);
}

/// Adam's keys out of range exit 2 naming the file and the key.
#[test]
fn adam_settings_out_of_range_name_the_key() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let o = d.join("out");
    for (name, text, key) in [
        (
            "b1.toml",
            "[forward]\nkind = \"adam\"\nbeta1 = 1.0\n",
            "forward.beta1",
        ),
        (
            "b2.toml",
            "[inverse]\nkind = \"adam\"\nbeta2 = -0.1\n",
            "inverse.beta2",
        ),
        (
            "eps.toml",
            "[inverse]\nkind = \"adam\"\neps = 0\n",
            "inverse.eps",
        ),
        (
            "wd.toml",
            "[inverse]\nkind = \"adam\"\nweight_decay = -1\n",
            "inverse.weight_decay",
        ),
    ] {
        let cfg = write(d, name, text.as_bytes());
        bad_input(
            &["train", "--out", s(&o), "--config", s(&cfg)],
            &[name, key],
        );
    }
}

#[test]
fn killed_and_resumed_is_bit_identical() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    train_digits(&a, 8, &["--seed", "5"]);
    let mut child = command(&[
        "train",
        "--out",
        s(&b),
        "--epochs",
        "8",
        "--seed",
        "5",
        "--quiet",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // SIGKILL once two epochs are recorded (or whenever the run ends first).
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(60) {
        let lines = fs::read_to_string(b.join("metrics.jsonl")).map_or(0, |t| t.lines().count());
        if lines >= 2 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    child.wait().unwrap();
    ok(&["train", "--out", s(&b), "--resume", "--quiet"]);
    assert_same_run(&a, &b);
}

#[test]
fn nan_stops_with_exit_3_and_keeps_the_last_good_checkpoint() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    train_digits(&out, 2, &[]);
    let before = fs::read(out.join(checkpoint::FILE_NAME)).unwrap();
    let o = dtp(&[
        "train",
        "--out",
        s(&out),
        "--resume",
        "--epochs",
        "4",
        "--eta-hat",
        "1e30",
        "--quiet",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("epoch 3: NaN or infinity"), "{err}");
    assert!(err.contains("layer"), "{err}");
    assert!(
        err.contains("last good checkpoint") && err.contains("(epoch 2)"),
        "{err}"
    );
    assert_eq!(fs::read(out.join(checkpoint::FILE_NAME)).unwrap(), before);
    assert_eq!(load(&out).model.epoch(), 2);
}

#[test]
fn export_loads_into_the_core_with_the_same_accuracy() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    train_digits(&out, 6, &["--no-plot"]);
    let blob_path = dir.path().join("fw/weights.bin");
    let line = ok(&["export", s(&out), "--firmware", s(&blob_path), "--host"]);
    assert!(line.contains("weights.bin"), "{line}");
    let bytes = fs::read(&blob_path).unwrap();
    assert_eq!(blob::read_header(&bytes).unwrap().shape, [64, 64, 10, 1]);

    let mut t = bytemuck::zeroed_box::<DigitsTrainer>();
    t.init(
        digits_config(),
        dtp_core::Init::Orthogonal,
        &mut Pcg32::new(0, 0),
    )
    .unwrap();
    let units = t.net.read_blob(&bytes).unwrap();
    assert_eq!(units, digits_config().units);
    let splits = datasets::load(DataKind::Digits, None).unwrap();
    let acc = f64::from(accuracy(&mut *t, &splits.test));

    let e = ok(&["eval", s(&out), "--json"]);
    let e: serde_json::Value = serde_json::from_str(&e).unwrap();
    let cli_acc = 1.0 - e["test"]["error"].as_f64().unwrap();
    assert!(
        (acc - cli_acc).abs() < 1e-6,
        "blob {acc} vs checkpoint {cli_acc}"
    );
    assert!(acc >= 0.9, "{acc}");
}

#[test]
fn eval_with_other_units_matches_the_core_under_those_units() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    train_digits(&out, 6, &["--no-plot"]);
    let blob_path = dir.path().join("weights.bin");
    ok(&["export", s(&out), "--firmware", s(&blob_path), "--host"]);
    let bytes = fs::read(&blob_path).unwrap();
    let splits = datasets::load(DataKind::Digits, None).unwrap();
    let core_acc = |units: dtp_core::Units| {
        let mut t = bytemuck::zeroed_box::<DigitsTrainer>();
        let config = dtp_core::Config {
            units,
            ..digits_config()
        };
        t.init(config, dtp_core::Init::Orthogonal, &mut Pcg32::new(0, 0))
            .unwrap();
        t.net.read_blob(&bytes).unwrap();
        t.set_config(config).unwrap();
        f64::from(accuracy(&mut *t, &splits.test))
    };
    // (accuracy, loss) on the test set.
    let cli = |extra: &[&str]| {
        let mut args = vec!["eval", s(&out), "--json"];
        args.extend_from_slice(extra);
        let e: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
        let t = &e["test"];
        (
            1.0 - t["error"].as_f64().unwrap(),
            t["loss"].as_f64().unwrap(),
        )
    };
    let plain = cli(&[]);
    assert_eq!(cli(&["--units", "continuous"]), plain);
    assert!((plain.0 - core_acc(dtp_core::Units::CONTINUOUS)).abs() < 1e-6);
    let sign = cli(&["--units", "discrete"]);
    let want = core_acc(dtp_core::Units::DISCRETE);
    assert!(
        (sign.0 - want).abs() < 1e-6,
        "cli {} vs core {want}",
        sign.0
    );
    // Sign units are a different network: the same weights give another loss.
    assert!(
        (sign.1 - plain.1).abs() > 1e-3,
        "sign {sign:?} vs tanh {plain:?}"
    );
    let text = ok(&["eval", s(&out), "--units", "discrete"]);
    assert!(text.contains("evaluated with discrete units"), "{text}");
}

#[test]
fn output_into_a_closed_pipe_ends_without_a_panic() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    train_digits(&out, 1, &["--no-plot"]);
    for args in [vec!["info", s(&out)], vec!["eval", s(&out)]] {
        // A pipe whose reader is gone before the command starts.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let child = command(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "dtp {args:?}: {err}");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                o.status.signal(),
                Some(libc_sigpipe()),
                "dtp {args:?}: {:?} {err}",
                o.status
            );
        }
    }
}

/// SIGPIPE's number on Linux and the BSDs.
#[cfg(unix)]
fn libc_sigpipe() -> i32 {
    13
}

/// Accuracy on `data` of a `digits-firmware` blob loaded into the core (the firmware's
/// trainer type but for the kernel), after checking it holds the firmware's units.
fn firmware_blob_accuracy(bytes: &[u8], data: &dtp_std::data::Dataset) -> f64 {
    assert_eq!(blob::read_header(bytes).unwrap().shape, [64, 32, 10, 1]);
    let mut t = bytemuck::zeroed_box::<FirmwareTrainer>();
    t.init(
        firmware_config(),
        dtp_core::Init::Orthogonal,
        &mut Pcg32::new(0, 0),
    )
    .unwrap();
    assert_eq!(t.net.read_blob(bytes).unwrap(), FIRMWARE_UNITS);
    f64::from(accuracy(&mut *t, data))
}

/// `firmware/make-weights.sh`'s pipeline: `dtp train --preset digits-firmware`, then
/// `dtp export --firmware`. The blob scores in the core exactly what the checkpoint scores, on
/// the firmware's held-out digits (at its 4 bits a pixel); the blob committed for the
/// firmware's adaptation demo loads the same way and scores well there too.
#[test]
fn firmware_preset_exports_the_blob_the_firmware_loads() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    ok(&[
        "train",
        "--preset",
        "digits-firmware",
        "--out",
        s(&out),
        "--quiet",
        "--no-plot",
    ]);
    let blob_path = dir.path().join("weights.dtpw");
    ok(&["export", s(&out), "--firmware", s(&blob_path)]);
    let splits = datasets::load(DataKind::FirmwareDigits, None).unwrap();
    assert_eq!(splits.test.len(), 359);
    let acc = firmware_blob_accuracy(&fs::read(&blob_path).unwrap(), &splits.test);

    let e = ok(&["eval", s(&out), "--json"]);
    let e: serde_json::Value = serde_json::from_str(&e).unwrap();
    assert_eq!(e["widths"], "64-32-32-10");
    let cli_acc = 1.0 - e["test"]["error"].as_f64().unwrap();
    assert!(
        (acc - cli_acc).abs() < 1e-6,
        "blob {acc} vs checkpoint {cli_acc}"
    );
    assert!(acc >= 0.85, "{acc}");

    let committed = include_bytes!("../../firmware/weights/digits-sign-64-32-32-10.dtpw");
    let acc = firmware_blob_accuracy(committed, &splits.test);
    assert!(acc >= 0.88, "committed firmware blob: {acc}");
}

/// `--eval-every`: the multi-pass figures recorded during training are the final
/// evaluation applied at their epoch — at the last epoch the summary's own, at an earlier
/// one the summary of the same run stopped there — and only every N-th epoch has them.
#[test]
fn periodic_multi_pass_evaluation_is_the_final_one_at_its_epoch() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("mnist");
    fs::create_dir_all(&data).unwrap();
    // MNIST-format files with varied pixels; the split keeps 10,000 training images for
    // validation, so 200 remain for training (two minibatches).
    let set = |prefix: &str, n: u32| {
        let mut images = idx_images(n, 28, 28, 0);
        images.extend((0..n as usize * 784).map(|i| ((i * 37 + i / 784 * 101) % 256) as u8));
        let labels: Vec<u8> = (0..n).map(|i| ((i * 7 + i / 3) % 10) as u8).collect();
        write(&data, &format!("{prefix}-images-idx3-ubyte"), &images);
        write(
            &data,
            &format!("{prefix}-labels-idx1-ubyte"),
            &idx_labels(&labels),
        );
    };
    set("train", 10_200);
    set("t10k", 300);
    let train = |name: &str, epochs: &str| {
        let out = dir.path().join(name);
        let args = [
            "train",
            "--preset",
            "mnist-stochastic",
            "--data",
            s(&data),
            "--epochs",
            epochs,
            "--eval-every",
            "2",
            "--eval-passes",
            "4",
            "--quiet",
            "--no-plot",
            "--out",
            s(&out),
        ];
        ok(&args);
        let summary: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        let figures = |k: &str| summary[k].as_f64().unwrap();
        (
            metrics::read(&out).unwrap(),
            (figures("valid_error"), figures("test_error")),
        )
    };
    let (long, long_final) = train("four", "4");
    let (_, short_final) = train("two", "2");
    let passes = |r: &EpochRecord| r.valid_error_passes.zip(r.test_error_passes);
    let recorded: Vec<_> = long.iter().map(passes).collect();
    assert!(
        recorded[0].is_none() && recorded[2].is_none(),
        "{recorded:?}"
    );
    assert_eq!(recorded[1], Some(short_final));
    assert_eq!(recorded[3], Some(long_final));
    let csv = fs::read_to_string(dir.path().join("four/metrics.csv")).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains(",valid_error_passes,test_error_passes")
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

fn idx_images(count: u32, rows: u32, cols: u32, pixels: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for x in [count, rows, cols] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.resize(v.len() + pixels, 7);
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

#[test]
fn broken_inputs_exit_2_naming_file_and_position() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let out = d.join("out");
    let o = s(&out);

    // Config files.
    let cfg = write(
        d,
        "bad-key.toml",
        b"epochs = 2\n[forward]\nlearning_rate = 1\n",
    );
    bad_input(
        &["train", "--out", o, "--config", s(&cfg)],
        &["bad-key.toml", "line 3", "learning_rate"],
    );
    let cfg = write(d, "syntax.toml", b"epochs = 2\neta_hat = = 3\n");
    bad_input(
        &["train", "--out", o, "--config", s(&cfg)],
        &["syntax.toml", "line 2"],
    );
    let cfg = write(d, "range.toml", b"[forward]\nmomentum = 1.5\n");
    bad_input(
        &["train", "--out", o, "--config", s(&cfg)],
        &["forward.momentum"],
    );
    bad_input(
        &["train", "--out", o, "--config", s(&d.join("none.toml"))],
        &["none.toml"],
    );

    // CSV digits.
    let csv = write(
        d,
        "short.csv",
        format!("{}\n1,2,3\n", vec!["0"; 65].join(",")).as_bytes(),
    );
    bad_input(
        &["train", "--out", o, "--data", s(&csv)],
        &["short.csv", "line 2", "short row"],
    );
    let csv = write(
        d,
        "nan.csv",
        format!("{},x,3\n", vec!["0"; 63].join(",")).as_bytes(),
    );
    bad_input(
        &["train", "--out", o, "--data", s(&csv)],
        &["nan.csv", "line 1", "column 64"],
    );
    let csv = write(d, "narrow.csv", b"0.1,0.2,1\n0.3,0.4,0\n");
    bad_input(
        &["train", "--out", o, "--data", s(&csv)],
        &["narrow.csv", "2 features", "64"],
    );

    // MNIST: missing, truncated, bad magic, bad label.
    let m = d.join("mnist");
    fs::create_dir(&m).unwrap();
    bad_input(
        &[
            "train",
            "--preset",
            "mnist-7x240",
            "--out",
            o,
            "--data",
            s(&m),
        ],
        &[
            s(&m),
            "train-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte.gz",
            "scripts/fetch-data.sh",
        ],
    );
    write(&m, "train-labels-idx1-ubyte", &idx_labels(&[1, 2, 3]));
    write(&m, "train-images-idx3-ubyte", &idx_images(3, 28, 28, 1000));
    bad_input(
        &[
            "train",
            "--preset",
            "mnist-7x240",
            "--out",
            o,
            "--data",
            s(&m),
        ],
        &["train-images-idx3-ubyte", "byte 16", "truncated"],
    );
    let mut bad = idx_images(3, 28, 28, 3 * 784);
    bad[3] = 9;
    write(&m, "train-images-idx3-ubyte", &bad);
    bad_input(
        &[
            "train",
            "--preset",
            "mnist-7x240",
            "--out",
            o,
            "--data",
            s(&m),
        ],
        &["train-images-idx3-ubyte", "byte 0", "magic"],
    );
    // (A label of 12 is no error: IDX data may have any number of classes, checked against
    // the network's output width.) Four labels for three images: a count mismatch.
    write(
        &m,
        "train-images-idx3-ubyte",
        &idx_images(3, 28, 28, 3 * 784),
    );
    write(&m, "train-labels-idx1-ubyte", &idx_labels(&[1, 12, 3, 4]));
    bad_input(
        &[
            "train",
            "--preset",
            "mnist-7x240",
            "--out",
            o,
            "--data",
            s(&m),
        ],
        &["train-labels-idx1-ubyte", "train-images-idx3-ubyte"],
    );

    // Checkpoints.
    let ck = write(d, "short.safetensors", b"\x10\0\0");
    for cmd in ["eval", "info", "export"] {
        let mut args = vec![cmd, s(&ck)];
        if cmd == "export" {
            args.extend(["--firmware", "/nonexistent/x.bin"]);
        }
        bad_input(&args, &["short.safetensors", "byte 0", "truncated"]);
    }
    let ck = write(d, "json.safetensors", b"\x04\0\0\0\0\0\0\0{ x}");
    bad_input(&["info", s(&ck)], &["json.safetensors", "byte 10", "JSON"]);
    let ck = write(d, "long.safetensors", b"\xff\0\0\0\0\0\0\0{}");
    bad_input(
        &["info", s(&ck)],
        &["long.safetensors", "byte 0", "header length"],
    );
    bad_input(
        &["info", s(&d.join("missing.safetensors"))],
        &["missing.safetensors"],
    );
    bad_input(
        &["train", "--out", s(&d.join("empty")), "--resume"],
        &["checkpoint.safetensors"],
    );

    // Flags and presets.
    bad_input(&["train", "--preset", "nope"], &["nope", "digits"]);
    bad_input(&["train", "--epochs", "many"], &["many"]);
    let empty = d.join("empty-mnist");
    fs::create_dir(&empty).unwrap();
    bad_input(
        &[
            "train",
            "--out",
            o,
            "--preset",
            "mnist-ae",
            "--data",
            s(&empty),
        ],
        &["train-images-idx3-ubyte", "scripts/fetch-data.sh"],
    );
    bad_input(&["train", "--out", o, "--lr-forward=-1"], &["forward.lr"]);
    let o2 = dtp(&["plot", s(&d.join("no-run"))]);
    assert_eq!(o2.status.code(), Some(2));
}

#[test]
fn cifar_preset_trains_on_generated_batches() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("cifar-10");
    // 5,000 records go to validation (the preset's split), 400 are trained on.
    generated_cifar(&data, 5_400, 200);
    let out = dir.path().join("run");
    let line = ok(&[
        "train",
        "--preset",
        "cifar-3x1000",
        "--data",
        s(&data),
        "--epochs",
        "2",
        "--quiet",
        "--no-plot",
        "--out",
        s(&out),
    ]);
    assert!(
        line.contains("cifar-3x1000 3072-1000-1000-1000-10 DTP"),
        "{line}"
    );
    let e: serde_json::Value =
        serde_json::from_str(&ok(&["eval", s(&out), "--data", s(&data), "--json"])).unwrap();
    assert_eq!(e["train"]["samples"], 400);
    assert_eq!(e["valid"]["samples"], 5_000);
    assert_eq!(e["test"]["samples"], 200);
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(e["test"]["error"], summary["test_error"]);
    // Eight DTP steps take this separable set far from chance (90 % error).
    let test_error = summary["test_error"].as_f64().unwrap();
    assert!(test_error < 0.5, "test error {test_error}");
}
