//! Where datasets live on disk (what to tell the user when they are missing: [`super::help`]).

use std::path::{Path, PathBuf};

use super::error::DataError;

/// Environment variable that overrides the dataset root directory.
pub const DATA_DIR_ENV: &str = "DTP_DATA_DIR";

/// The script that downloads MNIST and Fashion-MNIST (path from the repository root).
pub const FETCH_SCRIPT: &str = "scripts/fetch-data.sh";

/// The dataset root: `$DTP_DATA_DIR` when set and non-empty, else `<repo>/datasets`
/// when this crate was built from a checkout that still exists, else `./datasets`.
///
/// Below it, `scripts/fetch-data.sh` creates `mnist/` and `fashion-mnist/`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    // The parent, not `dtp-std/..`: the path is printed in messages.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = manifest.parent().unwrap_or(manifest);
    if repo.join("Cargo.toml").is_file() {
        return repo.join("datasets");
    }
    PathBuf::from("datasets")
}

/// Returns the first of `names` that exists as a file in `dir`, or
/// [`DataError::NotFound`] listing every name tried.
pub fn find_first(dir: &Path, what: &str, names: &[String]) -> Result<PathBuf, DataError> {
    if let Some(p) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        return Ok(p);
    }
    // A name that exists as a folder: say so rather than "not found".
    if let Some(p) = names.iter().map(|n| dir.join(n)).find(|p| p.is_dir()) {
        return Err(DataError::Io {
            file: p,
            source: std::io::Error::other(format!(
                "a directory, where the {what} file is expected"
            )),
        });
    }
    Err(DataError::NotFound {
        dir: dir.to_path_buf(),
        what: what.to_string(),
        looked_for: names.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_first_reports_all_names() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["a".to_string(), "b".to_string()];
        let e = find_first(dir.path(), "things", &names).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("a, b") && msg.contains("things"), "{msg}");
        std::fs::write(dir.path().join("b"), b"").unwrap();
        assert_eq!(
            find_first(dir.path(), "things", &names).unwrap(),
            dir.path().join("b")
        );
    }
}
