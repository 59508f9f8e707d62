//! One algorithm, two size worlds: the same network built with compile-time sizes
//! (`FixedTrainer`) and with run-time sizes (`DynTrainer`) takes bit-identical steps; and the
//! run-time world's networks with unequal widths (20-13-9-7-4) keep the algorithm's
//! gradients and identities.
#![allow(clippy::needless_range_loop)]

use dtp_core::noise::standard_normal;
use dtp_core::{
    Activation, Batches, Blocked, Config, Const, Dense, DenseState, Dyn, DynTrainer, Feedback,
    FixedTrainer, Gradient, Init, Kernel, Mat, OMat, Optimiser, Output, Portable, Schedule,
    SigmaSchedule, Units,
};
use rand_core::Rng;
use rand_pcg::Pcg32;

fn rng(seed: u64) -> Pcg32 {
    Pcg32::new(seed, 0x5eed)
}

/// `n` samples of `features` Gaussian inputs and labels `0..classes`.
struct Data {
    x: Vec<f32>,
    y: Vec<usize>,
    features: usize,
}

fn data(n: usize, features: usize, classes: usize, seed: u64) -> Data {
    let mut r = rng(seed);
    Data {
        x: (0..n * features).map(|_| standard_normal(&mut r)).collect(),
        y: (0..n).map(|_| (r.next_u32() as usize) % classes).collect(),
        features,
    }
}

/// The samples in order, `batch` at a time (the last partial batch dropped): the same
/// batches whatever the dimension types.
struct InOrder<'a>(&'a Data, usize);

impl<I: dtp_core::Width, O: dtp_core::Width, B: dtp_core::Width> Batches<I, O, B> for InOrder<'_>
where
    nalgebra::DefaultAllocator:
        nalgebra::allocator::Allocator<I, B> + nalgebra::allocator::Allocator<O, B>,
{
    fn batches(&self) -> usize {
        self.0.y.len() / self.1
    }

    fn fill(&mut self, index: usize, x: &mut OMat<I, B>, t: &mut OMat<O, B>) {
        let d = self.0;
        let b = x.ncols();
        t.fill(0.0);
        for col in 0..b {
            let i = index * b + col;
            x.column_mut(col)
                .copy_from_slice(&d.x[i * d.features..(i + 1) * d.features]);
            t[(d.y[i], col)] = 1.0;
        }
    }
}

const UNITS: [Units; 4] = [
    Units::CONTINUOUS,
    Units::DISCRETE,
    Units::STOCHASTIC,
    Units::SIGN,
];

fn config(units: Units, schedule: Schedule) -> Config {
    Config {
        units,
        eta_hat: 0.7,
        forward: Optimiser::rmsprop(3e-3),
        inverse: Optimiser::rmsprop(1e-3),
        sigma: SigmaSchedule {
            sigma0: 0.3,
            tau: 5.0,
        },
        input_noise: if units == Units::STOCHASTIC { 0.2 } else { 0.0 },
        schedule,
        lr_decay: dtp_core::LrDecay { tau: 2.0 },
        feedback: dtp_core::Feedback::Dtp,
        frozen: dtp_core::LayerSet::NONE,
    }
}

type Fixed<K> = FixedTrainer<12, 9, 5, 2, 7, K>;

fn same_bits(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "{what}[{i}]: {x} vs {y}");
    }
}

fn same_dense<O: dtp_core::Width, I: dtp_core::Width>(
    what: &str,
    a: &Dense<Const<9>, Const<9>>,
    b: &Dense<O, I>,
) where
    nalgebra::DefaultAllocator:
        nalgebra::allocator::Allocator<O, I> + nalgebra::allocator::Allocator<O>,
{
    same_bits(&format!("{what}.w"), a.w.as_slice(), b.w.as_slice());
    same_bits(&format!("{what}.b"), a.b.as_slice(), b.b.as_slice());
}

