//! Loading a preset's dataset as train / validation / test [`Splits`], with the messages a
//! user needs when files are missing or broken.

use std::path::{Path, PathBuf};

use anyhow::anyhow;

use crate::data::{
    self, CsvFormat, CsvOptions, DataError, Dataset, Header, MNIST_VALID, ScaleChoice, ScaleKind,
    Scaling, Splits, default_data_dir, missing_data_help,
};
use crate::failure::{Failure, Outcome};
use crate::kinds::DataKind;

/// Seed of the fixed digits split (independent of the training seed, so runs compare).
pub const DIGITS_SPLIT_SEED: u64 = 0;
/// Fraction of the digits kept for test.
pub const DIGITS_TEST: f64 = 0.2;
/// Fraction of the remaining digits kept for validation.
pub const DIGITS_VALID: f64 = 0.1;
/// Validation images taken from the end of the CIFAR-10 training batches.
pub const CIFAR_VALID: usize = 5_000;

/// Splits a single labelled set: stratified test part, then a stratified validation part of
/// the rest (fixed seeds).
pub fn split_three(all: &Dataset) -> Result<Splits, DataError> {
    let (rest, mut test) = all.stratified_split(DIGITS_TEST, DIGITS_SPLIT_SEED)?;
    let (mut train, mut valid) = rest.stratified_split(DIGITS_VALID, DIGITS_SPLIT_SEED + 1)?;
    train.name = format!("{}/train", all.name);
    valid.name = format!("{}/valid", all.name);
    test.name = format!("{}/test", all.name);
    Ok(Splits { train, valid, test })
}

/// `firmware/`'s 4-bit pixel: `x ∈ [0, 1]` stored as `q = round(15x)` and read back as
/// `q · (1/15)` (`dtp_digits::format`: digit pixel `v ∈ 0..=16` stored as `round(15v/16)`
/// and read so), bit for bit the value the device computes with.
pub fn quantise_4bit(x: f32) -> f32 {
    (15.0 * x).round().clamp(0.0, 15.0) * (1.0 / 15.0)
}

/// The digits as `firmware/` holds them: pixels through [`quantise_4bit`]; test = the
/// firmware's held-out part (`dtp_digits::split`: sample `i` with `i % 5 == 4`, 359 of the
/// 1,797); the other 1,438 (the device's training stream) split into train and a stratified
/// validation part ([`DIGITS_VALID`]; the device has none).
pub fn firmware_split(all: &Dataset) -> Result<Splits, DataError> {
    firmware_parts(all, quantise_4bit)
}

/// [`firmware_split`] with pixels read through `q`.
fn firmware_parts(all: &Dataset, q: fn(f32) -> f32) -> Result<Splits, DataError> {
    let part = |held_out: bool| {
        let picked: Vec<usize> = (0..all.len())
            .filter(|&i| dtp_digits::split::held_out(i) == held_out)
            .collect();
        all.subset(String::new(), &picked).map_values(|v, _| q(v))
    };
    let mut test = part(true);
    let (mut train, mut valid) =
        part(false).stratified_split(DIGITS_VALID, DIGITS_SPLIT_SEED + 1)?;
    train.name = format!("{}-4bit/train", all.name);
    valid.name = format!("{}-4bit/valid", all.name);
    test.name = format!("{}-4bit/held-out", all.name);
    Ok(Splits { train, valid, test })
}

/// The device's training stream of the embedded digits: the 1,438 samples with
/// `i % 5 != 4`, in index order, pixels through [`quantise_4bit`] — what `firmware/` trains
/// on (the train and valid parts of [`firmware_split`] together); `digits-int` trains on it.
pub fn firmware_stream() -> Outcome<Dataset> {
    let (all, _) = load_digits(None, &CsvFormat::default())?;
    let picked: Vec<usize> = (0..all.len()).filter(|i| i % 5 != 4).collect();
    Ok(all
        .subset(format!("{}-4bit/stream", all.name), &picked)
        .map_values(|v, _| quantise_4bit(v)))
}

fn data_error(e: DataError, dir: &Path, name: &str) -> Failure {
    match e {
        DataError::NotFound { .. } => {
            Failure::input(anyhow!("{e}\n{}", missing_data_help(dir, name).trim_end()))
        }
        e => Failure::input(e),
    }
}

