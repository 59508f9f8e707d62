//! Random numbers from any `rand_core::Rng`: uniform, Gaussian and Bernoulli draws.
//!
//! These are the crate's only sources of randomness; they are deliberately simple so that an
//! independent implementation (the PyTorch parity script) can reproduce them exactly.

use core::mem::MaybeUninit;
use rand_core::Rng;

/// Uniform in `[0, 1)` with 24 bits of resolution: `(next_u32 >> 8) · 2⁻²⁴`.
#[inline]
pub fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Standard normal by Box–Muller (cosine branch), two `u32` draws per value:
/// `u₁ = ((next_u32 >> 8) + 1) · 2⁻²⁴ ∈ (0, 1]`, `u₂ = (next_u32 >> 8) · 2⁻²⁴`,
/// `z = √(−2 ln u₁) · cos(2π u₂)`.
#[inline]
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    normal_pair(rng).0
}

/// A Bernoulli sample with success probability `p`: `1.0` if `uniform < p`, else `0.0`.
#[inline]
pub fn bernoulli<R: Rng + ?Sized>(rng: &mut R, p: f32) -> f32 {
    if uniform(rng) < p { 1.0 } else { 0.0 }
}

/// Two independent standard normals from one Box–Muller draw (both branches), two `u32`
/// draws: with `u₁`, `u₂` as in [`standard_normal`], `r = √(−2 ln u₁)`, `θ = 2π u₂`,
/// returns `(r cos θ, r sin θ)`.
#[inline]
pub fn normal_pair<R: Rng + ?Sized>(rng: &mut R) -> (f32, f32) {
    box_muller(rng.next_u32(), rng.next_u32())
}

/// Pairs per block of raw draws in [`add_gaussian`].
const PAIRS: usize = 64;

/// `values[2i], values[2i+1] += σ·(z₀, z₁)` with `(z₀, z₁)` from draws `2i`, `2i+1`:
/// [`box_muller`]'s arithmetic in three passes (radii before the square root, square roots,
/// rotations), so that no pass holds a call among many live values (on hard-float Arm the
/// square root is a call, which clobbers `s0`–`s15`). Draw `2i`, used up by its radius, is
/// overwritten with the radius's bits (no scratch buffer to clear).
#[inline(always)]
fn add_box_muller(values: &mut [f32], draws: &mut [u32], sigma: f32) {
    radii(draws);
    for (pair, w) in values.chunks_exact_mut(2).zip(draws.chunks_exact(2)) {
        let (z0, z1) = rotate(w);
        pair[0] += sigma * z0;
        pair[1] += sigma * z1;
    }
}

/// [`add_box_muller`] from `src` into `dst`: `dst[j] = src[j] + σ·z_j`.
#[inline(always)]
fn box_muller_to(dst: &mut [f32], src: &[f32], draws: &mut [u32], sigma: f32) {
    radii(draws);
    for ((d, s), w) in dst
        .chunks_exact_mut(2)
        .zip(src.chunks_exact(2))
        .zip(draws.chunks_exact(2))
    {
        let (z0, z1) = rotate(w);
        d[0] = s[0] + sigma * z0;
        d[1] = s[1] + sigma * z1;
    }
}

/// The first two passes of [`add_box_muller`]: draw `2i` becomes the bits of
/// `r = √(−2 ln u₁)`.
#[inline(always)]
fn radii(draws: &mut [u32]) {
    for w in draws.chunks_exact_mut(2) {
        w[0] = (-2.0 * ln_unit(unit_open(w[0]))).to_bits();
    }
    for w in draws.chunks_exact_mut(2) {
        w[0] = crate::math::sqrt(f32::from_bits(w[0])).to_bits();
    }
}

/// The last pass: `(r cos θ, r sin θ)` from a pair of draws whose first is `r`'s bits.
#[inline(always)]
fn rotate(w: &[u32]) -> (f32, f32) {
    let r = f32::from_bits(w[0]);
    let (cos, sin) = cos_sin_turns(w[1] >> 8);
    (r * cos, r * sin)
}

/// `u₁ = ((w >> 8) + 1) · 2⁻²⁴ ∈ (0, 1]`.
#[inline(always)]
fn unit_open(w: u32) -> f32 {
    ((w >> 8) + 1) as f32 * (1.0 / 16_777_216.0)
}

/// Box–Muller from two raw draws, branch-free so that loops over it vectorise:
/// `r = √(−2 ln u₁)` with `ln` from [`ln_unit`], and `(cos θ, sin θ)` from [`cos_sin_turns`].
#[inline]
fn box_muller(w1: u32, w2: u32) -> (f32, f32) {
    let r = crate::math::sqrt(-2.0 * ln_unit(unit_open(w1)));
    let (cos, sin) = cos_sin_turns(w2 >> 8);
    (r * cos, r * sin)
}