fn same_state(what: &str, a: &DenseState<Const<9>, Const<9>>, b: &DenseState<Dyn, Dyn>) {
    for (n, x, y) in [
        ("w.a", &a.w.a.as_slice(), &b.w.a.as_slice()),
        ("w.s", &a.w.s.as_slice(), &b.w.s.as_slice()),
        ("w.v", &a.w.v.as_slice(), &b.w.v.as_slice()),
        ("b.a", &a.b.a.as_slice(), &b.b.a.as_slice()),
        ("b.s", &a.b.s.as_slice(), &b.b.s.as_slice()),
        ("b.v", &a.b.v.as_slice(), &b.b.v.as_slice()),
    ] {
        same_bits(&format!("{what}.{n}"), x, y);
    }
}

/// Every parameter and every optimiser-state tensor of the two trainers, bit for bit.
fn same_trainers<K: Kernel, L: Kernel>(f: &Fixed<K>, d: &DynTrainer<L>) {
    same_bits("f1.w", f.net.first.w.as_slice(), d.net.first.w.as_slice());
    same_bits("f1.b", f.net.first.b.as_slice(), d.net.first.b.as_slice());
    for k in 0..2 {
        same_dense(&format!("f{}", k + 2), &f.net.hidden[k], &d.net.hidden[k]);
        same_dense(&format!("g{}", k + 2), &f.net.inverse[k], &d.net.inverse[k]);
        same_state(
            &format!("opt f{}", k + 2),
            &f.forward_state.hidden[k],
            &d.forward_state.hidden[k],
        );
        same_state(
            &format!("opt g{}", k + 2),
            &f.inverse_state[k],
            &d.inverse_state[k],
        );
    }
    same_bits("f4.w", f.net.output.w.as_slice(), d.net.output.w.as_slice());
    same_bits("f4.b", f.net.output.b.as_slice(), d.net.output.b.as_slice());
    let (fs, ds) = (&f.forward_state.output, &d.forward_state.output);
    same_bits("opt f4.w.s", fs.w.s.as_slice(), ds.w.s.as_slice());
    same_bits("opt f4.w.v", fs.w.v.as_slice(), ds.w.v.as_slice());
    let (fs, ds) = (&f.forward_state.first, &d.forward_state.first);
    same_bits("opt f1.w.a", fs.w.a.as_slice(), ds.w.a.as_slice());
    same_bits("opt f1.w.v", fs.w.v.as_slice(), ds.w.v.as_slice());
    same_bits("output", f.output().as_slice(), d.output().as_slice());
    assert_eq!(f.epoch, d.epoch);
}

fn both<K: Kernel, L: Kernel>(config: Config, init: Init) -> (Box<Fixed<K>>, DynTrainer<L>) {
    let mut f: Box<Fixed<K>> = bytemuck::zeroed_box();
    f.init(config, init, &mut rng(1)).unwrap();
    let mut d = DynTrainer::<L>::with_widths(&[12, 9, 9, 9, 5], 7).unwrap();
    d.init(config, init, &mut rng(1)).unwrap();
    (f, d)
}

