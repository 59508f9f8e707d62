//! The UCI optical handwritten digits (8×8), embedded in the binary.
//!
//! 1,797 images of 64 pixels with values 0–16, 10 classes: the copy shipped
//! with scikit-learn (`digits.csv.gz`, 57,523 bytes, sha256
//! `09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22`),
//! kept in this crate as `data/digits.csv.gz` (inside the crate, so its package builds).

use std::path::Path;

use super::csv::{CsvOptions, parse_csv};
use super::dataset::Dataset;
use super::error::DataError;
use super::source::Source;

/// The embedded `digits.csv.gz` (gzipped CSV, 64 pixel columns then the label).
pub static DIGITS_CSV_GZ: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv.gz"));

/// Number of samples in [`digits`].
pub const DIGITS_LEN: usize = 1797;
/// Pixels per digit image (8 × 8).
pub const DIGITS_FEATURES: usize = 64;
/// Largest pixel value in the raw data (values are 0..=16).
pub const DIGITS_MAX: f32 = 16.0;

/// Parses the embedded bytes; the error path exists only for the tests and for
/// a corrupted build.
fn try_digits() -> Result<Dataset, DataError> {
    let name = Path::new("<embedded>/digits.csv.gz");
    let bytes = Source::from_bytes(name, DIGITS_CSV_GZ).read_to_end()?;
    let opts = CsvOptions {
        scale_max: Some(DIGITS_MAX),
        classes: Some(10),
        ..CsvOptions::default()
    };
    let mut d = parse_csv(name, &bytes, &opts)?;
    d.name = "digits".to_string();
    Ok(d)
}

/// The 1,797 UCI 8×8 digits, pixels scaled to `[0, 1]` (÷16), 10 classes, in
/// file order. Parsed from the embedded copy by the same CSV reader as
/// [`read_csv`](super::csv::read_csv).
///
/// # Panics
/// Only if the embedded bytes were corrupted at build time (a programming error).
pub fn digits() -> Dataset {
    match try_digits() {
        Ok(d) => d,
        Err(e) => panic!("embedded digits.csv.gz is corrupt: {e}"),
    }
}

/// [`digits`] split into `(train, test)` by [`Dataset::stratified_split`]:
/// per class, `round(count × test_fraction)` samples chosen by a SplitMix64
/// shuffle seeded with `seed` go to test; both parts keep file order.
/// Deterministic for a given `(test_fraction, seed)`; e.g. `(0.25, 0)` gives
/// 1,346 / 451 (halves round away from zero). Fails unless `0 ≤ test_fraction ≤ 1`.
pub fn digits_split(test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset), DataError> {
    digits().stratified_split(test_fraction, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_digits() {
        assert_eq!(DIGITS_CSV_GZ.len(), 57_523);
        let d = digits();
        assert_eq!(
            (d.len(), d.features, d.classes),
            (DIGITS_LEN, DIGITS_FEATURES, 10)
        );
        assert_eq!(
            d.class_histogram(),
            vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        );
        let x = d.to_values();
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(x.contains(&1.0), "some pixel reaches 16");
        assert_eq!(d.labels().take(3).collect::<Vec<_>>(), [0, 1, 2]);
        // First row of the file: 0,0,5,13,9,1,0,0,...
        assert_eq!(d.sample(0).0[..4], [0.0, 0.0, 5.0 / 16.0, 13.0 / 16.0]);
    }

    #[test]
    fn digits_split_is_stratified_and_deterministic() {
        let (tr, te) = digits_split(0.25, 0).unwrap();
        assert_eq!(tr.len() + te.len(), DIGITS_LEN);
        let h = te.class_histogram();
        let full = digits().class_histogram();
        for (t, f) in h.iter().zip(&full) {
            assert_eq!(*t, (*f as f64 * 0.25).round() as usize);
        }
        assert_eq!((tr.len(), te.len()), (1346, 451));
        assert_eq!(digits_split(0.25, 0).unwrap().1, te);
        assert_ne!(digits_split(0.25, 1).unwrap().1.to_values(), te.to_values());
    }
}
