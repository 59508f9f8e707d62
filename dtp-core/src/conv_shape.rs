//! The geometry of a convolution and the index arithmetic of `im2col`/`col2im` on one
//! sample, shared by the run-time-sized convolutions (`conv`, feature `alloc`) and the
//! fixed-size one ([`fixed_conv`](crate::fixed_conv)) — neither allocates.
//!
//! # Shapes and symbols
//! `C`/`H`/`W` = input channels, height, width, `C'` = output channels, `k` = kernel side,
//! `s` = stride, `p` = zero padding, `H' = (H + 2p − k)/s + 1` (likewise `W'`),
//! `P = H'·W'` output positions, `K = C·k·k` values in one patch. A sample is `C·H·W`
//! values, channel-major then row-major: `(c, y, x)` is element `c·H·W + y·W + x`.
//!
//! One sample's patches are a `K × P` column-major matrix (column `q = y'·W' + x'`, row
//! `r = (c·k + ky)·k + kx`); one sample's convolution output as a product is `C' × P`
//! column-major, and as a sample `C'·P` values, channel-major (`c·P + q`).

use crate::error::ConfigError;

/// The geometry of one convolution: a `C × H × W` input, `C'` output channels, a `k × k`
/// kernel, stride `s`, zero padding `p` on every side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Input channels `C`.
    pub channels_in: usize,
    /// Input height `H`.
    pub height: usize,
    /// Input width `W`.
    pub width: usize,
    /// Output channels `C'`.
    pub channels_out: usize,
    /// Kernel side `k`.
    pub kernel: usize,
    /// Stride `s`.
    pub stride: usize,
    /// Zero padding `p`.
    pub padding: usize,
}

impl ConvShape {
    /// Checks the geometry: every size at least 1, and the kernel fits the padded input.
    pub fn check(&self) -> Result<(), ConfigError> {
        let sizes = [
            self.channels_in,
            self.height,
            self.width,
            self.channels_out,
            self.kernel,
            self.stride,
        ];
        if sizes.contains(&0) {
            return Err(ConfigError::ZeroWidth);
        }
        let side = self.height.min(self.width) + 2 * self.padding;
        if self.kernel > side {
            return Err(ConfigError::OutOfRange {
                name: "kernel",
                value: self.kernel as f32,
                allowed: "[1, the padded input's side]",
            });
        }
        Ok(())
    }

    /// Output height `H' = (H + 2p − k)/s + 1` (meaningful once [`check`](Self::check)
    /// passed; never panics).
    pub const fn out_height(&self) -> usize {
        out_side(self.height, self.padding, self.kernel, self.stride)
    }

    /// Output width `W' = (W + 2p − k)/s + 1` (as [`out_height`](Self::out_height)).
    pub const fn out_width(&self) -> usize {
        out_side(self.width, self.padding, self.kernel, self.stride)
    }

