//! Feedback pre-training and extra feedback epochs (`FeedbackPasses`, Meulemans et al.'s
//! `epochs_fb` / `extra_fb_epochs`): an epoch with them is the same bits as the feedback-only
//! passes run by hand around a plain epoch, for DTP, DRL and DDTP, on the whole-minibatch
//! trainer and on chunks at 1 and 2 threads; fixed feedback weights take none.

use dtp_core::parallel::Parallel;
use dtp_core::{
    Batches, Config, Dyn, DynTrainer, Feedback, FeedbackPasses, Init, OMat, Optimiser, Portable,
    Schedule, SigmaSchedule, Tensors, Units,
};
use rand_pcg::Pcg64;

type M = OMat<Dyn, Dyn>;
const WIDTHS: [usize; 4] = [6, 5, 4, 3];

/// Four fixed minibatches of 8.
struct Data(Vec<(M, M)>);

impl Data {
    fn new() -> Self {
        let mut r = Pcg64::new(77, 1);
        Data(
            (0..4)
                .map(|_| {
                    let x = M::from_fn(6, 8, |_, _| dtp_core::noise::uniform(&mut r));
                    let t = M::from_fn(3, 8, |i, b| f32::from(u8::from((b * 5 + i) % 3 == 0)));
                    (x, t)
                })
                .collect(),
        )
    }
}

impl Batches<Dyn, Dyn, Dyn> for Data {
    fn batches(&self) -> usize {
        self.0.len()
    }
    fn fill(&mut self, index: usize, x: &mut M, t: &mut M) {
        x.copy_from(&self.0[index].0);
        t.copy_from(&self.0[index].1);
    }
}

fn trainer(feedback: Feedback, schedule: Schedule) -> DynTrainer<Portable> {
    let c = Config {
        units: Units::CONTINUOUS,
        eta_hat: 0.3,
        forward: Optimiser::rmsprop(1e-3),
        inverse: Optimiser::rmsprop(1e-2),
        sigma: SigmaSchedule::constant(0.2),
        // Input noise: every forward pass draws, so a feedback pass that ran (even one that
        // trains nothing) would move the stream.
        input_noise: 0.05,
        schedule,
        feedback,
        ..Config::CONTINUOUS
    };
    let mut t = DynTrainer::<Portable>::with_widths(&WIDTHS, 8).unwrap();
    t.init(c, Init::Orthogonal, &mut Pcg64::new(3, 3)).unwrap();
    t
}

fn tensors(t: &DynTrainer<Portable>) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    t.visit(&mut |name, _, s| out.push((name.to_string(), s.to_vec())));
    out
}

/// One pass of the feedback step alone over `data`, by hand: each minibatch loaded, then
/// a forward pass and a feedback step (`Trainer::inverse_only`).
fn feedback_pass(t: &mut DynTrainer<Portable>, data: &mut Data, rng: &mut Pcg64) {
    for i in 0..data.batches() {
        let (x, l) = t.batch_mut();
        data.fill(i, x, l);
        t.inverse_only(rng).unwrap();
    }
}

const RULES: [Feedback; 5] = [
    Feedback::Dtp,
    Feedback::Drl,
    Feedback::DdtpLinear,
    Feedback::DdtpRhl,
    Feedback::DtpOutput,
];

/// `before` passes, the epoch, `after` passes: the same bits as `train_epoch_with`, which
/// moves the feedback weights beyond a plain epoch; the figures are the training pass's.
#[test]
fn an_epoch_with_feedback_passes_is_the_passes_around_a_plain_epoch() {
    for feedback in RULES {
        for schedule in [Schedule::Interleaved, Schedule::Alternating] {
            let passes = FeedbackPasses {
                before: 2,
                after: 1,
            };
            let mut a = trainer(feedback, schedule);
            let mut ra = Pcg64::new(9, 9);
            let sa = a
                .train_epoch_with(&mut Data::new(), passes, &mut ra)
                .unwrap();
            let mut b = trainer(feedback, schedule);
            let mut rb = Pcg64::new(9, 9);
            feedback_pass(&mut b, &mut Data::new(), &mut rb);
            feedback_pass(&mut b, &mut Data::new(), &mut rb);
            let sb = b.train_epoch(&mut Data::new(), &mut rb).unwrap();
            feedback_pass(&mut b, &mut Data::new(), &mut rb);
            assert_eq!(tensors(&a), tensors(&b), "{feedback:?} {schedule:?}");
            assert_eq!(
                sa, sb,
                "{feedback:?} {schedule:?}: the training pass's figures"
            );
            let mut plain = trainer(feedback, schedule);
            plain
                .train_epoch(&mut Data::new(), &mut Pcg64::new(9, 9))
                .unwrap();
            assert_ne!(
                tensors(&a),
                tensors(&plain),
                "{feedback:?}: the passes did nothing"
            );
        }
    }
}

/// Fixed feedback weights (FW-DTP) have no feedback step: the passes are skipped, the epoch
/// is the plain one bit for bit; `NONE` is the plain epoch for every rule.
#[test]
fn fixed_feedback_and_no_passes_leave_the_plain_epoch() {
    let passes = FeedbackPasses {
        before: 1,
        after: 1,
    };
    for (feedback, passes) in [(Feedback::Fixed, passes)]
        .into_iter()
        .chain(RULES.map(|f| (f, FeedbackPasses::NONE)))
    {
        let mut a = trainer(feedback, Schedule::Alternating);
        a.train_epoch_with(&mut Data::new(), passes, &mut Pcg64::new(4, 4))
            .unwrap();
        let mut b = trainer(feedback, Schedule::Alternating);
        b.train_epoch(&mut Data::new(), &mut Pcg64::new(4, 4))
            .unwrap();
        assert_eq!(tensors(&a), tensors(&b), "{feedback:?}");
    }
}

/// On chunks the passes give the same bits at 1 and 2 threads; with one chunk they are the
/// trainer's own.
#[test]
fn feedback_passes_on_chunks_give_the_same_bits_at_any_thread_count() {
    let passes = FeedbackPasses {
        before: 1,
        after: 1,
    };
    for feedback in RULES {
        let run = |chunks: usize, threads: usize| {
            let mut t = trainer(feedback, Schedule::Alternating);
            let mut p = Parallel::new(&t, chunks, threads);
            let mut r = Pcg64::new(5, 5);
            for e in 0..2 {
                let passes = FeedbackPasses::at(passes.before, passes.after, e);
                p.train_epoch_with(&mut t, &mut Data::new(), passes, &mut r)
                    .unwrap();
            }
            tensors(&t)
        };
        let mut own = trainer(feedback, Schedule::Alternating);
        let mut r = Pcg64::new(5, 5);
        for e in 0..2 {
            let passes = FeedbackPasses::at(passes.before, passes.after, e);
            own.train_epoch_with(&mut Data::new(), passes, &mut r)
                .unwrap();
        }
        assert_eq!(run(1, 1), tensors(&own), "{feedback:?}: one chunk");
        assert_eq!(run(2, 1), run(2, 2), "{feedback:?}: two chunks");
    }
}

/// Pre-training passes belong to epoch 0 only; extra passes to every epoch.
#[test]
fn pretraining_is_the_first_epochs_only() {
    assert_eq!(
        FeedbackPasses::at(6, 1, 0),
        FeedbackPasses {
            before: 6,
            after: 1
        }
    );
    assert_eq!(
        FeedbackPasses::at(6, 1, 1),
        FeedbackPasses {
            before: 0,
            after: 1
        }
    );
}
