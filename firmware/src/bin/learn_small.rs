//! On-device DTP with a network small enough for a 16 KB Cortex-M0 (the micro:bit's nRF51):
//! 16-12-12-10 sign units on the digits pooled to 4×4 (see `dtp_firmware::small`). Exits 0
//! only if the held-out accuracy after training reaches [`BAR`] and beats its control by
//! [`MIN_GAP`] points.
#![no_std]
#![no_main]

use dtp_firmware::small;

/// Required held-out accuracy (percent) after training.
const BAR: f32 = 60.0;
/// Required lead over the control's held-out accuracy (points): the same run with `η̂ = 0`,
/// where only the output layer learns.
const MIN_GAP: f32 = 10.0;

#[cortex_m_rt::entry]
fn main() -> ! {
    small::run(BAR, MIN_GAP)
}
