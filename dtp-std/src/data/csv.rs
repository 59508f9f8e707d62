//! Generic numeric CSV: each row the features and a label, in the column
//! [`LabelColumn`](super::LabelColumn) names (the last by default).
//!
//! No quoting; fields are trimmed; blank lines are skipped; `\r\n` is accepted.
//! The first non-blank line may be a header ([`HeaderRule`]: by default one whose cells are
//! mostly words, or scikit-learn's count line), which is skipped and reported
//! ([`CsvTable::header`]). Every data row must have as many fields as the first one. The file
//! may be gzipped (detected by content).

use std::path::Path;

use super::csv_format::{CsvFormat, Header, HeaderRule};
use super::dataset::Dataset;
use super::error::{DataError, Pos};
use super::source::Source;

/// How to interpret a CSV file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsvOptions {
    /// When set, every feature is divided by this value (e.g. `16.0` for the
    /// UCI 8×8 digits, `255.0` for 8-bit pixels); it should be positive.
    pub scale_max: Option<f32>,
    /// Number of classes: a label `>= classes` is an error. When `None`, the
    /// largest label + 1.
    pub classes: Option<usize>,
    /// The header rule and the label column.
    pub format: CsvFormat,
}

/// A CSV file as read: its samples and the header line skipped, if any.
#[derive(Debug, Clone)]
pub struct CsvTable {
    /// The samples.
    pub data: Dataset,
    /// The first line, when it was skipped as a header.
    pub header: Option<Header>,
}

/// Reads a CSV file (raw or gzipped). The dataset is named after the file stem.
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<Dataset, DataError> {
    read_csv_table(path, opts).map(|t| t.data)
}

/// [`read_csv`], also telling which header line was skipped.
pub fn read_csv_table(path: &Path, opts: &CsvOptions) -> Result<CsvTable, DataError> {
    let mut src = Source::open(path)?;
    let bytes = src.read_to_end()?;
    let mut t = parse_csv_table(path, &bytes, opts)?;
    t.data.name = csv_stem(path);
    Ok(t)
}

/// The file name without `.gz` and `.csv`.
fn csv_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.strip_suffix(".csv").unwrap_or(name).to_string()
}

/// Reads CSV from memory (already decompressed); `file` only names the source
/// in errors and in the dataset name.
pub fn parse_csv(file: &Path, bytes: &[u8], opts: &CsvOptions) -> Result<Dataset, DataError> {
    parse_csv_table(file, bytes, opts).map(|t| t.data)
}