    /// Output positions `P = H'·W'`.
    pub const fn positions(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// Values in one patch, `K = C·k·k`.
    pub const fn patch(&self) -> usize {
        self.channels_in * self.kernel * self.kernel
    }

    /// Values of one input sample, `C·H·W`.
    pub const fn inputs(&self) -> usize {
        self.channels_in * self.height * self.width
    }

    /// Values of one output sample, `C'·P`.
    pub const fn outputs(&self) -> usize {
        self.channels_out * self.positions()
    }

    /// The input element that row `r` of the patch of output position `q` reads: the index
    /// `c·H·W + y·W + x` of `(c, y, x) = (r / k², q_y·s + (r/k mod k) − p, q_x·s + (r mod k) − p)`,
    /// `q = q_y·W' + q_x`; `None` in the zero padding (outside the image).
    #[inline(always)]
    pub const fn source(&self, r: usize, q: usize) -> Option<usize> {
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        let (h, w) = (self.height, self.width);
        let (ow, kk) = (self.out_width(), k.wrapping_mul(k));
        // No division by zero (`k·k` may wrap to 0): no panic path on the device.
        if k == 0 || kk == 0 || ow == 0 {
            return None;
        }
        let (oy, ox) = (q / ow, q % ow);
        let (c, ky, kx) = (r / kk, (r / k) % k, r % k);
        let (iy, ix) = ((oy * s + ky).wrapping_sub(p), (ox * s + kx).wrapping_sub(p));
        if iy < h && ix < w {
            Some(c * h * w + iy * w + ix)
        } else {
            None
        }
    }

    /// `im2col` of one sample: `cols` (`K × P` column-major, `K·P` values) receives at row
    /// `r` of column `q` the input element [`source`](Self::source)`(r, q)` of `x`, or 0 in
    /// the padding (or past the end of `x`). Never panics: a short `cols` is filled as far
    /// as it goes.
    pub fn im2col_sample(&self, x: &[f32], cols: &mut [f32]) {
        match self.kernel {
            3 => self.im2col_k::<3>(x, cols),
            _ => self.im2col_k::<0>(x, cols),
        }
    }

    /// [`im2col_sample`](Self::im2col_sample) with the kernel side `K` known at compile time
    /// (`K = 0`: read at run time).
    fn im2col_k<const K: usize>(&self, x: &[f32], cols: &mut [f32]) {
        let (patch, s) = (self.patch(), self.stride);
        let k = if K == 0 { self.kernel } else { K };
        let ow = self.out_width();
        self.kernel_rows(|oy, r0, x0, line| {
            let line = line.and_then(|r| x.get(r.start..r.end.min(x.len())));
            let line = line.unwrap_or(&[]);
            let (mut at, mut x0) = ((oy * ow) * patch + r0, x0);
            for _ in 0..ow {
                let Some(out) = cols.get_mut(at..at + k) else {
                    return;
                };
                match x0.checked_add(k).and_then(|end| line.get(x0..end)) {
                    Some(inside) => out.iter_mut().zip(inside).for_each(|(o, &v)| *o = v),
                    None => {
                        for (kx, o) in out.iter_mut().enumerate() {
                            *o = line.get(x0.wrapping_add(kx)).copied().unwrap_or(0.0);
                        }
                    }
                }
                (at, x0) = (at + patch, x0.wrapping_add(s));
            }
        });
    }

    /// `col2im` of one sample, the adjoint of [`im2col_sample`](Self::im2col_sample): adds
    /// each entry of `cols` (`K × P`) into the element of `x` it was read from (`x` is not
    /// zeroed first; entries read from the padding are dropped). Each element of `x`
    /// receives its entries in the order of their columns `q`.
    pub fn col2im_sample(&self, cols: &[f32], x: &mut [f32]) {
        let (patch, k, s) = (self.patch(), self.kernel, self.stride);
        let ow = self.out_width();
        self.kernel_rows(|oy, r0, x0, line| {
            let end = x.len();
            let Some(line) = line.and_then(|r| x.get_mut(r.start..r.end.min(end))) else {
                return;
            };
            let (mut at, mut x0) = ((oy * ow) * patch + r0, x0);
            for _ in 0..ow {
                let Some(add) = cols.get(at..at + k) else {
                    return;
                };
                match x0.checked_add(k).and_then(|end| line.get_mut(x0..end)) {
                    Some(inside) => inside.iter_mut().zip(add).for_each(|(t, &v)| *t += v),
                    None => {
                        for (kx, &v) in add.iter().enumerate() {
                            if let Some(t) = line.get_mut(x0.wrapping_add(kx)) {
                                *t += v;
                            }
                        }
                    }
                }
                (at, x0) = (at + patch, x0.wrapping_add(s));
            }
        });
    }

    /// Walks the patches a kernel row at a time, an output row `y'` at a time: for each
    /// `(y', c, ky)` calls `row(y', r0, x0, line)` with `r0 = (c·k + ky)·k`, the patch row of
    /// its first tap (`r` as [`source`](Self::source) numbers them), `x0 = −p` (wrapped
    /// below zero), the image column of the first tap of output column `x' = 0` (the
    /// column `x'` starts at `x0 + x'·s`; taps outside `[0, W)` are padding), and the
    /// offsets in one sample of image row `(c, y'·s + ky − p)` (`None` above or below the
    /// image). The caller walks the `W'` columns by additions: no division per value or
    /// per position (`im2col` and `col2im` spent most of their time in
    /// [`source`](Self::source)'s three divisions, then in a per-position walk).
    fn kernel_rows(
        &self,
        mut row: impl FnMut(usize, usize, usize, Option<core::ops::Range<usize>>),
    ) {
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        let (h, w) = (self.height, self.width);
        let x0 = 0usize.wrapping_sub(p);
        for oy in 0..self.out_height() {
            let y0 = oy * s;
            for c in 0..self.channels_in {
                for ky in 0..k {
                    let iy = (y0 + ky).wrapping_sub(p);
                    let line = (iy < h).then(|| (c * h + iy) * w);
                    row(oy, (c * k + ky) * k, x0, line.map(|start| start..start + w));
                }
            }
        }
    }

    /// One sample's channel-major product `z` (`C' × P`, column-major) as a sample `y`
    /// (`C'·P` values): `y[c·P + q] = z[c, q]`.
    pub fn to_sample(&self, z: &[f32], y: &mut [f32]) {
        let (c_out, positions) = (self.channels_out.max(1), self.positions().max(1));
        // A channel of `y` at a time: contiguous writes, reads a stride `C'` apart.
        for (c, row) in y.chunks_mut(positions).enumerate().take(c_out) {
            for (t, column) in row.iter_mut().zip(z.chunks_exact(c_out)) {
                if let Some(&v) = column.get(c) {
                    *t = v;
                }
            }
        }
    }

    /// The inverse of [`to_sample`](Self::to_sample): a sample `y` (`C'·P`) as the
    /// channel-major `z` (`C' × P`): `z[c, q] = y[c·P + q]` (0 where `y` is short).
    pub fn from_sample(&self, y: &[f32], z: &mut [f32]) {
        let (c_out, positions) = (self.channels_out.max(1), self.positions().max(1));
        if y.len() < c_out * positions {
            z.fill(0.0);
        }
        // A channel of `y` at a time: contiguous reads, writes a stride `C'` apart.
        for (c, row) in y.chunks(positions).enumerate().take(c_out) {
            for (&v, column) in row.iter().zip(z.chunks_exact_mut(c_out)) {
                if let Some(t) = column.get_mut(c) {
                    *t = v;
                }
            }
        }
    }
}

/// `(n + 2p − k)/s + 1`, saturating (0 stride read as 1).
const fn out_side(n: usize, p: usize, k: usize, s: usize) -> usize {
    let s = if s == 0 { 1 } else { s };
    (n + 2 * p).saturating_sub(k) / s + 1
}

#[cfg(test)]
mod tests {
    use super::ConvShape;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    /// Geometries that pass [`ConvShape::check`]: kernels 1–5 (3 takes its own code path),
    /// strides 1–3, padding 0–2, sides 1–9.
    fn shapes() -> impl Strategy<Value = ConvShape> {
        (
            1usize..4,
            1usize..10,
            1usize..10,
            1usize..6,
            1usize..4,
            0usize..3,
        )
            .prop_map(|(c, h, w, k, s, p)| ConvShape {
                channels_in: c,
                height: h,
                width: w,
                channels_out: 2,
                kernel: k,
                stride: s,
                padding: p,
            })
            .prop_filter("the kernel fits the padded input", |s| s.check().is_ok())
    }

