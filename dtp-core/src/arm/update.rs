//! `update`: the optimiser's update of a rank-1 gradient given by columns (`g = δ_i · c_j`),
//! RMSprop ([`rmsprop_columns`]) and SGD with momentum ([`sgd_columns`]).
//!
//! The dispatch point is [`Optimiser::update_columns`](crate::Optimiser::update_columns):
//! on hard-float Arm it calls these for RMSprop and SGD; its portable twin, the loop over
//! `Optimiser::update_each` (the update rule every other path uses too), runs elsewhere and
//! computes the same bits.

/// Centred RMSprop with momentum over `rows × cols` parameters whose gradient is
/// `g = δ_i · c_j` for element `i` of column `j` (column-major), in the order and with the
/// roundings of [`Optimiser::update_columns`](crate::Optimiser::update_columns)'s loop (so the
/// same bits): `a ← ρa + (1−ρ)g`, `s ← ρs + ((1−ρ)g)g`, `d = (s − a·a) + ε`,
/// `v ← μv − (lr·g)/√d`, `p ← p + v`; returns `Σ p·√d`, which is finite when every `p` and
/// `d` is finite (and `d` not negative) unless the sum itself overflows: a finite `√d` is at
/// most 1.9·10¹⁹, so that takes `Σ |p|·√d` > 3.4·10³⁸, a run already diverged. One
/// multiply-add a parameter checks both (`p·0` and `d·0` took two): a non-finite `d` gives an
/// infinite or NaN `√d`, which times any `p` is not finite (`∞·0` is NaN), and a non-finite
/// `p` times `√d ≥ 0` is not finite either. `k = [ρ, lr, μ, ε]`.
///
/// One loop of single-precision VFP instructions: each array is walked by a post-incremented
/// pointer, nothing is spilled, the square root is a bare `vsqrt.f32` (which stable Rust
/// cannot emit inline on a single-precision FPU, see `arm::sqrt`), and multiply-then-add pairs
/// are `vmla`/`vmls`/`vnmls`, which on these cores round the product and then the sum exactly
/// as the separate instructions do (they are not fused).
///
/// # Safety
/// `p`, `a`, `s`, `v` must be valid for reads and writes of `rows × cols` floats each,
/// `delta` for reads of `rows` and `scales` of `cols`, the read-only ones not overlapping the
/// others.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) unsafe fn rmsprop_columns(
    p: *mut f32,
    delta: *const f32,
    scales: *const f32,
    a: *mut f32,
    s: *mut f32,
    v: *mut f32,
    rows: usize,
    cols: usize,
    k: [f32; 4],
) -> f32 {
    let [rho, lr, momentum, eps] = k;
    // SAFETY: as the caller promises; the routine touches only those floats, `r4`–`r9`, `s16`–`s27`
    // (saved and restored) and the AAPCS-VFP scratch registers.
    unsafe {
        dtp_core_rmsprop_columns_f32(
            p,
            delta,
            a,
            s,
            v,
            rows,
            scales,
            cols,
            rho,
            1.0 - rho,
            momentum,
            lr,
            eps,
        )
    }
}

