//! The integer DTP step (`dtp_core::int`): its tables against `f64`, its forward pass against
//! an `f64` evaluation of the same weights, the difference-target identity, its refusal to
//! wrap, its determinism, its schedule and its memory. (Learning: `tests/tests/int_learning.rs`.)

use dtp_core::Error;
use dtp_core::Stage;
use dtp_core::int::table::{
    EXP_MAX_RELATIVE_ERROR, TANH_MAX_ERROR_LSB, exp_neg, reciprocal, softmax, tanh, tanh_derivative,
};
use dtp_core::int::{
    Arrays, Fx, Input, IntTrainer, Noise, Scale, Settings, Storage, buffers, params,
};
use dtp_core::step::{self, Steps};
use rand_core::Rng;
use rand_pcg::Pcg32;

const W: [usize; 4] = [64, 32, 32, 10];
type Digits = Arrays<4, { params(&W) }, { buffers(&W) }>;
/// Unequal widths, three hidden layers.
const U: [usize; 5] = [16, 24, 16, 12, 3];
type Uneven = Arrays<5, { params(&U) }, { buffers(&U) }>;

fn trainer(settings: Settings, seed: u64) -> Box<IntTrainer<Digits>> {
    let mut t = Box::new(IntTrainer::new(Digits::new(W), settings));
    t.init(&mut Pcg32::new(seed, 7));
    t
}

/// A digit-like input: `q ∈ 0..=15` pixels, some of them zero.
fn sample<S: Storage>(t: &mut IntTrainer<S>, rng: &mut Pcg32) {
    let classes = *t.widths().last().unwrap();
    for x in t.input_mut() {
        let q = rng.next_u32() % 24;
        *x = Input::from_4bit(if q > 15 { 0 } else { q as u8 }).0;
    }
    t.set_label((rng.next_u32() as usize % classes) as u16);
}

#[test]
fn tanh_table_is_within_its_documented_error_of_f64_tanh() {
    let mut worst = 0i64;
    for a in -(12 << 12)..=(12 << 12) {
        let exact = (a as f64 / 4096.0).tanh() * 16384.0;
        let got = tanh(Fx(a)).0 as f64;
        worst = worst.max((got - exact).abs().ceil() as i64);
        assert_eq!(tanh(Fx(-a)).0, -tanh(Fx(a)).0, "odd at {a}");
    }
    println!("tanh: max error {worst} Q14 LSB");
    assert!(worst <= TANH_MAX_ERROR_LSB as i64, "{worst} LSB");
    // Extremes of i32 saturate instead of wrapping.
    assert_eq!(tanh(Fx(i32::MAX)).0, 16384);
    assert_eq!(tanh(Fx(i32::MIN)).0, -16384);
}

#[test]
fn tanh_derivative_is_one_minus_h_squared() {
    for h in (-16384..=16384).step_by(7) {
        let exact = (1.0 - (h as f64 / 16384.0).powi(2)) * 16384.0;
        let got = tanh_derivative(Fx(h)).0 as f64;
        assert!((got - exact).abs() <= 1.0, "h {h}: {got} vs {exact}");
    }
}

#[test]
fn exp_table_is_within_its_documented_relative_error() {
    let mut worst = 0.0f64;
    for d in 0..=(16 << 12) {
        let exact = (-(d as f64) / 4096.0).exp();
        let got = exp_neg(Fx(d)).0 as f64 / 32768.0;
        let bound = EXP_MAX_RELATIVE_ERROR * exact + 1.0 / 32768.0;
        assert!((got - exact).abs() <= bound, "d {d}: {got} vs {exact}");
        worst = worst.max((got - exact).abs() / bound);
    }
    println!("exp: worst error {worst:.3} of the documented bound");
    assert_eq!(exp_neg(Fx(0)).0, 32768);
}

