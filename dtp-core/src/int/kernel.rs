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
        let tmp = &mut tmp[..n];
        tmp.fill(0);
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

/// `v` as `i16`, clamped; records a clamp in `flag` (non-zero after any).
#[inline(always)]
fn saturate(v: i32, flag: &mut i32) -> i16 {
    let c = v.clamp(i16::MIN as i32, i16::MAX as i32);
    *flag |= c ^ v;
    c as i16
}

/// SGD on a layer reading signs: `W_ij += (sign(src_j)·d_i + r) >> f`, `b_i += (d_i + r) >> f`
/// with `d = −lr·δ` pre-scaled (`|d| < 2³⁰`), `r` the dither on `[0, 2^f)` (`f ≤ 30`).
/// Weights that would leave `i16` are clamped; returns whether any was.
#[inline(always)]
pub fn sign_update(
    w: &mut [i16],
    b: &mut [i16],
    d: &[i32],
    src: &[i32],
    f: u32,
    dither: &mut Dither,
) -> bool {
    let n = d.len();
    let mut flag = 0;
    for (bi, &di) in b.iter_mut().zip(d) {
        *bi = saturate(*bi as i32 + ((di + dither.next(f)) >> f), &mut flag);
    }
    for (col, &s) in columns_mut(w, n).zip(src) {
        if s >= 0 {
            for (wi, &di) in col.iter_mut().zip(d) {
                *wi = saturate(*wi as i32 + ((di + dither.next(f)) >> f), &mut flag);
            }
        } else {
            for (wi, &di) in col.iter_mut().zip(d) {
                *wi = saturate(*wi as i32 + ((dither.next(f) - di) >> f), &mut flag);
            }
        }
    }
    flag != 0
}

/// SGD on the input layer: `W_ij += (d'_i·x_j + r) >> f` with `d' = d >> 8` (`x` in Q8,
/// `|d'·x| < 2³⁰`), `b_i += (d_i + r) >> f`; zero inputs are skipped (their update is 0
/// exactly, `r < 2^f`). `scaled` receives `d'`. Returns whether any weight was clamped.
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
    let n = d.len();
    let mut flag = 0;
    for ((bi, &di), s) in b.iter_mut().zip(d).zip(scaled.iter_mut()) {
        *bi = saturate(*bi as i32 + ((di + dither.next(f)) >> f), &mut flag);
        *s = di >> 8;
    }
    let scaled = &scaled[..n];
    for (col, &xj) in columns_mut(w, n).zip(x) {
        if xj != 0 {
            for (wi, &di) in col.iter_mut().zip(scaled) {
                *wi = saturate(*wi as i32 + ((di * xj + dither.next(f)) >> f), &mut flag);
            }
        }
    }
    flag != 0
}
