//! The UCI 8×8 digits in flash: 1797 samples, pixels at 4 bits (two per byte).
//!
//! Made by `build.rs` from `dtp-std/data/digits.csv.gz` through `dtp_digits::table`; the
//! format (pixel `v ∈ 0..=16` stored as `q = round(15v/16)`, read as `q/15 ∈ [0, 1]`) and the
//! held-out split (sample `i` held out iff `i % 5 == 4`: 359 held out, 1438 for the training
//! stream) are `dtp_digits`'s, shared with the host.

pub use dtp_digits::format::{CLASSES, LEN, PIXELS};
pub use dtp_digits::split::{HELD_OUT, TRAIN, held_out, held_out_index, train_index};
use dtp_digits::format::{self, ROW_BYTES};

static PIXELS_4BIT: &[u8; LEN * ROW_BYTES] =
    include_bytes!(concat!(env!("OUT_DIR"), "/digits_pixels.bin"));
static LABELS: &[u8; LEN] = include_bytes!(concat!(env!("OUT_DIR"), "/digits_labels.bin"));

/// Bytes of flash the table takes.
pub const FLASH_BYTES: usize = format::TABLE_BYTES;

/// Writes sample `i`'s pixels (in `[0, 1]`) into `x`; returns its label, or `None` (and
/// leaves `x` alone) if there is no sample `i` (`i >= LEN`).
pub fn sample(i: usize, x: &mut [f32; PIXELS]) -> Option<u8> {
    let (rows, _) = PIXELS_4BIT.as_chunks::<ROW_BYTES>();
    let (row, &label) = rows.get(i).zip(LABELS.get(i))?;
    format::unpack(row, x);
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
