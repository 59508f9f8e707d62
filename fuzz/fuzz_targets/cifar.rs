//! The CIFAR-10 binary batch reader.
#![no_main]

mod file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = file::as_file(data, "data_batch_1.bin");
    if let Ok(d) = dtp_std::data::read_cifar10_batch(&path) {
        assert_eq!(d.to_values().len(), d.len() * 3072);
        assert!(d.labels().all(|l| l < 10));
    }
});
