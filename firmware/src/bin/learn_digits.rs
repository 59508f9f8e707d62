//! On-device DTP with sign units on the UCI digits stream; exits 0 only if the held-out
//! accuracy after training reaches [`BAR`], beats its control by [`MIN_GAP`] points, and the
//! weights saved to flash survive a reset.
#![no_std]
#![no_main]

use dtp_firmware::{demo, run};

/// Required held-out accuracy (percent) after training.
const BAR: f32 = 85.0;
/// Required lead over the control's held-out accuracy (points): the same run with `η̂ = 0`,
/// where only the output layer learns. Measured on the device: 30.1 with seed 1 (93.3 vs
/// 63.2 %), 24.8–34.8 over seeds 1–6 (91.1–93.9 % vs 57.4–66.3 %; `run-qemu.sh --seed N`);
/// 28.1–33.7 on the host over five seeds (`tests/tests/firmware_controls.rs`).
const MIN_GAP: f32 = 15.0;

#[cortex_m_rt::entry]
fn main() -> ! {
    run::learn(demo::Variant::Sign, BAR, MIN_GAP)
}