/// `ln x` for `x ∈ [2⁻²⁴, 1]`: `x = 2ᵉ·m` with `m ∈ [√½, √2)`, then Cephes' `logf`
/// polynomial for `ln m` (relative error ~1 ulp; see the `noise` tests against `libm::logf`).
#[inline]
fn ln_unit(x: f32) -> f32 {
    let bits = x.to_bits();
    // Exponent and mantissa, with m moved into [√½, √2) (0x3504F3 is √2's mantissa).
    let big = ((bits & 0x007F_FFFF) > 0x0035_04F3) as u32;
    let e = ((bits >> 23) as i32 - 127 + big as i32) as f32;
    let m = f32::from_bits((bits & 0x007F_FFFF) | ((127 - big) << 23));
    let f = m - 1.0;
    let z = f * f;
    let mut p = 7.037_683_6e-2;
    p = p * f - 1.151_461e-1;
    p = p * f + 1.167_699_9e-1;
    p = p * f - 1.242_014_1e-1;
    p = p * f + 1.424_932_3e-1;
    p = p * f - 1.666_805_8e-1;
    p = p * f + 2.000_071_4e-1;
    p = p * f - 2.499_999_4e-1;
    p = p * f + 3.333_333e-1;
    let y = f * z * p - 2.121_944_4e-4 * e - 0.5 * z;
    f + y + 0.693_359_4 * e
}

/// `(cos 2πt, sin 2πt)` for `t = k · 2⁻²⁴`, `k < 2²⁴`: exact reduction to the nearest quarter
/// turn `q` and a remainder `a ∈ [−π/4, π/4]`, Cephes' `sinf`/`cosf` polynomials there, then
/// the quadrant's rotation (error ~1 ulp; see the `noise` tests against `libm::sincosf`).
#[inline]
fn cos_sin_turns(k: u32) -> (f32, f32) {
    // k / 2^22 quarter turns, rounded: q ∈ 0..=4, remainder in [−2^21, 2^21) of 2^-24 turns.
    let q = (k + (1 << 21)) >> 22;
    let rem = k as i32 - (q << 22) as i32;
    let a = rem as f32 * (core::f32::consts::TAU / 16_777_216.0);
    let a2 = a * a;
    let mut sp = -1.951_529_6e-4;
    sp = sp * a2 + 8.332_161e-3;
    sp = sp * a2 - 1.666_665_5e-1;
    let sin = a + a * a2 * sp;
    let mut cp = 2.443_315_7e-5;
    cp = cp * a2 - 1.388_731_6e-3;
    cp = cp * a2 + 4.166_664_6e-2;
    let cos = 1.0 - 0.5 * a2 + a2 * a2 * cp;
    // Rotate by q quarter turns: (c, s) → (−s, c) each time.
    let (c, s) = if q & 1 == 1 { (-sin, cos) } else { (cos, sin) };
    if q & 2 == 2 { (-c, -s) } else { (c, s) }
}

/// Fills `buffer` with raw draws from `rng`, in order, and returns it as written `u32`s.
#[inline(always)]
fn draw_into<'a, R: Rng + ?Sized>(
    buffer: &'a mut [MaybeUninit<u32>],
    rng: &mut R,
) -> &'a mut [u32] {
    for w in buffer.iter_mut() {
        w.write(rng.next_u32());
    }
    // SAFETY: every element of `buffer` was written just above, and `MaybeUninit<u32>` has
    // the layout of `u32`.
    unsafe { &mut *(buffer as *mut [MaybeUninit<u32>] as *mut [u32]) }
}

/// Adds `σ·ε`, `ε ~ N(0, 1)`, to every value, in storage order: values `2m` and `2m + 1` get
/// the two halves of one [`normal_pair`]; an odd last value gets a [`standard_normal`].
///
/// The raw draws are taken block by block into a small buffer first, so that the
/// transcendental part runs as one vectorised loop.
pub fn add_gaussian<R: Rng + ?Sized>(values: &mut [f32], sigma: f32, rng: &mut R) {
    if sigma <= 0.0 {
        return;
    }
    // Not cleared first: every element used is written just before (clearing the 512 bytes
    // cost more than the noise of a 32-unit layer on a Cortex-M4).
    let mut buffer = [MaybeUninit::<u32>::uninit(); 2 * PAIRS];
    let even = values.len() & !1;
    let (paired, last) = values.split_at_mut(even);
    // Every pair, a last short block included, from raw draws taken first (the same draws in
    // the same order as one `normal_pair` per pair).
    for block in paired.chunks_mut(2 * PAIRS) {
        let draws = draw_into(&mut buffer[..block.len()], rng);
        crate::simd::wide(
            #[inline(always)]
            || add_box_muller(block, draws, sigma),
        );
    }
    if let [last] = last {
        *last += sigma * standard_normal(rng);
    }
}

/// `dst = src + σ·ε`: [`add_gaussian`] of a copy of `src`, without the copy (the same draws,
/// the same bits). `dst` and `src` must have the same length.
pub fn add_gaussian_to<R: Rng + ?Sized>(dst: &mut [f32], src: &[f32], sigma: f32, rng: &mut R) {
    if sigma <= 0.0 {
        dst.copy_from_slice(src);
        return;
    }
    debug_assert_eq!(dst.len(), src.len());
    let mut buffer = [MaybeUninit::<u32>::uninit(); 2 * PAIRS];
    let even = dst.len() & !1;
    let (paired, last) = dst.split_at_mut(even);
    for (block, src) in paired.chunks_mut(2 * PAIRS).zip(src.chunks(2 * PAIRS)) {
        let draws = draw_into(&mut buffer[..block.len()], rng);
        crate::simd::wide(
            #[inline(always)]
            || box_muller_to(block, src, draws, sigma),
        );
    }
    if let ([last], Some(&s)) = (last, src.get(even)) {
        *last = s + sigma * standard_normal(rng);
    }
}
