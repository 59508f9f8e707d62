//! Learning from a sensor stream the way a device would (the `sensor_stream` example).
//!
//! - The **producer** is an interrupt: every [`PERIOD_TICKS`] SysTick ticks, [`Sensor`] reads
//!   one frame (64 pixel bytes, as an ADC or an I²C driver would hand them over, and its
//!   label) and pushes it into a `heapless::spsc::Queue`; a full queue drops the frame (and
//!   counts it), as a real driver must.
//! - The **consumer** is the main loop: it takes frames from the queue and runs one DTP step
//!   on each (`FusedTrainer<64, 32, 10, 1>` in a `static`, `Config::FIRMWARE_SIGN`, at a
//!   constant learning rate: a stream has no epochs), evaluates now and then on held-out
//!   digits through the sensor's *current* state, and saves the weights to flash with
//!   `dtp_core::storage` at the end of each phase.
//! - Under QEMU the sensor is simulated: the training digits from flash ([`FlashDigits`]),
//!   through a [`Drift`] that changes with the frame counter. Phase 0: the sensor as mounted.
//!   Phase 1: it was remounted a quarter turn (pixel (r, c) → (c, 7 − r)), and from then on
//!   it ages: its gain sags from 1 to 0.6 and a background offset rises from 0 to 0.2 of full
//!   scale over the phase. The device is not told when: it only sees frames.
//!
//! [`run`] streams the whole schedule with DTP, then the same with its control (`η̂ = 0`:
//! only the output layer learns, on the random hidden layers it started with), then reloads
//! DTP's weights from flash and checks they score what they were saved with.

use crate::atomic::{AtomicBool, AtomicU32, Ordering};
use crate::cell::Once;
use crate::demo::{self, DigitsTrainer, Eval, Learner, Variant};
use crate::digits::{self, PIXELS};
use crate::flash;
use crate::measure;
use crate::run::{self, PAYLOAD_LEN, SLOTS, r1};
use crate::source::{FlashDigits, SampleSource, Shift};
use core::cell::RefCell;
use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::SYST;
use defmt::{error, info, warn};
use dtp_core::storage;
use heapless::spsc::{Consumer, Producer, Queue};
use rand_pcg::Pcg32;

/// SysTick ticks between two sensor frames. Under QEMU: 10,000 ticks = 400,000 instructions
/// under `-icount shift=0` (about twice a DTP step). On the nRF52840-DK (SysTick at the 64 MHz
/// core clock): 500,000 cycles, 7.8 ms.
pub const PERIOD_TICKS: u32 = if cfg!(feature = "nrf52840-dk") {
    500_000
} else {
    10_000
};
/// Frames of one phase of the drift: two passes over the 1,438 training digits.
pub const PHASE_FRAMES: u32 = 2 * digits::TRAIN as u32;
/// Phases: as mounted, then turned and ageing.
pub const PHASES: u32 = 2;
/// Queue slots between the interrupt and the main loop.
pub const QUEUE_SLOTS: usize = 8;
/// Evaluate on held-out digits every this many DTP steps.
pub const EVAL_EVERY: u32 = 719;

/// One sensor reading: pixels `0..=255` (row-major 8×8), the label, and the frame counter.
#[derive(Clone, Copy)]
pub struct Frame {
    /// Pixel intensities.
    pub pixels: [u8; PIXELS],
    /// The class, `0..10`.
    pub label: u8,
    /// Frames the sensor had produced before this one (its clock).
    pub seq: u32,
}

/// The state of the simulated sensor at one moment.
#[derive(Clone, Copy, Debug, PartialEq, defmt::Format)]
pub struct Drift {
    /// Remounted a quarter turn.
    pub turned: bool,
    /// Reading = offset + gain × light, clipped to full scale.
    pub gain: f32,
    /// Background offset, in full scale.
    pub offset: f32,
}

impl Drift {
    /// The sensor when it produces frame `seq` (see the module's documentation).
    pub fn at(seq: u32) -> Drift {
        if seq < PHASE_FRAMES {
            Drift {
                turned: false,
                gain: 1.0,
                offset: 0.0,
            }
        } else {
            let t = ((seq - PHASE_FRAMES) as f32 / PHASE_FRAMES as f32).min(1.0);
            Drift {
                turned: true,
                gain: 1.0 - 0.4 * t,
                offset: 0.2 * t,
            }
        }
    }

