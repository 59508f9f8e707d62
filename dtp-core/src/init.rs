//! Weight initialisation in place: random orthogonal, scaled uniform and scaled Gaussian.
//!
//! Both work on the matrix where it lies, so a multi-megabyte layer on the heap or in a
//! `static` is initialised without a copy on the stack.

use crate::config::Init;
use crate::mat::OMat;
use crate::noise::{standard_normal, uniform};
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};
use rand_core::Rng;

/// Fills `w` with a random orthogonal matrix: every singular value is 1.
///
/// Gaussian entries, then Gram–Schmidt run twice ("twice is enough"), accumulating in `f64`,
/// over the rows when `O ≤ I` or over the columns when `O > I`, so the shorter side is
/// orthonormal. Modified Gram–Schmidt one vector at a time, except for rows of a matrix of
/// [`BLOCKED_MIN`] entries or more, where a row's projections on 32 earlier rows at a time
/// are computed together (classical Gram–Schmidt per block): the rows of a column-major
/// matrix are strided, and the one-at-a-time version spent 31 s initialising `cifar-3x1000`
/// (9 s blocked).
pub fn orthogonal<O: Dim, I: Dim, R: Rng + ?Sized>(w: &mut OMat<O, I>, rng: &mut R)
where
    DefaultAllocator: Allocator<O, I>,
{
    let (o, i) = w.shape();
    for v in w.iter_mut() {
        *v = standard_normal(rng);
    }
    let data = w.as_mut_slice();
    if o <= i && o * i >= BLOCKED_MIN {
        orthonormalise_rows_blocked(data, o, i, rng);
    } else if o <= i {
        // Row r, element c lives at r + c·o.
        orthonormalise(data, o, i, o, 1, rng);
    } else {
        // Column c, element r lives at r + c·o.
        orthonormalise(data, i, o, 1, o, rng);
    }
}

/// Scales the vector whose element `e` is `data[at(e)]` (`len` elements) to unit length and
/// returns `true`; a vector that collapsed (norm below 10⁻⁶, probability zero for Gaussian
/// input) is redrawn instead and `false` returned, so the caller orthogonalises it again.
fn normalise_or_redraw<R: Rng + ?Sized>(
    data: &mut [f32],
    len: usize,
    at: impl Fn(usize) -> usize,
    rng: &mut R,
) -> bool {
    let norm = libm::sqrt(
        (0..len)
            .map(|e| {
                let x = f64::from(data.get(at(e)).copied().unwrap_or(0.0));
                x * x
            })
            .sum::<f64>(),
    );
    for e in 0..len {
        if let Some(slot) = data.get_mut(at(e)) {
            *slot = if norm < 1e-6 {
                standard_normal(rng)
            } else {
                (f64::from(*slot) / norm) as f32
            };
        }
    }
    norm >= 1e-6
}

/// Entries from which [`orthogonal`] orthonormalises rows in blocks (the smaller matrices
/// keep the bits of the one-at-a-time version).
pub const BLOCKED_MIN: usize = 1 << 18;

/// Rows orthonormalised per block by [`orthonormalise_rows_blocked`].
const BLOCK: usize = 32;

