//! The UCI 8×8 digits in flash: 1797 samples, pixels at 4 bits (two per byte).
//!
//! Made by `build.rs` from `dtp-std/data/digits.csv.gz`: pixel `v ∈ 0..=16` is stored as
//! `q = round(15v/16)` and read as `q/15 ∈ [0, 1]`. Sample `i` is held out for evaluation iff
//! `i % 5 == 4` (359 held out, 1438 for the training stream).

/// Number of samples.
pub const LEN: usize = 1797;
/// Pixels per sample.
pub const PIXELS: usize = 64;
/// Classes.
pub const CLASSES: usize = 10;

static PIXELS_4BIT: &[u8; LEN * PIXELS / 2] =
    include_bytes!(concat!(env!("OUT_DIR"), "/digits_pixels.bin"));
static LABELS: &[u8; LEN] = include_bytes!(concat!(env!("OUT_DIR"), "/digits_labels.bin"));

/// Bytes of flash the table takes.
pub const FLASH_BYTES: usize = LEN * PIXELS / 2 + LEN;

/// Whether sample `i` belongs to the held-out part.
pub const fn held_out(i: usize) -> bool {
    i % 5 == 4
}

/// Number of held-out samples.
pub const HELD_OUT: usize = LEN / 5;
/// Number of training samples.
pub const TRAIN: usize = LEN - HELD_OUT;

/// Index of the `j`-th held-out sample.
pub const fn held_out_index(j: usize) -> usize {
    5 * j + 4
}

/// Index of the `j`-th training sample.
pub const fn train_index(j: usize) -> usize {
    j / 4 * 5 + j % 4
}

/// Writes sample `i`'s pixels (in `[0, 1]`) into `x`; returns its label.
pub fn sample(i: usize, x: &mut [f32]) -> u8 {
    let row = &PIXELS_4BIT[i * PIXELS / 2..(i + 1) * PIXELS / 2];
    for (pair, byte) in x.chunks_exact_mut(2).zip(row) {
        pair[0] = (byte & 0x0F) as f32 * (1.0 / 15.0);
        pair[1] = (byte >> 4) as f32 * (1.0 / 15.0);
    }
    LABELS[i]
}
