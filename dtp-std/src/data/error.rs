//! The error type of every dataset reader.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A position inside an input file, for error messages.
///
/// Byte offsets of gzipped files count bytes of the *uncompressed* stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    /// Zero-based byte offset.
    Byte(u64),
    /// One-based line number (text files).
    Line(usize),
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pos::Byte(b) => write!(f, "byte {b}"),
            Pos::Line(l) => write!(f, "line {l}"),
        }
    }
}

/// Why a dataset could not be loaded.
///
/// Every variant that concerns one file names it (as the path that was given to
/// the reader) and, where it makes sense, the byte offset or line of the fault.
/// Readers never panic on bad input: they return one of these.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{}: {source}", .file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// None of the expected file names exists in a directory.
    #[error("{}: no {what} found (looked for {})", .dir.display(), .looked_for.join(", "))]
    NotFound {
        /// The directory searched.
        dir: PathBuf,
        /// What was searched for, e.g. `"train images"`.
        what: String,
        /// Every file name tried, in order.
        looked_for: Vec<String>,
    },

    /// The file starts with the wrong magic number.
    #[error(
        "{}: byte {offset}: bad magic number {found:#010x} (expected {expected:#010x} for {what})",
        .file.display()
    )]
    BadMagic {
        /// The file.
        file: PathBuf,
        /// Offset of the magic number (always 0 for IDX).
        offset: u64,
        /// The number found.
        found: u32,
        /// The number expected.
        expected: u32,
        /// The kind of file expected, e.g. `"IDX images"`.
        what: &'static str,
    },

    /// A header field is impossible (for example an image with zero rows).
    #[error("{}: byte {offset}: bad header: {reason}", .file.display())]
    BadHeader {
        /// The file.
        file: PathBuf,
        /// Offset of the offending field.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// The file holds fewer bytes than its header (or record size) requires.
    #[error(
        "{}: byte {offset}: truncated: need {needed} bytes from here, the file has only {available}",
        .file.display()
    )]
    Truncated {
        /// The file.
        file: PathBuf,
        /// Where the missing data starts.
        offset: u64,
        /// Bytes needed from `offset` on.
        needed: u64,
        /// Bytes actually present from `offset` on.
        available: u64,
    },

    /// An image file and its label file disagree on the number of samples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        .images_file.display(),
        .labels_file.display()
    )]
    CountMismatch {
        /// The image file.
        images_file: PathBuf,
        /// Number of images it declares.
        images: u64,
        /// The label file.
        labels_file: PathBuf,
        /// Number of labels it declares.
        labels: u64,
    },

    /// A label is not below the number of classes.
    #[error("{}: {at}: label {label} out of range (expected 0..{classes})", .file.display())]
    LabelOutOfRange {
        /// The file.
        file: PathBuf,
        /// Where the label is.
        at: Pos,
        /// The label found.
        label: u64,
        /// The number of classes.
        classes: usize,
    },

    /// The file starts like gzip (`1f 8b`) but cannot be decompressed.
    #[error("{}: unreadable gzip: {source}", .file.display())]
    Gzip {
        /// The file.
        file: PathBuf,
        /// The decoder's error.
        source: io::Error,
    },

    /// A CSV row has a different number of fields from the first data row.
    #[error(
        "{}: line {line}: row has {found} fields, expected {expected}{}",
        .file.display(),
        if .found < .expected { " (short row)" } else { " (long row)" }
    )]
    CsvRowLength {
        /// The file.
        file: PathBuf,
        /// One-based line number.
        line: usize,
        /// Fields in this row.
        found: usize,
        /// Fields in the first data row.
        expected: usize,
    },

    /// A CSV field is not a finite number (or the label is not an integer).
    #[error("{}: line {line}, column {column}: {expected}, found {field:?}{hint}", .file.display())]
    CsvNotNumber {
        /// The file.
        file: PathBuf,
        /// One-based line number.
        line: usize,
        /// One-based column number.
        column: usize,
        /// The field's text (trimmed, cut to 40 characters).
        field: String,
        /// What was expected there: `"not a finite number"` or `"label not a non-negative integer"`.
        expected: &'static str,
        /// Empty, or what may be wrong beyond the cell (a header read as data).
        hint: &'static str,
    },

    /// `--label-column N` names a column the rows do not have.
    #[error(
        "{}: line {line}: --label-column {column}, but the rows have {fields} columns \
         (use first, last or a number from 1 to {fields})",
        .file.display()
    )]
    CsvLabelColumn {
        /// The file.
        file: PathBuf,
        /// One-based line number of the first data row.
        line: usize,
        /// The label column asked for.
        column: String,
        /// Fields per row.
        fields: usize,
    },

    /// A CSV file has no data rows, or rows without a feature column.
    #[error("{}: {reason}", .file.display())]
    CsvEmpty {
        /// The file.
        file: PathBuf,
        /// What is missing.
        reason: &'static str,
    },

    /// A split was asked for that the dataset cannot give.
    #[error("invalid split: {0}")]
    InvalidSplit(String),
}
