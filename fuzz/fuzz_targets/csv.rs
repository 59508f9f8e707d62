//! The generic CSV reader (features…, label), plain and gzipped.
#![no_main]

use dtp_std::data::{CsvOptions, parse_csv};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let opts = CsvOptions { scale_max: Some(16.0), classes: Some(10) };
    if let Ok(d) = parse_csv(Path::new("fuzz.csv"), data, &opts) {
        let x = d.to_values();
        assert_eq!(x.len(), d.len() * d.features);
        assert!(d.labels().all(|l| (l as usize) < d.classes));
        assert!(x.iter().all(|v| v.is_finite()));
    }
});
