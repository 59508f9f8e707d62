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
    let u1 = ((rng.next_u32() >> 8) + 1) as f32 * (1.0 / 16_777_216.0);
    let u2 = uniform(rng);
    libm::sqrtf(-2.0 * libm::logf(u1)) * libm::cosf(core::f32::consts::TAU * u2)
}

/// A Bernoulli sample with success probability `p`: `1.0` if `uniform < p`, else `0.0`.
#[inline]
pub fn bernoulli<R: Rng + ?Sized>(rng: &mut R, p: f32) -> f32 {
    if uniform(rng) < p { 1.0 } else { 0.0 }
}

/// Adds `σ·ε`, `ε ~ N(0, 1)`, to every value, in storage order.
pub fn add_gaussian<R: Rng + ?Sized>(values: &mut [f32], sigma: f32, rng: &mut R) {
    if sigma > 0.0 {
        values
            .iter_mut()
            .for_each(|v| *v += sigma * standard_normal(rng));
    }
}
