//! A start-up check, on the device itself, that the optimiser's update refuses what it must:
//! the finiteness test folded into the assembly update loops (`dtp_core`'s
//! `rmsprop_columns`/`sgd_columns` on hard-float Arm) runs only on the target, so only the
//! target can show that a NaN or an overflow in any row position (the loops take rows four,
//! two and one at a time) makes `Optimiser::update_columns` return `false`, and that the
//! loops compute the update rule's bits in each of those paths
//! ([`update_matches_the_rule`]).

use dtp_core::{Optimiser, OptimiserKind};

/// Rows of the check: one quad, one pair, one single row, so every path of the loop runs.
const ROWS: usize = 7;
/// Columns of the check.
const COLS: usize = 2;
/// Parameters of the check.
const N: usize = ROWS * COLS;
/// The first row of each path: the quad (0–3), the pair (4–5) and the single row (6).
const PATHS: [usize; 3] = [0, 4, 6];

/// What a case breaks before the update.
#[derive(Clone, Copy)]
enum Fault {
    /// Nothing: the update must succeed.
    None,
    /// `δ_i = NaN`: every gradient of row `i` is NaN.
    NanDelta,
    /// `δ_i = 10²⁰`: `g²` overflows, so RMSprop's `s` becomes `+∞` while the step it
    /// divides (`lr·g/√d`) is 0 and the parameter stays finite; only the `√d` term sees it.
    HugeDelta,
    /// The parameter of row `i` in column 1 is `+∞` before the update.
    InfParam,
    /// RMSprop's running mean square of row `i` in column 0 is NaN.
    NanState,
}

/// One update of a 7 × 2 block with `fault` put in row `row`; whether it reported success.
fn update(opt: &Optimiser, fault: Fault, row: usize) -> bool {
    let mut delta = [0.25f32, -0.5, 0.125, 0.75, -0.25, 0.5, -0.125];
    let scales = [0.5f32, -1.0];
    let mut p = [0.1f32; N];
    let (mut a, mut s, mut v) = ([0.0f32; N], [0.0f32; N], [0.0f32; N]);
    let r = row.min(ROWS - 1);
    match fault {
        Fault::None => {}
        Fault::NanDelta => delta[r] = f32::NAN,
        Fault::HugeDelta => delta[r] = 1.0e20,
        Fault::InfParam => p[ROWS + r] = f32::INFINITY,
        Fault::NanState => s[r] = f32::NAN,
    }
    opt.update_columns(&mut p, &delta, &scales, &mut a, &mut s, &mut v)
}

/// Runs every case for RMSprop and SGD; logs and returns `false` at the first wrong answer.
pub fn optimiser_refuses_non_finite() -> bool {
    let rules = [
        ("RMSprop", Optimiser::rmsprop(0.001)),
        ("SGD", Optimiser::sgd(0.01, 0.9)),
    ];
    for (name, opt) in rules.iter() {
        if !update(opt, Fault::None, 0) {
            defmt::error!("guard: {=str} refused a finite update", name);
            return false;
        }
        let rms = *name == "RMSprop";
        for &row in PATHS.iter() {
            let faults: &[(Fault, &str)] = if rms {
                &[
                    (Fault::NanDelta, "a NaN gradient"),
                    (Fault::HugeDelta, "an overflowing g²"),
                    (Fault::InfParam, "an infinite parameter"),
                    (Fault::NanState, "a NaN state"),
                ]
            } else {
                &[
                    (Fault::NanDelta, "a NaN gradient"),
                    (Fault::InfParam, "an infinite parameter"),
                ]
            };
            for &(fault, what) in faults {
                if update(opt, fault, row) {
                    defmt::error!(
                        "guard: {=str} accepted {=str} in row {=usize}",
                        name,
                        what,
                        row
                    );
                    return false;
                }
            }
        }
    }
    defmt::info!(
        "guard: the update refuses NaN gradients, an overflowing g², infinite parameters and NaN state in every row path (RMSprop and SGD)"
    );
    true
}

