//! The 4-bit pixel format of the firmware's digits table.
//!
//! A UCI digit pixel `v ∈ 0..=16` is stored as `q = round(15v/16) = (15v + 8)/16` in 4 bits,
//! two pixels a byte (low nibble first), and read back as `q · (1/15) ∈ [0, 1]`. Labels are
//! one byte each.

/// Number of samples (the UCI digits).
pub const LEN: usize = 1797;
/// Pixels per sample (8×8).
pub const PIXELS: usize = 64;
/// Classes.
pub const CLASSES: usize = 10;
/// Bytes of one sample's packed pixels.
pub const ROW_BYTES: usize = PIXELS / 2;
/// Bytes of the whole table: packed pixels and labels.
pub const TABLE_BYTES: usize = LEN * ROW_BYTES + LEN;
/// The largest pixel value of the source data.
pub const MAX_PIXEL: u32 = 16;

/// The 4-bit level of pixel `v ∈ 0..=16`: `round(15v/16)`; `None` for `v > 16`.
pub const fn quantise(v: u32) -> Option<u8> {
    if v > MAX_PIXEL {
        None
    } else {
        Some(((v * 15 + 8) / 16) as u8)
    }
}

/// The value a 4-bit level is read as: `q · (1/15)` (`q ≤ 15` gives `[0, 1]`), the very
/// float the device computes with.
#[inline(always)]
pub fn level(q: u8) -> f32 {
    q as f32 * (1.0 / 15.0)
}

/// Two levels in one byte, the first in the low nibble.
pub const fn pack_pair(first: u8, second: u8) -> u8 {
    (first & 0x0F) | (second & 0x0F) << 4
}

/// Reads one sample's packed row (`ROW_BYTES` bytes) into its `PIXELS` values.
#[inline(always)]
pub fn unpack(row: &[u8; ROW_BYTES], x: &mut [f32; PIXELS]) {
    for (pair, byte) in x.as_chunks_mut::<2>().0.iter_mut().zip(row) {
        pair[0] = level(byte & 0x0F);
        pair[1] = level(byte >> 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pixel_round_trips_to_round_15v_over_16() {
        for v in 0..=16u32 {
            let q = quantise(v).unwrap();
            assert_eq!(u32::from(q), (15 * v + 8) / 16);
            assert!(
                (level(q) - v as f32 / 16.0).abs() <= 0.5 / 15.0 + 1e-6,
                "v = {v}"
            );
        }
        assert_eq!(quantise(17), None);
        let mut x = [0.0; PIXELS];
        let mut row = [0u8; ROW_BYTES];
        row[0] = pack_pair(3, 15);
        unpack(&row, &mut x);
        assert_eq!((x[0], x[1], x[2]), (level(3), 1.0, 0.0));
    }
}
