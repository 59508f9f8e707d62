//! Regressions for the bugs found by fuzzing and by the reliability review (issue #7): files
//! from anywhere are rejected or handled cleanly, never a panic.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use dtp_std::checkpoint;
use dtp_std::config::HyperPatch;
use tempfile::TempDir;

fn dtp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dtp-cli"))
        .args(args)
        .env_remove("DTP_DATA_DIR")
        .env("MATMUL_NUM_THREADS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run dtp-cli")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A checkpoint claiming epoch u32::MAX (of u32::MAX epochs) made `dtp train --resume`
/// overflow `start_epoch + 1` (a panic with overflow checks, a near-endless run without).
/// One epoch of the default preset into run directory `out`.
fn train_one_epoch(out: &Path) {
    let o = dtp(&[
        "train",
        "--out",
        s(out),
        "--epochs",
        "1",
        "--quiet",
        "--no-plot",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn resuming_a_checkpoint_at_the_last_representable_epoch_does_not_overflow() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    train_one_epoch(&out);
    let path = out.join(checkpoint::FILE_NAME);
    let mut c = checkpoint::load(&path).unwrap();
    c.hyper.epochs = u32::MAX;
    c.model.set_epoch(u32::MAX);
    checkpoint::save(
        &path,
        c.preset,
        &c.hyper,
        &c.model,
        &c.train_rng,
        &c.shuffle_rng,
    )
    .unwrap();
    let o = dtp(&["train", "--out", s(&out), "--resume", "--no-plot"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.status.success(), "{err}");
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["epochs"], u64::from(u32::MAX));
    assert!(dtp(&["info", s(&path)]).status.success());
}

/// Divergence never loses the run: for η̂ from sane to absurd, `dtp train` either finishes
/// with a checkpoint that loads, or stops with exit 3 naming the stage and the layer and
/// leaves the last good checkpoint byte for byte. Regression: with η̂ = 2e21 RMSprop's running
/// mean square overflowed to ∞ while the weights stayed finite, training "succeeded" (exit 0)
/// and wrote a checkpoint that `info`, `eval` and `--resume` refused (`… holds inf`).
#[test]
fn divergence_stops_naming_the_layer_and_never_leaves_an_unloadable_checkpoint() {
    let dir = TempDir::new().unwrap();
    let mut stopped = 0;
    for (k, eta_hat) in ["0.5", "1e18", "1e20", "2e21", "4e21", "1e24", "1e30"]
        .iter()
        .enumerate()
    {
        let out = dir.path().join(format!("run{k}"));
        train_one_epoch(&out);
        let path = out.join(checkpoint::FILE_NAME);
        let before = fs::read(&path).unwrap();
        let o = dtp(&[
            "train",
            "--out",
            s(&out),
            "--resume",
            "--epochs",
            "3",
            "--eta-hat",
            eta_hat,
            "--quiet",
            "--no-plot",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "η̂ {eta_hat}: {err}");
        match o.status.code() {
            Some(0) => {
                let c = checkpoint::load(&path)
                    .unwrap_or_else(|e| panic!("η̂ {eta_hat}: exit 0 but {e:#}"));
                assert_eq!(c.model.epoch(), 3);
            }
            Some(3) => {
                stopped += 1;
                // "epoch 2: NaN or infinity in the <stage> of <forward|inverse> layer [g_]N".
                let layer = err
                    .split("layer ")
                    .nth(1)
                    .map(|r| r.trim_start_matches("g_"))
                    .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|n| n.parse::<u32>().ok());
                assert!(
                    err.contains("epoch 2: NaN or infinity in the") && layer.is_some(),
                    "η̂ {eta_hat}: {err}"
                );
                assert!(err.contains("last good checkpoint") && err.contains("(epoch 1)"));
                assert_eq!(fs::read(&path).unwrap(), before, "η̂ {eta_hat}");
                assert_eq!(checkpoint::load(&path).unwrap().model.epoch(), 1);
            }
            other => panic!("η̂ {eta_hat}: exit {other:?}: {err}"),
        }
    }
    assert!(stopped >= 3, "only {stopped} runs diverged");
}

/// A value out of range in a `--config` file is rejected with exit 2 naming the file and the
/// key (found by running the fuzzer's config corpus through `dtp train`: the message named the
/// key but not the file).
#[test]
fn out_of_range_config_values_name_the_file_and_key() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    for (name, text, key) in [
        ("every.toml", "checkpoint_every = 0\n", "checkpoint_every"),
        ("passes.toml", "eval_passes = 0\n", "eval_passes"),
        (
            "momentum.toml",
            "[forward]\nmomentum = 1.5\n",
            "forward.momentum",
        ),
        ("lr.toml", "[inverse]\nlr = -1e-3\n", "inverse.lr"),
        ("nan.toml", "sigma = nan\n", "sigma"),
    ] {
        let cfg = dir.path().join(name);
        fs::write(&cfg, text).unwrap();
        let o = dtp(&["train", "--out", s(&out), "--config", s(&cfg), "--quiet"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(key), "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// The config files the fuzzer's seeds start from parse (the seeds stay meaningful).
#[test]
fn config_fuzz_seeds_parse() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/config");
    let mut n = 0;
    for e in fs::read_dir(&seeds).unwrap() {
        let p = e.unwrap().path();
        HyperPatch::from_file(&p).unwrap_or_else(|e| panic!("{e:#}"));
        n += 1;
    }
    assert!(n >= 3);
}

/// The checkpoint seed is a real digits checkpoint that loads (so the fuzzer starts from the
/// success path); the header-only seeds are rejected naming the missing tensor.
#[test]
fn checkpoint_fuzz_seeds_load_or_name_the_missing_tensor() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/checkpoint");
    let c = checkpoint::load(&seeds.join("digits-epoch1.safetensors")).unwrap();
    assert_eq!((c.preset.name, c.model.epoch()), ("digits", 1));
    for f in [
        "meta-only.safetensors",
        "one-tensor.safetensors",
        "mnist-ae-meta-only.safetensors",
    ] {
        let e = format!("{:#}", checkpoint::load(&seeds.join(f)).err().unwrap());
        assert!(e.contains(f) && e.contains("no tensor"), "{e}");
    }
}
