//! Loading a preset's dataset as train / validation / test [`Splits`], with the messages a
//! user needs when files are missing or broken.

use std::path::{Path, PathBuf};

use anyhow::anyhow;

use crate::data::{
    self, CsvOptions, DIGITS_FEATURES, DataError, Dataset, MNIST_VALID, Splits, default_data_dir,
    missing_data_help,
};
use crate::failure::{Failure, Outcome};
use crate::presets::DataKind;

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

fn data_error(e: DataError, dir: &Path, name: &str) -> Failure {
    match e {
        DataError::NotFound { .. } => {
            Failure::input(anyhow!("{e}\n{}", missing_data_help(dir, name).trim_end()))
        }
        e => Failure::input(e),
    }
}

/// The directory of dataset `sub` (`mnist`, `cifar-10`): `data` itself when it holds the files
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
/// directory for MNIST and CIFAR-10.
pub fn load(kind: DataKind, data: Option<&Path>) -> Outcome<Splits> {
    match kind {
        DataKind::Digits => {
            let all = match data {
                None => data::digits(),
                Some(path) => {
                    let opts = CsvOptions {
                        scale_max: None,
                        classes: Some(10),
                    };
                    let d = data::read_csv(path, &opts).map_err(Failure::input)?;
                    if d.features != DIGITS_FEATURES {
                        return Err(Failure::input(anyhow!(
                            "{}: rows have {} features; the digits preset needs {} \
                             (8x8 pixels, scaled to [0, 1]) then a label 0..9",
                            path.display(),
                            d.features,
                            DIGITS_FEATURES
                        )));
                    }
                    d
                }
            };
            split_three(&all).map_err(Failure::input)
        }
        DataKind::Mnist => {
            let dir = dataset_dir(data, "mnist");
            data::load_mnist(&dir, MNIST_VALID).map_err(|e| data_error(e, &dir, "mnist"))
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
    fn missing_mnist_says_where_and_how() {
        let d = tempfile::tempdir().unwrap();
        let e = load(DataKind::Mnist, Some(d.path())).unwrap_err();
        assert_eq!(e.code, 2);
        let m = e.to_string();
        assert!(m.contains("train-images-idx3-ubyte.gz"), "{m}");
        assert!(m.contains("scripts/fetch-data.sh"), "{m}");
        assert!(m.contains(&d.path().display().to_string()), "{m}");
    }
}
