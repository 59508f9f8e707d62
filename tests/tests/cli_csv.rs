//! Issue 28, a user's own CSV data: headers (item 2), the label column, the default scaling
//! (item 1), label checks (item 7), and data errors and `dtp info` naming the data (item 8).
//! Each test runs the `dtp` CLI (`dtp-cli`) as a user would, on scikit-learn's own files
//! (`tests/fixtures/sklearn/`, BSD-3) or on generated data.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use dtp_std::data::ScaleKind;
use tempfile::TempDir;

mod common;
use common::cli::{
    self, bad_input, dtp, load, s, same_tensors as same_weights, stderr, stdout, summary,
};

/// [`cli::ok`], without a panic.
fn ok(args: &[&str]) -> Output {
    let o = cli::ok(args);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    o
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sklearn")
        .join(name)
}

fn test_error(dir: &Path) -> f64 {
    summary(dir)["test_error"].as_f64().unwrap()
}

/// A short training run on `data` into `out` with `extra` flags.
fn train<'a>(out: &'a Path, data: &'a Path, epochs: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "train",
        "--out",
        s(out),
        "--data",
        s(data),
        "--layers",
        "auto-64-64-auto",
        "--epochs",
        epochs,
        "--no-plot",
    ];
    a.extend_from_slice(extra);
    a
}

/// Items 1, 2 and 8: scikit-learn's files train as shipped: the count line is skipped with a
/// note, the features (0.13 to 1,680 on wine) are standardised by the default `--scale auto`
/// (printed at start, recorded, shown by `dtp info`), the end-of-run line names the file, and
/// `eval` reads the file the same way.
#[test]
fn scikit_learn_files_train_as_shipped() {
    let tmp = TempDir::new().unwrap();
    for (file, rows, features, classes) in [
        ("wine_data.csv", 178, 13, "class_0, class_1, class_2"),
        ("breast_cancer.csv", 569, 30, "malignant, benign"),
    ] {
        let out = tmp.path().join(file);
        let data = fixture(file);
        let o = ok(&train(&out, &data, "20", &[]));
        let err = stderr(&o);
        let note = format!(
            "note: {}: line 1 is scikit-learn's count line ({rows} samples, {features} \
             features; classes {classes}): skipped",
            data.display()
        );
        assert!(err.contains(&note), "{file}: {err}");
        assert!(
            err.contains("scaling standard") && err.contains("--scale auto"),
            "{file}: {err}"
        );
        assert!(!err.contains("warning"), "{file}: {err}");
        // The end-of-run line names the data file as `dtp info` does, not the preset.
        let end = stdout(&o);
        let named = format!(
            "{} {features}-64-64-",
            data.canonicalize().unwrap().display()
        );
        assert!(
            end.starts_with(&named) && end.contains(" DTP: test error "),
            "{file}: {named:?} does not start\n{end}"
        );
        let c = load(&out);
        let record = c.data.as_ref().unwrap();
        assert!(record.scaling.is_standard(), "{file}");
        let choice = record.scale.as_ref().unwrap();
        assert_eq!(
            (choice.asked, choice.chosen),
            (ScaleKind::Auto, ScaleKind::Standard)
        );
        assert!(test_error(&out) < 0.1, "{file}: {}", test_error(&out));
        // eval reads the recorded file, header and scaling: the summary's figure.
        let e = ok(&["eval", s(&out), "--json"]);
        let e: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
        assert_eq!(
            e["test"]["error"].as_f64().unwrap(),
            test_error(&out),
            "{file}"
        );
        // info: data source, format and scaling.
        let info = stdout(&ok(&["info", s(&out)]));
        for needle in [
            &format!("data        {}", data.canonicalize().unwrap().display()),
            "format      CSV (--header auto, --label-column last)",
            "scaling     standard: each feature's training mean and standard deviation",
            "--scale auto: the features' scales differ",
        ] {
            assert!(info.contains(needle), "{file}: {needle:?} not in\n{info}");
        }
    }
}

