//! Bit-packed binary units: `±1` vectors in `u32` words, and the products that use them.
//!
//! A sign unit read as `+1` is a set bit, `−1` a clear bit, exactly as
//! [`Quantiser::Sign`](crate::Quantiser::Sign) reads it (`+1` iff `h > 0`). Then
//! - binary × binary products are XNOR and popcount: for `a, b ∈ {±1}ⁿ`,
//!   `a·b = n − 2·popcount(a ⊕ b)` ([`Bits::dot`]);
//! - float weights × binary inputs need no multiplication: `W s = Σ_{s_j=+1} W_j − Σ_{s_j=−1} W_j`
//!   ([`gemv_signs`]);
//! - a layer whose weights are binarised too (`W ≈ α sign(W)` per row, as in XNOR-Net) is one
//!   XNOR/popcount per output ([`XnorDense`]).
//!
//! `N` units take `W = ⌈N/32⌉` words: a 32× smaller activation buffer than `f32`.

use crate::mat::Mat;

/// Number of `u32` words holding `n` binary units.
pub const fn words(n: usize) -> usize {
    n.div_ceil(32)
}

/// A vector of `±1` units packed 32 to a word (bit `j % 32` of word `j / 32` is unit `j`;
/// set = `+1`). Bits past the vector's length are kept clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Bits<const W: usize> {
    /// The packed words.
    pub words: [u32; W],
}

impl<const W: usize> Bits<W> {
    /// All units `−1`.
    pub const ZERO: Self = Bits { words: [0; W] };

    /// Packs `sign(v)` of each value (`+1` iff `v > 0`).
    ///
    /// # Panics
    /// If `values` has more than `32·W` entries.
    pub fn pack_sign(values: &[f32]) -> Self {
        assert!(values.len() <= 32 * W, "too many units for {W} words");
        let mut words = [0u32; W];
        for (j, &v) in values.iter().enumerate() {
            words[j / 32] |= ((v > 0.0) as u32) << (j % 32);
        }
        Bits { words }
    }

    /// Unit `j` as `±1.0`.
    #[inline]
    pub fn get(&self, j: usize) -> f32 {
        if self.words[j / 32] >> (j % 32) & 1 == 1 {
            1.0
        } else {
            -1.0
        }
    }

    /// Writes every unit as `±1.0` into `out` (its length is the number of units).
    pub fn unpack(&self, out: &mut [f32]) {
        for (j, o) in out.iter_mut().enumerate() {
            *o = self.get(j);
        }
    }

    /// Number of the first `n` units where `self` and `other` differ: `popcount(a ⊕ b)`.
    #[inline]
    pub fn hamming(&self, other: &Self, n: usize) -> u32 {
        let mut count = 0;
        for (w, (a, b)) in self.words.iter().zip(&other.words).enumerate() {
            count += ((a ^ b) & mask(w, n)).count_ones();
        }
        count
    }

    /// `a·b` over the first `n` units of two `±1` vectors: XNOR then popcount,
    /// `n − 2·popcount(a ⊕ b)`.
    #[inline]
    pub fn dot(&self, other: &Self, n: usize) -> i32 {
        n as i32 - 2 * self.hamming(other, n) as i32
    }
}

/// The valid-bit mask of word `w` of an `n`-unit vector.
#[inline]
fn mask(w: usize, n: usize) -> u32 {
    let lo = 32 * w;
    if n >= lo + 32 {
        u32::MAX
    } else if n <= lo {
        0
    } else {
        (1u32 << (n - lo)) - 1
    }
}

/// `out = W s + b` for a `±1` input `s` packed in words: each column of `W` is added or
/// subtracted, no multiplication (float weights × binary units).
///
/// # Shapes
/// `w`: `O × I`, `b`: `O`, `s`: `I` units in `W ≥ ⌈I/32⌉` words, `out`: `O`.
pub fn gemv_signs<const O: usize, const I: usize, const W: usize>(
    w: &Mat<O, I>,
    b: &Mat<O, 1>,
    s: &Bits<W>,
    out: &mut [f32; O],
) {
    const { assert!(32 * W >= I, "too few words for the input units") };
    out.copy_from_slice(b.as_slice());
    // Column-major: column j is contiguous.
    for (j, column) in w.as_slice().chunks_exact(O).enumerate() {
        if s.words[j / 32] >> (j % 32) & 1 == 1 {
            out.iter_mut().zip(column).for_each(|(o, &c)| *o += c);
        } else {
            out.iter_mut().zip(column).for_each(|(o, &c)| *o -= c);
        }
    }
}

