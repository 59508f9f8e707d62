//! The DTP auto-encoder: its two local gradients against finite differences, and its target.

mod common;
use common::{finite_difference, rel_err, rng};
use dtp_core::noise::uniform;
use dtp_core::{
    Activation, AutoencoderConfig, Const, FixedAutoencoder, FixedDense, Init, Mat, Optimiser,
    Portable,
};

type Ae = FixedAutoencoder<6, 4, 3>;

fn plain_sgd() -> AutoencoderConfig {
    AutoencoderConfig {
        encoder: Activation::Sigmoid,
        decoder: Activation::Sigmoid,
        corruption: 0.0,
        mask: 0.0,
        tied: false,
        encoder_opt: Optimiser::sgd(1.0, 0.0),
        decoder_opt: Optimiser::sgd(1.0, 0.0),
    }
}

fn ae(seed: u64) -> Ae {
    let mut a = Ae::ZERO;
    a.init(plain_sgd(), Init::Orthogonal, &mut rng(seed))
        .unwrap();
    let mut r = rng(seed + 1);
    a.input_mut().iter_mut().for_each(|v| *v = uniform(&mut r));
    a
}

fn sq<const R: usize, const C: usize>(
    d: &FixedDense<R, C>,
    act: Activation,
    input: &Mat<C, 3>,
    target: &Mat<R, 3>,
) -> f32 {
    let mut y = Mat::<R, 3>::zeros();
    d.forward::<Portable, Const<3>>(act, input, &mut y);
    (y - target).norm_squared() / 3.0
}

#[test]
fn both_halves_follow_their_local_losses() {
    let mut a = ae(1);
    a.evaluate().unwrap();
    let x = *a.input_mut();
    let h = *a.codes();
    let mut probe = ae(1);
    probe.step(&mut rng(2)).unwrap();
    let target = *probe.targets();
    // Target: ĥ = h + f(x) − f(g(h)).
    let mut f_rec = Mat::<4, 3>::zeros();
    a.encoder
        .forward::<Portable, Const<3>>(Activation::Sigmoid, a.reconstruction(), &mut f_rec);
    let expected = h + (h - f_rec);
    assert!(
        (target - expected).abs().max() < 1e-6,
        "σ = 0: f(x) = h, so ĥ = 2h − f(g(h))"
    );

    let mut dec = a.decoder.clone();
    let numeric = finite_difference(
        &mut dec,
        |d| &mut d.w,
        |d| sq(d, Activation::Sigmoid, &h, &x),
    );
    let analytic = a.decoder.w - probe.decoder.w;
    assert!(rel_err(analytic.as_slice(), numeric.as_slice()) < 1e-3);
    let mut enc = a.encoder.clone();
    let numeric = finite_difference(
        &mut enc,
        |d| &mut d.w,
        |d| sq(d, Activation::Sigmoid, &x, &target),
    );
    let analytic = a.encoder.w - probe.encoder.w;
    assert!(numeric.norm() > 1e-4);
    assert!(rel_err(analytic.as_slice(), numeric.as_slice()) < 1e-3);
}

#[test]
fn invalid_settings_and_non_finite_input_are_errors() {
    let mut a = Ae::ZERO;
    let mut bad = AutoencoderConfig::DEFAULT;
    bad.corruption = -1.0;
    assert!(a.init(bad, Init::Orthogonal, &mut rng(0)).is_err());
    let mut a = ae(3);
    a.input_mut()[(0, 0)] = f32::NAN;
    assert!(a.step(&mut rng(0)).is_err());
    assert!(a.evaluate().is_err());
}

