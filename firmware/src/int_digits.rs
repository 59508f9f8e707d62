//! The integer demo (`learn_digits_int`): the 64-32-32-10 sign-unit net of `learn_digits`,
//! trained by `dtp_core::int` — DTP's five steps in integer arithmetic (i16 weights, no
//! floating point, no division in the step) — one sample a step on the same 8×8 digits
//! stream, held-out split and seed, then its `η̂ = 0` control; the weights saved to flash must
//! reload after a reset with the accuracy they were saved with.
//!
//! Built for the Cortex-M0 (micro:bit, 16 KiB of RAM), the M3 and the M4F. RAM: the trainer
//! (weights, inverse, biases and step buffers: ≈ 2.3 B a parameter, in `.data`), the logger and
//! the stack; the training order lives in flash (`build.rs` writes each epoch's order, the one
//! `source::FlashDigits` makes at run time). Only integer arithmetic runs between the two
//! timer reads around `step::step`; the log's figures are formatted by the host (defmt).

use crate::cell::Once;
use crate::digits::{self, CLASSES, PIXELS};
use crate::flash::{self, PAGE};
use crate::measure;
use crate::run::take;
use defmt::{error, info};
use dtp_core::int::{Arrays, Input, IntTrainer, Settings, buffers, params};
use dtp_core::step;
use dtp_core::storage::{self, Slots};
use rand_pcg::Pcg32;

/// Hidden width (two hidden layers, as `learn_digits`).
pub const H: usize = 32;
/// Layer widths.
pub const WIDTHS: [usize; 4] = [PIXELS, H, H, CLASSES];
/// Parameters: forward weights and biases, then the inverse's.
pub const PARAMS: usize = params(&WIDTHS);
/// The integer network's storage.
pub type Net = Arrays<4, PARAMS, { buffers(&WIDTHS) }>;
/// The integer trainer.
pub type Trainer = IntTrainer<Net>;
/// Training passes over the 1438 training digits (`build.rs`'s `INT_EPOCHS`).
pub const EPOCHS: usize = 4;

/// The trainer, set up in a `const` (its widths and settings): `.data`.
static TRAINER: Once<Trainer> = Once::new(IntTrainer::new(Net::new(WIDTHS), Settings::DIGITS));
/// Each epoch's order of the training digits (u16 LE), from `build.rs`.
static ORDERS: &[u8; EPOCHS * digits::TRAIN * 2] =
    include_bytes!(concat!(env!("OUT_DIR"), "/digits_orders.bin"));

/// Instructions per integer DTP step the demo allows (issue 27's targets): 60,000 on a core
/// with the DSP extension (Cortex-M4F/M7/M33), 250,000 elsewhere (Cortex-M0/M0+, M3).
const MAX_INSTRUCTIONS: u64 = if cfg!(target_feature = "dsp") {
    60_000
} else {
    250_000
};
/// Stack the demo requires to be left unused at its high-water mark, in bytes.
const MIN_SPARE_STACK: usize = 2048;

/// The trainer's generator stream, as the float demos'.
const TRAINER_STREAM: u64 = 0x0a02_bdbf_7bb3_c0a7;
/// Bytes of the weights' save (the parameters, i16 little-endian).
const WEIGHT_BYTES: usize = PARAMS * 2;
/// The weights' two slots, then the figures' two (held-out correct, samples seen).
const WEIGHT_SLOTS: Slots = Slots {
    base: 0,
    slot_size: ((WEIGHT_BYTES + storage::HEADER_LEN).div_ceil(PAGE) * PAGE) as u32,
};
const FIGURE_SLOTS: Slots = Slots {
    base: 2 * WEIGHT_SLOTS.slot_size,
    slot_size: PAGE as u32,
};
/// Flash for both pairs of slots.
const FLASH_LEN: usize = 2 * (WEIGHT_SLOTS.slot_size + FIGURE_SLOTS.slot_size) as usize;

/// Training digit number `j` of epoch `epoch`'s order.
fn order(epoch: usize, k: usize) -> usize {
    let at = 2 * (epoch * digits::TRAIN + k);
    match ORDERS.get(at..at + 2) {
        Some(&[lo, hi]) => usize::from(u16::from_le_bytes([lo, hi])),
        _ => defmt::panic!("no order entry {=usize}", at),
    }
}

/// Writes sample `i` into the trainer (4-bit pixels as Q8 inputs, its label).
fn fill(t: &mut Trainer, i: usize) {
    let label = match digits::sample_4bit(i, t.input_mut(), |q| Input::from_4bit(q).0) {
        Some(l) => l,
        None => defmt::panic!("no digit {=usize}", i),
    };
    t.set_label(u16::from(label));
}