/// A dense layer with binarised weights, `y_r = α_r · (sign(w_r) · s) + b_r`, for `±1` inputs:
/// one XNOR/popcount per output (XNOR-Net's `α_r = mean |w_r|`, Rastegari et al. 2016).
///
/// `O` outputs of `I` inputs in `W` words per row: `O·W` words instead of `O·I` floats.
#[derive(Clone, Debug, PartialEq)]
pub struct XnorDense<const O: usize, const I: usize, const W: usize> {
    /// `sign(w_r)` of each row, packed.
    pub rows: [Bits<W>; O],
    /// Per-row scale `α_r = mean_j |W_rj|`.
    pub alpha: [f32; O],
    /// Bias `b`.
    pub bias: [f32; O],
}

impl<const O: usize, const I: usize, const W: usize> XnorDense<O, I, W> {
    /// All-zero layer.
    pub const ZERO: Self = XnorDense {
        rows: [Bits::ZERO; O],
        alpha: [0.0; O],
        bias: [0.0; O],
    };

    /// Binarises a float layer in place of `self`.
    pub fn binarise(&mut self, dense: &crate::FixedDense<O, I>) {
        const { assert!(32 * W >= I, "too few words for the input units") };
        for r in 0..O {
            let mut row = Bits::ZERO;
            let mut sum = 0.0;
            for j in 0..I {
                let v = dense.w[(r, j)];
                row.words[j / 32] |= ((v > 0.0) as u32) << (j % 32);
                sum += libm::fabsf(v);
            }
            self.rows[r] = row;
            self.alpha[r] = sum / I as f32;
            self.bias[r] = dense.b[r];
        }
    }

    /// `out_r = α_r (I − 2·popcount(row_r ⊕ s)) + b_r`.
    pub fn forward(&self, s: &Bits<W>, out: &mut [f32; O]) {
        for (r, o) in out.iter_mut().enumerate() {
            *o = self.alpha[r] * self.rows[r].dot(s, I) as f32 + self.bias[r];
        }
    }

    /// Bytes of this layer's parameters (packed rows, scales, biases).
    pub const BYTES: usize = O * (4 * W + 8);

    /// Bytes of the same layer in `f32` (`W` and `b`).
    pub const F32_BYTES: usize = 4 * O * (I + 1);
}

/// Classifies one input with the hidden units read as packed signs: the same network
/// [`Trainer::forward`](crate::Trainer::forward) computes when `units.between` is
/// [`Quantiser::Sign`](crate::Quantiser::Sign), with every hidden → hidden product done by
/// [`gemv_signs`] on `W = ⌈H/32⌉` words instead of `H` floats. The output layer reads packed
/// signs too if `units.into_output` is `Sign`, else the continuous `h_{M-1}`.
///
/// Returns the index of the largest output (the predicted class) and writes the output
/// layer's pre-activations into `logits`. Only layer 1 (float input × float weights)
/// multiplies.
///
/// Returns `None`, touching neither `scratch` nor `logits`, if `units.between` is not
/// `Sign` (packing would change what the network computes). No panic path: the firmware's
/// evaluation calls it inside its proven-panic-free loop.
///
/// # Shapes
/// `x`: `IN`; `scratch`: `H`; `logits`: `OUT`.
pub fn predict_packed<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const W: usize,
>(
    net: &crate::FixedNet<IN, H, OUT, R>,
    units: &crate::Units,
    x: &Mat<IN, 1>,
    scratch: &mut [f32; H],
    logits: &mut [f32; OUT],
) -> Option<usize> {
    use crate::Quantiser;
    if units.between != Quantiser::Sign {
        return None;
    }
    // Layer 1: a = W_1 x + b_1, h_1 = s(a); the next layer reads sign(h_1).
    let mut a = net.first.b;
    a.gemv(1.0, &net.first.w, x, 1.0);
    scratch.copy_from_slice(a.as_slice());
    units.hidden.apply_slice(scratch);
    let mut s: Bits<W> = Bits::pack_sign(scratch);
    for layer in &net.hidden {
        gemv_signs(&layer.w, &layer.b, &s, scratch);
        units.hidden.apply_slice(scratch);
        s = Bits::pack_sign(scratch);
    }
    if units.into_output == Quantiser::Sign {
        gemv_signs(&net.output.w, &net.output.b, &s, logits);
    } else {
        let h = Mat::<H, 1>::from_column_slice(scratch);
        let mut z = net.output.b;
        z.gemv(1.0, &net.output.w, &h, 1.0);
        logits.copy_from_slice(z.as_slice());
    }
    Some(argmax(logits))
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}
