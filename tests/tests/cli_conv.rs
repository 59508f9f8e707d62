//! Convolutions from the command line: `dtp train --layers 1x8x8-c8k3s1p1-64-10` learns the
//! digits, its checkpoint resumes bit for bit and gives the same bits at 1 and 2 threads,
//! and layouts that cannot be built are refused before training.

use std::path::Path;

use dtp_std::checkpoint;
use dtp_std::model::Model;
use dtp_tests::timeless_records;
use tempfile::TempDir;

mod common;
use common::cli::{dtp, load, ok_stdout as ok, s, text};

/// Every tensor of a run's checkpoint, as bits.
fn bits(dir: &Path) -> Vec<(String, Vec<u32>)> {
    let c = load(dir);
    let tensors = c.model.tensors().into_iter();
    tensors
        .map(|t| (t.name, t.data.iter().map(|v| v.to_bits()).collect()))
        .collect()
}

fn train(out: &Path, epochs: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "train",
        "--layers",
        "1x8x8-c8k3s1p1-64-10",
        "--epochs",
        epochs,
        "--out",
        s(out),
        "--quiet",
        "--no-plot",
    ];
    args.extend(extra);
    ok(&args)
}

/// The digits through a convolution: learned, the checkpoint a convolutional model whose
/// layout `dtp info` prints, and `dtp eval` of it reports the run's test error.
#[test]
fn a_convolutional_layout_learns_the_digits() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("run");
    let line = train(&out, "6", &[]);
    let sum: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let err = sum["test_error"].as_f64().unwrap();
    assert!(err < 0.08, "test error {err}: {line}");
    assert_eq!(sum["widths"], "64-512-64-10");
    let c = load(&out);
    assert!(matches!(c.model, Model::Conv(_)), "a convolutional model");
    assert_eq!(c.model.shape().layers, [64, 512, 64, 10]);
    let names: Vec<String> = c.model.tensors().into_iter().map(|t| t.name).collect();
    assert!(names.iter().any(|n| n == "net.g2.weight"), "{names:?}");
    let info = ok(&["info", s(&out)]);
    assert!(info.contains("layers = \"1x8x8-c8k3p1-64-10\""), "{info}");
    let eval = ok(&["eval", s(&out)]);
    let shown = format!("{:.2}%", 100.0 * err);
    assert!(eval.contains(&shown), "{shown} in {eval}");
}

/// Two epochs, then two more with `--resume`: the same tensors and records as four at once;
/// by DTP and by backprop.
#[test]
fn a_convolutional_run_resumes_bit_for_bit() {
    for algo in ["dtp", "bp"] {
        let tmp = TempDir::new().unwrap();
        let (whole, split) = (tmp.path().join("whole"), tmp.path().join("split"));
        train(&whole, "4", &["--algo", algo]);
        train(&split, "2", &["--algo", algo]);
        train(&split, "4", &["--algo", algo, "--resume"]);
        assert!(
            bits(&whole) == bits(&split),
            "{algo}: the resumed run differs"
        );
        assert_eq!(timeless_records(&whole), timeless_records(&split), "{algo}");
    }
}

/// `--threads 1` and `--threads 2` train the same bits.
#[test]
fn a_convolutional_run_does_not_depend_on_the_thread_count() {
    let tmp = TempDir::new().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    train(&one, "2", &["--threads", "1", "--batch", "50"]);
    train(&two, "2", &["--threads", "2", "--batch", "50"]);
    assert!(bits(&one) == bits(&two), "the checkpoints differ");
    assert_eq!(timeless_records(&one), timeless_records(&two));
}

/// Layouts that cannot be built stop with exit 2, naming the layout, before training.
#[test]
fn convolutional_layouts_that_cannot_be_built_are_refused() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("run");
    for (layers, extra) in [
        ("1x8x8-c8k9-10", &[][..]),                // the kernel does not fit
        ("64-c8k3-10", &[][..]),                   // no image input
        ("1x8x8-c8k3-32-c4k3-10", &[][..]),        // a convolution after a dense layer
        ("1x9x9-c8k3-32-10", &[][..]),             // 81 inputs, the digits have 64
        ("1x8x8-c8k3-32-10", &["--arith", "int"]), // float classifiers only
        ("1x8x8-c8k3-32-10", &["--algo", "drl"]),  // DTP, FW-DTP or backprop
        ("1x8x8-c8k3-32-10", &["--algo", "ddtp-linear"]),
        ("1x8x8-c8k3-32-10", &["--algo", "ddtp-rhl"]),
        ("1x8x8-c8k3-32-10", &["--feedback-pretrain", "1"]),
        ("1x8x8-c8k3-32-10", &["--feedback-extra", "1"]),
        ("1x8x8-c8k3-32-10", &["--units", "discrete"]), // continuous units
    ] {
        let mut args = vec!["train", "--layers", layers, "--out", s(&out), "--quiet"];
        args.extend(extra);
        let o = dtp(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{layers} {extra:?}: {err}");
        assert!(!out.join(checkpoint::FILE_NAME).exists(), "{layers}");
    }
}
