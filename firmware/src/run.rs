//! The demos' main loops: learn from a sample stream, log, save to flash, prove the save
//! survives a reset. The learning itself is `Trainer::step` from `dtp-core`.

use crate::cell::Once;
use crate::demo::{self, DigitsNet, DigitsTrainer, Learner, Variant};
use crate::digits::{self, PIXELS};
use crate::flash::{self, PAGE};
use crate::measure;
use crate::source::{FlashDigits, SampleSource, Shift};
use defmt::{error, info, warn};
use dtp_core::Init;
use dtp_core::bits::XnorDense;
use dtp_core::storage::{self, Slots};
use dtp_digits::digest::fnv1a;
use dtp_digits::order::TRAINER_STREAM;
use rand_pcg::Pcg32;

/// Every parameter, inverse, optimiser state and step buffer: zero bits, so `.bss`.
// SAFETY: `Trainer` is `bytemuck::Zeroable` (all-zero is a valid value).
static TRAINER: Once<DigitsTrainer> = Once::new(unsafe { core::mem::zeroed() });
/// The save payload: the weight blob, then samples seen and held-out correct (u32 LE each).
static PAYLOAD: Once<[u8; PAYLOAD_LEN]> = Once::new([0; PAYLOAD_LEN]);
static XNOR: Once<XnorDense<{ demo::H }, { demo::H }, { demo::WORDS }>> =
    Once::new(XnorDense::ZERO);

/// Bytes of a save: the weight blob, then two `u32` figures.
pub const PAYLOAD_LEN: usize = DigitsNet::BLOB_LEN + 8;
/// Each slot: the payload and its 32-byte record header, rounded up to whole pages.
pub const SLOTS: Slots = Slots {
    base: 0,
    slot_size: ((PAYLOAD_LEN + storage::HEADER_LEN).div_ceil(PAGE) * PAGE) as u32,
};
/// Training passes over the 1438 training digits.
pub const EPOCHS: u32 = 4;
/// Evaluate on the held-out part every this many samples of an epoch, and at its end.
pub const EVAL_EVERY: usize = 360;

/// The demos' generator, from the build's seed ([`crate::SEED`]).
fn rng() -> Pcg32 {
    Pcg32::new(crate::SEED, TRAINER_STREAM)
}

/// The training stream (its order in a `static`); a second take is a deliberate error exit.
pub(crate) fn stream(shift: Shift) -> FlashDigits {
    match FlashDigits::take(shift) {
        Some(s) => s,
        None => defmt::panic!("sample stream taken twice"),
    }
}

