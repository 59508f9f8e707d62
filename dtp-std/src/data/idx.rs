//! MNIST / Fashion-MNIST IDX files, raw or gzipped.
//!
//! Images: magic `0x00000803`, then big-endian `u32` count, rows, cols, then
//! `count × rows × cols` unsigned bytes. Labels: magic `0x00000801`, count,
//! then `count` unsigned bytes. Gzip is detected by content (`1f 8b`).

use std::path::{Path, PathBuf};

use super::dataset::Dataset;
use super::error::{DataError, Pos};
use super::locate::find_first;
use super::source::Source;
use super::split::Splits;

/// Magic number of an IDX file of unsigned-byte 3-D data (images).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte 1-D data (labels).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// Number of classes of MNIST and Fashion-MNIST.
pub const MNIST_CLASSES: usize = 10;

/// Fashion-MNIST class names, indexed by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Which of the two files of an IDX pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxKind {
    /// `*-images-idx3-ubyte`.
    Images,
    /// `*-labels-idx1-ubyte`.
    Labels,
}

/// The raw content of an IDX image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count × rows × cols` pixels, row-major per image.
    pub pixels: Vec<u8>,
}

/// File names tried for `prefix` (`"train"` or `"t10k"`), in order: the
/// canonical name, the same with `.gz`, and the dotted variant
/// (`train-images.idx3-ubyte`) some mirrors use, with and without `.gz`.
pub fn idx_file_names(prefix: &str, kind: IdxKind) -> Vec<String> {
    let (what, dims) = match kind {
        IdxKind::Images => ("images", "idx3"),
        IdxKind::Labels => ("labels", "idx1"),
    };
    let canonical = format!("{prefix}-{what}-{dims}-ubyte");
    let dotted = format!("{prefix}-{what}.{dims}-ubyte");
    vec![
        canonical.clone(),
        format!("{canonical}.gz"),
        dotted.clone(),
        format!("{dotted}.gz"),
    ]
}

/// Finds the image and label files of `prefix` (`"train"` / `"t10k"`) in `dir`
/// (see [`idx_file_names`]); [`DataError::NotFound`] lists the names tried.
pub fn find_idx_pair(dir: &Path, prefix: &str) -> Result<(PathBuf, PathBuf), DataError> {
    let images = find_first(
        dir,
        &format!("{prefix} images"),
        &idx_file_names(prefix, IdxKind::Images),
    )?;
    let labels = find_first(
        dir,
        &format!("{prefix} labels"),
        &idx_file_names(prefix, IdxKind::Labels),
    )?;
    Ok((images, labels))
}

fn read_magic_count(src: &mut Source, expected: u32, what: &'static str) -> Result<u32, DataError> {
    let head: [u8; 8] = src.read_array()?;
    let magic = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if magic != expected {
        return Err(DataError::BadMagic {
            file: src.file().to_path_buf(),
            offset: 0,
            found: magic,
            expected,
            what,
        });
    }
    Ok(u32::from_be_bytes([head[4], head[5], head[6], head[7]]))
}

/// Reads an IDX image file (raw or gzipped).
///
/// The size the header claims is checked against the file before the pixel
/// buffer is allocated (for gzip, the buffer grows only with real data).
pub fn read_idx_images(path: &Path) -> Result<IdxImages, DataError> {
    let mut src = Source::open(path)?;
    let count = read_magic_count(&mut src, IDX_IMAGES_MAGIC, "IDX images")?;
    let dims: [u8; 8] = src.read_array()?;
    let rows = u32::from_be_bytes([dims[0], dims[1], dims[2], dims[3]]);
    let cols = u32::from_be_bytes([dims[4], dims[5], dims[6], dims[7]]);
    if rows == 0 || cols == 0 {
        return Err(DataError::BadHeader {
            file: path.to_path_buf(),
            offset: 8,
            reason: format!("image size {rows}×{cols} is empty"),
        });
    }
    // u32 × u32 × u32 can overflow u64 only past 2^64: use checked arithmetic.
    let bytes = u64::from(count)
        .checked_mul(u64::from(rows))
        .and_then(|v| v.checked_mul(u64::from(cols)));
    let Some(bytes) = bytes else {
        return Err(DataError::BadHeader {
            file: path.to_path_buf(),
            offset: 4,
            reason: format!("{count} images of {rows}×{cols} bytes overflow a 64-bit size"),
        });
    };
    let pixels = src.read_exact_vec(bytes)?;
    src.finish()?;
    Ok(IdxImages {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
        pixels,
    })
}

