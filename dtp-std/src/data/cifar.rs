//! CIFAR-10 binary batches.
//!
//! Each file is a sequence of 3,073-byte records: one label byte, then 3,072
//! pixel bytes — 1,024 red, 1,024 green, 1,024 blue, each plane row-major 32×32.
//! Features keep that channel-major order, scaled ÷255.

use std::path::{Path, PathBuf};

use super::dataset::Dataset;
use super::error::{DataError, Pos};
use super::locate::find_first;
use super::source::Source;
use super::split::Splits;

/// Pixel bytes per CIFAR-10 image (3 × 32 × 32).
pub const CIFAR10_FEATURES: usize = 3 * 32 * 32;
/// Bytes per record: label + pixels.
pub const CIFAR10_RECORD: usize = 1 + CIFAR10_FEATURES;
/// Number of CIFAR-10 classes.
pub const CIFAR10_CLASSES: usize = 10;
/// The five training batches, in order.
pub const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch.
pub const CIFAR10_TEST_FILE: &str = "test_batch.bin";
/// All six files of the binary distribution.
pub const CIFAR10_FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];
/// The folder the official tarball unpacks to.
pub const CIFAR10_SUBDIR: &str = "cifar-10-batches-bin";
/// CIFAR-10 class names, indexed by label.
pub const CIFAR10_CLASS_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Reads one CIFAR-10 batch file (raw, or gzipped — detected by content).
///
/// Fails when the file is empty or not a whole number of records (naming the
/// offset of the partial record) or a label is `>= 10`. The pixels are kept as
/// bytes (read ÷255, a sample at a time).
pub fn read_cifar10_batch(path: &Path) -> Result<Dataset, DataError> {
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    read_batch_into(path, &mut pixels, &mut labels)?;
    Ok(Dataset::from_u8(
        path.display().to_string(),
        CIFAR10_FEATURES,
        CIFAR10_CLASSES,
        pixels,
        255.0,
        labels,
    ))
}

