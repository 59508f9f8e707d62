//! Scalar maths that differs by target.

/// `√x`, correctly rounded: the FPU's `vsqrt.f32` on hard-float Arm cores (Cortex-M4F/M7),
/// where `libm::sqrtf` would be a software routine; `f32::sqrt` with the `std` feature (an
/// LLVM intrinsic the optimiser vectorises, e.g. in the RMSprop loop); `libm::sqrtf` elsewhere.
/// All three are IEEE square roots, so results are bit-identical across them.
#[inline]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    {
        let y_bits: u32;
        // SAFETY: computes in s0 and restores s0's previous contents before returning, so no
        // floating-point register changes; touches no memory and no stack. (Rust cannot name
        // the single-precision register class on a single-precision-only FPU such as the M4F's.)
        unsafe {
            core::arch::asm!(
                "vmov {saved}, s0",
                "vmov s0, {x}",
                "vsqrt.f32 s0, s0",
                "vmov {y}, s0",
                "vmov s0, {saved}",
                x = in(reg) x.to_bits(),
                y = lateout(reg) y_bits,
                saved = out(reg) _,
                options(pure, nomem, nostack)
            );
        }
        f32::from_bits(y_bits)
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
