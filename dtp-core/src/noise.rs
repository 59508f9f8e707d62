//! Random numbers from any `rand_core::Rng`: uniform, Gaussian and Bernoulli draws.
//!
//! These are the crate's only sources of randomness; they are deliberately simple so that an
//! independent implementation (the PyTorch parity script) can reproduce them exactly.

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
    let u1 = ((rng.next_u32() >> 8) + 1) as f32 * (1.0 / 16_777_216.0);
    let u2 = uniform(rng);
    let r = libm::sqrtf(-2.0 * libm::logf(u1));
    let (sin, cos) = libm::sincosf(core::f32::consts::TAU * u2);
    (r * cos, r * sin)
}

/// Adds `σ·ε`, `ε ~ N(0, 1)`, to every value, in storage order: values `2m` and `2m + 1` get
/// the two halves of one [`normal_pair`]; an odd last value gets a [`standard_normal`].
pub fn add_gaussian<R: Rng + ?Sized>(values: &mut [f32], sigma: f32, rng: &mut R) {
    if sigma > 0.0 {
        let mut pairs = values.chunks_exact_mut(2);
        for pair in &mut pairs {
            let (z0, z1) = normal_pair(rng);
            pair[0] += sigma * z0;
            pair[1] += sigma * z1;
        }
        if let [last] = pairs.into_remainder() {
            *last += sigma * standard_normal(rng);
        }
    }
}