/// The cells of one line, trimmed.
fn cells(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

/// [`parse_csv`], also telling which header line was skipped.
pub fn parse_csv_table(
    file: &Path,
    bytes: &[u8],
    opts: &CsvOptions,
) -> Result<CsvTable, DataError> {
    let mut lines = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_ascii()))
        .filter(|(_, l)| !l.is_empty())
        .peekable();
    let header = match lines.peek() {
        Some(&(line, text)) => {
            let first: Vec<&[u8]> = cells(text).collect();
            let next_len = lines.clone().nth(1).map(|(_, l)| cells(l).count());
            Header::detect(opts.format.header, line, &first, next_len)
        }
        None => None,
    };
    if header.is_some() {
        lines.next();
    }
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut features = 0usize;
    let mut expected = 0usize; // fields per row, set by the first data row
    let mut label_at = 0usize;
    let mut max_label = 0u8;
    let mut fields: Vec<&[u8]> = Vec::new();
    let scale = opts.scale_max.map(|m| 1.0 / m);

    for (line, text) in lines {
        fields.clear();
        fields.extend(cells(text));
        let first_row = expected == 0;
        if first_row {
            if fields.len() < 2 {
                return Err(DataError::CsvEmpty {
                    file: file.to_path_buf(),
                    reason: "rows need at least one feature and a label",
                });
            }
            expected = fields.len();
            features = expected - 1;
            label_at = opts.format.label_column.index(expected).ok_or_else(|| {
                DataError::CsvLabelColumn {
                    file: file.to_path_buf(),
                    line,
                    column: opts.format.label_column.to_string(),
                    fields: expected,
                }
            })?;
        }
        if fields.len() != expected {
            return Err(DataError::CsvRowLength {
                file: file.to_path_buf(),
                line,
                found: fields.len(),
                expected,
            });
        }
        // On the first row, a word may mean a header the rule did not skip.
        let hint = if first_row && opts.format.header != HeaderRule::Yes {
            " (if this line is a header: --header yes)"
        } else {
            ""
        };
        let not_number = |column: usize, expected: &'static str| DataError::CsvNotNumber {
            file: file.to_path_buf(),
            line,
            column: column + 1,
            field: String::from_utf8_lossy(fields[column])
                .chars()
                .take(40)
                .collect(),
            expected,
            hint,
        };
        for (c, f) in fields.iter().enumerate() {
            if c != label_at {
                let v = parse_f32(f).ok_or_else(|| not_number(c, "not a finite number"))?;
                x.push(scale.map_or(v, |s| v * s));
            }
        }
        let label = parse_label(fields[label_at])
            .ok_or_else(|| not_number(label_at, "label not a non-negative integer"))?;
        let limit = opts.classes.unwrap_or(256);
        if label >= limit as u64 || label > u64::from(u8::MAX) {
            return Err(DataError::LabelOutOfRange {
                file: file.to_path_buf(),
                at: Pos::Line(line),
                label,
                classes: limit.min(256),
            });
        }
        let label = label as u8;
        max_label = max_label.max(label);
        y.push(label);
    }
    if y.is_empty() {
        return Err(DataError::CsvEmpty {
            file: file.to_path_buf(),
            reason: "no data rows",
        });
    }
    let classes = opts.classes.unwrap_or(usize::from(max_label) + 1);
    let data = Dataset::from_f32(file.display().to_string(), features, classes, x, y);
    Ok(CsvTable { data, header })
}

