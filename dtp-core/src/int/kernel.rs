//! The integer step's loops: a layer's product with sign (±1) inputs as adds and subtracts of
//! weight columns, the input layer's multiply-accumulate, and the SGD updates of both kinds
//! with stochastic rounding. Each is one function, inlined into its step; `i32` throughout,
//! no `i64`, no division.
//!
//! Matrices are column-major `n_out × n_in` (`w[j·n_out + i]` is `W_ij`), `src` holds what
//! the layer reads from (its sign: `src_j ≥ 0` reads +1, else −1).

/// The columns of a column-major matrix of `n` rows, in order: `chunks_exact` without the
/// division it takes for its length (a library call on a Cortex-M0).
#[derive(Clone, Debug)]
pub struct Columns<'a, T> {
    rest: &'a [T],
    n: usize,
}

/// [`Columns`] of `w` with `n` rows.
#[inline(always)]
pub fn columns<T>(w: &[T], n: usize) -> Columns<'_, T> {
    Columns { rest: w, n }
}

impl<'a, T> Iterator for Columns<'a, T> {
    type Item = &'a [T];
    #[inline(always)]
    fn next(&mut self) -> Option<&'a [T]> {
        let (col, rest) = self.rest.split_at_checked(self.n)?;
        self.rest = rest;
        Some(col)
    }
}

/// The columns of a column-major matrix of `n` rows, to write.
#[derive(Debug)]
pub struct ColumnsMut<'a, T> {
    rest: &'a mut [T],
    n: usize,
}

/// [`ColumnsMut`] of `w` with `n` rows.
#[inline(always)]
pub fn columns_mut<T>(w: &mut [T], n: usize) -> ColumnsMut<'_, T> {
    ColumnsMut { rest: w, n }
}

impl<'a, T> Iterator for ColumnsMut<'a, T> {
    type Item = &'a mut [T];
    #[inline(always)]
    fn next(&mut self) -> Option<&'a mut [T]> {
        let (col, rest) = core::mem::take(&mut self.rest).split_at_mut_checked(self.n)?;
        self.rest = rest;
        Some(col)
    }
}

/// `acc = b + W sign(src)` (Q12). `|acc| ≤ (n_in + 1)·2¹⁵ < 2³¹` for `n_in < 2¹⁶`.
#[inline(always)]
pub fn sign_gemv(w: &[i16], b: &[i16], src: &[i32], acc: &mut [i32]) {
    let n = acc.len();
    for (a, &bi) in acc.iter_mut().zip(b) {
        *a = bi as i32;
    }
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    if pairs::product::<false>(w, src, acc, |s| if s >= 0 { 1 } else { 0xFFFF }) {
        return;
    }
    for (col, &s) in columns(w, n).zip(src) {
        #[cfg(all(target_arch = "arm", not(target_feature = "thumb2")))]
        if m0::add_column(col, acc, s >= 0) {
            continue;
        }
        if s >= 0 {
            for (a, &wi) in acc.iter_mut().zip(col) {
                *a += wi as i32;
            }
        } else {
            for (a, &wi) in acc.iter_mut().zip(col) {
                *a -= wi as i32;
            }
        }
    }
}

/// `g_j = Σ_k W_kj d_k` for every column `j` of `w` (`d.len()` rows), into `g`
/// (`Wᵀ d`; the caller bounds the sums below 2³¹). On the M4 with an even number of rows
/// (up to 32) and every `d_k` inside `i16`: two rows a `SMLAD` (same bits: integer sums).
#[inline(always)]
pub fn column_dots(w: &[i16], d: &[i32], g: &mut [i32]) {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    if pairs::dots(w, d, g) {
        return;
    }
    for (col, gj) in columns(w, d.len()).zip(g.iter_mut()) {
        let mut sum = 0i32;
        for (&wk, &dk) in col.iter().zip(d) {
            sum += wk as i32 * dk;
        }
        *gj = sum;
    }
}

/// Columns of the input layer summed in `i32` before a checked fold: 255 terms of at most
/// `2¹⁵ · 2⁸` (a Q12 weight times a Q8 input of magnitude ≤ 1) stay below 2³¹.
const BLOCK: usize = 255;

/// `acc = (b << 8) + W x` in Q20 (Q12 weights, Q8 inputs `|x| ≤ 256`), skipping zero
/// inputs. The first `BLOCK − 1` columns (with the bias) go straight into `acc`; further
/// blocks are summed in `tmp` and added with a checked add. `false` if a sum left `i32`
/// (only possible above 254 inputs).
#[inline(always)]
pub fn input_gemv(w: &[i16], b: &[i16], x: &[i32], acc: &mut [i32], tmp: &mut [i32]) -> bool {
    let n = acc.len();
    for (a, &bi) in acc.iter_mut().zip(b) {
        *a = (bi as i32) << 8;
    }
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    if x.len() < BLOCK && pairs::product::<true>(w, x, acc, |x| x as u32 & 0xFFFF) {
        return true;
    }
    let mut cols = columns(w, n).zip(x);
    for (col, &xj) in cols.by_ref().take(BLOCK - 1) {
        if xj != 0 {
            for (a, &wi) in acc.iter_mut().zip(col) {
                *a += wi as i32 * xj;
            }
        }
    }
    loop {
        let mut block = cols.by_ref().take(BLOCK).peekable();
        if block.peek().is_none() {
            return true;
        }
        tmp.iter_mut().take(n).for_each(|t| *t = 0);
        for (col, &xj) in block {
            if xj != 0 {
                for (t, &wi) in tmp.iter_mut().zip(col) {
                    *t += wi as i32 * xj;
                }
            }
        }
        for (a, &t) in acc.iter_mut().zip(tmp.iter()) {
            match a.checked_add(t) {
                Some(v) => *a = v,
                None => return false,
            }
        }
    }
}

