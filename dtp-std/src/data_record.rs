//! The record of where a run's data came from and how it was scaled, kept in its checkpoint.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{CsvFormat, ScaleChoice, Scaling};

/// Metadata key of the checkpoint holding the [`DataRecord`] (JSON).
pub const DATA_KEY: &str = "data";

/// Where a run's data came from and how its features were scaled: recorded in every
/// checkpoint (key [`DATA_KEY`]), so `--resume` reads the same data and `dtp eval` scales as
/// training did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    /// `--data` as an absolute path; `None`: the preset's default (embedded digits, or the
    /// default data directory).
    pub source: Option<PathBuf>,
    /// The scaling applied to every split.
    #[serde(default)]
    pub scaling: Scaling,
    /// What `--scale` asked for and what it resolved to (CSV input of runs since `--scale
    /// auto`; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleChoice>,
    /// How the CSV file was read — header rule, label column — so `dtp eval` and `--resume`
    /// read it the same way (CSV input of runs since `--header`; absent otherwise: the
    /// defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvFormat>,
}

impl DataRecord {
    /// The record of `--data data` scaled by `scaling`.
    pub fn new(data: Option<&Path>, scaling: Scaling) -> Self {
        DataRecord {
            source: data.map(absolute),
            scaling,
            scale: None,
            csv: None,
        }
    }

    /// The run's CSV file as `dtp info` names it, for data of `kind`; `None` for the
    /// preset's own data (embedded digits, IDX or CIFAR files).
    pub fn csv_name(&self, kind: crate::presets::DataKind) -> Option<String> {
        let source = self.source.as_deref();
        (self.csv.is_some() || crate::datasets::is_csv(kind, source))
            .then(|| crate::datasets::source_name(kind, source))
    }

    /// Parses the checkpoint metadata value.
    pub fn from_json(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| format!("metadata `{DATA_KEY}`: {e}"))
    }

    /// The metadata value.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// How to print the source.
    pub fn source_name(&self) -> String {
        match &self.source {
            Some(p) => p.display().to_string(),
            None => "the preset's default data".into(),
        }
    }
}

/// `p` made absolute and, when it exists, canonical (so a run resumed from another directory
/// reads the same file, and two spellings of one file compare equal).
pub fn absolute(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_records_read_and_write_as_they_were() {
        let old = r#"{"source":"/d/x.csv","scaling":{"min":[0.0],"max":[16.0]}}"#;
        let r = DataRecord::from_json(old).unwrap();
        assert_eq!((r.scale.as_ref(), r.csv), (None, None));
        assert_eq!(r.to_json(), old);
    }
}
