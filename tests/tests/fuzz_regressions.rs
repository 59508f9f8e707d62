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
#[test]
fn resuming_a_checkpoint_at_the_last_representable_epoch_does_not_overflow() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("run");
    let o = dtp(&[
        "train",
        "--out",
        s(&out),
        "--epochs",
        "1",
        "--quiet",
        "--no-plot",
    ]);
    assert!(o.status.success());
    let path = out.join(checkpoint::FILE_NAME);
    let mut c = checkpoint::load(&path).unwrap();
    c.hyper.epochs = u32::MAX;
    c.model.set_epoch(u32::MAX);
    checkpoint::save(
        &path,
        c.preset,
        &c.hyper,
        c.model.as_ref(),
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