// AAPCS-VFP: p, δ, a, s in r0–r3; v, rows, scales, cols on the stack; ρ, 1 − ρ, μ, lr, ε in
// s0–s4; the sum of `p·√d` returned in s0. Registers: r4 v, r5 rows, r6 scales, r7 columns
// left, r8 row quads left, r9 row quads, r12 δ; s5 the sum, s14 c_j. Rows go four at a time
// (one `vldmia`/`vstmia` of four floats per array: 15.75 instructions a parameter), then a
// pair and a last row as the row count needs. Only whether the sum is finite is used, so the
// order of its terms does not matter.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
core::arch::global_asm!(
    ".section .text.dtp_core_rmsprop_columns_f32,\"ax\",%progbits",
    ".globl dtp_core_rmsprop_columns_f32",
    ".hidden dtp_core_rmsprop_columns_f32",
    ".p2align 2",
    ".type dtp_core_rmsprop_columns_f32,%function",
    ".thumb_func",
    // `vmla`/`vmls`/`vnmls` are VFPv2 (not fused); the FPv4-SP of a Cortex-M4F has them too.
    ".fpu vfpv2",
    "dtp_core_rmsprop_columns_f32:",
    "push {{r4, r5, r6, r7, r8, r9}}",
    "vpush {{s16-s27}}",
    "ldr r4, [sp, #72]", // v (6 core + 12 FP registers saved: 72 bytes)
    "ldr r5, [sp, #76]", // rows
    "ldr r6, [sp, #80]", // scales
    "ldr r7, [sp, #84]", // cols
    "movs r12, #0",
    "vmov s5, r12",    // Σ p·√d
    "lsrs r9, r5, #2", // row quads
    "cmp r5, #0",
    "beq 4f", // no rows
    "cmp r7, #0",
    "beq 4f",
    "ands r5, r5, #3", // the rows after the quads: 0 to 3
    "1:",
    "vldmia r6!, {{s14}}", // c_j
    "mov r12, r1",         // δ
    "movs r8, r9",
    "beq 6f",
    "2:",
    // Four rows: g in s6–s9 (then lr·g, then the new v), a and s read through s10–s13, the
    // new a in s16–s19, the new s (then d, then √d) in s20–s23, v and p in s24–s27.
    "vldmia r12!, {{s6-s9}}", // δ_i … δ_i+3
    "vldmia r2, {{s10-s13}}", // a
    "vmul.f32 s6, s6, s14",   // g = δ c_j
    "vmul.f32 s7, s7, s14",
    "vmul.f32 s8, s8, s14",
    "vmul.f32 s9, s9, s14",
    "vmul.f32 s16, s1, s6", // (1−ρ)g
    "vmul.f32 s17, s1, s7",
    "vmul.f32 s18, s1, s8",
    "vmul.f32 s19, s1, s9",
    "vmul.f32 s20, s16, s6", // ((1−ρ)g)g
    "vmul.f32 s21, s17, s7",
    "vmul.f32 s22, s18, s8",
    "vmul.f32 s23, s19, s9",
    "vmla.f32 s16, s0, s10", // a ← ρa + (1−ρ)g
    "vmla.f32 s17, s0, s11",
    "vmla.f32 s18, s0, s12",
    "vmla.f32 s19, s0, s13",
    "vldmia r3, {{s10-s13}}", // s
    "vmla.f32 s20, s0, s10",  // s ← ρs + ((1−ρ)g)g
    "vmla.f32 s21, s0, s11",
    "vmla.f32 s22, s0, s12",
    "vmla.f32 s23, s0, s13",
    "vstmia r2!, {{s16-s19}}",
    "vstmia r3!, {{s20-s23}}",
    "vmls.f32 s20, s16, s16", // s − a·a
    "vmls.f32 s21, s17, s17",
    "vmls.f32 s22, s18, s18",
    "vmls.f32 s23, s19, s19",
    "vmul.f32 s6, s3, s6", // lr·g
    "vmul.f32 s7, s3, s7",
    "vmul.f32 s8, s3, s8",
    "vmul.f32 s9, s3, s9",
    "vadd.f32 s20, s20, s4", // d = (s − a·a) + ε
    "vadd.f32 s21, s21, s4",
    "vadd.f32 s22, s22, s4",
    "vadd.f32 s23, s23, s4",
    "vsqrt.f32 s20, s20", // √d
    "vsqrt.f32 s21, s21",
    "vsqrt.f32 s22, s22",
    "vsqrt.f32 s23, s23",
    "vldmia r4, {{s24-s27}}", // v
    "vdiv.f32 s6, s6, s20",   // (lr·g)/√d
    "vdiv.f32 s7, s7, s21",
    "vdiv.f32 s8, s8, s22",
    "vdiv.f32 s9, s9, s23",
    "vnmls.f32 s6, s2, s24", // v ← μv − (lr·g)/√d
    "vnmls.f32 s7, s2, s25",
    "vnmls.f32 s8, s2, s26",
    "vnmls.f32 s9, s2, s27",
    "vldmia r0, {{s24-s27}}", // p
    "vstmia r4!, {{s6-s9}}",
    "vadd.f32 s24, s24, s6", // p ← p + v
    "vadd.f32 s25, s25, s7",
    "vadd.f32 s26, s26, s8",
    "vadd.f32 s27, s27, s9",
    "vstmia r0!, {{s24-s27}}",
    "vmla.f32 s5, s24, s20", // + p·√d
    "vmla.f32 s5, s25, s21",
    "vmla.f32 s5, s26, s22",
    "vmla.f32 s5, s27, s23",
    "subs r8, r8, #1",
    "bne 2b",
    "6:",
    // A row count that is a multiple of four (every hidden layer of the demos) costs one
    // instruction here a column; the pair and the last row run out of line, below.
    "cbnz r5, 7f",
    "5:",
    "subs r7, r7, #1",
    "bne 1b",
    "4:",
    "vmov.f32 s0, s5",
    "vpop {{s16-s27}}",
    "pop {{r4, r5, r6, r7, r8, r9}}",
    "bx lr",
    "7:",
    "tst r5, #2",
    "beq 3f",
    "vldmia r12!, {{s6, s7}}", // δ_i, δ_i+1
    "vldmia r2, {{s8, s9}}",   // a
    "vmul.f32 s6, s6, s14",    // g = δ c_j
    "vmul.f32 s7, s7, s14",
    "vldmia r3, {{s10, s11}}", // s
    "vmul.f32 s12, s1, s6",    // (1−ρ)g
    "vmul.f32 s13, s1, s7",
    "vmul.f32 s16, s12, s6", // ((1−ρ)g)g
    "vmul.f32 s17, s13, s7",
    "vmla.f32 s12, s0, s8", // a ← ρa + (1−ρ)g
    "vmla.f32 s13, s0, s9",
    "vmla.f32 s16, s0, s10", // s ← ρs + ((1−ρ)g)g
    "vmla.f32 s17, s0, s11",
    "vstmia r2!, {{s12, s13}}",
    "vstmia r3!, {{s16, s17}}",
    "vmls.f32 s16, s12, s12", // s − a·a
    "vmls.f32 s17, s13, s13",
    "vmul.f32 s18, s3, s6", // lr·g
    "vmul.f32 s19, s3, s7",
    "vadd.f32 s16, s16, s4", // d = (s − a·a) + ε
    "vadd.f32 s17, s17, s4",
    "vsqrt.f32 s24, s16", // √d
    "vsqrt.f32 s25, s17",
    "vldmia r4, {{s20, s21}}", // v
    "vdiv.f32 s18, s18, s24",  // (lr·g)/√d
    "vdiv.f32 s19, s19, s25",
    "vnmls.f32 s18, s2, s20", // v ← μv − (lr·g)/√d
    "vnmls.f32 s19, s2, s21",
    "vldmia r0, {{s22, s23}}", // p
    "vstmia r4!, {{s18, s19}}",
    "vadd.f32 s22, s22, s18", // p ← p + v
    "vadd.f32 s23, s23, s19",
    "vstmia r0!, {{s22, s23}}",
    "vmla.f32 s5, s22, s24", // + p·√d
    "vmla.f32 s5, s23, s25",
    "3:",
    "tst r5, #1",
    "beq 5b",
    "vldmia r12!, {{s6}}",   // δ_i
    "vldr s8, [r2]",         // a
    "vmul.f32 s6, s6, s14",  // g = δ_i c_j
    "vldr s10, [r3]",        // s
    "vmul.f32 s12, s1, s6",  // (1−ρ)g
    "vmul.f32 s16, s12, s6", // ((1−ρ)g)g
    "vmla.f32 s12, s0, s8",  // a ← ρa + (1−ρ)g
    "vmla.f32 s16, s0, s10", // s ← ρs + ((1−ρ)g)g
    "vstmia r2!, {{s12}}",
    "vstmia r3!, {{s16}}",
    "vmls.f32 s16, s12, s12", // s − a·a
    "vmul.f32 s18, s3, s6",   // lr·g
    "vadd.f32 s16, s16, s4",  // d = (s − a·a) + ε
    "vsqrt.f32 s24, s16",     // √d
    "vldr s20, [r4]",         // v
    "vdiv.f32 s18, s18, s24", // (lr·g)/√d
    "vnmls.f32 s18, s2, s20", // v ← μv − (lr·g)/√d
    "vldr s22, [r0]",         // p
    "vstmia r4!, {{s18}}",
    "vadd.f32 s22, s22, s18", // p ← p + v
    "vstmia r0!, {{s22}}",
    "vmla.f32 s5, s22, s24", // + p·√d
    "b 5b",
    ".size dtp_core_rmsprop_columns_f32, . - dtp_core_rmsprop_columns_f32",
);