/// Largest row count [`update_matches_the_rule`] tries.
const MAX_ROWS: usize = 9;
/// Columns of [`update_matches_the_rule`]'s blocks.
const RULE_COLS: usize = 3;
/// Parameters of its largest block.
const RULE_N: usize = MAX_ROWS * RULE_COLS;

/// The optimiser's rule written out element by element, as `Optimiser`'s portable loop states
/// it (`a ← ρa + (1−ρ)g`, `s ← ρs + (1−ρ)g·g`, `v ← μv − lr·g/√(s − a² + ε)`, `p ← p + v`;
/// SGD `v ← μv − lr·g`, `p ← p + v`): the reference the assembly must equal bit for bit.
fn rule(opt: &Optimiser, p: &mut f32, g: f32, a: &mut f32, s: &mut f32, v: &mut f32) {
    let lr = opt.lr;
    match opt.kind {
        OptimiserKind::Sgd { momentum } => {
            *v = momentum * *v - lr * g;
            *p += *v;
        }
        OptimiserKind::RmsProp { rho, momentum, eps } => {
            *a = rho * *a + (1.0 - rho) * g;
            *s = rho * *s + (1.0 - rho) * g * g;
            let d = *s - *a * *a + eps;
            *v = momentum * *v - lr * g / dtp_core::math::sqrt(d);
            *p += *v;
        }
    }
}

/// Whether `Optimiser::update_columns` (the assembly loops on hard-float Arm) gives the bits of
/// [`rule`] for every row count from 1 to 9 (so quads alone, quads with a pair and/or a last
/// row, and no quad at all) over three columns, in two successive updates (the second from
/// non-zero state), for RMSprop and SGD; logs the first difference.
pub fn update_matches_the_rule() -> bool {
    let rules = [
        ("RMSprop", Optimiser::rmsprop(0.001)),
        ("SGD", Optimiser::sgd(0.01, 0.9)),
    ];
    for (name, opt) in rules.iter() {
        for rows in 1..=MAX_ROWS {
            let n = rows * RULE_COLS;
            let mut delta = [0.0f32; MAX_ROWS];
            for (i, d) in delta.iter_mut().enumerate() {
                *d = (i as f32 - 3.7) * 0.173;
            }
            let scales = [0.5f32, -1.25, 0.875];
            let mut p = [0.0f32; RULE_N];
            for (i, x) in p.iter_mut().enumerate() {
                *x = 0.05 * (i as f32) - 0.3;
            }
            let (mut a, mut s, mut v) = ([0.0f32; RULE_N], [0.0f32; RULE_N], [0.0f32; RULE_N]);
            let (mut rp, mut ra, mut rs, mut rv) = (p, a, s, v);
            for update in 0..2 {
                let delta = &delta[..rows];
                if !opt.update_columns(
                    &mut p[..n],
                    delta,
                    &scales,
                    &mut a[..n],
                    &mut s[..n],
                    &mut v[..n],
                ) {
                    defmt::error!("guard: {=str} refused a finite update", name);
                    return false;
                }
                for (j, &c) in scales.iter().enumerate() {
                    for (i, &d) in delta.iter().enumerate() {
                        // `e < n ≤ RULE_N` always; `get_mut` keeps the demos free of panic paths.
                        let e = j * rows + i;
                        let (p, a) = (rp.get_mut(e), ra.get_mut(e));
                        if let (Some(p), Some(a), Some(s), Some(v)) =
                            (p, a, rs.get_mut(e), rv.get_mut(e))
                        {
                            rule(opt, p, d * c, a, s, v);
                        }
                    }
                }
                let same = |x: &[f32], y: &[f32]| {
                    x[..n]
                        .iter()
                        .zip(&y[..n])
                        .all(|(x, y)| x.to_bits() == y.to_bits())
                };
                if !(same(&p, &rp) && same(&a, &ra) && same(&s, &rs) && same(&v, &rv)) {
                    defmt::error!(
                        "guard: {=str} with {=usize} rows differs from the rule in update {=usize}",
                        name,
                        rows,
                        update
                    );
                    return false;
                }
            }
        }
    }
    defmt::info!("guard: the update gives the rule's bits with 1 to 9 rows (RMSprop and SGD)");
    true
}
