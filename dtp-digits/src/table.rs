//! The digits CSV (64 pixel columns `0..=16`, then the label; a header line is skipped)
//! packed into the firmware's table: `firmware/build.rs` writes it to flash, the host replay
//! reads it as the device does.

use crate::format::{self, LEN, PIXELS, ROW_BYTES};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The packed table: [`ROW_BYTES`] bytes of 4-bit pixels per sample, then one label byte
/// per sample.
pub struct Table {
    /// `LEN · ROW_BYTES` bytes: sample `i`'s row at `i · ROW_BYTES`.
    pub pixels: Vec<u8>,
    /// `LEN` labels.
    pub labels: Vec<u8>,
}

impl Table {
    /// Packs the CSV text; an error names the first bad line. Exactly [`LEN`] rows.
    pub fn from_csv(csv: &str) -> Result<Table, String> {
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        for (n, line) in csv.lines().enumerate() {
            let values: Vec<u32> = match line
                .split(',')
                .map(|f| f.trim().parse::<f64>().map(|v| v as u32))
                .collect()
            {
                Ok(v) => v,
                Err(_) => continue, // a header line
            };
            if values.len() != PIXELS + 1 {
                return Err(format!("digits line {}: {} fields", n + 1, values.len()));
            }
            for pair in values[..PIXELS].chunks(2) {
                let q =
                    |v: u32| format::quantise(v).ok_or(format!("digits line {}: pixel {v}", n + 1));
                pixels.push(format::pack_pair(q(pair[0])?, q(pair[1])?));
            }
            labels.push(values[PIXELS] as u8);
        }
        if labels.len() != LEN {
            return Err(format!("{} digits rows, expected {LEN}", labels.len()));
        }
        Ok(Table { pixels, labels })
    }

    /// Sample `i` as the device reads it: pixels into `x`, and its label; `None` if there is
    /// no sample `i`.
    pub fn sample(&self, i: usize, x: &mut [f32; PIXELS]) -> Option<u8> {
        let (rows, _) = self.pixels.as_chunks::<ROW_BYTES>();
        let (row, &label) = rows.get(i).zip(self.labels.get(i))?;
        format::unpack(row, x);
        Some(label)
    }
}