/// The products on the Arm DSP extension (Cortex-M4/M7): two rows by two columns a
/// step, `acc_i += W_ij·m_j + W_i,j+1·m_{j+1}` with one `SMLAD` a row (`PKHBT`/`PKHTB`
/// pair the rows' weights of the two columns, the multipliers are packed as 16-bit lanes).
/// Integer sums of the same terms, bounded below 2³¹: the same bits as the portable loops
/// (`int-m0-bench` prints the same parameters' digest for thumbv6m and thumbv7em).
#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod pairs {
    /// Column pairs packed at once (their multipliers on the stack: 64 bytes).
    const CHUNK: usize = 16;

    /// [`column_dots`](super::column_dots): `false` (nothing done) unless the rows are
    /// even, at most `2·CHUNK`, every `d_k` fits `i16` and `w` holds `g.len()` columns.
    #[inline(always)]
    pub fn dots(w: &[i16], d: &[i32], g: &mut [i32]) -> bool {
        let n = d.len();
        if !n.is_multiple_of(2) || n == 0 || n > 2 * CHUNK || w.len() < g.len().saturating_mul(n) {
            return false;
        }
        let mut packed = [0u32; CHUNK];
        for (slot, pair) in packed.iter_mut().zip(d.chunks_exact(2)) {
            if let [a, b] = pair {
                if *a != *a as i16 as i32 || *b != *b as i16 as i32 {
                    return false;
                }
                *slot = *a as u32 & 0xFFFF | (*b as u32) << 16;
            }
        }
        let mut p = w.as_ptr();
        for gj in g.iter_mut() {
            // SAFETY: column j's `n` weights, inside `w` (`w.len() ≥ g.len()·n`, checked
            // above), and `packed[..n/2]`; unaligned word loads are allowed on ARMv7E-M.
            unsafe {
                core::arch::asm!(
                    "mov {x}, #0",
                    "tst {cnt}, #1",
                    "beq 3f",
                    "ldr {a}, [{p}], #4",
                    "ldr {m}, [{mp}], #4",
                    "smlad {x}, {a}, {m}, {x}",
                    "subs {cnt}, {cnt}, #1",
                    "beq 4f",
                    "3:",
                    "ldr {a}, [{p}], #4",
                    "ldr {m}, [{mp}], #4",
                    "smlad {x}, {a}, {m}, {x}",
                    "ldr {a}, [{p}], #4",
                    "ldr {m}, [{mp}], #4",
                    "smlad {x}, {a}, {m}, {x}",
                    "subs {cnt}, {cnt}, #2",
                    "bne 3b",
                    "4:",
                    a = out(reg) _,
                    m = out(reg) _,
                    x = out(reg) *gj,
                    p = inout(reg) p,
                    mp = inout(reg) packed.as_ptr() => _,
                    cnt = inout(reg) n / 2 => _,
                    options(nostack, readonly),
                );
            }
        }
        true
    }

    /// The column pairs `kept` of a chunk starting at column `col`, their multipliers in
    /// `packed` and their byte offsets from the chunk's first column in `offsets` (the pairs
    /// whose multipliers are both zero left out).
    #[inline(always)]
    fn sparse(
        w: &[i16],
        n: usize,
        col: usize,
        packed: &[u32; CHUNK],
        offsets: &[usize; CHUNK],
        kept: usize,
        acc: &mut [i32],
    ) {
        let base = w.as_ptr().wrapping_add(col * n);
        for (k, two) in acc.chunks_exact_mut(2).enumerate() {
            if let [x0, x1] = two {
                // SAFETY: rows 2k, 2k + 1 of the kept column pairs of the chunk, inside `w`
                // (the caller checked `w.len() ≥ cols·n`; an offset is that of a pair of the
                // chunk); `kept ≤ CHUNK` values of `packed` and `offsets`.
                unsafe {
                    core::arch::asm!(
                        "tst {cnt}, #1",
                        "beq 3f",
                        "ldr {t}, [{op}], #4",
                        "ldr {m}, [{mp}], #4",
                        "add {t}, {t}, {p}",
                        "ldr {a}, [{t}]",
                        "ldr {b}, [{t}, {nb}]",
                        "pkhbt {t}, {a}, {b}, lsl #16",
                        "pkhtb {a}, {b}, {a}, asr #16",
                        "smlad {x0}, {t}, {m}, {x0}",
                        "smlad {x1}, {a}, {m}, {x1}",
                        "subs {cnt}, {cnt}, #1",
                        "beq 4f",
                        "3:",
                        "ldr {t}, [{op}], #4",
                        "ldr {m}, [{mp}], #4",
                        "add {t}, {t}, {p}",
                        "ldr {a}, [{t}]",
                        "ldr {b}, [{t}, {nb}]",
                        "pkhbt {t}, {a}, {b}, lsl #16",
                        "pkhtb {a}, {b}, {a}, asr #16",
                        "smlad {x0}, {t}, {m}, {x0}",
                        "smlad {x1}, {a}, {m}, {x1}",
                        "ldr {t}, [{op}], #4",
                        "ldr {m}, [{mp}], #4",
                        "add {t}, {t}, {p}",
                        "ldr {a}, [{t}]",
                        "ldr {b}, [{t}, {nb}]",
                        "pkhbt {t}, {a}, {b}, lsl #16",
                        "pkhtb {a}, {b}, {a}, asr #16",
                        "smlad {x0}, {t}, {m}, {x0}",
                        "smlad {x1}, {a}, {m}, {x1}",
                        "subs {cnt}, {cnt}, #2",
                        "bne 3b",
                        "4:",
                        a = out(reg) _,
                        b = out(reg) _,
                        m = out(reg) _,
                        t = out(reg) _,
                        x0 = inout(reg) *x0,
                        x1 = inout(reg) *x1,
                        p = in(reg) base.wrapping_add(2 * k),
                        nb = in(reg) 2 * n,
                        op = inout(reg) offsets.as_ptr() => _,
                        mp = inout(reg) packed.as_ptr() => _,
                        cnt = inout(reg) kept => _,
                        options(nostack, readonly),
                    );
                }
            }
        }
    }

    /// `acc += W m` with `m_j = mult(src_j)` (a 16-bit lane: ±1, or an input `|x| ≤ 256`),
    /// `W` column-major with `acc.len()` rows. `false` (nothing done) unless the rows are
    /// even and `w` holds `src.len()` columns.
    #[inline(always)]
    pub fn product<const SKIP: bool>(
        w: &[i16],
        src: &[i32],
        acc: &mut [i32],
        mult: impl Fn(i32) -> u32,
    ) -> bool {
        let n = acc.len();
        let cols = src.len();
        if !n.is_multiple_of(2) || n == 0 || w.len() < cols.saturating_mul(n) {
            return false;
        }
        let mut packed = [0u32; CHUNK];
        let mut col = 0;
        let mut pairs = src.chunks_exact(2);
        loop {
            let mut len = 0;
            if SKIP {
                let (mut offsets, mut kept) = ([0usize; CHUNK], 0);
                for pair in pairs.by_ref().take(CHUNK) {
                    if let [a, b] = pair {
                        let m = mult(*a) | mult(*b) << 16;
                        if m != 0 {
                            if let (Some(slot), Some(off)) =
                                (packed.get_mut(kept), offsets.get_mut(kept))
                            {
                                (*slot, *off) = (m, 4 * len * n);
                            }
                            kept += 1;
                        }
                    }
                    len += 1;
                }
                if len == 0 {
                    break;
                }
                if kept > 0 {
                    sparse(w, n, col, &packed, &offsets, kept, acc);
                }
                col += 2 * len;
                continue;
            }
            for (slot, pair) in packed.iter_mut().zip(pairs.by_ref()) {
                if let [a, b] = pair {
                    *slot = mult(*a) | mult(*b) << 16;
                }
                len += 1;
            }
            if len == 0 {
                break;
            }
            let base = w.as_ptr().wrapping_add(col * n);
            for (k, two) in acc.chunks_exact_mut(2).enumerate() {
                if let [x0, x1] = two {
                    // SAFETY: rows 2k, 2k + 1 of columns col .. col + 2·len, inside `w`
                    // (`w.len() ≥ cols·n`, checked above); unaligned word loads are allowed
                    // on ARMv7E-M. The loop reads only those and `packed[..len]`.
                    unsafe {
                        core::arch::asm!(
                            "tst {cnt}, #1",
                            "beq 3f",
                            "ldr {a}, [{p}]",
                            "ldr {b}, [{p}, {nb}]",
                            "ldr {m}, [{mp}], #4",
                            "pkhbt {t}, {a}, {b}, lsl #16",
                            "pkhtb {a}, {b}, {a}, asr #16",
                            "smlad {x0}, {t}, {m}, {x0}",
                            "smlad {x1}, {a}, {m}, {x1}",
                            "add {p}, {p}, {nb}, lsl #1",
                            "subs {cnt}, {cnt}, #1",
                            "beq 4f",
                            "3:",
                            "ldr {a}, [{p}]",
                            "ldr {b}, [{p}, {nb}]",
                            "ldr {m}, [{mp}], #4",
                            "pkhbt {t}, {a}, {b}, lsl #16",
                            "pkhtb {a}, {b}, {a}, asr #16",
                            "smlad {x0}, {t}, {m}, {x0}",
                            "smlad {x1}, {a}, {m}, {x1}",
                            "add {p}, {p}, {nb}, lsl #1",
                            "ldr {a}, [{p}]",
                            "ldr {b}, [{p}, {nb}]",
                            "ldr {m}, [{mp}], #4",
                            "pkhbt {t}, {a}, {b}, lsl #16",
                            "pkhtb {a}, {b}, {a}, asr #16",
                            "smlad {x0}, {t}, {m}, {x0}",
                            "smlad {x1}, {a}, {m}, {x1}",
                            "add {p}, {p}, {nb}, lsl #1",
                            "subs {cnt}, {cnt}, #2",
                            "bne 3b",
                            "4:",
                            a = out(reg) _,
                            b = out(reg) _,
                            m = out(reg) _,
                            t = out(reg) _,
                            x0 = inout(reg) *x0,
                            x1 = inout(reg) *x1,
                            p = inout(reg) base.wrapping_add(2 * k) => _,
                            nb = in(reg) 2 * n,
                            mp = inout(reg) packed.as_ptr() => _,
                            cnt = inout(reg) len => _,
                            options(nostack, readonly),
                        );
                    }
                }
            }
            col += 2 * len;
        }
        if let (Some(&s), Some(last)) = (pairs.remainder().first(), w.get(col * n..col * n + n)) {
            let m = mult(s) as u16 as i16 as i32;
            for (a, &wi) in acc.iter_mut().zip(last) {
                *a += wi as i32 * m;
            }
        }
        true
    }
}