/// A finite `f32`, or `None` (also for `nan`/`inf`, which `str::parse` accepts).
fn parse_f32(field: &[u8]) -> Option<f32> {
    let v: f32 = std::str::from_utf8(field).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

/// A non-negative integer label; `"3.0"` is accepted as 3.
fn parse_label(field: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(field).ok()?;
    if let Ok(v) = s.parse::<u64>() {
        return Some(v);
    }
    let v: f64 = s.parse().ok()?;
    (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1e15).then_some(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn parse(text: &str, opts: &CsvOptions) -> Result<Dataset, DataError> {
        parse_csv(Path::new("t.csv"), text.as_bytes(), opts)
    }

    #[test]
    fn plain_header_scale_and_classes() {
        let d = parse("1,2,0\n3,4,2\n", &CsvOptions::default()).unwrap();
        assert_eq!((d.len(), d.features, d.classes), (2, 2, 3));
        assert_eq!(d.to_values(), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.labels().collect::<Vec<_>>(), vec![0, 2]);

        let opts = CsvOptions {
            scale_max: Some(4.0),
            classes: Some(10),
            ..CsvOptions::default()
        };
        let d = parse("a, b ,label\r\n\r\n 1 , 2 , 1.0 \r\n4,0,9\r\n", &opts).unwrap();
        assert_eq!((d.len(), d.features, d.classes), (2, 2, 10));
        assert_eq!(d.to_values(), vec![0.25, 0.5, 1.0, 0.0]);
        assert_eq!(d.labels().collect::<Vec<_>>(), vec![1, 9]);
    }

    #[test]
    fn count_lines_and_label_columns() {
        use crate::data::{HeaderRule, LabelColumn};
        let text = "3,2,class_0,class_1\n1.5,10,0\n2.5,20,1\n3.5,30,1\n";
        let t =
            parse_csv_table(Path::new("t.csv"), text.as_bytes(), &CsvOptions::default()).unwrap();
        assert!(matches!(
            t.header,
            Some(Header::Counts {
                samples: 3,
                features: 2,
                ..
            })
        ));
        assert_eq!(t.data.to_values(), vec![1.5, 10.0, 2.5, 20.0, 3.5, 30.0]);
        assert_eq!(t.data.labels().collect::<Vec<_>>(), vec![0, 1, 1]);
        // The same rows, label first; the header read as data is an error naming line 1.
        let first = CsvOptions {
            format: CsvFormat {
                header: HeaderRule::No,
                label_column: LabelColumn::First,
            },
            ..CsvOptions::default()
        };
        let d = parse("0,1.5,10\n1,2.5,20\n1,3.5,30\n", &first).unwrap();
        assert_eq!(d, t.data.clone());
        let e = parse(text, &first).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.csv: line 1, column 3: not a finite number")
                && e.to_string()
                    .ends_with("(if this line is a header: --header yes)"),
            "{e}"
        );
        // Label in the middle.
        let mid = CsvOptions {
            format: CsvFormat {
                label_column: "2".parse().unwrap(),
                ..CsvFormat::default()
            },
            ..CsvOptions::default()
        };
        let d = parse("1.5,0,10\n2.5,1,20\n3.5,1,30\n", &mid).unwrap();
        assert_eq!(d.to_values(), t.data.to_values());
        let far = CsvOptions {
            format: CsvFormat {
                label_column: "4".parse().unwrap(),
                ..CsvFormat::default()
            },
            ..CsvOptions::default()
        };
        let e = parse("1,2,0\n", &far).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::CsvLabelColumn {
                    fields: 3,
                    line: 1,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn short_and_long_rows() {
        let e = parse("1,2,0\n3,4,1\n5,1\n", &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::CsvRowLength {
                    line: 3,
                    found: 2,
                    expected: 3,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "t.csv: line 3: row has 2 fields, expected 3 (short row)"
        );
        let e = parse("h1,h2,h3\n1,2,0\n1,2,3,4\n", &CsvOptions::default()).unwrap_err();
        assert!(e.to_string().contains("line 3") && e.to_string().contains("long row"));
    }

    #[test]
    fn non_numeric_fields() {
        let e = parse("1,2,0\n3,x7,1\n", &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::CsvNotNumber {
                    line: 2,
                    column: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("t.csv: line 2, column 2: not a finite number, found \"x7\"")
        );
        let e = parse("1,2,0\n3,nan,1\n", &CsvOptions::default()).unwrap_err();
        assert!(matches!(e, DataError::CsvNotNumber { column: 2, .. }));
        let e = parse("1,2,0\n3,4,1.5\n", &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::CsvNotNumber {
                    line: 2,
                    column: 3,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse("1,2,-1\n", &CsvOptions::default()).unwrap_err();
        assert!(
            e.to_string().contains("label not a non-negative integer"),
            "{e}"
        );
    }

    #[test]
    fn labels_out_of_range_and_empty() {
        let opts = CsvOptions {
            classes: Some(3),
            ..CsvOptions::default()
        };
        let e = parse("1,0\n1,3\n", &opts).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LabelOutOfRange {
                    at: Pos::Line(2),
                    label: 3,
                    classes: 3,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("t.csv: line 2: label 3 out of range")
        );
        let e = parse("1,256\n", &CsvOptions::default()).unwrap_err();
        assert!(matches!(e, DataError::LabelOutOfRange { label: 256, .. }));
        for text in ["", "\n\n", "a,b\n", "5\n"] {
            let e = parse(text, &CsvOptions::default()).unwrap_err();
            assert!(matches!(e, DataError::CsvEmpty { .. }), "{text:?}: {e:?}");
        }
    }

    #[test]
    fn reads_raw_and_gzipped_files() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"f,g,y\n0,1,1\n2,3,0\n";
        let raw = dir.path().join("small.csv");
        std::fs::write(&raw, text).unwrap();
        let gz = dir.path().join("small.csv.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        let a = read_csv(&raw, &CsvOptions::default()).unwrap();
        let b = read_csv(&gz, &CsvOptions::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.name, "small");
        assert_eq!(a.labels().collect::<Vec<_>>(), vec![1, 0]);

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, b"0,1,1\n2,3\n").unwrap();
        let e = read_csv(&bad, &CsvOptions::default()).unwrap_err();
        assert!(e.to_string().contains("bad.csv: line 2"), "{e}");
    }
}
