//! `sqrt`: `√x` correctly rounded, behind [`math::sqrt`](crate::math::sqrt).

/// The dispatch point: one `vsqrt.f32` (`dtp_core_vsqrt_f32`) on hard-float Arm;
/// `f32::sqrt` with the `std` feature; the portable `libm::sqrtf` elsewhere (the soft-float
/// Cortex-M3 too). IEEE square roots all three: the same bits.
#[inline(always)]
pub(crate) fn sqrt(x: f32) -> f32 {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    {
        // SAFETY: `dtp_core_vsqrt_f32` (below) is a leaf that reads and writes only `s0`, the
        // hard-float ABI's argument and result register, and returns.
        unsafe { dtp_core_vsqrt_f32(x) }
    }
    #[cfg(all(feature = "std", not(all(target_arch = "arm", target_abi = "eabihf"))))]
    {
        x.sqrt()
    }
    #[cfg(not(any(feature = "std", all(target_arch = "arm", target_abi = "eabihf"))))]
    {
        libm::sqrtf(x)
    }
}

// Stable Rust cannot name a single-precision register in inline assembly on a
// single-precision-only FPU such as the Cortex-M4F's (the `sreg` class requires the unstable
// `vfp2` feature, which implies double precision), and an inline `vsqrt` through core registers
// costs seven instructions with a save and restore of `s0`. A two-instruction leaf function
// (`vsqrt`, `bx lr`) called with the hard-float ABI costs three.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
core::arch::global_asm!(
    ".section .text.dtp_core_vsqrt_f32,\"ax\",%progbits",
    ".globl dtp_core_vsqrt_f32",
    ".hidden dtp_core_vsqrt_f32",
    ".p2align 2",
    ".type dtp_core_vsqrt_f32,%function",
    ".thumb_func",
    // Module-level assembly does not see the target's FPU features; any VFP has `vsqrt.f32`.
    ".fpu vfpv2",
    "dtp_core_vsqrt_f32:",
    "vsqrt.f32 s0, s0",
    "bx lr",
    ".size dtp_core_vsqrt_f32, . - dtp_core_vsqrt_f32",
);

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
unsafe extern "C" {
    /// `√x` by one `vsqrt.f32` (IEEE, correctly rounded).
    fn dtp_core_vsqrt_f32(x: f32) -> f32;
}
