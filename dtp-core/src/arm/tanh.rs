//! `tanh`: the scalar [`tanh`] (`activation::tanh`, its branch-free range test on every Arm
//! core) and `tanh` of every value of a slice in place (`Activation::apply_slice` for tanh
//! units; sigmoid units go through the scalar function).

/// Beyond `|a| ≥ TANH_CLAMP` the approximation is held at its value there (±1 in `f32`).
const TANH_CLAMP: f32 = 7.905_311;

/// `tanh(a)` by the [13/6] odd rational minimax approximation on [−7.905, 7.905] that Eigen
/// uses for `float` (`generic_fast_tanh_float`): `tanh(a) ≈ a·P(a²)/Q(a²)` after clamping `a`,
/// and `a` itself for `|a| < 4·10⁻⁴`.
///
/// Largest error against the correctly rounded value, over every `f32` in [−10, 10]:
/// 4.95·10⁻⁷ absolute, 8 units in the last place (both at |a| ≈ 5.78; `libm::tanhf` is
/// within 1 ulp); see the `tanh_accuracy` test. Odd exactly; NaN in, NaN out (so divergence
/// is still detected downstream); ±∞ give ±1.
#[inline]
pub fn tanh(a: f32) -> f32 {
    #[cfg(target_arch = "arm")]
    {
        // The common case `4·10⁻⁴ ≤ |a| ≤ TANH_CLAMP`, where neither the clamp nor the small-`a`
        // branch changes anything, found by one unsigned compare of |a|'s bits (positive
        // floats order as their bits; NaN lies above the range): on Arm cores each float
        // compare costs a `vcmp` and a `vmrs`. Same arithmetic, so the same bits.
        let m = a.to_bits() & 0x7FFF_FFFF;
        let (small, clamp) = (TANH_SMALL.to_bits(), TANH_CLAMP.to_bits());
        if m.wrapping_sub(small) <= clamp - small {
            return tanh_rational(a);
        }
    }
    // `clamp` keeps NaN (unlike `min`/`max`, which would replace it).
    let x = a.clamp(-TANH_CLAMP, TANH_CLAMP);
    let r = tanh_rational(x);
    if x.abs() < TANH_SMALL { x } else { r }
}

/// The coefficients of [`tanh`]'s numerator `x·P(x²)` and denominator `Q(x²)`.
const A1: f32 = 4.893_524_6e-3;
const A3: f32 = 6.372_619_3e-4;
const A5: f32 = 1.485_722_4e-5;
const A7: f32 = 5.122_297e-8;
const A9: f32 = -8.604_672e-11;
const A11: f32 = 2.000_188e-13;
const A13: f32 = -2.760_768_5e-16;
const B0: f32 = 4.893_525e-3;
const B2: f32 = 2.268_434_6e-3;
const B4: f32 = 1.185_347e-4;
const B6: f32 = 1.198_258_4e-6;

/// Below `|a| < TANH_SMALL` [`tanh`] returns `a` itself.
const TANH_SMALL: f32 = 4e-4;

/// The rational part of [`tanh`]: `x·P(x²)/Q(x²)` for an already clamped `x`.
#[inline(always)]
fn tanh_rational(x: f32) -> f32 {
    let x2 = x * x;
    let mut p = x2 * A13 + A11;
    p = p * x2 + A9;
    p = p * x2 + A7;
    p = p * x2 + A5;
    p = p * x2 + A3;
    p = p * x2 + A1;
    p *= x;
    let mut q = x2 * B6 + B4;
    q = q * x2 + B2;
    q = q * x2 + B0;
    p / q
}

/// The dispatch point: `v ← tanh(v)` for every value: the assembly loop `dtp_core_tanh_f32`
/// on hard-float Arm, the [`portable`] twin elsewhere; the same bits.
#[inline(always)]
pub(crate) fn tanh_in_place(values: &mut [f32]) {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if !values.is_empty() {
        // SAFETY: `values` holds `values.len() ≥ 1` floats, borrowed mutably.
        unsafe { dtp_core_tanh_f32(values.as_mut_ptr(), values.len()) };
    }
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    portable(values);
}

