//! The checkpoint (safetensors) loader, through the same call `dtp info`, `eval`, `export`
//! and `train --resume` make: `checkpoint::load(path)`. A file that loads is then used as
//! `dtp info` and `dtp export` use it.
#![no_main]

mod file;
use dtp_std::checkpoint;
use dtp_std::model::Model;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = file::as_file(data, checkpoint::FILE_NAME);
    if let Ok(c) = checkpoint::load(&path) {
        let m = &c.model;
        let _ = (
            m.shape().widths(),
            m.epoch(),
            c.hyper.to_toml(),
            match m {
                Model::Autoencoder(ae) => ae.info_lines(),
                Model::Classifier(_) | Model::Conv(_) => Vec::new(),
            },
        );
        for t in m.tensors() {
            assert_eq!(t.data.len(), t.rows * t.cols);
            assert!(t.data.iter().all(|v| v.is_finite()), "{}", t.name);
        }
        assert!(c.hyper.validate_run().is_ok());
        if let Model::Classifier(c) = m {
            let _ = c.blob();
        }
    }
});
