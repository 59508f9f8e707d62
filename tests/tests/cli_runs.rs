//! Issue 28, the run's share: runs never collide, Ctrl-C says how to go on, divergence stops a
//! run, backprop starts from its own rate, no silent no-ops, messages in words, and reported
//! figures that do not depend on the thread count. Each test runs the `dtp` CLI (`dtp-cli`)
//! as a user would.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use dtp_std::checkpoint;
use dtp_std::metrics;
use tempfile::TempDir;

mod common;
use common::cli::{command_in, dtp, dtp_in, fails, load, ok, ok_in, s, same_weights, stderr};

/// A CSV of `rows` samples of `features` features, labels cycling through 3 classes.
fn csv(dir: &Path, name: &str, rows: usize, features: usize) -> PathBuf {
    let mut text = String::new();
    for i in 0..rows {
        for j in 0..features {
            text.push_str(&format!("{},", ((i * 7 + j * 3) % 11) as f32 / 10.0));
        }
        text.push_str(&format!("{}\n", i % 3));
    }
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// Item 4: without `--out`, each run gets a directory of its own (`runs/digits`,
/// `runs/digits-2`, …, named at start); a run refused or failed before it wrote anything leaves
/// no directory behind, whether chosen for it or given with `--out`.
#[test]
fn runs_without_out_never_collide_and_failures_leave_no_directory() {
    let tmp = TempDir::new().unwrap();
    let cwd = tmp.path();
    let args = ["train", "--epochs", "1", "--quiet", "--no-plot"];
    let first = ok_in(Some(cwd), &args);
    assert!(
        stderr(&first).contains("runs/digits "),
        "{}",
        stderr(&first)
    );
    let before = fs::read(cwd.join("runs/digits/checkpoint.safetensors")).unwrap();
    let second = ok_in(Some(cwd), &args);
    assert!(
        stderr(&second).contains("runs/digits-2"),
        "{}",
        stderr(&second)
    );
    assert!(same_weights(
        &cwd.join("runs/digits"),
        &cwd.join("runs/digits-2")
    ));
    assert_eq!(
        fs::read(cwd.join("runs/digits/checkpoint.safetensors")).unwrap(),
        before,
        "the second run touched the first"
    );
    // A run refused for its layout (10 classes, 3 outputs), in a fresh directory or in one
    // given with --out, nested in directories that did not exist.
    let refused = ["train", "--layers", "64-64-64-3", "--quiet", "--no-plot"];
    let o = dtp_in(Some(cwd), &refused);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        !cwd.join("runs/digits-3").exists(),
        "a refused run left runs/digits-3"
    );
    let nested = cwd.join("new/deeper/run");
    let mut with_out = refused.to_vec();
    with_out.extend(["--out", s(&nested)]);
    let o = dtp(&with_out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        !cwd.join("new").exists(),
        "a refused run left {}",
        nested.display()
    );
    // A bad setting leaves nothing either; an explicit --out holding a run is still refused.
    let o = dtp_in(Some(cwd), &["train", "--lr-forward", "-1", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("run directory"), "{}", stderr(&o));
    assert!(!cwd.join("runs/digits-3").exists());
    let err = fails(
        2,
        &["train", "--out", s(&cwd.join("runs/digits")), "--quiet"],
        &["already holds a run", "--resume"],
    );
    assert!(err.contains("nothing was changed"), "{err}");
    // `--resume DIR` continues a run as `--out DIR --resume` does.
    ok_in(
        Some(cwd),
        &[
            "train",
            "--resume",
            "runs/digits-2",
            "--epochs",
            "2",
            "--quiet",
            "--no-plot",
        ],
    );
    assert_eq!(load(&cwd.join("runs/digits-2")).model.epoch(), 2);
    fails(
        2,
        &["train", "--resume", "a", "--out", "b"],
        &["--resume a", "--out b"],
    );
}

/// Item 5: SIGINT during training prints `interrupted in epoch N; checkpoint of epoch N−1
/// kept; continue with dtp train --resume DIR`, exits 130 and keeps a whole checkpoint;
/// resuming it ends bit-identical to an uninterrupted run.
#[cfg(unix)]
#[test]
fn ctrl_c_keeps_the_last_checkpoint_and_says_how_to_resume() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("run");
    let child = command_in(
        None,
        &[
            "train",
            "--out",
            s(&run),
            "--epochs",
            "500",
            "--quiet",
            "--no-plot",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Wait for two epochs on record, then interrupt.
    let t0 = std::time::Instant::now();
    while metrics::read_or_empty(&run).map_or(0, |r| r.len()) < 2 {
        assert!(t0.elapsed().as_secs() < 300, "no epoch recorded");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the child's process id.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    let kept = load(&run).model.epoch();
    assert!((2..500).contains(&kept), "{kept}");
    // Epoch `kept + 1` was under way (or the next one had just begun after its save).
    let want = format!(
        "interrupted in epoch {}; checkpoint of epoch {kept} kept; continue with dtp train \
         --resume {}",
        kept + 1,
        run.display()
    );
    assert!(err.contains(&want), "{want:?} not in:\n{err}");
    assert!(!run.join("checkpoint.safetensors.tmp").exists());
    let epochs = (kept + 1).to_string();
    ok(&[
        "train",
        "--resume",
        s(&run),
        "--epochs",
        &epochs,
        "--quiet",
        "--no-plot",
    ]);
    let whole = tmp.path().join("whole");
    ok(&[
        "train",
        "--out",
        s(&whole),
        "--epochs",
        &epochs,
        "--quiet",
        "--no-plot",
    ]);
    assert!(same_weights(&run, &whole), "the resumed run differs");
}

/// Item 3: a run whose training loss stays above 3× its best for two epochs stops with exit
/// 3, naming the epoch and the flag to lower, and keeps the checkpoint from before the loss
/// rose (here: backprop resumed at a rate 200× its own).
#[test]
fn a_diverging_run_stops_and_keeps_its_last_good_checkpoint() {
    let tmp = TempDir::new().unwrap();
    let run = tmp.path().join("run");
    ok(&[
        "train",
        "--algo",
        "bp",
        "--out",
        s(&run),
        "--epochs",
        "2",
        "--quiet",
        "--no-plot",
    ]);
    let good = fs::read(run.join(checkpoint::FILE_NAME)).unwrap();
    let err = fails(
        3,
        &[
            "train",
            "--resume",
            s(&run),
            "--lr-forward",
            "0.2",
            "--epochs",
            "10",
            "--quiet",
            "--no-plot",
        ],
        &[
            "epoch 4",
            "diverged",
            "--lr-forward",
            "epoch 2)",
            "--allow-divergence",
        ],
    );
    assert!(!err.contains("error: epoch 3"), "{err}");
    assert_eq!(load(&run).model.epoch(), 2, "{err}");
    assert_eq!(fs::read(run.join(checkpoint::FILE_NAME)).unwrap(), good);
    // --allow-divergence goes on to the end.
    ok(&[
        "train",
        "--resume",
        s(&run),
        "--lr-forward",
        "0.2",
        "--epochs",
        "5",
        "--quiet",
        "--no-plot",
        "--allow-divergence",
    ]);
    assert_eq!(load(&run).model.epoch(), 5);
}

/// Item 3: `--algo bp` on a preset starts from backprop's rate (RMSprop 10⁻³), printed at
/// start, unless the user sets one; DTP keeps the preset's.
#[test]
fn backprop_starts_from_its_own_rate() {
    let tmp = TempDir::new().unwrap();
    let lr = |dir: &Path| load(dir).hyper.forward.lr;
    let bp = tmp.path().join("bp");
    let o = ok(&[
        "train",
        "--preset",
        "digits-firmware",
        "--algo",
        "bp",
        "--out",
        s(&bp),
        "--epochs",
        "0",
        "--quiet",
        "--no-plot",
    ]);
    assert!(
        stderr(&o).contains("--algo bp: forward optimiser RMSprop lr 0.001"),
        "{}",
        stderr(&o)
    );
    assert_eq!(lr(&bp), 1e-3);
    let set = tmp.path().join("set");
    ok(&[
        "train",
        "--preset",
        "digits-firmware",
        "--algo",
        "bp",
        "--lr-forward",
        "0.002",
        "--out",
        s(&set),
        "--epochs",
        "0",
        "--quiet",
        "--no-plot",
    ]);
    assert_eq!(lr(&set), 0.002);
    let dtp_run = tmp.path().join("dtp");
    ok(&[
        "train",
        "--preset",
        "digits-firmware",
        "--out",
        s(&dtp_run),
        "--epochs",
        "0",
        "--quiet",
        "--no-plot",
    ]);
    assert_eq!(lr(&dtp_run), 6e-4);
}

/// Item 6: a batch larger than the training split, or an empty validation or test split,
/// exits 2 naming the numbers, and leaves no run directory.
#[test]
fn splits_too_small_to_train_or_measure_exit_2() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("run");
    fails(
        2,
        &["train", "--batch", "5000", "--out", s(&out), "--quiet"],
        &["--batch 5000", "1293 train / 145 valid / 359 test"],
    );
    assert!(!out.exists());
    let two = csv(tmp.path(), "two.csv", 2, 4);
    let base = [
        "train",
        "--data",
        s(&two),
        "--layers",
        "auto-8-8-auto",
        "--quiet",
    ];
    let mut args = base.to_vec();
    args.extend(["--out", s(&out)]);
    fails(
        2,
        &args,
        &["two.csv", "--batch 10", "2 train / 0 valid / 0 test"],
    );
    args.extend(["--batch", "1"]);
    fails(
        2,
        &args,
        &[
            "two.csv",
            "validation split is empty",
            "2 train / 0 valid / 0 test",
        ],
    );
    assert!(!out.exists());
}

/// Item 8: negative numbers reach the settings' checks; `--threads 0` is answered in words;
/// `eval` on data that does not fit names the data file and suggests no flag it lacks.
#[test]
fn messages_are_ours() {
    let tmp = TempDir::new().unwrap();
    for flag in ["--lr-forward", "--lr-inverse", "--sigma", "--eta-hat"] {
        let err = fails(2, &["train", flag, "-1", "--quiet"], &["-1"]);
        assert!(!err.contains("unexpected argument"), "{err}");
    }
    let err = fails(2, &["train", "--threads", "0"], &["--threads", "1 or more"]);
    assert!(!err.contains("non-zero type"), "{err}");
    let run = tmp.path().join("run");
    ok(&[
        "train",
        "--out",
        s(&run),
        "--epochs",
        "0",
        "--quiet",
        "--no-plot",
    ]);
    let wine = csv(tmp.path(), "wine.csv", 60, 13);
    let err = fails(
        2,
        &["eval", s(&run), "--data", s(&wine)],
        &["wine.csv", "13 features"],
    );
    assert!(!err.contains("--layers"), "{err}");
    // A CSV run records its scaling; eval on data of other features names the file.
    let csv_run = tmp.path().join("csvrun");
    let digits = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dtp-std/data/digits.csv.gz");
    ok(&[
        "train",
        "--data",
        s(&digits),
        "--out",
        s(&csv_run),
        "--epochs",
        "0",
        "--quiet",
        "--no-plot",
    ]);
    let err = fails(
        2,
        &["eval", s(&csv_run), "--data", s(&wine)],
        &["wine.csv", "13"],
    );
    assert!(!err.contains("--layers"), "{err}");
}

/// Every reported figure of `dir` but the clocks: each epoch's record and the summary's
/// errors and losses, as JSON values (serde_json reads back exactly the `f64` written).
fn figures(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for line in fs::read_to_string(dir.join(metrics::JSONL))
        .unwrap()
        .lines()
    {
        let mut r: serde_json::Value = serde_json::from_str(line).unwrap();
        let o = r.as_object_mut().unwrap();
        for clock in ["train_seconds", "wall_seconds", "samples_per_sec"] {
            o.remove(clock);
        }
        out.push(r);
    }
    let mut sm: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join(metrics::SUMMARY)).unwrap()).unwrap();
    let o = sm.as_object_mut().unwrap();
    for clock in ["seconds", "samples_per_sec", "train_seconds_total"] {
        o.remove(clock);
    }
    out.push(sm);
    out
}