/// Two epochs of DTP (both schedules, each feedback rule: DTP, DRL, fixed) and of backprop (exact and straight-through), every
/// unit type, on 50 samples in batches of 7 (a batch that does not divide the data).
fn fixed_and_dynamic_agree<K: Kernel, L: Kernel>() {
    let d50 = data(50, 12, 5, 3);
    for units in UNITS {
        for (schedule, feedback) in [Schedule::Alternating, Schedule::Interleaved]
            .into_iter()
            .flat_map(|s| [Feedback::Dtp, Feedback::Drl, Feedback::Fixed].map(|f| (s, f)))
        {
            let init = if units == Units::STOCHASTIC {
                Init::Uniform
            } else {
                Init::Orthogonal
            };
            let c = Config {
                feedback,
                ..config(units, schedule)
            };
            let (mut f, mut d) = both::<K, L>(c, init);
            same_trainers(&*f, &d);
            let (mut rf, mut rd) = (rng(2), rng(2));
            for _ in 0..2 {
                let a = f.train_epoch(&mut InOrder(&d50, 7), &mut rf).unwrap();
                let b = d.train_epoch(&mut InOrder(&d50, 7), &mut rd).unwrap();
                assert_eq!(a, b, "{units:?} {schedule:?} {feedback:?}");
            }
            same_trainers(&*f, &d);
            for k in 0..3 {
                same_bits(
                    "targets",
                    f.targets()[k].as_slice(),
                    d.targets()[k].as_slice(),
                );
            }
            assert_eq!(rf.next_u64(), rd.next_u64(), "same draws");
        }
        for gradient in [Gradient::Exact, Gradient::StraightThrough] {
            let (mut f, mut d) =
                both::<K, L>(config(units, Schedule::Interleaved), Init::Orthogonal);
            let (mut rf, mut rd) = (rng(4), rng(4));
            for _ in 0..2 {
                let a = f
                    .backprop_epoch(&mut InOrder(&d50, 7), gradient, &mut rf)
                    .unwrap();
                let b = d
                    .backprop_epoch(&mut InOrder(&d50, 7), gradient, &mut rd)
                    .unwrap();
                assert_eq!(a, b, "{units:?} {gradient:?}");
            }
            same_trainers(&*f, &d);
        }
    }
}

#[test]
fn fixed_and_dynamic_take_the_same_steps_portable() {
    fixed_and_dynamic_agree::<Portable, Portable>();
}

#[test]
fn fixed_and_dynamic_take_the_same_steps_blocked() {
    fixed_and_dynamic_agree::<Blocked, Blocked>();
}

// ---- unequal widths: gradients and identities --------------------------------------------

const WIDTHS: [usize; 5] = [20, 13, 9, 7, 4];
const BATCH: usize = 3;

/// Plain SGD with learning rate 1: a step moves every parameter by minus its gradient.
fn sgd_one(units: Units) -> Config {
    Config {
        units,
        eta_hat: 0.4,
        forward: Optimiser::sgd(1.0, 0.0),
        inverse: Optimiser::sgd(1.0, 0.0),
        sigma: SigmaSchedule::constant(0.0),
        input_noise: 0.0,
        schedule: Schedule::Interleaved,
        lr_decay: dtp_core::LrDecay::NONE,
        feedback: dtp_core::Feedback::Dtp,
        frozen: dtp_core::LayerSet::NONE,
    }
}

fn unequal(units: Units, seed: u64) -> DynTrainer<Portable> {
    let mut t = DynTrainer::<Portable>::with_widths(&WIDTHS, BATCH).unwrap();
    t.init(sgd_one(units), Init::Orthogonal, &mut rng(seed))
        .unwrap();
    // Non-zero biases, so that their gradients are tested at a generic point.
    let mut r = rng(seed + 100);
    t.net.for_each_slice_mut(|s| {
        s.iter_mut()
            .for_each(|v| *v += 0.05 * standard_normal(&mut r))
    });
    let d = data(BATCH, WIDTHS[0], WIDTHS[4], seed + 7);
    let (x, labels) = t.batch_mut();
    x.copy_from_slice(&d.x);
    labels.fill(0.0);
    for (b, &y) in d.y.iter().enumerate() {
        labels[(y, b)] = 1.0;
    }
    t
}

fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    let num: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f32 = b.iter().map(|y| y * y).sum();
    (num / den.max(1e-20)).sqrt()
}

/// Fourth-order central differences of `f` in every element of `values` (as in dtp-core's
/// gradient tests): `(f(−2ε) − 8f(−ε) + 8f(ε) − f(2ε)) / 12ε`, truncation error O(ε⁴).
fn numeric(values: &mut [f32], f: &mut dyn FnMut(&[f32]) -> f32) -> Vec<f32> {
    let eps = 1e-2f32;
    (0..values.len())
        .map(|i| {
            let v = values[i];
            let mut at = |d: f32| {
                values[i] = v + d;
                f64::from(f(values))
            };
            let (p1, m1, p2, m2) = (at(eps), at(-eps), at(2.0 * eps), at(-2.0 * eps));
            values[i] = v;
            ((m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * f64::from(eps))) as f32
        })
        .collect()
}

