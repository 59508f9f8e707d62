//! DDTP-linear in the fixed world: a trainer whose layout is fixed at compile time, holding
//! its feedback maps `Q_i` in [`DirectLinear`] (no allocation: the microcontroller's DDTP),
//! takes the same steps bit for bit as the run-time layout's DDTP-linear (`DynTrainer`, maps
//! in `Net::direct`): whole minibatches under both schedules with feedback passes, and one
//! sample a step through the gradient-free store ([`DdtpTrainer`]); and each trainer refuses
//! the feedback rules that do not fit it.

use dtp_core::ddtp::DirectLinear;
use dtp_core::noise::standard_normal;
use dtp_core::{
    Batches, Buffered, Config, ConfigError, Const, DdtpTrainer, DynTrainer, Feedback,
    FeedbackPasses, Fixed, FusedTrainer, Init, OMat, Optimiser, Portable, Schedule, SigmaSchedule,
    Trainer, Units,
};
use rand_core::Rng;
use rand_pcg::Pcg32;

fn rng(seed: u64) -> Pcg32 {
    Pcg32::new(seed, 0x5eed)
}

fn config(units: Units, schedule: Schedule) -> Config {
    Config {
        units,
        eta_hat: 0.7,
        forward: Optimiser::rmsprop(3e-3),
        inverse: Optimiser::rmsprop(1e-3),
        sigma: SigmaSchedule {
            sigma0: 0.1,
            tau: f32::INFINITY,
        },
        schedule,
        feedback: Feedback::DdtpLinear,
        ..Config::CONTINUOUS
    }
}

fn same_bits(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "{what}[{i}]: {x} vs {y}");
    }
}

/// `n` Gaussian samples of 12 features with labels `0..5`, as columns.
fn data(n: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut r = rng(seed);
    let x = (0..n * 12).map(|_| standard_normal(&mut r)).collect();
    let y = (0..n).map(|_| (r.next_u32() as usize) % 5).collect();
    (x, y)
}

/// The samples in order, minibatches of the trainer's size.
struct InOrder<'a>(&'a (Vec<f32>, Vec<usize>));

impl<I: dtp_core::Width, O: dtp_core::Width, B: dtp_core::Width> Batches<I, O, B> for InOrder<'_>
where
    nalgebra::DefaultAllocator:
        nalgebra::allocator::Allocator<I, B> + nalgebra::allocator::Allocator<O, B>,
{
    fn batches(&self) -> usize {
        5
    }

    fn fill(&mut self, index: usize, x: &mut OMat<I, B>, t: &mut OMat<O, B>) {
        fill(self.0, index, x, t);
    }
}

/// Minibatch `index` of `b` samples into `x`, `t`.
fn fill<I: nalgebra::Dim, O: nalgebra::Dim, B: nalgebra::Dim>(
    (xs, ys): &(Vec<f32>, Vec<usize>),
    index: usize,
    x: &mut OMat<I, B>,
    t: &mut OMat<O, B>,
) where
    nalgebra::DefaultAllocator:
        nalgebra::allocator::Allocator<I, B> + nalgebra::allocator::Allocator<O, B>,
{
    let b = x.ncols();
    t.fill(0.0);
    for col in 0..b {
        let i = index * b + col;
        x.column_mut(col).copy_from_slice(&xs[i * 12..(i + 1) * 12]);
        t[(ys[i], col)] = 1.0;
    }
}

type Layout = Fixed<12, 9, 5, 2>;

/// Every forward weight, every `Q_i` with its optimiser state and last loss, bit for bit.
fn same_trainers<B: nalgebra::Dim, S, K: dtp_core::Kernel>(
    f: &Trainer<Layout, B, K, S, DirectLinear<Layout, B>>,
    d: &DynTrainer,
) where
    nalgebra::DefaultAllocator: dtp_core::Alloc<Layout, B>,
{
    let mut fixed = Vec::new();
    f.net.for_each_slice(|s| fixed.push(s.to_vec()));
    let mut dynamic = Vec::new();
    d.net.for_each_slice(|s| dynamic.push(s.to_vec()));
    assert_eq!(dynamic.len(), fixed.len(), "tensor counts");
    for (k, (a, b)) in fixed.iter().zip(&dynamic).enumerate() {
        same_bits(&format!("net tensor {k}"), a, b);
    }
    let direct = d.net.direct.as_ref().expect("DDTP's maps");
    let state = d.direct_state.as_ref().expect("their state");
    for k in 0..3 {
        let (q, dq) = (&f.inverse_state.q[k], &direct.q[k]);
        same_bits(&format!("Q{}.w", k + 1), q.w.as_slice(), dq.w.as_slice());
        same_bits(&format!("Q{}.b", k + 1), q.b.as_slice(), dq.b.as_slice());
        let (s, ds) = (&f.inverse_state.state[k], &state.state[k]);
        same_bits(
            &format!("opt Q{}.w.v", k + 1),
            s.w.v.as_slice(),
            ds.w.v.as_slice(),
        );
        same_bits(
            &format!("opt Q{}.b.s", k + 1),
            s.b.s.as_slice(),
            ds.b.s.as_slice(),
        );
        assert_eq!(
            f.inverse_state.loss[k].to_bits(),
            state.loss[k].to_bits(),
            "L_{}",
            k + 1
        );
    }
    assert_ne!(f.inverse_state.loss[0], 0.0, "the maps were trained");
}