/// Correctly classified held-out digits (of 359).
fn held_out(t: &mut Trainer, rng: &mut Pcg32) -> u32 {
    let mut correct = 0;
    for j in 0..digits::HELD_OUT {
        fill(t, digits::held_out_index(j));
        match step::evaluate(t, rng) {
            Ok(s) => correct += s.correct,
            Err(e) => defmt::panic!("evaluate: {}", e),
        }
    }
    correct
}

/// Percent (one decimal) of `correct` held-out digits, in tenths, for the log.
fn tenths(correct: u32) -> u32 {
    (correct * 1000 + digits::HELD_OUT as u32 / 2) / digits::HELD_OUT as u32
}

/// What one run measured.
struct Run {
    correct: u32,
    seen: u32,
    step_ticks: u64,
}

/// `EPOCHS` passes of the training digits in the flash orders, one integer DTP step each,
/// from the demos' seed, with `settings`.
fn train(t: &mut Trainer, settings: Settings, name: &str) -> Run {
    let mut rng = Pcg32::new(crate::SEED, TRAINER_STREAM);
    if !t.set_settings(settings) {
        defmt::panic!("invalid integer settings");
    }
    t.init(&mut rng);
    let mut run = Run {
        correct: 0,
        seen: 0,
        step_ticks: 0,
    };
    for epoch in 0..EPOCHS {
        let mut stream = 0u32;
        for k in 0..digits::TRAIN {
            fill(t, digits::train_index(order(epoch, k)));
            // firmware/check-no-float.sh's negative control: one f32 division in the loop.
            #[cfg(feature = "float-canary")]
            {
                let x = core::hint::black_box(t.output().first().copied().unwrap_or(0)) as f32;
                core::hint::black_box(x / core::hint::black_box(3.0f32));
            }
            let t0 = measure::ticks();
            match step::step(t, &mut rng) {
                Ok(s) => stream += s.correct,
                Err(e) => defmt::panic!("integer DTP step {=u32}: {}", run.seen, e),
            }
            run.step_ticks += measure::ticks() - t0;
            run.seen += 1;
        }
        run.correct = held_out(t, &mut rng);
        info!(
            "{=str} | seen {=u32} | epoch {=usize} | stream acc {=u32}/{=usize} | held-out {=u32}/{=usize} = {=u32} per mille",
            name,
            run.seen,
            epoch,
            stream,
            digits::TRAIN,
            run.correct,
            digits::HELD_OUT,
            tenths(run.correct)
        );
    }
    run
}