    /// Reads the scene `x` (light in `[0, 1]`, modified in place) as the sensor's bytes.
    pub fn read(&self, x: &mut [f32; PIXELS], out: &mut [u8; PIXELS]) {
        if self.turned {
            Shift::Rotate.apply(x);
        }
        for (o, &v) in out.iter_mut().zip(x.iter()) {
            *o = ((self.offset + self.gain * v).clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
        }
    }
}

/// The simulated sensor: the interrupt side of the queue.
pub struct Sensor {
    scenes: FlashDigits,
    seq: u32,
    queue: Producer<'static, Frame>,
}

impl Sensor {
    /// Produces one frame into the queue, or counts it dropped if the queue is full; after
    /// the last phase, the sensor is off.
    fn sample(&mut self) {
        if self.seq >= PHASES * PHASE_FRAMES {
            DONE.store(true, Ordering::Release);
            return;
        }
        let mut x = [0.0f32; PIXELS];
        let label = match self.scenes.next_sample(&mut x) {
            Ok(l) => l,
            Err(e) => defmt::panic!("sample stream: {}", e),
        };
        let mut frame = Frame {
            pixels: [0; PIXELS],
            label,
            seq: self.seq,
        };
        Drift::at(self.seq).read(&mut x, &mut frame.pixels);
        if self.queue.enqueue(frame).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        self.seq += 1;
    }
}

static QUEUE: Once<Queue<Frame, QUEUE_SLOTS>> = Once::new(Queue::new());
static SENSOR: Mutex<RefCell<Option<Sensor>>> = Mutex::new(RefCell::new(None));
/// Set by the interrupt once the sensor has produced its last frame.
static DONE: AtomicBool = AtomicBool::new(false);
/// Frames the queue had no room for.
static DROPPED: AtomicU32 = AtomicU32::new(0);
/// SysTick ticks spent producing frames (inside the interrupt).
static ISR_TICKS: AtomicU32 = AtomicU32::new(0);

/// The SysTick hook: one frame.
fn on_tick() {
    let start = SYST::get_current();
    interrupt::free(|cs| {
        // Borrowed only inside critical sections, so never busy: `try_` keeps a panic path out.
        if let Ok(mut slot) = SENSOR.borrow(cs).try_borrow_mut()
            && let Some(sensor) = slot.as_mut()
        {
            sensor.sample();
        }
    });
    // SysTick counts down; the frame takes far less than a period, so no wrap in between.
    ISR_TICKS.fetch_add(start.saturating_sub(SYST::get_current()), Ordering::Relaxed);
}

/// Restarts the simulated sensor at frame 0 (for the control run) and empties the queue.
fn restart(consumer: &mut Consumer<'static, Frame>) {
    interrupt::free(|cs| {
        // Borrowed only inside critical sections, so never busy: `try_` keeps a panic path out.
        if let Ok(mut slot) = SENSOR.borrow(cs).try_borrow_mut()
            && let Some(sensor) = slot.as_mut()
        {
            sensor.scenes.restart(Shift::None);
            sensor.seq = 0;
        }
        while consumer.dequeue().is_some() {}
        DONE.store(false, Ordering::Release);
        DROPPED.store(0, Ordering::Relaxed);
        ISR_TICKS.store(0, Ordering::Relaxed);
    });
}

/// The trainer: weights, inverse, optimiser state, buffers; all zero bits, so `.bss`.
/// (`FixedTrainer::ZERO` would do as well, but its unconfigured `Config` is not zero bits,
/// which puts the whole trainer in `.data`: 88 KB of flash copied to RAM at reset.)
// SAFETY: `Trainer` is `bytemuck::Zeroable` (all-zero is a valid value).
static TRAINER: Once<DigitsTrainer> = Once::new(unsafe { core::mem::zeroed() });
static PAYLOAD: Once<[u8; PAYLOAD_LEN]> = Once::new([0; PAYLOAD_LEN]);

/// Held-out digits read through the sensor in state `drift` (`demo::held_out`, without the
/// packed path).
pub fn evaluate(trainer: &mut DigitsTrainer, drift: Drift) -> Eval {
    let mut bytes = [0u8; PIXELS];
    demo::held_out(trainer, false, |trainer, x, label| {
        drift.read(x, &mut bytes);
        load(trainer, &bytes, label);
    })
}

/// Puts one frame into the trainer's one-sample batch: pixels scaled to `[0, 1]`, one-hot
/// label.
fn load(trainer: &mut DigitsTrainer, pixels: &[u8; PIXELS], label: u8) {
    let (x, t) = trainer.batch_mut();
    for (v, &b) in x.iter_mut().zip(pixels) {
        *v = b as f32 * (1.0 / 255.0);
    }
    digits::one_hot(label, t.as_mut_slice());
}

/// What one pass of the schedule measured.
#[derive(Default)]
pub struct Stream {
    /// Held-out at the end of each phase, through the sensor at that moment.
    pub end: [Eval; PHASES as usize],
    /// Held-out at the start of phase 1 with the weights of the end of phase 0.
    pub before_following: Eval,
    /// DTP steps run (frames learned).
    pub steps: u32,
    /// Frames dropped because the queue was full.
    pub dropped: u32,
    /// SysTick ticks inside `Trainer::step`.
    pub step_ticks: u64,
    /// SysTick ticks the interrupt spent producing frames.
    pub isr_ticks: u32,
    /// The sensor's frame counter at the last save, and held-out correct then.
    pub saved: (u32, u32),
}

/// The main loop: frames from the queue, one DTP step each, until the sensor is off.
fn stream(
    trainer: &mut DigitsTrainer,
    frames: &mut Consumer<'static, Frame>,
    learner: Learner,
    rng: &mut Pcg32,
    mut save_to: Option<(&mut flash::Board, &mut [u8; PAYLOAD_LEN])>,
) -> Stream {
    let mut out = Stream::default();
    let (mut phase, mut correct, mut since) = (0u32, 0u32, 0u32);
    let mut end_phase = |trainer: &mut DigitsTrainer, phase: u32, out: &mut Stream| {
        let last = (phase + 1) * PHASE_FRAMES - 1;
        let drift = Drift::at(last);
        let e = evaluate(trainer, drift);
        info!(
            "{} | end of phase {=u32} ({}) | held-out {=f32}% ({=u32}/{=u32})",
            learner,
            phase,
            drift,
            r1(e.percent()),
            e.correct,
            e.n
        );
        out.end[phase as usize] = e;
        if let Some((flash, payload)) = save_to.as_mut() {
            run::save(trainer, payload, flash, last, e.correct);
            out.saved = (last, e.correct);
        }
    };
    loop {
        // Read before looking at the queue: if the sensor was off already, an empty queue
        // means every frame was taken.
        let off = DONE.load(Ordering::Acquire);
        let frame = match frames.dequeue() {
            Some(f) => f,
            None if off => break,
            None => {
                // Sleep until the next interrupt (the next frame).
                cortex_m::asm::wfi();
                continue;
            }
        };
        let p = (frame.seq / PHASE_FRAMES).min(PHASES - 1);
        if p != phase {
            end_phase(trainer, phase, &mut out);
            phase = p;
            out.before_following = evaluate(trainer, Drift::at(frame.seq));
            info!(
                "{} | the sensor changed ({}): held-out with the weights of phase {=u32} {=f32}%",
                learner,
                Drift::at(frame.seq),
                phase - 1,
                r1(out.before_following.percent())
            );
        }
        load(trainer, &frame.pixels, frame.label);
        let t0 = measure::ticks();
        let stats = match trainer.step(rng) {
            Ok(s) => s,
            Err(e) => defmt::panic!("DTP step {=u32}: {}", out.steps, e),
        };
        out.step_ticks += measure::ticks() - t0;
        out.steps += 1;
        correct += stats.correct;
        since += 1;
        if out.steps % EVAL_EVERY == 0 {
            let e = evaluate(trainer, Drift::at(frame.seq));
            info!(
                "{} | frame {=u32} | steps {=u32} | dropped {=u32} | stream acc {=f32}% | held-out now {=f32}%",
                learner,
                frame.seq,
                out.steps,
                DROPPED.load(Ordering::Relaxed),
                r1(100.0 * correct as f32 / since as f32),
                r1(e.percent())
            );
            (correct, since) = (0, 0);
        }
    }
    end_phase(trainer, phase, &mut out);
    out.dropped = DROPPED.load(Ordering::Relaxed);
    out.isr_ticks = ISR_TICKS.load(Ordering::Relaxed);
    out
}

/// The example: DTP on the drifting stream, then its control, then the weights reloaded
/// from flash. Exits 0 iff DTP's held-out accuracy at the end (turned, aged sensor) is at
/// least `bar` percent and `min_gap` points above the control's, and the reloaded weights
/// score what they were saved with.
pub fn run(bar: f32, min_gap: f32) -> ! {
    measure::paint_stack();
    let cp = match cortex_m::Peripherals::take() {
        Some(p) => p,
        None => defmt::panic!("peripherals taken twice"),
    };
    let trainer = run::take(&TRAINER, "trainer");
    let payload = run::take(&PAYLOAD, "payload");
    let mut flash = flash::board(2 * SLOTS.slot_size as usize);

    // At boot a device resumes from its newest save. (Under QEMU the slots start blank.)
    let mut rng = run::start(trainer, Variant::Sign, Learner::Dtp, false);
    match flash.as_mut().map(|f| storage::load(f, &SLOTS, payload)) {
        Some(Ok(Some(r))) => match trainer.net.read_blob(&payload[..demo::DigitsNet::BLOB_LEN]) {
            Ok(_) => info!(
                "flash: resuming from slot {=usize} (seq {=u32})",
                r.slot, r.seq
            ),
            Err(e) => defmt::panic!("saved blob: {}", e),
        },
        Some(Ok(None)) => info!("flash: no saved weights; learning from scratch"),
        Some(Err(e)) => warn!("flash: {}", e),
        None => warn!("no NorFlash driver for the weight slots on this build: persistence off"),
    }

    // The queue: the consumer stays here, the producer goes to the interrupt.
    let (producer, mut consumer) = run::take(&QUEUE, "queue").split();
    let sensor = Sensor {
        scenes: run::stream(Shift::None),
        seq: 0,
        queue: producer,
    };
    interrupt::free(|cs| match SENSOR.borrow(cs).try_borrow_mut() {
        Ok(mut slot) => *slot = Some(sensor),
        Err(_) => defmt::panic!("sensor busy"),
    });
    measure::start_ticks_every(cp.SYST, PERIOD_TICKS, Some(on_tick));
    let (instructions, ticks) = measure::calibrate(1_000_000);
    let per_tick = instructions as f32 / ticks as f32;
    info!(
        "sensor stream: a frame every {=u32} SysTick ticks ({=f32} instructions) into a {=usize}-slot heapless::spsc::Queue; {=u32} phases of {=u32} frames; 64-{=usize}-{=usize}-10 sign units, one DTP step per frame",
        PERIOD_TICKS,
        r1(PERIOD_TICKS as f32 * per_tick),
        QUEUE_SLOTS,
        PHASES,
        PHASE_FRAMES,
        demo::H,
        demo::H
    );

    let dtp = stream(
        trainer,
        &mut consumer,
        Learner::Dtp,
        &mut rng,
        flash.as_mut().map(|f| (f, &mut *payload)),
    );
    let per_step = dtp.step_ticks as f32 / dtp.steps as f32 * per_tick;
    info!(
        "DTP: {=u32} steps, {=u32} frames dropped | {=f32} instructions per DTP step | {=f32} instructions per frame in the interrupt | stack high-water mark {=usize} of {=usize} B",
        dtp.steps,
        dtp.dropped,
        r1(per_step),
        r1(dtp.isr_ticks as f32 * per_tick / (PHASES * PHASE_FRAMES) as f32),
        measure::stack_high_water(),
        measure::stack_size()
    );

    info!("control: the same stream with eta-hat = 0 (only the output layer learns)");
    // Initialise first: the sensor keeps producing while the trainer is set up.
    let mut rng = run::start(trainer, Variant::Sign, Learner::Control, false);
    restart(&mut consumer);
    let control = stream(trainer, &mut consumer, Learner::Control, &mut rng, None);
    info!(
        "control: {=u32} steps, {=u32} frames dropped",
        control.steps, control.dropped
    );
    info!(
        "phase 0 (as mounted): DTP {=f32}% vs control {=f32}% | after the sensor turned, before following: DTP {=f32}% vs control {=f32}%",
        r1(dtp.end[0].percent()),
        r1(control.end[0].percent()),
        r1(dtp.before_following.percent()),
        r1(control.before_following.percent())
    );
    let last = PHASES as usize - 1;
    let beats = run::judge(dtp.end[last], control.end[last], bar, min_gap);

    // The control overwrote the trainer: DTP's weights come back from flash.
    let reloaded = match flash.as_mut().map(|f| storage::load(f, &SLOTS, payload)) {
        Some(Ok(Some(r))) => {
            if let Err(e) = trainer.net.read_blob(&payload[..demo::DigitsNet::BLOB_LEN]) {
                defmt::panic!("saved blob: {}", e);
            }
            let e = evaluate(trainer, Drift::at(dtp.saved.0));
            let ok = e.correct == dtp.saved.1;
            let log = if ok { "PASS" } else { "FAIL" };
            info!(
                "flash: reloaded slot {=usize} (seq {=u32}, saved at frame {=u32}): held-out {=u32}/{=u32}, saved with {=u32}: {=str}",
                r.slot, r.seq, dtp.saved.0, e.correct, e.n, dtp.saved.1, log
            );
            ok
        }
        Some(Ok(None)) => {
            error!("flash: no save found");
            false
        }
        Some(Err(e)) => {
            error!("flash: {}", e);
            false
        }
        None => true,
    };
    crate::exit(beats && reloaded)
}
