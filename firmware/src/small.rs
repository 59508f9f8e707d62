//! A network small enough for a 16 KB part (the `learn_small` demo): `FusedTrainer<16, 12, 10,
//! 1>`, 16 inputs, two hidden layers of 12 sign units, 10 classes, trained by `dtp-core`'s DTP
//! step in `f32` on the UCI digits pooled to 4×4 (each input the mean of a 2×2 block of the
//! 8×8 image: the same flash table, held-out split and labels as `learn_digits`).
//!
//! It keeps no sample order in RAM: epoch `e` visits the training digits in the order
//! `(offset + k·stride) mod 1438`, a permutation for every `stride` coprime with 1438 (odd and
//! not 719), both drawn from a `Pcg32` of the build's [`SEED`](crate::SEED) on a stream of its
//! own, so DTP and its control see the same order. RAM: the trainer (≈ 16.4 B a parameter),
//! the logger's few hundred bytes, and the stack; nothing else.

use crate::cell::Once;
use crate::demo::{Eval, Learner, Variant};
use crate::digits::{self, CLASSES, PIXELS};
use crate::measure;
use crate::run::{self, r1};
use defmt::info;
use dtp_core::{FixedNet, FusedTrainer, Init};
use rand_core::Rng;
use rand_pcg::Pcg32;

/// Inputs: the 8×8 digits pooled 2×2.
pub const IN: usize = 16;
/// Hidden width (two hidden layers).
pub const H: usize = 12;
/// The trainer: weights, inverse, both optimiser states and the step buffers.
pub type SmallTrainer = FusedTrainer<IN, H, CLASSES, 1>;
/// The parameters alone.
pub type SmallNet = FixedNet<IN, H, CLASSES, 1>;
/// Trainable parameters: forward and inverse.
pub const PARAMS: usize = SmallNet::FORWARD_PARAMS + SmallNet::INVERSE_PARAMS;
/// Training passes over the 1438 training digits.
pub const EPOCHS: u32 = 4;

/// Zero bits, so `.bss`.
// SAFETY: `Trainer` is `bytemuck::Zeroable` (all-zero is a valid value).
static TRAINER: Once<SmallTrainer> = Once::new(unsafe { core::mem::zeroed() });

/// The `Pcg32` stream (increment) of the sample order.
const ORDER_STREAM: u64 = 0x5ca1_ab1e_0dd5_eed5;

/// Writes sample `i` pooled to 4×4 (means of 2×2 blocks, in `[0, 1]`) into `x`; its label, or
/// `None` if there is no sample `i`.
pub fn pooled(i: usize, x: &mut [f32; IN]) -> Option<u8> {
    let mut full = [0.0f32; PIXELS];
    let label = digits::sample(i, &mut full)?;
    for (r, out_row) in x.chunks_exact_mut(4).enumerate() {
        for (c, out) in out_row.iter_mut().enumerate() {
            let top = 16 * r + 2 * c;
            let sum: f32 = [top, top + 1, top + 8, top + 9]
                .iter()
                .filter_map(|&p| full.get(p))
                .sum();
            *out = 0.25 * sum;
        }
    }
    Some(label)
}

/// One epoch's order: `(offset, stride)` with `stride` coprime with the 1438 training digits.
fn epoch_order(rng: &mut Pcg32) -> (u32, u32) {
    const N: u32 = digits::TRAIN as u32;
    let offset = rng.next_u32() % N;
    // 1438 = 2 · 719 (a prime): an odd stride other than 719 is coprime with it.
    let stride = match (rng.next_u32() % N) | 1 {
        719 => 1,
        s => s,
    };
    (offset, stride)
}

fn fill(trainer: &mut SmallTrainer, x: &[f32; IN], label: u8) {
    let (bx, bt) = trainer.batch_mut();
    bx.as_mut_slice().copy_from_slice(x);
    digits::one_hot(label, bt.as_mut_slice());
}

/// Held-out accuracy on the 359 held-out digits, pooled.
pub fn evaluate(trainer: &mut SmallTrainer) -> Eval {
    let rng = &mut Pcg32::new(0x5eed, 0x0a02_bdbf_7bb3_c0a7);
    let mut e = Eval::default();
    let mut x = [0.0f32; IN];
    for j in 0..digits::HELD_OUT {
        let label = match pooled(digits::held_out_index(j), &mut x) {
            Some(l) => l,
            None => defmt::panic!("no held-out digit {=usize}", j),
        };
        fill(trainer, &x, label);
        match trainer.evaluate(rng) {
            Ok(s) => e.correct += s.correct,
            Err(err) => defmt::panic!("evaluate: {}", err),
        }
        e.n += 1;
    }
    e
}