/// Reads an IDX label file (raw or gzipped). Labels are not range-checked here.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let mut src = Source::open(path)?;
    let count = read_magic_count(&mut src, IDX_LABELS_MAGIC, "IDX labels")?;
    let labels = src.read_exact_vec(u64::from(count))?;
    src.finish()?;
    Ok(labels)
}

/// Loads an image file and its label file as one dataset: pixels scaled to
/// `[0, 1]` (÷255, kept as bytes and converted per sample), `features = rows × cols`.
///
/// Fails on a count mismatch or a label `>= classes` (naming its byte offset).
pub fn load_idx(
    name: &str,
    images: &Path,
    labels: &Path,
    classes: usize,
) -> Result<Dataset, DataError> {
    let lab = read_idx_labels(labels)?;
    if let Some(i) = lab.iter().position(|&l| usize::from(l) >= classes) {
        return Err(DataError::LabelOutOfRange {
            file: labels.to_path_buf(),
            at: Pos::Byte(8 + i as u64),
            label: u64::from(lab[i]),
            classes,
        });
    }
    let img = read_idx_images(images)?;
    if img.count != lab.len() {
        return Err(DataError::CountMismatch {
            images_file: images.to_path_buf(),
            images: img.count as u64,
            labels_file: labels.to_path_buf(),
            labels: lab.len() as u64,
        });
    }
    Ok(Dataset::from_u8(
        name,
        img.rows * img.cols,
        classes,
        img.pixels,
        255.0,
        lab,
    ))
}

/// Loads the `{prefix}` pair found in `dir` by [`find_idx_pair`].
pub fn load_idx_dir(
    name: &str,
    dir: &Path,
    prefix: &str,
    classes: usize,
) -> Result<Dataset, DataError> {
    let (images, labels) = find_idx_pair(dir, prefix)?;
    load_idx(name, &images, &labels, classes)
}

/// Loads an MNIST-layout directory (`train-*` and `t10k-*` IDX files, raw or
/// gzipped) as [`Splits`]: the last `valid` training images become the
/// validation set (`valid = MNIST_VALID` gives the 50k / 10k / 10k reference
/// split). `name` prefixes the part names (`"{name}/train"` …).
///
/// Images of any size (`features = rows × cols`) and labels of any number of classes:
/// the classes are `0..=` the largest label of either file, and at least
/// [`MNIST_CLASSES`] (so MNIST and Fashion-MNIST have their 10 even in a subset).
pub fn load_mnist_like(name: &str, dir: &Path, valid: usize) -> Result<Splits, DataError> {
    let mut train = load_idx_dir(name, dir, "train", 256)?;
    let mut test = load_idx_dir(name, dir, "t10k", 256)?;
    let largest = train.labels().chain(test.labels()).max().unwrap_or(0);
    let classes = (usize::from(largest) + 1).max(MNIST_CLASSES);
    train.classes = classes;
    test.classes = classes;
    Splits::from_train_test(name, train, test, valid)
}

/// [`load_mnist_like`] for MNIST, from `dir` (e.g. `<data dir>/mnist`).
pub fn load_mnist(dir: &Path, valid: usize) -> Result<Splits, DataError> {
    load_mnist_like("mnist", dir, valid)
}

