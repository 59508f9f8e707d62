//! The checkpoint (safetensors) loader, through the same call `dtp info`, `eval`, `export`
//! and `train --resume` make: `checkpoint::load(path)`. A file that loads is then used as
//! `dtp info` and `dtp export` use it.
#![no_main]

mod file;
use dtp_std::checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = file::as_file(data, checkpoint::FILE_NAME);
    if let Ok(c) = checkpoint::load(&path) {
        let m = c.model.as_ref();
        let _ = (
            m.shape().widths(),
            m.epoch(),
            c.hyper.to_toml(),
            m.as_autoencoder().map(|ae| ae.info_lines()),
        );
        for t in m.tensors() {
            assert_eq!(t.data.len(), t.rows * t.cols);
            assert!(t.data.iter().all(|v| v.is_finite()), "{}", t.name);
        }
        assert!(c.hyper.validate_run().is_ok());
        let _ = m.as_classifier().map(|c| c.blob());
    }
});