/// Orthonormalises the `count` rows (of `len` elements) of the column-major `count × len`
/// matrix `data`: row `r`, element `e` at `r + e·count`. For row `v`, twice: for each block
/// `U` of up to [`BLOCK`] earlier rows, `d = U vᵀ` (in `f64`), then `v ← v − dᵀ U`. Both
/// sweeps read `U` column by column, i.e. contiguously. A row that collapses is redrawn.
#[inline(never)]
fn orthonormalise_rows_blocked<R: Rng + ?Sized>(
    data: &mut [f32],
    count: usize,
    len: usize,
    rng: &mut R,
) {
    // Indices are in range by construction; `get` keeps the function free of panic paths.
    let ld = |data: &[f32], i: usize| data.get(i).copied().unwrap_or(0.0);
    let mut v = 0;
    while v < count {
        for _pass in 0..2 {
            let mut c0 = 0;
            while c0 < v {
                let n = (v - c0).min(BLOCK);
                let mut dots = [0f64; BLOCK];
                for e in 0..len {
                    let base = e * count;
                    let x = f64::from(ld(data, base + v));
                    if let Some(us) = data.get(base + c0..base + c0 + n) {
                        for (d, &u) in dots.iter_mut().zip(us) {
                            *d += x * f64::from(u);
                        }
                    }
                }
                for e in 0..len {
                    let base = e * count;
                    let mut x = f64::from(ld(data, base + v));
                    if let Some(us) = data.get(base + c0..base + c0 + n) {
                        for (d, &u) in dots.iter().zip(us) {
                            x -= d * f64::from(u);
                        }
                    }
                    if let Some(slot) = data.get_mut(base + v) {
                        *slot = x as f32;
                    }
                }
                c0 += n;
            }
        }
        if normalise_or_redraw(data, len, |e| v + e * count, rng) {
            v += 1;
        }
    }
}

/// Fills `w` as `init` says (the matrix as stored: `O × I`).
pub fn fill<O: Dim, I: Dim, R: Rng + ?Sized>(init: Init, w: &mut OMat<O, I>, rng: &mut R)
where
    DefaultAllocator: Allocator<O, I>,
{
    match init {
        Init::Orthogonal => orthogonal(w, rng),
        Init::Uniform => uniform_scaled(w, rng),
        Init::XavierNormal => xavier_normal(w, rng),
    }
}

/// Fills `w` with Gaussian entries of standard deviation `√(2 / (I + O))` (Glorot & Bengio
/// 2010; `torch.nn.init.xavier_normal_` on an `O × I` matrix).
pub fn xavier_normal<O: Dim, I: Dim, R: Rng + ?Sized>(w: &mut OMat<O, I>, rng: &mut R)
where
    DefaultAllocator: Allocator<O, I>,
{
    let std = libm::sqrtf(2.0 / (w.nrows() + w.ncols()) as f32);
    for v in w.iter_mut() {
        *v = standard_normal(rng) * std;
    }
}

/// Fills `w` uniformly in `±√(6 / (I + O))`.
pub fn uniform_scaled<O: Dim, I: Dim, R: Rng + ?Sized>(w: &mut OMat<O, I>, rng: &mut R)
where
    DefaultAllocator: Allocator<O, I>,
{
    let range = libm::sqrtf(6.0 / (w.nrows() + w.ncols()) as f32);
    for v in w.iter_mut() {
        *v = (2.0 * uniform(rng) - 1.0) * range;
    }
}

/// Orthonormalises `count` vectors of `len` elements stored in `data`, where element `e` of
/// vector `v` is at `v·vec_stride + e·elem_stride`. A vector that collapses (probability zero
/// for Gaussian input) is redrawn.
fn orthonormalise<R: Rng + ?Sized>(
    data: &mut [f32],
    count: usize,
    len: usize,
    elem_stride: usize,
    vec_stride: usize,
    rng: &mut R,
) {
    let at = |v: usize, e: usize| v * vec_stride + e * elem_stride;
    // Every index is in range by construction; reading and writing through `get` keeps the
    // function free of panic paths (bounds checks the optimiser cannot remove), which the
    // firmware's no-panic link check requires.
    let ld = |data: &[f32], i: usize| data.get(i).copied().unwrap_or(0.0);
    let st = |data: &mut [f32], i: usize, x: f32| {
        if let Some(d) = data.get_mut(i) {
            *d = x;
        }
    };
    let mut v = 0;
    while v < count {
        for _pass in 0..2 {
            for u in 0..v {
                let dot: f64 = (0..len)
                    .map(|e| ld(data, at(v, e)) as f64 * ld(data, at(u, e)) as f64)
                    .sum();
                for e in 0..len {
                    let x = (ld(data, at(v, e)) as f64 - dot * ld(data, at(u, e)) as f64) as f32;
                    st(data, at(v, e), x);
                }
            }
        }
        if normalise_or_redraw(data, len, |e| at(v, e), rng) {
            v += 1;
        }
    }
}
