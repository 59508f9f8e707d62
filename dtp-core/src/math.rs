//! Scalar maths that differs by target.

/// `√x`, correctly rounded: the FPU's `vsqrt.f32` on hard-float Arm cores (Cortex-M4F/M7),
/// where `libm::sqrtf` would be a software routine; `f32::sqrt` with the `std` feature (an
/// LLVM intrinsic the optimiser vectorises, e.g. in the RMSprop loop); `libm::sqrtf` elsewhere.
/// All three are IEEE square roots, so results are bit-identical across them.
#[inline]
pub fn sqrt(x: f32) -> f32 {
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

/// Centred RMSprop with momentum over `n` parameters, in the order and with the roundings of
/// [`Optimiser::update`](crate::Optimiser::update)'s loop (so the same bits):
/// `a ← ρa + (1−ρ)g`, `s ← ρs + ((1−ρ)g)g`, `d = (s − a·a) + ε`, `v ← μv − (lr·g)/√d`,
/// `p ← p + v`; returns `Σ (p·0 + d·0)`, which is 0 exactly when every `p` and `d` is finite.
///
/// One loop of single-precision VFP instructions: each array is walked by a post-incremented
/// pointer (`vldr`/`vstmia`), nothing is spilled and the square root is a bare `vsqrt.f32`,
/// which stable Rust cannot emit inline on a single-precision FPU (see [`sqrt`]).
///
/// # Safety
/// `p`, `a`, `s`, `v` must be valid for reads and writes and `g` for reads of `n` floats each,
/// `g` not overlapping the others.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) unsafe fn rmsprop(
    p: *mut f32,
    g: *const f32,
    a: *mut f32,
    s: *mut f32,
    v: *mut f32,
    n: usize,
    rho: f32,
    lr: f32,
    momentum: f32,
    eps: f32,
) -> f32 {
    // SAFETY: as the caller promises; the routine touches only those `5n` floats, `r4`/`r5`
    // (saved and restored) and the AAPCS-VFP scratch registers.
    unsafe { dtp_core_rmsprop_f32(p, g, a, s, v, n, rho, 1.0 - rho, momentum, lr, eps) }
}

// AAPCS-VFP: p, g, a, s in r0–r3; v, n on the stack; rho, 1 − rho, momentum, lr, eps in
// s0–s4; the sum of `p·0 + d·0` returned in s0.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
core::arch::global_asm!(
    ".section .text.dtp_core_rmsprop_f32,\"ax\",%progbits",
    ".globl dtp_core_rmsprop_f32",
    ".hidden dtp_core_rmsprop_f32",
    ".p2align 2",
    ".type dtp_core_rmsprop_f32,%function",
    ".thumb_func",
    ".fpu vfpv2",
    "dtp_core_rmsprop_f32:",
    "push {{r4, r5}}",
    "ldr r4, [sp, #8]",  // v
    "ldr r5, [sp, #12]", // n
    "movs r12, #0",
    "vmov s15, r12", // 0.0
    "vmov s5, r12",  // Σ (p·0 + d·0)
    "cmp r5, #0",
    "beq 2f",
    "1:",
    "vldmia r1!, {{s6}}",   // g
    "vldr s7, [r2]",        // a
    "vmul.f32 s9, s1, s6",  // (1−ρ)g
    "vldr s8, [r3]",        // s
    "vmul.f32 s7, s0, s7",  // ρa
    "vmul.f32 s10, s9, s6", // ((1−ρ)g)g
    "vadd.f32 s7, s7, s9",  // a ← ρa + (1−ρ)g
    "vmul.f32 s8, s0, s8",  // ρs
    "vstmia r2!, {{s7}}",
    "vadd.f32 s8, s8, s10", // s ← ρs + ((1−ρ)g)g
    "vmul.f32 s9, s7, s7",  // a·a
    "vstmia r3!, {{s8}}",
    "vsub.f32 s9, s8, s9",    // s − a·a
    "vmul.f32 s11, s3, s6",   // lr·g
    "vadd.f32 s9, s9, s4",    // d = (s − a·a) + ε
    "vsqrt.f32 s10, s9",      // √d
    "vldr s12, [r4]",         // v
    "vdiv.f32 s11, s11, s10", // (lr·g)/√d
    "vmul.f32 s12, s2, s12",  // μv
    "vldr s13, [r0]",         // p
    "vsub.f32 s12, s12, s11", // v ← μv − (lr·g)/√d
    "vmul.f32 s9, s9, s15",   // d·0
    "vstmia r4!, {{s12}}",
    "vadd.f32 s13, s13, s12", // p ← p + v
    "vstmia r0!, {{s13}}",
    "vmul.f32 s13, s13, s15", // p·0
    "vadd.f32 s13, s13, s9",  // p·0 + d·0
    "vadd.f32 s5, s5, s13",
    "subs r5, r5, #1",
    "bne 1b",
    "2:",
    "vmov.f32 s0, s5",
    "pop {{r4, r5}}",
    "bx lr",
    ".size dtp_core_rmsprop_f32, . - dtp_core_rmsprop_f32",
);

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
unsafe extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn dtp_core_rmsprop_f32(
        p: *mut f32,
        g: *const f32,
        a: *mut f32,
        s: *mut f32,
        v: *mut f32,
        n: usize,
        rho: f32,
        one_minus_rho: f32,
        momentum: f32,
        lr: f32,
        eps: f32,
    ) -> f32;
}
