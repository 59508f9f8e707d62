//! Issue 13: the CLI never loses a run and treats a user's data right. Each test runs the
//! `dtp` CLI (`dtp-cli`, built from dtp-std's `src/bin/dtp.rs`) as a user would.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dtp_std::data;
use dtp_std::metrics;
use tempfile::TempDir;

mod common;
use common::cli::{bad_input, ckpt_bytes, dtp, dtp_in, load, ok, s, same_weights, stderr, summary};

/// The repository's copy of the embedded digits.
fn digits_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dtp-std/data/digits.csv.gz")
}

/// A digits CSV unlike the embedded set: every pixel inverted (`16 − v`), values 0–16.
fn inverted_digits_csv(dir: &Path) -> PathBuf {
    let d = data::digits();
    let mut text = String::new();
    for (x, y) in d.samples() {
        for v in x.iter() {
            text.push_str(&format!("{},", 16 - (v * 16.0).round() as i32));
        }
        text.push_str(&format!("{y}\n"));
    }
    let p = dir.join("inverted.csv");
    fs::write(&p, text).unwrap();
    p
}

/// Item 1 (and the README's "a mistyped command loses nothing"): `dtp train` without
/// `--resume` into a directory holding a run exits 2, names the directory and the ways on,
/// and changes no byte of the run — for `--out DIR`; without `--out` a run gets a new
/// directory and leaves `runs/PRESET` as it was.
#[test]
fn a_mistyped_train_loses_nothing() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("run");
    ok(&["train", "--out", s(&run), "--epochs", "2", "--quiet"]);
    let files = [
        "checkpoint.safetensors",
        "metrics.jsonl",
        "metrics.csv",
        "summary.json",
    ];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| fs::read(run.join(f)).unwrap())
        .collect();
    for extra in [
        &[][..],
        &["--epochs", "5"],
        &["--preset", "digits-firmware"],
    ] {
        let mut args = vec!["train", "--out", s(&run), "--quiet"];
        args.extend_from_slice(extra);
        let err = bad_input(&args, &[s(&run), "--resume", "--out", "--force", "epoch 2"]);
        assert!(err.contains("nothing was changed"), "{err}");
        let after: Vec<Vec<u8>> = files
            .iter()
            .map(|f| fs::read(run.join(f)).unwrap())
            .collect();
        assert!(before == after, "dtp {args:?} changed the run");
        assert!(!run.join("checkpoint.safetensors.tmp").exists());
    }
    // The default run directory, runs/digits under the working directory.
    let cwd = tmp.path().join("cwd");
    fs::create_dir(&cwd).unwrap();
    let o = dtp_in(
        Some(&cwd),
        &["train", "--epochs", "1", "--quiet", "--no-plot"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let default = cwd.join("runs/digits");
    let first = ckpt_bytes(&default);
    // Issue 28: a second run without --out gets a directory of its own, runs/digits-2.
    let o = dtp_in(
        Some(&cwd),
        &["train", "--epochs", "3", "--quiet", "--no-plot"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("runs/digits-2"), "{}", stderr(&o));
    assert_eq!(ckpt_bytes(&default), first);
    assert_eq!(load(&cwd.join("runs/digits-2")).model.epoch(), 3);
    // --force starts over (in runs/digits without --out); --resume continues.
    let o = dtp_in(
        Some(&cwd),
        &["train", "--epochs", "3", "--quiet", "--force"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(load(&default).model.epoch(), 3);
    assert_eq!(metrics::read(&default).unwrap().len(), 3);
    ok(&[
        "train",
        "--out",
        s(&run),
        "--epochs",
        "3",
        "--quiet",
        "--resume",
    ]);
    assert_eq!(load(&run).model.epoch(), 3);
    // --force and --resume contradict each other.
    let o = dtp(&["train", "--out", s(&run), "--resume", "--force"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(load(&run).model.epoch(), 3);
}

/// Item 2: CSV features are scaled (default: the training split's range to [0, 1]) so the
/// shipped `dtp-std/data/digits.csv.gz` trains as the embedded digits do, for both digits presets;
/// `eval` applies the recorded scaling; unscaled input far outside [0, 1] is warned about.
#[test]
fn the_shipped_csv_trains_as_the_embedded_digits() {
    let tmp = TempDir::new().unwrap();
    let csv = digits_csv();
    for (preset, epochs) in [("digits", "20"), ("digits-firmware", "4")] {
        let emb = tmp.path().join(format!("{preset}-embedded"));
        let file = tmp.path().join(format!("{preset}-csv"));
        let common = [
            "--preset",
            preset,
            "--epochs",
            epochs,
            "--quiet",
            "--no-plot",
        ];
        let mut a = vec!["train", "--out", s(&emb)];
        a.extend_from_slice(&common);
        ok(&a);
        let mut b = vec!["train", "--out", s(&file), "--data", s(&csv)];
        b.extend_from_slice(&common);
        let o = ok(&b);
        assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
        let (e, c) = (
            summary(&emb)["test_error"].as_f64().unwrap(),
            summary(&file)["test_error"].as_f64().unwrap(),
        );
        assert!(
            (e - c).abs() <= 0.005,
            "{preset}: embedded {e}, CSV {c} test error"
        );
        // The range of 0..16 is the embedded ÷ 16: the very same run.
        assert!(same_weights(&emb, &file), "{preset}");
        // eval reads the recorded data with the recorded scaling.
        let o = ok(&["eval", s(&file), "--json"]);
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["test"]["error"].as_f64().unwrap(), c, "{preset}");
    }
    // Unscaled: warned, and worse.
    let none = tmp.path().join("none");
    let o = ok(&[
        "train",
        "--out",
        s(&none),
        "--data",
        s(&csv),
        "--scale",
        "none",
        "--epochs",
        "2",
        "--quiet",
        "--no-plot",
    ]);
    let err = stderr(&o);
    assert!(
        err.contains("warning") && err.contains("far outside") && err.contains("16"),
        "{err}"
    );
    // --scale applies to CSV input only.
    bad_input(
        &[
            "train",
            "--out",
            s(&tmp.path().join("x")),
            "--scale",
            "range",
        ],
        &["--scale", "CSV"],
    );
}

/// Item 3: `--resume` reads the data the run was trained on (not the embedded set); another
/// `--data` is refused unless `--change-data` asks for it.
#[test]
fn resume_continues_on_the_recorded_data() {
    let tmp = TempDir::new().unwrap();
    let csv = inverted_digits_csv(tmp.path());
    let (whole, part) = (tmp.path().join("whole"), tmp.path().join("part"));
    let args = |out: &Path, epochs: &'static str| {
        vec![
            "train".to_string(),
            "--out".into(),
            s(out).into(),
            "--epochs".into(),
            epochs.into(),
            "--quiet".into(),
            "--no-plot".into(),
        ]
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        ok(&a)
    };
    let mut w = args(&whole, "3");
    w.extend(["--data".into(), s(&csv).into()]);
    run(w);
    let mut p = args(&part, "1");
    p.extend(["--data".into(), s(&csv).into()]);
    run(p);
    // Resumed from another working directory, without --data.
    let mut r = args(&part, "3");
    r.push("--resume".into());
    let r: Vec<&str> = r.iter().map(String::as_str).collect();
    let o = dtp_in(Some(Path::new("/")), &r);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        same_weights(&whole, &part),
        "the resumed run read other data"
    );
    assert_eq!(
        summary(&whole)["test_error"],
        summary(&part)["test_error"],
        "resumed run's summary"
    );
    // Another --data on resume: refused, run untouched; accepted with --change-data.
    let before = ckpt_bytes(&part);
    let other = digits_csv();
    bad_input(
        &[
            "train",
            "--out",
            s(&part),
            "--epochs",
            "4",
            "--resume",
            "--data",
            s(&other),
        ],
        &[s(&part), "inverted.csv", "--change-data"],
    );
    assert_eq!(ckpt_bytes(&part), before);
    ok(&[
        "train",
        "--out",
        s(&part),
        "--epochs",
        "4",
        "--resume",
        "--quiet",
        "--no-plot",
        "--data",
        s(&other),
        "--change-data",
    ]);
    assert_eq!(load(&part).model.epoch(), 4);
    // From now on the run's data is the new file: resuming without --data reads it.
    bad_input(
        &[
            "train",
            "--out",
            s(&part),
            "--epochs",
            "5",
            "--resume",
            "--data",
            s(&csv),
        ],
        &["digits.csv.gz"],
    );
}

/// Item 4: `--epochs 0` evaluates the initialised network and writes the summary.
#[test]
fn zero_epochs_evaluates_the_initial_network() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("zero");
    let o = ok(&["train", "--out", s(&run), "--epochs", "0", "--quiet"]);
    let line = String::from_utf8_lossy(&o.stdout);
    assert!(line.contains("test error"), "{line}");
    let sm = summary(&run);
    assert_eq!(sm["epochs"], 0);
    let e = sm["test_error"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&e), "an untrained net: {e}");
    assert_eq!(load(&run).model.epoch(), 0);
}

/// Item 8: a checkpoint write that fails (disk full: the temporary file is `/dev/full`)
/// leaves no temporary file, and the previous checkpoint byte for byte.
#[cfg(unix)]
#[test]
fn a_failed_checkpoint_write_leaves_nothing_behind() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("run");
    ok(&[
        "train",
        "--out",
        s(&run),
        "--epochs",
        "1",
        "--quiet",
        "--no-plot",
    ]);
    let before = ckpt_bytes(&run);
    let tmp_file = run.join("checkpoint.safetensors.tmp");
    std::os::unix::fs::symlink("/dev/full", &tmp_file).unwrap();
    let o = dtp(&[
        "train",
        "--out",
        s(&run),
        "--epochs",
        "2",
        "--resume",
        "--quiet",
    ]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("checkpoint.safetensors"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        fs::symlink_metadata(&tmp_file).is_err(),
        "the temporary file was left behind"
    );
    assert_eq!(ckpt_bytes(&run), before);
    // The run resumes normally afterwards.
    ok(&[
        "train",
        "--out",
        s(&run),
        "--epochs",
        "2",
        "--resume",
        "--quiet",
        "--no-plot",
    ]);
    assert_eq!(load(&run).model.epoch(), 2);
}

/// Item 5: an unusable `--out` (an existing file, a path through a file) is bad input;
/// `--threads 0` and `eval --passes 0` are rejected like `train --eval-passes 0`.
#[test]
fn bad_flags_and_outputs_exit_2() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("a-file");
    fs::write(&file, b"keep me").unwrap();
    bad_input(
        &["train", "--out", s(&file), "--quiet"],
        &[s(&file), "not a directory"],
    );
    let under = file.join("run");
    bad_input(&["train", "--out", s(&under), "--quiet"], &[s(&under)]);
    assert_eq!(fs::read(&file).unwrap(), b"keep me");
    let run = tmp.path().join("run");
    bad_input(
        &["train", "--out", s(&run), "--threads", "0"],
        &["--threads"],
    );
    assert!(!run.exists());
    bad_input(
        &["train", "--out", s(&run), "--eval-passes", "0"],
        &["eval_passes"],
    );
    ok(&[
        "train",
        "--out",
        s(&run),
        "--epochs",
        "1",
        "--quiet",
        "--no-plot",
    ]);
    bad_input(&["eval", s(&run), "--passes", "0"], &["--passes"]);
}

