//! `gemv`: `y ← α·A·x + β·y`, the product behind `Portable::gemm` and `Portable::gemm_bias`
//! (every dense layer's `W r + b` on a microcontroller).

/// The dispatch point and its portable twin: `y ← α·A·x + β·y` for a column-major `A` (`y.len()` rows, `x.len()` columns, stored in
/// `a`) with the roundings and order of nalgebra's `gemv`: `y_i ← (α·A_i0)·x_0 + β·y_i` (the
/// product alone when `β = 0`), then `y_i ← (α·A_ij)·x_j + y_i` for `j = 1, 2, …`. Four outputs
/// are kept in registers across the columns. Leaves `y` as it is if `a` is not `m × k`.
///
/// On hard-float Arm cores `α = β = 1` (every product `Portable::gemm` is asked for in the
/// core: `y ← W r + b`) goes to the assembly loop `dtp_core_gemv_add_f32`, which rounds the
/// same operations in the same order.
pub(crate) fn gemv_blocked(y: &mut [f32], alpha: f32, a: &[f32], x: &[f32], beta: f32) {
    let m = y.len();
    let Some((&x0, rest)) = x.split_first() else {
        return;
    };
    if m == 0 || m.checked_mul(x.len()) != Some(a.len()) {
        return;
    }
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if alpha == 1.0 && beta == 1.0 {
        let y = y.as_mut_ptr();
        // SAFETY: `a` holds `m × k` floats with `m = y.len() ≥ 1` and `k = x.len() ≥ 1`
        // (checked above); `y` is borrowed mutably, so it overlaps neither `a` nor `x`; the
        // outputs start from `y` itself.
        unsafe { gemv_add(y, a.as_ptr(), x.as_ptr(), m, x.len(), y) };
        return;
    }
    let first = |yi: f32, ai0: f32| {
        if beta == 0.0 {
            alpha * ai0 * x0
        } else {
            alpha * ai0 * x0 + beta * yi
        }
    };
    let mut blocks = y.chunks_exact_mut(4);
    let mut i = 0;
    for block in &mut blocks {
        let mut acc = [0.0f32; 4];
        for ((acc, &yi), r) in acc.iter_mut().zip(block.iter()).zip(i..) {
            // SAFETY: r < m ≤ a.len().
            *acc = first(yi, unsafe { *a.get_unchecked(r) });
        }
        let mut column = i;
        for &xj in rest {
            column += m;
            // SAFETY: column = j·m + i with j < k and i + 4 ≤ m, so column + 4 ≤ m·k = a.len().
            let col = unsafe { a.get_unchecked(column..column + 4) };
            for (acc, &aij) in acc.iter_mut().zip(col) {
                *acc += alpha * aij * xj;
            }
        }
        block.copy_from_slice(&acc);
        i += 4;
    }
    for yi in blocks.into_remainder() {
        // SAFETY: i < m ≤ a.len().
        let mut acc = first(*yi, unsafe { *a.get_unchecked(i) });
        let mut column = i;
        for &xj in rest {
            column += m;
            // SAFETY: column = j·m + i with j < k and i < m.
            acc += alpha * unsafe { *a.get_unchecked(column) } * xj;
        }
        *yi = acc;
        i += 1;
    }
}

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
unsafe extern "C" {
    /// `y ← y0 + A·x` for a column-major `m × k` `A`, in the order and with the roundings of
    /// [`gemv_blocked`] at `α = β = 1`: `y_i ← y_i + A_i0·x_0`, then `y_i ← y_i + A_ij·x_j` for
    /// `j = 1, 2, …`. `1·A_ij` is `A_ij` exactly and `1·y_i` is `y_i`, so dropping the two
    /// multiplications by 1 changes no bit, and `y_i + A_i0·x_0` is `A_i0·x_0 + y_i` (IEEE
    /// addition commutes; the compiled Rust loop also adds `y_i` first). Each step is one
    /// `vmla.f32`, which on these cores rounds the product and then the sum as `vmul` + `vadd`
    /// do: it is not fused.
    ///
    /// Rows go in blocks of 16, then 8, 4, 2 and 1: a block's outputs stay in `s0`–`s15` across
    /// all the columns, its segment of a column (contiguous, `A` being column-major) comes in
    /// with one `vldmia` of up to 8 floats, and `x` comes 8 elements at a time into `s24`–`s31`.
    /// A column of a 16-row block costs 19 instructions for 16 multiply-adds (the pure Rust loop
    /// took about 2.8 instructions a multiply-add).
    ///
    /// # Safety
    /// `m ≥ 1`, `k ≥ 1`; `y` valid for writes of `m` floats, `y0` for reads of `m` (it may be
    /// `y` itself: each block of outputs is read from `y0` before it is written), `a` for
    /// reads of `m·k`, `x` for reads of `k`; `y` overlapping neither `a` nor `x`, nor `y0`
    /// unless it is `y`. With `y0 = y` this is `y ← y + A·x`; with `y0` a bias `b`, a dense
    /// layer's `W r + b` without first copying `b` into `y`.
    fn dtp_core_gemv_add_f32(
        y: *mut f32,
        a: *const f32,
        x: *const f32,
        m: usize,
        k: usize,
        y0: *const f32,
    );
}

