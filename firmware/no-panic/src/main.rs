//! Link-time proof that the on-device training loop has no panic path.
//!
//! This program runs what the firmware's learning loop runs on `dtp-core` — with the
//! firmware's network type `FusedTrainer<64, 32, 10, 1>` (no gradient buffers), release profile (fat LTO, opt-level 3,
//! `panic = "abort"`) — but every input the code could branch on is opaque to the optimiser
//! (`core::hint::black_box`): the hyper-parameters (so any `Config`, not only the firmware's
//! two, and every unit type), the pixels, the labels, the epoch, the random seed, the flash
//! contents. Its panic handler calls a function that does not exist. `--gc-sections` drops
//! every function the program cannot reach, so the link succeeds only if no panic — no bounds
//! check, `unwrap`, overflow check, division by zero or `unreachable!` — survives
//! optimisation anywhere in:
//!
//! - `Trainer::init` and `Trainer::set_config` (the per-epoch learning-rate change);
//! - `Trainer::step`, the per-sample DTP step: forward pass, inverse step with its noise,
//!   top and difference targets, forward step, both optimisers, the non-finite checks;
//! - `Trainer::evaluate` (held-out evaluation) and `dtp_core::bits::predict_packed`;
//! - `Net::write_blob`/`Net::read_blob` and `dtp_core::storage::{save, load}` (the weights
//!   saved to flash after each epoch and reloaded after a reset).
//!
//! `firmware/check-no-panic.sh` builds it; CI runs that script. A failed link names the
//! undefined symbol `__dtp_training_loop_can_panic`; the script then builds the same program
//! with a panic handler that records its location to show which panic survived.
#![no_std]
#![no_main]

use core::cell::UnsafeCell;
use core::hint::black_box;

use dtp_core::bits;
use dtp_core::storage::{self, Slots};
use dtp_core::{Config, FixedNet, FusedTrainer, Init};
use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use rand_pcg::Pcg32;

/// The firmware's network: 64-32-32-10, one sample a step (`firmware/src/demo.rs`).
type DigitsTrainer = FusedTrainer<64, 32, 10, 1>;
type DigitsNet = FixedNet<64, 32, 10, 1>;
const WORDS: usize = bits::words(32);
const PAYLOAD_LEN: usize = DigitsNet::BLOB_LEN + 8;
const SLOT: usize = (PAYLOAD_LEN + storage::HEADER_LEN).div_ceil(PAGE) * PAGE;
const PAGE: usize = 4096;

/// The firmware's sign-unit configuration (the core's, shared with the firmware and the
/// `digits-firmware` preset), as a starting value for the opaque one.
const SIGN: Config = Config::FIRMWARE_SIGN;

/// A `static` the single thread of this program borrows mutably once.
struct Static<T>(UnsafeCell<T>);
// SAFETY: one thread, one borrow (in `_start`).
unsafe impl<T> Sync for Static<T> {}

// SAFETY: `Trainer` is `bytemuck::Zeroable`: all-zero is a valid value.
static TRAINER: Static<DigitsTrainer> = Static(UnsafeCell::new(unsafe { core::mem::zeroed() }));
static FLASH: Static<RamFlash> = Static(UnsafeCell::new(RamFlash([0xff; 2 * SLOT])));
static PAYLOAD: Static<[u8; PAYLOAD_LEN]> = Static(UnsafeCell::new([0; PAYLOAD_LEN]));

/// NOR flash in RAM (write-once bits, page erase), itself free of panics: out-of-range
/// accesses are errors.
struct RamFlash([u8; 2 * SLOT]);

#[derive(Debug)]
struct OutOfBounds;

impl NorFlashError for OutOfBounds {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::OutOfBounds
    }
}

impl ErrorType for RamFlash {
    type Error = OutOfBounds;
}

fn range(offset: u32, len: usize) -> Result<core::ops::Range<usize>, OutOfBounds> {
    let start = offset as usize;
    let end = start.checked_add(len).ok_or(OutOfBounds)?;
    if end <= 2 * SLOT {
        Ok(start..end)
    } else {
        Err(OutOfBounds)
    }
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
        let src = self.0.get(range(offset, bytes.len())?).ok_or(OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }
    fn capacity(&self) -> usize {
        2 * SLOT
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), OutOfBounds> {
        let len = (to as usize)
            .checked_sub(from as usize)
            .ok_or(OutOfBounds)?;
        let r = range(from, len)?;
        self.0.get_mut(r).ok_or(OutOfBounds)?.fill(0xff);
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), OutOfBounds> {
        let dst = self
            .0
            .get_mut(range(offset, bytes.len())?)
            .ok_or(OutOfBounds)?;
        for (d, s) in dst.iter_mut().zip(bytes) {
            *d &= *s;
        }
        Ok(())
    }
}