/// The directory of dataset `sub` (`mnist`, `fashion-mnist`, `cifar-10`): `data` itself when it holds the files
/// or has no `sub` folder, else `data/sub`; `<default data dir>/sub` without `--data`.
fn dataset_dir(data: Option<&Path>, sub: &str) -> PathBuf {
    match data {
        Some(d) if d.join(sub).is_dir() && !d.join("train-images-idx3-ubyte").exists() => {
            d.join(sub)
        }
        Some(d) => d.to_path_buf(),
        None => default_data_dir().join(sub),
    }
}

/// Loads the dataset of `kind`. `data` is `--data`: a CSV file or nothing for digits, a
/// directory for MNIST and CIFAR-10. CSV features are used as written ([`load_scaled`]
/// scales them).
pub fn load(kind: DataKind, data: Option<&Path>) -> Outcome<Splits> {
    let request = ScaleRequest::Use(Scaling::none());
    load_scaled(kind, data, &CsvFormat::default(), &request).map(|l| l.splits)
}

/// The scaling [`load_scaled`] applies.
#[derive(Clone, Debug, PartialEq)]
pub enum ScaleRequest {
    /// Fit this kind on the training split of CSV input (other input is already scaled by
    /// its reader: no scaling).
    Fit(ScaleKind),
    /// Apply this scaling (a run's recorded one) to whatever is read.
    Use(Scaling),
}

/// True when `kind` with `--data data` reads a CSV file (whose features [`load_scaled`]
/// scales).
pub fn is_csv(kind: DataKind, data: Option<&Path>) -> bool {
    match data {
        Some(path) => matches!(kind, DataKind::Digits | DataKind::FirmwareDigits) || path.is_file(),
        None => false,
    }
}

/// How the data of `kind` read from `data` is named in messages: the path given, or the
/// built-in digits.
pub fn source_name(kind: DataKind, data: Option<&Path>) -> String {
    let dir = |sub| dataset_dir(data, sub).display().to_string();
    match (data, kind) {
        (Some(p), _) if is_csv(kind, data) => p.display().to_string(),
        (_, DataKind::Digits | DataKind::FirmwareDigits) => "the embedded digits".into(),
        (_, DataKind::Mnist) => dir("mnist"),
        (_, DataKind::FashionMnist) => dir("fashion-mnist"),
        (_, DataKind::Cifar10) => dir("cifar-10"),
    }
}

/// The format of the data of `kind` read from `data` (`csv`: how a CSV file is read, when
/// known), as `dtp info` shows it.
pub fn format_name(kind: DataKind, data: Option<&Path>, csv: Option<&CsvFormat>) -> String {
    let csv_file = csv.is_some() || is_csv(kind, data);
    match kind {
        _ if csv_file => csv.copied().unwrap_or_default().to_string(),
        DataKind::Digits => "the UCI 8×8 digits embedded in dtp (pixels 0–16 read ÷ 16)".into(),
        DataKind::FirmwareDigits => {
            "the UCI 8×8 digits embedded in dtp, at the firmware's 4 bits per pixel".into()
        }
        DataKind::Mnist => "MNIST IDX files (pixels read ÷ 255)".into(),
        DataKind::FashionMnist => "Fashion-MNIST IDX files (pixels read ÷ 255)".into(),
        DataKind::Cifar10 => "CIFAR-10 binary batches (pixels read ÷ 255)".into(),
    }
}

/// What [`load_scaled`] read.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Train, validation and test parts, scaled.
    pub splits: Splits,
    /// The scaling applied to every part.
    pub scaling: Scaling,
    /// What a fitted scaling request resolved to, and why (CSV input only).
    pub choice: Option<ScaleChoice>,
    /// Notes for the user, each naming the file (a header line skipped).
    pub notes: Vec<String>,
}