/// The `&'static mut` of a take-once static; a second take is a deliberate error exit.
// `&'static mut` from `&'static`: sound because `Once::take` hands the value out only once.
#[allow(clippy::mut_from_ref)]
pub(crate) fn take<T>(cell: &'static Once<T>, what: &str) -> &'static mut T {
    match cell.take() {
        Some(v) => v,
        None => defmt::panic!("{=str} taken twice", what),
    }
}

/// Logs the memory figures of the trainer and of the packed binary units.
fn memory_report() {
    let trainer = core::mem::size_of::<DigitsTrainer>();
    let floor = demo::PARAMS * 4 * 4; // weight + RMSprop a, s, v
    info!(
        "memory: trainer {=usize} B in .bss for {=usize} parameters = {=f32} B/param (floor: weight + 3 RMSprop moments = 16 B/param, {=usize} B)",
        trainer,
        demo::PARAMS,
        r1(trainer as f32 / demo::PARAMS as f32),
        floor
    );
    info!(
        "binary units: a {=usize}-unit hidden layer packed = {=usize} B vs {=usize} B in f32; sign(W)·sign(h) layer {=usize}x{=usize} = {=usize} B vs {=usize} B f32",
        demo::H,
        4 * demo::WORDS,
        4 * demo::H,
        demo::H,
        demo::H,
        XnorDense::<{ demo::H }, { demo::H }, { demo::WORDS }>::BYTES,
        XnorDense::<{ demo::H }, { demo::H }, { demo::WORDS }>::F32_BYTES
    );
}

/// Rounds to one decimal for the log.
pub(crate) fn r1(v: f32) -> f32 {
    (v * 10.0 + 0.5) as i32 as f32 / 10.0
}

fn fill(trainer: &mut DigitsTrainer, x: &[f32; PIXELS], label: u8) {
    let (bx, bt) = trainer.batch_mut();
    bx.as_mut_slice().copy_from_slice(x);
    digits::one_hot(label, bt.as_mut_slice());
}

/// Learns the digits stream from scratch with `variant` units, then runs its control (the
/// same from the same seed with `η̂ = 0`: the output layer alone learns); exits 0 iff the
/// final held-out accuracy is at least `bar` percent and at least `min_gap` points above the
/// control's, and the flash save reloads after a reset with the same accuracy. After a
/// reset, finds the save and checks it instead of training.
pub fn learn(variant: Variant, bar: f32, min_gap: f32) -> ! {
    measure::paint_stack();
    let cp = match cortex_m::Peripherals::take() {
        Some(p) => p,
        None => defmt::panic!("peripherals taken twice"),
    };
    measure::start_ticks(cp.SYST);
    let trainer = take(&TRAINER, "trainer");
    let payload = take(&PAYLOAD, "payload");
    let mut flash = flash::board(2 * SLOTS.slot_size as usize);
    let mut rng = start(trainer, variant, Learner::Dtp, false);

    // --- After a reset: the newest save must reload with the accuracy it was saved with.
    // (Under QEMU the slots are SSRAM with NOR rules; on the nRF52840-DK, flash through its
    // NVMC; a build without a board feature has no flash driver, so no persistence.)
    let persist = flash.is_some();
    if !persist {
        warn!("no NorFlash driver for the weight slots on this build: persistence off");
    }
    let found = match flash.as_mut().map(|f| storage::load(f, &SLOTS, payload)) {
        Some(Ok(found)) => found,
        Some(Err(e)) => {
            warn!("flash: {}", e);
            None
        }
        None => None,
    };
    match found {
        Some(record) => verify_after_reset(trainer, payload, record, variant, bar),
        None => info!("flash: no saved weights; learning from scratch"),
    }

    if !crate::guard::optimiser_refuses_non_finite() || !crate::guard::update_matches_the_rule() {
        crate::exit(false);
    }
    let (instructions, ticks) = measure::calibrate(1_000_000);
    info!(
        "SysTick calibration: {=u64} instructions in {=u64} ticks",
        instructions, ticks
    );
    memory_report();
    info!(
        "learning {} units, 64-{=usize}-{=usize}-10, one sample per DTP step, {=u32} epochs of {=usize} digits, held-out {=usize}, seed {=u64}",
        variant,
        demo::H,
        demo::H,
        EPOCHS,
        digits::TRAIN,
        digits::HELD_OUT,
        crate::SEED
    );

    let mut source = stream(Shift::None);
    let run = train(
        trainer,
        &mut source,
        EPOCHS,
        variant,
        Learner::Dtp,
        &mut rng,
        flash.as_mut().map(|f| (f, payload)),
    );
    let (last, seen, step_ticks) = (run.last, run.seen, run.step_ticks);
    info!(
        "weights digest after training: {=u32:#010x} (FNV-1a over every weight bit)",
        net_digest(&trainer.net)
    );
    if variant == Variant::Sign {
        profile_step(trainer, &mut source, (instructions, ticks), &mut rng);
    }

    let per_step = step_ticks as f32 / seen as f32;
    info!(
        "step cost: {=f32} ticks = {=f32} instructions per DTP step (x {=u64}/{=u64} from calibration; {=usize} MACs + {=usize} parameter updates per step)",
        r1(per_step),
        r1(per_step * instructions as f32 / ticks as f32),
        instructions,
        ticks,
        demo::STEP_MACS,
        demo::PARAMS
    );
    if variant == Variant::Sign {
        let xnor = take(&XNOR, "XNOR layer");
        info!(
            "held-out with layer 2 binarised (XNOR/popcount, not trained for it): {=f32}%",
            r1(demo::evaluate_xnor(&trainer.net, xnor))
        );
    }
    info!(
        "stack high-water mark: {=usize} of {=usize} B",
        measure::stack_high_water(),
        measure::stack_size()
    );
    // The control overwrites the trainer; the DTP weights are in flash already.
    let control = control_run(trainer, &mut source, variant, Shift::None, EPOCHS, false);
    let ok = judge(last, control, bar, min_gap);
    if ok {
        info!("PASS; resetting to reload the DTP weights from flash");
    } else {
        crate::exit(false)
    }
    if !persist {
        crate::exit(true)
    }
    cortex_m::peripheral::SCB::sys_reset()
}

/// What [`train`] measured.
pub struct Run {
    /// The last held-out evaluation.
    pub last: demo::Eval,
    /// Samples learned.
    pub seen: u32,
    /// SysTick ticks spent inside `Trainer::step`.
    pub step_ticks: u64,
}

/// Learns `epochs` passes of `source` one sample per DTP step (of `learner`'s settings),
/// evaluating the held-out part (through the source's shift) every [`EVAL_EVERY`] samples
/// and at each epoch's end, where the learning rate decays and, with `save_to`, the weights
/// are saved to flash.
pub fn train(
    trainer: &mut DigitsTrainer,
    source: &mut FlashDigits,
    epochs: u32,
    variant: Variant,
    learner: Learner,
    rng: &mut Pcg32,
    mut save_to: Option<(&mut flash::Board, &mut [u8; PAYLOAD_LEN])>,
) -> Run {
    let mut x = [0.0f32; PIXELS];
    let (mut seen, mut step_ticks, mut flips, mut correct, mut since) =
        (0u32, 0u64, 0u32, 0u32, 0u32);
    let mut last = demo::Eval::default();
    let first_epoch = source.epoch;
    while source.epoch < first_epoch + epochs {
        let epoch = source.epoch - first_epoch;
        let label = match source.next_sample(&mut x) {
            Ok(l) => l,
            Err(e) => defmt::panic!("sample stream: {}", e),
        };
        // The negative control of firmware/check-no-panic.sh: a bounds check the optimiser
        // cannot remove, so the no-panic-proof build must fail to link.
        #[cfg(feature = "no-panic-canary")]
        {
            x[core::hint::black_box(0usize)] = x[0];
        }
        fill(trainer, &x, label);
        let t0 = measure::ticks();
        let stats = match trainer.step(rng) {
            Ok(s) => s,
            Err(e) => defmt::panic!("DTP step {=u32}: {}", seen, e),
        };
        step_ticks += measure::ticks() - t0;
        seen += 1;
        since += 1;
        correct += stats.correct;
        if variant == Variant::Sign {
            flips += demo::target_flips(trainer);
        }
        if source.position().is_multiple_of(EVAL_EVERY) {
            last = demo::evaluate(trainer, source.shift);
            let stream = r1(100.0 * correct as f32 / since as f32);
            if variant == Variant::Sign {
                info!(
                    "{} | seen {=u32} | epoch {=u32} | stream acc {=f32}% | held-out {=f32}% (packed-bits path {=f32}%, agree {=u32}/{=u32}) | target flips {=f32}/sample",
                    learner,
                    seen,
                    epoch,
                    stream,
                    r1(last.percent()),
                    r1(last.packed_percent()),
                    last.agree,
                    last.n,
                    r1(flips as f32 / since as f32)
                );
            } else {
                info!(
                    "{} | seen {=u32} | epoch {=u32} | stream acc {=f32}% | held-out {=f32}% (one sampled pass)",
                    learner,
                    seen,
                    epoch,
                    stream,
                    r1(last.percent())
                );
            }
            correct = 0;
            flips = 0;
            since = 0;
        }
        if source.epoch != epoch + first_epoch {
            // The trainer divides the forward learning rate by 1 + epoch.
            trainer.epoch = source.epoch - first_epoch;
            if let Some((flash, payload)) = save_to.as_mut() {
                save(trainer, payload, flash, seen, last.correct);
            }
        }
    }
    Run {
        last,
        seen,
        step_ticks,
    }
}

/// Times the five DTP steps of one sample separately (`Trainer::forward`, `feedback_step`
/// (DTP's `inverse_step`, nothing with the `fw-dtp` feature),
/// `top_target` + `difference_targets`, `forward_step`) and logs them in instructions.
fn profile_step(
    trainer: &mut DigitsTrainer,
    source: &mut FlashDigits,
    (instructions, ticks): (u64, u64),
    rng: &mut Pcg32,
) {
    let mut x = [0.0f32; PIXELS];
    let label = match source.next_sample(&mut x) {
        Ok(l) => l,
        Err(e) => defmt::panic!("sample stream: {}", e),
    };
    fill(trainer, &x, label);
    let per_tick = instructions as f32 / ticks as f32;
    let mut t = [0u64; 5];
    t[0] = measure::ticks();
    let r1_ = trainer.forward(true, rng);
    t[1] = measure::ticks();
    let r2 = trainer.feedback_step(trainer.sigma(), rng);
    t[2] = measure::ticks();
    let r3 = trainer
        .top_target()
        .and_then(|()| trainer.difference_targets(rng));
    t[3] = measure::ticks();
    let r4 = trainer.forward_step();
    t[4] = measure::ticks();
    if r1_.is_err() || r2.is_err() || r3.is_err() || r4.is_err() {
        defmt::panic!("profiled step failed");
    }
    let f = |i: usize| r1((t[i + 1] - t[i]) as f32 * per_tick);
    info!(
        "one DTP step by phase, instructions: forward {=f32} | inverse step (incl. the update of {=usize} inverse params) {=f32} | top + difference targets {=f32} | forward step (incl. the update of {=usize} params) {=f32}",
        f(0),
        demo::FEEDBACK_PARAMS,
        f(1),
        f(2),
        demo::DigitsNet::FORWARD_PARAMS,
        f(3)
    );
}

fn init_for(variant: Variant) -> Init {
    match variant {
        Variant::Sign => Init::Orthogonal,
        Variant::Bernoulli => Init::Uniform,
    }
}

/// Sets `trainer` up for `learner` from the demos' seed (random weights, or with `from_host`
/// the host-trained ones) and returns the generator, so DTP and its control start alike.
pub(crate) fn start(
    trainer: &mut DigitsTrainer,
    variant: Variant,
    learner: Learner,
    from_host: bool,
) -> Pcg32 {
    let mut rng = rng();
    if let Err(e) = trainer.init(learner.config(variant), init_for(variant), &mut rng) {
        defmt::panic!("config: {}", e);
    }
    if from_host {
        match trainer.net.read_blob(HOST_WEIGHTS) {
            Ok(units) if units == demo::config(variant).units => {}
            Ok(_) => defmt::panic!("host weights are for other units"),
            Err(e) => defmt::panic!("host weights: {}", e),
        }
    }
    rng
}

/// `dtp_digits::digest::fnv1a` over the bits of the input and hidden layers' weights and biases.
fn hidden_digest(net: &DigitsNet) -> u32 {
    fnv1a(&[
        net.first.w.as_slice(),
        net.first.b.as_slice(),
        net.hidden[0].w.as_slice(),
        net.hidden[0].b.as_slice(),
    ])
}

/// `dtp_digits::digest::fnv1a` over the bits of every weight and bias, the inverse's included: equal on every board
/// and float ABI exactly when they computed the same bits (the Cortex-M4F's assembly loops and
/// the Cortex-M3's portable Rust and software floats, `.ci/run` compares them).
fn net_digest(net: &DigitsNet) -> u32 {
    fnv1a(&[
        net.first.w.as_slice(),
        net.first.b.as_slice(),
        net.hidden[0].w.as_slice(),
        net.hidden[0].b.as_slice(),
        net.output.w.as_slice(),
        net.output.b.as_slice(),
        net.inverse[0].w.as_slice(),
        net.inverse[0].b.as_slice(),
    ])
}

/// The control of a demo: the same start, stream (through `shift`), generator and
/// learning-rate decay as the DTP run, with `η̂ = 0`. Returns its last held-out evaluation;
/// panics if a hidden layer moved (then it would not be the output-layer-only control).
fn control_run(
    trainer: &mut DigitsTrainer,
    source: &mut FlashDigits,
    variant: Variant,
    shift: Shift,
    epochs: u32,
    from_host: bool,
) -> demo::Eval {
    let mut rng = start(trainer, variant, Learner::Control, from_host);
    let hidden = hidden_digest(&trainer.net);
    info!("control: the same run with eta-hat = 0 (only the output layer learns)");
    source.restart(shift);
    let run = train(
        trainer,
        source,
        epochs,
        variant,
        Learner::Control,
        &mut rng,
        None,
    );
    if hidden_digest(&trainer.net) != hidden {
        defmt::panic!("control: a hidden layer moved");
    }
    run.last
}

/// Logs DTP's and the control's held-out figures; true iff DTP reached `bar` percent and
/// beat the control by at least `min_gap` points.
pub(crate) fn judge(dtp: demo::Eval, control: demo::Eval, bar: f32, min_gap: f32) -> bool {
    let gap = dtp.percent() - control.percent();
    let ok = dtp.percent() >= bar && gap >= min_gap;
    let verdict = if ok { "PASS" } else { "FAIL" };
    if ok {
        info!(
            "held-out: DTP {=f32}% (bar {=f32}%) vs control (eta-hat = 0, output layer only) {=f32}%: DTP ahead by {=f32} points (required {=f32}): {=str}",
            r1(dtp.percent()),
            bar,
            r1(control.percent()),
            r1(gap),
            min_gap,
            verdict
        );
    } else {
        error!(
            "held-out: DTP {=f32}% (bar {=f32}%) vs control (eta-hat = 0, output layer only) {=f32}%: DTP ahead by {=f32} points (required {=f32}): {=str}",
            r1(dtp.percent()),
            bar,
            r1(control.percent()),
            r1(gap),
            min_gap,
            verdict
        );
    }
    ok
}

/// Writes the weights and the figures they were saved with into the next flash slot.
pub fn save(
    trainer: &DigitsTrainer,
    payload: &mut [u8; PAYLOAD_LEN],
    flash: &mut flash::Board,
    seen: u32,
    correct: u32,
) {
    let units = trainer.config().units;
    if let Err(e) = trainer
        .net
        .write_blob(&units, &mut payload[..DigitsNet::BLOB_LEN])
    {
        defmt::panic!("blob: {}", e);
    }
    payload[DigitsNet::BLOB_LEN..][..4].copy_from_slice(&seen.to_le_bytes());
    payload[DigitsNet::BLOB_LEN + 4..].copy_from_slice(&correct.to_le_bytes());
    match storage::save(flash, &SLOTS, payload) {
        Ok(r) => info!(
            "flash: saved {=usize} B to slot {=usize} (seq {=u32})",
            r.len, r.slot, r.seq
        ),
        Err(e) => defmt::panic!("flash save: {}", e),
    }
}

fn verify_after_reset(
    trainer: &mut DigitsTrainer,
    payload: &[u8; PAYLOAD_LEN],
    record: storage::Record,
    variant: Variant,
    bar: f32,
) -> ! {
    let word = |at: usize| {
        let mut w = [0u8; 4];
        if let Some(bytes) = payload.get(at..at + 4) {
            w.copy_from_slice(bytes);
        }
        u32::from_le_bytes(w)
    };
    let (seen, saved_correct) = (word(DigitsNet::BLOB_LEN), word(DigitsNet::BLOB_LEN + 4));
    match trainer.net.read_blob(&payload[..DigitsNet::BLOB_LEN]) {
        Ok(units) if units == demo::config(variant).units => {}
        Ok(_) => defmt::panic!("saved weights are for other units"),
        Err(e) => defmt::panic!("saved blob: {}", e),
    }
    let e = demo::evaluate(trainer, Shift::None);
    info!(
        "after reset: loaded slot {=usize} (seq {=u32}, {=u32} samples learned): held-out {=u32}/{=u32} = {=f32}%, saved with {=u32}/{=u32}",
        record.slot,
        record.seq,
        seen,
        e.correct,
        e.n,
        r1(e.percent()),
        saved_correct,
        e.n
    );
    let ok = e.correct == saved_correct && e.percent() >= bar;
    if ok {
        info!("weights survived the reset: PASS");
    } else {
        error!("weights did not survive the reset: FAIL");
    }
    crate::exit(ok)
}

/// The host-trained starting weights of the adaptation demo (`dtp_core::blob`): made by
/// `firmware/make-weights.sh`, i.e. `dtp train --preset digits-firmware` then
/// `dtp export runs/digits-firmware --firmware firmware/weights/digits-sign-64-32-32-10.dtpw`.
static HOST_WEIGHTS: &[u8] = include_bytes!("../weights/digits-sign-64-32-32-10.dtpw");

/// Adaptation: loads the host-trained sign network, shows its held-out accuracy on clean and
/// on `shift`ed digits, then learns `epochs` passes of the shifted stream on the device, and
/// runs the control (the same from the same weights with `η̂ = 0`: the output layer alone
/// adapts). Exits 0 iff the shifted held-out accuracy ends at least `bar` percent, at least
/// `min_gain` points above where it started and at least `min_gap` points above the
/// control's.
pub fn adapt(shift: Shift, epochs: u32, bar: f32, min_gain: f32, min_gap: f32) -> ! {
    measure::paint_stack();
    let cp = match cortex_m::Peripherals::take() {
        Some(p) => p,
        None => defmt::panic!("peripherals taken twice"),
    };
    measure::start_ticks(cp.SYST);
    let trainer = take(&TRAINER, "trainer");
    let variant = Variant::Sign;
    let mut rng = start(trainer, variant, Learner::Dtp, true);
    info!(
        "adaptation: host-trained 64-{=usize}-{=usize}-10 sign network ({=usize} B blob from `dtp export --firmware` of a `digits-firmware` checkpoint), input shift {}",
        demo::H,
        demo::H,
        HOST_WEIGHTS.len(),
        shift
    );
    let clean = demo::evaluate(trainer, Shift::None);
    let before = demo::evaluate(trainer, shift);
    info!(
        "before adapting: held-out clean {=f32}% | shifted {=f32}% (packed-bits path {=f32}%)",
        r1(clean.percent()),
        r1(before.percent()),
        r1(before.packed_percent())
    );
    let mut source = stream(shift);
    let run = train(
        trainer,
        &mut source,
        epochs,
        variant,
        Learner::Dtp,
        &mut rng,
        None,
    );
    let after_clean = demo::evaluate(trainer, Shift::None);
    let gain = run.last.percent() - before.percent();
    info!(
        "after {=u32} on-device DTP steps: held-out shifted {=f32}% (from {=f32}%, +{=f32} points) | clean {=f32}%",
        run.seen,
        r1(run.last.percent()),
        r1(before.percent()),
        r1(gain),
        r1(after_clean.percent())
    );
    let control = control_run(trainer, &mut source, variant, shift, epochs, true);
    info!(
        "stack high-water mark: {=usize} of {=usize} B",
        measure::stack_high_water(),
        measure::stack_size()
    );
    let beats_control = judge(run.last, control, bar, min_gap);
    let gained = gain >= min_gain;
    if gained {
        info!("gained >= {=f32} points: PASS", min_gain);
    } else {
        error!("gained < {=f32} points: FAIL", min_gain);
    }
    crate::exit(beats_control && gained)
}
