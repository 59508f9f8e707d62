//! The IDX reader (raw and gzip: the input's first bytes decide): images and labels files.
#![no_main]

mod file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = file::as_file(data, "train-images-idx3-ubyte");
    if let Ok(images) = dtp_std::data::read_idx_images(&path) {
        let _ = images;
    }
    let path = file::as_file(data, "train-labels-idx1-ubyte");
    let _ = dtp_std::data::read_idx_labels(&path);
});