// AAPCS-VFP: y, a, x, m in r0–r3, k and y0 on the stack. Registers: r0 the block's outputs,
// r1 the block's first row of column 0, r2 x, r3 rows left, r4 the column stride 4m, r5 k mod
// 8, r6 k div 8, r7 the walk down the block's rows of each column, r8 the walk along x,
// r9 4m − 32, r10 the walk along y0 (the outputs' starting values), r12 the column count; s0–s15 the block's outputs, s16–s23 its segment of a
// column, s24–s31 eight elements of x.
//
// `dtp_gemv_block rows, regs, col` is one block of `rows` outputs (held in `regs`): loaded
// from y0, every column multiplied in (eight at a time, then the k mod 8 left), stored back
// to y; `col` is the macro that multiplies in one column whose x is in register `\xr`.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
core::arch::global_asm!(
    ".section .text.dtp_core_gemv_add_f32,\"ax\",%progbits",
    ".globl dtp_core_gemv_add_f32",
    ".hidden dtp_core_gemv_add_f32",
    ".p2align 2",
    ".type dtp_core_gemv_add_f32,%function",
    ".thumb_func",
    // `vmla` is VFPv2 (not fused); the FPv4-SP of a Cortex-M4F has it too.
    ".fpu vfpv2",
    // One column of a 16-row block: rows 0–7 of the segment, then rows 8–15, then on to the
    // next column.
    ".macro dtp_gemv_col16 xr",
    "vldmia r7!, {{s16-s23}}",
    "vmla.f32 s0, s16, \\xr",
    "vmla.f32 s1, s17, \\xr",
    "vmla.f32 s2, s18, \\xr",
    "vmla.f32 s3, s19, \\xr",
    "vmla.f32 s4, s20, \\xr",
    "vmla.f32 s5, s21, \\xr",
    "vmla.f32 s6, s22, \\xr",
    "vmla.f32 s7, s23, \\xr",
    "vldmia r7, {{s16-s23}}",
    "add r7, r7, r9",
    "vmla.f32 s8, s16, \\xr",
    "vmla.f32 s9, s17, \\xr",
    "vmla.f32 s10, s18, \\xr",
    "vmla.f32 s11, s19, \\xr",
    "vmla.f32 s12, s20, \\xr",
    "vmla.f32 s13, s21, \\xr",
    "vmla.f32 s14, s22, \\xr",
    "vmla.f32 s15, s23, \\xr",
    ".endm",
    ".macro dtp_gemv_col8 xr",
    "vldmia r7, {{s16-s23}}",
    "add r7, r7, r4",
    "vmla.f32 s0, s16, \\xr",
    "vmla.f32 s1, s17, \\xr",
    "vmla.f32 s2, s18, \\xr",
    "vmla.f32 s3, s19, \\xr",
    "vmla.f32 s4, s20, \\xr",
    "vmla.f32 s5, s21, \\xr",
    "vmla.f32 s6, s22, \\xr",
    "vmla.f32 s7, s23, \\xr",
    ".endm",
    ".macro dtp_gemv_col4 xr",
    "vldmia r7, {{s16-s19}}",
    "add r7, r7, r4",
    "vmla.f32 s0, s16, \\xr",
    "vmla.f32 s1, s17, \\xr",
    "vmla.f32 s2, s18, \\xr",
    "vmla.f32 s3, s19, \\xr",
    ".endm",
    ".macro dtp_gemv_col2 xr",
    "vldmia r7, {{s16-s17}}",
    "add r7, r7, r4",
    "vmla.f32 s0, s16, \\xr",
    "vmla.f32 s1, s17, \\xr",
    ".endm",
    ".macro dtp_gemv_col1 xr",
    "vldr s16, [r7]",
    "add r7, r7, r4",
    "vmla.f32 s0, s16, \\xr",
    ".endm",
    ".macro dtp_gemv_block rows, regs, col",
    "vldmia r10!, {{\\regs}}", // the outputs so far: y (or the bias)
    "mov r7, r1",
    "mov r8, r2",
    "movs r12, r6",
    "beq 2f",
    "1:",
    "vldmia r8!, {{s24-s31}}", // x_j … x_j+7
    "\\col s24",
    "\\col s25",
    "\\col s26",
    "\\col s27",
    "\\col s28",
    "\\col s29",
    "\\col s30",
    "\\col s31",
    "subs r12, r12, #1",
    "bne 1b",
    "2:",
    "movs r12, r5",
    "beq 4f",
    "3:",
    "vldmia r8!, {{s24}}", // x_j
    "\\col s24",
    "subs r12, r12, #1",
    "bne 3b",
    "4:",
    "vstmia r0!, {{\\regs}}",
    "add r1, r1, #(4 * \\rows)",
    ".endm",
    "dtp_core_gemv_add_f32:",
    "push {{r4, r5, r6, r7, r8, r9, r10}}",
    "vpush {{s16-s31}}",
    "ldr r5, [sp, #92]",  // k (7 core + 16 FP registers saved: 92 bytes)
    "ldr r10, [sp, #96]", // where the outputs' first values are read: y or the bias
    "lsls r4, r3, #2",    // 4m
    "sub r9, r4, #32",    // 4m − 32
    "lsrs r6, r5, #3",    // k div 8
    "and r5, r5, #7",     // k mod 8
    "10:",
    "cmp r3, #16",
    "blo 11f",
    "dtp_gemv_block 16, s0-s15, dtp_gemv_col16",
    "subs r3, r3, #16",
    "b 10b",
    "11:",
    "tst r3, #8",
    "beq 12f",
    "dtp_gemv_block 8, s0-s7, dtp_gemv_col8",
    "12:",
    "tst r3, #4",
    "beq 13f",
    "dtp_gemv_block 4, s0-s3, dtp_gemv_col4",
    "13:",
    "tst r3, #2",
    "beq 14f",
    "dtp_gemv_block 2, s0-s1, dtp_gemv_col2",
    "14:",
    "tst r3, #1",
    "beq 15f",
    "dtp_gemv_block 1, s0, dtp_gemv_col1",
    "15:",
    "vpop {{s16-s31}}",
    "pop {{r4, r5, r6, r7, r8, r9, r10}}",
    "bx lr",
    ".purgem dtp_gemv_col16",
    ".purgem dtp_gemv_col8",
    ".purgem dtp_gemv_col4",
    ".purgem dtp_gemv_col2",
    ".purgem dtp_gemv_col1",
    ".purgem dtp_gemv_block",
    ".size dtp_core_gemv_add_f32, . - dtp_core_gemv_add_f32",
);

