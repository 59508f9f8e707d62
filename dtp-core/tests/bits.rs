//! Bit-packed binary units: packing, XNOR/popcount products and the packed classifier agree
//! with the same arithmetic on `±1.0` floats.

use dtp_core::bits::{self, Bits, XnorDense};
use dtp_core::noise::standard_normal;
use dtp_core::{Config, FixedDense, FixedTrainer, Init, Mat, Quantiser, Trainer, Units};
use rand_pcg::Pcg32;

fn rng(seed: u64) -> Pcg32 {
    Pcg32::new(seed, 0x0a02_bdbf_7bb3_c0a7)
}

fn normals<const N: usize>(g: &mut Pcg32) -> [f32; N] {
    core::array::from_fn(|_| standard_normal(g))
}

#[test]
fn pack_matches_the_sign_quantiser_and_unpacks() {
    let mut g = rng(1);
    let mut v: [f32; 70] = normals(&mut g);
    v[3] = 0.0;
    v[4] = -0.0;
    let b: Bits<3> = Bits::pack_sign(&v);
    let mut q = [0.0; 70];
    Quantiser::Sign.apply(&v, &mut q, &mut g);
    let mut u = [0.0; 70];
    b.unpack(&mut u);
    assert_eq!(u, q);
    // Bits past the length stay clear.
    assert_eq!(b.words[2] >> 6, 0);
}

#[test]
fn xnor_popcount_dot_equals_the_float_dot() {
    let mut g = rng(2);
    for n in [1usize, 31, 32, 33, 64, 70, 96] {
        let a: [f32; 96] = normals(&mut g);
        let c: [f32; 96] = normals(&mut g);
        let (pa, pc): (Bits<3>, Bits<3>) = (Bits::pack_sign(&a[..n]), Bits::pack_sign(&c[..n]));
        let float: f32 = (0..n).map(|j| pa.get(j) * pc.get(j)).sum();
        assert_eq!(pa.dot(&pc, n), float as i32, "n = {n}");
        let differ = (0..n).filter(|&j| (a[j] > 0.0) != (c[j] > 0.0)).count();
        assert_eq!(pa.hamming(&pc, n), differ as u32);
    }
}

#[test]
fn gemv_signs_equals_a_float_product() {
    let mut g = rng(3);
    let mut w = Mat::<7, 40>::zeros();
    w.iter_mut().for_each(|v| *v = standard_normal(&mut g));
    let b = Mat::<7, 1>::from_fn(|_, _| standard_normal(&mut g));
    let s: [f32; 40] = normals(&mut g);
    let packed: Bits<2> = Bits::pack_sign(&s);
    let mut out = [0.0; 7];
    bits::gemv_signs(&w, &b, &packed, &mut out);
    let mut pm = Mat::<40, 1>::zeros();
    packed.unpack(pm.as_mut_slice());
    let want = w * pm + b;
    for (o, w) in out.iter().zip(want.iter()) {
        assert!((o - w).abs() < 1e-4, "{o} vs {w}");
    }
}

#[test]
fn xnor_layer_equals_alpha_times_sign_product() {
    let mut g = rng(4);
    let mut d = FixedDense::<5, 40>::ZERO;
    d.w.iter_mut().for_each(|v| *v = standard_normal(&mut g));
    d.b.iter_mut().for_each(|v| *v = standard_normal(&mut g));
    let mut x = XnorDense::<5, 40, 2>::ZERO;
    x.binarise(&d);
    let s: [f32; 40] = normals(&mut g);
    let packed: Bits<2> = Bits::pack_sign(&s);
    let mut out = [0.0; 5];
    x.forward(&packed, &mut out);
    for (r, &o) in out.iter().enumerate() {
        let alpha = d.w.row(r).iter().map(|v| v.abs()).sum::<f32>() / 40.0;
        let dot: f32 = (0..40)
            .map(|j| if d.w[(r, j)] > 0.0 { 1.0 } else { -1.0 } * packed.get(j))
            .sum();
        assert!((o - (alpha * dot + d.b[r])).abs() < 1e-4);
    }
    assert_eq!(XnorDense::<5, 40, 2>::BYTES, 5 * (8 + 8));
    assert_eq!(XnorDense::<5, 40, 2>::F32_BYTES, 4 * 5 * 41);
}

/// The packed classifier predicts what the trainer's forward pass predicts, for sign units
/// read by every layer above (and, separately, with a continuous read into the output).
#[test]
fn packed_classifier_agrees_with_the_trainer() {
    for into_output in [Quantiser::Sign, Quantiser::Identity] {
        let units = Units {
            into_output,
            ..Units::DISCRETE
        };
        let config = Config {
            units,
            ..Config::DISCRETE
        };
        let mut g = rng(5);
        let mut t: FixedTrainer<20, 40, 6, 2, 1> =
            Trainer::new(config, Init::Orthogonal, &mut g).unwrap();
        let mut agree = 0;
        for _ in 0..200 {
            let x: [f32; 20] = normals(&mut g);
            let (bx, bt) = t.batch_mut();
            bx.as_mut_slice().copy_from_slice(&x);
            bt.fill(0.0);
            bt[(0, 0)] = 1.0;
            t.evaluate(&mut g).unwrap();
            let full = bits::argmax(t.output().as_slice());
            let mut scratch = [0.0; 40];
            let mut logits = [0.0; 6];
            let input = Mat::<20, 1>::from_column_slice(&x);
            let p = bits::predict_packed::<20, 40, 6, 2, 2>(
                &t.net,
                &units,
                &input,
                &mut scratch,
                &mut logits,
            )
            .expect("hidden layers read signs");
            agree += (p == full) as u32;
        }
        // Float summation order differs; a pre-activation within rounding of 0 could flip a
        // sign, so allow a rare disagreement.
        assert!(agree >= 198, "{agree}/200 agree ({into_output:?})");
    }
}

/// Units whose hidden layers are not read as signs cannot be packed: `None`, and neither
/// buffer is touched (no panic path, for the firmware's proven loop).
#[test]
fn packed_classifier_refuses_units_that_do_not_read_signs() {
    let mut g = rng(6);
    let t: FixedTrainer<20, 40, 6, 2, 1> =
        Trainer::new(Config::STOCHASTIC, Init::Uniform, &mut g).unwrap();
    assert_ne!(Config::STOCHASTIC.units.between, Quantiser::Sign);
    let (mut scratch, mut logits) = ([7.0; 40], [7.0; 6]);
    let x = Mat::<20, 1>::from_element(0.5);
    let p = bits::predict_packed::<20, 40, 6, 2, 2>(
        &t.net,
        &Config::STOCHASTIC.units,
        &x,
        &mut scratch,
        &mut logits,
    );
    assert_eq!(p, None);
    assert_eq!((scratch, logits), ([7.0; 40], [7.0; 6]));
}
