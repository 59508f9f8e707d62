//! Datasets: one in-memory type ([`Dataset`]) and readers for MNIST /
//! Fashion-MNIST IDX files (raw or gzipped), CIFAR-10 binary batches, generic
//! numeric CSV (its header and label column: [`CsvFormat`]) and the embedded UCI 8×8 digits;
//! [`Scaling`] of CSV features; checks of the labels ([`sparse_labels`]).
//!
//! A [`Dataset`] is a view of a shared store: IDX and CIFAR-10 pixels are kept as bytes and
//! converted to `f32` a sample at a time (when a minibatch is filled), and the training,
//! validation and test parts of a file are views of its one store, not copies.
//!
//! Every reader returns `Result<Dataset, DataError>` (or [`Splits`]) and never
//! panics on bad input; errors name the file and the byte offset or line.
//! Gzip is recognised by its magic bytes, not by the file name.
//!
//! The full MNIST and Fashion-MNIST files are fetched by `scripts/fetch-data.sh`
//! into [`default_data_dir`] (`$DTP_DATA_DIR`, else `<repo>/datasets`), below
//! which they live in `mnist/` and `fashion-mnist/`; [`missing_data_help`]
//! words the message for a user who has not fetched them.

mod cifar;
mod csv;
mod csv_format;
mod dataset;
mod digits;
mod error;
mod help;
mod idx;
mod labels;
mod locate;
mod scaling;
mod source;
mod split;

#[cfg(test)]
mod real_data_tests;

pub use cifar::{
    CIFAR10_CLASS_NAMES, CIFAR10_CLASSES, CIFAR10_FEATURES, CIFAR10_FILES, CIFAR10_RECORD,
    CIFAR10_SUBDIR, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, load_cifar10, read_cifar10_batch,
};
pub use csv::{CsvOptions, CsvTable, parse_csv, parse_csv_table, read_csv, read_csv_table};
pub use csv_format::{CsvFormat, Header, HeaderRule, LabelColumn};
pub use dataset::Dataset;
pub use digits::{DIGITS_CSV_GZ, DIGITS_FEATURES, DIGITS_LEN, DIGITS_MAX, digits, digits_split};
pub use error::{DataError, Pos};
pub use help::missing_data_help;
pub use idx::{
    FASHION_MNIST_CLASSES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxImages, IdxKind, MNIST_CLASSES,
    find_idx_pair, idx_file_names, load_fashion_mnist, load_idx, load_idx_dir, load_mnist,
    load_mnist_like, read_idx_images, read_idx_labels,
};
pub use labels::{absent_from_training, class_list, empty_classes, sparse_labels};
pub use locate::{DATA_DIR_ENV, FETCH_SCRIPT, default_data_dir, find_first};
pub use scaling::{AUTO_SHARED, FAR_OUTSIDE, ScaleChoice, ScaleKind, Scaling, range_warning};
pub use source::{GZIP_MAGIC, is_gzip};
pub use split::{MNIST_VALID, Splits};