/// [`load`], reading a CSV file as `csv` says and scaling the features as `scale` asks. A
/// fitted scaling is fitted on the training split (for `digits-firmware`, on the device's
/// training stream before its 4-bit quantisation).
pub fn load_scaled(
    kind: DataKind,
    data: Option<&Path>,
    csv: &CsvFormat,
    scale: &ScaleRequest,
) -> Outcome<Loaded> {
    let source = source_name(kind, data);
    let mut choice = None;
    let mut fitted = |train: &Dataset| match scale {
        ScaleRequest::Use(s) => s.clone(),
        ScaleRequest::Fit(k) if is_csv(kind, data) => {
            let c = ScaleChoice::new(*k, train);
            let s = Scaling::fit(c.chosen, train);
            choice = Some(c);
            s
        }
        ScaleRequest::Fit(_) => Scaling::none(),
    };
    let apply = |s: &Scaling, d: &mut Dataset| {
        s.apply(d)
            .map_err(|e| Failure::input(anyhow!("{source}: {e}")))
    };
    // A CSV file is read as such whatever the run's dataset kind (split as the digits are).
    let kind = match kind {
        DataKind::Mnist | DataKind::FashionMnist | DataKind::Cifar10 if is_csv(kind, data) => {
            DataKind::Digits
        }
        k => k,
    };
    let mut notes = Vec::new();
    let (splits, scaling) = match kind {
        DataKind::Digits | DataKind::FirmwareDigits => {
            let (mut all, header) = load_digits(data, csv)?;
            if let (Some(h), Some(path)) = (header, data) {
                notes.push(format!("{}: {}", path.display(), h.note(all.len())));
            }
            let raw_train = match (scale, kind) {
                (ScaleRequest::Use(_), _) => None,
                (_, DataKind::Digits) => Some(split_three(&all).map_err(Failure::input)?.train),
                _ => Some(firmware_parts(&all, |v| v).map_err(Failure::input)?.train),
            };
            let scaling = fitted(raw_train.as_ref().unwrap_or(&all));
            apply(&scaling, &mut all)?;
            let splits = if kind == DataKind::Digits {
                split_three(&all)
            } else {
                firmware_split(&all)
            };
            (splits.map_err(Failure::input)?, scaling)
        }
        _ => {
            let mut splits = load_files(kind, data)?;
            let scaling = fitted(&splits.train);
            for d in [&mut splits.train, &mut splits.valid, &mut splits.test] {
                apply(&scaling, d)?;
            }
            (splits, scaling)
        }
    };
    Ok(Loaded {
        splits,
        scaling,
        choice,
        notes,
    })
}

/// Checks the labels of `splits` (read from `source`, named in the messages) before a network
/// is sized from them: exit 2 when `auto_output` (the output width is taken from the labels)
/// and most of the classes `0..=largest label` have no sample ([`data::sparse_labels`]);
/// otherwise a warning naming the classes without a training sample, if any.
pub fn check_labels(splits: &Splits, source: &str, auto_output: bool) -> Outcome<Option<String>> {
    if auto_output && let Some(e) = data::sparse_labels(splits) {
        return Err(Failure::input(anyhow!("{source}: {e}")));
    }
    Ok(data::absent_from_training(splits).map(|w| format!("{source}: {w}")))
}

/// The embedded digits, or the CSV file `data` (features as written, read as `csv` says)
/// and the header line it skipped.
fn load_digits(data: Option<&Path>, csv: &CsvFormat) -> Outcome<(Dataset, Option<Header>)> {
    Ok(match data {
        None => (data::digits(), None),
        Some(path) => {
            // Any number of features; the classes are the labels seen (0..=largest). Whether
            // the network fits is checked against its layout (train::check_fits).
            let opts = CsvOptions {
                scale_max: None,
                classes: None,
                format: *csv,
            };
            let t = data::read_csv_table(path, &opts).map_err(Failure::input)?;
            (t.data, t.header)
        }
    })
}

