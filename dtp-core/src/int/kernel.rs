//! The integer step's loops: a layer's product with sign (±1) inputs as adds and subtracts of
//! weight columns, the input layer's multiply-accumulate, and the SGD updates of both kinds
//! with stochastic rounding. Each is one function, inlined into its step; `i32` throughout,
//! no `i64`, no division.
//!
//! Matrices are column-major `n_out × n_in` (`w[j·n_out + i]` is `W_ij`), `src` holds what
//! the layer reads from (its sign: `src_j ≥ 0` reads +1, else −1).

use super::noise::Dither;

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
    for (col, &s) in columns(w, n).zip(src) {
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

/// SGD on a layer reading signs: `W_ij += (sign(src_j)·d_i + r) >> f`, `b_i += (d_i + r) >> f`
/// with `d = −lr·δ` pre-scaled (`|d| < 2³⁰`), `r` the dither on `[0, 2^f)` (`f ≤ 30`).
///
/// Returns `false`, with every weight and bias as before the call, if any would leave `i16`:
/// the pass is replayed from the same dither and its wrapping adds undone (only then: the
/// common path stores and checks, no clamp).
#[inline(always)]
pub fn sign_update(
    w: &mut [i16],
    b: &mut [i16],
    d: &[i32],
    src: &[i32],
    f: u32,
    dither: &mut Dither,
) -> bool {
    let start = *dither;
    if sign_pass::<false>(w, b, d, src, f, dither) == 0 {
        return true;
    }
    let mut again = start;
    sign_pass::<true>(w, b, d, src, f, &mut again);
    false
}

#[inline(always)]
fn sign_pass<const UNDO: bool>(
    w: &mut [i16],
    b: &mut [i16],
    d: &[i32],
    src: &[i32],
    f: u32,
    dither: &mut Dither,
) -> i32 {
    let n = d.len();
    let mut flag = 0;
    for (bi, &di) in b.iter_mut().zip(d) {
        *bi = apply::<UNDO>(*bi, (di + dither.next(f)) >> f, &mut flag);
    }
    for (col, &s) in columns_mut(w, n).zip(src) {
        if s >= 0 {
            for (wi, &di) in col.iter_mut().zip(d) {
                *wi = apply::<UNDO>(*wi, (di + dither.next(f)) >> f, &mut flag);
            }
        } else {
            for (wi, &di) in col.iter_mut().zip(d) {
                *wi = apply::<UNDO>(*wi, (dither.next(f) - di) >> f, &mut flag);
            }
        }
    }
    flag
}

/// SGD on the input layer: `W_ij += (d'_i·x_j + r) >> f` with `d' = d >> 8` (`x` in Q8,
/// `|d'·x| < 2³⁰`), `b_i += (d_i + r) >> f`; zero inputs are skipped (their update is 0
/// exactly, `r < 2^f`). `scaled` receives `d'`. Returns `false`, with the layer as before,
/// if any weight would leave `i16` (as [`sign_update`]).
#[inline(always)]
pub fn input_update(
    w: &mut [i16],
    b: &mut [i16],
    d: &[i32],
    scaled: &mut [i32],
    x: &[i32],
    f: u32,
    dither: &mut Dither,
) -> bool {
    for (s, &di) in scaled.iter_mut().zip(d) {
        *s = di >> 8;
    }
    let scaled = scaled.get(..d.len()).unwrap_or(scaled);
    let start = *dither;
    if input_pass::<false>(w, b, d, scaled, x, f, dither) == 0 {
        return true;
    }
    let mut again = start;
    input_pass::<true>(w, b, d, scaled, x, f, &mut again);
    false
}

#[inline(always)]
fn input_pass<const UNDO: bool>(
    w: &mut [i16],
    b: &mut [i16],
    d: &[i32],
    scaled: &[i32],
    x: &[i32],
    f: u32,
    dither: &mut Dither,
) -> i32 {
    let n = d.len();
    let mut flag = 0;
    for (bi, &di) in b.iter_mut().zip(d) {
        *bi = apply::<UNDO>(*bi, (di + dither.next(f)) >> f, &mut flag);
    }
    for (col, &xj) in columns_mut(w, n).zip(x) {
        if xj != 0 {
            for (wi, &di) in col.iter_mut().zip(scaled) {
                *wi = apply::<UNDO>(*wi, (di * xj + dither.next(f)) >> f, &mut flag);
            }
        }
    }
    flag
}
