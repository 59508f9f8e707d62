//! Where the integer network lives: its widths, one `i16` arena of parameters and one `i32`
//! arena of step buffers, owned by a [`Storage`] — const-sized arrays on the device
//! ([`Arrays`], in a `static`, no allocation) or vectors on the desktop (`Vectors`, feature
//! `alloc`). The steps read them through the offsets the widths give.
//!
//! Widths `n_0 (input), n_1 … n_{M−1} (hidden), n_M (output)`, any `M ≥ 3` (two hidden
//! layers or more), any widths `1 … 16384`.
//!
//! # The parameter arena (`i16`, Q3.12) — also the save format
//! For `i = 1 … M`: `W_i` (`n_i × n_{i−1}`, column-major: column `j`, the weights that read
//! input `j`, is `n_i` contiguous values), then `b_i` (`n_i`); then for `i = 2 … M−1`: `V_i`
//! (`n_{i−1} × n_i`, column-major), then `c_i` (`n_{i−1}`). Element order of each matrix is
//! that of the float `Dense::w.as_slice()`.
//!
//! # The buffer arena (`i32`)
//! `x` (`n_0`, Q8) · `h_1 … h_{M−1}` (Q14) · `ĥ_1 … ĥ_{M−1}` (Q14) · `p` (`n_M`, Q15) ·
//! `δ_M` (`n_M`, Q14) · the pre-activations `a_2 … a_{M−1}` of the layers an inverse reads
//! (Q12, kept by the forward pass for the inverse step) · three scratch vectors of the widest
//! layer above the input.

/// The largest width: keeps every sign-input sum `(n + 1) · 2¹⁵` and the softmax's sum inside
/// `i32`.
pub const MAX_WIDTH: usize = 1 << 14;

/// Number of parameters (`i16`) of the network with `widths` (0 for fewer than 4 widths).
pub const fn params(widths: &[usize]) -> usize {
    let m = widths.len();
    if m < 4 {
        return 0;
    }
    let mut total = 0;
    let mut i = 1;
    while i < m {
        total += widths[i] * (widths[i - 1] + 1);
        i += 1;
    }
    let mut i = 2;
    while i < m - 1 {
        total += widths[i - 1] * (widths[i] + 1);
        i += 1;
    }
    total
}

/// Number of buffer entries (`i32`) of the network with `widths` (0 for fewer than 4).
pub const fn buffers(widths: &[usize]) -> usize {
    let m = widths.len();
    if m < 4 {
        return 0;
    }
    let (mut hidden, mut widest) = (0, widths[m - 1]);
    let mut i = 1;
    while i < m - 1 {
        hidden += widths[i];
        if widths[i] > widest {
            widest = widths[i];
        }
        i += 1;
    }
    widths[0] + 2 * hidden + 2 * widths[m - 1] + (hidden - widths[1]) + 3 * widest
}

/// Whether `widths` describes a network the integer step can train: at least two hidden
/// layers, every width in `1 ..= MAX_WIDTH`.
pub const fn valid_widths(widths: &[usize]) -> bool {
    if widths.len() < 4 {
        return false;
    }
    let mut i = 0;
    while i < widths.len() {
        if widths[i] == 0 || widths[i] > MAX_WIDTH {
            return false;
        }
        i += 1;
    }
    true
}

/// What owns an integer network: its widths, parameters and buffers.
pub trait Storage {
    /// The widths `n_0 … n_M`.
    fn widths(&self) -> &[usize];
    /// The parameter arena (layout: the module doc).
    fn params(&self) -> &[i16];
    /// The buffer arena (layout: the module doc).
    fn buffers(&self) -> &[i32];
    /// The widths, and the two arenas to write.
    fn parts(&mut self) -> (&[usize], &mut [i16], &mut [i32]);
}

/// Const-sized storage for the device: `D` widths, `P` parameters, `B` buffer entries (from
/// [`params`] and [`buffers`]), no allocation; fits a `static`.
///
/// ```
/// use dtp_core::int::{Arrays, buffers, params};
/// const W: [usize; 4] = [64, 32, 32, 10];
/// type Digits = Arrays<4, { params(&W) }, { buffers(&W) }>;
/// static mut NET: Digits = Digits::new(W);
/// ```
#[derive(Clone, Debug)]
pub struct Arrays<const D: usize, const P: usize, const B: usize> {
    widths: [usize; D],
    params: [i16; P],
    buffers: [i32; B],
}

impl<const D: usize, const P: usize, const B: usize> Arrays<D, P, B> {
    /// All-zero storage for `widths`.
    ///
    /// # Panics
    /// When `widths` is not [`valid_widths`] or `P`, `B` are not `params(&widths)`,
    /// `buffers(&widths)` — at compile time in a `const` or `static`.
    pub const fn new(widths: [usize; D]) -> Self {
        assert!(
            valid_widths(&widths),
            "need ≥ 2 hidden layers, widths 1..=16384"
        );
        assert!(P == params(&widths), "P must be params(&widths)");
        assert!(B == buffers(&widths), "B must be buffers(&widths)");
        Arrays {
            widths,
            params: [0; P],
            buffers: [0; B],
        }
    }
}

