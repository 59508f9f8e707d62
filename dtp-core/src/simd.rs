//! Wider vectors for the desktop's element-wise loops, chosen at run time.
//!
//! A default x86-64 build may only assume SSE2 (four floats a vector). [`wide`] runs a loop
//! compiled a second time for AVX2 when the processor has it (eight floats a vector), as the
//! `gemm` crate does for the products. The results are the same bits either way: the loops
//! are the same IEEE additions, multiplications, divisions and square roots lane by lane
//! (Rust never fuses a multiply and an add on its own), only more of them per instruction.
//! Elsewhere (Arm, no `std`) [`wide`] just runs the loop.

/// Runs `f`, compiled for AVX2 + FMA if the processor has them (detected once, then a load
/// and a test per call). Put the element-wise loop inside `f`, with its helpers `#[inline]`,
/// and mark the closure `#[inline(always)]`: a closure that LLVM leaves out of line (it is
/// called from both copies, so a large one is) is compiled once, for the baseline, and the
/// AVX2 copy only calls it (the input noise's Box–Muller loop was, until marked).
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the processor has the features `avx2` enables (checked just above).
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// `f()` compiled with AVX2 and FMA available.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::wide;
    use alloc::vec::Vec;

    /// The loops the desktop runs through [`wide`] (RMSprop's divisions and square roots,
    /// the rational `tanh`, sums of products) give the same bits as the same loops compiled
    /// for the baseline.
    #[test]
    fn wide_loops_give_the_baseline_bits() {
        let mut state = 0x9e37_79b9_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 - 0.5) * 8.0
        };
        let x: Vec<f32> = (0..4099).map(|_| next()).collect();
        let g: Vec<f32> = (0..4099).map(|_| next()).collect();
        let step = |x: &[f32], g: &[f32]| -> Vec<f32> {
            x.iter()
                .zip(g)
                .map(|(&x, &g)| {
                    let s = 0.9 * x * x + 0.1 * g * g;
                    let t = crate::activation::tanh(x) - 0.01 * g / crate::math::sqrt(s + 1e-6);
                    t * 0.5 + g * 0.25
                })
                .collect()
        };
        let plain = step(&x, &g);
        let widened = wide(|| step(&x, &g));
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&plain), bits(&widened));
        // A fused multiply-add would round once: it must not appear.
        let (a, b, c) = (1.0 + f32::EPSILON, 1.0 - f32::EPSILON, -1.0f32);
        assert_eq!(wide(|| a * b + c), a * b + c);
        assert_ne!(a * b + c, libm::fmaf(a, b, c));
    }
}