#[track_caller]
fn close(what: &str, analytic: &[f32], numeric: &[f32]) {
    let norm: f32 = numeric.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!(norm > 1e-4, "{what}: gradient too small to test ({norm})");
    let e = rel_err(analytic, numeric);
    assert!(e < 1e-3, "{what}: relative error {e:e}");
}

/// `(1/B) Σ ‖s(W r + b) − t‖²` of a layer.
fn local<O: dtp_core::Width, I: dtp_core::Width>(
    d: &Dense<O, I>,
    act: Activation,
    r: &OMat<I, Dyn>,
    t: &OMat<O, Dyn>,
) -> f32
where
    nalgebra::DefaultAllocator: nalgebra::allocator::Allocator<O, I>
        + nalgebra::allocator::Allocator<O>
        + nalgebra::allocator::Allocator<I, Dyn>
        + nalgebra::allocator::Allocator<O, Dyn>,
{
    let mut y = OMat::<O, Dyn>::zeros_generic(t.shape_generic().0, Dyn(t.ncols()));
    d.forward::<Portable, Dyn>(act, r, &mut y);
    (y - t).norm_squared() / t.ncols() as f32
}

type DMat = OMat<Dyn, Dyn>;
type DynDense = Dense<Dyn, Dyn>;

/// A layer with one of its tensors replaced by `values`.
fn with(d: &Dense<Dyn, Dyn>, weight: bool, values: &[f32]) -> Dense<Dyn, Dyn> {
    let mut d = d.clone();
    let slot = if weight {
        d.w.as_mut_slice()
    } else {
        d.b.as_mut_slice()
    };
    slot.copy_from_slice(values);
    d
}

#[test]
fn forward_step_gradients_of_every_layer_with_unequal_widths() {
    let units = Units::CONTINUOUS;
    let mut t = unequal(units, 1);
    t.forward(false, &mut rng(0)).unwrap();
    t.top_target().unwrap();
    t.difference_targets(&mut rng(0)).unwrap();
    let before = t.net.clone();
    let x = DMat::from_column_slice(WIDTHS[0], BATCH, t.input_mut().as_slice());
    let h: Vec<DMat> = (0..3).map(|k| t.activations()[k].clone()).collect();
    let targets: Vec<DMat> = (0..3).map(|k| t.targets()[k].clone()).collect();
    let labels = t.labels_mut().clone();
    t.forward_step().unwrap();
    // Hidden layers 1..3: their local losses.
    let act = units.hidden;
    let layers: Vec<(&DynDense, &DynDense, &DMat)> = vec![
        (&before.first, &t.net.first, &x),
        (&before.hidden[0], &t.net.hidden[0], &h[0]),
        (&before.hidden[1], &t.net.hidden[1], &h[1]),
    ];
    for (k, (old, new, read)) in layers.into_iter().enumerate() {
        for weight in [true, false] {
            let (o, n) = if weight {
                (old.w.as_slice(), new.w.as_slice())
            } else {
                (old.b.as_slice(), new.b.as_slice())
            };
            let analytic: Vec<f32> = o.iter().zip(n).map(|(a, b)| a - b).collect();
            let mut values = o.to_vec();
            let num = numeric(&mut values, &mut |v| {
                local(&with(old, weight, v), act, read, &targets[k])
            });
            close(
                &format!("f{} {}", k + 1, if weight { "W" } else { "b" }),
                &analytic,
                &num,
            );
        }
    }
    // The output layer: L with its input held.
    for weight in [true, false] {
        let (o, n) = if weight {
            (before.output.w.as_slice(), t.net.output.w.as_slice())
        } else {
            (before.output.b.as_slice(), t.net.output.b.as_slice())
        };
        let analytic: Vec<f32> = o.iter().zip(n).map(|(a, b)| a - b).collect();
        let mut values = o.to_vec();
        let num = numeric(&mut values, &mut |v| {
            let layer = with(&before.output, weight, v);
            let mut z = DMat::zeros(WIDTHS[4], BATCH);
            layer.forward::<Portable, Dyn>(Activation::Linear, &h[2], &mut z);
            dtp_core::loss::output_activation(Output::SoftmaxNll, &mut z);
            dtp_core::loss::loss(Output::SoftmaxNll, &z, &labels)
        });
        close(
            &format!("f4 {}", if weight { "W" } else { "b" }),
            &analytic,
            &num,
        );
    }
}

