//! The five steps of DTP (Lee et al. 2015, arXiv:1412.7525, §2–3) in integer arithmetic, one
//! function each, over the arenas of a [`Storage`](super::Storage). Notation as in
//! [`Trainer`](crate::Trainer): `h_0 = x`, hidden layers `h_i = tanh(W_i q(h_{i−1}) + b_i)` for
//! `i = 1 … M−1` with `q(h_0) = x` and `q = sign` above, `p = softmax(W_M q(h_{M−1}) + b_M)`,
//! inverses `g_i(h_i) = tanh(V_i q(h_i) + c_i)` for `i = 2 … M−1`, targets `ĥ_i`.
//! Formats: [`format`](super::format). One sample a step.

use super::format::{Fx, Pre};
use super::kernel::{
    column_dots, columns, input_gemv, input_update, row_constants, sign_gemv, sign_update,
};
use super::net::Shape;
use super::noise::{Dither, Noise};
use super::settings::{Rate, Scale};
use super::table::{softmax, tanh, tanh_derivative};
use crate::error::{Error, Stage};
use core::ops::Range;
use rand_core::Rng;

/// The largest target and delta magnitudes (Q14): `ĥ ∈ [−2, 2]`, `δ ∈ [−3, 3]`.
const TARGET_LIMIT: i32 = 2 << 14;
const DELTA_LIMIT: i32 = 3 << 14;

/// One network's arenas, as the steps see them.
pub(crate) struct View<'a> {
    pub s: Shape<'a>,
    pub p: &'a mut [i16],
    pub b: &'a mut [i32],
}

fn overflow(stage: Stage, layer: usize) -> Error {
    Error::Overflow {
        stage,
        layer: layer as u16,
    }
}

/// The arenas do not match the widths: impossible through [`Arrays::new`](super::Arrays::new)
/// and `Vectors::new`; every access is checked (no panic path) and this is what a failed one
/// returns.
const SHAPE: Error = Error::Overflow {
    stage: Stage::Forward,
    layer: 0,
};

/// `len` values of `s` from `at`.
#[inline(always)]
fn part<T>(s: &[T], at: usize, len: usize) -> Result<&[T], Error> {
    s.get(at..at.wrapping_add(len)).ok_or(SHAPE)
}

/// `len` values of `s` from `at`, to write.
#[inline(always)]
fn part_mut<T>(s: &mut [T], at: usize, len: usize) -> Result<&mut [T], Error> {
    s.get_mut(at..at.wrapping_add(len)).ok_or(SHAPE)
}

/// A range of `s`.
#[inline(always)]
fn range<T>(s: &[T], r: Range<usize>) -> Result<&[T], Error> {
    s.get(r).ok_or(SHAPE)
}

/// `s` split at `at`.
#[inline(always)]
fn split<T>(s: &mut [T], at: usize) -> Result<(&mut [T], &mut [T]), Error> {
    s.split_at_mut_checked(at).ok_or(SHAPE)
}

/// `δ = (h − ĥ)(1 − h²)` in Q14, clamped to `±3` (`|h − ĥ| ≤ 3`: the product is below 2³¹),
/// times `−mul`: the descent step `d = −mul·δ` of a unit (`|d| < 2³⁰` for `mul ≤ 2¹⁴`).
#[inline(always)]
fn descent(h: i32, target: i32, mul: i32) -> i32 {
    let delta = ((h - target) * tanh_derivative(Fx(h)).0) >> 14;
    -delta.clamp(-DELTA_LIMIT, DELTA_LIMIT) * mul
}

