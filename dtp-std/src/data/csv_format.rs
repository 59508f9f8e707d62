//! How a CSV file is laid out: whether its first line is a header ([`HeaderRule`], and what
//! [`Header`] was found), and which column holds the label ([`LabelColumn`]). Together they
//! are a [`CsvFormat`], which a run records so that `dtp eval` and `--resume` read the file
//! the way training did.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Whether the first non-blank line of a CSV file is a header (`dtp train --header`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum HeaderRule {
    /// A header when at least half of its cells are not numbers (column names), or when it is
    /// scikit-learn's count line "n_samples,n_features,class names…" (its first two cells
    /// whole numbers n > 0 and f, then nothing or names with a word among them; the next line
    /// holding f + 1 cells, itself another number).
    #[default]
    Auto,
    /// Always a header: skipped.
    Yes,
    /// Never a header: read as data.
    No,
}

/// The column holding the label (`dtp train --label-column first|last|N`, N counted from 1);
/// every other column is a feature, in file order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum LabelColumn {
    /// The first column.
    First,
    /// The last column (scikit-learn's files, the shipped digits).
    #[default]
    Last,
    /// Column N, counted from 1.
    Number(NonZeroUsize),
}

impl LabelColumn {
    /// The zero-based index of the label among `fields` cells, or `None` when column N lies
    /// beyond them.
    pub fn index(self, fields: usize) -> Option<usize> {
        match self {
            LabelColumn::First => Some(0),
            LabelColumn::Last => fields.checked_sub(1),
            LabelColumn::Number(n) => (n.get() <= fields).then(|| n.get() - 1),
        }
    }
}

impl fmt::Display for LabelColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelColumn::First => f.write_str("first"),
            LabelColumn::Last => f.write_str("last"),
            LabelColumn::Number(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for LabelColumn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "first" => Ok(LabelColumn::First),
            "last" => Ok(LabelColumn::Last),
            n => n.parse().map(LabelColumn::Number).map_err(|_| {
                format!("`{s}`: expected first, last or a column number counted from 1")
            }),
        }
    }
}

impl From<LabelColumn> for String {
    fn from(c: LabelColumn) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for LabelColumn {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// How to read a CSV file's lines: the header rule and the label column (recorded in a run's
/// checkpoint).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvFormat {
    /// Whether the first line is a header.
    #[serde(default)]
    pub header: HeaderRule,
    /// Which column holds the label.
    #[serde(default)]
    pub label_column: LabelColumn,
}

impl fmt::Display for CsvFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = match self.header {
            HeaderRule::Auto => "auto",
            HeaderRule::Yes => "yes",
            HeaderRule::No => "no",
        };
        write!(
            f,
            "CSV (--header {header}, --label-column {})",
            self.label_column
        )
    }
}

/// A first line that was skipped as a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Header {
    /// Column names (or any line `--header yes` skipped).
    Names {
        /// One-based line number.
        line: usize,
        /// The line's text, cut to 60 characters.
        text: String,
    },
    /// scikit-learn's count line `n_samples,n_features,class names…`.
    Counts {
        /// One-based line number.
        line: usize,
        /// The samples it announces.
        samples: u64,
        /// The features it announces.
        features: u64,
        /// The class names that follow (may be empty).
        names: Vec<String>,
    },
}

impl Header {
    /// Recognises the header rule's header among the first data lines: `first`'s cells, and
    /// the number of cells of the line after it (if any). `None`: `first` is data.
    pub fn detect(
        rule: HeaderRule,
        line: usize,
        first: &[&[u8]],
        next_len: Option<usize>,
    ) -> Option<Header> {
        let text = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
        let counts = || {
            let whole = |f: &[u8]| std::str::from_utf8(f).ok()?.parse::<u64>().ok();
            let (samples, features) = (whole(first.first()?)?, whole(first.get(1)?)?);
            let cells = usize::try_from(features).ok()?.checked_add(1)?;
            // Class names, if any, hold a word: a short row of numbers is not a count line.
            let names = first.len() == 2 || first[2..].iter().any(|f| !is_number(f));
            let fits = next_len == Some(cells) && first.len() != cells;
            (samples > 0 && names && fits).then(|| Header::Counts {
                line,
                samples,
                features,
                names: first[2..].iter().map(|f| text(f)).collect(),
            })
        };
        let names = || Header::Names {
            line,
            text: text(&first.join(&b","[..])).chars().take(60).collect(),
        };
        match rule {
            HeaderRule::No => None,
            HeaderRule::Yes => Some(counts().unwrap_or_else(names)),
            HeaderRule::Auto => counts().or_else(|| {
                let words = first.iter().filter(|f| !is_number(f)).count();
                (2 * words >= first.len()).then(names)
            }),
        }
    }