impl<const D: usize, const P: usize, const B: usize> Storage for Arrays<D, P, B> {
    fn widths(&self) -> &[usize] {
        &self.widths
    }
    fn params(&self) -> &[i16] {
        &self.params
    }
    fn buffers(&self) -> &[i32] {
        &self.buffers
    }
    fn parts(&mut self) -> (&[usize], &mut [i16], &mut [i32]) {
        (&self.widths, &mut self.params, &mut self.buffers)
    }
}

/// Run-time-sized storage for the desktop (feature `alloc`).
#[cfg(feature = "alloc")]
#[derive(Clone, Debug)]
pub struct Vectors {
    widths: alloc::vec::Vec<usize>,
    params: alloc::vec::Vec<i16>,
    buffers: alloc::vec::Vec<i32>,
}

#[cfg(feature = "alloc")]
impl Vectors {
    /// All-zero storage for `widths`, or `None` unless [`valid_widths`].
    pub fn new(widths: &[usize]) -> Option<Self> {
        valid_widths(widths).then(|| Vectors {
            widths: widths.to_vec(),
            params: alloc::vec![0; params(widths)],
            buffers: alloc::vec![0; buffers(widths)],
        })
    }
}

#[cfg(feature = "alloc")]
impl Storage for Vectors {
    fn widths(&self) -> &[usize] {
        &self.widths
    }
    fn params(&self) -> &[i16] {
        &self.params
    }
    fn buffers(&self) -> &[i32] {
        &self.buffers
    }
    fn parts(&mut self) -> (&[usize], &mut [i16], &mut [i32]) {
        (&self.widths, &mut self.params, &mut self.buffers)
    }
}

/// Offsets into the two arenas, from the widths.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape<'w> {
    /// `n_0 … n_M`.
    pub n: &'w [usize],
}

impl<'w> Shape<'w> {
    /// `n_i` (0 past the end: every access is checked, none can panic).
    #[inline(always)]
    pub fn w(&self, i: usize) -> usize {
        self.n.get(i).copied().unwrap_or(0)
    }

    /// `M`, the number of forward layers.
    #[inline(always)]
    pub fn m(&self) -> usize {
        self.n.len().saturating_sub(1)
    }

    /// `(W_i, b_i)` of forward layer `i ∈ 1 ..= M` as ranges of the parameter arena.
    pub fn forward(&self, i: usize) -> (core::ops::Range<usize>, core::ops::Range<usize>) {
        let mut at = 0;
        for l in 1..i {
            at += self.w(l) * (self.w(l - 1) + 1);
        }
        let end = at + self.w(i) * self.w(i.wrapping_sub(1));
        (at..end, end..end + self.w(i))
    }

    /// `(V_i, c_i)` of inverse `i ∈ 2 ..= M−1` as ranges of the parameter arena.
    pub fn inverse(&self, i: usize) -> (core::ops::Range<usize>, core::ops::Range<usize>) {
        let mut at = self.forward(self.m()).1.end;
        for l in 2..i {
            at += self.w(l - 1) * (self.w(l) + 1);
        }
        let below = self.w(i.wrapping_sub(1));
        let end = at + below * self.w(i);
        (at..end, end..end + below)
    }

    /// Start of `h_i` (`i ∈ 1 ..= M−1`) in the buffer arena; `i = 0` is `x`.
    pub fn h(&self, i: usize) -> usize {
        self.n.iter().take(i).sum()
    }

    /// Total of the hidden widths.
    fn hidden(&self) -> usize {
        self.n.iter().take(self.m()).skip(1).sum()
    }

    /// Start of `ĥ_i` (`i ∈ 1 ..= M−1`) in the buffer arena.
    pub fn target(&self, i: usize) -> usize {
        self.h(i) + self.hidden()
    }

    /// Start of `p` in the buffer arena (`δ_M` follows it).
    pub fn p(&self) -> usize {
        self.w(0) + 2 * self.hidden()
    }

    /// Length of a scratch vector: the widest layer above the input.
    pub fn widest(&self) -> usize {
        self.n.iter().skip(1).copied().max().unwrap_or(0)
    }

    /// Start of the pre-activation `a_i` (`i ∈ 2 ..= M−1`) in the buffer arena.
    pub fn pre(&self, i: usize) -> usize {
        let before: usize = self.n.iter().take(i).skip(2).sum();
        self.p() + 2 * self.w(self.m()) + before
    }

    /// Start of scratch vector `s ∈ 0..3`.
    pub fn scratch(&self, s: usize) -> usize {
        self.pre(self.m()) + s * self.widest()
    }
}