/// Appends the pixels and labels of the batch file `path` to `pixels` and `labels`
/// (checked as [`read_cifar10_batch`] says; nothing is appended on an error).
fn read_batch_into(
    path: &Path,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u8>,
) -> Result<(), DataError> {
    let mut src = Source::open(path)?;
    let bytes = src.read_to_end()?;
    let full = bytes.len() / CIFAR10_RECORD;
    let rest = bytes.len() % CIFAR10_RECORD;
    if rest != 0 || full == 0 {
        return Err(DataError::Truncated {
            file: path.to_path_buf(),
            offset: (full * CIFAR10_RECORD) as u64,
            needed: CIFAR10_RECORD as u64,
            available: rest as u64,
        });
    }
    if let Some(k) = bytes
        .chunks_exact(CIFAR10_RECORD)
        .position(|rec| usize::from(rec[0]) >= CIFAR10_CLASSES)
    {
        return Err(DataError::LabelOutOfRange {
            file: path.to_path_buf(),
            at: Pos::Byte((k * CIFAR10_RECORD) as u64),
            label: u64::from(bytes[k * CIFAR10_RECORD]),
            classes: CIFAR10_CLASSES,
        });
    }
    pixels.reserve(full * CIFAR10_FEATURES);
    labels.reserve(full);
    for rec in bytes.chunks_exact(CIFAR10_RECORD) {
        labels.push(rec[0]);
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok(())
}

/// The directory holding the batches: `dir` itself, or `dir/cifar-10-batches-bin`
/// when only that holds `data_batch_1.bin`.
fn batches_dir(dir: &Path) -> PathBuf {
    let sub = dir.join(CIFAR10_SUBDIR);
    if !dir.join(CIFAR10_FILES[0]).is_file() && sub.join(CIFAR10_FILES[0]).is_file() {
        sub
    } else {
        dir.to_path_buf()
    }
}

/// Loads CIFAR-10 from `dir` (or `dir/cifar-10-batches-bin`): the five training
/// batches in order (50,000 images), the last `valid` of which become the
/// validation set, and `test_batch.bin` (10,000 images).
pub fn load_cifar10(dir: &Path, valid: usize) -> Result<Splits, DataError> {
    let dir = batches_dir(dir);
    // One store for the five batches: the training and validation parts are views of it.
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for name in CIFAR10_TRAIN_FILES {
        let p = find_first(&dir, "CIFAR-10 training batch", &[name.to_string()])?;
        read_batch_into(&p, &mut pixels, &mut labels)?;
    }
    let train = Dataset::from_u8(
        "cifar-10",
        CIFAR10_FEATURES,
        CIFAR10_CLASSES,
        pixels,
        255.0,
        labels,
    );
    let p = find_first(
        &dir,
        "CIFAR-10 test batch",
        &[CIFAR10_TEST_FILE.to_string()],
    )?;
    let test = read_cifar10_batch(&p)?;
    Splits::from_train_test("cifar-10", train, test, valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Record `k`: label `k`, red plane all `10k+1`, green `10k+2`, blue `10k+3`,
    /// except pixel (row 0, col 1) of each plane which is 200+channel.
    fn record(k: u8) -> Vec<u8> {
        let mut r = vec![k];
        for c in 1..=3u8 {
            let mut plane = vec![10 * k + c; 1024];
            plane[1] = 200 + c;
            r.extend_from_slice(&plane);
        }
        r
    }

    #[test]
    fn three_records_channel_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data_batch_1.bin");
        let bytes: Vec<u8> = (0..3).flat_map(record).collect();
        std::fs::write(&p, &bytes).unwrap();
        let d = read_cifar10_batch(&p).unwrap();
        assert_eq!((d.len(), d.features, d.classes), (3, 3072, 10));
        assert_eq!(d.labels().collect::<Vec<_>>(), vec![0, 1, 2]);
        let (x, y) = d.sample(2);
        assert_eq!(y, 2);
        // Channel-major: [0..1024) red, [1024..2048) green, [2048..3072) blue.
        assert_eq!(x[0], 21.0 / 255.0);
        assert_eq!(x[1], 201.0 / 255.0);
        assert_eq!(x[1024], 22.0 / 255.0);
        assert_eq!(x[1025], 202.0 / 255.0);
        assert_eq!(x[2048 + 1023], 23.0 / 255.0);
        assert_eq!(x[2049], 203.0 / 255.0);
    }

    #[test]
    fn partial_record_and_bad_label() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("test_batch.bin");
        let mut bytes: Vec<u8> = (0..2).flat_map(record).collect();
        bytes.truncate(CIFAR10_RECORD + 100);
        std::fs::write(&p, &bytes).unwrap();
        let e = read_cifar10_batch(&p).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Truncated {
                    offset: 3073,
                    available: 100,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("test_batch.bin: byte 3073"), "{e}");
        let mut bytes: Vec<u8> = (0..2).flat_map(record).collect();
        bytes[CIFAR10_RECORD] = 10;
        std::fs::write(&p, &bytes).unwrap();
        let e = read_cifar10_batch(&p).unwrap_err();
        assert!(
            e.to_string()
                .contains("test_batch.bin: byte 3073: label 10"),
            "{e}"
        );
        std::fs::write(&p, b"").unwrap();
        assert!(matches!(
            read_cifar10_batch(&p).unwrap_err(),
            DataError::Truncated { offset: 0, .. }
        ));
    }

    #[test]
    fn loads_a_directory_in_the_tarball_layout() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join(CIFAR10_SUBDIR);
        std::fs::create_dir(&sub).unwrap();
        for (i, name) in CIFAR10_FILES.iter().enumerate() {
            std::fs::write(sub.join(name), record(i as u8)).unwrap();
        }
        let s = load_cifar10(dir.path(), 2).unwrap();
        let labels = |d: &Dataset| d.labels().collect::<Vec<_>>();
        assert_eq!(labels(&s.train), vec![0, 1, 2]);
        assert_eq!(labels(&s.valid), vec![3, 4]);
        assert_eq!(labels(&s.test), vec![5]);
        assert!(s.train.shares_store(&s.valid) && s.train.is_u8());
        std::fs::remove_file(sub.join("data_batch_4.bin")).unwrap();
        let e = load_cifar10(dir.path(), 0).unwrap_err();
        assert!(matches!(e, DataError::NotFound { .. }));
        assert!(e.to_string().contains("data_batch_4.bin"), "{e}");
    }
}