#[test]
fn backprop_step_follows_the_whole_reconstruction_loss() {
    let a = ae(4);
    let x = *ae(4).input_mut();
    // ℓ(W) = (1/B) Σ ‖g(f(x)) − x‖² with σ = 0, as a function of the encoder weights.
    let decoder = a.decoder.clone();
    let loss = |enc: &FixedDense<4, 6>| {
        let mut h = Mat::<4, 3>::zeros();
        enc.forward::<Portable, Const<3>>(Activation::Sigmoid, &x, &mut h);
        sq(&decoder, Activation::Sigmoid, &h, &x)
    };
    let mut enc = a.encoder.clone();
    let numeric = finite_difference(&mut enc, |d| &mut d.w, |d| loss(d));
    let mut stepped = ae(4);
    let before = stepped.evaluate().unwrap();
    let reported = stepped.backprop_step(&mut rng(9)).unwrap();
    assert!(
        (before - reported).abs() < 1e-6,
        "σ = 0: the step's loss is the clean one"
    );
    assert!(
        stepped.encoder_loss.is_nan(),
        "no hidden target under backprop"
    );
    // Plain SGD with lr 1: the weight change is minus the gradient.
    let analytic = a.encoder.w - stepped.encoder.w;
    assert!(numeric.norm() > 1e-4);
    assert!(rel_err(analytic.as_slice(), numeric.as_slice()) < 1e-3);
    // The decoder's gradient is the same local one as in the DTP step.
    let mut dtp = ae(4);
    dtp.step(&mut rng(9)).unwrap();
    assert!((dtp.decoder.w - stepped.decoder.w).abs().max() < 1e-6);
    // ... and the encoder's differs from DTP's (the target is not the gradient).
    assert!((dtp.encoder.w - stepped.encoder.w).abs().max() > 1e-6);
}

#[test]
fn set_config_validates_and_keeps_the_weights() {
    let mut a = ae(5);
    let w = a.encoder.w;
    let mut c = plain_sgd();
    c.corruption = 0.5;
    a.set_config(c).unwrap();
    assert_eq!(a.config().corruption, 0.5);
    assert_eq!(a.encoder.w, w);
    c.corruption = f32::NAN;
    assert!(a.set_config(c).is_err());
    assert_eq!(a.config().corruption, 0.5);
}

/// Masking corruption: each input value is zeroed where its own uniform draw, taken in
/// storage order before anything else in the step, is below the rate; the others pass as they
/// are; rate 0 takes no draws and leaves the input whole. Over 40 steps of 18 values the
/// masked fraction is near the rate.
#[test]
fn masking_zeroes_the_values_whose_draw_is_below_the_rate() {
    let mut a = ae(5);
    let clean: Vec<f32> = a.input_mut().iter().copied().collect();
    let mut r = rng(9);
    let mut check = r.clone();
    a.step(&mut r).unwrap();
    assert_eq!(a.corrupted_input().as_slice(), &clean[..]);
    use rand_core::Rng;
    assert_eq!(r.next_u32(), check.next_u32(), "rate 0 took draws");

    let rate = 0.3;
    a.set_config(AutoencoderConfig {
        mask: rate,
        ..plain_sgd()
    })
    .unwrap();
    let (mut masked, mut total) = (0, 0);
    for _ in 0..40 {
        let mut check = r.clone();
        a.step(&mut r).unwrap();
        for (&x, &c) in a.corrupted_input().iter().zip(&clean) {
            let expected = if uniform(&mut check) < rate { 0.0 } else { c };
            assert_eq!(x.to_bits(), expected.to_bits());
            masked += usize::from(expected == 0.0);
            total += 1;
        }
    }
    let fraction = masked as f64 / total as f64;
    assert!((fraction - 0.3).abs() < 0.06, "masked fraction {fraction}");
    for bad in [-0.1, 1.0, f32::NAN] {
        let c = AutoencoderConfig {
            mask: bad,
            ..plain_sgd()
        };
        assert!(a.set_config(c).is_err(), "mask {bad} accepted");
    }
}

fn tied() -> AutoencoderConfig {
    AutoencoderConfig {
        tied: true,
        ..plain_sgd()
    }
}

