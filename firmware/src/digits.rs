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

/// Writes sample `i`'s pixels (in `[0, 1]`) into `x`; returns its label, or `None` (and
/// leaves `x` alone) if there is no sample `i` (`i >= LEN`).
pub fn sample(i: usize, x: &mut [f32; PIXELS]) -> Option<u8> {
    let (rows, _) = PIXELS_4BIT.as_chunks::<{ PIXELS / 2 }>();
    let (row, &label) = rows.get(i).zip(LABELS.get(i))?;
    for (pair, byte) in x.as_chunks_mut::<2>().0.iter_mut().zip(row) {
        pair[0] = (byte & 0x0F) as f32 * (1.0 / 15.0);
        pair[1] = (byte >> 4) as f32 * (1.0 / 15.0);
    }
    Some(label)
}

/// Writes sample `i`'s 4-bit pixels `q ∈ 0..=15`, each through `f`, into `x` (at most
/// [`PIXELS`] values); returns its label, or `None` (and leaves `x` alone) if there is no
/// sample `i`. The integer demo's reader: no floating point.
pub fn sample_4bit<T>(i: usize, x: &mut [T], f: impl Fn(u8) -> T) -> Option<u8> {
    let (rows, _) = PIXELS_4BIT.as_chunks::<{ PIXELS / 2 }>();
    let (row, &label) = rows.get(i).zip(LABELS.get(i))?;
    for (pair, byte) in x.chunks_mut(2).zip(row) {
        if let [lo, hi] = pair {
            *lo = f(byte & 0x0F);
            *hi = f(byte >> 4);
        }
    }
    Some(label)
}

/// Writes the one-hot target of `label` into `t` (`t[k] = 1` for `k == label`, 0 elsewhere)
/// without indexing by the label: a label outside `0..t.len()` gives an all-zero target.
pub fn one_hot(label: u8, t: &mut [f32]) {
    for (k, v) in t.iter_mut().enumerate() {
        *v = if k == usize::from(label) { 1.0 } else { 0.0 };
    }
}