    /// The one-line note telling the user the line was skipped; `rows` is the number of data
    /// rows read after it.
    pub fn note(&self, rows: usize) -> String {
        match self {
            Header::Names { line, text } => {
                format!(
                    "line {line} is a header (\"{text}\"): skipped (--header no reads it as data)"
                )
            }
            Header::Counts {
                line,
                samples,
                features,
                names,
            } => {
                let classes = if names.is_empty() {
                    String::new()
                } else {
                    format!("; classes {}", names.join(", "))
                };
                let differs = if *samples == rows as u64 {
                    String::new()
                } else {
                    format!("; the file holds {rows} rows, not {samples}")
                };
                format!(
                    "line {line} is scikit-learn's count line ({samples} samples, {features} \
                     features{classes}): skipped{differs}"
                )
            }
        }
    }
}

/// True when the cell parses as a number (`nan` and `inf` included: a bad value, not a word).
pub fn is_number(field: &[u8]) -> bool {
    std::str::from_utf8(field).is_ok_and(|s| s.parse::<f64>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(s: &str) -> Vec<&[u8]> {
        s.split(',').map(str::as_bytes).collect()
    }

    #[test]
    fn label_columns_parse_and_index() {
        for (s, c) in [
            ("first", LabelColumn::First),
            ("last", LabelColumn::Last),
            ("3", LabelColumn::Number(NonZeroUsize::new(3).unwrap())),
        ] {
            assert_eq!(s.parse::<LabelColumn>().unwrap(), c);
            assert_eq!(c.to_string(), s);
        }
        for bad in ["0", "-1", "middle", ""] {
            assert!(bad.parse::<LabelColumn>().is_err(), "{bad}");
        }
        assert_eq!(LabelColumn::Last.index(14), Some(13));
        assert_eq!(LabelColumn::First.index(14), Some(0));
        assert_eq!("14".parse::<LabelColumn>().unwrap().index(14), Some(13));
        assert_eq!("15".parse::<LabelColumn>().unwrap().index(14), None);
        let f = CsvFormat {
            header: HeaderRule::No,
            label_column: LabelColumn::First,
        };
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"{"header":"no","label_column":"first"}"#);
        assert_eq!(serde_json::from_str::<CsvFormat>(&json).unwrap(), f);
    }

    #[test]
    fn headers_are_detected() {
        let auto = |first: &str, next: Option<usize>| {
            Header::detect(HeaderRule::Auto, 1, &cells(first), next)
        };
        // scikit-learn's count lines, with and without class names.
        let h = auto("178,13,class_0,class_1,class_2", Some(14)).unwrap();
        assert!(
            matches!(&h, Header::Counts { samples: 178, features: 13, names, .. } if names.len() == 3)
        );
        assert!(h.note(178).contains("scikit-learn") && !h.note(178).contains("holds"));
        assert!(h.note(170).contains("holds 170 rows"), "{}", h.note(170));
        assert!(matches!(
            auto("569,30,malignant,benign", Some(31)),
            Some(Header::Counts { .. })
        ));
        assert!(matches!(
            auto("150,4", Some(5)),
            Some(Header::Counts { .. })
        ));
        // Column names.
        assert!(matches!(
            auto("a,b,label", Some(3)),
            Some(Header::Names { .. })
        ));
        assert!(matches!(
            auto("x1,2,y,z", Some(4)),
            Some(Header::Names { .. })
        ));
        // Data: numbers, one bad cell (an error to report, not a header), nan.
        assert_eq!(auto("1,2,0", Some(3)), None);
        assert_eq!(auto("0,0,0,x,3", None), None);
        assert_eq!(auto("0,nan,1", Some(3)), None);
        // A count-like first row of the same width as the rest is data, as is a row of
        // numbers before a short row (the short row is the error to report).
        assert_eq!(auto("3,2,1", Some(3)), None);
        assert_eq!(auto("0,1,1", Some(2)), None);
        assert_eq!(auto("4,1,1", Some(2)), None);
        // The rules no and yes.
        assert_eq!(
            Header::detect(HeaderRule::No, 1, &cells("a,b,c"), Some(3)),
            None
        );
        assert!(matches!(
            Header::detect(HeaderRule::Yes, 2, &cells("1,2,0"), Some(3)),
            Some(Header::Names { line: 2, .. })
        ));
    }
}
