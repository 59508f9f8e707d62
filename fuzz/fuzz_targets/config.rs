//! The `--config FILE.toml` reader, through the calls `dtp train --config FILE` makes: read
//! the file, patch a preset's settings, validate them. Settings that validate must survive
//! the `config.toml` a run writes.
#![no_main]

mod file;
use dtp_std::config::HyperPatch;
use dtp_std::presets::PRESETS;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = file::as_file(data, "config.toml");
    let Ok(patch) = HyperPatch::from_file(&path) else {
        return;
    };
    for preset in PRESETS {
        let mut h = (preset.defaults)();
        h.apply(&patch);
        if h.validate_run().is_ok() && h.to_core().validate().is_ok() {
            let again = HyperPatch::parse(Path::new("run/config.toml"), &h.to_toml()).unwrap();
            let mut g = (preset.defaults)();
            g.apply(&again);
            assert_eq!(g, h);
        }
    }
});
