//! # dtp-firmware — on-device Difference Target Propagation on Cortex-M (M4F, M7, M33; M3 in soft float)
//!
//! Plumbing only; every piece of learning is `dtp-core`'s:
//! - the defmt transport (semihosting under QEMU, `logger`; RTT on a board), the panic and HardFault
//!   handlers that log and exit non-zero, and [`exit`];
//! - [`source`]: where samples come from — our small [`source::SampleSource`] trait, served
//!   from the digits table in flash ([`digits`]) or by an embedded-hal 1.0 I²C device;
//! - [`demo`]: the network type, its hyper-parameters and the held-out evaluation;
//! - [`flash`]: the flash for the two weight slots of `dtp_core::storage` (NOR rules on
//!   SSRAM under QEMU, the NVMC on the nRF52840-DK);
//! - [`guard`]: start-up checks that the optimiser's update refuses NaN and overflow and
//!   gives the update rule's bits;
//! - [`measure`]: stack painting and a SysTick instruction/cycle counter;
//! - [`run`]: the demos' main loops (stream → `Trainer::step` → log → flash);
//! - [`sensor`]: the integration example — a SysTick-driven (simulated, drifting) sensor
//!   feeding a `heapless::spsc::Queue`, a main loop running one DTP step per frame;
//! - `small` (feature `small`): a 16-12-12-10 network on the digits pooled to 4×4, small
//!   enough for a 16 KB Cortex-M0 (the micro:bit board);
//! - [`cell`]: a take-once `static` for the trainer (all parameters, optimiser state and
//!   buffers live in `.bss`, no heap);
//! - the HardFault handler: on Armv6-M (`fault`, the Cortex-M0/M0+ builds, linked by
//!   flip-link) it switches to a fresh stack first, so a stack overflow ends in a message and
//!   exit code 1; on Armv7-M/Armv8-M it logs the faulting `pc` from the exception frame.
#![no_std]
#![deny(missing_docs)]

mod atomic;
pub mod cell;
pub mod demo;
pub mod digits;
#[cfg(not(target_has_atomic = "32"))]
mod fault;
pub mod flash;
pub mod guard;
pub mod int_digits;
pub mod measure;
pub mod run;
pub mod sensor;
#[cfg(feature = "small")]
pub mod small;
pub mod source;

#[cfg(all(feature = "qemu", feature = "rtt"))]
compile_error!("choose one defmt transport: feature `qemu` (semihosting) or `rtt`");

#[cfg(feature = "rtt")]
use defmt_rtt as _;
#[cfg(feature = "qemu")]
mod logger;

/// The seed of the demos: their generator (initial weights, the inverses' noise, Bernoulli
/// samples) and the order of the training stream ([`source::FlashDigits`]). Set at build
/// time by the environment variable `DTP_FIRMWARE_SEED` (decimal or `0x` hexadecimal; read
/// by `build.rs`), 1 when unset.
pub const SEED: u64 = include!(concat!(env!("OUT_DIR"), "/seed.rs"));

/// Ends the program: exit code 0 if `success`, else 1.
///
/// Through semihosting `SYS_EXIT`, which QEMU (`-semihosting-config enable=on`) turns into
/// its own exit code and `probe-rs run` into its exit code on a board.
pub fn exit(success: bool) -> ! {
    let code = if success {
        cortex_m_semihosting::debug::EXIT_SUCCESS
    } else {
        cortex_m_semihosting::debug::EXIT_FAILURE
    };
    cortex_m_semihosting::debug::exit(code);
    // Only reached without a debugger or emulator to take the exit.
    loop {
        cortex_m::asm::bkpt();
    }
}

#[cfg(not(feature = "no-panic-proof"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(false)
}

/// With the `no-panic-proof` feature (`firmware/check-no-panic.sh`): a panic handler that
/// calls a function defined nowhere, so the demos link only if no panic of `core` (bounds
/// check, `unwrap`, overflow, assertion) is reachable from them. Their deliberate error exits
/// (`defmt::panic!`, below) do not go through it.
#[cfg(feature = "no-panic-proof")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    unsafe extern "Rust" {
        /// Defined nowhere: linking fails if a panic path is reachable.
        fn __dtp_firmware_can_panic() -> !;
    }
    // SAFETY: never called in a program that links.
    unsafe { __dtp_firmware_can_panic() }
}

/// `defmt::panic!` and `defmt::assert!` end here (after logging their message): the demos'
/// deliberate error exits (a failed step, a corrupt save, a static taken twice).
#[defmt::panic_handler]
fn defmt_panic() -> ! {
    exit(false)
}

/// The HardFault handler of the Armv7-M/Armv8-M builds (cortex-m-rt's trampoline passes the
/// exception frame). Kept as it was: the Cortex-M0 handler (`fault`) in its place changes
/// LLVM's inlining of [`exit`], and with it the code of the DTP step on these cores (a few
/// instructions a step; their instruction counts and digests must not move).
#[cfg(target_has_atomic = "32")]
#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!("HardFault at pc = {=u32:#010x}", frame.pc());
    exit(false)
}
