//! The five steps of DTP (Lee et al. 2015, arXiv:1412.7525, §2–3) in integer arithmetic, one
//! function each, over the arenas of a [`Storage`](super::Storage). Notation as in
//! [`crate::dtp`]: `h_0 = x`, hidden layers `h_i = tanh(W_i q(h_{i−1}) + b_i)` for
//! `i = 1 … M−1` with `q(h_0) = x` and `q = sign` above, `p = softmax(W_M q(h_{M−1}) + b_M)`,
//! inverses `g_i(h_i) = tanh(V_i q(h_i) + c_i)` for `i = 2 … M−1`, targets `ĥ_i`.
//! Formats: [`format`](super::format). One sample a step.

use super::format::{Fx, Pre};
use super::kernel::{columns, input_gemv, input_update, sign_gemv, sign_update};
use super::net::Shape;
use super::noise::{Dither, Noise};
use super::settings::{Rate, Scale};
use super::table::{softmax, tanh, tanh_derivative};
use crate::error::{Error, Stage};
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
    let (s, n) = (v.s, v.s.n);
    let m = s.m();
    if v.b[..n[0]].iter().any(|x| x.unsigned_abs() > 256) {
        return Err(overflow(Stage::Input, 0));
    }
    if label >= n[m] {
        return Err(overflow(Stage::Labels, 0));
    }
    // Layer 1 reads x (Q8): Q20 sums, then Q12 (floor) into tanh.
    let (w, b) = s.forward(1);
    let (x, above) = v.b.split_at_mut(s.h(1));
    let (h1, rest) = above.split_at_mut(n[1]);
    let tmp = &mut rest[s.scratch(2) - s.h(1) - n[1]..];
    if !input_gemv(&v.p[w], &v.p[b], x, h1, tmp) {
        return Err(overflow(Stage::Forward, 1));
    }
    for a in h1.iter_mut() {
        *a = tanh(Pre::from_q20(*a)).0;
    }
    // Hidden layers 2 … M−1 read signs.
    for i in 2..m {
        let (w, b) = s.forward(i);
        let (below, above) = v.b.split_at_mut(s.h(i));
        let (src, acc) = (&below[s.h(i - 1)..], &mut above[..n[i]]);
        sign_gemv(&v.p[w], &v.p[b], src, acc);
        for a in acc.iter_mut() {
            *a = tanh(Fx(*a)).0;
        }
    }
    // Output: logits into δ_M's place, probabilities into p.
    let (w, b) = s.forward(m);
    let (below, above) = v.b.split_at_mut(s.p());
    let src = &below[s.h(m - 1)..s.h(m - 1) + n[m - 1]];
    let (p, rest) = above.split_at_mut(n[m]);
    let z = &mut rest[..n[m]];
    sign_gemv(&v.p[w], &v.p[b], src, z);
    let best = softmax(z, p);
    Ok((best, (1 << 15) - p[label] as u32))
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
pub(crate) fn top_target(v: &mut View<'_>, label: usize, eta: Scale) {
    let (s, n) = (v.s, v.s.n);
    let m = s.m();
    let (below, above) = v.b.split_at_mut(s.p());
    let (p, rest) = above.split_at_mut(n[m]);
    let delta = &mut rest[..n[m]];
    for (k, (d, &pk)) in delta.iter_mut().zip(p.iter()).enumerate() {
        let t = if k == label { 1 << 15 } else { 0 };
        *d = (pk - t) >> 1;
    }
    let (w, _) = s.forward(m);
    let (h, t) = (s.h(m - 1), s.target(m - 1));
    let (hidden, targets) = below.split_at_mut(t);
    let (h, target) = (&hidden[h..h + n[m - 1]], &mut targets[..n[m - 1]]);
    let (mul, shift) = (eta.mul as i32, eta.shift as u32);
    for ((col, &hj), tj) in columns(&v.p[w], n[m]).zip(h).zip(target.iter_mut()) {
        let mut g = 0i32;
        for (&wk, &dk) in col.iter().zip(delta.iter()) {
            g += wk as i32 * dk;
        }
        let step = ((g >> 12) * mul) >> shift;
        *tj = (hj - step).clamp(-TARGET_LIMIT, TARGET_LIMIT);
    }
}