/// Item 6 (part): `--resume` without a checkpoint says there is none and how to start.
#[test]
fn resume_without_a_checkpoint_says_how_to_start() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("nothing-here");
    bad_input(
        &["train", "--out", s(&run), "--resume"],
        &["no checkpoint to resume", "without --resume", s(&run)],
    );
    assert!(!run.exists(), "a failed --resume created its directory");
}

/// Item 10: a missing dataset is reported before the model is built: the CIFAR preset's
/// 3072-1000×3-10 network (seconds and ~150 MB to build) is never built without its data.
#[test]
fn missing_data_is_reported_before_the_model_is_built() {
    let tmp = TempDir::new().unwrap();
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let out = tmp.path().join("run");
    let t = Instant::now();
    bad_input(
        &[
            "train",
            "--preset",
            "cifar-3x1000",
            "--data",
            s(&empty),
            "--out",
            s(&out),
        ],
        &["data_batch_1.bin"],
    );
    let secs = t.elapsed().as_secs_f64();
    assert!(secs < 3.0, "{secs:.1} s to report missing data");
}

/// Item 6: messages say what is wrong once, in words: no doubled I/O error; a folder where a
/// file is expected is called a directory; the fetch suggestion for a missing directory names
/// that directory; a truncated checkpoint says "truncated"; a plot that cannot be written is
/// one line; the default data directory prints without `..`.
#[test]
fn messages_say_what_is_wrong_once_and_in_words() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("run");
    let err = bad_input(&["train", "--out", s(&out), "--data", s(tmp.path())], &[]);
    assert_eq!(err.matches("os error").count(), 1, "{err}");

    let mn = tmp.path().join("mn");
    for n in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
        fs::create_dir_all(mn.join(n)).unwrap();
    }
    let err = bad_input(
        &[
            "train",
            "--preset",
            "mnist-7x240",
            "--data",
            s(&mn),
            "--out",
            s(&out),
        ],
        &["train-images-idx3-ubyte: a directory"],
    );
    assert!(!err.contains("no train images found"), "{err}");

    let missing = "/nonexistent-dtp-test-dir";
    let err = bad_input(
        &[
            "train",
            "--preset",
            "mnist-7x240",
            "--data",
            missing,
            "--out",
            s(&out),
        ],
        &[
            "does not exist",
            "scripts/fetch-data.sh /nonexistent-dtp-test-dir\n",
        ],
    );
    assert!(
        !err.contains("fetch-data.sh /\n") && !err.contains("//"),
        "{err}"
    );

    let err = bad_input(
        &["train", "--preset", "cifar-3x1000", "--out", s(&out)],
        &["cifar-10"],
    );
    assert!(!err.contains("/../"), "{err}");

    let run = tmp.path().join("r");
    ok(&[
        "train",
        "--out",
        s(&run),
        "--epochs",
        "1",
        "--quiet",
        "--no-plot",
    ]);
    let bytes = ckpt_bytes(&run);
    let cut = tmp.path().join("cut.safetensors");
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    bad_input(&["info", s(&cut)], &["cut.safetensors", "truncated"]);

    let png = tmp.path().join("no-such-dir/curves.png");
    let o = dtp(&["plot", s(&run), "--out", s(&png)]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot write") && !err.contains("Os {"),
        "{err}"
    );
}