/// `v` as `i16` (wrapping); records in `flag` (non-zero after any) whether it wrapped.
#[inline(always)]
fn narrow(v: i32, flag: &mut i32) -> i16 {
    let w = v as i16;
    *flag |= v ^ w as i32;
    w
}

/// One weight's update `old + Δ` (`UNDO = false`: returns the value to store and records a
/// wrap in `flag`), or its undoing from the stored value, `stored − Δ` (`UNDO = true`, the
/// exact inverse of the wrapping update).
#[inline(always)]
fn apply<const UNDO: bool>(w: i16, delta: i32, flag: &mut i32) -> i16 {
    if UNDO {
        w.wrapping_sub(delta as i16)
    } else {
        narrow(w as i32 + delta, flag)
    }
}

/// The largest rounded step `|⌊v / 2^f⌋|` a sign-input update takes (4.0 in Q12): a larger
/// one is refused (see [`row_constants`]).
pub const STEP_LIMIT: i32 = 1 << 14;

/// One row's rounding constant for the value `v` (`|v| < 2³⁰`) and shift `f` (`2 ≤ f ≤ 30`):
/// `(q << 16) | r` with `q = ⌊v / 2^f⌋` and `r` the top 16 bits of the remainder's fraction
/// `(v mod 2^f) / 2^f`. The update `q + [r + R ≥ 2¹⁶]`, `R` uniform on `[0, 2¹⁶)`, has the
/// expectation `v / 2^f` exactly for `f ≤ 16` and within `2⁻¹⁶` of an LSB below it above.
/// `None` if `q ∉ [−2¹⁴, 2¹⁴)`.
#[inline(always)]
pub fn row_constant(v: i32, f: u32) -> Option<i32> {
    let q = v >> f;
    if (q + STEP_LIMIT) as u32 >= 2 * STEP_LIMIT as u32 {
        return None;
    }
    // `v·2^(16−f)` (exact: `|q| < 2¹⁴`), or `⌊v / 2^(f−16)⌋`: `q` above bit 16, the
    // fraction's top 16 bits below.
    Some(if f >= 16 {
        v >> (f - 16)
    } else {
        v << (16 - f)
    })
}

