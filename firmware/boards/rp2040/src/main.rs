//! `learn_digits_int` on a Raspberry Pi Pico (RP2040, Cortex-M0+ at 125 MHz, no FPU): the
//! firmware's 64-32-32-10 sign-unit network trained by integer DTP (`dtp_firmware::int_digits`,
//! `dtp_core::int`) on the 8×8 digits, with its control; defmt over RTT, exit code through
//! semihosting (`probe-rs run`). No flash driver for the Pico here: the save/reset check is
//! skipped. Not run here (no board, no RP2040 model in QEMU): CI builds, links and converts it
//! to UF2.
#![no_std]
#![no_main]

use rp_pico::hal::{self, pac};

/// Required held-out accuracy (per mille), as on the micro:bit (`learn_digits_int`).
const BAR: u32 = 900;
/// Required lead over the control (per mille), as on the micro:bit.
const MIN_GAP: u32 = 150;

#[rp_pico::entry]
fn main() -> ! {
    let Some(mut pac) = pac::Peripherals::take() else {
        dtp_firmware::exit(false)
    };
    let mut watchdog = hal::Watchdog::new(pac.WATCHDOG);
    // The system clock at 125 MHz from the Pico's 12 MHz crystal (SysTick counts it).
    if hal::clocks::init_clocks_and_plls(
        rp_pico::XOSC_CRYSTAL_FREQ,
        pac.XOSC,
        pac.CLOCKS,
        pac.PLL_SYS,
        pac.PLL_USB,
        &mut pac.RESETS,
        &mut watchdog,
    )
    .is_err()
    {
        defmt::error!("clocks: the crystal or a PLL did not start");
        dtp_firmware::exit(false)
    }
    dtp_firmware::int_digits::run(BAR, MIN_GAP)
}