/// Item 11 (part): `--help` shows no raw doc markup (rustdoc links, backticks).
#[test]
fn help_has_no_doc_markup() {
    for cmd in ["train", "eval", "export", "plot", "info"] {
        let o = ok(&[cmd, "--help"]);
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(
            !help.contains('`') && !help.contains("[`"),
            "dtp {cmd} --help:\n{help}"
        );
    }
    let o = ok(&["--help"]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains('`'));
}

/// Pixels of `png` (RGB or RGBA) in the left half of the image with exactly colour `rgb`.
fn left_half_pixels(png_path: &Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut n = 0;
    for y in 0..h {
        for x in 0..w / 2 {
            let k = (y * w + x) * channels;
            n += usize::from(buf[k..k + 3] == rgb);
        }
    }
    n
}

/// Item 9: a 1-epoch run's curves show its points (a line through one point draws nothing),
/// and `dtp plot A B` says when the first epochs are clipped off the top of the axis.
#[test]
fn plots_show_one_epoch_and_say_what_they_clip() {
    let tmp = TempDir::new().unwrap();
    let one = tmp.path().join("one");
    ok(&["train", "--out", s(&one), "--epochs", "1", "--quiet"]);
    let png = one.join("curves.png");
    for (name, rgb) in [
        ("train", [0, 0, 255]),
        ("valid", [0, 255, 0]),
        ("test", [255, 0, 0]),
    ] {
        // The legend's sample line alone is 21 pixels long and 1 pixel wide.
        let n = left_half_pixels(&png, rgb);
        assert!(
            n > 40,
            "{name}: {n} pixels of its colour in the error chart"
        );
    }
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (d, seed) in [(&a, "1"), (&b, "2")] {
        ok(&[
            "train",
            "--out",
            s(d),
            "--epochs",
            "6",
            "--seed",
            seed,
            "--quiet",
            "--no-plot",
        ]);
    }
    let first = metrics::read(&a).unwrap()[0].test_error;
    let later = metrics::read(&a).unwrap()[2..]
        .iter()
        .chain(&metrics::read(&b).unwrap()[2..])
        .map(|r| r.test_error)
        .fold(0.0, f64::max);
    let both = tmp.path().join("both.png");
    let o = ok(&["plot", s(&a), s(&b), "--out", s(&both)]);
    let line = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        line.contains("clipped"),
        first > 1.1 * later,
        "epoch 1 {first}, later at most {later}: {line}"
    );
    assert!(
        first > 1.1 * later,
        "the case this test is for: {first} vs {later}"
    );
}

