//! `finite`: whether a slice holds only finite values, as `Σ v·0` (`v·0` is ±0 for a finite
//! `v` and NaN otherwise, so the sum is 0 exactly when every value is finite; the order of
//! the terms does not matter). `error::check_finite` tests it.

/// The dispatch point: `Σ v·0` over `data`: the assembly loop `dtp_core_finite_sum_f32` on
/// hard-float Arm, the [`portable`] twin elsewhere.
#[inline(always)]
pub(crate) fn sum_times_zero(data: &[f32]) -> f32 {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    // SAFETY: `data` holds `data.len()` floats.
    let sum = unsafe { dtp_core_finite_sum_f32(data.as_ptr(), data.len()) };
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    let sum = portable(data);
    sum
}

/// The portable twin of `dtp_core_finite_sum_f32`: summed in eight lanes, which vectorise on
/// the desktop.
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
#[inline(always)]
fn portable(data: &[f32]) -> f32 {
    crate::simd::wide(
        #[inline(always)]
        || {
            let mut lanes = [0.0f32; 8];
            let mut chunks = data.chunks_exact(8);
            for c in &mut chunks {
                for (l, &v) in lanes.iter_mut().zip(c) {
                    *l += v * 0.0;
                }
            }
            let tail = chunks.remainder().iter().fold(0.0f32, |z, &v| z + v * 0.0);
            lanes.iter().fold(tail, |z, &l| z + l)
        },
    )
}

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
unsafe extern "C" {
    /// `Σ v·0` over the `n` floats at `data` (0 exactly when every one is finite; each term is
    /// ±0 or NaN, so their order does not matter).
    ///
    /// # Safety
    /// `data` valid for reads of `n` floats.
    fn dtp_core_finite_sum_f32(data: *const f32, n: usize) -> f32;
}

// AAPCS-VFP: data, n in r0, r1; the sum in s0. Eight values to a `vldmia` (into `s8`–`s15`),
// one `vmla` each by zero (`s1`): the compiled loop loaded one value an instruction.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
core::arch::global_asm!(
    ".section .text.dtp_core_finite_sum_f32,\"ax\",%progbits",
    ".globl dtp_core_finite_sum_f32",
    ".hidden dtp_core_finite_sum_f32",
    ".p2align 2",
    ".type dtp_core_finite_sum_f32,%function",
    ".thumb_func",
    ".fpu vfpv2",
    "dtp_core_finite_sum_f32:",
    "movs r2, #0",
    "vmov s0, r2",
    "vmov s1, r2",
    "1:",
    "cmp r1, #8",
    "blo 2f",
    "vldmia r0!, {{s8-s15}}",
    "vmla.f32 s0, s8, s1",
    "vmla.f32 s0, s9, s1",
    "vmla.f32 s0, s10, s1",
    "vmla.f32 s0, s11, s1",
    "vmla.f32 s0, s12, s1",
    "vmla.f32 s0, s13, s1",
    "vmla.f32 s0, s14, s1",
    "vmla.f32 s0, s15, s1",
    "subs r1, r1, #8",
    "b 1b",
    "2:",
    "cbz r1, 3f",
    "vldmia r0!, {{s8}}",
    "vmla.f32 s0, s8, s1",
    "subs r1, r1, #1",
    "b 2b",
    "3:",
    "bx lr",
    ".size dtp_core_finite_sum_f32, . - dtp_core_finite_sum_f32",
);