/// MNIST, Fashion-MNIST or CIFAR-10 from the directory `data` (or the default one).
fn load_files(kind: DataKind, data: Option<&Path>) -> Outcome<Splits> {
    match kind {
        DataKind::Digits | DataKind::FirmwareDigits => {
            let (all, _) = load_digits(data, &CsvFormat::default())?;
            split_three(&all).map_err(Failure::input)
        }
        DataKind::Mnist => {
            let dir = dataset_dir(data, "mnist");
            data::load_mnist(&dir, MNIST_VALID).map_err(|e| data_error(e, &dir, "mnist"))
        }
        DataKind::FashionMnist => {
            let dir = dataset_dir(data, "fashion-mnist");
            data::load_fashion_mnist(&dir, MNIST_VALID)
                .map_err(|e| data_error(e, &dir, "fashion-mnist"))
        }
        DataKind::Cifar10 => {
            let dir = dataset_dir(data, "cifar-10");
            data::load_cifar10(&dir, CIFAR_VALID).map_err(|e| data_error(e, &dir, "cifar-10"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_split_sizes() {
        let s = load(DataKind::Digits, None).unwrap();
        assert_eq!(s.train.len() + s.valid.len() + s.test.len(), 1797);
        assert!((350..370).contains(&s.test.len()), "{}", s.test.len());
        assert!((135..150).contains(&s.valid.len()), "{}", s.valid.len());
    }

    #[test]
    fn firmware_digits_are_the_devices() {
        // The device's format: pixel v in 0..=16 stored as (15v + 8) / 16, read as q * (1/15).
        use dtp_digits::format;
        for v in 0..=16u32 {
            let q = format::quantise(v).unwrap();
            assert_eq!(
                quantise_4bit(v as f32 / 16.0).to_bits(),
                format::level(q).to_bits(),
                "v = {v}"
            );
        }
        let s = load(DataKind::FirmwareDigits, None).unwrap();
        assert_eq!(s.test.len(), 359);
        assert_eq!(s.train.len() + s.valid.len(), 1438);
        let all = data::digits();
        for j in [0, 100, 358] {
            let (x, y) = all.sample(dtp_digits::split::held_out_index(j));
            let (q, l) = s.test.sample(j);
            assert_eq!(l, y);
            assert!(q.iter().zip(x.iter()).all(|(&q, &x)| q == quantise_4bit(x)));
        }
    }

    #[test]
    fn missing_mnist_says_where_and_how() {
        let d = tempfile::tempdir().unwrap();
        let e = load(DataKind::Mnist, Some(d.path())).unwrap_err();
        assert_eq!(e.code, 2);
        let m = e.to_string();
        assert!(m.contains("train-images-idx3-ubyte.gz"), "{m}");
        assert!(m.contains("scripts/fetch-data.sh"), "{m}");
        assert!(m.contains(&d.path().display().to_string()), "{m}");
    }

    /// IDX files of `n` 28×28 images (pixel value = label) and their labels `0, 1, …, 9, 0, …`.
    fn write_idx(dir: &Path, prefix: &str, n: u32) {
        std::fs::create_dir_all(dir).unwrap();
        let mut images = vec![0, 0, 8, 3];
        for x in [n, 28, 28] {
            images.extend_from_slice(&x.to_be_bytes());
        }
        let mut labels = vec![0, 0, 8, 1];
        labels.extend_from_slice(&n.to_be_bytes());
        for k in 0..n {
            images.extend(std::iter::repeat_n((k % 10) as u8, 784));
            labels.push((k % 10) as u8);
        }
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    }

    #[test]
    fn fashion_mnist_is_read_from_its_own_folder() {
        let d = tempfile::tempdir().unwrap();
        let fashion = d.path().join("fashion-mnist");
        // The split keeps 10,000 training images for validation.
        write_idx(&fashion, "train", 10_030);
        write_idx(&fashion, "t10k", 7);
        // Another set beside it must not be picked up.
        write_idx(&d.path().join("mnist"), "train", 10_040);
        let s = |data: &Path| {
            let s = load(DataKind::FashionMnist, Some(data)).unwrap();
            (
                s.train.len() + s.valid.len(),
                s.test.len(),
                s.train.name.clone(),
            )
        };
        let want = (10_030, 7, "fashion-mnist/train".to_string());
        assert_eq!(s(d.path()), want);
        // Pixels stay bytes; training and validation parts are views of one store.
        let l = load(DataKind::FashionMnist, Some(d.path())).unwrap();
        assert!(l.train.is_u8() && l.test.is_u8() && l.train.shares_store(&l.valid));
        assert_eq!(l.valid.sample(0).0[0], 0.0);
        assert_eq!(l.valid.sample(1).0[783], 1.0 / 255.0);
        assert_eq!(s(&fashion), want);
        let e = load(DataKind::FashionMnist, Some(&d.path().join("mnist"))).unwrap_err();
        assert!(e.to_string().contains("t10k"), "{e}");
    }
}