/// `y ← y0 + A·x` by `dtp_core_gemv_add_f32` (see its declaration).
///
/// # Safety
/// As `dtp_core_gemv_add_f32`'s.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
#[inline(always)]
pub(crate) unsafe fn gemv_add(
    y: *mut f32,
    a: *const f32,
    x: *const f32,
    m: usize,
    k: usize,
    y0: *const f32,
) {
    // SAFETY: as the caller promises.
    unsafe { dtp_core_gemv_add_f32(y, a, x, m, k, y0) }
}

#[cfg(test)]
mod tests {
    use super::gemv_blocked;
    use nalgebra::{DMatrix, DVector};

    /// The register-blocked gemv of the device gives nalgebra's `gemv` bit for bit.
    #[test]
    fn gemv_blocked_is_nalgebras_gemv() {
        let mut state = 0x2545_f491_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 - 0.5) * 3.0
        };
        for (m, k) in [(1, 1), (3, 5), (4, 1), (7, 9), (32, 64), (10, 32), (33, 2)] {
            for (alpha, beta) in [(1.0, 1.0), (1.0, 0.0), (-0.3, 0.7), (2.5, -1.25)] {
                let a = DMatrix::from_fn(m, k, |_, _| next());
                let x = DVector::from_fn(k, |_, _| next());
                let y0 = DVector::from_fn(m, |_, _| next());
                let mut expected = y0.clone();
                if beta == 0.0 {
                    expected.fill(0.0);
                }
                expected.gemv(alpha, &a, &x, beta);
                let mut y = y0.clone();
                gemv_blocked(y.as_mut_slice(), alpha, a.as_slice(), x.as_slice(), beta);
                for (got, want) in y.iter().zip(expected.iter()) {
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "m {m}, k {k}, α {alpha}, β {beta}"
                    );
                }
            }
        }
    }
}