/// The constants of a sign-input update from `d = −lr·δ` (`|d| < 2³⁰`): `d` becomes the
/// constants of `+d` (what a unit reading `+1` and the bias add), `minus` those of `−d`
/// ([`row_constant`]). `false` (and the layer must be left as it is) if some rounded step
/// `|⌊±d_i / 2^f⌋|` exceeds [`STEP_LIMIT`]: a step of 4.0 on a weight of `[−8, 8)` is refused
/// like a weight leaving its range.
#[inline(always)]
pub fn row_constants(d: &mut [i32], minus: &mut [i32], f: u32) -> bool {
    let mut fits = true;
    for (di, mi) in d.iter_mut().zip(minus.iter_mut()) {
        match (row_constant(*di, f), row_constant(-*di, f)) {
            (Some(p), Some(m)) => (*di, *mi) = (p, m),
            _ => fits = false,
        }
    }
    fits
}

/// The step of the dither word: `⌊2³²/φ⌋` (odd). The word `R` advances by it once a row
/// pair; row `2k` rounds with its low half, row `2k + 1` with its high half (each a
/// low-discrepancy (Weyl) sequence, uniform on `[0, 2¹⁶)` for a uniform seed).
pub const WEYL: u32 = 0x9E37_79B9;

/// SGD on a layer reading signs: `W_ij += ⌊(sign(src_j)·d_i + R) / 2^f⌋`,
/// `b_i += ⌊(d_i + R) / 2^f⌋`, rounded stochastically from the constants `plus`
/// (of `+d`) and `minus` (of `−d`, [`row_constants`]) and a dither of two 16-bit Weyl lanes
/// seeded by one 32-bit draw `seed`: every row pair of every column (the bias first, then
/// `W`'s columns in order) advances the dither word by [`WEYL`]; a row rounds up when the row's
/// fraction plus its half of the dither word carries out of 16 bits.
///
/// Returns `false`, with every weight and bias as before the call, if any would leave `i16`:
/// the pass is replayed from the same seed and its wrapping adds undone (only then: the
/// common path stores and checks, no clamp). On a Cortex-M4/M7 (`target_feature = "dsp"`)
/// with an even number of rows the columns take two rows a word (`SADD16`, `UADD16`, `SEL`;
/// [`lanes`]), the same bits as the portable loop.
#[inline(always)]
pub fn sign_update(
    w: &mut [i16],
    b: &mut [i16],
    plus: &mut [i32],
    minus: &mut [i32],
    src: &[i32],
    seed: u32,
) -> bool {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        lanes::sign_update::<lanes::Dsp>(w, b, plus, minus, src, seed)
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        if sign_pass::<false>(w, b, plus, minus, src, seed) == 0 {
            return true;
        }
        sign_pass::<true>(w, b, plus, minus, src, seed);
        false
    }
}

/// One weight's rounded step from its row's constant `c` (`q << 16 | fraction`) and its
/// dither half `r` in the high 16 bits (the low ones below the carry: `frac·2¹⁶ + r` carries
/// out of 32 bits exactly when `frac + ⌊r/2¹⁶⌋` does out of 16).
#[inline(always)]
fn rounded(c: i32, r: u32) -> i32 {
    let (_, carry) = ((c as u32) << 16).overflowing_add(r);
    (c >> 16) + carry as i32
}

/// One column (or the bias), row pairs in order: the dither word advances, the even row
/// rounds with its low half, the odd row with its high half.
#[inline(always)]
fn column_pass<const UNDO: bool>(col: &mut [i16], consts: &[i32], r: &mut u32, flag: &mut i32) {
    let mut rows = col.iter_mut().zip(consts);
    while let Some((w, &c)) = rows.next() {
        *r = r.wrapping_add(WEYL);
        *w = apply::<UNDO>(*w, rounded(c, *r << 16), flag);
        let Some((w, &c)) = rows.next() else {
            break;
        };
        *w = apply::<UNDO>(*w, rounded(c, *r), flag);
    }
}

/// The portable sign-input update pass (and its undoing, `UNDO`): non-zero `flag` if a value
/// wrapped.
#[inline(always)]
fn sign_pass<const UNDO: bool>(
    w: &mut [i16],
    b: &mut [i16],
    plus: &[i32],
    minus: &[i32],
    src: &[i32],
    seed: u32,
) -> i32 {
    let n = plus.len();
    let mut flag = 0;
    let mut r = seed;
    column_pass::<UNDO>(b, plus, &mut r, &mut flag);
    for (col, &s) in columns_mut(w, n).zip(src) {
        let consts = if s >= 0 { plus } else { minus };
        #[cfg(all(target_arch = "arm", not(target_feature = "thumb2")))]
        if !UNDO && m0::column(col, consts, &mut r, &mut flag) {
            continue;
        }
        column_pass::<UNDO>(col, consts, &mut r, &mut flag);
    }
    flag
}

/// The sign-input update's column on a Cortex-M0 (thumbv6m): [`column_pass`] in Thumb-1
/// assembly (the rows' constants and the dither word in low registers, a wrap branching out
/// of the loop to record it). The same bits as the portable loop: `int-m0-bench` prints
/// the same parameters' digest on thumbv6m as on thumbv7em.
#[cfg(all(target_arch = "arm", not(target_feature = "thumb2")))]
mod m0 {
    use super::WEYL;

