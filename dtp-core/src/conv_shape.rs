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
        let (patch, k) = (self.patch().max(1), self.kernel.max(1));
        for (q, column) in cols.chunks_exact_mut(patch).enumerate() {
            let mut rows = column.chunks_exact_mut(k);
            self.patch_rows(q, |line, x0| {
                let Some(out) = rows.next() else { return };
                let line = line.and_then(|r| x.get(r.start..r.end.min(x.len())));
                let line = line.unwrap_or(&[]);
                match x0.checked_add(k).and_then(|end| line.get(x0..end)) {
                    Some(inside) => out.iter_mut().zip(inside).for_each(|(o, &v)| *o = v),
                    None => {
                        for (kx, o) in out.iter_mut().enumerate() {
                            *o = line.get(x0.wrapping_add(kx)).copied().unwrap_or(0.0);
                        }
                    }
                }
            });
        }
    }

    /// `col2im` of one sample, the adjoint of [`im2col_sample`](Self::im2col_sample): adds
    /// each entry of `cols` (`K × P`) into the element of `x` it was read from (`x` is not
    /// zeroed first; entries read from the padding are dropped).
    pub fn col2im_sample(&self, cols: &[f32], x: &mut [f32]) {
        let (patch, k) = (self.patch().max(1), self.kernel.max(1));
        for (q, column) in cols.chunks_exact(patch).enumerate() {
            let mut rows = column.chunks_exact(k);
            self.patch_rows(q, |line, x0| {
                let Some(add) = rows.next() else { return };
                let end = x.len();
                let line = line.and_then(|r| x.get_mut(r.start..r.end.min(end)));
                let line = line.unwrap_or(&mut []);
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
            });
        }
    }

    /// Walks the patch of output position `q` (`y'·W' + x'`) a kernel row at a time, in the
    /// order of its `K` rows (`r = (c·k + ky)·k + kx`, as [`source`](Self::source) numbers
    /// them): calls `row` for each `(c, ky)` with the offsets in one sample of image row
    /// `(c, y'·s + ky − p)` (`None` above or below the image) and the column `x'·s − p` of
    /// its first tap (wrapped below zero; taps outside `[0, W)` are padding). Divisions
    /// once per position, none per value: `im2col` and `col2im` spent most of their time in
    /// [`source`](Self::source)'s three.
    fn patch_rows(&self, q: usize, mut row: impl FnMut(Option<core::ops::Range<usize>>, usize)) {
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        let (h, w, ow) = (self.height, self.width, self.out_width());
        let ow = if ow == 0 { 1 } else { ow };
        let (y0, x0) = ((q / ow) * s, ((q % ow) * s).wrapping_sub(p));
        for c in 0..self.channels_in {
            for ky in 0..k {
                let iy = (y0 + ky).wrapping_sub(p);
                let line = (iy < h).then(|| (c * h + iy) * w);
                row(line.map(|start| start..start + w), x0);
            }
        }
    }

    /// One sample's channel-major product `z` (`C' × P`, column-major) as a sample `y`
    /// (`C'·P` values): `y[c·P + q] = z[c, q]`.
    pub fn to_sample(&self, z: &[f32], y: &mut [f32]) {
        let (c_out, positions) = (self.channels_out.max(1), self.positions());
        for (q, column) in z.chunks_exact(c_out).enumerate() {
            for (c, &v) in column.iter().enumerate() {
                if let Some(t) = y.get_mut(c * positions + q) {
                    *t = v;
                }
            }
        }
    }

    /// The inverse of [`to_sample`](Self::to_sample): a sample `y` (`C'·P`) as the
    /// channel-major `z` (`C' × P`): `z[c, q] = y[c·P + q]`.
    pub fn from_sample(&self, y: &[f32], z: &mut [f32]) {
        let (c_out, positions) = (self.channels_out.max(1), self.positions());
        for (q, column) in z.chunks_exact_mut(c_out).enumerate() {
            for (c, v) in column.iter_mut().enumerate() {
                *v = y.get(c * positions + q).copied().unwrap_or(0.0);
            }
        }
    }
}

/// `(n + 2p − k)/s + 1`, saturating (0 stride read as 1).
const fn out_side(n: usize, p: usize, k: usize, s: usize) -> usize {
    let s = if s == 0 { 1 } else { s };
    (n + 2 * p).saturating_sub(k) / s + 1
}