/// Item 10: every reported figure (each epoch's errors and losses, every layer's local and
/// inverse loss, the summary) is bit-identical across identical runs, across thread counts
/// (minibatches cut into chunks that threads carry), and whichever variant of its maths
/// functions the C library picks for the processor (glibc: FMA masked off).
#[test]
fn reported_figures_are_the_same_bits_whatever_the_threads() {
    let tmp = TempDir::new().unwrap();
    let run = |name: &str, threads: &str, env: Option<(&str, &str)>| {
        let dir = tmp.path().join(name);
        let mut c = command_in(
            None,
            &[
                "train",
                "--out",
                s(&dir),
                "--batch",
                "32",
                "--chunks",
                "4",
                "--epochs",
                "6",
                "--eval-every",
                "3",
                "--quiet",
                "--no-plot",
            ],
        );
        c.env("DTP_THREADS", threads);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    };
    let one = figures(&run("one", "1", None));
    for (name, threads, env) in [
        ("again", "1", None),
        ("two", "2", None),
        ("four", "4", None),
        (
            "no-fma",
            "2",
            Some(("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F")),
        ),
    ] {
        let other = figures(&run(name, threads, env));
        assert_eq!(one.len(), other.len());
        for (a, b) in one.iter().zip(&other) {
            assert_eq!(a, b, "{name}: a reported figure differs");
        }
    }
}
