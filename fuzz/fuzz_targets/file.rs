//! Writes a fuzz input to a per-process file, so path-based readers see a real file (size
//! checks included).
use std::path::PathBuf;

pub fn as_file(data: &[u8], name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dtp-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}