    /// Distinct, exactly representable values (sums of them are exact up to 2^24).
    fn values(n: usize) -> Vec<f32> {
        (0..n).map(|i| (i % 251) as f32 - 125.0 + 0.5).collect()
    }

    /// Few cases under Miri (each is slow there), and no regression file (Miri's isolation
    /// has no working directory to find it in).
    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: if cfg!(miri) { 4 } else { 256 },
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// `im2col` puts in every row `r` of every column `q` exactly the input element
        /// `source(r, q)` (0 in the padding).
        #[test]
        fn im2col_reads_what_source_names(shape in shapes()) {
            let (patch, positions) = (shape.patch(), shape.positions());
            let x = values(shape.inputs());
            let mut cols = vec![f32::NAN; patch * positions];
            shape.im2col_sample(&x, &mut cols);
            for q in 0..positions {
                for r in 0..patch {
                    let want = shape.source(r, q).map_or(0.0, |i| x[i]);
                    prop_assert_eq!(cols[q * patch + r].to_bits(), want.to_bits(), "r {} q {}", r, q);
                }
            }
        }

        /// `col2im` adds every entry into the element `source` names, each element's entries
        /// in the order of their columns `q` (so the sums' bits do not depend on the walk).
        #[test]
        fn col2im_adds_where_source_names_in_column_order(shape in shapes()) {
            let (patch, positions) = (shape.patch(), shape.positions());
            let cols: Vec<f32> = (0..patch * positions)
                .map(|i| 1.0 + (i % 7) as f32 * 0.1 + (i % 13) as f32 * 1e-3)
                .collect();
            let start = values(shape.inputs());
            let mut want = start.clone();
            for q in 0..positions {
                for r in 0..patch {
                    if let Some(i) = shape.source(r, q) {
                        want[i] += cols[q * patch + r];
                    }
                }
            }
            let mut got = start;
            shape.col2im_sample(&cols, &mut got);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                prop_assert_eq!(g.to_bits(), w.to_bits(), "element {}", i);
            }
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// `to_sample` puts `z[c, q]` (column-major `C' × P`) at `y[c·P + q]`;
        /// `from_sample` reads it back.
        #[test]
        fn channel_major_reorders_are_inverse_transposes(shape in shapes(), c_out in 1usize..5) {
            let shape = ConvShape { channels_out: c_out, ..shape };
            let p = shape.positions();
            let z = values(c_out * p);
            let mut y = vec![f32::NAN; c_out * p];
            shape.to_sample(&z, &mut y);
            for c in 0..c_out {
                for q in 0..p {
                    prop_assert_eq!(y[c * p + q].to_bits(), z[q * c_out + c].to_bits());
                }
            }
            let mut back = vec![f32::NAN; c_out * p];
            shape.from_sample(&y, &mut back);
            prop_assert_eq!(back, z);
        }
    }

    /// A short `cols` or `x` is handled as far as it goes, without a panic.
    #[test]
    fn short_buffers_do_not_panic() {
        let shape = ConvShape {
            channels_in: 2,
            height: 5,
            width: 5,
            channels_out: 1,
            kernel: 3,
            stride: 2,
            padding: 1,
        };
        let x = values(shape.inputs() - 7);
        let mut cols = vec![0.0; shape.patch() * shape.positions() - 5];
        shape.im2col_sample(&x, &mut cols);
        let mut back = vec![0.0; shape.inputs() - 3];
        shape.col2im_sample(&cols, &mut back);
        let z = values(shape.outputs() - 2);
        let mut y = vec![0.0; shape.outputs() - 1];
        shape.to_sample(&z, &mut y);
        let mut z = vec![1.0; shape.outputs()];
        shape.from_sample(&y, &mut z);
        assert_eq!(z[shape.outputs() - 1], 0.0, "read past a short y: 0");
    }
}