    /// `acc ± col` (`add`: `+`), two rows a word: `false` (nothing done) unless the column
    /// has an even number of rows, at least two, starts on a word and `acc` is as long.
    #[inline(always)]
    pub fn add_column(col: &[i16], acc: &mut [i32], add: bool) -> bool {
        let n = col.len();
        if !n.is_multiple_of(2)
            || n == 0
            || acc.len() != n
            || !(col.as_ptr() as usize).is_multiple_of(4)
        {
            return false;
        }
        let end = col.as_ptr().wrapping_add(n);
        // SAFETY: the loop reads the `n` weights of `col` (word-aligned, checked above) as
        // `n/2` words, and reads and writes the `n` sums of `acc`.
        unsafe {
            if add {
                core::arch::asm!(
                    "mov r8, r2",
                    "2:",
                    "ldr r3, [r0]",
                    "adds r0, #4",
                    "ldm r1!, {{r4, r5}}",
                    "sxth r2, r3",
                    "adds r4, r4, r2",
                    "asrs r3, r3, #16",
                    "adds r5, r5, r3",
                    "subs r1, #8",
                    "stm r1!, {{r4, r5}}",
                    "cmp r0, r8",
                    "bne 2b",
                    inout("r0") col.as_ptr() => _,
                    inout("r1") acc.as_mut_ptr() => _,
                    inout("r2") end => _,
                    out("r3") _,
                    out("r4") _,
                    out("r5") _,
                    out("r8") _,
                    options(nostack),
                );
            } else {
                core::arch::asm!(
                    "mov r8, r2",
                    "2:",
                    "ldr r3, [r0]",
                    "adds r0, #4",
                    "ldm r1!, {{r4, r5}}",
                    "sxth r2, r3",
                    "subs r4, r4, r2",
                    "asrs r3, r3, #16",
                    "subs r5, r5, r3",
                    "subs r1, #8",
                    "stm r1!, {{r4, r5}}",
                    "cmp r0, r8",
                    "bne 2b",
                    inout("r0") col.as_ptr() => _,
                    inout("r1") acc.as_mut_ptr() => _,
                    inout("r2") end => _,
                    out("r3") _,
                    out("r4") _,
                    out("r5") _,
                    out("r8") _,
                    options(nostack),
                );
            }
        }
        true
    }

    /// `false` (nothing done) unless the column has an even number of rows, at least two,
    /// and a constant for each.
    #[inline(always)]
    pub fn column(col: &mut [i16], consts: &[i32], r: &mut u32, flag: &mut i32) -> bool {
        let n = col.len();
        if !n.is_multiple_of(2) || n == 0 || consts.len() < n {
            return false;
        }
        let wrapped: u32;
        // SAFETY: the loop reads `n` constants and reads and writes `n` weights, inside the
        // slices (checked above); `end` is one past the last weight.
        unsafe {
            core::arch::asm!(
                "mov r8, r3",
                "mov r10, r4",
                "movs r5, #0",
                "mov r12, r5",
                "2:",
                "add r2, r8",
                "ldr r4, [r1]",
                "lsls r5, r4, #16",
                "asrs r4, r4, #16",
                "lsls r3, r2, #16",
                "adds r5, r5, r3",
                "ldrh r3, [r0]",
                "sxth r3, r3",
                "adcs r4, r3",
                "strh r4, [r0]",
                "sxth r3, r4",
                "cmp r3, r4",
                "bne 8f",
                "3:",
                "ldr r4, [r1, #4]",
                "lsls r5, r4, #16",
                "asrs r4, r4, #16",
                "adds r5, r5, r2",
                "ldrh r3, [r0, #2]",
                "sxth r3, r3",
                "adcs r4, r3",
                "strh r4, [r0, #2]",
                "sxth r3, r4",
                "cmp r3, r4",
                "bne 9f",
                "4:",
                "adds r0, #4",
                "adds r1, #8",
                "cmp r0, r10",
                "bne 2b",
                "b 5f",
                "8:",
                "mov r12, r0",
                "b 3b",
                "9:",
                "mov r12, r0",
                "b 4b",
                "5:",
                "mov r3, r12",
                inout("r0") col.as_mut_ptr() => _,
                inout("r1") consts.as_ptr() => _,
                inout("r2") *r,
                inout("r3") WEYL => wrapped,
                inout("r4") col.as_mut_ptr().wrapping_add(n) => _,
                out("r5") _,
                out("r8") _,
                out("r10") _,
                out("r12") _,
                options(nostack),
            );
        }
        *flag |= (wrapped != 0) as i32;
        true
    }
}

/// The sign-input update two rows a word (a 32-bit word holds rows `2k`, `2k + 1` of a
/// column; the two dither lanes are its halves), as the Arm DSP extension (Cortex-M4/M7)
/// computes it: `SADD16`, `UADD16`, `SEL` (the dither lanes are the halves of
/// the dither word, advanced by a 32-bit `ADD`). The same bits as the portable pass
/// ([`sign_update`]): [`Model`](lanes::Model) writes the instructions in Rust, and `tests/int.rs` checks the
/// pass with it against the portable one; on the part, `int-m0-bench` prints the same digest
/// of the trained weights for thumbv6m (the portable loops and the Thumb-1 column of `m0`) and
/// thumbv7em (these instructions).
pub mod lanes {
    use super::{WEYL, column_pass, columns_mut};

    /// One word of a column: `v` (two weights), `f`, `q` (the rows' fractions and steps as
    /// lanes), `r` (the dither lanes, advanced), `wide` (non-zero after a wrap); returns the
    /// new word (wrapping adds).
    pub trait Word {
        /// The word's update.
        fn word(v: u32, f: u32, q: u32, r: &mut u32, wide: &mut u32) -> u32;

        /// One word of an input-layer column: `v` (two weights), `a`, `b` (the two rows'
        /// `d' << (16 − f)`, so that `a·x` holds the step in its high half and the fraction
        /// in its low half), `x`, `r`, `wide` as in [`word`](Word::word).
        #[inline(always)]
        fn product_word(v: u32, a: i32, b: i32, x: i32, r: &mut u32, wide: &mut u32) -> u32 {
            let (pa, pb) = ((a * x) as u32, (b * x) as u32);
            let f = pa & 0xFFFF | pb << 16; // PKHBT
            let q = pa >> 16 | pb & 0xFFFF_0000; // PKHTB
            Self::word(v, f, q, r, wide)
        }

        /// An input-layer column of `2·words` rows and its rows' `d' << (16 − f)`.
        #[inline(always)]
        fn product_column(col: &mut [i16], d: &[i32], x: i32, r: &mut u32, wide: &mut u32) {
            word_pairs(col, d, |v, a, b| Self::product_word(v, a, b, x, r, wide));
        }

        /// A column of `2·words` rows whose constants are `[fractions, steps]` pairs.
        #[inline(always)]
        fn column(col: &mut [i16], consts: &[i32], r: &mut u32, wide: &mut u32) {
            word_pairs(col, consts, |v, f, q| {
                Self::word(v, f as u32, q as u32, r, wide)
            });
        }
    }