#[test]
fn newton_reciprocal_is_within_two_to_the_minus_13() {
    for v in (1u32..200_000)
        .step_by(13)
        .chain([1, 2, 3, 1 << 20, 1 << 30, i32::MAX as u32])
    {
        let (y, s) = reciprocal(v);
        let got = y as f64 * 2f64.powi(s as i32) / 2f64.powi(45);
        let rel = (got * v as f64 - 1.0).abs();
        assert!(rel <= 1.0 / 8192.0, "1/{v}: relative error {rel}");
    }
}

#[test]
fn softmax_is_within_a_percent_of_f64() {
    let mut rng = Pcg32::new(3, 3);
    for _ in 0..2000 {
        let z: Vec<i32> = (0..10)
            .map(|_| (rng.next_u32() % (24 << 12)) as i32 - (12 << 12))
            .collect();
        let mut p = vec![0; 10];
        let best = softmax(&z, &mut p);
        let max = z
            .iter()
            .map(|&v| v as f64 / 4096.0)
            .fold(f64::MIN, f64::max);
        let sum: f64 = z.iter().map(|&v| (v as f64 / 4096.0 - max).exp()).sum();
        for (k, (&pk, &zk)) in p.iter().zip(&z).enumerate() {
            let exact = (zk as f64 / 4096.0 - max).exp() / sum;
            let got = pk as f64 / 32768.0;
            assert!((got - exact).abs() <= 0.01, "p_{k}: {got} vs {exact}");
        }
        assert_eq!(z[best], *z.iter().max().unwrap());
    }
}

#[test]
fn noise_has_its_documented_standard_deviation() {
    let noise = Noise::new(8192); // σ = 0.5
    let mut rng = Pcg32::new(5, 5);
    let n = 200_000;
    let (mut sum, mut sq) = (0f64, 0f64);
    for _ in 0..n {
        let e = noise.sample(&mut rng) as f64 / 16384.0;
        sum += e;
        sq += e * e;
    }
    let mean = sum / n as f64;
    let sd = (sq / n as f64 - mean * mean).sqrt();
    println!("noise: mean {mean:.4}, σ {sd:.4}");
    assert!(
        mean.abs() < 0.005 && (sd - 0.5).abs() < 0.005,
        "{mean} {sd}"
    );
}

/// The forward pass, layer by layer, against `f64` given the same weights and the same read
/// values: `h_1` within 4·10⁻⁴ (the Q20 → Q12 floor, 2.4·10⁻⁴, plus the tanh table's 2 Q14
/// LSB), sign layers within 2 Q14 LSB (their sums are exact), `p` within 0.01.
#[test]
fn forward_agrees_with_f64_within_the_documented_tolerance() {
    let mut t = trainer(Settings::DIGITS, 11);
    let mut rng = Pcg32::new(11, 1);
    // Train a little so the weights are not just the initial ones.
    for _ in 0..300 {
        sample(&mut t, &mut rng);
        step::step(&mut *t, &mut rng).unwrap();
    }
    let (mut worst_h1, mut worst_h, mut worst_p) = (0f64, 0f64, 0f64);
    for _ in 0..200 {
        sample(&mut t, &mut rng);
        step::evaluate(&mut *t, &mut rng).unwrap();
        let x: Vec<f64> = t.input_mut().iter().map(|&v| v as f64 / 256.0).collect();
        let p = t.params();
        let wf = |v: i16| v as f64 / 4096.0;
        let mut at = 0;
        let mut read = x;
        for i in 1..=3 {
            let (n_in, n_out) = (W[i - 1], W[i]);
            let w = &p[at..at + n_in * n_out];
            let b = &p[at + n_in * n_out..at + n_in * n_out + n_out];
            at += n_out * (n_in + 1);
            let a: Vec<f64> = (0..n_out)
                .map(|o| {
                    wf(b[o])
                        + (0..n_in)
                            .map(|j| wf(w[j * n_out + o]) * read[j])
                            .sum::<f64>()
                })
                .collect();
            if i < 3 {
                let got = t.hidden(i);
                for (o, &ao) in a.iter().enumerate() {
                    let err = (got[o] as f64 / 16384.0 - ao.tanh()).abs();
                    if i == 1 {
                        worst_h1 = worst_h1.max(err);
                    } else {
                        worst_h = worst_h.max(err);
                    }
                }
                // The layer above reads the integer layer's signs.
                read = got
                    .iter()
                    .map(|&h| if h >= 0 { 1.0 } else { -1.0 })
                    .collect();
            } else {
                let max = a.iter().cloned().fold(f64::MIN, f64::max);
                let sum: f64 = a.iter().map(|v| (v - max).exp()).sum();
                for (k, &ak) in a.iter().enumerate() {
                    let err = (t.output()[k] as f64 / 32768.0 - (ak - max).exp() / sum).abs();
                    worst_p = worst_p.max(err);
                }
            }
        }
    }
    println!("forward vs f64: h_1 {worst_h1:.2e}, h_2 {worst_h:.2e}, p {worst_p:.2e}");
    assert!(worst_h1 <= 4e-4, "h_1: {worst_h1}");
    assert!(worst_h <= 2.0 / 16384.0, "h_2: {worst_h}");
    assert!(worst_p <= 0.01, "p: {worst_p}");
}