// AAPCS-VFP: p, δ, v, rows in r0–r3; scales, cols on the stack; μ, lr in s0–s1; the sum of
// `p·0` returned in s0. Registers as in `dtp_core_rmsprop_columns_f32`, with v in r2; rows go
// four at a time (27 instructions for four parameters, against 17 for two before), then two,
// then one.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
core::arch::global_asm!(
    ".section .text.dtp_core_sgd_columns_f32,\"ax\",%progbits",
    ".globl dtp_core_sgd_columns_f32",
    ".hidden dtp_core_sgd_columns_f32",
    ".p2align 2",
    ".type dtp_core_sgd_columns_f32,%function",
    ".thumb_func",
    // `vmla`/`vmls`/`vnmls` are VFPv2 (not fused); the FPv4-SP of a Cortex-M4F has them too.
    ".fpu vfpv2",
    "dtp_core_sgd_columns_f32:",
    "push {{r4, r5, r6, r7, r8, r9}}",
    "vpush {{s16-s19}}",
    "mov r5, r3",        // rows
    "ldr r6, [sp, #40]", // scales (6 core + 4 FP registers saved: 40 bytes)
    "ldr r7, [sp, #44]", // cols
    "movs r12, #0",
    "vmov s15, r12",   // 0.0
    "vmov s5, r12",    // Σ of the finiteness terms
    "lsrs r9, r5, #2", // row quads
    "cmp r5, #0",
    "beq 4f", // no rows
    "cmp r7, #0",
    "beq 4f",
    "1:",
    "vldmia r6!, {{s14}}", // c_j
    "mov r12, r1",         // δ
    "movs r8, r9",
    "beq 3f",
    // Four rows: δ/g/lr·g/v in s6–s9, v in s16–s19, p in s10–s13.
    "2:",
    "vldmia r12!, {{s6-s9}}", // δ_i … δ_i+3
    "vldmia r2, {{s16-s19}}", // v
    "vmul.f32 s6, s6, s14",   // g = δ c_j
    "vmul.f32 s7, s7, s14",
    "vmul.f32 s8, s8, s14",
    "vmul.f32 s9, s9, s14",
    "vmul.f32 s6, s1, s6", // lr·g
    "vmul.f32 s7, s1, s7",
    "vmul.f32 s8, s1, s8",
    "vmul.f32 s9, s1, s9",
    "vnmls.f32 s6, s0, s16", // v ← μv − lr·g
    "vnmls.f32 s7, s0, s17",
    "vnmls.f32 s8, s0, s18",
    "vnmls.f32 s9, s0, s19",
    "vldmia r0, {{s10-s13}}", // p
    "vstmia r2!, {{s6-s9}}",
    "vadd.f32 s10, s10, s6", // p ← p + v
    "vadd.f32 s11, s11, s7",
    "vadd.f32 s12, s12, s8",
    "vadd.f32 s13, s13, s9",
    "vstmia r0!, {{s10-s13}}",
    "vmla.f32 s5, s10, s15", // + p·0
    "vmla.f32 s5, s11, s15",
    "vmla.f32 s5, s12, s15",
    "vmla.f32 s5, s13, s15",
    "subs r8, r8, #1",
    "bne 2b",
    "3:",
    "tst r5, #2",
    "beq 6f",
    // Two rows left.
    "vldmia r12!, {{s6, s7}}", // δ_i, δ_i+1
    "vldmia r2, {{s8, s9}}",   // v
    "vmul.f32 s6, s6, s14",    // g = δ c_j
    "vmul.f32 s7, s7, s14",
    "vmul.f32 s6, s1, s6", // lr·g
    "vmul.f32 s7, s1, s7",
    "vnmls.f32 s6, s0, s8", // v ← μv − lr·g
    "vnmls.f32 s7, s0, s9",
    "vldmia r0, {{s10, s11}}", // p
    "vstmia r2!, {{s6, s7}}",
    "vadd.f32 s10, s10, s6", // p ← p + v
    "vadd.f32 s11, s11, s7",
    "vstmia r0!, {{s10, s11}}",
    "vmla.f32 s5, s10, s15", // + p·0
    "vmla.f32 s5, s11, s15",
    "6:",
    "tst r5, #1",
    "beq 5f",
    "vldmia r12!, {{s6}}",  // δ_i
    "vldr s8, [r2]",        // v
    "vmul.f32 s6, s6, s14", // g = δ_i c_j
    "vmul.f32 s6, s1, s6",  // lr·g
    "vnmls.f32 s6, s0, s8", // v ← μv − lr·g
    "vldr s10, [r0]",       // p
    "vstmia r2!, {{s6}}",
    "vadd.f32 s10, s10, s6", // p ← p + v
    "vstmia r0!, {{s10}}",
    "vmla.f32 s5, s10, s15", // + p·0
    "5:",
    "subs r7, r7, #1",
    "bne 1b",
    "4:",
    "vmov.f32 s0, s5",
    "vpop {{s16-s19}}",
    "pop {{r4, r5, r6, r7, r8, r9}}",
    "bx lr",
    ".size dtp_core_sgd_columns_f32, . - dtp_core_sgd_columns_f32",
);

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
unsafe extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn dtp_core_rmsprop_columns_f32(
        p: *mut f32,
        delta: *const f32,
        a: *mut f32,
        s: *mut f32,
        v: *mut f32,
        rows: usize,
        scales: *const f32,
        cols: usize,
        rho: f32,
        one_minus_rho: f32,
        momentum: f32,
        lr: f32,
        eps: f32,
    ) -> f32;
}

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
unsafe extern "C" {
    fn dtp_core_sgd_columns_f32(
        p: *mut f32,
        delta: *const f32,
        v: *mut f32,
        rows: usize,
        scales: *const f32,
        cols: usize,
        momentum: f32,
        lr: f32,
    ) -> f32;
}

/// SGD with momentum over `rows × cols` parameters whose gradient is `g = δ_i · c_j` (as
/// [`rmsprop_columns`]), with the roundings of
/// [`Optimiser::update_columns`](crate::Optimiser::update_columns): `v ← μv − lr·g`,
/// `p ← p + v`; returns `Σ p·0`. `k = [lr, μ]`.
///
/// # Safety
/// `p`, `v` valid for reads and writes of `rows × cols` floats each, `delta` for reads of
/// `rows`, `scales` of `cols`, the read-only ones not overlapping the others.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
#[inline]
pub(crate) unsafe fn sgd_columns(
    p: *mut f32,
    delta: *const f32,
    scales: *const f32,
    v: *mut f32,
    rows: usize,
    cols: usize,
    k: [f32; 2],
) -> f32 {
    let [lr, momentum] = k;
    // SAFETY: as the caller promises; the routine touches only those floats, `r4`–`r9`,
    // `s16`–`s19` (saved and restored) and the AAPCS-VFP scratch registers.
    unsafe { dtp_core_sgd_columns_f32(p, delta, v, rows, scales, cols, momentum, lr) }
}