    /// A column of `2·words` rows, two rows a word: `word(v, a, b)` is the new word of the
    /// word `v` (the two rows' weights) and the two rows' values `a`, `b` of `v2`.
    #[inline(always)]
    fn word_pairs(col: &mut [i16], v2: &[i32], mut word: impl FnMut(u32, i32, i32) -> u32) {
        for (pair, c) in col.chunks_exact_mut(2).zip(v2.chunks_exact(2)) {
            if let ([w0, w1], [a, b]) = (pair, c) {
                let v = u32::from(*w0 as u16) | u32::from(*w1 as u16) << 16;
                let v = word(v, *a, *b);
                (*w0, *w1) = (v as i16, (v >> 16) as i16);
            }
        }
    }

    /// [`Word`] in portable Rust: what each instruction does to the lanes.
    #[derive(Debug)]
    pub enum Model {}

    /// The lanes of `x` (low, high).
    #[inline(always)]
    fn halves(x: u32) -> (u32, u32) {
        (x & 0xFFFF, x >> 16)
    }

    impl Word for Model {
        #[inline(always)]
        fn word(v: u32, f: u32, q: u32, r: &mut u32, wide: &mut u32) -> u32 {
            *r = r.wrapping_add(WEYL); // ADD r, r, weyl
            let (rl, rh) = halves(*r);
            let ((fl, fh), (ql, qh), (vl, vh)) = (halves(f), halves(q), halves(v));
            // UADD16 (carries into GE), SADD16 q + 1, SEL: the step of each lane.
            let tl = ql + ((fl + rl) >> 16);
            let th = qh + ((fh + rh) >> 16);
            let lane = |x: u32| x as u16 as i16;
            let (sl, sh) = (
                lane(vl).wrapping_add(lane(tl)),
                lane(vh).wrapping_add(lane(th)),
            ); // SADD16 v, v, t
            let new = u32::from(sl as u16) | u32::from(sh as u16) << 16;
            *wide |= new ^ new << 1; // EOR s, v, v, LSL #1; ORR
            new
        }
    }

    /// [`Word`] with the DSP instructions.
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    #[derive(Debug)]
    pub enum Dsp {}

    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    impl Word for Dsp {
        #[inline(always)]
        fn word(v: u32, f: u32, q: u32, r: &mut u32, wide: &mut u32) -> u32 {
            let mut v = v;
            // SAFETY: register-only instructions (they set the GE flags only, read by the SEL
            // of the same block).
            unsafe {
                core::arch::asm!(
                    "sadd16 {t}, {q}, {one}",
                    "add {r}, {r}, {weyl}",
                    "uadd16 {s}, {f}, {r}",
                    "sel {t}, {t}, {q}",
                    "sadd16 {v}, {v}, {t}",
                    "eor {s}, {v}, {v}, lsl #1",
                    "orr {wide}, {wide}, {s}",
                    t = out(reg) _,
                    s = out(reg) _,
                    q = in(reg) q,
                    f = in(reg) f,
                    one = in(reg) 0x0001_0001u32,
                    weyl = in(reg) WEYL,
                    r = inout(reg) *r,
                    v = inout(reg) v,
                    wide = inout(reg) *wide,
                    options(pure, nomem, nostack),
                );
            }
            v
        }

        #[inline(always)]
        fn product_column(col: &mut [i16], d: &[i32], x: i32, r: &mut u32, wide: &mut u32) {
            Dsp::products(col, d, x, r, wide);
        }

        #[inline(always)]
        fn column(col: &mut [i16], consts: &[i32], r: &mut u32, wide: &mut u32) {
            let words = col.len() / 2;
            if words == 0 || consts.len() < 2 * words {
                return;
            }
            // SAFETY: `words` pairs of `i16` (four bytes each, unaligned word access is
            // allowed on ARMv7E-M) and `2·words` constants, checked above; the loop reads
            // and writes only those.
            unsafe {
                core::arch::asm!(
                    "tst {n}, #1",
                    "beq 3f",
                    "ldr {v}, [{p}]",
                    "ldrd {f}, {q}, [{c}], #8",
                    "sadd16 {t}, {q}, {one}",
                    "add {r}, {r}, {weyl}",
                    "uadd16 {s}, {f}, {r}",
                    "sel {t}, {t}, {q}",
                    "sadd16 {v}, {v}, {t}",
                    "eor {s}, {v}, {v}, lsl #1",
                    "orr {wide}, {wide}, {s}",
                    "str {v}, [{p}], #4",
                    "subs {n}, {n}, #1",
                    "beq 4f",
                    "3:",
                    "ldr {v}, [{p}]",
                    "ldrd {f}, {q}, [{c}], #8",
                    "sadd16 {t}, {q}, {one}",
                    "add {r}, {r}, {weyl}",
                    "uadd16 {s}, {f}, {r}",
                    "sel {t}, {t}, {q}",
                    "sadd16 {v}, {v}, {t}",
                    "eor {s}, {v}, {v}, lsl #1",
                    "orr {wide}, {wide}, {s}",
                    "str {v}, [{p}], #4",
                    "ldr {v}, [{p}]",
                    "ldrd {f}, {q}, [{c}], #8",
                    "sadd16 {t}, {q}, {one}",
                    "add {r}, {r}, {weyl}",
                    "uadd16 {s}, {f}, {r}",
                    "sel {t}, {t}, {q}",
                    "sadd16 {v}, {v}, {t}",
                    "eor {s}, {v}, {v}, lsl #1",
                    "orr {wide}, {wide}, {s}",
                    "str {v}, [{p}], #4",
                    "subs {n}, {n}, #2",
                    "bne 3b",
                    "4:",
                    v = out(reg) _,
                    f = out(reg) _,
                    q = out(reg) _,
                    t = out(reg) _,
                    s = out(reg) _,
                    one = in(reg) 0x0001_0001u32,
                    weyl = in(reg) WEYL,
                    r = inout(reg) *r,
                    wide = inout(reg) *wide,
                    p = inout(reg) col.as_mut_ptr() => _,
                    c = inout(reg) consts.as_ptr() => _,
                    n = inout(reg) words => _,
                    options(nostack),
                );
            }
        }
    }

    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    impl Dsp {
        /// [`Word::product_column`] with the DSP instructions.
        #[inline(always)]
        fn products(col: &mut [i16], d: &[i32], x: i32, r: &mut u32, wide: &mut u32) {
            let words = col.len() / 2;
            if words == 0 || d.len() < 2 * words {
                return;
            }
            // SAFETY: `words` pairs of `i16` and `2·words` values of `d`, checked above
            // (unaligned word access is allowed on ARMv7E-M); the loop touches only those.
            unsafe {
                core::arch::asm!(
                    "tst {n}, #1",
                    "beq 3f",
                    "ldrd {a}, {b}, [{dp}], #8",
                    "mul {a}, {a}, {x}",
                    "mul {b}, {b}, {x}",
                    "add {r}, {r}, {weyl}",
                    "pkhtb {q}, {b}, {a}, asr #16",
                    "pkhbt {a}, {a}, {b}, lsl #16",
                    "sadd16 {b}, {q}, {one}",
                    "uadd16 {a}, {a}, {r}",
                    "sel {b}, {b}, {q}",
                    "ldr {q}, [{p}]",
                    "sadd16 {q}, {q}, {b}",
                    "eor {a}, {q}, {q}, lsl #1",
                    "orr {wide}, {wide}, {a}",
                    "str {q}, [{p}], #4",
                    "subs {n}, {n}, #1",
                    "beq 4f",
                    "3:",
                    "ldrd {a}, {b}, [{dp}], #8",
                    "mul {a}, {a}, {x}",
                    "mul {b}, {b}, {x}",
                    "add {r}, {r}, {weyl}",
                    "pkhtb {q}, {b}, {a}, asr #16",
                    "pkhbt {a}, {a}, {b}, lsl #16",
                    "sadd16 {b}, {q}, {one}",
                    "uadd16 {a}, {a}, {r}",
                    "sel {b}, {b}, {q}",
                    "ldr {q}, [{p}]",
                    "sadd16 {q}, {q}, {b}",
                    "eor {a}, {q}, {q}, lsl #1",
                    "orr {wide}, {wide}, {a}",
                    "str {q}, [{p}], #4",
                    "ldrd {a}, {b}, [{dp}], #8",
                    "mul {a}, {a}, {x}",
                    "mul {b}, {b}, {x}",
                    "add {r}, {r}, {weyl}",
                    "pkhtb {q}, {b}, {a}, asr #16",
                    "pkhbt {a}, {a}, {b}, lsl #16",
                    "sadd16 {b}, {q}, {one}",
                    "uadd16 {a}, {a}, {r}",
                    "sel {b}, {b}, {q}",
                    "ldr {q}, [{p}]",
                    "sadd16 {q}, {q}, {b}",
                    "eor {a}, {q}, {q}, lsl #1",
                    "orr {wide}, {wide}, {a}",
                    "str {q}, [{p}], #4",
                    "subs {n}, {n}, #2",
                    "bne 3b",
                    "4:",
                    a = out(reg) _,
                    b = out(reg) _,
                    q = out(reg) _,
                    x = in(reg) x,
                    one = in(reg) 0x0001_0001u32,
                    weyl = in(reg) WEYL,
                    r = inout(reg) *r,
                    wide = inout(reg) *wide,
                    p = inout(reg) col.as_mut_ptr() => _,
                    dp = inout(reg) d.as_ptr() => _,
                    n = inout(reg) words => _,
                    options(nostack),
                );
            }
        }
    }