/// What a run measured.
struct Run {
    last: Eval,
    seen: u32,
    step_ticks: u64,
}

/// `EPOCHS` passes of the pooled training digits, one DTP step each, by `learner`, from the
/// demos' seed.
fn train(trainer: &mut SmallTrainer, learner: Learner) -> Run {
    let mut rng = Pcg32::new(crate::SEED, 0x0a02_bdbf_7bb3_c0a7);
    if let Err(e) = trainer.init(learner.config(Variant::Sign), Init::Orthogonal, &mut rng) {
        defmt::panic!("config: {}", e);
    }
    let mut order = Pcg32::new(crate::SEED, ORDER_STREAM);
    let mut x = [0.0f32; IN];
    let mut run = Run {
        last: Eval::default(),
        seen: 0,
        step_ticks: 0,
    };
    for epoch in 0..EPOCHS {
        // The trainer divides the forward learning rate by 1 + epoch.
        trainer.epoch = epoch;
        let (offset, stride) = epoch_order(&mut order);
        let mut correct = 0u32;
        for k in 0..digits::TRAIN as u32 {
            let j = (offset + k * stride) % digits::TRAIN as u32;
            let label = match pooled(digits::train_index(j as usize), &mut x) {
                Some(l) => l,
                None => defmt::panic!("no training digit {=u32}", j),
            };
            // The negative control of firmware/check-no-panic.sh's Cortex-M0 build: a bounds
            // check the optimiser cannot remove, so the no-panic-proof build must fail to link.
            #[cfg(feature = "no-panic-canary")]
            {
                x[core::hint::black_box(0usize)] = x[0];
            }
            fill(trainer, &x, label);
            let t0 = measure::ticks();
            match trainer.step(&mut rng) {
                Ok(s) => correct += s.correct,
                Err(e) => defmt::panic!("DTP step {=u32}: {}", run.seen, e),
            }
            run.step_ticks += measure::ticks() - t0;
            run.seen += 1;
        }
        run.last = evaluate(trainer);
        info!(
            "{} | seen {=u32} | epoch {=u32} | stream acc {=f32}% | held-out {=f32}%",
            learner,
            run.seen,
            epoch,
            r1(100.0 * correct as f32 / digits::TRAIN as f32),
            r1(run.last.percent())
        );
    }
    run
}

/// The demo: DTP on the pooled digits, then its control (the same seed, order and decay with
/// `η̂ = 0`: only the output layer learns). Exits 0 iff DTP's held-out accuracy is at least
/// `bar` percent and `min_gap` points above the control's.
pub fn run(bar: f32, min_gap: f32) -> ! {
    measure::paint_stack();
    let cp = match cortex_m::Peripherals::take() {
        Some(p) => p,
        None => defmt::panic!("peripherals taken twice"),
    };
    measure::start_ticks(cp.SYST);
    let trainer = run::take(&TRAINER, "trainer");
    let (instructions, ticks) = measure::calibrate(1_000_000);
    info!(
        "SysTick calibration: {=u64} instructions in {=u64} ticks",
        instructions, ticks
    );
    let bytes = core::mem::size_of::<SmallTrainer>();
    info!(
        "memory: trainer {=usize} B in .bss for {=usize} parameters = {=f32} B/param; stack {=usize} B",
        bytes,
        PARAMS,
        r1(bytes as f32 / PARAMS as f32),
        measure::stack_size()
    );
    info!(
        "learning Sign units, {=usize}-{=usize}-{=usize}-{=usize} (the digits pooled to 4x4), one sample per DTP step, {=u32} epochs of {=usize} digits, held-out {=usize}, seed {=u64}",
        IN,
        H,
        H,
        CLASSES,
        EPOCHS,
        digits::TRAIN,
        digits::HELD_OUT,
        crate::SEED
    );
    let dtp = train(trainer, Learner::Dtp);
    let per_step = dtp.step_ticks as f32 / dtp.seen as f32;
    info!(
        "step cost: {=f32} ticks = {=f32} instructions per DTP step (x {=u64}/{=u64} from calibration; {=usize} parameter updates per step)",
        r1(per_step),
        r1(per_step * instructions as f32 / ticks as f32),
        instructions,
        ticks,
        PARAMS
    );
    info!("control: the same run with eta-hat = 0 (only the output layer learns)");
    let control = train(trainer, Learner::Control);
    info!(
        "stack high-water mark: {=usize} of {=usize} B",
        measure::stack_high_water(),
        measure::stack_size()
    );
    crate::exit(run::judge(dtp.last, control.last, bar, min_gap))
}
