//! Scalar maths that differs by target.

/// `√x`, correctly rounded: the FPU's `vsqrt.f32` on hard-float Arm cores (Cortex-M4F/M7),
/// where `libm::sqrtf` would be a software routine; `f32::sqrt` with the `std` feature (an
/// LLVM intrinsic the optimiser vectorises, e.g. in the RMSprop loop); `libm::sqrtf` elsewhere.
/// All three are IEEE square roots, so results are bit-identical across them (the dispatch:
/// `arm::sqrt`).
#[inline]
pub fn sqrt(x: f32) -> f32 {
    crate::arm::sqrt::sqrt(x)
}