/// **Step 1 — forward pass**: `h_1 = tanh(W_1 x + b_1)`, `h_i = tanh(W_i sign(h_{i−1}) + b_i)`,
/// `p = softmax(W_M sign(h_{M−1}) + b_M)`; returns `(argmax p, 1 − p_label)` (Q15).
///
/// Refuses an input outside `[−1, 1]` (Q8: `|x| ≤ 256`) or a label outside the outputs
/// ([`Error::Overflow`] at [`Stage::Input`] / [`Stage::Labels`]) and an input-layer sum leaving
/// `i32` (only possible above 254 inputs; [`Stage::Forward`], layer 1).
pub(crate) fn forward(v: &mut View<'_>, label: usize) -> Result<(usize, u32), Error> {
    let s = v.s;
    let m = s.m();
    if part(v.b, 0, s.w(0))?.iter().any(|x| x.unsigned_abs() > 256) {
        return Err(overflow(Stage::Input, 0));
    }
    if label >= s.w(m) {
        return Err(overflow(Stage::Labels, 0));
    }
    // Layer 1 reads x (Q8): Q20 sums, then Q12 (floor) into tanh.
    let (w, b) = s.forward(1);
    let (x, above) = split(v.b, s.h(1))?;
    let (h1, rest) = split(above, s.w(1))?;
    let tmp = part_mut(rest, s.scratch(2) - s.h(1) - s.w(1), s.widest())?;
    if !input_gemv(range(v.p, w)?, range(v.p, b)?, x, h1, tmp) {
        return Err(overflow(Stage::Forward, 1));
    }
    for a in h1.iter_mut() {
        *a = tanh(Pre::from_q20(*a)).0;
    }
    // Hidden layers 2 … M−1 read signs.
    for i in 2..m {
        let (w, b) = s.forward(i);
        let (below, above) = split(v.b, s.h(i))?;
        let src = part(below, s.h(i - 1), s.w(i - 1))?;
        let (h, rest) = split(above, s.w(i))?;
        let pre = part_mut(rest, s.pre(i) - s.h(i) - s.w(i), s.w(i))?;
        sign_gemv(range(v.p, w)?, range(v.p, b)?, src, pre);
        for (hj, &a) in h.iter_mut().zip(pre.iter()) {
            *hj = tanh(Fx(a)).0;
        }
    }
    // Output: logits into δ_M's place, probabilities into p.
    let (w, b) = s.forward(m);
    let (below, above) = split(v.b, s.p())?;
    let src = part(below, s.h(m - 1), s.w(m - 1))?;
    let (p, rest) = split(above, s.w(m))?;
    let z = part_mut(rest, 0, s.w(m))?;
    sign_gemv(range(v.p, w)?, range(v.p, b)?, src, z);
    let best = softmax(z, p);
    let p_label = p.get(label).copied().ok_or(SHAPE)?;
    Ok((best, ((1 << 15) - p_label).max(0) as u32))
}

impl Pre {
    /// A Q20 sum as Q12 (floor).
    #[inline(always)]
    fn from_q20(a: i32) -> Pre {
        Fx(a >> 8)
    }
}

/// **Step 2 — top target**: `ĥ_{M−1} = h_{M−1} − η̂ ∂L/∂q(h_{M−1})` with
/// `∂L/∂q(h_{M−1}) = W_Mᵀ δ_M`, `δ_M = p − t` (one-hot `t`; Q15, kept as Q14 for step 5),
/// `η̂ = mul · 2^−shift`. `Σ_k |δ_k| ≤ 2`, so `|W_Mᵀ δ_M| ≤ 2³⁰` in Q26; `ĥ` clamped to
/// `[−2, 2]`. With `η̂ = 0`, `ĥ_{M−1} = h_{M−1}` bit for bit.
pub(crate) fn top_target(v: &mut View<'_>, label: usize, eta: Scale) -> Result<(), Error> {
    let s = v.s;
    let m = s.m();
    let (below, above) = split(v.b, s.p())?;
    let (p, rest) = split(above, s.w(m))?;
    let delta = part_mut(rest, 0, s.w(m))?;
    for (k, (d, &pk)) in delta.iter_mut().zip(p.iter()).enumerate() {
        let t = if k == label { 1 << 15 } else { 0 };
        *d = (pk - t) >> 1;
    }
    let (w, _) = s.forward(m);
    let (hidden, targets) = split(below, s.target(m - 1))?;
    let h = part(hidden, s.h(m - 1), s.w(m - 1))?;
    let target = part_mut(targets, 0, s.w(m - 1))?;
    let (mul, shift) = (eta.mul as i32, eta.shift as u32);
    column_dots(range(v.p, w)?, delta, target);
    for (&hj, tj) in h.iter().zip(target.iter_mut()) {
        let g = *tj;
        let step = ((g >> 12) * mul) >> shift;
        *tj = (hj - step).clamp(-TARGET_LIMIT, TARGET_LIMIT);
    }
    Ok(())
}