/// With `η̂ = 0` the top target is `h_{M−1}` and every difference target below it is its
/// activation, bit for bit; the forward step then changes no hidden weight. With `η̂ > 0`
/// targets move.
#[test]
fn with_eta_hat_zero_every_target_is_its_activation_bit_for_bit() {
    for (widths_name, mut t) in [("uneven", uneven(Settings::DIGITS.control()))] {
        let mut rng = Pcg32::new(2, 2);
        for _ in 0..200 {
            sample(&mut t, &mut rng);
            let before = t.params().to_vec();
            t.forward(step::Pass::Training, &mut rng).unwrap();
            t.feedback_step(&mut rng).unwrap();
            t.top_target().unwrap();
            t.difference_targets(&mut rng).unwrap();
            for i in 1..t.widths().len() - 1 {
                assert_eq!(t.target(i), t.hidden(i), "{widths_name}: layer {i}");
            }
            let hidden_end = forward_end(&U, U.len() - 2);
            let after_inverse = t.params().to_vec();
            t.forward_step().unwrap();
            assert_eq!(&t.params()[..hidden_end], &after_inverse[..hidden_end]);
            assert_ne!(t.params(), &before[..]);
        }
    }
    // η̂ > 0: the targets differ from the activations, and below the top too.
    let mut t = uneven(Settings::DIGITS);
    let mut rng = Pcg32::new(2, 2);
    let (mut top, mut below) = (0, 0);
    for _ in 0..200 {
        sample(&mut t, &mut rng);
        t.forward(step::Pass::Training, &mut rng).unwrap();
        t.top_target().unwrap();
        t.difference_targets(&mut rng).unwrap();
        top += (t.target(3) != t.hidden(3)) as u32;
        below += (t.target(1) != t.hidden(1)) as u32;
    }
    assert!(top > 150 && below > 10, "top {top}, below {below}");
}

/// End of the parameters of forward layers `1 ..= last` (the arena's order).
fn forward_end(w: &[usize], last: usize) -> usize {
    (1..=last).map(|i| w[i] * (w[i - 1] + 1)).sum()
}

fn uneven(settings: Settings) -> Box<IntTrainer<Uneven>> {
    let mut t = Box::new(IntTrainer::new(Uneven::new(U), settings));
    t.init(&mut Pcg32::new(4, 4));
    t
}