#[test]
fn inverse_gradients_with_unequal_widths() {
    for units in [Units::CONTINUOUS, Units::DISCRETE] {
        let mut t = unequal(units, 2);
        t.forward(false, &mut rng(0)).unwrap();
        let before = t.net.clone();
        let h: Vec<DMat> = (0..3).map(|k| t.activations()[k].clone()).collect();
        t.inverse_step(0.0, &mut rng(5)).unwrap();
        for k in 0..2 {
            // (1/B) Σ ‖g(q(f(q(h_k)))) − h_k‖² with σ = 0.
            let loss = |g: &Dense<Dyn, Dyn>| {
                let mut r = rng(0);
                let mut read = h[k].clone();
                units
                    .between
                    .apply(h[k].as_slice(), read.as_mut_slice(), &mut r);
                let mut f = DMat::zeros(WIDTHS[k + 2], BATCH);
                before.hidden[k].forward::<Portable, Dyn>(units.hidden, &read, &mut f);
                let mut fr = f.clone();
                units
                    .into_inverse
                    .apply(f.as_slice(), fr.as_mut_slice(), &mut r);
                local(g, units.inverse, &fr, &h[k])
            };
            assert!((loss(&before.inverse[k]) - t.inverse_loss[k]).abs() < 1e-5);
            for weight in [true, false] {
                let (o, n) = if weight {
                    (
                        before.inverse[k].w.as_slice(),
                        t.net.inverse[k].w.as_slice(),
                    )
                } else {
                    (
                        before.inverse[k].b.as_slice(),
                        t.net.inverse[k].b.as_slice(),
                    )
                };
                let analytic: Vec<f32> = o.iter().zip(n).map(|(a, b)| a - b).collect();
                let mut values = o.to_vec();
                let num = numeric(&mut values, &mut |v| {
                    loss(&with(&before.inverse[k], weight, v))
                });
                close(&format!("{units:?} g{}", k + 2), &analytic, &num);
            }
        }
    }
}

#[test]
fn backprop_gradients_of_every_tensor_with_unequal_widths() {
    let t0 = unequal(Units::CONTINUOUS, 3);
    let mut t = unequal(Units::CONTINUOUS, 3);
    t.backprop_step(Gradient::Exact, &mut rng(0)).unwrap();
    // L of the whole network as a function of one tensor.
    let loss_with = |edit: &dyn Fn(&mut DynTrainer<Portable>)| {
        let mut u = unequal(Units::CONTINUOUS, 3);
        edit(&mut u);
        u.evaluate(&mut rng(0)).unwrap().loss
    };
    let mut tensors: Vec<(String, Vec<f32>, Vec<f32>)> = Vec::new();
    let mut before = Vec::new();
    t0.net.for_each_slice(|s| before.push(s.to_vec()));
    let mut after = Vec::new();
    t.net.for_each_slice(|s| after.push(s.to_vec()));
    // Forward tensors only (the inverses are not trained by backprop): f1..f4, W and b.
    for (i, (b, a)) in before.iter().zip(&after).take(8).enumerate() {
        tensors.push((format!("tensor {i}"), b.clone(), a.clone()));
    }
    for (i, (name, b, a)) in tensors.into_iter().enumerate() {
        let analytic: Vec<f32> = b.iter().zip(&a).map(|(x, y)| x - y).collect();
        let mut values = b.clone();
        let num = numeric(&mut values, &mut |v| {
            let v = v.to_vec();
            loss_with(&move |u: &mut DynTrainer<Portable>| {
                let mut j = 0;
                u.net.for_each_slice_mut(|s| {
                    if j == i {
                        s.copy_from_slice(&v);
                    }
                    j += 1;
                });
            })
        });
        close(&name, &analytic, &num);
    }
}