/// **Step 3 — difference targets**, downward for `i = M−1 … 2`:
/// `ĥ_{i−1} = h_{i−1} + g_i(ĥ_i) − g_i(h_i)`, clamped to `[−2, 2]`.
///
/// `g_i` reads signs, so `V_i sign(ĥ_i) = V_i sign(h_i) + Σ_{j flipped} 2 sign(ĥ_ij) V_i[:, j]`:
/// one full product and a column per flipped unit. No unit flipped: `ĥ_{i−1} = h_{i−1}`
/// exactly (copied).
pub(crate) fn difference_targets(v: &mut View<'_>) {
    let (s, n) = (v.s, v.s.n);
    for i in (2..s.m()).rev() {
        let (vr, cr) = s.inverse(i);
        let (lo, hi) = v.b.split_at_mut(s.target(i));
        let (hidden, lower_target) = lo.split_at_mut(s.target(i - 1));
        let lower_target = &mut lower_target[..n[i - 1]];
        let (targets, scratch) = hi.split_at_mut(s.scratch(0) - s.target(i));
        let target = &targets[..n[i]];
        let h = &hidden[s.h(i)..s.h(i) + n[i]];
        let h_below = &hidden[s.h(i - 1)..s.h(i - 1) + n[i - 1]];
        let flipped = |(&t, &h): (&i32, &i32)| (t >= 0) != (h >= 0);
        if !target.iter().zip(h).any(flipped) {
            lower_target.copy_from_slice(h_below);
            continue;
        }
        let w = s.widest();
        let (g_h, rest) = scratch.split_at_mut(w);
        let (g_h, g_t) = (&mut g_h[..n[i - 1]], &mut rest[..n[i - 1]]);
        sign_gemv(&v.p[vr.clone()], &v.p[cr], h, g_h);
        g_t.copy_from_slice(g_h);
        for ((col, &t), &hj) in columns(&v.p[vr], n[i - 1]).zip(target).zip(h) {
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
}

/// **Step 4 — inverse step**, for `i = 2 … M−1`: corrupt `h̃ = h_{i−1} + ε` ([`Noise`], one
/// draw a unit), `y = f_i(h̃) = tanh(W_i sign(h̃) + b_i)`, `r = g_i(y) = tanh(V_i sign(y) + c_i)`,
/// and an SGD step on `½‖r − h̃‖²` for `(V_i, c_i)`: `δ = (r − h̃)(1 − r²)` (clamped to ±3),
/// `V_i −= lr δ sign(y)ᵀ`, `c_i −= lr δ`, rounded stochastically (one dither seed drawn a
/// layer). If a weight would leave `[−8, 8)`, that inverse keeps its values from before the
/// update and the step returns [`Error::Overflow`] at [`Stage::InverseWeights`].
pub(crate) fn inverse_step<G: Rng + ?Sized>(
    v: &mut View<'_>,
    noise: Noise,
    rate: Rate,
    rng: &mut G,
) -> Result<(), Error> {
    let (s, n) = (v.s, v.s.n);
    let w = s.widest();
    for i in 2..s.m() {
        let (lo, scratch) = v.b.split_at_mut(s.scratch(0));
        let h_below = &lo[s.h(i - 1)..s.h(i - 1) + n[i - 1]];
        let (corrupt, rest) = scratch.split_at_mut(w);
        let (y, r) = rest.split_at_mut(w);
        let (corrupt, y, r) = (&mut corrupt[..n[i - 1]], &mut y[..n[i]], &mut r[..n[i - 1]]);
        for (c, &h) in corrupt.iter_mut().zip(h_below) {
            *c = h + noise.sample(rng);
        }
        let (wr, br) = s.forward(i);
        sign_gemv(&v.p[wr], &v.p[br], corrupt, y);
        y.iter_mut().for_each(|a| *a = tanh(Fx(*a)).0);
        let (vr, cr) = s.inverse(i);
        sign_gemv(&v.p[vr.clone()], &v.p[cr.clone()], y, r);
        let mul = rate.mul as i32;
        for (rk, &ck) in r.iter_mut().zip(corrupt.iter()) {
            let out = tanh(Fx(*rk)).0;
            let delta = ((out - ck) * tanh_derivative(Fx(out)).0) >> 14;
            *rk = -delta.clamp(-DELTA_LIMIT, DELTA_LIMIT) * mul;
        }
        let mut dither = Dither::seeded(rng);
        let (params, c) = v.p.split_at_mut(cr.start);
        let f = rate.shift as u32 + 2;
        if !sign_update(&mut params[vr], &mut c[..n[i - 1]], r, y, f, &mut dither) {
            return Err(overflow(Stage::InverseWeights, i));
        }
    }
    Ok(())
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
    let (s, n) = (v.s, v.s.n);
    let (m, w) = (s.m(), s.widest());
    for i in 1..m {
        let (lo, scratch) = v.b.split_at_mut(s.scratch(0));
        let (d, scaled) = scratch.split_at_mut(w);
        let d = &mut d[..n[i]];
        let (h, t) = (s.h(i), s.target(i));
        let (h, t) = (&lo[h..h + n[i]], &lo[t..t + n[i]]);
        let mut any = 0;
        for ((dj, &hj), &tj) in d.iter_mut().zip(h).zip(t) {
            *dj = descent(hj, tj, hidden.mul as i32);
            any |= *dj;
        }
        if any == 0 {
            continue;
        }
        let (wr, br) = s.forward(i);
        let (params, b) = v.p.split_at_mut(br.start);
        let (wm, bm) = (&mut params[wr], &mut b[..n[i]]);
        let f = hidden.shift as u32 + 2;
        let src = &lo[s.h(i - 1)..s.h(i - 1) + n[i - 1]];
        let fits = if i == 1 {
            input_update(wm, bm, d, scaled, src, f, dither)
        } else {
            sign_update(wm, bm, d, src, f, dither)
        };
        if !fits {
            return Err(overflow(Stage::ForwardWeights, i));
        }
    }
    let (lo, scratch) = v.b.split_at_mut(s.scratch(0));
    let d = &mut scratch[..n[m]];
    let delta = &lo[s.p() + n[m]..s.p() + 2 * n[m]];
    for (dk, &e) in d.iter_mut().zip(delta) {
        *dk = -e * output.mul as i32;
    }
    let (wr, br) = s.forward(m);
    let (params, b) = v.p.split_at_mut(br.start);
    let src = &lo[s.h(m - 1)..s.h(m - 1) + n[m - 1]];
    let f = output.shift as u32 + 2;
    if !sign_update(&mut params[wr], &mut b[..n[m]], d, src, f, dither) {
        return Err(overflow(Stage::ForwardWeights, m));
    }
    Ok(())
}