/// Item 1: the default scaling. Features on wildly different scales (the class in a feature
/// of range 1, beside one of range 10,000) train under `auto` as under `standard`, where
/// one range over all features (the old default) squashes the informative feature.
#[test]
fn auto_scaling_standardises_features_of_different_scales() {
    let tmp = TempDir::new().unwrap();
    let mut text = String::new();
    let mut state = 7u32;
    let mut next = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / 16_777_216.0
    };
    for i in 0..400 {
        let c = i % 2;
        let small = c as f32 * 0.6 + 0.4 * next();
        let big = 10_000.0 * next();
        let mid = 50.0 * next();
        text.push_str(&format!("{small:.4},{big:.1},{mid:.2},{c}\n"));
    }
    let data = tmp.path().join("scales.csv");
    fs::write(&data, text).unwrap();
    let (auto, standard, range) = (
        tmp.path().join("auto"),
        tmp.path().join("standard"),
        tmp.path().join("range"),
    );
    let o = ok(&train(&auto, &data, "10", &["--quiet"]));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    ok(&train(
        &standard,
        &data,
        "10",
        &["--quiet", "--scale", "standard"],
    ));
    ok(&train(
        &range,
        &data,
        "10",
        &["--quiet", "--scale", "range"],
    ));
    assert!(same_weights(&auto, &standard), "auto is not standard here");
    let (a, r) = (test_error(&auto), test_error(&range));
    assert!(a < 0.05, "auto: {a}");
    assert!(
        r > a + 0.1,
        "range {r} vs auto {a}: the test data no longer shows the point"
    );
    let info = stdout(&ok(&["info", s(&range)]));
    assert!(info.contains("scaling     range: [") && info.contains("--scale range: asked for"));
}

/// Item 1: pixel CSVs keep one range: the shipped digits (every pixel 0–16) resolve to
/// `range` under `auto`, which `info` says; image formats are not rescaled.
#[test]
fn the_shipped_digits_resolve_to_one_range() {
    let tmp = TempDir::new().unwrap();
    let digits = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dtp-std/data/digits.csv.gz");
    let out = tmp.path().join("d");
    ok(&[
        "train",
        "--out",
        s(&out),
        "--data",
        s(&digits),
        "--epochs",
        "1",
        "--no-plot",
        "--quiet",
    ]);
    let info = stdout(&ok(&["info", s(&out)]));
    assert!(
        info.contains("scaling     range: [0, 16] -> [0, 1]"),
        "{info}"
    );
    assert!(
        info.contains("--scale auto: the features share one scale"),
        "{info}"
    );
    let emb = tmp.path().join("e");
    ok(&[
        "train",
        "--out",
        s(&emb),
        "--epochs",
        "1",
        "--no-plot",
        "--quiet",
        "--scale",
        "auto",
    ]);
    let info = stdout(&ok(&["info", s(&emb)]));
    assert!(info.contains("data        the embedded digits"), "{info}");
    assert!(
        info.contains("format      the UCI 8×8 digits embedded"),
        "{info}"
    );
    assert!(info.contains("scaling     none fitted"), "{info}");
    // CSV flags on built-in data are refused, as --scale range is.
    let x = tmp.path().join("x");
    for flag in [["--header", "yes"], ["--label-column", "first"]] {
        let mut a = vec!["train", "--out", s(&x), "--epochs", "1"];
        a.extend_from_slice(&flag);
        bad_input(&a, &[flag[0], "CSV"]);
    }
}

/// Item 2: `--header` and `--label-column`: the same data read with its label first trains the
/// very same network; `--header no` reports the count line as data, naming the file; a label
/// column the rows lack is refused.
#[test]
fn header_and_label_column_flags() {
    let tmp = TempDir::new().unwrap();
    let wine = fixture("wine_data.csv");
    let text = fs::read_to_string(&wine).unwrap();
    // Label first, no header.
    let mut first = String::new();
    for line in text.lines().skip(1) {
        let (features, label) = line.rsplit_once(',').unwrap();
        first.push_str(&format!("{label},{features}\n"));
    }
    let moved = tmp.path().join("label-first.csv");
    fs::write(&moved, first).unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(&train(&a, &wine, "3", &["--quiet"]));
    let o = ok(&train(
        &b,
        &moved,
        "3",
        &["--label-column", "first", "--header", "no"],
    ));
    assert!(!stderr(&o).contains("note: "), "{}", stderr(&o));
    assert!(same_weights(&a, &b), "label-first file read differently");
    // The recorded format is what eval and info use.
    let e = ok(&["eval", s(&b), "--json"]);
    let e: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    assert_eq!(e["test"]["error"].as_f64().unwrap(), test_error(&b));
    let info = stdout(&ok(&["info", s(&b)]));
    assert!(
        info.contains("format      CSV (--header no, --label-column first)"),
        "{info}"
    );
    // Column 14 of 14 is the last.
    let c = tmp.path().join("c");
    ok(&train(&c, &wine, "3", &["--quiet", "--label-column", "14"]));
    assert!(same_weights(&a, &c));
    let o = tmp.path().join("x");
    bad_input(
        &train(&o, &wine, "1", &["--header", "no"]),
        &[
            "wine_data.csv",
            "line 1, column 3",
            "class_0",
            "--header yes",
        ],
    );
    bad_input(
        &train(&o, &wine, "1", &["--label-column", "20"]),
        &["wine_data.csv", "line 2", "--label-column 20", "14 columns"],
    );
    bad_input(
        &train(&o, &wine, "1", &["--label-column", "0"]),
        &["--label-column"],
    );
    // A header of column names is skipped with a note too.
    let named = tmp.path().join("named.csv");
    fs::write(
        &named,
        format!("alcohol,malic,label\n{}", "1,2,0\n3,4,1\n".repeat(20)),
    )
    .unwrap();
    let o = ok(&train(&tmp.path().join("n"), &named, "1", &[]));
    assert!(
        stderr(&o).contains("line 1 is a header (\"alcohol,malic,label\"): skipped"),
        "{}",
        stderr(&o)
    );
    // Flags cannot change on --resume.
    bad_input(
        &[
            "train",
            "--out",
            s(&a),
            "--epochs",
            "4",
            "--resume",
            "--header",
            "yes",
        ],
        &["--header", "cannot change on --resume"],
    );
}

