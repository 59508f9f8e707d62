//! The firmware weight-blob parser: any bytes give a network or a `BlobError`, and a failed
//! read leaves the network untouched.
#![no_main]

use dtp_core::FixedNet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dtp_core::blob::read_header(data);
    let mut net = FixedNet::<8, 6, 4, 2>::ZERO;
    match net.read_blob(data) {
        Ok(units) => {
            // A blob that reads writes back to the same bytes.
            let mut out = vec![0u8; FixedNet::<8, 6, 4, 2>::BLOB_LEN];
            net.write_blob(&units, &mut out).unwrap();
            assert_eq!(&out[..], data);
        }
        Err(_) => assert!(net == FixedNet::<8, 6, 4, 2>::ZERO),
    }
});