/// [`ae`]`(seed)` with tied weights (`V = Wᵀ`), and its untied twin: the same weights (the
/// untied start's `V` replaced by `Wᵀ`) and input, trained untied.
fn tied_and_twin(seed: u64) -> (Ae, Ae) {
    let mut t = Ae::ZERO;
    t.init(tied(), Init::Orthogonal, &mut rng(seed)).unwrap();
    let mut r = rng(seed + 1);
    t.input_mut().iter_mut().for_each(|v| *v = uniform(&mut r));
    let mut twin = ae(seed);
    twin.decoder.w = twin.encoder.w.transpose();
    (t, twin)
}

/// Tying takes the untied start's draws (the encoder starts where it would untied) and sets
/// `V = Wᵀ`; `set_config` with `tied` ties loaded weights.
#[test]
fn tied_weights_start_as_the_encoders_transpose() {
    let (t, twin) = tied_and_twin(6);
    assert_eq!(t.encoder.w, twin.encoder.w);
    assert_eq!(t.decoder.w, t.encoder.w.transpose());
    let mut a = ae(6);
    assert_ne!(a.decoder.w, a.encoder.w.transpose());
    a.set_config(tied()).unwrap();
    assert_eq!(a.decoder.w, a.encoder.w.transpose());
}

/// DTP with tied weights: `W` takes the encoder's local gradient plus the decoder's
/// transposed (plain SGD at rate 1, so each change is minus the gradient; the untied twin
/// gives both local gradients from the same weights), the decoder's bias its own, and
/// `V = Wᵀ` holds after every step.
#[test]
fn tied_dtp_step_sums_both_local_gradients() {
    let (mut t, mut twin) = tied_and_twin(7);
    let (w0, c0) = (t.encoder.w, t.decoder.b);
    t.step(&mut rng(3)).unwrap();
    twin.step(&mut rng(3)).unwrap();
    let d_enc = twin.encoder.w - w0;
    let d_dec = twin.decoder.w - w0.transpose();
    let expected = w0 + d_enc + d_dec.transpose();
    assert!(
        d_dec.abs().max() > 1e-4,
        "the decoder's gradient is not negligible"
    );
    assert!((t.encoder.w - expected).abs().max() < 1e-6);
    assert_eq!(
        t.decoder.b - c0,
        twin.decoder.b - c0,
        "the bias steps on its own"
    );
    assert_eq!(t.decoder.w, t.encoder.w.transpose());
    for s in 0..5 {
        t.step(&mut rng(10 + s)).unwrap();
        assert_eq!(t.decoder.w, t.encoder.w.transpose());
    }
}

/// Backprop with tied weights follows the exact gradient of
/// `ℓ(W) = (1/B) Σ ‖s(Wᵀ s(W x + b) + c) − x‖²` through both uses of `W` (σ = 0; finite
/// differences of that function).
#[test]
fn tied_backprop_step_follows_the_loss_through_both_uses_of_w() {
    let (t, _) = tied_and_twin(8);
    let mut x = Mat::<6, 3>::zeros();
    let mut r = rng(9);
    x.iter_mut().for_each(|v| *v = uniform(&mut r));
    let (b, c) = (t.encoder.b, t.decoder.b);
    let loss = |enc: &FixedDense<4, 6>| {
        let mut h = Mat::<4, 3>::zeros();
        enc.forward::<Portable, Const<3>>(Activation::Sigmoid, &x, &mut h);
        let mut dec = FixedDense::<6, 4>::ZERO;
        dec.w = enc.w.transpose();
        dec.b = c;
        sq(&dec, Activation::Sigmoid, &h, &x)
    };
    let mut enc = t.encoder.clone();
    enc.b = b;
    let numeric = finite_difference(&mut enc, |d| &mut d.w, |d| loss(d));
    let (mut stepped, _) = tied_and_twin(8);
    stepped.backprop_step(&mut rng(9)).unwrap();
    let analytic = t.encoder.w - stepped.encoder.w;
    assert!(numeric.norm() > 1e-4);
    assert!(rel_err(analytic.as_slice(), numeric.as_slice()) < 1e-3);
    assert_eq!(stepped.decoder.w, stepped.encoder.w.transpose());
}