#[test]
fn difference_targets_identity_with_unequal_widths() {
    for units in UNITS {
        let mut t = unequal(units, 4);
        t.forward(false, &mut rng(0)).unwrap();
        t.top_target().unwrap();
        t.difference_targets(&mut rng(9)).unwrap();
        // ĥ_{i-1} = h_{i-1} + g_i(ĥ_i) − g_i(h_i), recomputed from public parts.
        for k in (1..3).rev() {
            let g = &t.net.inverse[k - 1];
            let apply = |v: &DMat| {
                let mut r = rng(0);
                let mut read = v.clone();
                units
                    .into_inverse
                    .apply(v.as_slice(), read.as_mut_slice(), &mut r);
                let mut out = DMat::zeros(WIDTHS[k], BATCH);
                g.forward::<Portable, Dyn>(units.inverse, &read, &mut out);
                out
            };
            if units.into_inverse == dtp_core::Quantiser::Bernoulli {
                continue;
            }
            let expect =
                &t.activations()[k - 1] + (apply(&t.targets()[k]) - apply(&t.activations()[k]));
            let got = &t.targets()[k - 1];
            assert_eq!(got.shape(), (WIDTHS[k], BATCH));
            assert!(
                rel_err(got.as_slice(), expect.as_slice()) < 1e-6,
                "{units:?} layer {k}"
            );
        }
        // With η̂ = 0 the top target is the activation, and so is every target, bit for bit.
        let mut c = *t.config();
        c.eta_hat = 0.0;
        t.set_config(c).unwrap();
        t.top_target().unwrap();
        t.difference_targets(&mut rng(9)).unwrap();
        if units.into_inverse != dtp_core::Quantiser::Bernoulli {
            for k in 0..3 {
                same_bits(
                    "ĥ = h",
                    t.targets()[k].as_slice(),
                    t.activations()[k].as_slice(),
                );
            }
        }
    }
}

#[test]
fn run_time_layouts_are_checked_when_built_and_one_hidden_layer_trains() {
    // Run-time layouts are checked when built: no hidden layer, or a zero width, is an error.
    assert!(DynTrainer::<Portable>::with_widths(&[4, 3], 2).is_err());
    assert!(DynTrainer::<Portable>::with_widths(&[4, 0, 3], 2).is_err());
    assert!(DynTrainer::<Portable>::with_widths(&[4, 5, 3], 0).is_err());
    // One hidden layer: no inverse; it trains on the top target.
    let mut t = DynTrainer::<Portable>::with_widths(&[6, 5, 3], 4).unwrap();
    t.init(sgd_one(Units::CONTINUOUS), Init::Orthogonal, &mut rng(1))
        .unwrap();
    assert_eq!(t.net.inverse.len(), 0);
    t.input_mut().fill(0.5);
    t.labels_mut()[(1, 0)] = 1.0;
    t.step(&mut rng(2)).unwrap();
    assert!(t.net.is_finite());
    // The fixed world's sizes are types: the input buffer of Fixed<12, …, batch 7> is a
    // Mat<12, 7>.
    let mut f: Box<Fixed<Portable>> = bytemuck::zeroed_box();
    let _: &mut Mat<12, 7> = f.input_mut();
}