/// Item 7 (part): `dtp export --firmware` of a network the firmware does not run names both
/// shapes, and says when it creates the blob's directory.
#[test]
fn export_names_a_shape_the_firmware_does_not_run() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("run");
    ok(&[
        "train",
        "--out",
        s(&run),
        "--epochs",
        "1",
        "--quiet",
        "--no-plot",
    ]);
    let blob = tmp.path().join("new-dir/w.dtpw");
    // Refused, naming both shapes, writing nothing.
    let o = dtp(&["export", s(&run), "--firmware", s(&blob)]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("64-64-64-10") && err.contains("64-32-32-10") && err.contains("--host"),
        "{err}"
    );
    assert!(!blob.exists() && !blob.parent().unwrap().exists());
    // For the host-side core it is written, and the new directory is named.
    let o = ok(&["export", s(&run), "--firmware", s(&blob), "--host"]);
    let err = stderr(&o);
    assert!(err.contains("created directory"), "{err}");
    assert!(blob.exists());
    let fw = tmp.path().join("fw");
    ok(&[
        "train",
        "--preset",
        "digits-firmware",
        "--out",
        s(&fw),
        "--epochs",
        "1",
        "--quiet",
        "--no-plot",
    ]);
    let o = ok(&[
        "export",
        s(&fw),
        "--firmware",
        s(&tmp.path().join("fw.dtpw")),
    ]);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

/// Item 11 (part): the epoch line says its samples/s counts training time only (the progress
/// bar's, wall clock, says "wall").
#[test]
fn epoch_lines_say_what_their_rate_counts() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("run");
    let o = ok(&["train", "--out", s(&run), "--epochs", "1", "--no-plot"]);
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    let line = all.lines().find(|l| l.contains("epoch    1:")).unwrap();
    assert!(line.contains("samples/s training"), "{line}");
}
