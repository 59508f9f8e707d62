//! The weight blob round-trips, and every corruption is reported, never a panic.

mod common;
use common::*;
use dtp_core::blob::{self, BlobError, read_header};
use dtp_core::{Config, FixedNet, Units};

type N = FixedNet<5, 4, 3, 2>;

fn blob_of(t: &Small, units: &Units) -> Vec<u8> {
    let mut out = vec![0u8; N::BLOB_LEN];
    assert_eq!(t.net.write_blob(units, &mut out), Ok(N::BLOB_LEN));
    out
}

#[test]
fn round_trip_is_exact() {
    let t = small(Config::DISCRETE, 3);
    let bytes = blob_of(&t, &Units::DISCRETE);
    assert_eq!(bytes.len(), blob::blob_len([5, 4, 3, 2]).unwrap());
    let mut back = N::ZERO;
    assert_eq!(back.read_blob(&bytes), Ok(Units::DISCRETE));
    assert_eq!(back, t.net);
    let header = read_header(&bytes).unwrap();
    assert_eq!(header.shape, [5, 4, 3, 2]);
    assert_eq!(&bytes[..4], b"DTPW");
}

#[test]
fn every_single_byte_corruption_is_detected() {
    let t = small(Config::CONTINUOUS, 4);
    let bytes = blob_of(&t, &Units::STOCHASTIC);
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x40;
        let mut net = N::ZERO;
        assert!(
            net.read_blob(&bad).is_err(),
            "flip at byte {i} went unnoticed"
        );
        assert_eq!(net, N::ZERO, "a failed read wrote parameters (byte {i})");
    }
}

#[test]
fn truncation_trailing_bytes_and_shape_are_named() {
    let t = small(Config::CONTINUOUS, 5);
    let bytes = blob_of(&t, &Units::CONTINUOUS);
    let mut net = N::ZERO;
    for len in [0, 3, 31, 32, 100, bytes.len() - 1] {
        assert!(
            matches!(net.read_blob(&bytes[..len]), Err(BlobError::TooShort { got, .. }) if got == len),
            "length {len}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        net.read_blob(&long),
        Err(BlobError::TooLong { .. })
    ));
    let mut other = FixedNet::<5, 4, 3, 1>::ZERO;
    assert_eq!(
        other.read_blob(&bytes),
        Err(BlobError::ShapeMismatch {
            expected: [5, 4, 3, 1],
            found: [5, 4, 3, 2]
        })
    );
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert_eq!(net.read_blob(&wrong_magic), Err(BlobError::BadMagic));
    let mut small_buf = vec![0u8; 10];
    assert!(
        t.net
            .write_blob(&Units::CONTINUOUS, &mut small_buf)
            .is_err()
    );
    // Overflowing shapes are reported, not wrapped.
    assert_eq!(blob::blob_len([u32::MAX; 4]), None);
}

#[test]
fn non_finite_parameters_are_refused_even_with_a_valid_crc() {
    let mut t = small(Config::CONTINUOUS, 6);
    t.net.output.b[(1, 0)] = f32::NAN;
    let bytes = blob_of(&t, &Units::CONTINUOUS);
    let mut net = N::ZERO;
    assert!(matches!(
        net.read_blob(&bytes),
        Err(BlobError::NonFinite { .. })
    ));
    let msg = format!("{}", net.read_blob(&bytes).unwrap_err());
    assert!(msg.starts_with("byte "), "{msg}");
}