/// [`load_mnist_like`] for Fashion-MNIST, from `dir` (e.g. `<data dir>/fashion-mnist`).
pub fn load_fashion_mnist(dir: &Path, valid: usize) -> Result<Splits, DataError> {
    load_mnist_like("fashion-mnist", dir, valid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn images_bytes(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [IDX_IMAGES_MAGIC, count, rows, cols] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        v.extend_from_slice(pixels);
        v
    }

    fn labels_bytes(count: u32, labels: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [IDX_LABELS_MAGIC, count] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        v.extend_from_slice(labels);
        v
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// 3 images of 2×2 with pixel values 0..12 and labels 3, 0, 9.
    fn tiny() -> (Vec<u8>, Vec<u8>) {
        let px: Vec<u8> = (0..12).map(|i| i * 20).collect();
        (images_bytes(3, 2, 2, &px), labels_bytes(3, &[3, 0, 9]))
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn check_tiny(d: &Dataset) {
        assert_eq!((d.len(), d.features, d.classes), (3, 4, 10));
        assert_eq!(d.labels().collect::<Vec<_>>(), vec![3, 0, 9]);
        assert!(d.is_u8());
        let (x, y) = d.sample(1);
        assert_eq!(y, 0);
        assert_eq!(
            x[..],
            [80.0 / 255.0, 100.0 / 255.0, 120.0 / 255.0, 140.0 / 255.0]
        );
        assert!(d.to_values().iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn raw_and_gzip_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (im, lb) = tiny();
        let i = write(dir.path(), "raw-images", &im);
        let l = write(dir.path(), "raw-labels", &lb);
        check_tiny(&load_idx("t", &i, &l, 10).unwrap());
        // Gzip detected by content: these names have no .gz suffix.
        let i = write(dir.path(), "gz-images", &gz(&im));
        let l = write(dir.path(), "gz-labels", &gz(&lb));
        check_tiny(&load_idx("t", &i, &l, 10).unwrap());
        let raw = read_idx_images(&i).unwrap();
        assert_eq!((raw.count, raw.rows, raw.cols), (3, 2, 2));
    }

    #[test]
    fn finds_all_name_variants() {
        let (im, lb) = tiny();
        let dir = tempfile::tempdir().unwrap();
        let e = find_idx_pair(dir.path(), "train").unwrap_err();
        assert!(matches!(e, DataError::NotFound { .. }));
        assert!(e.to_string().contains("train-images-idx3-ubyte.gz"), "{e}");
        write(dir.path(), "train-images-idx3-ubyte.gz", &gz(&im));
        write(dir.path(), "train-labels.idx1-ubyte", &lb);
        write(dir.path(), "t10k-images.idx3-ubyte.gz", &gz(&im));
        write(dir.path(), "t10k-labels-idx1-ubyte", &lb);
        let s = load_mnist(dir.path(), 1).unwrap();
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (2, 1, 3));
        assert_eq!(s.valid.labels().collect::<Vec<_>>(), vec![9]);
        assert!(s.valid.shares_store(&s.train));
        assert_eq!(s.train.name, "mnist/train");
    }

    fn msg_has(e: &DataError, parts: &[&str]) {
        let m = e.to_string();
        for p in parts {
            assert!(m.contains(p), "{m:?} lacks {p:?}");
        }
    }

    #[test]
    fn bad_magic() {
        let dir = tempfile::tempdir().unwrap();
        let (_, lb) = tiny();
        let i = write(dir.path(), "train-images-idx3-ubyte.gz", &gz(&[0u8; 16]));
        let e = read_idx_images(&i).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::BadMagic {
                    found: 0,
                    expected: IDX_IMAGES_MAGIC,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().ends_with(
            "train-images-idx3-ubyte.gz: byte 0: bad magic number 0x00000000 \
             (expected 0x00000803 for IDX images)"
        ));
        // A label file given as images.
        let l = write(dir.path(), "labels", &lb);
        let e = read_idx_images(&l).unwrap_err();
        msg_has(&e, &["labels: byte 0", "0x00000801", "expected 0x00000803"]);
        let e = read_idx_labels(&i).unwrap_err();
        msg_has(&e, &["expected 0x00000801 for IDX labels"]);
    }

    #[test]
    fn truncated_body_and_header() {
        let dir = tempfile::tempdir().unwrap();
        let (im, lb) = tiny();
        for (name, bytes) in [
            ("short-raw", im[..im.len() - 1].to_vec()),
            ("short-gz", gz(&im[..im.len() - 1])),
        ] {
            let p = write(dir.path(), name, &bytes);
            let e = read_idx_images(&p).unwrap_err();
            assert!(
                matches!(
                    e,
                    DataError::Truncated {
                        offset: 16,
                        needed: 12,
                        available: 11,
                        ..
                    }
                ),
                "{e:?}"
            );
            msg_has(&e, &[name, "byte 16", "truncated"]);
        }
        let p = write(dir.path(), "hdr", &im[..10]);
        let e = read_idx_images(&p).unwrap_err();
        assert!(matches!(e, DataError::Truncated { offset: 8, .. }), "{e:?}");
        msg_has(&e, &["hdr: byte 8"]);
        let p = write(dir.path(), "lab", &lb[..lb.len() - 2]);
        let e = read_idx_labels(&p).unwrap_err();
        assert!(matches!(
            e,
            DataError::Truncated {
                offset: 8,
                needed: 3,
                available: 1,
                ..
            }
        ));
        let p = write(dir.path(), "empty", b"");
        assert!(matches!(
            read_idx_labels(&p).unwrap_err(),
            DataError::Truncated { offset: 0, .. }
        ));
    }

    #[test]
    fn huge_claims_do_not_allocate() {
        let dir = tempfile::tempdir().unwrap();
        // 2^32 - 1 images of 28×28: ~3.4 TB claimed, 4 bytes present.
        let bytes = images_bytes(u32::MAX, 28, 28, &[1, 2, 3, 4]);
        for (name, data) in [("huge-raw", bytes.clone()), ("huge-gz", gz(&bytes))] {
            let p = write(dir.path(), name, &data);
            let e = read_idx_images(&p).unwrap_err();
            assert!(
                matches!(e, DataError::Truncated { offset: 16, available: 4, needed, .. }
                    if needed == u64::from(u32::MAX) * 784),
                "{e:?}"
            );
        }
        // u32::MAX³ overflows u64.
        let p = write(
            dir.path(),
            "overflow",
            &images_bytes(u32::MAX, u32::MAX, u32::MAX, &[]),
        );
        assert!(matches!(
            read_idx_images(&p).unwrap_err(),
            DataError::BadHeader { offset: 4, .. }
        ));
        let p = write(dir.path(), "zero", &images_bytes(1, 0, 28, &[]));
        let e = read_idx_images(&p).unwrap_err();
        assert!(matches!(e, DataError::BadHeader { offset: 8, .. }), "{e:?}");
        let p = write(dir.path(), "huge-lab", &labels_bytes(u32::MAX, &[0]));
        assert!(matches!(
            read_idx_labels(&p).unwrap_err(),
            DataError::Truncated {
                offset: 8,
                available: 1,
                ..
            }
        ));
    }

    #[test]
    fn count_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let (im, _) = tiny();
        let i = write(dir.path(), "im", &im);
        let l = write(dir.path(), "lb", &labels_bytes(2, &[1, 2]));
        let e = load_idx("t", &i, &l, 10).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::CountMismatch {
                    images: 3,
                    labels: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        msg_has(&e, &["im holds 3 images", "lb holds 2 labels"]);
    }

    #[test]
    fn label_out_of_range() {
        let dir = tempfile::tempdir().unwrap();
        let (im, _) = tiny();
        let i = write(dir.path(), "im", &im);
        let l = write(
            dir.path(),
            "train-labels-idx1-ubyte",
            &labels_bytes(3, &[1, 10, 2]),
        );
        let e = load_idx("t", &i, &l, 10).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LabelOutOfRange {
                    at: Pos::Byte(9),
                    label: 10,
                    classes: 10,
                    ..
                }
            ),
            "{e:?}"
        );
        msg_has(
            &e,
            &["train-labels-idx1-ubyte: byte 9: label 10 out of range"],
        );
    }

    #[test]
    fn unreadable_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let (im, _) = tiny();
        // gzip magic followed by garbage.
        let p = write(
            dir.path(),
            "garbage.gz",
            &[0x1f, 0x8b, 0xff, 0xff, 0, 1, 2, 3, 4, 5],
        );
        let e = read_idx_images(&p).unwrap_err();
        assert!(matches!(e, DataError::Gzip { .. }), "{e:?}");
        msg_has(&e, &["garbage.gz: unreadable gzip"]);
        // Valid header, corrupted CRC trailer.
        let mut g = gz(&im);
        let n = g.len();
        g[n - 8] ^= 0xff;
        let p = write(dir.path(), "badcrc.gz", &g);
        let e = read_idx_images(&p).unwrap_err();
        assert!(matches!(e, DataError::Gzip { .. }), "{e:?}");
        // Cut short in the middle of the compressed stream.
        let g = gz(&im);
        let p = write(dir.path(), "cut.gz", &g[..g.len() / 2]);
        let e = read_idx_images(&p).unwrap_err();
        assert!(
            matches!(e, DataError::Gzip { .. } | DataError::Truncated { .. }),
            "{e:?}"
        );
        msg_has(&e, &["cut.gz"]);
    }

    #[test]
    fn missing_file_is_io_error_naming_it() {
        let e = read_idx_labels(Path::new("/nonexistent/t10k-labels-idx1-ubyte")).unwrap_err();
        assert!(matches!(e, DataError::Io { .. }));
        msg_has(&e, &["/nonexistent/t10k-labels-idx1-ubyte"]);
    }
}