/// A CSV file of `rows` samples with 4 features whose labels are `label(i)`.
fn labelled_csv(dir: &Path, name: &str, rows: usize, label: impl Fn(usize) -> usize) -> PathBuf {
    let mut text = String::new();
    for i in 0..rows {
        let l = label(i);
        text.push_str(&format!(
            "{},{},{},{},{l}\n",
            l % 3,
            i % 7,
            (i * 3) % 5,
            l % 2
        ));
    }
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// Item 7: a stray label (255 among 0–2) would grow an `auto` output layer to 256 units: refused
/// with exit 2 naming the file and the label; with an explicit output width the run goes on,
/// warned about the classes without training samples. A missing class in the middle is warned
/// about, by number.
#[test]
fn labels_that_leave_most_classes_empty_are_refused() {
    let tmp = TempDir::new().unwrap();
    let stray = labelled_csv(tmp.path(), "stray.csv", 120, |i| {
        if i == 50 { 255 } else { i % 3 }
    });
    let out = tmp.path().join("o");
    bad_input(
        &train(&out, &stray, "1", &["--quiet"]),
        &[
            "stray.csv",
            "labels go up to 255",
            "only 4 of the 256",
            "0–2, 255",
            "--layers",
        ],
    );
    assert!(!out.join("checkpoint.safetensors").exists());
    let o = dtp(&[
        "train",
        "--out",
        s(&tmp.path().join("w")),
        "--data",
        s(&stray),
        "--layers",
        "auto-8-256",
        "--epochs",
        "1",
        "--quiet",
        "--no-plot",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning") && stderr(&o).contains("3–254"),
        "{}",
        stderr(&o)
    );
    // Labels 0, 1, 3: class 2 named.
    let gap = labelled_csv(tmp.path(), "gap.csv", 120, |i| [0, 1, 3][i % 3]);
    let o = ok(&train(&tmp.path().join("g"), &gap, "1", &["--quiet"]));
    let err = stderr(&o);
    assert!(
        err.contains("gap.csv")
            && err.contains("1 of the 4 classes 0..=3 have no training sample: 2 "),
        "{err}"
    );
}

/// IDX files of `n` 4×4 images whose labels are `k % 10`, and label 0xFF for sample `bad`.
fn write_idx(dir: &Path, prefix: &str, n: u32, bad: Option<u32>) {
    fs::create_dir_all(dir).unwrap();
    let mut images = vec![0, 0, 8, 3];
    for x in [n, 4, 4] {
        images.extend_from_slice(&x.to_be_bytes());
    }
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&n.to_be_bytes());
    for k in 0..n {
        images.extend(std::iter::repeat_n((k % 10) as u8 * 20, 16));
        labels.push(if Some(k) == bad { 0xFF } else { (k % 10) as u8 });
    }
    fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
    fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
}

/// Item 7: an MNIST label byte 0xFF must not grow the network to 256 outputs.
#[test]
fn an_mnist_label_byte_0xff_is_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("mnist");
    write_idx(&dir, "train", 10_100, Some(77));
    write_idx(&dir, "t10k", 50, None);
    let out = tmp.path().join("o");
    bad_input(
        &[
            "train",
            "--preset",
            "mnist-7x240",
            "--data",
            s(&dir),
            "--layers",
            "auto-8-auto",
            "--epochs",
            "1",
            "--out",
            s(&out),
            "--quiet",
        ],
        &[s(&dir), "labels go up to 255", "11 of the 256", "0–9, 255"],
    );
}

/// Item 8: evaluating a run on data of another width names the file and both widths.
#[test]
fn eval_on_other_data_names_the_file() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("wine");
    ok(&train(&out, &fixture("wine_data.csv"), "1", &["--quiet"]));
    let bc = fixture("breast_cancer.csv");
    bad_input(
        &["eval", s(&out), "--data", s(&bc)],
        &["breast_cancer.csv", "30 features", "fitted on 13"],
    );
}