/// Whole minibatches of 7 (fixed) against the run-time trainer, two epochs of each schedule,
/// with and without Meulemans et al.'s feedback passes, two unit types.
#[test]
fn fixed_ddtp_linear_takes_the_run_time_steps() {
    let samples = data(35, 3);
    type Whole =
        Trainer<Layout, Const<7>, Portable, Buffered<Layout>, DirectLinear<Layout, Const<7>>>;
    for units in [Units::CONTINUOUS, Units::SIGN] {
        for schedule in [Schedule::Interleaved, Schedule::Alternating] {
            for passes in [
                FeedbackPasses::NONE,
                FeedbackPasses {
                    before: 1,
                    after: 1,
                },
            ] {
                let c = config(units, schedule);
                let mut f: Box<Whole> = bytemuck::zeroed_box();
                f.init(c, Init::Orthogonal, &mut rng(1)).unwrap();
                let mut d = DynTrainer::<Portable>::with_widths(&[12, 9, 9, 9, 5], 7).unwrap();
                d.init(c, Init::Orthogonal, &mut rng(1)).unwrap();
                let (mut rf, mut rd) = (rng(2), rng(2));
                for _ in 0..2 {
                    let a = f
                        .train_epoch_with(&mut InOrder(&samples), passes, &mut rf)
                        .unwrap();
                    let b = d
                        .train_epoch_with(&mut InOrder(&samples), passes, &mut rd)
                        .unwrap();
                    assert_eq!(a, b, "{units:?} {schedule:?} {passes:?}");
                }
                same_trainers(&*f, &d);
                for k in 0..3 {
                    let (a, b) = (&f.targets()[k], &d.targets()[k]);
                    same_bits("targets", a.as_slice(), b.as_slice());
                }
                assert_eq!(rf.next_u64(), rd.next_u64(), "same draws");
            }
        }
    }
}

/// One sample a step through the gradient-free store (the device's trainer) against the
/// run-time trainer with minibatches of one: 60 steps of DDTP-linear.
#[test]
fn fused_ddtp_trainer_takes_the_run_time_steps() {
    let samples = data(60, 5);
    let c = config(Units::SIGN, Schedule::Interleaved);
    let mut f: Box<DdtpTrainer<12, 9, 5, 2>> = bytemuck::zeroed_box();
    f.init(c, Init::Orthogonal, &mut rng(1)).unwrap();
    let mut d = DynTrainer::<Portable>::with_widths(&[12, 9, 9, 9, 5], 1).unwrap();
    d.init(c, Init::Orthogonal, &mut rng(1)).unwrap();
    let (mut rf, mut rd) = (rng(2), rng(2));
    for i in 0..60 {
        let (x, y) = f.batch_mut();
        fill(&samples, i, x, y);
        let (x, y) = d.batch_mut();
        fill(&samples, i, x, y);
        let a = f.step(&mut rf).unwrap();
        let b = d.step(&mut rd).unwrap();
        assert_eq!(a, b, "step {i}");
    }
    same_trainers(&*f, &d);
}

/// A trainer holding DDTP-linear's maps takes no other rule; a fixed trainer holding DTP's
/// inverse state takes no feedback from the output.
#[test]
fn each_trainer_refuses_the_rules_that_do_not_fit_it() {
    let ddtp = config(Units::SIGN, Schedule::Interleaved);
    let mut f: Box<DdtpTrainer<12, 9, 5, 2>> = bytemuck::zeroed_box();
    for rule in [
        Feedback::Dtp,
        Feedback::Drl,
        Feedback::Fixed,
        Feedback::DdtpRhl,
    ] {
        let c = Config {
            feedback: rule,
            ..ddtp
        };
        assert_eq!(
            f.init(c, Init::Orthogonal, &mut rng(1)),
            Err(ConfigError::TrainerIsDdtpLinear),
            "{rule:?}"
        );
    }
    assert_eq!(f.init(ddtp, Init::Orthogonal, &mut rng(1)), Ok(()));
    let mut g: Box<FusedTrainer<12, 9, 5, 2>> = bytemuck::zeroed_box();
    assert_eq!(
        g.init(ddtp, Init::Orthogonal, &mut rng(1)),
        Err(ConfigError::DirectNeedsRunTimeLayout)
    );
}