/// One sample into the trainer's batch buffers, label as one-hot (no indexing by the label).
fn fill(trainer: &mut DigitsTrainer, x: &[f32; 64], label: u8) {
    let (bx, bt) = trainer.batch_mut();
    bx.as_mut_slice().copy_from_slice(x);
    for (k, t) in bt.as_mut_slice().iter_mut().enumerate() {
        *t = if k == usize::from(label) { 1.0 } else { 0.0 };
    }
}

/// The program: the firmware's loop on opaque data, forever.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    // SAFETY: the only borrows of these statics, in the only thread.
    let (trainer, flash, payload) = unsafe {
        (
            &mut *TRAINER.0.get(),
            &mut *FLASH.0.get(),
            &mut *PAYLOAD.0.get(),
        )
    };
    let slots = Slots {
        base: black_box(0),
        slot_size: black_box(SLOT as u32),
    };
    let mut rng = Pcg32::new(black_box(1), black_box(0x0a02_bdbf_7bb3_c0a7));
    let config = black_box(SIGN);
    if trainer
        .init(config, black_box(Init::Orthogonal), &mut rng)
        .is_err()
    {
        black_box(0);
    }
    // After a reset: the newest save reloads.
    if let Ok(Some(_)) = storage::load(flash, &slots, payload) {
        let _ = black_box(trainer.net.read_blob(&payload[..DigitsNet::BLOB_LEN]));
    }
    let mut x = [0.0f32; 64];
    let mut seen = 0u32;
    loop {
        // The sample stream.
        for v in x.iter_mut() {
            *v = black_box(0.5);
        }
        // The negative control (`--features canary`): one bounds check the optimiser cannot
        // remove, so the link must fail; the check script requires that it does.
        #[cfg(feature = "canary")]
        {
            x[black_box(0usize)] = 0.25;
        }
        fill(trainer, &x, black_box(3));
        // The per-sample DTP step; an error is reported, not a panic.
        match trainer.step(&mut rng) {
            Ok(stats) => {
                black_box(stats.correct);
            }
            Err(e) => {
                black_box(e);
            }
        }
        seen = seen.wrapping_add(1);
        if black_box(seen).is_multiple_of(360) {
            // Held-out evaluation: the float path and the packed-bits classifier.
            fill(trainer, &x, black_box(7));
            let _ = black_box(trainer.evaluate(&mut rng));
            // Any units: `None` for units whose hidden layers are not read as signs.
            let units = trainer.config().units;
            let (mut scratch, mut logits) = ([0.0; 32], [0.0; 10]);
            let _ = black_box(bits::predict_packed::<64, 32, 10, 1, WORDS>(
                &trainer.net,
                &units,
                &dtp_core::Mat::from_column_slice(&x),
                &mut scratch,
                &mut logits,
            ));
        }
        if black_box(seen).is_multiple_of(1438) {
            // End of an epoch: the learning rate decays (the trainer divides it by
            // 1 + epoch); settings may change; the weights go to flash.
            trainer.epoch = black_box(seen) / 1438;
            let _ = black_box(trainer.set_config(black_box(SIGN)));
            let units = trainer.config().units;
            if trainer
                .net
                .write_blob(&units, &mut payload[..DigitsNet::BLOB_LEN])
                .is_ok()
            {
                payload[DigitsNet::BLOB_LEN..][..4].copy_from_slice(&seen.to_le_bytes());
                let _ = black_box(storage::save(flash, &slots, payload));
            }
        }
    }
}

#[cfg(not(feature = "locate"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    unsafe extern "Rust" {
        /// Defined nowhere: linking fails if any panic path is reachable.
        fn __dtp_training_loop_can_panic() -> !;
    }
    // SAFETY: never called in a program that links.
    unsafe { __dtp_training_loop_can_panic() }
}

/// With `--features locate`: a panic handler that links, so the ELF can be inspected for
/// which panic locations survived (`check-no-panic.sh` prints them).
#[cfg(feature = "locate")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    black_box(info.location());
    loop {}
}