/// **Step 3 — difference targets**, downward for `i = M−1 … 2`:
/// `ĥ_{i−1} = h_{i−1} + g_i(ĥ_i) − g_i(h_i)`, clamped to `[−2, 2]`.
///
/// `g_i` reads signs, so `V_i sign(ĥ_i) = V_i sign(h_i) + Σ_{j flipped} 2 sign(ĥ_ij) V_i[:, j]`:
/// one full product and a column per flipped unit. No unit flipped: `ĥ_{i−1} = h_{i−1}`
/// exactly (copied).
pub(crate) fn difference_targets(v: &mut View<'_>) -> Result<(), Error> {
    let s = v.s;
    for i in (2..s.m()).rev() {
        let (above, below) = (s.w(i), s.w(i - 1));
        let (vr, cr) = s.inverse(i);
        let (lo, hi) = split(v.b, s.target(i))?;
        let (hidden, lower_target) = split(lo, s.target(i - 1))?;
        let lower_target = part_mut(lower_target, 0, below)?;
        let (targets, scratch) = split(hi, s.scratch(0) - s.target(i))?;
        let target = part(targets, 0, above)?;
        let h = part(hidden, s.h(i), above)?;
        let h_below = part(hidden, s.h(i - 1), below)?;
        let flipped = |(&t, &h): (&i32, &i32)| (t >= 0) != (h >= 0);
        if !target.iter().zip(h).any(flipped) {
            for (t, &h) in lower_target.iter_mut().zip(h_below) {
                *t = h;
            }
            continue;
        }
        let (g_h, rest) = split(scratch, s.widest())?;
        let (g_h, g_t) = (part_mut(g_h, 0, below)?, part_mut(rest, 0, below)?);
        let vm = range(v.p, vr)?;
        sign_gemv(vm, range(v.p, cr)?, h, g_h);
        for (t, &g) in g_t.iter_mut().zip(g_h.iter()) {
            *t = g;
        }
        for ((col, &t), &hj) in columns(vm, below).zip(target).zip(h) {
            if (t >= 0) == (hj >= 0) {
                continue;
            }
            if t >= 0 {
                g_t.iter_mut()
                    .zip(col)
                    .for_each(|(a, &c)| *a += 2 * c as i32);
            } else {
                g_t.iter_mut()
                    .zip(col)
                    .for_each(|(a, &c)| *a -= 2 * c as i32);
            }
        }
        for ((lt, &hb), (&at, &ah)) in lower_target
            .iter_mut()
            .zip(h_below)
            .zip(g_t.iter().zip(g_h.iter()))
        {
            let diff = tanh(Fx(at)).0 - tanh(Fx(ah)).0;
            *lt = (hb + diff).clamp(-TARGET_LIMIT, TARGET_LIMIT);
        }
    }
    Ok(())
}

/// **Step 4 — inverse step**, for `i = 2 … M−1`: corrupt `h̃ = h_{i−1} + ε` ([`Noise`], one
/// draw a unit), `y = f_i(h̃) = tanh(W_i sign(h̃) + b_i)` (from step 1's `a_i` and the columns
/// whose sign the noise flipped), `r = g_i(y) = tanh(V_i sign(y) + c_i)`,
/// and an SGD step on `½‖r − h̃‖²` for `(V_i, c_i)`: `δ = (r − h̃)(1 − r²)` (clamped to ±3),
/// `V_i −= lr δ sign(y)ᵀ`, `c_i −= lr δ`, rounded stochastically (one dither word drawn a
/// layer). If a weight would leave `[−8, 8)`, that inverse keeps its values from before the
/// update and the step returns [`Error::Overflow`] at [`Stage::InverseWeights`].
pub(crate) fn inverse_step<G: Rng + ?Sized>(
    v: &mut View<'_>,
    noise: Noise,
    rate: Rate,
    rng: &mut G,
) -> Result<(), Error> {
    let s = v.s;
    let widest = s.widest();
    for i in 2..s.m() {
        let (above, below) = (s.w(i), s.w(i - 1));
        let (lo, scratch) = split(v.b, s.scratch(0))?;
        let h_below = part(lo, s.h(i - 1), below)?;
        let (corrupt, rest) = split(scratch, widest)?;
        let (y, r) = split(rest, widest)?;
        let corrupt = part_mut(corrupt, 0, below)?;
        let (y, r) = (part_mut(y, 0, above)?, part_mut(r, 0, below)?);
        for (c, &h) in corrupt.iter_mut().zip(h_below) {
            *c = h + noise.sample(rng);
        }
        // W_i sign(h̃) + b_i = a_i + Σ_{j: sign(h̃_j) ≠ sign(h_{i−1,j})} 2 sign(h̃_j) W_i[:, j]
        // (integer sums: the same bits as the full product).
        let (wr, _) = s.forward(i);
        for (yk, &a) in y.iter_mut().zip(part(lo, s.pre(i), above)?) {
            *yk = a;
        }
        let wm = range(v.p, wr)?;
        for ((col, &c), &h) in columns(wm, above).zip(corrupt.iter()).zip(h_below) {
            if (c >= 0) == (h >= 0) {
                continue;
            }
            if c >= 0 {
                y.iter_mut().zip(col).for_each(|(a, &w)| *a += 2 * w as i32);
            } else {
                y.iter_mut().zip(col).for_each(|(a, &w)| *a -= 2 * w as i32);
            }
        }
        y.iter_mut().for_each(|a| *a = tanh(Fx(*a)).0);
        let (vr, cr) = s.inverse(i);
        sign_gemv(range(v.p, vr.clone())?, range(v.p, cr.clone())?, y, r);
        let mul = rate.mul as i32;
        for (rk, &ck) in r.iter_mut().zip(corrupt.iter()) {
            let out = tanh(Fx(*rk)).0;
            let delta = ((out - ck) * tanh_derivative(Fx(out)).0) >> 14;
            *rk = -delta.clamp(-DELTA_LIMIT, DELTA_LIMIT) * mul;
        }
        let seed = rng.next_u32();
        let (params, c) = split(v.p, cr.start)?;
        let (vm, c) = (range_mut(params, vr)?, part_mut(c, 0, below)?);
        if !(row_constants(r, corrupt, rate.shift as u32 + 2)
            && sign_update(vm, c, r, corrupt, y, seed))
        {
            return Err(overflow(Stage::InverseWeights, i));
        }
    }
    Ok(())
}