/// FNV-1a (32 bits) over the little-endian bytes of every parameter.
pub fn digest(params: &[i16]) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for b in params.iter().flat_map(|p| p.to_le_bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// The parameters as bytes (little-endian on every Cortex-M).
fn bytes(params: &[i16]) -> &[u8] {
    bytemuck::cast_slice(params)
}

/// After a reset: the newest weights reload, and give the held-out figure saved with them.
fn verify_after_reset(t: &mut Trainer, nor: &mut flash::Board) -> bool {
    let mut figures = [0u8; 8];
    let saved = match storage::load(nor, &FIGURE_SLOTS, &mut figures) {
        Ok(Some(r)) if r.len == 8 => u32::from_le_bytes([figures[0], figures[1], figures[2], figures[3]]),
        _ => {
            error!("flash: weights without their figures");
            return false;
        }
    };
    let mut rng = Pcg32::new(crate::SEED, TRAINER_STREAM);
    t.init(&mut rng);
    let loaded = storage::load(nor, &WEIGHT_SLOTS, bytemuck::cast_slice_mut(t.params_mut()));
    match loaded {
        Ok(Some(r)) if r.len == WEIGHT_BYTES => {}
        _ => {
            error!("flash: the weights do not reload");
            return false;
        }
    }
    let now = held_out(t, &mut rng);
    let ok = now == saved;
    info!(
        "after reset: weights reloaded from flash (digest {=u32:#010x}): held-out {=u32}/{=usize}, saved with {=u32}: {=str}",
        digest(t.params()),
        now,
        digits::HELD_OUT,
        saved,
        if ok { "PASS" } else { "FAIL" }
    );
    ok
}

/// The demo. Exits 0 iff integer DTP reaches `bar_tenths` per mille held-out, leads its
/// control by `min_gap_tenths`, its step takes at most [`MAX_INSTRUCTIONS`], at least
/// [`MIN_SPARE_STACK`] bytes of stack stay unused, and its weights survive a reset.
pub fn run(bar_tenths: u32, min_gap_tenths: u32) -> ! {
    measure::paint_stack();
    let cp = match cortex_m::Peripherals::take() {
        Some(p) => p,
        None => defmt::panic!("peripherals taken twice"),
    };
    measure::start_ticks(cp.SYST);
    let t = take(&TRAINER, "trainer");
    // The board's flash for the save (`None` on a board without a driver here: the RP2040).
    let mut nor = flash::board(FLASH_LEN);
    // --- After a reset: the saved weights must reload with their accuracy. ---
    let mut probe = [0u8; 8];
    if let Some(nor) = nor.as_mut()
        && let Ok(Some(_)) = storage::load(nor, &FIGURE_SLOTS, &mut probe)
    {
        crate::exit(verify_after_reset(t, nor));
    }
    let (instructions, ticks) = measure::calibrate(1_000_000);
    info!(
        "SysTick calibration: {=u64} instructions in {=u64} ticks",
        instructions, ticks
    );
    let bytes_ = core::mem::size_of::<Trainer>();
    info!(
        "memory: integer trainer {=usize} B for {=usize} parameters = {=usize}.{=usize} B/param (i16 weights, no optimiser state); stack {=usize} B",
        bytes_,
        PARAMS,
        bytes_ / PARAMS,
        bytes_ * 100 / PARAMS % 100,
        measure::stack_size()
    );
    info!(
        "learning integer sign units, {=usize}-{=usize}-{=usize}-{=usize}, one sample per DTP step, {=usize} epochs of {=usize} digits, held-out {=usize}, seed {=u64}",
        PIXELS,
        H,
        H,
        CLASSES,
        EPOCHS,
        digits::TRAIN,
        digits::HELD_OUT,
        crate::SEED
    );
    let dtp = train(t, Settings::DIGITS, "IntDtp");
    let d = digest(t.params());
    info!(
        "weights digest after training: {=u32:#010x} (FNV-1a over every i16 parameter)",
        d
    );
    // `checked_div`: no division-by-zero panic path (the no-panic proof covers this demo).
    let per_step_x10 = (dtp.step_ticks * 10 * instructions)
        .checked_div(ticks.saturating_mul(u64::from(dtp.seen)))
        .unwrap_or(0);
    info!(
        "step cost: = {=u64} instructions per DTP step (integer; x {=u64}/{=u64} from calibration; {=usize} parameters)",
        per_step_x10 / 10,
        instructions,
        ticks,
        PARAMS
    );
    // Save the weights and their figure before the control overwrites them.
    let figures = {
        let mut f = [0u8; 8];
        f[..4].copy_from_slice(&dtp.correct.to_le_bytes());
        f[4..].copy_from_slice(&dtp.seen.to_le_bytes());
        f
    };
    if let Some(nor) = nor.as_mut() {
        let saved = storage::save(nor, &WEIGHT_SLOTS, bytes(t.params()))
            .and_then(|_| storage::save(nor, &FIGURE_SLOTS, &figures));
        match saved {
            Ok(r) => info!(
                "flash: saved {=usize} B of weights and their figures (seq {=u32})",
                WEIGHT_BYTES,
                r.seq
            ),
            Err(e) => {
                error!("flash save: {}", e);
                crate::exit(false)
            }
        }
    } else {
        info!("flash: no driver for this board's flash here: the save and reset check are skipped");
    }
    info!("control: the same run with eta-hat = 0 (only the output layer learns)");
    let control = train(t, Settings::DIGITS.control(), "IntControl");
    let (high, stack) = (measure::stack_high_water(), measure::stack_size());
    let spare = stack.saturating_sub(high);
    info!(
        "stack high-water mark: {=usize} of {=usize} B ({=usize} B spare; required {=usize})",
        high,
        stack,
        spare,
        MIN_SPARE_STACK
    );
    let per_step = per_step_x10 / 10;
    let fast = per_step <= MAX_INSTRUCTIONS;
    info!(
        "step cost {=u64} instructions (at most {=u64} on this core): {=str}",
        per_step,
        MAX_INSTRUCTIONS,
        if fast { "PASS" } else { "FAIL" }
    );
    let (a, b) = (tenths(dtp.correct), tenths(control.correct));
    let ok = a >= bar_tenths && a >= b + min_gap_tenths && fast && spare >= MIN_SPARE_STACK;
    info!(
        "held-out: integer DTP {=u32} per mille (bar {=u32}) vs control (eta-hat = 0) {=u32} per mille: ahead by {=i32} (required {=u32}): {=str}",
        a,
        bar_tenths,
        b,
        a as i32 - b as i32,
        min_gap_tenths,
        if ok { "PASS" } else { "FAIL" }
    );
    if !ok || nor.is_none() {
        crate::exit(ok)
    }
    info!("resetting: the saved weights must reload");
    cortex_m::peripheral::SCB::sys_reset()
}
