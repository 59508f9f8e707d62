//! # dtp-firmware — on-device Difference Target Propagation on a Cortex-M4F
//!
//! Plumbing only; every piece of learning is `dtp-core`'s:
//! - the defmt transport (semihosting under QEMU, RTT on a board), the panic and HardFault
//!   handlers that log and exit non-zero, and [`exit`];
//! - [`source`]: where samples come from — our small [`source::SampleSource`] trait, served
//!   from the digits table in flash ([`digits`]) or by an embedded-hal 1.0 I²C device;
//! - [`demo`]: the network type, its hyper-parameters and the held-out evaluation;
//! - [`flash`]: the flash for the two weight slots of `dtp_core::storage` (NOR rules on
//!   SSRAM under QEMU, the NVMC on the nRF52840-DK);
//! - [`measure`]: stack painting and a SysTick instruction/cycle counter;
//! - [`run`]: the demos' main loops (stream → `Trainer::step` → log → flash);
//! - [`sensor`]: the integration example — a SysTick-driven (simulated, drifting) sensor
//!   feeding a `heapless::spsc::Queue`, a main loop running one DTP step per frame;
//! - [`cell`]: a take-once `static` for the trainer (all parameters, optimiser state and
//!   buffers live in `.bss`, no heap).
#![no_std]
#![deny(missing_docs)]

pub mod cell;
pub mod demo;
pub mod digits;
pub mod flash;
pub mod measure;
pub mod run;
pub mod sensor;
pub mod source;

#[cfg(all(feature = "qemu", feature = "rtt"))]
compile_error!("choose one defmt transport: feature `qemu` (semihosting) or `rtt`");

#[cfg(feature = "rtt")]
use defmt_rtt as _;
#[cfg(feature = "qemu")]
use defmt_semihosting as _;

use cortex_m_rt::{ExceptionFrame, exception};

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

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(false)
}

/// `defmt::panic!` and `defmt::assert!` end here (after logging their message).
#[defmt::panic_handler]
fn defmt_panic() -> ! {
    exit(false)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("HardFault at pc = {=u32:#010x}", frame.pc());
    exit(false)
}