/// A range of `s`, to write.
#[inline(always)]
fn range_mut<T>(s: &mut [T], r: Range<usize>) -> Result<&mut [T], Error> {
    s.get_mut(r).ok_or(SHAPE)
}

/// **Step 5 — forward step**: for each hidden layer `i = 1 … M−1` an SGD step on
/// `½‖h_i − ĥ_i‖²` through `tanh`: `δ_i = (h_i − ĥ_i)(1 − h_i²)` (clamped to ±3),
/// `W_i −= lr δ_i q(h_{i−1})ᵀ`, `b_i −= lr δ_i` (a layer whose `δ` is all zero is skipped: its
/// update is 0 exactly); for the output layer a step on `L`: `W_M −= lr_M δ_M sign(h_{M−1})ᵀ`,
/// `b_M −= lr_M δ_M` with `δ_M = p − t` from step 2. Rounded stochastically from `dither`. If
/// a weight would leave `[−8, 8)`, that layer keeps its values from before the update and the
/// step returns [`Error::Overflow`] at [`Stage::ForwardWeights`] (the layers below it are
/// updated).
pub(crate) fn forward_step(
    v: &mut View<'_>,
    hidden: Rate,
    output: Rate,
    dither: &mut Dither,
) -> Result<(), Error> {
    let s = v.s;
    let (m, widest) = (s.m(), s.widest());
    for i in 1..m {
        let (lo, scratch) = split(v.b, s.scratch(0))?;
        let (d, scaled) = split(scratch, widest)?;
        let d = part_mut(d, 0, s.w(i))?;
        let (h, t) = (part(lo, s.h(i), s.w(i))?, part(lo, s.target(i), s.w(i))?);
        let mut any = 0;
        for ((dj, &hj), &tj) in d.iter_mut().zip(h).zip(t) {
            *dj = descent(hj, tj, hidden.mul as i32);
            any |= *dj;
        }
        if any == 0 {
            continue;
        }
        let (wr, br) = s.forward(i);
        let (params, b) = split(v.p, br.start)?;
        let (wm, bm) = (range_mut(params, wr)?, part_mut(b, 0, s.w(i))?);
        let f = hidden.shift as u32 + 2;
        let src = part(lo, s.h(i - 1), s.w(i - 1))?;
        let fits = if i == 1 {
            input_update(wm, bm, d, scaled, src, f, dither.word())
        } else {
            let minus = part_mut(scaled, 0, s.w(i))?;
            row_constants(d, minus, f) && sign_update(wm, bm, d, minus, src, dither.word())
        };
        if !fits {
            return Err(overflow(Stage::ForwardWeights, i));
        }
    }
    let (lo, scratch) = split(v.b, s.scratch(0))?;
    let (d, minus) = split(scratch, widest)?;
    let (d, minus) = (part_mut(d, 0, s.w(m))?, part_mut(minus, 0, s.w(m))?);
    let delta = part(lo, s.p() + s.w(m), s.w(m))?;
    for (dk, &e) in d.iter_mut().zip(delta) {
        *dk = -e * output.mul as i32;
    }
    let (wr, br) = s.forward(m);
    let (params, b) = split(v.p, br.start)?;
    let (wm, bm) = (range_mut(params, wr)?, part_mut(b, 0, s.w(m))?);
    let src = part(lo, s.h(m - 1), s.w(m - 1))?;
    if !(row_constants(d, minus, output.shift as u32 + 2)
        && sign_update(wm, bm, d, minus, src, dither.word()))
    {
        return Err(overflow(Stage::ForwardWeights, m));
    }
    Ok(())
}