#[test]
fn the_same_seed_gives_the_same_bits() {
    let run = |seed: u64| {
        let mut t = trainer(Settings::DIGITS, seed);
        let mut rng = Pcg32::new(seed, 9);
        let mut data = Pcg32::new(99, 9);
        for _ in 0..500 {
            sample(&mut t, &mut data);
            step::step(&mut *t, &mut rng).unwrap();
        }
        t.params().to_vec()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

/// Weights at the top of their range: the update would leave `i16`; the step refuses (an
/// overflow error naming the stage and layer), that layer holds exactly its values from before
/// the step, and no weight anywhere wrapped to the other sign.
#[test]
fn the_step_refuses_to_wrap_huge_weights() {
    let mut t = trainer(Settings::DIGITS, 3);
    t.params_mut().fill(i16::MAX);
    let mut rng = Pcg32::new(3, 3);
    let mut refused = None;
    let mut before = t.params().to_vec();
    for _ in 0..50 {
        sample(&mut t, &mut rng);
        before = t.params().to_vec();
        if let Err(e) = step::step(&mut *t, &mut rng) {
            refused = Some(e);
            break;
        }
    }
    let range = match refused {
        Some(Error::Overflow { stage, layer }) => {
            println!("refused: {}", Error::Overflow { stage, layer });
            let layer = usize::from(layer);
            match stage {
                Stage::ForwardWeights => forward_end(&W, layer - 1)..forward_end(&W, layer),
                Stage::InverseWeights => forward_end(&W, 3)..params(&W),
                other => panic!("refused at {other:?}"),
            }
        }
        other => panic!("expected an overflow error, got {other:?}"),
    };
    assert_eq!(
        t.params()[range.clone()],
        before[range],
        "the refused layer changed"
    );
    assert!(
        t.params().iter().all(|&w| w > i16::MAX - 4096),
        "a weight wrapped"
    );
}

/// An input layer wide enough to leave `i32` (600 inputs at 1.0 with weights at 8): the
/// forward pass refuses; an input outside `[−1, 1]` and a label outside the outputs too.
#[test]
fn the_forward_pass_refuses_sums_inputs_and_labels_it_cannot_hold() {
    const V: [usize; 4] = [600, 4, 4, 2];
    let mut t = IntTrainer::new(
        Arrays::<4, { params(&V) }, { buffers(&V) }>::new(V),
        Settings::DIGITS,
    );
    let mut rng = Pcg32::new(1, 1);
    t.params_mut().fill(i16::MAX);
    t.input_mut().fill(256);
    let e = step::evaluate(&mut t, &mut rng).unwrap_err();
    assert_eq!(
        e,
        Error::Overflow {
            stage: Stage::Forward,
            layer: 1
        }
    );
    // Half the columns negative: the sum fits, and the pass goes through.
    for (j, x) in t.input_mut().iter_mut().enumerate() {
        *x = if j % 2 == 0 { 256 } else { -256 };
    }
    step::evaluate(&mut t, &mut rng).unwrap();
    t.input_mut()[0] = 257;
    let e = step::evaluate(&mut t, &mut rng).unwrap_err();
    assert_eq!(
        e,
        Error::Overflow {
            stage: Stage::Input,
            layer: 0
        }
    );
    t.input_mut()[0] = 0;
    t.set_label(2);
    let e = step::evaluate(&mut t, &mut rng).unwrap_err();
    assert_eq!(
        e,
        Error::Overflow {
            stage: Stage::Labels,
            layer: 0
        }
    );
}

/// The trainer advances its own schedule: `lr₀/(1 + k)` after `k` periods of `decay_every`
/// samples, with no epoch set by the caller.
#[test]
fn the_learning_rate_decays_by_samples_seen() {
    let settings = Settings {
        decay_every: 10,
        ..Settings::DIGITS
    };
    let mut t = trainer(settings, 1);
    let mut rng = Pcg32::new(1, 1);
    let mut scales = Vec::new();
    for k in 0..40 {
        if k % 10 == 0 {
            scales.push(t.rate_scale());
        }
        sample(&mut t, &mut rng);
        step::step(&mut *t, &mut rng).unwrap();
    }
    scales.push(t.rate_scale());
    assert_eq!(t.samples_seen(), 40);
    let exact: Vec<f64> = (0..5).map(|k| 65536.0 / (1.0 + k as f64)).collect();
    for (got, want) in scales.iter().zip(&exact) {
        assert!(
            (*got as f64 - want).abs() <= want / 4096.0 + 1.0,
            "{scales:?}"
        );
    }
    // Evaluation does not advance it.
    step::evaluate(&mut *t, &mut rng).unwrap();
    assert_eq!(t.samples_seen(), 40);
}

/// A 64-32-32-10 trainer — weights, inverses, biases and every buffer — within 3 bytes a
/// parameter.
#[test]
fn a_digits_trainer_fits_in_three_bytes_a_parameter() {
    let bytes = core::mem::size_of::<IntTrainer<Digits>>();
    let p = params(&W);
    println!(
        "64-32-32-10: {bytes} B for {p} parameters = {:.2} B/param",
        bytes as f64 / p as f64
    );
    assert_eq!(p, 32 * 65 + 32 * 33 + 10 * 33 + 32 * 33);
    assert!(bytes <= 3 * p, "{bytes} B");
}

/// Unequal widths and three hidden layers train with the same code (and keep learning a
/// separable 3-class toy task).
#[test]
fn unequal_widths_learn_a_toy_task() {
    let mut t = uneven(Settings {
        decay_every: 0,
        ..Settings::DIGITS
    });
    let mut rng = Pcg32::new(8, 8);
    let toy = |t: &mut IntTrainer<Uneven>, c: usize| {
        for (j, x) in t.input_mut().iter_mut().enumerate() {
            *x = if j % 3 == c { 256 } else { 0 };
        }
        t.set_label(c as u16);
    };
    for k in 0..600 {
        toy(&mut t, k % 3);
        step::step(&mut *t, &mut rng).unwrap();
    }
    for c in 0..3 {
        toy(&mut t, c);
        step::evaluate(&mut *t, &mut rng).unwrap();
        assert_eq!(t.predicted(), c);
    }
}

/// The desktop's run-time-sized storage computes the device's bits.
#[cfg(feature = "alloc")]
#[test]
fn vectors_and_arrays_give_the_same_bits() {
    use dtp_core::int::Vectors;
    let mut a = IntTrainer::new(Uneven::new(U), Settings::DIGITS);
    let mut v = IntTrainer::new(Vectors::new(&U).unwrap(), Settings::DIGITS);
    a.init(&mut Pcg32::new(1, 1));
    v.init(&mut Pcg32::new(1, 1));
    let (mut ra, mut rv, mut data) = (Pcg32::new(2, 2), Pcg32::new(2, 2), Pcg32::new(3, 3));
    for _ in 0..300 {
        sample(&mut a, &mut data);
        let (x, l) = (a.input_mut().to_vec(), a.label());
        v.input_mut().copy_from_slice(&x);
        v.set_label(l);
        step::step(&mut a, &mut ra).unwrap();
        step::step(&mut v, &mut rv).unwrap();
    }
    assert_eq!(a.params(), v.params());
}

#[test]
fn eta_hat_scale_zero_is_the_control() {
    assert_eq!(Settings::DIGITS.control().eta_hat, Scale::ZERO);
}

/// Saving is copying `params()` (a flat `i16` slice); loading into a fresh trainer of the same
/// widths gives the same predictions, and training on continues with the same bits.
#[test]
fn weights_saved_as_a_flat_i16_slice_load_into_a_fresh_trainer() {
    let mut a = trainer(Settings::DIGITS, 5);
    let mut rng = Pcg32::new(5, 5);
    for _ in 0..200 {
        sample(&mut a, &mut rng);
        step::step(&mut *a, &mut rng).unwrap();
    }
    let saved: Vec<i16> = a.params().to_vec();
    let mut b = Box::new(IntTrainer::new(Digits::new(W), Settings::DIGITS));
    b.params_mut().copy_from_slice(&saved);
    let (mut ra, mut rb, mut data) = (Pcg32::new(6, 6), Pcg32::new(6, 6), Pcg32::new(7, 7));
    for _ in 0..50 {
        sample(&mut a, &mut data);
        let (x, l) = (a.input_mut().to_vec(), a.label());
        b.input_mut().copy_from_slice(&x);
        b.set_label(l);
        step::evaluate(&mut *a, &mut ra).unwrap();
        step::evaluate(&mut *b, &mut rb).unwrap();
        assert_eq!(a.output(), b.output());
        assert_eq!(a.predicted(), b.predicted());
    }
    // The schedule is the trainer's, not the save's: restart both to compare training.
    a.restart_schedule();
    for _ in 0..50 {
        sample(&mut a, &mut data);
        let (x, l) = (a.input_mut().to_vec(), a.label());
        b.input_mut().copy_from_slice(&x);
        b.set_label(l);
        step::step(&mut *a, &mut ra).unwrap();
        step::step(&mut *b, &mut rb).unwrap();
    }
    assert_eq!(a.params(), b.params());
}

/// The sign-input update two rows a word (`kernel::lanes`, what the Cortex-M4's DSP
/// instructions compute, written in Rust by `Model`) gives the portable loop's bits: the
/// same weights, biases and verdict, with and without a wrap (then the layer as it was), for
/// even and odd heights (odd: the portable loop).
#[test]
fn the_two_rows_a_word_update_gives_the_portable_bits() {
    use dtp_core::int::kernel::lanes::{self, Model};
    use dtp_core::int::kernel::{row_constants, sign_update};
    let mut rng = Pcg32::new(5, 5);
    let (mut refused, mut updated) = (0, 0);
    for case in 0..400 {
        let n = [2, 4, 10, 32, 7][case % 5];
        let cols = 1 + rng.next_u32() as usize % 40;
        let near_edge = case % 3 == 0;
        let mut w: Vec<i16> = (0..n * cols)
            .map(|_| {
                let v = rng.next_u32() as i16;
                if near_edge { v | 0x7F00 } else { v >> 3 }
            })
            .collect();
        let mut b: Vec<i16> = (0..n).map(|_| (rng.next_u32() as i16) >> 3).collect();
        let f = 2 + rng.next_u32() % 20;
        let d: Vec<i32> = (0..n)
            .map(|_| (rng.next_u32() as i32) >> (2 + rng.next_u32() % 12))
            .collect();
        let src: Vec<i32> = (0..cols).map(|_| rng.next_u32() as i32 >> 16).collect();
        let seed = rng.next_u32();
        let (mut plus, mut minus) = (d.clone(), vec![0; n]);
        if !row_constants(&mut plus, &mut minus, f) {
            continue;
        }
        let (mut w2, mut b2, mut plus2, mut minus2) =
            (w.clone(), b.clone(), plus.clone(), minus.clone());
        let (w0, b0) = (w.clone(), b.clone());
        let portable = sign_update(&mut w, &mut b, &mut plus, &mut minus, &src, seed);
        let paired =
            lanes::sign_update::<Model>(&mut w2, &mut b2, &mut plus2, &mut minus2, &src, seed);
        assert_eq!(portable, paired, "case {case}: verdict");
        assert_eq!(w, w2, "case {case}: weights");
        assert_eq!(b, b2, "case {case}: biases");
        assert_eq!((plus, minus), (plus2, minus2), "case {case}: constants");
        if portable {
            updated += 1;
            assert_ne!(w, w0, "case {case}: no update");
        } else {
            refused += 1;
            assert_eq!(
                (w, b),
                (w0, b0),
                "case {case}: a refused update changed the layer"
            );
        }
    }
    println!("{updated} updates, {refused} refused");
    assert!(updated > 100 && refused > 20);
}

/// A row's rounding constant: over the 2¹⁶ values of its dither half, the rounded step
/// `q + [frac + R ≥ 2¹⁶]` averages `v / 2^f` exactly for `f ≤ 16`, within `2⁻¹⁶` below it
/// above; a step beyond `±2¹⁴` has no constant (the update is refused).
#[test]
fn a_rows_rounding_constant_is_unbiased() {
    use dtp_core::int::kernel::{STEP_LIMIT, row_constant};
    let mut rng = Pcg32::new(9, 9);
    for _ in 0..2000 {
        let f = 2 + rng.next_u32() % 29;
        let v = (rng.next_u32() as i32) >> (2 + rng.next_u32() % 20);
        let exact = v as f64 / f64::from(1u32 << f);
        let Some(c) = row_constant(v, f) else {
            assert!(
                exact.floor().abs() >= f64::from(STEP_LIMIT) - 1.0,
                "{v} >> {f}"
            );
            continue;
        };
        let (q, frac) = (c >> 16, c as u32 & 0xFFFF);
        let mean = q as f64 + frac as f64 / 65536.0; // Σ_R [frac + R ≥ 2¹⁶] = frac
        let err = exact - mean;
        if f <= 16 {
            assert_eq!(err, 0.0, "{v} >> {f}");
        } else {
            assert!((0.0..1.0 / 65536.0).contains(&err), "{v} >> {f}: {err}");
        }
    }
}

/// The input layer's update two rows a word (`kernel::lanes::input_update` with `Model`,
/// what the Cortex-M4 computes) gives the portable bits: weights, biases, verdict, `d'`,
/// including layers near the edge of `i16` and shifts above 16 (the portable path).
#[test]
fn the_two_rows_a_word_input_update_gives_the_portable_bits() {
    use dtp_core::int::kernel::input_update;
    use dtp_core::int::kernel::lanes::{self, Model};
    let mut rng = Pcg32::new(6, 6);
    let (mut refused, mut updated) = (0, 0);
    for case in 0..400 {
        let n = [2, 4, 10, 32, 7][case % 5];
        let cols = 1 + rng.next_u32() as usize % 70;
        let near_edge = case % 3 == 0;
        let mut w: Vec<i16> = (0..n * cols)
            .map(|_| {
                let v = rng.next_u32() as i16;
                if near_edge { v | 0x7F00 } else { v >> 3 }
            })
            .collect();
        let mut b: Vec<i16> = (0..n).map(|_| (rng.next_u32() as i16) >> 3).collect();
        let f = 2 + rng.next_u32() % 20;
        let d: Vec<i32> = (0..n)
            .map(|_| (rng.next_u32() as i32) >> (2 + rng.next_u32() % 20))
            .collect();
        let x: Vec<i32> = (0..cols)
            .map(|_| {
                let q = rng.next_u32() % 24;
                if q > 16 { 0 } else { (q as i32 - 8) * 32 }
            })
            .collect();
        let seed = rng.next_u32();
        // `lanes::input_update` takes `d' = d >> 8` ready (as `input_update` passes it).
        let (mut s1, mut s2) = (vec![0; n], d.iter().map(|&v| v >> 8).collect::<Vec<_>>());
        let (mut w2, mut b2, w0, b0) = (w.clone(), b.clone(), w.clone(), b.clone());
        let portable = input_update(&mut w, &mut b, &d, &mut s1, &x, f, seed);
        let paired = lanes::input_update::<Model>(&mut w2, &mut b2, &d, &mut s2, &x, f, seed);
        assert_eq!(portable, paired, "case {case}: verdict");
        assert_eq!(w, w2, "case {case}: weights");
        assert_eq!(b, b2, "case {case}: biases");
        assert_eq!(s1, s2, "case {case}: d'");
        if portable {
            updated += 1;
        } else {
            refused += 1;
            assert_eq!(
                (w, b),
                (w0, b0),
                "case {case}: a refused update changed the layer"
            );
        }
    }
    println!("{updated} updates, {refused} refused");
    assert!(updated > 100 && refused > 20);
}
