//! `sign`: what a layer reads through [`Quantiser::Sign`](crate::Quantiser::Sign),
//! `dst[i] = +1` if `src[i] > 0`, else `−1` (for ±0 and NaN too).

/// The dispatch point: [`sign`] of each of `src` into `dst` (the first
/// `min(src.len(), dst.len())`): the assembly loop `dtp_core_sign_f32` on hard-float Arm, the
/// [`portable`] twin elsewhere; the same bits.
#[inline(always)]
pub(crate) fn sign(src: &[f32], dst: &mut [f32]) {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    {
        let n = dst.len().min(src.len());
        // SAFETY: `dst` and `src` hold at least `n` floats each; `dst` is borrowed
        // mutably, so they do not overlap.
        unsafe { dtp_core_sign_f32(dst.as_mut_ptr(), src.as_ptr(), n) };
    }
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    portable(src, dst);
}

/// The portable twin of `dtp_core_sign_f32`: one float compare an element.
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
#[inline(always)]
fn portable(src: &[f32], dst: &mut [f32]) {
    dst.iter_mut()
        .zip(src)
        .for_each(|(d, &s)| *d = if s > 0.0 { 1.0 } else { -1.0 });
}

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
unsafe extern "C" {
    /// `dst[i] = if src[i] > 0 { 1.0 } else { −1.0 }` for `i < n` (−1 for ±0 and NaN too).
    ///
    /// # Safety
    /// `dst` valid for writes and `src` for reads of `n` floats, not overlapping.
    fn dtp_core_sign_f32(dst: *mut f32, src: *const f32, n: usize);
}

// AAPCS: dst, src, n in r0–r2. `s > 0` exactly when its bits `b` are `1 ..= 0x7F80_0000`
// (positive, not zero, not NaN), i.e. when `b − 1 < 0x7F80_0000` unsigned: `subs` + `cmp`
// leave the carry set exactly when `s` is not positive, and `rrx` of `0x7F00_0000` shifts it
// in as the sign of `0x3F80_0000` (1.0): three integer instructions an element, four elements
// to a `ldmia`/`stmia` (a float compare alone costs a `vcmp` and a `vmrs`).
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
core::arch::global_asm!(
    ".section .text.dtp_core_sign_f32,\"ax\",%progbits",
    ".globl dtp_core_sign_f32",
    ".hidden dtp_core_sign_f32",
    ".p2align 2",
    ".type dtp_core_sign_f32,%function",
    ".thumb_func",
    "dtp_core_sign_f32:",
    "push {{r4, r5, r6, r7}}",
    "mov r3, #0x7F800000",
    "mov r12, #0x7F000000",
    "1:",
    "cmp r2, #4",
    "blo 2f",
    "ldmia r1!, {{r4, r5, r6, r7}}",
    "subs r4, r4, #1",
    "cmp r4, r3",
    "rrx r4, r12",
    "subs r5, r5, #1",
    "cmp r5, r3",
    "rrx r5, r12",
    "subs r6, r6, #1",
    "cmp r6, r3",
    "rrx r6, r12",
    "subs r7, r7, #1",
    "cmp r7, r3",
    "rrx r7, r12",
    "stmia r0!, {{r4, r5, r6, r7}}",
    "subs r2, r2, #4",
    "b 1b",
    "2:",
    "cbz r2, 3f",
    "ldr r4, [r1], #4",
    "subs r4, r4, #1",
    "cmp r4, r3",
    "rrx r4, r12",
    "str r4, [r0], #4",
    "subs r2, r2, #1",
    "b 2b",
    "3:",
    "pop {{r4, r5, r6, r7}}",
    "bx lr",
    ".size dtp_core_sign_f32, . - dtp_core_sign_f32",
);