    /// [`input_update`](super::input_update) (`scaled` holding `d' = d >> 8`) through `K`
    /// where it applies (`f ≤ 16`, even
    /// rows, `|d'| < 2^(f+6)`: the steps stay below 2¹⁴), else portable; a layer with a
    /// weight at `|w| ≥ 4.0` after the pass is undone and left to the portable pass (same
    /// bits). With [`Model`]: the test against the portable pass.
    #[inline(always)]
    pub fn input_update<K: Word>(
        w: &mut [i16],
        b: &mut [i16],
        d: &[i32],
        scaled: &mut [i32],
        x: &[i32],
        f: u32,
        seed: u32,
    ) -> bool {
        use super::input_pass;
        let n = d.len();
        let lanes = f <= 16
            && n.is_multiple_of(2)
            && scaled.iter().all(|&s| s.unsigned_abs() < 1 << (f + 6));
        if lanes {
            let (mut flag, mut wide, mut r) = (0, 0u32, seed);
            super::product_column::<false>(b, d, 1, f, &mut r, &mut flag);
            scaled.iter_mut().for_each(|s| *s <<= 16 - f);
            for (col, &xj) in columns_mut(w, n).zip(x) {
                if xj != 0 {
                    K::product_column(col, scaled, xj, &mut r, &mut wide);
                }
            }
            scaled.iter_mut().for_each(|s| *s >>= 16 - f);
            if flag == 0 && wide & NEAR_EDGE == 0 {
                return true;
            }
            input_pass::<true>(w, b, d, scaled, x, f, seed);
            if flag != 0 {
                return false;
            }
        }
        if input_pass::<false>(w, b, d, scaled, x, f, seed) == 0 {
            return true;
        }
        input_pass::<true>(w, b, d, scaled, x, f, seed);
        false
    }

    /// Row pairs' constants as lanes: `[c_{2k}, c_{2k+1}]` becomes `[fractions, steps]`
    /// (low half row `2k`, high half row `2k + 1`); applied twice, the identity.
    #[inline(always)]
    fn repack(c: &mut [i32]) {
        for pair in c.chunks_exact_mut(2) {
            if let [a, b] = pair {
                let (x, y) = (*a as u32, *b as u32);
                *a = (x & 0xFFFF | y << 16) as i32;
                *b = (x >> 16 | y & 0xFFFF_0000) as i32;
            }
        }
    }

    /// The lanes' bits 15 of `w ^ w << 1`: a weight's top two bits differ, `|w| ≥ 4.0`.
    /// A step is at most `2¹⁴` (4.0) in size, so a wrapped weight always lands there.
    pub const NEAR_EDGE: u32 = 0x8000_8000;

