//! `learn_small` on a Raspberry Pi Pico (RP2040, Cortex-M0+ at 125 MHz): the firmware's
//! 16-12-12-10 sign-unit network learning the digits pooled to 4×4 (`dtp_firmware::small`),
//! with its control; defmt over RTT, exit code through semihosting (`probe-rs run`). Not run
//! here (no board, no RP2040 model in QEMU): CI builds and links it.
#![no_std]
#![no_main]

use rp_pico::hal::{self, pac};

/// Required held-out accuracy (percent), as on the micro:bit (`learn_small`).
const BAR: f32 = 55.0;
/// Required lead over the control (points), as on the micro:bit.
const MIN_GAP: f32 = 5.0;

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
    dtp_firmware::small::run(BAR, MIN_GAP)
}