/// The portable twin of `dtp_core_tanh_f32`: the scalar function in one tight loop, which the
/// compiler vectorises.
#[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
#[inline(always)]
fn portable(values: &mut [f32]) {
    crate::simd::wide(
        #[inline(always)]
        || values.iter_mut().for_each(|v| *v = tanh(*v)),
    );
}

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
unsafe extern "C" {
    /// [`tanh`] of each of `n ≥ 1` floats at `v`, in place: the same operations in the same
    /// order (`vmla` is not fused: it rounds the product, then the sum), so the same bits.
    ///
    /// # Safety
    /// `v` valid for reads and writes of `n ≥ 1` floats.
    fn dtp_core_tanh_f32(v: *mut f32, n: usize);
}

// AAPCS-VFP: v, n in r0, r1. Per element: `r4` its bits; `r6` = 2|a|'s bits − 2·TANH_SMALL's
// (`r3` holds the negated second term), which is at most `r12` = 2·(TANH_CLAMP − TANH_SMALL)'s
// bits exactly when neither the clamp nor the small-`a` case applies (the common case). The
// rational part: `s0` x, `s1` x², `s2` A13, `s3` B6; `s4`–`s12` are reloaded from the table
// by one `vldmia` per element (A11 A9 A7 A5 A3 A1 B4 B2 B0) and each Horner step is one
// `vmla` into them: the stable compiler's code needed a `vmov` of the constant first (two
// instructions a step) and four instructions for each float compare of the clamp. Two
// elements at a time when both are in the common case (the second's x in `s1`, x² in `s15`,
// constants in `s16`–`s24`; the first's x² in `s14`), else one.
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
core::arch::global_asm!(
    ".section .text.dtp_core_tanh_f32,\"ax\",%progbits",
    ".globl dtp_core_tanh_f32",
    ".hidden dtp_core_tanh_f32",
    ".p2align 2",
    ".type dtp_core_tanh_f32,%function",
    ".thumb_func",
    ".fpu vfpv2",
    "dtp_core_tanh_f32:",
    "push {{r4, r5, r6}}",
    "vpush {{s16-s24}}",
    "adr r2, 9f",
    "vldr s2, [r2, #36]", // A13
    "vldr s3, [r2, #40]", // B6
    "ldr r3, [r2, #44]",  // −2·TANH_SMALL's bits
    "ldr r12, [r2, #48]", // 2·(TANH_CLAMP − TANH_SMALL)'s bits
    "1:",
    "cmp r1, #2",
    "blo 7f",
    "ldmia r0, {{r4, r5}}",
    "add r6, r3, r4, lsl #1",
    "cmp r6, r12",
    "bhi 6f",
    "add r6, r3, r5, lsl #1",
    "cmp r6, r12",
    "bhi 6f",
    "vmov s0, s1, r4, r5",
    "vldmia r2, {{s4-s12}}",
    "vldmia r2, {{s16-s24}}",
    "vmul.f32 s14, s0, s0",   // x2 = x·x
    "vmul.f32 s15, s1, s1",
    "vmla.f32 s4, s14, s2",   // p = x2·A13 + A11
    "vmla.f32 s16, s15, s2",
    "vmla.f32 s5, s4, s14",   // p = p·x2 + A9
    "vmla.f32 s17, s16, s15",
    "vmla.f32 s6, s5, s14",   // … + A7
    "vmla.f32 s18, s17, s15",
    "vmla.f32 s7, s6, s14",   // … + A5
    "vmla.f32 s19, s18, s15",
    "vmla.f32 s8, s7, s14",   // … + A3
    "vmla.f32 s20, s19, s15",
    "vmla.f32 s9, s8, s14",   // … + A1
    "vmla.f32 s21, s20, s15",
    "vmul.f32 s9, s9, s0",    // p ·= x
    "vmul.f32 s21, s21, s1",
    "vmla.f32 s10, s14, s3",  // q = x2·B6 + B4
    "vmla.f32 s22, s15, s3",
    "vmla.f32 s11, s10, s14", // q = q·x2 + B2
    "vmla.f32 s23, s22, s15",
    "vmla.f32 s12, s11, s14", // … + B0
    "vmla.f32 s24, s23, s15",
    "vdiv.f32 s0, s9, s12",
    "vdiv.f32 s1, s21, s24",
    "vstmia r0!, {{s0-s1}}",
    "subs r1, r1, #2",
    "b 1b",
    "7:",
    "cmp r1, #0",
    "beq 8f",
    "6:",                  // one element
    "ldr r4, [r0]",
    "add r6, r3, r4, lsl #1",
    "cmp r6, r12",
    "bhi 3f",
    "vmov s0, r4",
    "2:",                  // x in s0: x·P(x²)/Q(x²)
    "vldmia r2, {{s4-s12}}",
    "vmul.f32 s1, s0, s0", // x2 = x·x
    "vmla.f32 s4, s1, s2", // p = x2·A13 + A11
    "vmla.f32 s5, s4, s1", // p = p·x2 + A9
    "vmla.f32 s6, s5, s1", // … + A7
    "vmla.f32 s7, s6, s1", // … + A5
    "vmla.f32 s8, s7, s1", // … + A3
    "vmla.f32 s9, s8, s1", // … + A1
    "vmul.f32 s9, s9, s0", // p ·= x
    "vmla.f32 s10, s1, s3", // q = x2·B6 + B4
    "vmla.f32 s11, s10, s1", // q = q·x2 + B2
    "vmla.f32 s12, s11, s1", // … + B0
    "vdiv.f32 s0, s9, s12",
    "4:",
    "vstmia r0!, {{s0}}",
    "subs r1, r1, #1",
    "b 1b",
    "3:",                  // |a| < TANH_SMALL, |a| > TANH_CLAMP or NaN
    "vmov s0, r4",
    "lsls r6, r4, #1",
    "cmn r6, r3",          // carry clear: 2|a| < 2·TANH_SMALL, tanh(a) = a
    "bcc 4b",
    "cmp r6, #0xFF000000", // NaN: through the rational part (the clamp keeps NaN)
    "bhi 2b",
    "and r4, r4, #0x80000000", // else ±TANH_CLAMP, the sign of a
    "ldr r6, [r2, #52]",
    "orr r4, r4, r6",
    "vmov s0, r4",
    "b 2b",
    "8:",
    "vpop {{s16-s24}}",
    "pop {{r4, r5, r6}}",
    "bx lr",
    ".p2align 2",
    "9:",
    ".word {a11}, {a9}, {a7}, {a5}, {a3}, {a1}, {b4}, {b2}, {b0}",
    ".word {a13}, {b6}, {neg_small2}, {range2}, {clamp}",
    ".size dtp_core_tanh_f32, . - dtp_core_tanh_f32",
    a11 = const A11.to_bits(),
    a9 = const A9.to_bits(),
    a7 = const A7.to_bits(),
    a5 = const A5.to_bits(),
    a3 = const A3.to_bits(),
    a1 = const A1.to_bits(),
    b4 = const B4.to_bits(),
    b2 = const B2.to_bits(),
    b0 = const B0.to_bits(),
    a13 = const A13.to_bits(),
    b6 = const B6.to_bits(),
    neg_small2 = const (TANH_SMALL.to_bits() << 1).wrapping_neg(),
    range2 = const (TANH_CLAMP.to_bits() - TANH_SMALL.to_bits()) << 1,
    clamp = const TANH_CLAMP.to_bits(),
);