    /// The pass of [`sign_update`](super::sign_update) two rows a word: (non-zero if a bias
    /// wrapped, non-zero if a weight is at `|w| ≥ 4.0` after the pass — then it may have
    /// wrapped). Needs `plus.len()` even; `plus` and `minus` are as they were on return.
    #[inline(always)]
    pub fn sign_pass<K: Word>(
        w: &mut [i16],
        b: &mut [i16],
        plus: &mut [i32],
        minus: &mut [i32],
        src: &[i32],
        seed: u32,
    ) -> (i32, u32) {
        let n = plus.len();
        let mut flag = 0;
        let mut r = seed;
        column_pass::<false>(b, plus, &mut r, &mut flag);
        repack(plus);
        repack(minus);
        let mut wide = 0u32;
        for (col, &s) in columns_mut(w, n).zip(src) {
            let consts: &[i32] = if s >= 0 { plus } else { minus };
            K::column(col, consts, &mut r, &mut wide);
        }
        repack(plus);
        repack(minus);
        (flag, wide & NEAR_EDGE)
    }

    /// [`sign_update`](super::sign_update) through `K`'s pass (the undoing and the check
    /// of a layer with a weight at `|w| ≥ 4.0` portable): what the M4 runs, and with
    /// [`Model`] the test against the portable pass.
    #[inline(always)]
    pub fn sign_update<K: Word>(
        w: &mut [i16],
        b: &mut [i16],
        plus: &mut [i32],
        minus: &mut [i32],
        src: &[i32],
        seed: u32,
    ) -> bool {
        if !plus.len().is_multiple_of(2) {
            return super::sign_pass::<false>(w, b, plus, minus, src, seed) == 0
                || undo(w, b, plus, minus, src, seed);
        }
        let (wrapped, near) = sign_pass::<K>(w, b, plus, minus, src, seed);
        if wrapped == 0 && near == 0 {
            return true;
        }
        // A weight at |w| ≥ 4.0: undo, and the portable pass decides (same bits).
        super::sign_pass::<true>(w, b, plus, minus, src, seed);
        wrapped == 0
            && (super::sign_pass::<false>(w, b, plus, minus, src, seed) == 0
                || undo(w, b, plus, minus, src, seed))
    }

    /// Undoes the portable pass; `false`.
    #[inline(always)]
    fn undo(
        w: &mut [i16],
        b: &mut [i16],
        plus: &[i32],
        minus: &[i32],
        src: &[i32],
        seed: u32,
    ) -> bool {
        super::sign_pass::<true>(w, b, plus, minus, src, seed);
        false
    }
}

/// The fraction of `v / 2^f` in the high 16 bits (its top 16 bits; the low half zero).
#[inline(always)]
fn fraction_high(v: i32, f: u32) -> u32 {
    if f <= 16 {
        (v as u32) << (32 - f)
    } else {
        ((v >> (f - 16)) as u32) << 16
    }
}

/// `⌊v / 2^f⌋`, plus one when the fraction plus the dither half `r` (high 16 bits) carries.
#[inline(always)]
fn rounded_value(v: i32, f: u32, r: u32) -> i32 {
    let (_, carry) = fraction_high(v, f).overflowing_add(r);
    (v >> f) + carry as i32
}

/// One column of the input layer (or its bias, `x = 1`): `W_ij += ⌊(d_i·x + R)/2^f⌋`, rows
/// in pairs on one dither word as in [`sign_update`].
#[inline(always)]
pub(crate) fn product_column<const UNDO: bool>(
    col: &mut [i16],
    d: &[i32],
    x: i32,
    f: u32,
    r: &mut u32,
    flag: &mut i32,
) {
    let mut rows = col.iter_mut().zip(d);
    while let Some((w, &di)) = rows.next() {
        *r = r.wrapping_add(WEYL);
        *w = apply::<UNDO>(*w, rounded_value(di * x, f, *r << 16), flag);
        let Some((w, &di)) = rows.next() else {
            break;
        };
        *w = apply::<UNDO>(*w, rounded_value(di * x, f, *r), flag);
    }
}

/// SGD on the input layer: `W_ij += ⌊(d'_i·x_j + R)/2^f⌋` with `d' = d >> 8` (`x` in Q8,
/// `|d'·x| < 2³⁰`), `b_i += ⌊(d_i + R)/2^f⌋`, `R` from the dither word seeded by `seed` as in
/// [`sign_update`] (the bias, then the columns of non-zero inputs; zero inputs are skipped, their
/// update is 0 exactly). The expectation is exact for `f ≤ 16`, within `2⁻¹⁶` LSB below it
/// above. `scaled` receives `d'`. Returns `false`, with the layer as before, if any weight
/// would leave `i16` (as [`sign_update`]). On the M4 with `f ≤ 16`, even rows and
/// `|d'| < 2^(f+7)`: two rows a word ([`lanes`]; same bits).
#[inline(always)]
pub fn input_update(
    w: &mut [i16],
    b: &mut [i16],
    d: &[i32],
    scaled: &mut [i32],
    x: &[i32],
    f: u32,
    seed: u32,
) -> bool {
    for (s, &di) in scaled.iter_mut().zip(d) {
        *s = di >> 8;
    }
    let n = d.len();
    let Some(scaled) = scaled.get_mut(..n) else {
        return false;
    };
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        lanes::input_update::<lanes::Dsp>(w, b, d, scaled, x, f, seed)
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        if input_pass::<false>(w, b, d, scaled, x, f, seed) == 0 {
            return true;
        }
        input_pass::<true>(w, b, d, scaled, x, f, seed);
        false
    }
}

/// The portable pass of [`input_update`] (and its undoing): non-zero `flag` if a value
/// wrapped.
#[inline(always)]
pub(crate) fn input_pass<const UNDO: bool>(
    w: &mut [i16],
    b: &mut [i16],
    d: &[i32],
    scaled: &[i32],
    x: &[i32],
    f: u32,
    seed: u32,
) -> i32 {
    let n = d.len();
    let mut flag = 0;
    let mut r = seed;
    product_column::<UNDO>(b, d, 1, f, &mut r, &mut flag);
    for (col, &xj) in columns_mut(w, n).zip(x) {
        if xj != 0 {
            product_column::<UNDO>(col, scaled, xj, f, &mut r, &mut flag);
        }
    }
    flag
}
